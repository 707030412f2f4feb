"""One line per finding, as ruff's concise output: `path:node: CODE [severity] message`."""

from __future__ import annotations

from ...engine import FileResult
from ..escape import escaped
from ..human import BOLD, COLORS, paint, summary_line


def render(results: list[FileResult], *, verbose: bool = False, color: bool = False) -> str:
    lines: list[str] = []
    for result in escaped(results):
        if result.status == "skipped":
            continue
        if result.status == "error":
            continue  # the CLI reports unreadable files on stderr, one line each
        for f in result.findings:
            layer = f" (layer {f.evidence['layer']})" if f.evidence.get("layer") else ""
            where = paint(f"{result.path}:{f.node}{layer}", BOLD, color)
            code = paint(f.code, BOLD + COLORS[f.severity], color)
            lines.append(f"{where}: {code} [{f.severity.value}] {f.message}")
        lines += [f"{result.path}: {note}" for note in result.skipped]
        if verbose:
            lines += [f"{result.path}: note: {note}" for note in result.notes]
    lines.append(summary_line(results))
    return "\n".join(lines) + "\n"
