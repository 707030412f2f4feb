"""The scene of a picture: what to draw, shared by the DOT writer (dot.py) and the
layout drawn here (layout.py).

A box per layer, an edge per tensor labelled with its axes (`axis_text`, `shape_text`),
the red of the findings, and the fills. File-supplied strings enter the scene through the
renderer's `escape` (report/escape.py's `visible`, or dot.py's variant of it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

from ..axes import Axis, Source
from ..findings import Finding
from ..graph import ModelGraph, Node

ARROW = "⟵"
TIMES = "×"

_ROLE_LETTER = {"time": "T", "spatial": "S", "channel": "C", "feature": "F", "unknown": "?",
                "scrambled": ""}

# fills: soft and never named "red", so a clean picture has no red in it at all
FILL = {"input": "#eef2f7", "conv": "#e6f0fb", "pool": "#e6f0fb", "global_pool": "#e6f0fb",
        "recurrent": "#fdf5dc", "conv_recurrent": "#fdf5dc", "reshape": "#f1ecf8",
        "flatten": "#f1ecf8", "permute": "#f1ecf8", "transpose": "#f1ecf8",
        "opaque": "#eeeeee"}
FINDING_FILL = "#fde4e4"
RED = "red"
RED_HEX = "#d62728"  # the same red, for the HTML drawing


# ---------------------------------------------------------------------------------
# edge labels: a tensor's axes


def _label(src: Source) -> str:
    return src.label if src.label else "?"


def _runs(axis: Axis) -> list[tuple[Source, int | None]]:
    """The axis' parts with neighbouring pieces of one source joined."""
    runs: list[tuple[Source, int | None]] = []
    for src, size in axis.parts:
        if runs and runs[-1][0] == src:
            prev = runs[-1][1]
            runs[-1] = (src, None if prev is None or size is None else prev * size)
        else:
            runs.append((src, size))
    return runs


def axis_text(axis: Axis, *, as_time: bool = False) -> str:
    """One axis of an edge label, e.g. ``T=225 ⟵ H×W``, ``C=8``, ``B``.

    `as_time`: the consumer is a recurrent layer reading this axis as its time axis.
    """
    size = "?" if axis.size is None else str(axis.size)
    runs = _runs(axis)
    labels = [_label(src) for src, _ in runs]
    if axis.role == "batch" and not as_time:
        head = "B" if axis.size is None else f"B={size}"
        if all(src.role == "batch" for src, _ in runs):
            return head
        return f"{head} {ARROW} {TIMES.join(labels)}"
    if as_time:
        letter = "T"
    elif not runs:  # a new axis of its own, e.g. a size-1 axis a reshape adds
        letter = ""
    elif axis.role == "scrambled":
        letter = ""
    elif len(runs) == 1 and labels[0] != "?" and runs[0][0].role == axis.role:
        letter = labels[0]
    else:
        letter = _ROLE_LETTER.get(axis.role, "?")
    head = f"{letter}={size}" if letter else size
    if not runs:
        return head
    if axis.role == "scrambled":
        return f"{head} {ARROW} scrambled({', '.join(dict.fromkeys(labels))})"
    pieces = []
    for (src, part), label in zip(runs, labels):
        whole = part is None or src.size is None or part == src.size
        pieces.append(label if whole else f"part of {label}")
    made_of = TIMES.join(pieces)
    return head if made_of == letter else f"{head} {ARROW} {made_of}"


def time_index(graph: ModelGraph, node: Node) -> int | None:
    """Index, in the full input tensor, of the axis a recurrent layer reads as time."""
    if not node.is_recurrent:
        return None
    step = node.attrs.get("time_axis", 0 if node.attrs.get("time_major") else 1)
    return step if step == 0 else step + node.per_step


def shape_text(axes: Sequence[Axis] | None, time_at: int | None = None) -> str:
    """A tensor's edge label, e.g. ``(B, T=225 ⟵ H×W, C=8)``."""
    if axes is None:
        return "(shape unknown)"
    if time_at is not None and not (len(axes) >= 3 and 0 <= time_at < len(axes)):
        time_at = None
    return "(" + ", ".join(axis_text(a, as_time=i == time_at) for i, a in enumerate(axes)) + ")"


def _shape_tooltip(axes: Sequence[Axis] | None, time_at: int | None) -> list[str]:
    if axes is None:
        return ["shape unknown"]
    return [f"{axis_text(axis, as_time=i == time_at)}: {axis.role}, {axis.describe()}"
            for i, axis in enumerate(axes)]


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
                              joined(_shape_tooltip(tensor.axes, at_time)), red=red, aux=aux))
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
        edges.append(Edge(keys[u], key, escape(label), joined(_shape_tooltip(tensor.axes, None))))
    return Scene(boxes, edges)
