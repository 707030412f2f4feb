"""Decide a file's format from its first bytes, after cheap checks on what it is.

Each front end in formats/ says how to recognise its files; the extension is only
used for formats without a magic number (ONNX protobuf). A directory is a model when a
directory format's marker file is in it (saved_model.pb: a SavedModel).
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
        return _directory(path, max_size, follow_symlinks)
    if not stat.S_ISREG(info.st_mode):
        raise LoadError("not a regular file (device, FIFO or socket)")
    if info.st_size == 0:
        raise LoadError("empty file")
    if info.st_size > max_size:
        raise LoadError(f"file is {info.st_size} bytes, over the {max_size}-byte limit")
    from .formats import REGISTRY, directory_format, member_directory

    folder = member_directory(path)  # `m/saved_model.pb`: the CLI lints `m` instead
    if folder is not None and directory_format(folder) is not None:
        raise LoadError(f"is a file of a {directory_format(folder).title}: lint its "
                        f"directory, {folder!r}")
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
    titles = [fe.title for fe in REGISTRY if fe.detect or fe.suffixes]  # the file formats
    raise LoadError(f"unrecognised file format ({suffix}; expected a "
                    f"{', '.join(titles[:-1])} or {titles[-1]})")


def _directory(path: str, max_size: int, follow_symlinks: bool) -> str:
    """The format of a directory (a SavedModel, told by its marker file), after the same
    checks on its member files as on a model file: a link is not followed unless asked,
    nothing but a regular file is opened, and the files that are read are size-bounded
    (the marker never is read)."""
    from .formats import DIRECTORY_FORMATS, directory_format

    fe = directory_format(path)
    if fe is None:
        for f in DIRECTORY_FORMATS:  # a member without the marker: say which is missing
            present = [n for n in f.directory_files[1:] if os.path.lexists(os.path.join(path, n))]
            if present:
                raise LoadError(f"is a directory with {present[0]} but no "
                                f"{f.directory_files[0]}, so not a {f.title}")
        raise LoadError("is a directory, not a model file")
    for i, name in enumerate(fe.directory_files):
        member = os.path.join(path, name)
        try:
            info = os.lstat(member)
            if stat.S_ISLNK(info.st_mode):
                if not follow_symlinks:
                    raise LoadError(f"{name} is a symbolic link (to {os.readlink(member)!r}); "
                                    "pass --follow-symlinks to lint its target")
                info = os.stat(member)
        except FileNotFoundError:
            if os.path.islink(member):
                raise LoadError(f"{name} is a broken symbolic link") from None
            continue  # a missing member is the reader's to explain
        except OSError as exc:
            raise LoadError(f"cannot stat {name}: {exc.strerror}") from None
        if not stat.S_ISREG(info.st_mode):
            raise LoadError(f"{name} is not a regular file")
        if i and info.st_size > max_size:
            raise LoadError(f"{name} is {info.st_size} bytes, over the {max_size}-byte limit")
    return fe.name
