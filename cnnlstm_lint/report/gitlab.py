"""GitLab code quality report (a JSON array the merge-request widget reads)."""

from __future__ import annotations

import hashlib
import json

from ..engine import FileResult
from ..findings import Severity
from .paths import common_root, display_path, finding_text

SEVERITIES = {Severity.INFO: "info", Severity.WARNING: "minor", Severity.ERROR: "major"}


def _issue(description: str, check: str, fingerprint: str, severity: str, path: str) -> dict:
    return {"description": description, "check_name": check, "fingerprint": fingerprint,
            "severity": severity, "location": {"path": path, "lines": {"begin": 1}}}


def render_gitlab(results: list[FileResult], *, verbose: bool = False, color: bool = False) -> str:
    shown = sorted((r for r in results if r.status != "skipped"), key=lambda r: r.path)
    root = common_root([r.path for r in shown])
    issues: list[dict] = []
    seen: set[str] = set()
    for result in shown:
        path = display_path(result.path, root)
        if result.status == "error":
            digest = hashlib.sha256(f"unreadable-model\0{path}".encode()).hexdigest()[:16]
            issues.append(_issue(f"{result.path} could not be read: {result.error}",
                                 "unreadable-model", digest, "critical", path))
            continue
        for f in sorted(result.findings, key=lambda f: (f.code, f.node, f.message)):
            fingerprint = f.fingerprint
            n = 1
            while fingerprint in seen:  # GitLab drops issues that share a fingerprint
                n += 1
                fingerprint = hashlib.sha256(f"{f.fingerprint}\0{n}".encode()).hexdigest()[:16]
            seen.add(fingerprint)
            issues.append(_issue(f"{f.code} {f.name}: {finding_text(f)}", f.code, fingerprint,
                                 SEVERITIES[f.severity], path))
    return json.dumps(issues, indent=2, ensure_ascii=False) + "\n"
