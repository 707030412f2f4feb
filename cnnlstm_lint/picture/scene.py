"""The scene of a picture: what to draw, shared by the DOT writer (dot.py) and the
layout drawn here (layout.py).

A box per layer, an edge per tensor labelled with its axes (axis_text.py's notation),
the red of the findings, and the fills. File-supplied strings enter the scene through the
renderer's `escape` (report/escape.py's `visible`, or dot.py's variant of it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

# the edge labels are axis_text.py's letter notation; picture/ exports it as axis_text, shape_text
from ..axis_text import TIMES, notation as axis_text, notation_lines, shape_notation as shape_text  # noqa: F401
from ..findings import Finding
from ..graph import ModelGraph, Node

# fills: soft and never named "red", so a clean picture has no red in it at all
FILL = {"input": "#eef2f7", "conv": "#e6f0fb", "pool": "#e6f0fb", "global_pool": "#e6f0fb",
        "recurrent": "#fdf5dc", "conv_recurrent": "#fdf5dc", "reshape": "#f1ecf8",
        "flatten": "#f1ecf8", "permute": "#f1ecf8", "transpose": "#f1ecf8",
        "opaque": "#eeeeee"}
FINDING_FILL = "#fde4e4"
RED = "red"
RED_HEX = "#d62728"  # the same red, for the HTML drawing


# ---------------------------------------------------------------------------------
# edge labels: which axis a recurrent consumer reads as time


def time_index(graph: ModelGraph, node: Node) -> int | None:
    """Index, in the full input tensor, of the axis a recurrent layer reads as time."""
    if not node.is_recurrent:
        return None
    step = node.attrs.get("time_axis", 0 if node.attrs.get("time_major") else 1)
    return step if step == 0 else step + node.per_step


Escape = Callable[[str], str]


# ---------------------------------------------------------------------------------
# the scene both renderers draw


@dataclass
class Box:
    key: str  # n0, n1, ... in topological order; o0, o1, ... for model outputs
    node_id: str
    lines: list[str]
    kind: str
    tooltip: str
    red: bool = False
    codes: list[str] = field(default_factory=list)  # findings at this node
    output: bool = False

    @property
    def fill(self) -> str:
        """The box's background: a finding's, else its kind's."""
        return FINDING_FILL if self.codes else FILL.get(self.kind, "white")


@dataclass
class Edge:
    src: str  # box keys
    dst: str
    label: str
    tooltip: str
    red: bool = False
    aux: bool = False


@dataclass
class Scene:
    boxes: list[Box]
    edges: list[Edge]


def _op_text(node: Node) -> str:
    return f"Bidirectional {node.op}" if node.attrs.get("bidirectional") else node.op


def title_text(graph: ModelGraph, findings: Sequence[Finding], escape: Escape) -> str:
    return escape(graph.file) + (f" — {len(findings)} finding{'s' if len(findings) != 1 else ''}"
                                 if findings else " — no findings")


def build_scene(graph: ModelGraph, findings: Sequence[Finding], escape: Escape) -> Scene:
    """What a renderer draws. File-supplied strings enter here, through the renderer's
    `escape`: every label line and tooltip line is escaped, then joined by our newlines."""
    def joined(parts: Sequence[str]) -> str:
        return "\n".join(escape(part) for part in parts)

    at: dict[str, list[Finding]] = {}
    red_nodes: set[str] = set()
    groups: list[set[str]] = []
    for f in findings:
        at.setdefault(f.node, []).append(f)
        group = {f.node, *f.related}
        red_nodes |= group
        groups.append(group)

    boxes: list[Box] = []
    keys: dict[str, str] = {}
    for node in graph.nodes():
        key = f"n{len(keys)}"
        keys[node.id] = key
        lines = [node.id, _op_text(node)]
        if node.per_step:
            lines.append(f"{TIMES}T per step" + (f" ({node.per_step} levels)" if node.per_step > 1 else ""))
        here = sorted(at.get(node.id, []), key=lambda f: f.code)
        codes = list(dict.fromkeys(f.code for f in here))
        for code in codes:
            name = next(f.name for f in here if f.code == code)
            lines.append(f"{code} {name}")
        tip = [f"{node.id} [{node.op}]"] + [f"{f.code} {f.name}: {f.message}" for f in here]
        tip += [f"note: {note}" for note in node.notes]
        boxes.append(Box(key, node.id, [escape(line) for line in lines], node.kind, joined(tip),
                         red=node.id in red_nodes, codes=codes))

    edges: list[Edge] = []
    for node in graph.nodes():
        t_at = time_index(graph, node)
        for u, out, slot in graph.input_edges(node.id, aux=True):
            aux = bool(graph.g.edges[u, node.id, slot].get("aux"))  # the edge's key is its slot
            tensor = graph.tensor(u, out)
            at_time = t_at if slot == 0 and not aux else None
            label = "" if aux else shape_text(tensor.axes, at_time)  # e.g. a shape read for a reshape
            if out and not aux:
                label = f"out {out}: {label}"
            red = not aux and any(u in g and node.id in g for g in groups)
            edges.append(Edge(keys[u], keys[node.id], escape(label),
                              joined(notation_lines(tensor.axes, at_time)), red=red, aux=aux))
    for i, (u, out) in enumerate(graph.outputs):
        if u not in keys:
            continue
        key = f"o{i}"
        boxes.append(Box(key, "", ["output" if len(graph.outputs) == 1 else f"output {i}"],
                         "output", "model output", output=True))
        tensor = graph.tensor(u, out)
        label = shape_text(tensor.axes)
        if out:
            label = f"out {out}: {label}"
        edges.append(Edge(keys[u], key, escape(label), joined(notation_lines(tensor.axes, None))))
    return Scene(boxes, edges)
