"""cnnlstm-lint: static checks for CNN -> recurrent (LSTM/GRU) models.

    >>> import cnnlstm_lint
    >>> findings = cnnlstm_lint.lint("model.keras")         # a path
    >>> findings = cnnlstm_lint.lint(keras_model)           # an in-memory keras.Model
    >>> cnnlstm_lint.assert_clean(keras_model, ignore=["CL006"])   # in a pytest suite
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from .findings import Finding, Severity
from .graph import ModelGraph
from .loaders import LoadError, load_graph

__all__ = ["Finding", "LoadError", "ModelGraph", "Severity", "assert_clean", "lint",
           "load_graph", "to_graph"]
__version__ = "0.1.0"


def to_graph(obj: Any, input_roles: dict[str, str] | None = None) -> ModelGraph:
    """An axis-annotated ModelGraph from a path, a keras.Model, an onnx.ModelProto, a Keras
    config dict, or a ModelGraph (returned as is). Nothing is saved to disk."""
    from .axes import propagate
    from .loaders import apply_input_roles, graph_from_config

    if isinstance(obj, ModelGraph):
        return obj
    module = type(obj).__module__ or ""
    if module.startswith("keras") and hasattr(obj, "get_config"):
        import keras  # the caller already has Keras: it built the model

        config, name = keras.saving.serialize_keras_object(obj), f"<keras model {obj.name}>"
        graph = graph_from_config(config, name)
    elif type(obj).__name__ == "ModelProto" and module.startswith("onnx"):
        from .loaders.onnx_graph import graph_from_onnx

        graph = graph_from_onnx(obj, f"<onnx model {obj.graph.name}>")
    elif isinstance(obj, dict):
        graph = graph_from_config(obj, "<config>")
    else:
        return load_graph(str(obj), input_roles=input_roles)
    apply_input_roles(graph, input_roles or {})
    propagate(graph)
    return graph


def lint(obj: Any, select: Iterable[str] | None = None,
         ignore: Iterable[str] | None = None, *, config: str | None = None,
         isolated: bool = False) -> list[Finding]:
    """Lint a model file path, an in-memory keras.Model or onnx.ModelProto, a Keras config
    dict or a ModelGraph. Findings carry the fields of the JSON output (`as_dict()`).

    A path is linted as `cnnlstm-lint PATH` lints it: with the nearest config file (or
    `config=`, or none with `isolated=True`), native parsers in a child process, and
    LoadError when it cannot be read."""
    from .engine import Settings, lint_graph

    if isinstance(obj, (str, os.PathLike)):
        from .config import Resolver
        from .engine import lint_file
        from .files import Target

        path = os.fspath(obj)
        settings = Settings.build(Resolver(config, isolated).for_path(path),
                                  tuple(select or ()), tuple(ignore or ()))
        result = lint_file(Target(path, True), settings)
        if result.status == "error":
            raise LoadError(result.error or "could not be read", path)
        return result.findings
    settings = Settings(select=tuple(select or ("ALL",)), ignore=tuple(ignore or ()))
    return lint_graph(to_graph(obj), settings)


def assert_clean(obj: Any, select: Iterable[str] | None = None,
                 ignore: Iterable[str] | None = None) -> None:
    """Raise AssertionError listing the findings, if there are any (for pytest suites)."""
    findings = lint(obj, select=select, ignore=ignore)
    if findings:
        lines = [f"{f.code} {f.name} at `{f.node}`: {f.message}\n    remedy: {f.remedy}"
                 for f in findings]
        raise AssertionError(f"cnnlstm-lint found {len(findings)} problem(s):\n" + "\n".join(lines))
