"""Read the Keras model config out of a TensorFlow SavedModel directory, without TensorFlow.

`model.save("dir")` in tf.keras 2.x (tf_keras) writes, next to the TensorFlow graph
(saved_model.pb) and the weights (variables/), a `keras_metadata.pb`: one JSON text per
Keras object, the root object's holding the whole model's config. That file is all this
reads. Its protobuf (tf_keras/protobuf/saved_metadata.proto) has two messages of a few
fields, decoded here from the wire format in pure Python, so no native parser touches the
file and nothing needs the isolated child:

    message SavedMetadata { repeated SavedObject nodes = 1; }
    message SavedObject { int32 node_id = 2; string node_path = 3; string identifier = 4;
                          string metadata = 5; VersionDef version = 6; }

saved_model.pb is never parsed (only its presence marks the directory) and variables/
and assets/ are never opened.
"""

from __future__ import annotations

import os
import shlex
import stat

from .errors import LoadError, NotAModelError
from .keras_file import MAX_CONFIG_BYTES, Unsafe, parse_json

MARKER = "saved_model.pb"  # what makes a directory a SavedModel; never read
METADATA = "keras_metadata.pb"
MAX_METADATA_BYTES = MAX_CONFIG_BYTES  # read whole, so bounded like a config
MAX_FIELDS = 1_000_000  # protobuf fields decoded in all: bounds the work on a crafted file
ROOT_ID = 0  # tf_keras's loader: node 0 is the model itself ("root")

_VARINT, _FIXED64, _LENGTH, _FIXED32 = 0, 1, 2, 5


class _Malformed(Exception):
    """The bytes are not the protobuf they should be; the message says where."""


class _Reader:
    """Fields of protobuf messages in `data`, with one budget of fields for the file."""

    def __init__(self, data: bytes):
        self.data = memoryview(data)
        self.left = MAX_FIELDS

    def varint(self, pos: int, end: int) -> tuple[int, int]:
        value = shift = 0
        while True:
            if pos >= end:
                raise _Malformed(f"a number runs past the end of its message at byte {pos}")
            byte = self.data[pos]
            pos += 1
            value |= (byte & 0x7F) << shift
            if byte < 0x80:
                return value, pos
            shift += 7
            if shift >= 70:
                raise _Malformed(f"a number at byte {pos} is over ten bytes long")

    def fields(self, start: int, end: int):
        """(field number, wire type, value) per field of the message in data[start:end]:
        the value is an int, or the (start, end) of a length-delimited field's bytes."""
        pos = start
        while pos < end:
            self.left -= 1
            if self.left < 0:
                raise LoadError(f"{METADATA} has over {MAX_FIELDS} protobuf fields")
            at = pos
            key, pos = self.varint(pos, end)
            number, wire = key >> 3, key & 7
            if number == 0:
                raise _Malformed(f"field number 0 at byte {at}")
            if wire == _VARINT:
                value, pos = self.varint(pos, end)
            elif wire == _LENGTH:
                size, pos = self.varint(pos, end)
                if size > end - pos:
                    raise _Malformed(f"a field of {size} bytes at byte {at} runs past the end "
                                     "of its message")
                value, pos = (pos, pos + size), pos + size
            elif wire in (_FIXED64, _FIXED32):
                width = 8 if wire == _FIXED64 else 4
                if width > end - pos:
                    raise _Malformed(f"a fixed-width field at byte {at} runs past the end")
                value, pos = None, pos + width
            else:  # groups (3, 4) and the unused wire types: tf_keras writes none
                raise _Malformed(f"wire type {wire} at byte {at}")
            yield number, wire, value

    def text(self, span: tuple[int, int], what: str) -> str:
        try:
            return bytes(self.data[span[0]:span[1]]).decode("utf-8")
        except UnicodeDecodeError:
            raise LoadError(f"{what} in {METADATA} is not UTF-8 text") from None


def _expect(wire: int, wanted: int, what: str) -> None:
    if wire != wanted:
        raise _Malformed(f"{what} has wire type {wire}, not {wanted}")


def _root_object(data: bytes) -> tuple[str, str, int]:
    """(identifier, metadata JSON text, objects) of the root object. As the tf_keras
    loader keys objects by node_id, the last object with id 0 is the root."""
    reader = _Reader(data)
    root = None
    objects = 0
    for number, wire, value in reader.fields(0, len(data)):
        if number != 1:
            continue  # a field this version does not know: skipped, as protobuf does
        _expect(wire, _LENGTH, "SavedMetadata.nodes")
        objects += 1
        node_id, identifier, metadata = 0, None, None
        for inner, inner_wire, inner_value in reader.fields(*value):
            if inner == 2:
                _expect(inner_wire, _VARINT, "SavedObject.node_id")
                node_id = inner_value & 0xFFFFFFFF  # int32: negative ids are ten bytes
                node_id -= (node_id >> 31) << 32
            elif inner in (3, 4, 5):
                _expect(inner_wire, _LENGTH, "a SavedObject string")
                if inner == 4:
                    identifier = inner_value
                elif inner == 5:
                    metadata = inner_value
            elif inner == 6:
                _expect(inner_wire, _LENGTH, "SavedObject.version")
        if node_id == ROOT_ID:
            root = (identifier, metadata)
    if root is None:
        raise LoadError(f"{METADATA} lists no root object (node 0): no Keras model to read"
                        if objects else f"{METADATA} lists no Keras objects")
    identifier = reader.text(root[0], "the root object's identifier") if root[0] else ""
    metadata = reader.text(root[1], "the root object's metadata") if root[1] else ""
    return identifier, metadata, objects


def _plain(value):
    """The config as an .h5 holds it: tf_keras's SavedModel encoder writes a tuple as
    {"class_name": "__tuple__", "items": [...]} and a TensorShape as {"class_name":
    "TensorShape", "items": [...]}, where the .h5's JSON has lists, and numbers each
    object (`shared_object_id`, an int) for its loader to share. parse_json has bounded
    the depth, so this recursion is bounded too."""
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        if value.get("class_name") in ("__tuple__", "TensorShape") and set(value) == {
                "class_name", "items"} and (isinstance(value["items"], list)
                                            or value["items"] is None):
            return _plain(value["items"])
        return {k: _plain(v) for k, v in value.items()
                if not (k == "shared_object_id" and type(v) is int)}
    return value


def _convert_hint(path: str) -> str:
    return (f"python -m tf2onnx.convert --saved-model {shlex.quote(path)} "
            "--output model.onnx")


def no_metadata_reason(path: str) -> str:
    return (f"a SavedModel without Keras metadata ({METADATA}), as Keras 3 model.export() "
            "and tf.saved_model.save() write; lint the .keras/.h5 it was exported from, or "
            f"convert it: {_convert_hint(path)}")


def _read_metadata(path: str) -> bytes:
    """keras_metadata.pb, whole, after checking what it is on the open descriptor (sniff
    has already refused links unless --follow-symlinks, and FIFOs)."""
    where = os.path.join(path, METADATA)
    try:
        fd = os.open(where, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        if not os.path.lexists(os.path.join(path, MARKER)):
            raise LoadError(f"not a SavedModel: no {MARKER} in the directory") from None
        raise NotAModelError(no_metadata_reason(path)) from None
    except OSError as exc:
        raise LoadError(f"cannot open {METADATA}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        info = os.fstat(fh.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise LoadError(f"{METADATA} is not a regular file")
        if info.st_size > MAX_METADATA_BYTES:
            raise LoadError(f"{METADATA} is {info.st_size} bytes, over the "
                            f"{MAX_METADATA_BYTES}-byte limit")
        try:
            data = fh.read(MAX_METADATA_BYTES + 1)
        except OSError as exc:
            raise LoadError(f"cannot read {METADATA}: {exc.strerror}") from None
    if len(data) > MAX_METADATA_BYTES:  # it grew after the stat
        raise LoadError(f"{METADATA} is over the {MAX_METADATA_BYTES}-byte limit")
    return data


def read_saved_model(path: str) -> tuple[dict, list[Unsafe]]:
    """The model config of the SavedModel directory `path` (as graph_from_config takes
    it), and the unsafe content noticed outside it (none: what load_model would run is
    in the config, which CL900 scans)."""
    data = _read_metadata(path)
    try:
        identifier, text, _ = _root_object(data)
    except _Malformed as exc:
        raise LoadError(f"{METADATA} is truncated or not a Keras metadata protobuf "
                        f"({exc})") from None
    if not text:
        raise LoadError(f"the root object in {METADATA} has no metadata")
    meta = parse_json(text, f"the root object's metadata in {METADATA}")
    # What the tf_keras loader revives the model from: the root's class_name and
    # config; model_config (what an .h5 holds) is the same but for shared_object_id.
    config = {"class_name": meta.get("class_name"), "config": meta.get("config")}
    if not _has_layers(config) and isinstance(meta.get("model_config"), dict):
        config = meta["model_config"]
    if not _has_layers(config):
        if meta.get("is_graph_network") is False or identifier == "_tf_keras_model":
            name = config.get("class_name") or meta.get("class_name")
            raise NotAModelError(
                f"the SavedModel holds a subclassed Keras model ({str(name)[:100]!r}): its "
                f"layers are wired by its Python call(), which {METADATA} does not record; "
                "lint a Functional or Sequential build of it, or convert it: "
                f"{_convert_hint(path)}")
        raise LoadError(f"the root object's metadata in {METADATA} holds no model config "
                        "(a class_name and a config with a layer list)")
    return _plain(config), []


def _has_layers(config: dict) -> bool:
    conf = config.get("config")
    return isinstance(conf, list) or (isinstance(conf, dict) and isinstance(conf.get("layers"), list))
