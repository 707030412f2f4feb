"""Front ends: turn a model file (or in-memory config) into a ModelGraph."""

from __future__ import annotations

from ..axes import propagate
from ..graph import ModelGraph
from .errors import LoadError, NotAModelError
from .keras_config import graph_from_config
from .keras_file import read_hdf5, read_json, read_keras_zip
from .sniff import MAX_FILE_SIZE, MODEL_SUFFIXES, sniff

__all__ = ["sniff", "LoadError", "NotAModelError", "MODEL_SUFFIXES", "load_graph", "graph_from_config"]

_READERS = {"keras_zip": read_keras_zip, "hdf5": read_hdf5, "json": read_json}


def load_graph(path: str, input_roles: dict[str, str] | None = None, *,
               follow_symlinks: bool = False, max_file_size: int = MAX_FILE_SIZE,
               fmt: str | None = None) -> ModelGraph:
    """Read a model file into an axis-annotated ModelGraph, or raise LoadError.

    `input_roles` declares ambiguous inputs' axes by input name, e.g. {"spec": "NTFC"}.
    `fmt` is what `sniff` already said of this path, when the caller has asked it.
    """
    try:
        fmt = fmt or sniff(path, max_file_size, follow_symlinks)
        if fmt == "onnx":
            from .onnx_graph import graph_from_onnx, read_onnx

            source, build = read_onnx(path), graph_from_onnx
            unsafe = []
        else:
            source, unsafe = _READERS[fmt](path)
            build = graph_from_config
        try:
            graph = build(source, path)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError) as exc:
            raise LoadError(f"malformed model ({type(exc).__name__}: {exc})") from None
    except LoadError as exc:
        exc.path = path
        raise
    graph.meta.setdefault("unsafe", []).extend(unsafe)
    apply_input_roles(graph, input_roles or {})
    propagate(graph)
    return graph


def apply_input_roles(graph: ModelGraph, roles: dict[str, str]) -> None:
    for node_id in graph.inputs:
        letters = roles.get(node_id)
        if letters is None:
            continue
        node = graph.node(node_id)
        shape = node.attrs.get("shape") or ()
        if len(letters) != len(shape):
            raise LoadError(f"input-roles gives {letters!r} for input {node_id!r}, which has "
                            f"{len(shape)} axes {tuple(shape)}")
        node.attrs["roles"] = letters.replace("B", "N")
