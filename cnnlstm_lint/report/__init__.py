"""Renderers: each turns a run's FileResults into one string. Nothing else formats output.

Renderers are imported when first used, so that a plain text lint does not pay for the
XML and SARIF machinery.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Callable, Iterator

_MODULES = {  # format -> (module, function)
    "text": ("text", "render_text"),
    "concise": ("concise", "render_concise"),
    "json": ("json", "render_json"),
    "sarif": ("sarif", "render_sarif"),
    "github": ("github", "render_github"),
    "gitlab": ("gitlab", "render_gitlab"),
    "junit": ("junit", "render_junit"),
    "statistics": ("statistics", "render_statistics"),
}
FORMATS = tuple(name for name in _MODULES if name != "statistics")  # for --format


class _Renderers(Mapping):
    def __getitem__(self, name: str) -> Callable[..., str]:
        module, function = _MODULES[name]
        return getattr(importlib.import_module(f".{module}", __name__), function)

    def __iter__(self) -> Iterator[str]:
        return iter(_MODULES)

    def __len__(self) -> int:
        return len(_MODULES)


RENDERERS: Mapping[str, Callable[..., str]] = _Renderers()

__all__ = ["FORMATS", "RENDERERS"]
