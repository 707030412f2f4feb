"""Counts per rule, as ruff's --statistics: `   3  CL001  spatial-sequence`, then a total."""

from __future__ import annotations

from collections import Counter

from ...engine import FileResult
from ..human import summary_line


def render(results: list[FileResult], *, verbose: bool = False, color: bool = False) -> str:
    counts: Counter[tuple[str, str]] = Counter(
        (f.code, f.name) for r in results if r.status == "ok" for f in r.findings)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0][0]))
    width = max([4] + [len(str(n)) for n in counts.values()])
    code_width = max([5] + [len(code) for code, _ in counts])
    lines = [f"{n:>{width}}  {code:<{code_width}}  {name}" for (code, name), n in rows]
    lines.append(summary_line(results))
    return "\n".join(lines) + "\n"
