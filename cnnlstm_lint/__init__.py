"""cnnlstm-lint: static checks for CNN -> recurrent (LSTM/GRU) models.

    >>> import cnnlstm_lint
    >>> findings = cnnlstm_lint.lint("model.keras")         # a path
    >>> findings = cnnlstm_lint.lint(keras_model)           # an in-memory keras.Model
    >>> findings = cnnlstm_lint.lint(torch_module, example_input=torch.randn(1, 3, 32, 32))
    >>> cnnlstm_lint.assert_clean(keras_model, ignore=["CL006"])   # in a pytest suite
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from .findings import Finding, Severity
from .graph import ModelGraph
from .loaders import LoadError

__all__ = ["Finding", "Findings", "LoadError", "ModelGraph", "Severity", "assert_clean", "lint",
           "load_graph", "to_graph"]
__version__ = "0.1.0"


def load_graph(path: str | os.PathLike, input_roles: dict[str, str] | None = None, *,
               follow_symlinks: bool = False) -> ModelGraph:
    """The axis-annotated ModelGraph of a model file, or LoadError. `.h5` and `.onnx`
    files are parsed in the isolated child (the graph comes back as data), as the CLI
    parses them. `input_roles` declares ambiguous inputs' axes, e.g. {"spec": "NTFC"}."""
    from .engine import Settings, with_parser
    from .loaders import load_graph as read

    path = os.fspath(path)
    settings = Settings(follow_symlinks=follow_symlinks)
    try:
        return with_parser(path, settings, lambda fmt: read(
            path, input_roles, follow_symlinks=follow_symlinks, fmt=fmt))
    except LoadError as exc:
        exc.path = path
        raise


def to_graph(obj: Any, input_roles: dict[str, str] | None = None, *,
             example_input: Any = None) -> ModelGraph:
    """An axis-annotated ModelGraph from a path, a keras.Model, an onnx.ModelProto, a Keras
    config dict, a torch.nn.Module, or a ModelGraph (returned as is). Nothing is saved to
    disk.

    A torch.nn.Module is traced with an example input, given as `(module, example_input)`
    or as `example_input=` (a tensor or a tuple of tensors, one per forward() argument):
    it is exported to ONNX in memory, in eval mode, with axis 0 of each input declared the
    batch, and read as a PyTorch ONNX export. A time-first input declares its axes with
    `input_roles` ({"x": "TNF"}). Raises LoadError when the module cannot be exported."""
    from .loaders import annotate
    from .loaders.formats import for_object
    from .loaders.torch_module import is_torch_module

    if example_input is not None:
        if not is_torch_module(obj):
            raise TypeError("example_input= is for a torch.nn.Module, not "
                            f"{type(obj).__name__}")
        obj = (obj, example_input)
    if isinstance(obj, ModelGraph):
        return obj
    front_end = for_object(obj)
    if front_end is None:
        return load_graph(os.fspath(obj), input_roles=input_roles)
    return annotate(front_end.from_object(obj), input_roles)


class Findings(list):
    """The findings of one model (a list of Finding), with what could not be judged:
    `notes` (--verbose: opaque layers, unknown shapes) and `skipped` (rules that could
    not judge the whole model, e.g. CL006 on an inference export)."""

    def __init__(self, findings=(), notes=(), skipped=()):
        super().__init__(findings)
        self.notes, self.skipped = list(notes), list(skipped)


def lint(obj: Any, select: Iterable[str] | None = None,
         ignore: Iterable[str] | None = None, *, config: str | None = None,
         isolated: bool = False, options: dict | None = None,
         input_roles: dict[str, str] | None = None, example_input: Any = None) -> Findings:
    """Lint a model file path, an in-memory keras.Model or onnx.ModelProto, a Keras config
    dict, a torch.nn.Module with its example input (`lint((module, x))` or
    `lint(module, example_input=x)`, traced as `to_graph` says) or a ModelGraph, as
    `cnnlstm-lint` does: the nearest config file applies (to a path: the nearest to the
    file; to an object: the nearest to the working directory), or `config=` (a file), or
    none with `isolated=True`; `select`/`ignore` as on the command line, `options` as the
    config's `rules` table ({"CL004": {"max-features": 8192}}), `input_roles` as its
    `input-roles`. Native parsers run in a child process. Raises LoadError for a file
    that cannot be read or a module that cannot be exported, ConfigError for bad
    settings."""
    from .config import Resolver, with_overrides
    from .engine import Settings, analyze_graph, lint_file
    from .files import Target

    path = os.fspath(obj) if isinstance(obj, (str, os.PathLike)) else None
    base = Resolver(config, isolated).for_path(path if path is not None else os.getcwd())
    settings = Settings.build(with_overrides(base, options, input_roles, "lint()"),
                              tuple(select or ()), tuple(ignore or ()))
    settings.rules()  # an unknown selector is an error here, not later
    if path is not None:
        result = lint_file(Target(path, True), settings)
        if result.status == "error":
            raise LoadError(result.error or "could not be read", path)
        return Findings(result.findings, result.notes, result.skipped)
    graph = to_graph(obj, input_roles=dict(settings.config.input_roles), example_input=example_input)
    analysis = analyze_graph(graph, settings, graph.file)
    return Findings(analysis.findings, analysis.notes, analysis.skipped)


def assert_clean(obj: Any, select: Iterable[str] | None = None,
                 ignore: Iterable[str] | None = None, **settings: Any) -> None:
    """Raise AssertionError listing the findings, if there are any (for pytest suites).
    Takes the settings `lint` takes."""
    findings = lint(obj, select=select, ignore=ignore, **settings)
    if findings:
        lines = [f"{f.code} {f.name} at `{f.node}`: {f.message}\n    remedy: {f.remedy}"
                 for f in findings]
        raise AssertionError(f"cnnlstm-lint found {len(findings)} problem(s):\n" + "\n".join(lines))
