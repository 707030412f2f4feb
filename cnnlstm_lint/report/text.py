"""Text for people: one block per finding, then a summary line."""

from __future__ import annotations

from ..engine import FileResult
from ..findings import Severity
from .escape import escaped

_COLORS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
_BOLD, _DIM, _RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def finding_block(path: str, f, color: bool = False) -> list[str]:
    """A finding for people: a header line, then the message, provenance, builders, remedy.
    `path` and `f` come escaped (escape.escaped)."""
    def paint(text: str, code: str) -> str:
        return f"{code}{text}{_RESET}" if color else text

    layer = f" (layer {f.evidence['layer']})" if f.evidence.get("layer") else ""
    lines = [paint(f"{path}:{f.node}{layer}: {f.code} [{f.severity.value}] {f.name}",
                   _BOLD + _COLORS[f.severity]), f"  {f.message}"]
    if f.evidence.get("provenance"):
        lines.append(f"  {paint('provenance:', _DIM)} {f.evidence['provenance']}")
    if f.related:
        lines.append(f"  {paint('built by:', _DIM)}   {', '.join(f.related)}")
    if f.remedy:
        lines.append(f"  {paint('remedy:', _DIM)}     {f.remedy}")
    return lines


def render_text(results: list[FileResult], *, verbose: bool = False, color: bool = False) -> str:
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


def summary_line(results: list[FileResult]) -> str:
    """The closing line every human-facing format shares."""
    shown = [r for r in results if r.status != "skipped"]
    findings = [f for r in shown for f in r.findings]
    errors = sum(r.status == "error" for r in shown)
    if findings:
        counts = [_plural(sum(f.severity == s for f in findings), s.value)
                  for s in (Severity.ERROR, Severity.WARNING, Severity.INFO)
                  if any(f.severity == s for f in findings)]
        summary = (f"Found {_plural(len(findings), 'finding')} ({', '.join(counts)}) in "
                   f"{_plural(len(shown), 'file')}")
    else:
        summary = f"No findings in {_plural(len(shown) - errors, 'model file')}"
    if errors:
        summary += f"; {_plural(errors, 'file')} could not be read"
    return summary + "."
