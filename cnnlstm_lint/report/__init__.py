"""Renderers: each turns a run's FileResults into one string. Nothing else formats output.

A format is one module of report/formats/ named after it (see that package). The names
are read from the package's directory, without importing any format module; a renderer is
imported when first used, so that a plain text lint does not pay for the XML and SARIF
machinery.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
import pkgutil
from collections.abc import Mapping
from typing import Callable, Iterator

from . import formats

DEFAULT = "text"  # the default format, listed first
FLAG_ONLY = ("statistics",)  # chosen by its own flag (--statistics), not by --format


def discover() -> tuple[str, ...]:
    """Every format module's name, the default first, then alphabetically."""
    names = sorted(m.name for m in pkgutil.iter_modules(formats.__path__)
                   if not m.ispkg and not m.name.startswith("_"))
    return tuple(sorted(names, key=lambda name: name != DEFAULT))


def help_text(name: str) -> str:
    """The first line of the format module's docstring, read from its source unimported."""
    spec = importlib.util.find_spec(f"{formats.__name__}.{name}")
    if spec is None:
        raise KeyError(name)
    source = spec.loader.get_source(spec.name) if spec.loader else None
    doc = (ast.get_docstring(ast.parse(source)) if source is not None
           else importlib.import_module(spec.name).__doc__)
    return (doc or "").strip().partition("\n")[0]


class _Renderers(Mapping):
    """format name -> its module's `render`, imported on first use."""

    def __init__(self, names: tuple[str, ...]) -> None:
        self._names = names

    def __getitem__(self, name: str) -> Callable[..., str]:
        if name not in self._names:
            raise KeyError(name)
        return importlib.import_module(f"{formats.__name__}.{name}").render

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


RENDERERS: Mapping[str, Callable[..., str]] = _Renderers(discover())
FORMATS = tuple(name for name in RENDERERS if name not in FLAG_ONLY)  # for --format

__all__ = ["DEFAULT", "FLAG_ONLY", "FORMATS", "RENDERERS", "discover", "help_text"]
