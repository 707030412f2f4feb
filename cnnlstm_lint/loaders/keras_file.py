"""Read the model config out of a Keras file without Keras: `.keras` zip, HDF5, JSON.

Only the config is read: no weights, no datasets, nothing unpickled, imported or
extracted. Each reader returns the config and a list of *unsafe content* it noticed
(what `keras.saving.load_model` would have loaded or run), which CL900 reports.
"""

from __future__ import annotations

import json
import posixpath
import re
import stat
import zipfile

from .errors import LoadError

MAX_CONFIG_BYTES = 64 * 1024**2
MAX_ZIP_MEMBERS = 10_000
MAX_DIRECTORY_BYTES = 8 * 1024**2  # 10000 members with long names; a .keras has three
MAX_INT_DIGITS = 32
MAX_JSON_DEPTH = 200
MAX_RATIO = 200  # uncompressed / compressed, above which a large member is a zip bomb
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"

Unsafe = tuple[str, str]  # (where: a layer, a zip member or an HDF5 path, what it would do)


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise LoadError(f"an integer in the config has over {MAX_INT_DIGITS} digits")
    return int(text)


def _no_constant(name: str):
    raise LoadError(f"the config holds {name}, which is not a JSON number")


def _depth_ok(data: bytes | str) -> bool:
    """Nesting depth by counting brackets outside strings, before json recurses into it.
    One pass over the special characters only: linear, whatever the quoting."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    depth, in_string, escaped_at = 0, False, -1
    for token in re.finditer(r'[\[\]{}"\\]', text):
        ch, at = token.group(), token.start()
        if in_string:
            if at == escaped_at:
                continue  # this character is escaped by the backslash before it
            if ch == "\\":
                escaped_at = at + 1
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                return False
        elif ch in "]}":
            depth -= 1
    return True


def parse_json(data: bytes | str, what: str) -> dict:
    if not _depth_ok(data):
        raise LoadError(f"{what} is nested too deeply (over {MAX_JSON_DEPTH} levels)")
    try:
        value = json.loads(data, parse_int=_bounded_int, parse_constant=_no_constant)
    except RecursionError:
        raise LoadError(f"{what} is nested too deeply") from None
    except UnicodeDecodeError:
        raise LoadError(f"{what} is not UTF-8 text") from None
    except ValueError as exc:
        if isinstance(exc, LoadError):
            raise
        raise LoadError(f"{what} is not valid JSON ({exc.args[0].split(':')[0]})") from None
    if not isinstance(value, dict):
        raise LoadError(f"{what} is not a JSON object")
    return value


# -- .keras zip ---------------------------------------------------------------------------


def _check_directory_size(path: str) -> None:
    """Read the end-of-central-directory record ourselves, so that a directory of millions
    of entries is refused before zipfile parses it all into memory."""
    import struct

    with open(path, "rb") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        fh.seek(max(0, size - 65557))
        tail = fh.read()
        end = tail.rfind(b"PK\x05\x06")
        if end < 0 or len(tail) < end + 22:
            return  # zipfile will say what is wrong
        entries, directory = struct.unpack("<HI", tail[end + 10:end + 16])
        locator = tail.rfind(b"PK\x06\x07", 0, end)
        if entries == 0xFFFF and locator >= 0 and len(tail) >= locator + 20:
            (record,) = struct.unpack("<Q", tail[locator + 8:locator + 16])
            fh.seek(record)
            zip64 = fh.read(56)
            if zip64[:4] == b"PK\x06\x06" and len(zip64) >= 56:
                entries, directory = struct.unpack("<QQ", zip64[32:48])
    if entries > MAX_ZIP_MEMBERS:
        raise LoadError(f"zip has {entries} members, over {MAX_ZIP_MEMBERS}")
    if directory > MAX_DIRECTORY_BYTES:  # also bounds an end record that lies about its count
        raise LoadError(f"the zip's central directory is {directory} bytes, over the "
                        f"{MAX_DIRECTORY_BYTES}-byte limit")


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    """Judge the archive from its central directory, before reading any member."""
    if len(members) > MAX_ZIP_MEMBERS:
        raise LoadError(f"zip has {len(members)} members, over {MAX_ZIP_MEMBERS}")
    seen = set()
    for m in members:
        name = m.filename
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
            raise LoadError(f"suspicious zip archive: member {name!r} points outside the archive")
        if name in seen:
            raise LoadError(f"suspicious zip archive: member {name!r} appears twice")
        seen.add(name)
        if m.file_size > 1024**2 and m.file_size > MAX_RATIO * max(m.compress_size, 1):
            raise LoadError(f"suspicious zip archive: member {name!r} expands "
                            f"{m.file_size // max(m.compress_size, 1)}× (a zip bomb?)")
    ordered = sorted(members, key=lambda m: m.header_offset)
    for a, b in zip(ordered, ordered[1:]):
        end = a.header_offset + 30 + len(a.filename.encode()) + a.compress_size
        if end > b.header_offset:
            raise LoadError(f"suspicious zip archive: members {a.filename!r} and {b.filename!r} "
                            "overlap")


def _member_unsafe(zf: zipfile.ZipFile, m: zipfile.ZipInfo) -> list[Unsafe]:
    """What a weights (or other) member would make Keras load: links, pickles, not-HDF5."""
    name = m.filename
    if stat.S_ISLNK(m.external_attr >> 16):
        return [(name, "is a symbolic link inside the archive; an extractor would follow it")]
    lower = name.lower()
    if lower.endswith((".pkl", ".pickle", ".joblib")):
        return [(name, "holds pickled Python objects, which would run code when unpickled")]
    if not lower.endswith((".h5", ".npz", ".npy")) or m.file_size == 0:
        return []
    with zf.open(m) as fh:
        head = fh.read(256)
    if lower.endswith(".h5"):
        if head.startswith(HDF5_MAGIC):
            return []
        kind = "a pickle" if head[:1] == b"\x80" else f"not HDF5 (it starts with {head[:8]!r})"
        return [(name, f"claims to be HDF5 weights but is {kind}")]
    if head[:1] == b"\x80":
        return [(name, "holds pickled Python objects, which would run code when unpickled")]
    if lower.endswith(".npy") and b"'|O'" in head:
        return [(name, "holds an object array: numpy would unpickle it (allow_pickle)")]
    if lower.endswith(".npz") and m.file_size <= MAX_CONFIG_BYTES:
        import io

        with zf.open(m) as fh:  # into memory once: seeking a compressed stream re-reads it
            data = io.BytesIO(fh.read(MAX_CONFIG_BYTES + 1))
        with zipfile.ZipFile(data) as inner:
            for array in inner.infolist()[:1000]:
                with inner.open(array) as arr:
                    if b"'|O'" in arr.read(256):
                        return [(name, f"array {array.filename!r} is an object array: numpy "
                                       "would unpickle it (allow_pickle)")]
    return []


def read_keras_zip(path: str) -> tuple[dict, list[Unsafe]]:
    try:
        _check_directory_size(path)
        with zipfile.ZipFile(path) as zf:
            members = zf.infolist()
            _check_members(members)
            info = next((m for m in members if m.filename == "config.json"), None)
            if info is None:
                raise LoadError("not a Keras model: the zip archive has no config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise LoadError(f"config.json declares {info.file_size} bytes, over the limit")
            with zf.open(info) as fh:
                data = fh.read(MAX_CONFIG_BYTES + 1)
            unsafe = [u for m in members if m.filename != "config.json"
                      for u in _member_unsafe(zf, m)]
    except zipfile.BadZipFile as exc:
        raise LoadError(f"corrupt zip archive ({exc})") from None
    except (OSError, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        if isinstance(exc, LoadError):
            raise
        raise LoadError(f"cannot read the zip archive ({exc})") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise LoadError("config.json is larger than it declares")
    return parse_json(data, "config.json"), unsafe


# -- HDF5 -------------------------------------------------------------------------------


def _hdf5_unsafe(fh) -> list[Unsafe]:
    """External/soft links, external storage and virtual datasets, found from the link
    structure alone: no link is followed and no dataset is read."""
    import h5py

    unsafe: list[Unsafe] = []
    stack = [("/", fh)]
    visited = 0
    while stack:
        prefix, group = stack.pop()
        for name in group:
            visited += 1
            if visited > 100_000:
                raise LoadError("HDF5 file has over 100000 links")
            path = posixpath.join(prefix, name)
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                unsafe.append((path, f"is an external link to {link.filename}:{link.path}"))
            elif isinstance(link, h5py.SoftLink):
                unsafe.append((path, f"is a soft link to {link.path}"))
            elif isinstance(link, h5py.HardLink):
                obj = group[name]
                if isinstance(obj, h5py.Group):
                    stack.append((path, obj))
                elif isinstance(obj, h5py.Dataset):
                    if obj.external:
                        unsafe.append((path, "stores its data in external files "
                                             f"{[e[0] for e in obj.external][:3]}"))
                    if obj.is_virtual:
                        unsafe.append((path, "is a virtual dataset mapping other files"))
    return unsafe


def read_hdf5(path: str) -> tuple[dict, list[Unsafe]]:
    import h5py  # heavy: only for HDF5 files

    try:
        with h5py.File(path, "r") as fh:
            if "model_config" not in fh.attrs:
                raise LoadError("HDF5 file has no model_config attribute (a weights-only file?)")
            size = fh.attrs.get_id("model_config").get_storage_size()
            if size > MAX_CONFIG_BYTES:
                raise LoadError(f"the model_config attribute is {size} bytes, over the limit")
            raw = fh.attrs["model_config"]
            unsafe = _hdf5_unsafe(fh)
    except LoadError:
        raise
    except Exception as exc:  # h5py raises OSError/KeyError/ValueError/RuntimeError on bad files
        reason = str(exc).split("(")[0].strip() or type(exc).__name__
        raise LoadError(f"cannot read HDF5 file ({reason})") from None
    if hasattr(raw, "tobytes") and not isinstance(raw, (bytes, str)):
        raw = raw.tobytes()
    if not isinstance(raw, (bytes, str)):
        raise LoadError("the model_config attribute is not text")
    if len(raw) > MAX_CONFIG_BYTES:  # variable-length strings report no storage size
        raise LoadError(f"the model_config attribute is {len(raw)} bytes, over the limit")
    return parse_json(raw, "the model_config attribute"), unsafe


# -- JSON -------------------------------------------------------------------------------


def read_json(path: str) -> tuple[dict, list[Unsafe]]:
    with open(path, "rb") as fh:
        data = fh.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise LoadError("JSON file is over the size limit")
    return parse_json(data, "the file"), []
