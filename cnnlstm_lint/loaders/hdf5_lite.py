"""Read a Keras `.h5` file's model_config and its unsafe links without h5py.

Importing h5py (and numpy with it) costs about half the lint budget, for one attribute
and a walk of the link structure. This module reads, in pure Python, the subset of HDF5
that h5py writes by default (libver "earliest"), which is what Keras 3 and tf.keras 2
write for `model.save("m.h5")`. Section names below are those of the HDF5 File Format
Specification, version 3.0:

- the superblock, versions 0 and 1, at 0 or after a user block ("II.A Disk Format:
  Level 0A - Format Signature and Superblock");
- version-1 object headers and their continuation blocks ("IV.A.1.a Version 1 Data
  Object Header Prefix", "IV.A.2.q The Object Header Continuation Message");
- old-style groups: the symbol table message, version-1 B-tree group nodes, symbol table
  nodes and the local heap ("III.A.1 Version 1 B-trees", "III.B Group Symbol Table
  Nodes", "III.C Symbol Table Entry", "III.D Disk Format: Level 1D - Local Heaps"); an
  entry with cache type 2 is a soft link;
- attribute messages, versions 1 to 3, whose value is a scalar string: fixed-length
  (datatype class 3) or variable-length (class 9, its bytes in a global heap collection,
  "III.E Disk Format: Level 1E - Global Heap");
- of a dataset only the data layout message (a virtual layout, "IV.A.2.i") and the
  external data files message ("IV.A.2.h"); its data is never read.

Everything else (superblock 2 and 3, version-2 object headers, link and link info
messages of new-style groups, where external links live, dense attribute storage,
shared messages, unknown message types) raises NotInSubset, and the caller reads the
file with h5py instead. So does a structure that is malformed: h5py then gives the error
it always gave, and nothing h5py reads stops reading because of this module. Bounds that
the h5py path also applies (MAX_HDF5_LINKS, MAX_CONFIG_BYTES) raise the same LoadError.
Every address and length is checked against the file's end before a read; each object is
visited once, by address (hard links may form cycles); the work is capped. What the lint
does not need (fill values, filters, where raw data lies, heap free lists) is not read,
so not checked: a file damaged only there reads here, where h5py would refuse it.
"""

from __future__ import annotations

import os
import posixpath
import struct

from .errors import LoadError
from .keras_file import HDF5_MAGIC, MAX_CONFIG_BYTES, MAX_HDF5_LINKS, Unsafe

WHOLE_FILE_BYTES = 32 * 1024**2  # files up to this size are read in one go
MAX_MESSAGES = 2_000_000  # object header messages parsed, in all
MAX_CONTINUATIONS = 100_000  # continuation blocks followed, in all
MAX_NODES = 2 * MAX_HDF5_LINKS + 1024  # B-tree and symbol table nodes read, in all
MAX_HEAP_OBJECTS = 70_000  # objects walked in one global heap collection (ids are 16-bit)

# Object header message types ("IV.A.2 Disk Format: Level 2A2 - Data Object Header
# Messages"): those this reader uses, and those it may pass over without changing what
# h5py would report. Any other (link info 0x02, link 0x06, group info 0x0A, attribute
# info 0x15, ...) is outside the subset.
DATASPACE, DATATYPE, EXTERNAL_FILES, LAYOUT, ATTRIBUTE = 0x01, 0x03, 0x07, 0x08, 0x0C
CONTINUATION, SYMBOL_TABLE = 0x10, 0x11
PASSED_OVER = {0x00, 0x04, 0x05, 0x0B, 0x0D, 0x0E, 0x12}  # nil, fill values, filters,
# comment, modification times
PRESENT = {DATASPACE, DATATYPE}  # only their presence counts (what makes a dataset), so
# either may be shared: a committed datatype's, say
PARSED = {EXTERNAL_FILES, LAYOUT, ATTRIBUTE, SYMBOL_TABLE}
SHARED = 0x02  # message flag: the message is stored elsewhere, in a shared form


class NotInSubset(Exception):
    """The file uses HDF5 beyond this reader's subset, or is malformed: read it with h5py."""


def read(path: str) -> tuple[str | bytes, list[Unsafe]]:
    """The root group's model_config attribute, as h5py gives it (str for a
    variable-length string, bytes for a fixed-length one), and the unsafe content that
    keras_file._hdf5_unsafe would list, in the same order. Raises NotInSubset or
    LoadError."""
    try:
        with open(path, "rb") as fh:
            reader = _Reader(fh)
            root = reader.object(reader.root)
            if SYMBOL_TABLE not in root.first:
                raise NotInSubset("the root object is not an old-style group")
            raw = reader.model_config(root)
            unsafe = reader.unsafe(root)
    except (LoadError, NotInSubset):
        raise
    except (OSError, struct.error, IndexError, ValueError, OverflowError) as exc:
        raise NotInSubset(f"unreadable ({type(exc).__name__}: {exc})") from None
    return raw, unsafe


def _align8(n: int) -> int:
    return (n + 7) & ~7


class _Object:
    """An object header's messages: the first of each type, and every attribute."""

    __slots__ = ("first", "attributes")

    def __init__(self):
        self.first: dict[int, memoryview | bytes] = {}
        self.attributes: list[memoryview | bytes] = []


class _Reader:
    """One open file: the superblock's sizes and bounds, and reads checked against them."""

    def __init__(self, fh):
        self._fh = fh
        size = fh.seek(0, 2)
        fh.seek(0)
        self._data = fh.read() if size <= WHOLE_FILE_BYTES else None
        self._view = memoryview(self._data) if self._data is not None else None
        self.base = self._find_superblock(size)
        self._superblock(size)
        self._messages = self._continuations = self._nodes = 0
        self._header_bytes = 0
        self._header_budget = 2 * self.eoa + 2**20  # chunks of a sound file do not overlap
        self._local_heaps: dict[int, tuple[int, int]] = {}

    # -- reading ---------------------------------------------------------------------

    def _raw(self, at: int, n: int):
        """n bytes at absolute offset `at`, already bounds-checked."""
        if self._view is not None:
            return self._view[at:at + n]
        self._fh.seek(at)
        data = self._fh.read(n)
        if len(data) != n:
            raise NotInSubset("the file is shorter than it was")
        return data

    def check(self, addr: int, n: int, what: str) -> None:
        """That n bytes at `addr` (relative to the base address) lie inside the file's end,
        where the library reads (its "addr overflow")."""
        if addr >= self.undef or n < 0 or addr + n > self.eoa:
            raise NotInSubset(f"{what} at {addr} (+{n}) lies outside the file")

    def read(self, addr: int, n: int, what: str):
        """n bytes at `addr`, checked first."""
        self.check(addr, n, what)
        return self._raw(self.base + addr, n)

    def string(self, addr: int, limit: int, what: str, terminated: bool = False) -> bytes:
        """The bytes from `addr` to the first NUL, or to `limit` (an address) when no NUL
        comes first; `terminated`: a NUL must come first."""
        if addr >= limit or limit > self.eoa:
            raise NotInSubset(f"{what} at {addr} lies outside its heap")
        start, end = self.base + addr, self.base + limit
        if self._data is not None:
            nul = self._data.find(b"\0", start, end)
            found = self._data[start:nul if nul >= 0 else end]
        else:
            found, at = b"", start
            while at < end:
                piece = self._raw(at, min(256, end - at))
                nul = piece.find(b"\0")
                if nul >= 0:
                    found += piece[:nul]
                    break
                found += piece
                at += len(piece)
            else:
                nul = -1
        if terminated and nul < 0:
            raise NotInSubset(f"{what} at {addr} is not NUL-terminated")
        return bytes(found)

    def addr(self, buf, at: int) -> int:
        return struct.unpack_from(self._o, buf, at)[0]

    def length(self, buf, at: int) -> int:
        return struct.unpack_from(self._l, buf, at)[0]

    # -- the superblock ("II.A Disk Format: Level 0A") -------------------------------------

    def _find_superblock(self, size: int) -> int:
        """Where the HDF5 library looks: 0, then 512, 1024, 2048, ... (after a user block)."""
        offset = 0
        while offset + len(HDF5_MAGIC) <= size:
            if bytes(self._raw(offset, len(HDF5_MAGIC))) == HDF5_MAGIC:
                return offset
            offset = offset * 2 or 512
        raise NotInSubset("no HDF5 signature")

    def _superblock(self, size: int) -> None:
        head = bytes(self._raw(self.base, min(16, size - self.base)))
        if len(head) < 16:
            raise NotInSubset("the superblock is cut short")
        version = head[8]
        if version not in (0, 1):
            raise NotInSubset(f"superblock version {version}")
        if head[9] != 0 or head[10] != 0 or head[12] != 0:
            raise NotInSubset("a superblock with unknown free-space, root entry or shared "
                              "header message versions")
        sizeof_addr, sizeof_size = head[13], head[14]
        codes = {2: "<H", 4: "<I", 8: "<Q"}
        if sizeof_addr not in codes or sizeof_size not in codes:
            raise NotInSubset(f"offsets of {sizeof_addr} bytes, lengths of {sizeof_size}")
        self.O, self.L = sizeof_addr, sizeof_size
        self._o, self._l = codes[sizeof_addr], codes[sizeof_size]
        self.undef = (1 << (8 * sizeof_addr)) - 1  # the undefined address: all bits set
        fixed = 24 + (4 if version == 1 else 0)
        entry_size = 2 * self.O + 24
        total = fixed + 4 * self.O + entry_size
        if self.base + total > size:
            raise NotInSubset("the superblock is cut short")
        block = self._raw(self.base, total)
        self.leaf_k, self.internal_k = struct.unpack_from("<HH", block, 16)
        if self.leaf_k == 0 or self.internal_k == 0:
            raise NotInSubset("a B-tree K of 0")
        # The library takes the superblock's own offset as the base address, whatever the
        # base address field says, and the end-of-file address, stored as an absolute one,
        # moves with it (H5F__super_read): relative to the base it is eof - base field.
        base_field, eof = self.addr(block, fixed), self.addr(block, fixed + 2 * self.O)
        driver = self.addr(block, fixed + 3 * self.O)
        if driver != self.undef:
            raise NotInSubset("a driver information block")
        if eof >= self.undef or base_field > eof:
            raise NotInSubset("an undefined end-of-file address")
        self.eoa = eof - base_field
        if self.base + self.eoa > size:
            raise NotInSubset("a truncated file (its end-of-file address is past the end)")
        self.entry_size = entry_size
        entry = fixed + 4 * self.O
        self.root = self.addr(block, entry + self.O)

    # -- object headers ("IV.A.1.a Version 1 Data Object Header Prefix") ----------------

    def object(self, addr: int) -> "_Object":
        """The messages of the object header at `addr`, its continuations followed."""
        prefix = self.read(addr, 16, "an object header")
        if bytes(prefix[:4]) == b"OHDR":
            raise NotInSubset("a version-2 object header")
        version, _count, _refs, size0 = struct.unpack_from("<BxHII", prefix)
        if version != 1:
            raise NotInSubset(f"object header version {version}")
        chunks, seen = [(addr + 16, size0)], {addr + 16}
        found = _Object()
        for start, size in chunks:  # grows as continuation messages are met
            self._header_bytes += size
            if self._header_bytes > self._header_budget:
                raise NotInSubset("object headers larger than the file")
            block = self.read(start, size, "an object header chunk")
            p = 0
            while p < size:
                if p + 8 > size:
                    raise NotInSubset("an object header message cut short")
                kind, length, flags = struct.unpack_from("<HHB", block, p)
                p += 8
                if length % 8 or p + length > size:
                    raise NotInSubset("an object header message overruns its chunk")
                self._messages += 1
                if self._messages > MAX_MESSAGES:
                    raise NotInSubset(f"over {MAX_MESSAGES} object header messages")
                data = block[p:p + length]
                p += length
                if kind == CONTINUATION:
                    at, n = self.addr(data, 0), self.length(data, self.O)
                    self._continuations += 1
                    if self._continuations > MAX_CONTINUATIONS or at in seen:
                        raise NotInSubset("too many (or looping) continuation blocks")
                    seen.add(at)
                    chunks.append((at, n))
                elif kind in PRESENT:
                    found.first.setdefault(kind, data)
                elif kind in PARSED:
                    if flags & SHARED:
                        raise NotInSubset(f"a shared message of type {kind:#x}")
                    if kind == ATTRIBUTE:
                        found.attributes.append(data)
                    else:  # the library reads the first message of a type
                        found.first.setdefault(kind, data)
                elif kind not in PASSED_OVER:
                    raise NotInSubset(f"object header message type {kind:#06x}")
        return found

    # -- the model_config attribute ("IV.A.2.m The Attribute Message") --------------------

    def model_config(self, root: "_Object") -> str | bytes:
        """The first attribute named model_config, as the library finds it by name."""
        for data in root.attributes:
            name, datatype, dataspace, at = self._attribute_parts(data)
            if name == b"model_config":
                return self._string_value(datatype, dataspace, data, at)
        raise LoadError("HDF5 file has no model_config attribute (a weights-only file?)")

    def _attribute_parts(self, data):
        version = data[0]
        if version == 1:
            flags, pad = 0, _align8
            name_len, type_len, space_len = struct.unpack_from("<HHH", data, 2)
            p = 8
        elif version in (2, 3):
            flags, pad = data[1], (lambda n: n)
            name_len, type_len, space_len = struct.unpack_from("<HHH", data, 2)
            p = 9 if version == 3 else 8  # version 3 adds the name's character set
        else:
            raise NotInSubset(f"attribute message version {version}")
        if flags:
            raise NotInSubset("an attribute with a shared datatype or dataspace")
        if name_len == 0:
            raise NotInSubset("an attribute without a name")
        name = bytes(data[p:p + name_len - 1]).split(b"\0", 1)[0]
        p += pad(name_len)
        datatype = data[p:p + type_len]
        p += pad(type_len)
        dataspace = data[p:p + space_len]
        p += pad(space_len)
        if p > len(data):
            raise NotInSubset("an attribute message cut short")
        return name, datatype, dataspace, p

    def _string_value(self, datatype, dataspace, data, at: int) -> str | bytes:
        """A scalar string, as h5py reads it ("IV.A.2.d The Datatype Message")."""
        if len(datatype) < 8 or len(dataspace) < 4:
            raise NotInSubset("an attribute's datatype or dataspace cut short")
        version, dims, space_type = dataspace[0], dataspace[1], dataspace[3]
        scalar = (version == 1 and dims == 0) or (version == 2 and space_type == 0)
        if not scalar:
            raise NotInSubset("a model_config that is not a scalar")
        cls, version = datatype[0] & 0x0F, datatype[0] >> 4
        bits = int.from_bytes(datatype[1:4], "little")
        size = struct.unpack_from("<I", datatype, 4)[0]
        if not 1 <= version <= 4 or size == 0:
            raise NotInSubset(f"a datatype of version {version}, {size} bytes")
        if cls == 3:  # fixed-length string: the library converts its padding away
            pad, charset = bits & 0x0F, (bits >> 4) & 0x0F
            if pad > 2 or charset > 1:
                raise NotInSubset("a string with an unknown padding or character set")
            if size > MAX_CONFIG_BYTES:
                raise LoadError(f"the model_config attribute is {size} bytes, over the limit")
            if at + size > len(data):
                raise NotInSubset("an attribute value cut short")
            raw = bytes(data[at:at + size])
            if pad == 0:  # null-terminated: up to the first NUL
                return raw.split(b"\0", 1)[0]
            if pad == 2:  # space-padded: the spaces go, then numpy drops trailing NULs
                return raw.rstrip(b" ").rstrip(b"\0")
            return raw.rstrip(b"\0")  # null-padded: as stored, less numpy's trailing NULs
        if cls == 9:  # variable-length
            kind, pad, charset = bits & 0x0F, (bits >> 4) & 0x0F, (bits >> 8) & 0x0F
            if kind != 1 or pad != 0 or charset > 1:
                raise NotInSubset("a variable-length value that is not a C string")
            if at + 8 + self.O > len(data):
                raise NotInSubset("an attribute value cut short")
            count = struct.unpack_from("<I", data, at)[0]
            collection = self.addr(data, at + 4)
            index = struct.unpack_from("<I", data, at + 4 + self.O)[0]
            if count > MAX_CONFIG_BYTES:
                raise LoadError(f"the model_config attribute is {count} bytes, over the limit")
            if count == 0 or collection == 0:
                raise NotInSubset("an empty or null variable-length string")
            raw = self._heap_object(collection, index, count)
            # h5py hands over a C string (up to its first NUL), decoded as UTF-8
            return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        raise NotInSubset(f"a model_config of datatype class {cls}")

    def _heap_object(self, addr: int, index: int, count: int) -> bytes:
        """Object `index` of the global heap collection at `addr`, which must hold `count`
        bytes ("III.E Disk Format: Level 1E - Global Heap"). The collection is walked to
        its end, as the library does: a later object with the same index wins."""
        head = self.read(addr, 8 + self.L, "a global heap collection")
        if bytes(head[:4]) != b"GCOL" or head[4] != 1:
            raise NotInSubset("not a version-1 global heap collection")
        size = self.length(head, 8)
        if size < 8 + self.L:
            raise NotInSubset("a global heap collection smaller than its header")
        self.check(addr, size, "a global heap collection")
        object_header = 8 + self.L
        p, end, found, walked = addr + 8 + self.L, addr + size, None, 0
        while p + object_header <= end:
            walked += 1
            if walked > MAX_HEAP_OBJECTS:
                raise NotInSubset(f"over {MAX_HEAP_OBJECTS} objects in a global heap")
            header = self.read(p, object_header, "a global heap object")
            number = struct.unpack_from("<H", header, 0)[0]
            n = self.length(header, 8)
            need = n if number == 0 else object_header + _align8(n)  # 0: the free space
            if need < object_header or p + need > end:
                raise NotInSubset("a global heap object overruns its collection")
            if number == index and number != 0:
                found = (p + object_header, n)
            p += need
        if found is None:
            raise NotInSubset(f"global heap object {index} is missing")
        if found[1] != count:
            raise NotInSubset("a global heap object of another size than its reference")
        return bytes(self.read(found[0], count, "a global heap object"))

    # -- groups ("III.A.1 Version 1 B-trees", "III.B Group Symbol Table Nodes") -----------

    def _local_heap(self, addr: int) -> tuple[int, int]:
        """(address, size) of a local heap's data segment ("III.D Local Heaps")."""
        if addr not in self._local_heaps:
            head = self.read(addr, 8 + 2 * self.L + self.O, "a local heap")
            if bytes(head[:4]) != b"HEAP" or head[4] != 0:
                raise NotInSubset("not a version-0 local heap")
            size = self.length(head, 8)
            data = self.addr(head, 8 + 2 * self.L)
            self.check(data, size, "a local heap's data")
            self._local_heaps[addr] = (data, size)
        return self._local_heaps[addr]

    def _heap_string(self, heap: tuple[int, int], offset: int, what: str,
                     terminated: bool = False) -> bytes:
        start, size = heap
        if offset >= size:
            raise NotInSubset(f"{what} lies outside its heap")
        return self.string(start + offset, start + size, what, terminated)

    def entries(self, stab, links: list[int]) -> list[tuple[bytes, int, bytes | None]]:
        """A group's (name, object address, soft link value or None), in the B-tree's
        order, which is the order h5py lists names in. `links` counts links in all."""
        btree, heap_addr = self.addr(stab, 0), self.addr(stab, self.O)
        heap = self._local_heap(heap_addr)
        two_k = 2 * self.internal_k
        node_size = 8 + 2 * self.O + two_k * self.O + (two_k + 1) * self.L
        snod_size = 8 + 2 * self.leaf_k * self.entry_size
        out: list[tuple[bytes, int, bytes | None]] = []
        visited: set[int] = set()
        stack: list[tuple[int, int | None]] = [(btree, None)]  # (address, level expected)
        while stack:
            addr, level = stack.pop()
            if addr in visited:
                raise NotInSubset("a B-tree that reaches a node twice")
            visited.add(addr)
            self._nodes += 1
            if self._nodes > MAX_NODES:
                raise NotInSubset(f"over {MAX_NODES} B-tree and symbol table nodes")
            if level == -1:  # a leaf's child: a symbol table node
                self._symbols(addr, snod_size, heap, out, links)
                continue
            node = self.read(addr, node_size, "a B-tree node")
            if bytes(node[:4]) != b"TREE" or node[4] != 0:
                raise NotInSubset("not a group B-tree node")
            node_level, used = node[5], struct.unpack_from("<H", node, 6)[0]
            if (level is not None and node_level != level) or used > two_k:
                raise NotInSubset("a B-tree node at the wrong level or over-full")
            first = 8 + 2 * self.O + self.L  # key 0, then (child, key) pairs
            children = [self.addr(node, first + i * (self.O + self.L)) for i in range(used)]
            stack.extend((child, node_level - 1) for child in reversed(children))
        return out

    def _symbols(self, addr, size, heap, out, links) -> None:
        node = self.read(addr, size, "a symbol table node")
        if bytes(node[:4]) != b"SNOD" or node[4] != 1:
            raise NotInSubset("not a version-1 symbol table node")
        count = struct.unpack_from("<H", node, 6)[0]
        if count > 2 * self.leaf_k:
            raise NotInSubset("an over-full symbol table node")
        for i in range(count):
            links[0] += 1
            if links[0] > MAX_HDF5_LINKS:
                raise LoadError(f"HDF5 file has over {MAX_HDF5_LINKS} links")
            at = 8 + i * self.entry_size  # "III.C Symbol Table Entry"
            name_offset, header = self.addr(node, at), self.addr(node, at + self.O)
            cache = struct.unpack_from("<I", node, at + 2 * self.O)[0]
            name = self._heap_string(heap, name_offset, "a link name")
            if cache == 2:  # a soft link: its value in the heap, the address unused
                value = struct.unpack_from("<I", node, at + 2 * self.O + 8)[0]
                out.append((name, header, self._heap_string(heap, value, "a soft link")))
            elif cache in (0, 1):
                out.append((name, header, None))
            else:
                raise NotInSubset(f"symbol table entry cache type {cache}")

    # -- the walk (as keras_file._hdf5_unsafe) ------------------------------------------

    def unsafe(self, root: _Object) -> list[Unsafe]:
        found: list[Unsafe] = []
        seen = {self.root}
        stack = [("/", root)]
        links = [0]
        while stack:
            prefix, group = stack.pop()
            for name, addr, soft in self.entries(group.first[SYMBOL_TABLE], links):
                path = posixpath.join(prefix, _text(name))
                if soft is not None:
                    found.append((path, f"is a soft link to {_text(soft)}"))
                    continue
                if addr in seen:
                    continue  # another name for an object already looked at
                seen.add(addr)
                obj = self.object(addr)
                if SYMBOL_TABLE in obj.first:
                    stack.append((path, obj))
                elif DATATYPE in obj.first and DATASPACE in obj.first:
                    found.extend(self._dataset_unsafe(path, obj.first))
                elif DATATYPE not in obj.first:
                    raise NotInSubset(f"{path} is neither a group, a dataset nor a datatype")
        return found

    def _dataset_unsafe(self, path: str, messages) -> list[Unsafe]:
        found: list[Unsafe] = []
        if EXTERNAL_FILES in messages:
            names = self._external_files(messages[EXTERNAL_FILES])
            if names:
                found.append((path, f"stores its data in external files {names[:3]}"))
        if LAYOUT in messages:
            layout = messages[LAYOUT]
            version = layout[0]
            if version in (1, 2):
                cls = layout[2]
            elif version in (3, 4):
                cls = layout[1]
            else:
                raise NotInSubset(f"data layout message version {version}")
            if cls > 3 or (cls == 3 and version < 4):
                raise NotInSubset(f"data layout class {cls}")
            if cls == 3:
                found.append((path, "is a virtual dataset mapping other files"))
        return found

    def _external_files(self, data) -> list[str]:
        """The names in an external data files message ("IV.A.2.h"), as h5py decodes them."""
        if data[0] != 1:
            raise NotInSubset(f"external data files message version {data[0]}")
        allocated, used = struct.unpack_from("<HH", data, 4)
        if used > allocated or 8 + self.O + used * 3 * self.L > len(data):
            raise NotInSubset("an external data files message cut short")
        heap = self._local_heap(self.addr(data, 8))
        names = []
        for i in range(used):
            offset = self.length(data, 8 + self.O + i * 3 * self.L)
            name = self._heap_string(heap, offset, "an external file name", terminated=True)
            if not name:
                raise NotInSubset("an empty external file name")
            names.append(os.fsdecode(name))
        return names


def _text(name: bytes) -> str:
    """A name as h5py gives it; one that is not UTF-8 h5py gives as bytes: leave it to h5py."""
    try:
        return name.decode("utf-8")
    except UnicodeDecodeError:
        raise NotInSubset("a name that is not UTF-8") from None
