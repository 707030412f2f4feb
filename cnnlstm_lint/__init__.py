"""cnnlstm-lint: static checks for CNN -> recurrent (LSTM/GRU) models.

    >>> import cnnlstm_lint
    >>> findings = cnnlstm_lint.lint("model.keras")
"""

from __future__ import annotations

from typing import Iterable

from .findings import Finding, Severity
from .graph import ModelGraph
from .loaders import LoadError, load_graph

__all__ = ["Finding", "LoadError", "ModelGraph", "Severity", "lint", "load_graph"]
__version__ = "0.1.0"


def lint(obj: "str | ModelGraph | dict", select: Iterable[str] | None = None,
         ignore: Iterable[str] | None = None) -> list[Finding]:
    """Lint a model file path, an annotated ModelGraph, or a Keras model config dict."""
    from .axes import propagate
    from .engine import Settings, lint_graph
    from .loaders import graph_from_config

    if isinstance(obj, ModelGraph):
        graph = obj
    elif isinstance(obj, dict):
        graph = graph_from_config(obj, "<config>")
        propagate(graph)
    else:
        graph = load_graph(str(obj))
    settings = Settings(select=tuple(select or ("ALL",)), ignore=tuple(ignore or ()))
    return lint_graph(graph, settings)
