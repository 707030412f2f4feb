"""Pictures of an annotated model: Graphviz DOT, SVG, and a self-contained HTML page.

A box per layer (its id and op, "×T per step" under TimeDistributed), an edge per tensor
labelled with its shape and where each axis came from, e.g. ``(B, T=225 ⟵ H×W, C=8)``:

- ``B`` is the batch axis (``B ⟵ N×T`` when other axes were folded into it);
- every other axis is ``LETTER=size``: its source's label (``H``, ``W``, ``D``, ``L``,
  ``C``, ``T``, ``F``) when it is one whole axis, else its role (``T`` time, ``S``
  spatial, ``C`` channel, ``F`` feature, ``?`` unknown); the axis a recurrent layer
  reads as time is always ``T``; ``?`` stands for a size known only at run time;
- ``⟵ H×W`` says what the axis is made of, when that is several source axes (in memory
  order) or a source of another kind; ``⟵ part of W`` is a clean piece of one axis;
- a reshape that cut through axes gives ``32 ⟵ scrambled(H, W)`` (or ``T=32 ⟵ …`` into
  a recurrent layer).

The layers a finding names (its node and the layers that built its input) are outlined
in red, the finding's node is labelled with its code(s), and the tensors between them
are drawn red.

Names come from the file and are untrusted: the scene (and the page's title and findings
list) takes them in through report/escape.py's `visible` (control characters shown as
escapes; for DOT a newline stays a label line break, which `dot_quote` writes as ``\\n``),
and `dot_quote`, `html.escape` and Graphviz then quote them as markup.
"""

from __future__ import annotations

import html
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Callable, Sequence

import click

from .axes import Axis, Source
from .findings import Finding
from .graph import ModelGraph, Node
from .report.escape import escaped_finding, visible

ARROW = "⟵"
TIMES = "×"

EXIT_ERROR = 2

INSTALL_HINT = ("install Graphviz (apt-get install graphviz, brew install graphviz or "
                "conda install graphviz), or use --format dot or --format html")

_ROLE_LETTER = {"time": "T", "spatial": "S", "channel": "C", "feature": "F", "unknown": "?",
                "scrambled": ""}

# fills: soft and never named "red", so a clean picture has no red in it at all
_FILL = {"input": "#eef2f7", "conv": "#e6f0fb", "pool": "#e6f0fb", "global_pool": "#e6f0fb",
         "recurrent": "#fdf5dc", "conv_recurrent": "#fdf5dc", "reshape": "#f1ecf8",
         "flatten": "#f1ecf8", "permute": "#f1ecf8", "transpose": "#f1ecf8",
         "opaque": "#eeeeee"}
_FINDING_FILL = "#fde4e4"
_RED = "red"
_RED_HEX = "#d62728"  # the same red, for the HTML drawing


class GraphvizError(RuntimeError):
    """Graphviz is missing or `dot` failed; the message is one line."""


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


def _dot_visible(text: object) -> str:
    """A file-supplied string for DOT: `visible`, except that a newline stays a line break
    of the label (`dot_quote` writes it as DOT's two characters ``\\n``, never raw)."""
    return visible(text, keep="\n")


# ---------------------------------------------------------------------------------
# the scene both renderers draw


@dataclass
class _Box:
    key: str  # n0, n1, ... in topological order; o0, o1, ... for model outputs
    node_id: str
    lines: list[str]
    kind: str
    tooltip: str
    red: bool = False
    codes: list[str] = field(default_factory=list)  # findings at this node
    output: bool = False


@dataclass
class _Edge:
    src: str  # box keys
    dst: str
    label: str
    tooltip: str
    red: bool = False
    aux: bool = False


@dataclass
class _Scene:
    boxes: list[_Box]
    edges: list[_Edge]


def _op_text(node: Node) -> str:
    return f"Bidirectional {node.op}" if node.attrs.get("bidirectional") else node.op


def _title(graph: ModelGraph, findings: Sequence[Finding], escape: Escape) -> str:
    return escape(graph.file) + (f" — {len(findings)} finding{'s' if len(findings) != 1 else ''}"
                                 if findings else " — no findings")


def _scene(graph: ModelGraph, findings: Sequence[Finding], escape: Escape) -> _Scene:
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

    boxes: list[_Box] = []
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
        boxes.append(_Box(key, node.id, [escape(line) for line in lines], node.kind, joined(tip),
                          red=node.id in red_nodes, codes=codes))

    edges: list[_Edge] = []
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
            edges.append(_Edge(keys[u], keys[node.id], escape(label),
                               joined(_shape_tooltip(tensor.axes, at_time)), red=red, aux=aux))
    for i, (u, out) in enumerate(graph.outputs):
        if u not in keys:
            continue
        key = f"o{i}"
        boxes.append(_Box(key, "", ["output" if len(graph.outputs) == 1 else f"output {i}"],
                          "output", "model output", output=True))
        tensor = graph.tensor(u, out)
        label = shape_text(tensor.axes)
        if out:
            label = f"out {out}: {label}"
        edges.append(_Edge(keys[u], key, escape(label), joined(_shape_tooltip(tensor.axes, None))))
    return _Scene(boxes, edges)


# ---------------------------------------------------------------------------------
# DOT


def dot_quote(text: str) -> str:
    """A DOT double-quoted string; newlines become centred line breaks."""
    text = "".join(ch if ch >= " " or ch == "\n" else " " for ch in str(text))
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{text}"'


def _attrs(pairs: list[tuple[str, str]]) -> str:
    return "[" + " ".join(f"{k}={v}" for k, v in pairs) + "]"


def to_dot(graph: ModelGraph, findings: Sequence[Finding]) -> str:
    """The model as Graphviz DOT: top to bottom, findings in red. Deterministic."""
    scene = _scene(graph, findings, _dot_visible)
    title = _title(graph, findings, _dot_visible)
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
        fill = _FINDING_FILL if box.codes else _FILL.get(box.kind, "white")
        pairs.append(("fillcolor", dot_quote(fill)))
        if box.red:
            pairs += [("color", _RED), ("penwidth", "2")]
        if box.codes:
            pairs.append(("fontcolor", dot_quote("#8b0000")))
        out.append(f"  {box.key} {_attrs(pairs)};")
    for edge in scene.edges:
        pairs = [("label", dot_quote(" " + edge.label + " ")), ("tooltip", dot_quote(edge.tooltip))]
        if edge.red:
            pairs += [("color", _RED), ("fontcolor", _RED), ("penwidth", "2")]
        if edge.aux:  # not data: a shape read, an initial state, a mask
            pairs = [("tooltip", dot_quote("auxiliary input: " + edge.tooltip)),
                     ("style", "dashed"), ("color", dot_quote("#aaaaaa")), ("constraint", "false")]
        out.append(f"  {edge.src} -> {edge.dst} {_attrs(pairs)};")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------
# SVG through Graphviz


def dot_path() -> str | None:
    return shutil.which("dot")


def to_svg(dot_text: str) -> str:
    """Render DOT to SVG with Graphviz' `dot`; GraphvizError if it is missing or fails."""
    exe = dot_path()
    if exe is None:
        raise GraphvizError(f"Graphviz `dot` was not found on PATH: {INSTALL_HINT}")
    try:
        proc = subprocess.run([exe, "-Tsvg"], input=dot_text.encode("utf-8", "backslashreplace"),
                              capture_output=True)
    except OSError as exc:
        raise GraphvizError(f"could not run {exe}: {exc}") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizError(f"dot failed (exit {proc.returncode}): {err[0] if err else 'no message'}")
    return proc.stdout.decode("utf-8", "replace")


# ---------------------------------------------------------------------------------
# the Python layout for HTML without Graphviz: layers by longest path from the inputs

_CHAR_W = 7.0  # px per character at 12px sans-serif (generous)
_LABEL_CHAR_W = 5.9  # at 10px
_LINE_H = 16
_PAD_X, _PAD_Y = 12, 8
_GAP_X = 28
_GAP_Y = 58  # room for an edge label between layers
_MARGIN = 20


@dataclass
class _Slot:
    key: str  # a box key, or "d<edge>_<layer>" for a point of a long edge
    width: float  # of the box drawn
    height: float
    span: float = 0.0  # room taken in its layer: the box, or a wider label above it
    x: float = 0.0  # centre
    y: float = 0.0  # top


def _label_width(text: str) -> float:
    return len(text) * _LABEL_CHAR_W + 8


def _layout(scene: _Scene, title: str):
    order = {b.key: i for i, b in enumerate(scene.boxes)}
    layer: dict[str, int] = {}
    preds: dict[str, list[str]] = {b.key: [] for b in scene.boxes}
    for e in scene.edges:
        preds[e.dst].append(e.src)
    for b in scene.boxes:  # boxes are in topological order, outputs last
        layer[b.key] = max((layer[p] + 1 for p in preds[b.key]), default=0)

    slots: dict[str, _Slot] = {}
    for b in scene.boxes:
        width = max(len(line) for line in b.lines) * _CHAR_W + 2 * _PAD_X
        slots[b.key] = _Slot(b.key, width, len(b.lines) * _LINE_H + 2 * _PAD_Y, width)
    n_layers = max(layer.values(), default=-1) + 1
    rows: list[list[str]] = [[] for _ in range(n_layers)]
    for b in scene.boxes:
        rows[layer[b.key]].append(b.key)
    # long edges pass through a point in every layer they cross
    routes: list[list[str]] = []
    for k, e in enumerate(scene.edges):
        route = [e.src]
        for lay in range(layer[e.src] + 1, layer[e.dst]):
            dkey = f"d{k}_{lay}"
            slots[dkey] = _Slot(dkey, 0, 0, 16)
            rows[lay].append(dkey)
            order[dkey] = len(order)
            route.append(dkey)
        route.append(e.dst)
        routes.append(route)
        # a label sits on the edge's first segment, mostly above the point it goes to
        nxt = slots[route[1]]
        nxt.span = max(nxt.span, _label_width(e.label) if e.label else 0)
    up: dict[str, list[str]] = {key: [] for key in slots}
    for route in routes:
        for a, b in zip(route, route[1:]):
            if a not in up[b]:
                up[b].append(a)

    # order within a layer: by the mean position of the nodes above (a barycentre sweep)
    position: dict[str, float] = {}
    for r, row in enumerate(rows):
        if r:
            row.sort(key=lambda key: (sum(position[p] for p in up[key]) / len(up[key])
                                      if up[key] else float("inf"), order[key]))
        for i, key in enumerate(row):
            position[key] = i

    widths = [sum(slots[k].span for k in row) + _GAP_X * max(len(row) - 1, 0) for row in rows]
    total_w = max(max(widths, default=0), len(title) * _CHAR_W * 1.05) + 2 * _MARGIN
    y = _MARGIN + 22  # a title line
    for row, width in zip(rows, widths):
        x = (total_w - width) / 2
        height = max((slots[k].height for k in row), default=0)
        for key in row:
            s = slots[key]
            s.x = x + s.span / 2
            s.y = y + (height - s.height) / 2
            x += s.span + _GAP_X
        y += height + _GAP_Y
    total_h = y - _GAP_Y + _MARGIN
    return slots, routes, total_w, total_h


def _svg_text(text: str) -> str:
    return html.escape(text, quote=True)


def _ports(slots: dict[str, _Slot], routes: list[list[str]]):
    """Where each edge leaves its first box and enters its last: spread along the box
    edge, in the order of where the edges go, so that fans do not start at one point."""
    leaving: dict[str, list[int]] = {}
    entering: dict[str, list[int]] = {}
    for k, route in enumerate(routes):
        leaving.setdefault(route[0], []).append(k)
        entering.setdefault(route[-1], []).append(k)
    out_x: dict[int, float] = {}
    in_x: dict[int, float] = {}
    for table, result, near in ((leaving, out_x, 1), (entering, in_x, -2)):
        for key, ks in table.items():
            s = slots[key]
            ks.sort(key=lambda k: (slots[routes[k][near]].x, k))
            step = min(24.0, s.width / (len(ks) + 1))
            for i, k in enumerate(ks):
                result[k] = s.x + (i - (len(ks) - 1) / 2) * step
    fan_out = {k: len(leaving[route[0]]) > 1 for k, route in enumerate(routes)}
    fan_in = {k: len(entering[route[-1]]) > 1 for k, route in enumerate(routes)}
    return out_x, in_x, fan_out, fan_in


def python_svg(graph: ModelGraph, findings: Sequence[Finding]) -> str:
    """The picture as inline SVG, laid out here (no Graphviz): same labels, same red."""
    scene = _scene(graph, findings, visible)
    title = _title(graph, findings, visible)
    slots, routes, width, height = _layout(scene, title)
    out_x, in_x, fan_out, fan_in = _ports(slots, routes)
    w, h = int(width + 0.5), int(height + 0.5)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" font-family="Helvetica, Arial, sans-serif" role="img">',
           "<defs>",
           '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555555"/></marker>',
           (f'<marker id="arrow-red" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
            f'markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{_RED_HEX}"/></marker>'
            if any(e.red for e in scene.edges) else ""),
           "</defs>",
           f'<rect width="{w}" height="{h}" fill="white"/>',
           f'<text x="{w / 2:.1f}" y="{_MARGIN + 6}" text-anchor="middle" font-size="13">'
           f"{_svg_text(title)}</text>"]

    labels = []
    # red edges last, so they are drawn over grey ones
    for k in sorted(range(len(routes)), key=lambda k: scene.edges[k].red):
        edge, route = scene.edges[k], routes[k]
        points = []
        for i, key in enumerate(route):
            s = slots[key]
            if i == 0:
                points.append((out_x[k], s.y + s.height))
            elif i == len(route) - 1:
                points.append((in_x[k], s.y))
            else:  # a long edge's point in a layer it crosses
                points.append((s.x, s.y))
        path = " ".join(("M" if i == 0 else "L") + f"{x:.1f},{y:.1f}" for i, (x, y) in enumerate(points))
        colour = _RED_HEX if edge.red else ("#aaaaaa" if edge.aux else "#555555")
        extra = ' stroke-dasharray="5,3"' if edge.aux else ""
        marker = "arrow-red" if edge.red else "arrow"
        out.append(f'<path d="{path}" fill="none" stroke="{colour}" '
                   f'stroke-width="{2 if edge.red else 1}"{extra} marker-end="url(#{marker})">'
                   f"<title>{_svg_text(edge.tooltip)}</title></path>")
        if not edge.label:
            continue
        (x1, y1), (x2, y2) = points[0], points[1]
        # along the first segment: nearer the end where this edge is alone
        t = 0.5
        if fan_out[k] and not fan_in[k]:
            t = 0.68 if len(route) == 2 else 0.5
        elif fan_in[k] and not fan_out[k]:
            t = 0.32
        lx, ly = x1 + (x2 - x1) * t, y1 + (y2 - y1) * t
        lw = _label_width(edge.label)
        labels.append(
            f'<g><rect x="{lx - lw / 2:.1f}" y="{ly - 8:.1f}" width="{lw:.1f}" height="15" rx="3" '
            f'fill="white" fill-opacity="0.92" stroke="{colour if edge.red else "#cccccc"}" stroke-width="0.6"/>'
            f'<text x="{lx:.1f}" y="{ly + 3.5:.1f}" text-anchor="middle" font-size="10" '
            f'fill="{colour if edge.red else "#333333"}">{_svg_text(edge.label)}'
            f"<title>{_svg_text(edge.tooltip)}</title></text></g>")

    for box in scene.boxes:
        s = slots[box.key]
        x0 = s.x - s.width / 2
        if box.output:
            out.append(f'<text x="{s.x:.1f}" y="{s.y + s.height / 2 + 4:.1f}" text-anchor="middle" '
                       f'font-size="12" fill="#555555">{_svg_text(box.lines[0])}</text>')
            continue
        fill = _FINDING_FILL if box.codes else _FILL.get(box.kind, "white")
        stroke = f'stroke="{_RED_HEX}" stroke-width="2"' if box.red else 'stroke="#333333" stroke-width="1"'
        out.append(f'<g class="{"node red" if box.red else "node"}"><title>{_svg_text(box.tooltip)}</title>'
                   f'<rect x="{x0:.1f}" y="{s.y:.1f}" width="{s.width:.1f}" height="{s.height:.1f}" '
                   f'rx="6" fill="{fill}" {stroke}/>')
        for i, line in enumerate(box.lines):
            is_code = i >= len(box.lines) - len(box.codes)
            colour = "#8b0000" if box.codes else "#111111"
            weight = ' font-weight="bold"' if (i == 0 or (box.codes and is_code)) else ""
            out.append(f'<text x="{s.x:.1f}" y="{s.y + _PAD_Y + (i + 1) * _LINE_H - 4:.1f}" '
                       f'text-anchor="middle" font-size="12" fill="{colour}"{weight}>'
                       f"{_svg_text(line)}</text>")
        out.append("</g>")
    out += labels
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------
# HTML

_CSS = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #111; }
h1 { font-size: 1.25em; margin: 0 0 .3em 0; }
h2 { font-size: 1.1em; margin-top: 1.5em; }
.picture { overflow: auto; border: 1px solid #ddd; padding: .5em; background: #fff; }
.picture svg { max-width: none; height: auto; }
.legend { color: #444; font-size: .9em; max-width: 60em; }
code { font-family: Menlo, Consolas, monospace; font-size: .92em; background: #f4f4f4; padding: 0 .2em; }
ol.findings li { margin-bottom: .9em; }
.code { font-weight: bold; color: #a00; }
.sev { color: #555; }
.remedy { color: #234; }
"""


def _strip_xml_prolog(svg: str) -> str:
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def to_html(graph: ModelGraph, findings: Sequence[Finding], *, layout: str = "auto") -> str:
    """A self-contained HTML page: the picture (Graphviz' SVG when `dot` is installed,
    else a layered layout drawn here) and the list of findings. No network needed.

    `layout`: "auto", "graphviz" (GraphvizError if it is missing) or "python".
    """
    e = html.escape
    file = visible(graph.file)
    drawn_by = "python"
    if layout == "graphviz" or (layout == "auto" and dot_path() is not None):
        svg = _strip_xml_prolog(to_svg(to_dot(graph, findings)))
        drawn_by = "graphviz"
    else:
        svg = python_svg(graph, findings)
    count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}" if findings else "no findings"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>cnnlstm-lint: {e(file)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(file)} <span class=\"sev\">({e(visible(graph.framework))}, {count})</span></h1>",
        '<p class="legend">Each box is a layer (its id and op; <code>×T per step</code> under '
        "TimeDistributed); each arrow a tensor, labelled with its shape: <code>B</code> batch, "
        "<code>T</code> time, <code>H</code>/<code>W</code>/<code>D</code>/<code>L</code> spatial "
        "(<code>S</code> several), <code>C</code> channels, <code>F</code> features, "
        "<code>?</code> unknown; <code>⟵ H×W</code> says what an axis is made of, "
        "<code>scrambled(…)</code> that a reshape cut through axes. The layers a finding names "
        "are outlined in red and the tensors between them drawn red. Hover for details."
        + ("" if drawn_by == "graphviz" else
           " <em>Drawn without Graphviz; install it (apt-get install graphviz, brew install "
           "graphviz or conda install graphviz) for a tidier layout.</em>")
        + "</p>",
        f'<div class="picture" data-layout="{drawn_by}">',
        svg,
        "</div>",
        f"<h2>Findings ({len(findings)})</h2>",
    ]
    if not findings:
        parts.append("<p>No findings.</p>")
    else:
        parts.append('<ol class="findings">')
        for f in [escaped_finding(finding) for finding in findings]:
            related = (f" <span class=\"sev\">built by: {e(', '.join(f.related))}</span>"
                       if f.related else "")
            parts.append(
                f'<li><span class="code">{e(f.code)}</span> <span class="sev">[{e(f.severity.value)}]</span> '
                f"{e(f.name)} at <code>{e(f.node)}</code>{related}"
                f"<br>{e(f.message)}"
                + (f'<br><span class="remedy"><b>remedy:</b> {e(f.remedy)}</span>' if f.remedy else "")
                + "</li>")
        parts.append("</ol>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"


# ---------------------------------------------------------------------------------
# the command


@click.command("graph")
@click.argument("model", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["dot", "svg", "html"]), default="svg",
              show_default=True,
              help="dot: Graphviz source; svg: rendered by Graphviz' `dot`; html: a "
                   "self-contained page with the picture and the findings (works without Graphviz).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to FILE instead of standard output.")
@click.option("--select", multiple=True, metavar="CODES",
              help="Findings to show: codes or prefixes, comma-separated (default: all).")
@click.option("--ignore", multiple=True, metavar="CODES",
              help="Findings to leave out: codes or prefixes, comma-separated.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Use this config file instead of the nearest one to the model.")
@click.option("--isolated", is_flag=True, help="Ignore every config file.")
def graph_command(model: str, fmt: str, output: str | None, select: tuple[str, ...],
                  ignore: tuple[str, ...], config_file: str | None, isolated: bool) -> None:
    """Draw MODEL's layers with every tensor's axes, and the findings in red.

    A box per layer (id, op, "×T per step" under TimeDistributed), an arrow per tensor
    labelled with its shape and where each axis came from:

    \b
      (B, T=225 ⟵ H×W, C=8)    batch; 225 time steps made of the H×W pixels; 8 channels
      T=32 ⟵ scrambled(H, W)   a reshape cut through axes: each step mixes rows and columns

    B is the batch; other axes are LETTER=size: the source axis' label (H, W, D, L, C,
    T, F) or the role (T time, S spatial, C channel, F feature, ? unknown); the axis a
    recurrent layer reads as time is always T. The layers a finding names are outlined in
    red, its layer is labelled with the code, and the tensors between them are red.

    svg needs Graphviz (`dot`); html draws without it. Exit status: 0 drawn, 2 the
    model could not be read, Graphviz is missing for svg, or a usage error.
    """
    from .cli import _file_settings
    from .engine import inspect_file
    from .loaders import LoadError

    settings = _file_settings(model, config_file, isolated, select, ignore)
    # drawn where the file was parsed (the isolated child for .h5/.onnx); svg from the DOT
    draw = to_html if fmt == "html" else to_dot
    try:
        text = inspect_file(model, settings, draw)
    except LoadError as exc:
        click.echo(f"error: {visible(model)}: {visible(exc.reason)}", err=True)
        sys.exit(EXIT_ERROR)
    try:
        if fmt == "svg":
            text = to_svg(text)
    except GraphvizError as exc:
        click.echo(f"error: {visible(exc)}", err=True)
        sys.exit(EXIT_ERROR)
    data = text.encode("utf-8", "backslashreplace")  # nothing unencodable is left; never raise
    if output:
        with open(output, "wb") as fh:
            fh.write(data)
    else:  # bytes, so that a terminal without UTF-8 cannot fail on "⟵"
        stream = getattr(sys.stdout, "buffer", None)
        if stream is None:
            click.echo(text, nl=False)
        else:
            sys.stdout.flush()
            stream.write(data)
            stream.flush()
