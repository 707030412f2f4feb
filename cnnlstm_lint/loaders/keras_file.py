"""Read the model config out of a Keras file without Keras: `.keras` zip, HDF5, JSON.

Only the config is read: no weights, no datasets, nothing unpickled, imported or
extracted. Each reader returns the config and a list of *unsafe content* it noticed
(what `keras.saving.load_model` would have loaded or run), which CL900 reports.
"""

from __future__ import annotations

import contextlib
import io
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
MAX_INSPECT_BYTES = 256 * 1024**2  # inflated while looking into an archive's members, in all
MAX_HDF5_LINKS = 100_000
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
HEAD = 256  # bytes read of a member (or of an array in an .npz) to tell what it is

Unsafe = tuple[str, str]  # (where: a layer, a zip member or an HDF5 path, what it would do)


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise LoadError(f"an integer in the config has over {MAX_INT_DIGITS} digits")
    return int(text)


def _no_constant(name: str):
    raise LoadError(f"the config holds {name}, which is not a JSON number")


def _depth_ok(text: str) -> bool:
    """Nesting depth by counting brackets outside strings, before json recurses into it.
    One pass over the special characters only: linear, whatever the quoting."""
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
    if isinstance(data, bytes):
        # Decode once, as json.loads would (it takes UTF-16 and UTF-32 too, by the first
        # bytes), so the depth check reads the very text that is parsed.
        encoding = json.detect_encoding(data)
        try:
            data = data.decode(encoding, "surrogatepass")
        except UnicodeDecodeError:
            raise LoadError(f"{what} is not {encoding.upper().replace('-SIG', '')} text") from None
    if not _depth_ok(data):
        raise LoadError(f"{what} is nested too deeply (over {MAX_JSON_DEPTH} levels)")
    try:
        value = json.loads(data, parse_int=_bounded_int, parse_constant=_no_constant)
    except RecursionError:
        raise LoadError(f"{what} is nested too deeply") from None
    except ValueError as exc:
        if isinstance(exc, LoadError):
            raise
        raise LoadError(f"{what} is not valid JSON ({exc.args[0].split(':')[0]})") from None
    if not isinstance(value, dict):
        raise LoadError(f"{what} is not a JSON object")
    return value


# -- .keras zip ---------------------------------------------------------------------------


def _check_directory_size(fh) -> None:
    """Refuse a central directory too large to parse before zipfile parses it (a ZipInfo
    per entry, in memory). The end records are read by zipfile's own reader, so this sees
    the very records zipfile will use: a zip64 locator pointing at a decoy record fools
    only a reader of its own (zipfile 3.10-3.13.0 takes the record right before the
    locator, later ones check the locator's offset)."""
    end_record = getattr(zipfile, "_EndRecData", None)
    if end_record is None:  # a Python without it: _open_zip's read bound still holds
        return
    try:
        record = end_record(fh)
    except (OSError, zipfile.BadZipFile):
        return  # zipfile will say what is wrong
    if not record:
        return
    entries, directory = record[zipfile._ECD_ENTRIES_TOTAL], record[zipfile._ECD_SIZE]
    if entries > MAX_ZIP_MEMBERS:
        raise LoadError(f"zip has {entries} members, over {MAX_ZIP_MEMBERS}")
    if directory > MAX_DIRECTORY_BYTES:  # also bounds an end record that lies about its count
        raise LoadError(f"the zip's central directory is {directory} bytes, over the "
                        f"{MAX_DIRECTORY_BYTES}-byte limit")


class _BoundedFile:
    """A file for zipfile.ZipFile that hands over at most `budget` bytes while the archive
    is opened (the end records and the central directory, whatever they say), and never
    reads past its end (a huge read size would be allocated first)."""

    def __init__(self, fh, budget: int | None):
        self._fh, self.budget = fh, budget
        self._size = fh.seek(0, 2)
        fh.seek(0)

    def read(self, n: int | None = -1) -> bytes:
        left = max(self._size - self._fh.tell(), 0)
        n = left if n is None or n < 0 else min(n, left)
        if self.budget is not None:
            if n > self.budget:
                raise LoadError(f"the zip's central directory is over the "
                                f"{MAX_DIRECTORY_BYTES}-byte limit")
            self.budget -= n
        return self._fh.read(n)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)

    def tell(self) -> int:
        return self._fh.tell()

    def seekable(self) -> bool:
        return True

    def flush(self) -> None:
        pass


def _open_zip(fh) -> zipfile.ZipFile:
    """zipfile.ZipFile(fh) after the pre-check, reading at most the directory bound (and
    the end-record search) while it parses: a bound no record can lie about."""
    _check_directory_size(fh)
    bounded = _BoundedFile(fh, MAX_DIRECTORY_BYTES + 2 * 65_557 + 76)
    zf = zipfile.ZipFile(bounded)
    bounded.budget = None  # members are read with bounds of their own
    return zf


class _OverBudget(LoadError):
    """The archive's inflate budget is spent: the whole file is refused."""


class _Inflated:
    """One budget of bytes inflated while looking into an archive's members, all of them
    together (thousands of small members would each pass a per-member bound)."""

    def __init__(self, budget: int = MAX_INSPECT_BYTES):
        self.left = budget

    def spend(self, n: int) -> None:
        self.left -= n
        if self.left < 0:
            raise _OverBudget(f"inspecting the archive's members would inflate over "
                            f"{MAX_INSPECT_BYTES} bytes (a zip bomb?)")

    def head(self, zf: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
        """The first HEAD bytes of a member; zipfile inflates up to 4 KiB to give them."""
        self.spend(zipfile.ZipExtFile.MIN_READ_SIZE)
        with zf.open(info) as fh:
            return fh.read(HEAD)


def _check_members(members: list[zipfile.ZipInfo]) -> None:
    """Judge the archive from its central directory, before reading any member."""
    if len(members) > MAX_ZIP_MEMBERS:
        raise LoadError(f"zip has {len(members)} members, over {MAX_ZIP_MEMBERS}")
    seen = set()
    for m in members:
        name = m.filename
        if m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            # Keras writes neither; and zipfile inflates bzip2/LZMA without a size bound
            raise LoadError(f"member {name!r} uses compression method {m.compress_type}, "
                            "not stored or deflate as Keras writes")
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


def _member_unsafe(zf: zipfile.ZipFile, m: zipfile.ZipInfo, inflated: _Inflated) -> list[Unsafe]:
    """What a weights (or other) member would make Keras load: links, pickles, not-HDF5."""
    name = m.filename
    if stat.S_ISLNK(m.external_attr >> 16):
        return [(name, "is a symbolic link inside the archive; an extractor would follow it")]
    lower = name.lower()
    if lower.endswith((".pkl", ".pickle", ".joblib")):
        return [(name, "holds pickled Python objects, which would run code when unpickled")]
    if not lower.endswith((".h5", ".npz", ".npy")) or m.file_size == 0:
        return []
    head = inflated.head(zf, m)
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
        try:
            return _npz_unsafe(zf, m, inflated)
        except _OverBudget:
            raise
        except LoadError as exc:
            raise LoadError(f"member {name!r}: {exc.reason}") from None
        except zipfile.BadZipFile as exc:
            raise LoadError(f"member {name!r} is not a readable .npz ({exc})") from None
    return []


def _npz_unsafe(zf: zipfile.ZipFile, m: zipfile.ZipInfo, inflated: _Inflated) -> list[Unsafe]:
    """Object arrays in an .npz member: the first HEAD bytes of each array, nothing more."""
    inflated.spend(m.file_size)  # zipfile inflates no more than the declared size
    with zf.open(m) as fh:  # into memory once: seeking a compressed stream re-reads it
        data = io.BytesIO(fh.read(m.file_size))
    with _open_zip(data) as inner:  # the same directory bounds as the archive's own
        arrays = inner.infolist()
        if len(arrays) > MAX_ZIP_MEMBERS:
            raise LoadError(f"zip has {len(arrays)} members, over {MAX_ZIP_MEMBERS}")
        for array in arrays:
            if array.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise LoadError(f"array {array.filename!r} uses compression method "
                                f"{array.compress_type}, not stored or deflate")
            if b"'|O'" in inflated.head(inner, array):
                return [(m.filename, f"array {array.filename!r} is an object array: numpy "
                                     "would unpickle it (allow_pickle)")]
    return []


@contextlib.contextmanager
def zip_errors():
    """What zipfile raises on a damaged archive, as one LoadError line."""
    try:
        yield
    except zipfile.BadZipFile as exc:
        raise LoadError(f"corrupt zip archive ({exc})") from None
    except (OSError, EOFError, NotImplementedError, RuntimeError, ValueError) as exc:
        if isinstance(exc, LoadError):
            raise
        raise LoadError(f"cannot read the zip archive ({exc})") from None


def read_keras_zip(path: str) -> tuple[dict, list[Unsafe]]:
    with zip_errors():
        with open(path, "rb") as raw, _open_zip(raw) as zf:
            members = zf.infolist()
            _check_members(members)
            info = next((m for m in members if m.filename == "config.json"), None)
            if info is None:
                raise LoadError("not a Keras model: the zip archive has no config.json")
            if info.file_size > MAX_CONFIG_BYTES:
                raise LoadError(f"config.json declares {info.file_size} bytes, over the limit")
            with zf.open(info) as fh:
                data = fh.read(MAX_CONFIG_BYTES + 1)
            inflated = _Inflated()
            unsafe = [u for m in members if m.filename != "config.json"
                      for u in _member_unsafe(zf, m, inflated)]
    if len(data) > MAX_CONFIG_BYTES:
        raise LoadError("config.json is larger than it declares")
    return parse_json(data, "config.json"), unsafe


# -- HDF5 -------------------------------------------------------------------------------


def _hdf5_unsafe(fh) -> list[Unsafe]:
    """External/soft links, external storage and virtual datasets, found from the link
    structure alone: no soft or external link is followed and no dataset is read. Hard
    links may form cycles (a group linking to its parent or the root): each object is
    visited once, by its address in the file."""
    import h5py

    def address(obj) -> tuple[int, int]:
        info = h5py.h5o.get_info(obj.id)
        return (info.fileno, info.addr)

    unsafe: list[Unsafe] = []
    seen = {address(fh)}
    stack = [("/", fh)]
    links = 0
    while stack:
        prefix, group = stack.pop()
        for name in group:
            links += 1
            if links > MAX_HDF5_LINKS:
                raise LoadError(f"HDF5 file has over {MAX_HDF5_LINKS} links")
            path = posixpath.join(prefix, name)
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.ExternalLink):
                unsafe.append((path, f"is an external link to {link.filename}:{link.path}"))
            elif isinstance(link, h5py.SoftLink):
                unsafe.append((path, f"is a soft link to {link.path}"))
            elif isinstance(link, h5py.HardLink):
                obj = group[name]
                where = address(obj)
                if where in seen:
                    continue  # another name for an object already looked at
                seen.add(where)
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
    """The model_config and unsafe content of a Keras HDF5 file: by the pure-Python reader
    of the subset of HDF5 that Keras writes (no h5py, no numpy to import), else by h5py
    when the file goes beyond that subset or is malformed there."""
    from .hdf5_lite import NotInSubset, read

    try:
        raw, unsafe = read(path)
    except NotInSubset:
        raw, unsafe = _read_hdf5_h5py(path)
    if len(raw) > MAX_CONFIG_BYTES:  # variable-length strings report no storage size
        raise LoadError(f"the model_config attribute is {len(raw)} bytes, over the limit")
    return parse_json(raw, "the model_config attribute"), unsafe


def _read_hdf5_h5py(path: str) -> tuple[str | bytes, list[Unsafe]]:
    import h5py  # heavy: only for files beyond hdf5_lite's subset

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
    return raw, unsafe


# -- JSON -------------------------------------------------------------------------------


def read_json(path: str) -> tuple[dict, list[Unsafe]]:
    with open(path, "rb") as fh:
        data = fh.read(MAX_CONFIG_BYTES + 1)
    if len(data) > MAX_CONFIG_BYTES:
        raise LoadError("JSON file is over the size limit")
    return parse_json(data, "the file"), []
