"""GitLab code quality report (a JSON array the merge-request widget reads)."""

from __future__ import annotations

import hashlib

from ...engine import FileResult
from ...findings import Severity
from ..escape import json_text
from ..paths import common_root, display_path, finding_text

SEVERITIES = {Severity.INFO: "info", Severity.WARNING: "minor", Severity.ERROR: "major"}


def _digest(text: str) -> str:
    """16 hex digits; surrogatepass, since a path or name may hold a lone surrogate."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def _issue(description: str, check: str, fingerprint: str, severity: str, path: str) -> dict:
    return {"description": description, "check_name": check, "fingerprint": fingerprint,
            "severity": severity, "location": {"path": path, "lines": {"begin": 1}}}


def render(results: list[FileResult], *, verbose: bool = False, color: bool = False) -> str:
    shown = sorted((r for r in results if r.status != "skipped"), key=lambda r: r.path)
    root = common_root([r.path for r in shown])
    issues: list[dict] = []
    seen: set[str] = set()
    for result in shown:
        path = display_path(result.path, root)
        if result.status == "error":
            digest = _digest(f"unreadable-model\0{path}")
            issues.append(_issue(f"{result.path} could not be read: {result.error}",
                                 "unreadable-model", digest, "critical", path))
            continue
        for f in sorted(result.findings, key=lambda f: (f.code, f.node, f.message)):
            fingerprint = f.fingerprint
            n = 1
            while fingerprint in seen:  # GitLab drops issues that share a fingerprint
                n += 1
                fingerprint = _digest(f"{f.fingerprint}\0{n}")
            seen.add(fingerprint)
            issues.append(_issue(f"{f.code} {f.name}: {finding_text(f)}", f.code, fingerprint,
                                 SEVERITIES[f.severity], path))
    return json_text(issues, indent=2) + "\n"
