"""What the formats for people share: the finding block, the summary line, the colours.

text prints the block, junit puts it in its failure text, concise and statistics end
with the summary line; they live here, outside formats/, since none of them is a format.
"""

from __future__ import annotations

from ..engine import FileResult
from ..findings import Severity

COLORS = {Severity.ERROR: "\x1b[31m", Severity.WARNING: "\x1b[33m", Severity.INFO: "\x1b[36m"}
BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"


def paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{RESET}" if color else text


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def finding_block(path: str, f, color: bool = False) -> list[str]:
    """A finding for people: a header line, then the message, provenance, builders, remedy.
    `path` and `f` come escaped (escape.escaped)."""
    layer = f" (layer {f.evidence['layer']})" if f.evidence.get("layer") else ""
    lines = [paint(f"{path}:{f.node}{layer}: {f.code} [{f.severity.value}] {f.name}",
                   BOLD + COLORS[f.severity], color), f"  {f.message}"]
    if f.evidence.get("provenance"):
        lines.append(f"  {paint('provenance:', DIM, color)} {f.evidence['provenance']}")
    if f.related:
        lines.append(f"  {paint('built by:', DIM, color)}   {', '.join(f.related)}")
    if f.remedy:
        lines.append(f"  {paint('remedy:', DIM, color)}     {f.remedy}")
    return lines


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
