"""What every rule shares: the Rule class, its options, and questions about the graph."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterator

from ..axes import Axis
from ..axis_text import axis_json, sizes_text as shape_text  # noqa: F401 (the rules' names)
from ..findings import Finding, Severity
from ..graph import ModelGraph, Node


@dataclass(frozen=True)
class Option:
    default: Any
    type: type
    help: str


class Rule:
    """A rule: metadata here, the check in `check`, the documentation in the docstring.

    The docstring has the sections What it does / Why is this bad? / Example /
    Use instead / Options; docs.py renders it as rules/<code>.md.
    """

    code: str = ""
    name: str = ""
    severity: Severity = Severity.WARNING
    options: dict[str, Option] = {}
    # Remedy ids this rule's findings may carry, preferred first. Each has a rewrite in
    # probe/variants.py REWRITES, unless it is listed in `static_remedies` too (advice
    # the probe cannot apply); a test holds the rules to that.
    remedies: tuple[str, ...] = ()
    static_remedies: tuple[str, ...] = ()

    def check(self, graph: ModelGraph, options: dict[str, Any]) -> Iterator[Finding]:
        raise NotImplementedError

    def finding(self, node: Node, message: str, *, related: list[str], evidence: dict,
                remedy: str, remedy_ids: tuple[str, ...] | None = None) -> Finding:
        """A finding on `node`; it carries `remedy_ids` (default: all the rule declares)."""
        remedy_ids = self.remedies if remedy_ids is None else tuple(remedy_ids)
        undeclared = set(remedy_ids) - set(self.remedies)
        if undeclared:
            raise ValueError(f"{self.code} gives undeclared remedies {sorted(undeclared)}")
        if node.attrs.get("layer") and node.attrs["layer"] != node.id:
            evidence = {"layer": node.attrs["layer"], **evidence}  # as the exporter recorded it
        return Finding(self.code, self.name, self.severity, message, node.id, related,
                       evidence, remedy, remedy_ids, node.location)

    def skip(self, graph: ModelGraph, node: Node, reason: str, *, whole_model: bool = False) -> None:
        """Record why this rule could not judge a node (shown with --verbose); a rule that
        skips the whole model is always reported."""
        graph.notes.append(f"{self.code} not judged on {node.id}: {reason}")
        if whole_model:
            graph.skipped.append(f"{self.code} ({self.name}) not judged: {reason}")

    def time_axes(self, graph: ModelGraph, *, need_roles: bool = True) -> Iterator[tuple[Node, Axis]]:
        """(recurrent node, its time axis) where it can be judged; a note for the others.

        `need_roles`: the rule reads where the axis came from, not just its size, so an
        axis whose origin passes through an opaque layer is not judged either.
        """
        for node in graph.recurrent_nodes():
            time = time_axis(graph, node)
            if time is None or (need_roles and has_unknown(time)):
                self.skip(graph, node, unknown_reason(graph, node))
                continue
            yield node, time


# -- questions rules ask of the annotated graph ----------------------------------------


def step_input(graph: ModelGraph, node: Node) -> tuple[Axis, ...] | None:
    """A node's main input as the layer itself sees it (TimeDistributed steps removed)."""
    ins = graph.inputs_of(node.id)
    if not ins or ins[0].axes is None:
        return None
    axes = ins[0].axes
    return (axes[0],) + axes[1 + node.per_step:] if node.per_step else axes


def time_axis(graph: ModelGraph, node: Node) -> Axis | None:
    axes = step_input(graph, node)
    if axes is None or len(axes) < 3:
        return None
    return axes[node.attrs.get("time_axis", 0 if node.attrs.get("time_major") else 1)]


def unknown_reason(graph: ModelGraph, node: Node) -> str:
    opaque, seen, queue = set(), set(), list(graph.producers(node.id))
    while queue:  # walk back only through tensors whose meaning is unknown
        node_id = queue.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        producer = graph.node(node_id)
        if producer.kind == "opaque":
            opaque.add(node_id)
        axes = producer.outputs[0].axes if producer.outputs else None
        if axes is None or any(has_unknown(a) for a in axes):
            queue += graph.producers(node_id)
    opaque = sorted(opaque)
    if opaque:
        return f"its input passes through opaque layer(s) {', '.join(opaque)}"
    return "its input shape is unknown"


def has_unknown(axis: Axis) -> bool:
    return axis.role == "unknown" or any(src.role == "unknown" for src in axis.origin)


def built_by(graph: ModelGraph, node: Node, *axes: Axis) -> list[str]:
    """The layers between the sources of `axes` and `node`, nearest first."""
    sources = {src.node for axis in axes for src in axis.origin}
    return [n for n in graph.between(sources, node.id) if n != node.id]


_KERAS_TERMS = {
    "gap": "GlobalAveragePooling2D()", "flatten": "Flatten()", "dense": "Dense",
    "per_frame": "TimeDistributed(cnn)", "reshape": "Reshape",
}
_TORCH_TERMS = {
    "gap": "nn.AdaptiveAvgPool2d(1) + flatten", "flatten": "torch.flatten(x, 1)", "dense": "nn.Linear",
    "per_frame": "the CNN on every frame (x.reshape(b * t, c, h, w), then .reshape(b, t, -1))",
    "reshape": "reshape",
}


def terms(graph: ModelGraph) -> dict[str, str]:
    """Remedy words in the model's own framework: Keras files and tf2onnx exports speak
    Keras; other ONNX exports (PyTorch) speak torch."""
    return _KERAS_TERMS if graph.meta.get("source_framework", "keras") == "keras" else _TORCH_TERMS


def is_pytorch(graph: ModelGraph) -> bool:
    return graph.meta.get("source_framework", "keras") == "pytorch"


def shown(graph: ModelGraph, node: Node | str) -> str:
    """The name a user knows a node by, for messages and remedies: in a PyTorch export
    the module it came from (`features.5`, `rnn`), not the exporter's node name
    (`/rnn/LSTM`, `node_lstm__2`); else, and for ops of the root module, the node id.
    Findings keep the node id as their `node` (and fingerprint)."""
    if isinstance(node, str):
        if node not in graph:
            return node
        node = graph.node(node)
    layer = node.attrs.get("layer") if is_pytorch(graph) else None
    return module_path(layer) if layer else node.id


def module_path(layer: str) -> str:
    """A PyTorch export's layer path as the module's dotted name. torch.export records
    qualified names (`enc/enc.layers.0/enc.layers.0.bn`: the last one); the TorchScript
    exporter one name per called module, relative to the module that called it, with a
    container's indices kept on its name (`enc/layers.0/conv`, `cnn/cnn.0`,
    `enc/seq/seq.1/seq.1.0`)."""
    path = ""
    for scope in (s for s in layer.split("/") if s):
        if not path or scope.startswith(path + "."):
            path = scope
            continue
        merged = None
        parts = scope.split(".")
        for cut in range(len(parts) - 1, 0, -1):  # `seq.1.0` after `enc.seq.1`: owner `seq.1`
            if not parts[cut].isdigit():
                break
            owner = ".".join(parts[:cut])
            if path == owner or path.endswith("." + owner):
                merged = path[:len(path) - len(owner)] + scope
                break
        path = merged or f"{path}.{scope}"
    return path


def describe(graph: ModelGraph, axis: Axis) -> str:
    """Where an axis came from (Axis.describe), its source nodes named as `shown` names
    them: `C 16 of cnn.3 × 2 of H 8 of cnn.5` in a PyTorch export."""
    if not is_pytorch(graph):
        return axis.describe()
    renamed = tuple((src._replace(node=shown(graph, src.node)), size) for src, size in axis.parts)
    return Axis(axis.size, axis.role, renamed).describe()


def layer_title(node: Node, graph: ModelGraph) -> str:
    """E.g. "LSTM `lstm`" or "Bidirectional LSTM `bilstm`"."""
    op = f"Bidirectional {node.op}" if node.attrs.get("bidirectional") else node.op
    return f"{op} `{shown(graph, node)}`"


def spatial_sources(axis: Axis) -> list:
    """Spatial source axes of size > 1 (or unknown size) in an axis' origin."""
    return [s for s in axis.sources if s.role == "spatial" and (s.size is None or s.size > 1)]


# -- a clip's time merged with other axes (CL003's cause; other rules defer to it) -------

# Time axes that come from the data (not the output steps of a recurrent layer).
DATA_TIME_KINDS = {"input", "conv", "pool", "resize", "embedding"}
MIXED_ROLES = {"spatial", "channel", "feature"}
MERGING_KINDS = {"reshape", "flatten"}  # the only layers that merge axes


def clip_time_merges(graph: ModelGraph, node: Node) -> list[Axis]:
    """Axes `node` creates that merge a clip's time axis with its frames' spatial axes
    (and perhaps their channels). Time merged with channels or features alone is a
    sequence summarised, as a seq2seq encoder's Flatten before RepeatVector does, not
    frames stacked: it is left to the rules that judge what the recurrent layer reads."""
    def mixes(axis: Axis) -> bool:
        if axis.role == "scrambled":  # a cut through axes: CL007's finding, not CL003's
            return False
        roles = {s.role for s in axis.sources}
        has_time = any(s.role == "time" and graph.node(s.node).kind in DATA_TIME_KINDS
                       for s in axis.sources)
        return has_time and "spatial" in roles

    before = {a.origin for t in graph.inputs_of(node.id) for a in (t.axes or ()) if mixes(a)}
    return [axis for tensor in node.outputs for axis in tensor.axes or ()
            if mixes(axis) and axis.origin not in before]


def clip_time_merged_before(graph: ModelGraph, node: Node) -> bool:
    """Whether a clip's time axis was merged away upstream of `node`: then what `node`
    reads as time is a consequence, and CL003 is the one finding."""
    return any(graph.node(a).kind in MERGING_KINDS and clip_time_merges(graph, graph.node(a))
               for a in graph.ancestors(node.id))


# Ops that reverse the steps of a sequence and nothing else: how an exporter feeds the
# backward direction of a bidirectional layer it splits into two recurrent ops.
_REVERSES = frozenset({"ReverseSequence", "ReverseV2"})


def backward_directions(graph: ModelGraph) -> dict[str, str]:
    """{backward recurrent node: its forward twin} for bidirectional layers an exporter
    split in two (tf2onnx makes each direction of a GRU/SimpleRNN a Loop of its own):
    the backward one reads the reversed steps of exactly the tensor the forward one
    reads. One layer, so one finding, on the forward direction."""
    forward_of_input = {}
    for node in graph.recurrent_nodes():
        producers = graph.producers(node.id)
        if producers:
            forward_of_input.setdefault(producers[0], node.id)
    pairs = {}
    for node in graph.recurrent_nodes():
        producers = graph.producers(node.id)
        if not producers or graph.node(producers[0]).op not in _REVERSES:
            continue
        source = graph.producers(producers[0])[:1]
        twin = forward_of_input.get(source[0]) if source else None
        if twin and twin != node.id:
            pairs[node.id] = twin
    return pairs
