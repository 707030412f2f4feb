"""Decide a file's format from its first bytes, after cheap checks on what it is.

The extension is only a hint for formats without a magic number (ONNX protobuf).
"""

from __future__ import annotations

import json
import os
import stat

from .errors import LoadError

ZIP_MAGIC = b"PK\x03\x04"
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
LFS_POINTER = b"version https://git-lfs"
MAX_FILE_SIZE = 2 * 1024**3  # 2 GiB: larger than any model config needs
MODEL_SUFFIXES = (".keras", ".h5", ".hdf5", ".json", ".onnx")


def sniff(path: str, max_size: int = MAX_FILE_SIZE, follow_symlinks: bool = False) -> str:
    """Return 'keras_zip', 'hdf5', 'json' or 'onnx', or raise LoadError.

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
    try:
        flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | (0 if follow_symlinks else getattr(os, "O_NOFOLLOW", 0))
        fd = os.open(path, flags)  # no blocking on a FIFO swapped in after the stat
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise LoadError("not a regular file")
            head = fh.read(1024)
            if head.startswith(ZIP_MAGIC):
                return "keras_zip"
            if _hdf5_superblock(fh, info.st_size):
                return "hdf5"
    except OSError as exc:
        raise LoadError(f"cannot read: {exc.strerror}") from None
    if head.startswith(LFS_POINTER):
        raise LoadError("this is a Git LFS pointer, not a model (fetch it with `git lfs pull`)")
    if _json_object(head):
        return "json"
    if path.lower().endswith(".onnx"):
        return "onnx"
    suffix = os.path.splitext(path)[1] or "no extension"
    raise LoadError(f"unrecognised file format ({suffix}; expected a .keras zip, "
                    "HDF5, Keras JSON or ONNX model)")


def _hdf5_superblock(fh, size: int) -> bool:
    """The HDF5 signature at 0 or, after a user block, at 512, 1024, 2048, ...: where the
    HDF5 library itself looks. Eight bytes at each, 23 reads at most for 2 GiB."""
    offset = 0
    while offset + len(HDF5_MAGIC) <= size:
        fh.seek(offset)
        if fh.read(len(HDF5_MAGIC)) == HDF5_MAGIC:
            return True
        offset = offset * 2 or 512
    return False


def _json_object(head: bytes) -> bool:
    """Whether the text starts with `{`, in the encoding json.loads would read it in
    (UTF-8, or UTF-16/32 told by its first bytes)."""
    text = head.decode(json.detect_encoding(head), "replace")  # the cut may split a character
    return text.lstrip("\ufeff \t\r\n").startswith("{")
