"""JSON for other tools to parse: the stable contract of DESIGN.md, Outputs."""

from __future__ import annotations

from ...engine import FileResult
from ..escape import json_text


def render(results: list[FileResult], *, verbose: bool = False, color: bool = False) -> str:
    shown = [r for r in results if r.status != "skipped"]
    doc = {
        "version": 1,
        "files": [{"path": r.path, "status": r.status, "error": r.error,
                   "findings": [f.as_dict() for f in r.findings]} for r in shown],
        "summary": {"files": len(shown),
                    "errors": sum(r.status == "error" for r in shown),
                    "findings": sum(len(r.findings) for r in shown)},
    }
    return json_text(doc, indent=2) + "\n"
