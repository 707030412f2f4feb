"""Decide a file's format from its first bytes, after cheap checks on what it is.

Each front end in formats/ says how to recognise its files; the extension is only
used for formats without a magic number (ONNX protobuf).
"""

from __future__ import annotations

import os
import stat

from .errors import LoadError

LFS_POINTER = b"version https://git-lfs"
MAX_FILE_SIZE = 2 * 1024**3  # 2 GiB: larger than any model config needs


def sniff(path: str, max_size: int = MAX_FILE_SIZE, follow_symlinks: bool = False) -> str:
    """The name of the front end that reads `path` (formats/REGISTRY), or LoadError.

    Checks what the path is (with lstat: a symlink is not followed unless asked) before
    opening anything, so a FIFO or device never blocks and a huge file is never read.
    """
    try:
        info = os.lstat(path)
        if stat.S_ISLNK(info.st_mode):
            if not follow_symlinks:
                raise LoadError(f"is a symbolic link (to {os.readlink(path)!r}); pass "
                                "--follow-symlinks to lint its target")
            info = os.stat(path)
    except FileNotFoundError:
        raise LoadError("no such file" if not os.path.islink(path) else "is a broken symbolic link") from None
    except OSError as exc:
        raise LoadError(f"cannot stat: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise LoadError("is a directory, not a model file")
    if not stat.S_ISREG(info.st_mode):
        raise LoadError("not a regular file (device, FIFO or socket)")
    if info.st_size == 0:
        raise LoadError("empty file")
    if info.st_size > max_size:
        raise LoadError(f"file is {info.st_size} bytes, over the {max_size}-byte limit")
    from .formats import REGISTRY

    try:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
        fd = os.open(path, flags)  # no blocking on a FIFO swapped in after the stat
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise LoadError("not a regular file")
            head = fh.read(1024)
            for fe in REGISTRY:  # formats with magic bytes
                if fe.detect is not None and fe.detect(fh, head, info.st_size):
                    return fe.name
    except OSError as exc:
        raise LoadError(f"cannot read: {exc.strerror}") from None
    if head.startswith(LFS_POINTER):
        raise LoadError("this is a Git LFS pointer, not a model (fetch it with `git lfs pull`)")
    for fe in REGISTRY:  # formats without: by suffix
        if fe.detect is None and fe.matches_suffix(path):
            return fe.name
    suffix = os.path.splitext(path)[1] or "no extension"
    titles = [fe.title for fe in REGISTRY]
    raise LoadError(f"unrecognised file format ({suffix}; expected a "
                    f"{', '.join(titles[:-1])} or {titles[-1]})")
