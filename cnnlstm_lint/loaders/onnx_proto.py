"""The ONNX protobuf messages, without the cost of importing the `onnx` package.

`import onnx` takes ~0.7 s (most of it ml_dtypes, pulled in by onnx's type tables) for
what the linter needs of it: the message classes of onnx-ml.proto. Those are in the
package's generated `onnx_ml_pb2.py`, which imports only google.protobuf; it is loaded
here by file (the package's `__init__` is never run). The descriptor pool gives the same
classes to both, so a model read here is an `onnx.ModelProto` if onnx is imported later.

Attribute values and small constant tensors are decoded here too (what onnx.helper and
onnx.numpy_helper would do, for the types shape vectors and indices use), so numpy is not
needed either.
"""

from __future__ import annotations

import importlib.util
import math
import os
import struct
import sys
from types import ModuleType
from typing import Any

from .errors import LoadError

_PRIVATE_NAME = "cnnlstm_lint.loaders._onnx_ml_pb2"


def _load_messages() -> ModuleType:
    loaded = sys.modules.get("onnx.onnx_ml_pb2") or sys.modules.get(_PRIVATE_NAME)
    if loaded is not None:
        return loaded
    package = importlib.util.find_spec("onnx")  # locates the package; runs none of it
    folder = (package.submodule_search_locations or [None])[0] if package else None
    path = os.path.join(folder, "onnx_ml_pb2.py") if folder else ""
    if not os.path.isfile(path):
        raise LoadError("cannot read ONNX: the onnx package (its onnx_ml_pb2 messages) is "
                        "not installed")
    spec = importlib.util.spec_from_file_location(_PRIVATE_NAME, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[_PRIVATE_NAME] = module
    return module


pb = _load_messages()
ModelProto, AttributeProto, TensorProto = pb.ModelProto, pb.AttributeProto, pb.TensorProto

# data_type -> (struct code for raw_data, the typed field that holds the values otherwise)
_LAYOUT = {
    TensorProto.FLOAT: ("f", "float_data"), TensorProto.DOUBLE: ("d", "double_data"),
    TensorProto.INT64: ("q", "int64_data"), TensorProto.INT32: ("i", "int32_data"),
    TensorProto.INT16: ("h", "int32_data"), TensorProto.INT8: ("b", "int32_data"),
    TensorProto.UINT8: ("B", "int32_data"), TensorProto.UINT16: ("H", "int32_data"),
    TensorProto.BOOL: ("?", "int32_data"), TensorProto.UINT32: ("I", "uint64_data"),
    TensorProto.UINT64: ("Q", "uint64_data"), TensorProto.FLOAT16: ("e", "int32_data"),
    TensorProto.BFLOAT16: ("H", "int32_data"),
}


def parse_model(data: bytes):
    model = ModelProto()
    model.ParseFromString(data)
    return model


def attribute_value(attr) -> Any:
    """An attribute's value, as onnx.helper.get_attribute_value gives it."""
    kind = attr.type
    if kind == AttributeProto.FLOAT:
        return attr.f
    if kind == AttributeProto.INT:
        return attr.i
    if kind == AttributeProto.STRING:
        return attr.s
    if kind == AttributeProto.TENSOR:
        return attr.t
    if kind == AttributeProto.GRAPH:
        return attr.g
    if kind == AttributeProto.SPARSE_TENSOR:
        return attr.sparse_tensor
    if kind == AttributeProto.TYPE_PROTO:
        return attr.tp
    repeated = {AttributeProto.FLOATS: "floats", AttributeProto.INTS: "ints",
                AttributeProto.STRINGS: "strings", AttributeProto.TENSORS: "tensors",
                AttributeProto.GRAPHS: "graphs", AttributeProto.SPARSE_TENSORS: "sparse_tensors",
                AttributeProto.TYPE_PROTOS: "type_protos"}.get(kind)
    return list(getattr(attr, repeated)) if repeated else None


def tensor_values(tensor, max_elements: int) -> Any:
    """A small tensor's values as nested lists of Python numbers (a scalar for rank 0);
    None when it is large, external, of a type shape values never use, or malformed."""
    dims = list(tensor.dims)
    count = math.prod(dims)
    layout = _LAYOUT.get(tensor.data_type)
    if (layout is None or tensor.data_location == TensorProto.EXTERNAL or count > max_elements
            or any(d < 0 for d in dims)):
        return None
    code, field = layout
    if tensor.HasField("raw_data"):
        raw = tensor.raw_data
        if len(raw) != count * struct.calcsize(code):
            return None
        flat = list(struct.unpack(f"<{count}{code}", raw))
        if tensor.data_type == TensorProto.BFLOAT16:
            flat = [_bfloat16(v) for v in flat]
    else:
        flat = list(getattr(tensor, field))
        if len(flat) != count:
            return None
        if tensor.data_type == TensorProto.FLOAT16:
            flat = [struct.unpack("<e", struct.pack("<H", v & 0xFFFF))[0] for v in flat]
        elif tensor.data_type == TensorProto.BFLOAT16:
            flat = [_bfloat16(v) for v in flat]
        elif tensor.data_type == TensorProto.BOOL:
            flat = [bool(v) for v in flat]
    return _nest(flat, dims)


def _bfloat16(bits: int) -> float:
    return struct.unpack("<f", struct.pack("<I", (bits & 0xFFFF) << 16))[0]


def _nest(flat: list, dims: list[int]) -> Any:
    if not dims:
        return flat[0]
    if len(dims) == 1:
        return flat
    if not flat:  # an empty multi-axis tensor: never a shape vector (and its dims unbounded)
        return None
    step = math.prod(dims[1:])
    return [_nest(flat[i * step:(i + 1) * step], dims[1:]) for i in range(dims[0])]
