"""ONNX models (PyTorch exports, tf2onnx conversions), and in-memory onnx.ModelProto.
ONNX has no magic number: a file is ONNX by its suffix. The protobuf parser is native
code, so files are read in the isolated child."""

from __future__ import annotations

from ._frontend import FrontEnd


def _read(path: str):
    from ..onnx_graph import graph_from_onnx, read_onnx

    return graph_from_onnx(read_onnx(path), path)


def _from_object(model):
    from ..onnx_graph import graph_from_onnx

    return graph_from_onnx(model, f"<onnx model {model.graph.name}>")


FRONT_END = FrontEnd(
    name="onnx", title="ONNX model", suffixes=(".onnx",), detect=None, read=_read,
    isolate=True, preload="cnnlstm_lint.loaders.onnx_graph",
    accepts=lambda obj: type(obj).__name__ == "ModelProto"
    and (type(obj).__module__ or "").startswith("onnx"),
    from_object=_from_object)
