"""Front ends: turn a model file (or in-memory config) into a ModelGraph."""

from __future__ import annotations

from ..axes import propagate
from ..graph import ModelGraph
from .errors import LoadError, NotAModelError
from .formats import BY_NAME, SUFFIXES
from .keras_config import graph_from_config
from .sniff import MAX_FILE_SIZE, sniff

MODEL_SUFFIXES = SUFFIXES  # what a directory walk collects

__all__ = ["sniff", "LoadError", "NotAModelError", "MODEL_SUFFIXES", "load_graph", "graph_from_config"]


def load_graph(path: str, input_roles: dict[str, str] | None = None, *,
               follow_symlinks: bool = False, max_file_size: int = MAX_FILE_SIZE,
               fmt: str | None = None) -> ModelGraph:
    """Read a model file into an axis-annotated ModelGraph, or raise LoadError.

    `input_roles` declares ambiguous inputs' axes by input name, e.g. {"spec": "NTFC"}.
    `fmt` is what `sniff` already said of this path, when the caller has asked it.
    This reads in-process: entry points go through engine.with_parser, which isolates
    the native parsers.
    """
    try:
        fmt = fmt or sniff(path, max_file_size, follow_symlinks)
        try:
            graph = BY_NAME[fmt].read(path)
        except (TypeError, ValueError, KeyError, AttributeError, IndexError, OverflowError) as exc:
            if isinstance(exc, LoadError):
                raise
            raise LoadError(f"malformed model ({type(exc).__name__}: {exc})") from None
    except LoadError as exc:
        exc.path = path
        raise
    return annotate(graph, input_roles)


def annotate(graph: ModelGraph, input_roles: dict[str, str] | None = None) -> ModelGraph:
    """Declared input roles, then the axis provenance pass."""
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
        node.attrs["roles_declared"] = True
