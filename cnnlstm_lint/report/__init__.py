"""Renderers: each turns a run's FileResults into one string. Nothing else formats output."""

from __future__ import annotations

from typing import Callable

from ..engine import FileResult
from .concise import render_concise
from .github import render_github
from .gitlab import render_gitlab
from .json import render_json
from .junit import render_junit
from .sarif import render_sarif
from .statistics import render_statistics
from .text import render_text

RENDERERS: dict[str, Callable[..., str]] = {
    "text": render_text,
    "concise": render_concise,
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
    "gitlab": render_gitlab,
    "junit": render_junit,
    "statistics": render_statistics,
}

__all__ = ["RENDERERS", "FileResult"]
