"""The picture as Graphviz DOT: top to bottom, findings in red. Deterministic."""

from __future__ import annotations

from typing import Sequence

from ..findings import Finding
from ..graph import ModelGraph
from ..report.escape import visible
from .scene import RED, build_scene, title_text


def _dot_visible(text: object) -> str:
    """A file-supplied string for DOT: `visible`, except that a newline stays a line break
    of the label (`dot_quote` writes it as DOT's two characters ``\\n``, never raw)."""
    return visible(text, keep="\n")


def dot_quote(text: str) -> str:
    """A DOT double-quoted string; newlines become centred line breaks."""
    text = "".join(ch if ch >= " " or ch == "\n" else " " for ch in str(text))
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _attrs(pairs: list[tuple[str, str]]) -> str:
    return "[" + " ".join(f"{k}={v}" for k, v in pairs) + "]"


def to_dot(graph: ModelGraph, findings: Sequence[Finding]) -> str:
    """The model as Graphviz DOT: top to bottom, findings in red. Deterministic."""
    scene = build_scene(graph, findings, _dot_visible)
    title = title_text(graph, findings, _dot_visible)
    out = [
        "digraph model {",
        f"  graph [rankdir=TB fontname=Helvetica fontsize=12 labelloc=t label={dot_quote(title)} "
        "nodesep=0.35 ranksep=0.45 charset=\"UTF-8\"];",
        "  node [shape=box style=\"rounded,filled\" fillcolor=white fontname=Helvetica fontsize=11 "
        "margin=\"0.14,0.05\"];",
        "  edge [fontname=Helvetica fontsize=9 color=\"#555555\" arrowsize=0.7];",
    ]
    for box in scene.boxes:
        if box.output:
            out.append(f"  {box.key} {_attrs([('label', dot_quote(box.lines[0])), ('shape', 'plaintext'), ('style', 'solid'), ('fontcolor', dot_quote('#555555'))])};")
            continue
        pairs = [("label", dot_quote("\n".join(box.lines))), ("tooltip", dot_quote(box.tooltip))]
        pairs.append(("fillcolor", dot_quote(box.fill)))
        if box.red:
            pairs += [("color", RED), ("penwidth", "2")]
        if box.codes:
            pairs.append(("fontcolor", dot_quote("#8b0000")))
        out.append(f"  {box.key} {_attrs(pairs)};")
    for edge in scene.edges:
        pairs = [("label", dot_quote(" " + edge.label + " ")), ("tooltip", dot_quote(edge.tooltip))]
        if edge.red:
            pairs += [("color", RED), ("fontcolor", RED), ("penwidth", "2")]
        if edge.aux:  # not data: a shape read, an initial state, a mask
            pairs = [("tooltip", dot_quote("auxiliary input: " + edge.tooltip)),
                     ("style", "dashed"), ("color", dot_quote("#aaaaaa")), ("constraint", "false")]
        out.append(f"  {edge.src} -> {edge.dst} {_attrs(pairs)};")
    out.append("}")
    return "\n".join(out) + "\n"
