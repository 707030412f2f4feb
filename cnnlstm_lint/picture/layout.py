"""The picture as inline SVG without Graphviz: a layered layout done here (layers by
longest path from the inputs, a barycentre sweep within a layer) and drawn from the scene
with the same labels and the same red."""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Sequence

from ..findings import Finding
from ..graph import ModelGraph
from ..report.escape import visible
from .scene import RED_HEX, Scene, build_scene, title_text


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


def _layout(scene: Scene, title: str):
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
    scene = build_scene(graph, findings, visible)
    title = title_text(graph, findings, visible)
    slots, routes, width, height = _layout(scene, title)
    out_x, in_x, fan_out, fan_in = _ports(slots, routes)
    w, h = int(width + 0.5), int(height + 0.5)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
           f'viewBox="0 0 {w} {h}" font-family="Helvetica, Arial, sans-serif" role="img">',
           "<defs>",
           '<marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" '
           'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#555555"/></marker>',
           (f'<marker id="arrow-red" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
            f'markerHeight="6" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="{RED_HEX}"/></marker>'
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
        colour = RED_HEX if edge.red else ("#aaaaaa" if edge.aux else "#555555")
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
        fill = box.fill
        stroke = f'stroke="{RED_HEX}" stroke-width="2"' if box.red else 'stroke="#333333" stroke-width="1"'
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
