"""Renderers: each turns a run's FileResults into one string. Nothing else formats output."""

from __future__ import annotations

from typing import Callable

from ..engine import FileResult
from .json import render_json
from .text import render_text

RENDERERS: dict[str, Callable[..., str]] = {"text": render_text, "json": render_json}

__all__ = ["RENDERERS", "FileResult"]
