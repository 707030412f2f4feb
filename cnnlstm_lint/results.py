"""FileResult: what linting one file produced, for the renderers and the baseline."""

from __future__ import annotations

from dataclasses import dataclass, field

from .findings import Finding


@dataclass
class FileResult:
    path: str
    status: str  # "ok", "error" or "skipped"
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # rules that could not judge the model
    used_ignores: set = field(default_factory=set)  # config suppressions that matched
    warnings: list[str] = field(default_factory=list)  # said on stderr, whatever the format
