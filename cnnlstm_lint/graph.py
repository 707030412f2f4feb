"""ModelGraph: the single representation every rule reads.

A node per layer call (or ONNX op), an edge per tensor. Front ends (loaders/) build it;
axes.py annotates each node's output tensors with axis provenance; rules only read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import networkx as nx

from .axis_types import Axis  # the value type only: graph.py never imports axes.py

RECURRENT_KINDS = frozenset({"recurrent", "conv_recurrent"})


@dataclass(frozen=True)
class Location:
    """Where a user finds a node: the file, the layer path and a pointer into the file."""

    file: str
    layer_path: str
    pointer: str = ""  # JSON pointer into the model config, or "node[7]" for ONNX

    def as_dict(self) -> dict:
        return {"file": self.file, "layer_path": self.layer_path, "pointer": self.pointer}


@dataclass
class TensorInfo:
    """One output tensor of a node."""

    axes: tuple[Axis, ...] | None = None  # None: the shape is unknown
    recorded: tuple[int | None, ...] | None = None  # the shape the file records, if any

    @property
    def shape(self) -> tuple[int | None, ...] | None:
        return None if self.axes is None else tuple(a.size for a in self.axes)


@dataclass
class Node:
    id: str  # stable path, e.g. "outer/time_distributed/cnn/conv2d"
    kind: str  # canonical kind: conv, pool, reshape, recurrent, opaque, ...
    op: str  # framework name: Conv2D, LSTM, Reshape, ...
    attrs: dict = field(default_factory=dict)
    location: Location | None = None
    scope: tuple[str, ...] = ()  # enclosing models and wrappers, outermost first
    per_step: int = 0  # how many TimeDistributed wrappers apply this node per step
    outputs: list[TensorInfo] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # why something could not be judged

    @property
    def is_recurrent(self) -> bool:
        return self.kind in RECURRENT_KINDS


class ModelGraph:
    """A networkx.MultiDiGraph of Nodes plus the model's inputs and outputs."""

    def __init__(self, file: str, framework: str):
        self.file = file
        self.framework = framework  # "keras" or "onnx"
        self.g = nx.MultiDiGraph()
        self.inputs: list[str] = []
        self.outputs: list[tuple[str, int]] = []
        self.meta: dict = {}  # e.g. {"inference_only": True} for stripped exports
        self.notes: list[str] = []  # model-wide remarks for --verbose
        self.skipped: list[str] = []  # rules that could not judge this model at all
        self._order: list[Node] | None = None  # cached topological order
        self._recurrent: list[Node] = []  # its recurrent nodes (rules ask for them often)
        self._next_suffix: dict[str, int] = {}  # name -> the first n that `name~n` may be free

    # -- building -----------------------------------------------------------------
    def free_id(self, name: str) -> str:
        """`name`, else the first free of `name~1`, `name~2`, ...: front ends name nodes
        after layers and ops, and names repeat. The search for a name resumes where it
        stopped, so n nodes of one name take linear time, not n² probes."""
        if name not in self.g:
            return name
        n = self._next_suffix.get(name, 1)
        while f"{name}~{n}" in self.g:
            n += 1
        self._next_suffix[name] = n + 1
        return f"{name}~{n}"

    def add_node(self, node: Node) -> Node:
        if node.id in self.g:
            raise ValueError(f"duplicate node id {node.id!r}")
        self.g.add_node(node.id, node=node, order=len(self.g))
        self._order = None
        return node

    def connect(self, src: str, out: int, dst: str, slot: int, *, aux: bool = False,
                recorded: tuple | None = None) -> None:
        """Add the tensor `src`'s output `out` as input `slot` of `dst`.

        `aux` marks inputs that carry no data shape of interest (initial states, masks).
        """
        self.g.add_edge(src, dst, key=slot, out=out, slot=slot, aux=aux)  # one edge per slot
        self._order = None
        if recorded is not None:
            tensor = self.tensor(src, out)
            if tensor.recorded is None:
                tensor.recorded = tuple(recorded)

    def tensor(self, node_id: str, out: int = 0) -> TensorInfo:
        outputs = self.node(node_id).outputs
        while len(outputs) <= out:
            outputs.append(TensorInfo())
        return outputs[out]

    # -- reading ------------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        return self.g._node[node_id]["node"]  # networkx's node-attribute dict, without a view

    def __contains__(self, node_id: str) -> bool:
        return node_id in self.g

    def __len__(self) -> int:
        return self.g.number_of_nodes()

    def nodes(self) -> Iterator[Node]:
        """Nodes in a deterministic topological order (insertion order breaks ties)."""
        yield from self._ordered_nodes()

    def _ordered_nodes(self) -> list[Node]:
        if self._order is None:  # reset by every change to the graph
            nodes = self.g._node
            self._order = [nodes[n]["node"] for n in
                           nx.lexicographical_topological_sort(self.g, key=self._order_key)]
            self._recurrent = [n for n in self._order if n.is_recurrent]
        return self._order

    def _order_key(self, node_id: str) -> int:
        return self.g.nodes[node_id]["order"]

    def input_edges(self, node_id: str, *, aux: bool = False) -> list[tuple[str, int, int]]:
        """(source node, output index, slot) of a node's inputs, ordered by slot."""
        # the adjacency dicts directly: this runs for every node of graphs with 50k nodes
        edges = [(u, d["out"], d["slot"]) for u, keyed in self.g._pred[node_id].items()
                 for d in keyed.values() if aux or not d["aux"]]
        return sorted(edges, key=lambda e: e[2])

    def inputs_of(self, node_id: str) -> list[TensorInfo]:
        return [self.tensor(u, out) for u, out, _ in self.input_edges(node_id)]

    def producers(self, node_id: str) -> list[str]:
        return [u for u, _, _ in self.input_edges(node_id)]

    def consumers(self, node_id: str, out: int | None = None) -> list[tuple[str, int, int]]:
        """(consumer node, output index used, slot) of the tensors a node produces."""
        return sorted((v, d["out"], d["slot"]) for _, v, d in self.g.out_edges(node_id, data=True)
                      if out is None or d["out"] == out)

    # -- rewriting (used by the probe's remedy variants) ---------------------------
    def remove_node(self, node_id: str) -> None:
        self.g.remove_node(node_id)
        self._order = None

    def rewire(self, src: str, out: int, new_src: str, new_out: int = 0,
               only: set[str] | None = None) -> None:
        """Make the consumers of (src, out) read (new_src, new_out) instead."""
        for dst, used, slot in self.consumers(src, out):
            if only is not None and dst not in only:
                continue
            key = next(k for k, d in self.g.get_edge_data(src, dst).items()
                       if d["out"] == used and d["slot"] == slot)
            aux = self.g.edges[src, dst, key]["aux"]
            self.g.remove_edge(src, dst, key)
            self.g.add_edge(new_src, dst, key=slot, out=new_out, slot=slot, aux=aux)
        if only is None:
            self.outputs = [(new_src, new_out) if ref == (src, out) else ref for ref in self.outputs]
        self._order = None

    def disconnect(self, src: str, dst: str, slot: int) -> int:
        """Remove the edge into `dst`'s input `slot` from `src`; return its output index."""
        key, data = next((k, d) for k, d in self.g.get_edge_data(src, dst).items()
                         if d["slot"] == slot)
        self.g.remove_edge(src, dst, key)
        self._order = None
        return data["out"]

    def ancestors(self, node_id: str) -> set[str]:
        return nx.ancestors(self.g, node_id)

    def descendants(self, node_id: str) -> set[str]:
        return nx.descendants(self.g, node_id)

    def upstream_any(self, predicate) -> set[str]:
        """Nodes with a node satisfying `predicate` upstream of them or at them: one pass."""
        marked: set[str] = set()
        for node in self.nodes():
            if predicate(node) or any(p in marked for p in self.g.predecessors(node.id)):
                marked.add(node.id)
        return marked

    def downstream_any(self, predicate) -> set[str]:
        """Nodes with a node satisfying `predicate` downstream of them or at them."""
        marked: set[str] = set()
        for node in reversed(list(self.nodes())):
            if predicate(node) or any(s in marked for s in self.g.successors(node.id)):
                marked.add(node.id)
        return marked

    def recurrent_nodes(self) -> list[Node]:
        self._ordered_nodes()
        return list(self._recurrent)

    def between(self, sources: set[str], target: str) -> list[str]:
        """Nodes on paths from any of `sources` to `target`, nearest to `target` first."""
        upstream = self.ancestors(target)
        found = set()
        for src in sources & upstream:
            found |= (self.descendants(src) & upstream) | {src}
        # distances to `target` = from it in the reversed view (the same in every networkx;
        # single_target_shortest_path_length changed its return type and warns in 3.4)
        dist = nx.shortest_path_length(self.g.reverse(copy=False), target)
        return sorted(found, key=lambda n: (dist.get(n, 1 << 30), n))
