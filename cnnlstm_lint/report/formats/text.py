"""Text for people: one block per finding, then a summary line."""

from __future__ import annotations

from ...engine import FileResult
from ..escape import escaped
from ..human import finding_block, summary_line


def render(results: list[FileResult], *, verbose: bool = False, color: bool = False) -> str:
    lines: list[str] = []
    for result in escaped(results):
        if result.status == "error":
            continue  # the CLI reports unreadable files on stderr, one line each
        for f in result.findings:
            lines += finding_block(result.path, f, color) + [""]
        lines += [f"{result.path}: {note}" for note in result.skipped]
        if verbose:
            lines += [f"{result.path}: note: {note}" for note in result.notes]
    lines.append(summary_line(results))
    return "\n".join(lines) + "\n"
