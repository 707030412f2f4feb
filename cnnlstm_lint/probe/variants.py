"""Remedy variants: each finding's remedies applied as rewrites of a copy of the ModelGraph.

A rewrite changes the architecture only: the probe rebuilds every variant (and the
baseline) with fresh weights. A remedy that does not fit a model raises NotApplicable
with the reason, which the report shows.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Callable

from ..findings import Finding
from ..graph import ModelGraph, Node

_MAP_KINDS = {"conv", "pool", "resize", "norm", "activation", "dropout", "identity"}
_PER_FRAME_KINDS = {"conv", "pool", "resize", "norm", "activation", "dropout", "identity"}


class NotApplicable(Exception):
    """This remedy does not fit this model; the message says why."""


@dataclass
class Variant:
    name: str  # e.g. "CL001:gap_dense_head"
    code: str
    remedy_id: str
    description: str  # what was changed, in Keras terms
    graph: ModelGraph


# -- small graph edits ------------------------------------------------------------------


def _new_node(graph: ModelGraph, base: str, kind: str, op: str, per_step: int,
              **attrs) -> Node:
    """A canonical node (kind and attributes, as a front end makes them); the loaders'
    round trip (loaders/keras_layers.py) turns it into a layer."""
    node_id, n = base, 1
    while node_id in graph:
        node_id, n = f"{base}_{n}", n + 1
    return graph.add_node(Node(node_id, kind, op, attrs, per_step=per_step))


def _chain(graph: ModelGraph, src: tuple[str, int], nodes: list[Node]) -> tuple[str, int]:
    for node in nodes:
        graph.connect(src[0], src[1], node.id, 0)
        src = (node.id, 0)
    return src


def _insert_before(graph: ModelGraph, target: Node, nodes: list[Node]) -> None:
    src, _, slot = graph.input_edges(target.id)[0]
    out = graph.disconnect(src, target.id, slot)
    last = _chain(graph, (src, out), nodes)
    graph.connect(last[0], last[1], target.id, slot)


def _insert_after(graph: ModelGraph, source: Node, nodes: list[Node],
                  only: set[str] | None = None) -> None:
    graph.rewire(source.id, 0, nodes[-1].id, only=only)
    _chain(graph, (source.id, 0), nodes)


def _replace_segment(graph: ModelGraph, start: Node, end: Node, nodes: list[Node],
                     keep_end: bool) -> None:
    """Replace the nodes on paths start -> end (start kept; end kept if keep_end)."""
    segment = set(graph.between({start.id}, end.id)) - {start.id}
    if keep_end:
        segment.discard(end.id)
    else:
        segment.add(end.id)
    for node_id in segment - {end.id}:
        outside = {dst for dst, _, _ in graph.consumers(node_id)} - segment - {end.id}
        if outside:
            raise NotApplicable(f"`{node_id}` also feeds {sorted(outside)[0]}, so the segment "
                                "cannot be replaced alone")
    if keep_end:
        for node_id in segment:
            graph.remove_node(node_id)
        last = _chain(graph, (start.id, 0), nodes)
        graph.connect(last[0], last[1], end.id, 0)
        return
    if any(out != 0 for _, out, _ in graph.consumers(end.id)):
        raise NotApplicable(f"the outputs of `{end.id}` other than the first are used")
    last = _chain(graph, (start.id, 0), nodes)
    graph.rewire(end.id, 0, last[0], last[1])
    for node_id in segment:
        graph.remove_node(node_id)


def _step_rank(node: Node) -> int:
    axes = node.outputs[0].axes if node.outputs else None
    return 0 if axes is None else len(axes) - node.per_step


def _feature_map(graph: ModelGraph, rec: Node) -> Node:
    """The nearest upstream node whose output is still a conv feature map."""
    node = rec
    while True:
        producers = graph.producers(node.id)
        if len(producers) != 1:
            raise NotApplicable(f"`{node.id}` has {len(producers)} inputs; no single feature map")
        node = graph.node(producers[0])
        if node.kind == "input":
            raise NotApplicable("no conv feature map between the input and "
                                f"`{rec.id}`")
        if node.kind in _MAP_KINDS and _step_rank(node) >= 3 and node.per_step == rec.per_step:
            return node


def _head_units(rec: Node) -> int:
    units = rec.attrs.get("units") or 64
    if rec.attrs.get("bidirectional") and rec.attrs.get("merge_mode", "concat") == "concat":
        units *= 2
    return units


def _channels_first(graph: ModelGraph, node: Node) -> bool:
    for candidate in [node, *(graph.node(n) for n in graph.ancestors(node.id))]:
        if candidate.kind in ("conv", "pool") and "channels_first" in candidate.attrs:
            return bool(candidate.attrs["channels_first"])
    return False


def _summary_head(graph: ModelGraph, finding: Finding, pooling: str) -> str:
    rec = graph.node(finding.node)
    if rec.attrs.get("return_sequences"):
        raise NotApplicable(f"`{rec.id}` returns sequences, which a pooled head cannot give")
    start = _feature_map(graph, rec)
    rank = _step_rank(start) - 2
    channels_first = _channels_first(graph, start)
    if pooling == "gap":
        first = _new_node(graph, f"{start.id}_gap", "global_pool",
                          f"GlobalAveragePooling{rank}D", rec.per_step, rank=rank,
                          channels_first=channels_first)
    else:
        first = _new_node(graph, f"{start.id}_flatten", "flatten", "Flatten", rec.per_step,
                          channels_first=channels_first)
    dense = _new_node(graph, f"{rec.id}_dense", "dense", "Dense", rec.per_step,
                      units=_head_units(rec), activation="relu")
    _replace_segment(graph, start, rec, [first, dense], keep_end=False)
    return (f"{first.op}() then Dense({_head_units(rec)}, relu) after `{start.id}`, "
            f"instead of the layers up to and including `{rec.id}`")


def _gap_dense_head(graph: ModelGraph, finding: Finding) -> str:
    return _summary_head(graph, finding, "gap")


def _flatten_dense_head(graph: ModelGraph, finding: Finding) -> str:
    return _summary_head(graph, finding, "flatten")


def _timedistributed_cnn(graph: ModelGraph, finding: Finding) -> str:
    rec = next((graph.node(n) for n in [finding.node, *finding.related]
                if n in graph and graph.node(n).is_recurrent), None)
    if rec is None:
        rec = next((graph.node(n) for n in sorted(graph.descendants(finding.node))
                    if graph.node(n).is_recurrent), None)
    if rec is None:
        raise NotApplicable("no recurrent layer to feed")
    clips = [graph.node(n) for n in graph.ancestors(rec.id)
             if graph.node(n).kind == "input" and len(graph.node(n).attrs.get("shape") or ()) == 5]
    if len(clips) != 1:
        raise NotApplicable("the model input has no time axis (a clip of frames) to keep")
    clip = clips[0]
    segment = [n for n in graph.nodes() if n.id in set(graph.between({clip.id}, rec.id))
               and n.id not in (clip.id, rec.id)]
    frame_layers = [n for n in segment if n.kind in _PER_FRAME_KINDS]
    if any(n.kind == "conv" and n.attrs.get("rank") != 2 for n in frame_layers):
        raise NotApplicable("only 2-D per-frame layers are moved under TimeDistributed")
    nodes = []
    for old in frame_layers:
        nodes.append(_new_node(graph, f"td_{old.id}", old.kind, old.op, old.per_step + 1,
                               **copy.deepcopy(old.attrs)))
    # A per-frame CNN is summarised by pooling; raw frames (no conv moved) are flattened.
    has_conv = any(n.kind == "conv" for n in frame_layers)
    summary = "GlobalAveragePooling2D" if has_conv else "Flatten"
    nodes.append(_new_node(graph, f"td_{summary.lower()}", "global_pool" if has_conv else "flatten",
                           summary, 1, rank=2))
    _replace_segment(graph, clip, rec, nodes, keep_end=True)
    moved = ", ".join([n.op for n in frame_layers] + [summary])
    return f"TimeDistributed({moved}) over the frames of `{clip.id}`, straight into `{rec.id}`"


def _flatten_to_pooling(graph: ModelGraph, flat: Node) -> str:
    """Replace a Flatten with global average pooling over the same map."""
    (src, _, _), = graph.input_edges(flat.id)
    rank = _step_rank(graph.node(src)) - 2
    pool = _new_node(graph, f"{flat.id}_gap", "global_pool", f"GlobalAveragePooling{rank}D",
                     flat.per_step, rank=rank)
    _replace_segment(graph, graph.node(src), flat, [pool], keep_end=False)
    return f"GlobalAveragePooling{rank}D() instead of `{flat.id}` (Flatten)"


def _pool_before_recurrent(graph: ModelGraph, finding: Finding) -> str:
    flat = next((graph.node(n) for n in finding.related if graph.node(n).kind == "flatten"), None)
    if flat is None:
        raise NotApplicable("no Flatten makes the wide per-step input")
    return _flatten_to_pooling(graph, flat)


def _dense_projection(graph: ModelGraph, finding: Finding) -> str:
    node = graph.node(finding.node)
    if node.kind == "concat":  # CL008: project the wide branch where it enters the concat
        wide = graph.node(finding.evidence["wide_branch"]["node"])
        dense = _new_node(graph, f"{wide.id}_projection", "dense", "Dense", wide.per_step,
                          units=64, activation="relu")
        _insert_after(graph, wide, [dense], only={node.id})
        return f"Dense(64, relu) on `{wide.id}` before `{node.id}`"
    units = min(256, max(32, 4 * (node.attrs.get("units") or 8)))
    dense = _new_node(graph, f"{node.id}_projection", "dense", "Dense", node.per_step,
                      units=units, activation="relu")
    _insert_before(graph, node, [dense])
    return f"Dense({units}, relu) per step before `{node.id}`"


def _pool_wide_branch(graph: ModelGraph, finding: Finding) -> str:
    wide = graph.node(finding.evidence["wide_branch"]["node"])
    if wide.kind != "flatten":
        raise NotApplicable(f"the wide branch `{wide.id}` is not a Flatten")
    return _flatten_to_pooling(graph, wide)


def _dropout_before_head(graph: ModelGraph, finding: Finding) -> str:
    last = [n for n in graph.nodes() if n.is_recurrent][-1]
    drop = _new_node(graph, f"{last.id}_dropout", "dropout", "Dropout", last.per_step, rate=0.3)
    _insert_after(graph, last, [drop])
    return f"Dropout(0.3) after `{last.id}`"


def _recurrent_dropout(graph: ModelGraph, finding: Finding) -> str:
    changed = []
    for node in graph.nodes():
        if node.is_recurrent:
            node.attrs = {**node.attrs, "dropout": 0.2, "recurrent_dropout": 0.2}
            changed.append(f"`{node.id}`")
    return f"dropout=0.2, recurrent_dropout=0.2 on {', '.join(changed)}"


def _insert_permute(graph: ModelGraph, finding: Finding) -> str:
    reshape_id, perm = finding.evidence.get("reshape"), finding.evidence.get("permute")
    if not reshape_id or not perm:
        raise NotApplicable("no permutation lines the Reshape up")
    reshape = graph.node(reshape_id)
    permute = _new_node(graph, f"{reshape_id}_permute", "permute", "Permute", reshape.per_step,
                        dims=list(perm))
    _insert_before(graph, reshape, [permute])
    return f"Permute({tuple(perm)}) before `{reshape_id}`"


def _selected_step(graph: ModelGraph, finding: Finding) -> tuple[Node, Node]:
    """CL010: (bidirectional layer, the node that takes one step of its sequence)."""
    rec, sel = graph.node(finding.node), graph.node(finding.evidence["selection"])
    from ..loaders.keras_layers import has_keras_form

    if not has_keras_form(rec):
        raise NotApplicable(f"`{rec.id}` is not a Keras layer the probe can rebuild")
    if sel.kind != "select" or graph.producers(sel.id) != [rec.id]:
        raise NotApplicable(f"`{sel.id}` does not take the step straight from `{rec.id}`")
    if {dst for dst, _, _ in graph.consumers(rec.id)} != {sel.id}:
        raise NotApplicable(f"the full sequence of `{rec.id}` is used elsewhere too")
    return rec, sel


def _replace_selection(graph: ModelGraph, sel: Node, source: tuple[str, int]) -> None:
    graph.rewire(sel.id, 0, *source)
    graph.remove_node(sel.id)


def _bidirectional_final_states(graph: ModelGraph, finding: Finding) -> str:
    rec, sel = _selected_step(graph, finding)
    rec.attrs = {**rec.attrs, "return_sequences": False}
    _replace_selection(graph, sel, (rec.id, 0))
    return f"return_sequences=False on `{rec.id}` instead of `{sel.id}`"


def _pool_over_time(graph: ModelGraph, finding: Finding) -> str:
    rec, sel = _selected_step(graph, finding)
    if sel.attrs.get("axis") != 1:
        raise NotApplicable(f"`{sel.id}` does not take a step of axis 1")
    pool = _new_node(graph, f"{rec.id}_pool", "global_pool", "GlobalAveragePooling1D",
                     sel.per_step, rank=1, channels_first=False)
    _replace_selection(graph, sel, (pool.id, 0))
    graph.connect(rec.id, 0, pool.id, 0)
    return f"GlobalAveragePooling1D() over the steps of `{rec.id}` instead of `{sel.id}`"


def _tanh_activation(graph: ModelGraph, finding: Finding) -> str:
    from ..loaders.keras_layers import has_keras_form

    node = graph.node(finding.node)
    if node.attrs.get("cells"):
        raise NotApplicable(f"`{node.id}` stacks several cells; set each cell's activation")
    if not has_keras_form(node):
        raise NotApplicable(f"`{node.id}` has no Keras layer config to change")
    node.attrs = {**node.attrs, "activation": "tanh"}
    return f"activation=\"tanh\" on `{node.id}`"


REWRITES: dict[str, Callable[[ModelGraph, Finding], str]] = {
    "gap_dense_head": _gap_dense_head,
    "flatten_dense_head": _flatten_dense_head,
    "timedistributed_cnn": _timedistributed_cnn,
    "pool_before_recurrent": _pool_before_recurrent,
    "dense_projection": _dense_projection,
    "pool_wide_branch": _pool_wide_branch,
    "dropout_before_head": _dropout_before_head,
    "recurrent_dropout": _recurrent_dropout,
    "insert_permute": _insert_permute,
    "tanh_activation": _tanh_activation,
    "bidirectional_final_states": _bidirectional_final_states,
    "pool_over_time": _pool_over_time,
}


def variants_for(graph: ModelGraph, finding: Finding) -> tuple[list[Variant], dict[str, str]]:
    """The finding's remedies as variants, and {remedy id: why not} for those that don't fit."""
    from ..rules import REGISTRY

    made, skipped = [], {}
    static = REGISTRY[finding.code].static_remedies if finding.code in REGISTRY else ()
    for remedy_id in finding.remedies:
        if remedy_id in static:
            skipped[remedy_id] = "advice the probe does not apply (static-only remedy)"
            continue
        rewrite = REWRITES[remedy_id]  # every other declared remedy has one (tests hold it)
        copy_ = copy.deepcopy(graph)
        try:
            description = rewrite(copy_, finding)
        except NotApplicable as exc:
            skipped[remedy_id] = str(exc)
            continue
        made.append(Variant(f"{finding.code}:{remedy_id}", finding.code, remedy_id, description,
                            copy_))
    return made, skipped
