"""ONNX graph -> ModelGraph, with the same canonical kinds as the Keras front end.

Tensors are sorted into *data* (computed from the graph inputs: these become ModelGraph
nodes and edges), *constants* (initializers, Constant) and *shape values* (computed from
Shape ops: the run-time Reshape targets exporters build). A Reshape's shape value is
compiled into a ShapeExpr (plain data, see shape_expr.py) that axes.py evaluates
symbolically — as products of input axes such as [N, H·W, C] — so provenance stays exact
with a dynamic batch. The ModelGraph keeps no reference to the protobuf or this builder.
External data is never read: only the graph is needed.
"""

from __future__ import annotations

import math
import os
import posixpath
import re
from typing import Any

from google.protobuf.message import DecodeError

from ..axis_types import MAX_SIZE
from ..graph import Location, ModelGraph, Node
from ..shape_expr import MAX_SHAPE_RANK, UNKNOWN, ShapeExpr, const_step
from .errors import LoadError
from .frames import common_frames
from .onnx_proto import AttributeProto, TensorProto, attribute_value, parse_model, tensor_values

_ACTIVATIONS = {"Relu", "LeakyRelu", "PRelu", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "Elu",
                "Selu", "Celu", "Softplus", "Softsign", "HardSigmoid", "HardSwish", "Gelu", "Erf",
                "Clip", "Exp", "Log", "Sqrt", "Neg", "Abs", "Mish", "Reciprocal", "Sign", "Round",
                "Floor", "Ceil", "Not", "ThresholdedRelu", "Shrink"}
_NORMS = {"BatchNormalization", "InstanceNormalization", "LayerNormalization",
          "GroupNormalization", "LpNormalization", "MeanVarianceNormalization"}
_ELEMENTWISE = {"Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Sum", "Mean", "Where", "Mod",
                "And", "Or", "Xor", "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual",
                "BitShift"}
_POOLS = {"MaxPool", "AveragePool", "LpPool"}
_GLOBAL_POOLS = {"GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool"}
_REDUCES = {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceProd", "ReduceL1",
            "ReduceL2", "ReduceLogSumExp", "ReduceSumSquare", "ReduceLogSum"}
_RECURRENT = {"LSTM", "GRU", "RNN"}
# ops whose output has the input's axes, in order, with the same meaning (ReverseSequence
# reverses the steps along time: still the same time axis, the same batch)
_KEEPS_AXES = {"Identity", "Cast", "CastLike", "ReverseSequence", "IsNaN", "IsInf",
               "BitwiseNot"}
# ONNX dim names (dim_param): what each says an axis is. PyTorch's dynamic_axes and
# torch.export.Dim names, tf2onnx's unk__N (nothing said).
_BATCH_NAME = re.compile(r"^(n|b|bs|bsz|batch|batches|batch_?size|nbatch|num_?batch\w*|batch_\w+)$",
                         re.IGNORECASE)
_TIME_NAME = re.compile(r"^(t|l|s|seq|seqs|seq_?len\w*|sequence\w*|time\w*|steps?|num_?steps|"
                        r"frames?|num_?frames|len|length|timesteps?|src_len|tgt_len|max_len)$",
                        re.IGNORECASE)
_KNOWN_DOMAINS = {"", "ai.onnx", "ai.onnx.ml"}
MAX_SUBGRAPH_DEPTH = 8
MAX_FRAME_CHAIN = 64  # ops walked back from a Concat input to the frame slice it came from
MAX_CONST_ELEMENTS = 4096  # constant values read: shape vectors and indices, never weights
# Shape values (Reshape targets computed by Shape -> Gather -> Mul -> Concat ...): exporters
# make short computations over vectors as long as a rank. Anything longer (shape_expr.
# MAX_SHAPE_RANK), deeper or with entries beyond axis_types.MAX_EXACT is hostile and is
# unknown (the Reshape then has an unknown shape) rather than refused: the rest of the
# model is still judged.
MAX_SHAPE_DEPTH = 64  # nested shape ops in one Reshape target (its longest chain)
MAX_SHAPE_NODES = 256  # shape-value tensors walked for one Reshape target
# shape ops whose value is their first input's (as entries of a shape vector)
_SHAPE_ALIASES = {"Cast", "Identity", "Squeeze", "Unsqueeze", "Reshape", "Flatten"}
_SHAPE_ARITH = {"Mul": "mul", "Div": "div", "Add": "add", "Sub": "sub"}


def read_onnx(path: str):
    """The ModelProto of a file (sniff has bounded its size); external data is never read."""
    try:
        with open(path, "rb") as fh:
            model = parse_model(fh.read())
    except (DecodeError, ValueError, TypeError, RuntimeError, OSError) as exc:
        raise LoadError(f"not a readable ONNX model (protobuf: {str(exc).splitlines()[0][:120] or type(exc).__name__})") from None
    if not model.HasField("graph") or not model.graph.node:
        raise LoadError("not an ONNX model: the protobuf has no graph nodes")
    return model


def _attrs(node) -> dict:
    out = {}
    for attr in node.attribute:
        if attr.type in (AttributeProto.GRAPH, AttributeProto.GRAPHS):
            continue
        value = attribute_value(attr)
        out[attr.name] = value.decode() if isinstance(value, bytes) else value
    return out


def _dims(type_proto) -> tuple | None:
    tensor = type_proto.tensor_type
    if not tensor.HasField("shape"):
        return None
    return tuple(d.dim_value if d.HasField("dim_value") and 0 <= d.dim_value <= MAX_SIZE else None
                 for d in tensor.shape.dim)


def _const_value(tensor) -> Any:
    """A small constant's value as nested Python numbers; None for large or external ones."""
    return tensor_values(tensor, MAX_CONST_ELEMENTS)


class _OnnxBuilder:
    def __init__(self, model, file: str):
        self.model = model
        self.file = file
        self.graph = ModelGraph(file, "onnx")
        producer = (model.producer_name or "").lower()
        self.keras_layout = "tf2onnx" in producer or "keras" in producer
        self.graph.meta["source_framework"] = "keras" if self.keras_layout else "pytorch"
        self.opset = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 1)
        g = model.graph
        self.const_shapes: dict[str, tuple] = {t.name: tuple(t.dims) for t in g.initializer}
        self.const_values: dict[str, Any] = {}
        for t in g.initializer:
            if math.prod(t.dims) <= MAX_CONST_ELEMENTS:
                self.const_values[t.name] = _const_value(t)
        self.value_shapes: dict[str, tuple] = {}
        self._record_shapes([*g.input, *g.output, *g.value_info])
        self.inferred = False  # whether onnx shape inference has run (see _recorded)
        self.data: dict[str, tuple[str, int]] = {}  # data tensor -> (node id, output index)
        self.shape_nodes: dict[str, Any] = {}  # shape-value tensor -> the ONNX node making it
        self.makers: dict[str, Any] = {}  # data tensor -> the ONNX node making it

    def _external_data_unsafe(self) -> list[tuple[str, str]]:
        """External-data entries judged as strings (never opened): a location must stay in
        the model's folder and offsets and lengths must be non-negative integers."""
        folder = os.path.dirname(os.path.abspath(self.file))
        found = []
        for tensor in self._all_tensors():
            if tensor.data_location != TensorProto.EXTERNAL:
                continue
            entries = {e.key: e.value for e in tensor.external_data}
            where = tensor.name or "<tensor>"
            location = entries.get("location", "")
            normal = posixpath.normpath(location.replace("\\", "/"))
            if not location or "\0" in location:
                found.append((where, "has external data without a usable location"))
            elif location.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", location):
                found.append((where, f"points its external data at the absolute path {location!r}"))
            elif normal == ".." or normal.startswith("../"):
                found.append((where, f"points its external data at {location!r}, outside the "
                                     "model's folder"))
            elif not os.path.realpath(os.path.join(folder, normal)).startswith(
                    os.path.realpath(folder) + os.sep):
                found.append((where, f"points its external data at {location!r}, a link that "
                                     "leaves the model's folder"))
            for key in ("offset", "length"):
                value = entries.get(key)
                if value is not None and not value.isdigit():
                    found.append((where, f"has external-data {key} {value!r}, not a "
                                         "non-negative integer"))
        return found

    def _all_tensors(self):
        """Every TensorProto in the model: initializers and constants, subgraphs included."""
        stack = [(self.model.graph, 0)]
        while stack:
            graph, depth = stack.pop()
            yield from graph.initializer
            for sparse in graph.sparse_initializer:
                yield from (sparse.values, sparse.indices)
            for node in graph.node:
                for attr in node.attribute:
                    if attr.HasField("t"):
                        yield attr.t
                    yield from attr.tensors
                    if attr.HasField("sparse_tensor"):
                        yield from (attr.sparse_tensor.values, attr.sparse_tensor.indices)
                    for sparse in attr.sparse_tensors:
                        yield from (sparse.values, sparse.indices)
                    if depth < MAX_SUBGRAPH_DEPTH:
                        stack += [(g, depth + 1) for g in ([attr.g] if attr.HasField("g") else [])]
                        stack += [(g, depth + 1) for g in attr.graphs]

    def _record_shapes(self, value_infos) -> None:
        for vi in value_infos:
            dims = _dims(vi.type)
            if dims is not None:
                self.value_shapes.setdefault(vi.name, dims)

    def _recorded(self, tensor: str, infer: bool) -> tuple | None:
        """The shape the file records for a tensor. With `infer`, for the output of an op
        this front end does not understand (its shape is then known only as recorded),
        ONNX shape inference fills in what the file left out. That is the onnx package's
        C++ code, slow to import (~0.7 s), so it runs once, and only then."""
        if tensor not in self.value_shapes and infer and not self.inferred:
            self.inferred = True
            try:
                from onnx import shape_inference

                inferred = shape_inference.infer_shapes(self.model, data_prop=True)
            except Exception:  # inference is a help, not a requirement
                return None
            self._record_shapes(inferred.graph.value_info)
        return self.value_shapes.get(tensor)

    # -- building -----------------------------------------------------------------------
    def build(self) -> ModelGraph:
        g = self.model.graph
        for index, inp in enumerate(g.input):
            if inp.name in self.const_shapes:
                continue
            self._input(inp, index)
        if not self.graph.inputs:
            raise LoadError("the ONNX graph has no inputs")
        known = set(self.data) | set(self.const_shapes) | {""}
        for index, node in enumerate(self._ordered(g.node, known)):
            self._node(node, index)
        for out in g.output:
            if out.name in self.data:
                self.graph.outputs.append(self.data[out.name])
        self.graph.meta["unsafe"] = self._external_data_unsafe()
        training = any(n.kind == "dropout" and n.attrs.get("training") for n in self.graph.nodes())
        self.graph.meta["inference_only"] = not training
        return self.graph

    def _ordered(self, nodes, known: set[str]) -> list:
        """Nodes in a valid order; a tensor nobody makes or a cycle is an error."""
        made = {out: i for i, n in enumerate(nodes) for out in n.output}
        for n in nodes:
            for name in n.input:
                if name and name not in made and name not in known:
                    raise LoadError(f"node {n.name or n.op_type!r} reads tensor {name!r}, which no "
                                    "node, input or initializer produces")
        if all(made.get(name, -1) < i for i, n in enumerate(nodes) for name in n.input if name):
            return list(nodes)
        import networkx as nx

        order = nx.DiGraph()
        order.add_nodes_from(range(len(nodes)))
        order.add_edges_from((made[name], i) for i, n in enumerate(nodes)
                             for name in n.input if name in made)
        try:
            return [nodes[i] for i in nx.topological_sort(order)]
        except nx.NetworkXUnfeasible:
            cycle = nx.find_cycle(order)
            first = nodes[cycle[0][0]]
            raise LoadError(f"the graph has a cycle through node {first.name or first.op_type!r}") from None

    def _input(self, inp, index: int) -> None:
        dims = _dims(inp.type) or ()
        rank = len(dims)
        roles = {4: "NHWC", 5: "NTHWC"} if self.keras_layout else {4: "NCHW", 5: "NTCHW"}
        names = _dim_names(inp.type)
        attrs = {"shape": dims, "roles": _named_roles(roles.get(rank), names, rank, self.keras_layout)}
        for flag, letter, pattern in (("batch_named", "N", _BATCH_NAME), ("time_named", "T", _TIME_NAME)):
            if any(n and pattern.match(n) and i < len(attrs["roles"] or "") and attrs["roles"][i] == letter
                   for i, n in enumerate(names)):
                attrs[flag] = True  # the file says which axis is the batch / the steps
        node = self._add(inp.name or f"input_{index}", "input", "Input", attrs, f"graph.input[{index}]")
        self.graph.inputs.append(node.id)
        self.data[inp.name] = (node.id, 0)

    def _add(self, name: str, kind: str, op: str, attrs: dict, pointer: str, layer: str = "") -> Node:
        node_id = self.graph.free_id(name)
        if layer:
            attrs["layer"] = layer
        return self.graph.add_node(Node(node_id, kind, op, attrs,
                                        Location(self.file, layer or node_id, pointer)))

    def _is_shape_value(self, name: str) -> bool:
        return name in self.shape_nodes or name in self.const_values or name in self.const_shapes

    def _outer_refs(self, node, depth: int = 0) -> list[str]:
        """Outer-scope tensors that a node's subgraphs (Loop/Scan/If bodies) read."""
        if depth > MAX_SUBGRAPH_DEPTH:
            raise LoadError(f"subgraphs nested more than {MAX_SUBGRAPH_DEPTH} deep in node "
                            f"{node.name or node.op_type!r}")
        refs: list[str] = []
        for attr in node.attribute:
            graphs = [attr.g] if attr.HasField("g") else list(attr.graphs)
            for sub in graphs:
                local = {i.name for i in sub.input} | {i.name for i in sub.initializer}
                local |= {o for n in sub.node for o in n.output}
                for inner in sub.node:
                    for name in [*inner.input, *self._outer_refs(inner, depth + 1)]:
                        if name and name not in local and name not in refs:
                            refs.append(name)
        return refs

    def _node(self, node, index: int) -> None:
        data_inputs = [name for name in node.input if name in self.data]
        if node.op_type in ("Loop", "Scan", "If"):
            data_inputs += [n for n in self._outer_refs(node) if n in self.data and n not in data_inputs]
        if node.op_type == "Constant":
            value = self._constant(node)
            for out in node.output:
                self.const_values[out] = value
                self.const_shapes[out] = ()
            return
        if not data_inputs or node.op_type in ("Shape", "Size"):
            for out in node.output:  # constants and shape arithmetic: evaluated on demand
                self.shape_nodes[out] = node
            return
        name = node.name or f"{node.op_type}_{index}"
        kind, attrs = self._canonical(node, data_inputs)
        if node.domain not in _KNOWN_DOMAINS:
            kind = "opaque"
        if kind == "opaque":  # what an unknown op's axis 0 is, the graph does not say
            attrs["axis0_role"] = "unknown"
        created = self._add(name, kind, node.op_type, attrs, f"graph.node[{index}]",
                            self._layer_path(node))
        if node.domain not in _KNOWN_DOMAINS:
            created.notes.append(f"operator {node.op_type!r} of domain {node.domain!r} is unknown; "
                                 "shapes after it come only from what the file records")
        elif kind == "opaque":
            created.notes.append(f"operator {node.op_type} is not understood; treated as opaque")
        feeds = attrs.pop("_data_inputs", data_inputs)
        for slot, tensor in enumerate(feeds):
            self.graph.connect(*self.data[tensor], created.id, slot)
        for extra, tensor in enumerate(attrs.pop("_shape_deps", []), start=len(feeds)):
            self.graph.connect(*self.data[tensor], created.id, extra, aux=True)
        for out_index, out in enumerate(node.output):
            if not out:
                continue
            self.data[out] = (created.id, out_index)
            self.makers[out] = node
            recorded = self._recorded(out, infer=kind == "opaque")
            if recorded is not None:
                self.graph.tensor(created.id, out_index).recorded = recorded
        self.graph.tensor(created.id, max(len(node.output) - 1, 0))

    def _constant(self, node) -> Any:
        for attr in node.attribute:
            if attr.name == "value":
                return _const_value(attr.t)
            if attr.name in ("value_int", "value_float", "value_ints", "value_floats"):
                return attribute_value(attr)
        return None

    def _layer_path(self, node) -> str:
        """The module or layer the exporter says a node came from."""
        for prop in getattr(node, "metadata_props", []):
            if prop.key == "pkg.torch.onnx.name_scopes":  # [root, module..., op]
                scopes = [s.strip(" '\"") for s in prop.value.strip("[]").split(",")]
                return "/".join(s for s in scopes[1:-1] if s)
        name = node.name or ""
        if "/" not in name:  # a generated name: take the scope of its first named input
            name = next((t for t in node.input if "/" in t), "")
            if not name:
                return ""
        parts = [p for p in name.split(":")[0].split("/") if p]
        if name.startswith("/"):  # PyTorch: /module/sub/OpType
            return "/".join(parts[:-1])
        return "/".join(parts[1:-1])  # tf2onnx: model/layer/op

    # -- attributes ----------------------------------------------------------------------
    def _const(self, name: str) -> Any:
        return self.const_values.get(name) if name else None

    def _canonical(self, node, data_inputs: list[str]) -> tuple[str, dict]:
        op, a = node.op_type, _attrs(node)
        ins = list(node.input)
        if op in ("Conv", "ConvTranspose"):
            w = self.const_shapes.get(ins[1]) if len(ins) > 1 else None
            kernel = list(a.get("kernel_shape") or (w[2:] if w else []))
            rank = len(kernel)
            if not rank:
                return "opaque", {}
            filters = None
            if w:
                filters = w[1] * a.get("group", 1) if op == "ConvTranspose" else w[0]
            return "conv", {"rank": rank, "filters": filters, "kernel": kernel,
                            "strides": list(a.get("strides") or [1] * rank),
                            "dilation": list(a.get("dilations") or [1] * rank),
                            "padding": self._padding(a, rank), "channels_first": True,
                            "transpose": op == "ConvTranspose",
                            "output_padding": list(a.get("output_padding") or [0] * rank),
                            "_data_inputs": ins[:1]}
        if op in _POOLS:
            kernel = list(a.get("kernel_shape") or [])
            rank = len(kernel)
            return "pool", {"rank": rank, "kernel": kernel, "strides": list(a.get("strides") or [1] * rank),
                            "dilation": list(a.get("dilations") or [1] * rank),
                            "padding": self._padding(a, rank), "ceil": bool(a.get("ceil_mode", 0)),
                            "channels_first": True}
        if op in _GLOBAL_POOLS:
            return "reduce", {"from_axis": 2, "keepdims": True}
        if op in _REDUCES:
            axes = a.get("axes")
            if axes is None and len(ins) > 1:
                axes = self._const(ins[1])
            return "reduce", {"axes": list(axes) if axes else None,
                              "keepdims": bool(a.get("keepdims", 1)), "_data_inputs": ins[:1]}
        if op == "Flatten":
            axis = a.get("axis", 1)
            # [prod(x[:axis]), prod(x[axis:])]: its zeros are sizes, not ONNX's "copy" zeros
            return "reshape", {"full": True, "target": ShapeExpr((("flatten", axis),), allowzero=True)}
        if op in ("Reshape", "Tile", "Expand"):
            # tf2onnx writes RepeatVector as ExpandDims + Tile; PyTorch's repeat/expand
            # are Tile/Expand, their shapes computed in the graph
            if ins[0] not in self.data or len(ins) < 2:
                return "opaque", {}
            kind = {"Reshape": "reshape", "Tile": "tile", "Expand": "expand"}[op]
            attrs = {"full": True} if op == "Reshape" else {}
            deps = self._shape_deps(ins[1])
            if deps is None:  # a shape computation too large to be an exporter's
                return kind, {**attrs, "_data_inputs": ins[:1], "target": None}
            # the deps become aux inputs 1, 2, ... after the data tensor (slot 0)
            slots = {tensor: 1 + i for i, tensor in enumerate(deps)}
            target = self._shape_expr(ins[1], slots, bool(a.get("allowzero", 0)) or op != "Reshape")
            return kind, {**attrs, "_data_inputs": ins[:1], "_shape_deps": deps, "target": target}
        if op == "Transpose":
            return "transpose", {"perm": list(a["perm"]) if "perm" in a else None}
        if op in ("Squeeze", "Unsqueeze"):
            axes = a.get("axes")
            if axes is None and len(ins) > 1:
                axes = self._const(ins[1])
            if op == "Unsqueeze" and axes is None:
                return "opaque", {}
            return op.lower(), {"axes": [int(v) for v in _flat(axes)] if axes is not None else None,
                                "_data_inputs": ins[:1]}
        if op == "Gemm":
            b = self.const_shapes.get(ins[1])
            if b is None or len(b) != 2 or ins[0] not in self.data:
                return "opaque", {}
            return "dense", {"units": b[0] if a.get("transB") else b[1], "_data_inputs": ins[:1]}
        if op == "MatMul":
            w = self.const_shapes.get(ins[1])
            if w and ins[0] in self.data and len(w) >= 2:
                return "dense", {"units": w[-1], "_data_inputs": ins[:1]}
            return "opaque", {}
        if op in _RECURRENT:
            layout = a.get("layout", 0)
            return "recurrent", {"cell": {"RNN": "SimpleRNN"}.get(op, op),
                                 "units": a.get("hidden_size"),
                                 "bidirectional": a.get("direction", "forward") == "bidirectional",
                                 "time_major": layout == 0, "onnx_outputs": True,
                                 "return_sequences": True, "_data_inputs": ins[:1],
                                 # per direction [f, g, h] (LSTM), [f, g] (GRU), [f] (RNN);
                                 # None: the spec's defaults (Sigmoid, Tanh, Tanh)
                                 "activations": [v.decode(errors="replace") if isinstance(v, bytes) else str(v)
                                                 for v in a["activations"][:6]]
                                 if isinstance(a.get("activations"), list) else None}
        if op == "Dropout":
            ratio = a.get("ratio", self._const(ins[1]) if len(ins) > 1 else 0.5)
            training = self._const(ins[2]) if len(ins) > 2 else (a.get("is_test") == 0)
            return "dropout", {"rate": float(ratio if ratio is not None else 0.5),
                               "training": bool(training), "_data_inputs": ins[:1]}
        if op == "Concat":
            if len(data_inputs) != len([i for i in ins if i]):
                return "opaque", {}  # joins data with constants (e.g. a learned token)
            attrs = {"axis": a.get("axis", 0)}
            stack = self._unrolled_stack(ins)
            if stack is not None:  # axes.py checks the pieces against the source's axis
                source, attrs["unrolled"] = stack
                attrs["unrolled"]["source_slot"] = len(ins)
                attrs["_shape_deps"] = [source]  # an aux input after the joined tensors
            return "concat", attrs
        if op == "Split":
            axis = a.get("axis", 0)
            sizes = a.get("split") or (self._const(ins[1]) if len(ins) > 1 else None)
            return "split", {"axis": axis, "sizes": [int(v) for v in _flat(sizes)] if sizes else None,
                             "count": len(node.output), "_data_inputs": ins[:1]}
        if op == "Gather":
            table = self.const_shapes.get(ins[0])
            if ins[0] not in self.data and len(ins) > 1 and ins[1] in self.data and table \
                    and len(table) == 2 and a.get("axis", 0) == 0:
                # rows of a constant table picked by data indices: an embedding lookup
                return "embedding", {"units": table[1], "_data_inputs": ins[1:2]}
            indices = self._const(ins[1])
            if ins[0] not in self.data or indices is None:
                return "opaque", {}
            count = None if not isinstance(indices, list) else len(_flat(indices))
            # the index values themselves (which step: CL010 tells the first from the last)
            kept = [v for v in _flat(indices) if isinstance(v, int) and not isinstance(v, bool)]
            return "select", {"axis": a.get("axis", 0), "count": count,
                              "index": indices if count is None and kept else None,
                              "indices": kept if count is not None and len(kept) == count else None,
                              "_data_inputs": ins[:1]}
        if op == "Slice":
            return "slice", {"slices": self._slices(node, a), "_data_inputs": ins[:1]}
        if op in _NORMS:
            return "norm", {"_data_inputs": ins[:1]}
        if op in ("Softmax", "LogSoftmax"):
            # opset >= 13: one axis, default -1; before: default 1, and the input is coerced
            # to 2-D [prod(x[:axis]), prod(x[axis:])], so it normalises over every axis from
            # `axis` on
            coerced = self.opset < 13
            axis = a.get("axis", 1 if coerced else -1)
            return "activation", {"activation": "softmax" if op == "Softmax" else "log_softmax",
                                  "axis": [int(axis)], "axis_to_end": coerced,
                                  "_data_inputs": ins[:1]}
        if op in _ACTIVATIONS:
            return "activation", {"_data_inputs": ins[:1]}
        if op in _KEEPS_AXES:  # the same axes, the same meaning: provenance passes through
            return "identity", {"_data_inputs": ins[:1]}
        if op in _ELEMENTWISE:
            return ("merge", {}) if len(data_inputs) > 1 else ("identity", {})
        if op in ("Loop", "Scan"):
            return self._recurrence(node, op, a)
        if op == "Pad":
            return self._pad(a, ins)
        return "opaque", {}

    def _pad(self, a: dict, ins: list[str]) -> tuple[str, dict]:
        """Pad with constant pads: a resize of the padded axes (tf2onnx's ZeroPadding2D,
        MobileNet's stride-2 pads). Pads on axis 0, or not known, leave it opaque."""
        pads = a.get("pads") if self.opset < 11 else self._const(ins[1] if len(ins) > 1 else "")
        pads = _flat(pads) if pads is not None else None
        if not pads or len(pads) % 2 or not all(isinstance(p, int) for p in pads):
            return "opaque", {}
        rank = len(pads) // 2
        axes = list(range(rank))
        if len(ins) > 3 and ins[3]:  # opset 18: the pads are for these axes only
            given = self._const(ins[3])
            axes = _flat(given) if given is not None else []
            if len(axes) != rank or not all(isinstance(x, int) and x >= 0 for x in axes):
                return "opaque", {}  # negative axes need the input rank, not known here
        totals = {axis: pads[i] + pads[i + rank] for i, axis in enumerate(axes)
                  if pads[i] or pads[i + rank]}
        padded = sorted(totals)
        if not padded:
            return "identity", {"_data_inputs": ins[:1]}
        if 0 in padded:
            return "opaque", {}
        return "resize", {"rank": len(padded), "axes": padded,
                          "add": [totals[axis] for axis in padded], "_data_inputs": ins[:1]}

    # -- per-frame loops unrolled by the exporter ------------------------------------
    # tf2onnx unrolls Keras 3 TimeDistributed over a static time axis (Slice -> Squeeze ->
    # the layer -> Unsqueeze, once per frame, then Concat), and a PyTorch loop over frames
    # exports as Gather/Split/Slice -> the CNN -> Unsqueeze -> Concat. The Concat then
    # joins new size-1 axes whose origin is lost, so the time axis would be unknown and
    # every rule about it silent. When each joined input is a chain of single-input ops
    # back to a piece of one common tensor along one axis, the loader records the pieces;
    # axes.py gives the joined axis that axis' provenance if they cover it in order.

    def _unrolled_stack(self, ins: list[str]) -> tuple[str, dict] | None:
        if len(ins) < 2:
            return None
        return common_frames(self.graph, [self._frame_chain(t) for t in ins])

    def _frame_chain(self, tensor: str) -> tuple[list[str], list[tuple]] | None:
        """The ModelGraph nodes from `tensor` back along single-data-input ops (nearest
        first), and the frame pieces among them: (sliced tensor, axis, piece, node id)."""
        ops: list[str] = []
        pieces: list[tuple] = []
        for _ in range(MAX_FRAME_CHAIN):
            node = self.makers.get(tensor)
            if node is None or node.op_type in ("Loop", "Scan", "If"):
                break
            ops.append(self.data[tensor][0])
            ins = [i for i in node.input if i in self.data]
            piece = self._frame_piece(node, tensor)
            if piece is not None:
                pieces.append((node.input[0], piece[0], piece[1], ops[-1]))
            if len(ins) != 1:
                break
            tensor = ins[0]
        return (ops, pieces) if pieces else None

    def _frame_piece(self, node, tensor: str) -> tuple[int, tuple] | None:
        """(axis, piece) when `node` takes one piece of its first input along one axis:
        ("range", start, end), ("index", i) or ("split", sizes, count, k)."""
        op, ins = node.op_type, list(node.input)
        if not ins or ins[0] not in self.data:
            return None
        a = _attrs(node)
        if op == "Slice":
            slices = self._slices(node, a)
            if not slices or len(slices) != 1 or slices[0][3] != 1:
                return None
            axis, start, end, _ = slices[0]
            return int(axis), ("range", int(start), int(end))
        if op == "Gather" and len(ins) > 1:
            index = self._const(ins[1])
            flat = _flat(index) if index is not None else []
            if len(flat) != 1 or not isinstance(flat[0], int):
                return None
            return int(a.get("axis", 0)), ("index", flat[0])
        if op == "Split":
            sizes = a.get("split") or (self._const(ins[1]) if len(ins) > 1 else None)
            return int(a.get("axis", 0)), ("split", [int(v) for v in _flat(sizes)] if sizes else None,
                                           len(node.output), list(node.output).index(tensor))
        return None

    @staticmethod
    def _padding(a: dict, rank: int):
        auto = a.get("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            return "same"
        if auto == "VALID":
            return "valid"
        pads = list(a.get("pads") or [0] * 2 * rank)
        return [(pads[i], pads[i + rank]) for i in range(rank)]

    def _slices(self, node, a: dict) -> list | None:
        ins = list(node.input)
        if "starts" in a:  # opset < 10
            starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes"), None
        else:
            starts, ends = self._const(ins[1]), self._const(ins[2])
            axes = self._const(ins[3]) if len(ins) > 3 else None
            steps = self._const(ins[4]) if len(ins) > 4 else None
        if starts is None or ends is None:
            return None
        starts, ends = _flat(starts), _flat(ends)
        axes = _flat(axes) if axes is not None else list(range(len(starts)))
        steps = _flat(steps) if steps is not None else [1] * len(starts)
        return list(zip(axes, starts, ends, steps))

    # -- recurrences that are Loop / Scan nodes ----------------------------------------
    def _recurrence(self, node, op: str, a: dict) -> tuple[str, dict]:
        body = next((attr.g for attr in node.attribute if attr.name == "body"), None)
        if body is None:
            return "opaque", {}
        ins = [i for i in node.input]
        if op == "Scan":
            n_scan = a.get("num_scan_inputs", 0)
            states = len(ins) - n_scan
            axes = list(a.get("scan_input_axes") or [0] * n_scan)
            if states < 1 or n_scan < 1 or ins[states] not in self.data:
                return "opaque", {}
            x, axis = ins[states], axes[0]
            scans = len(node.output) - states
        else:
            x, axis = self._loop_sequence(body)
            states = len(ins) - 2
            if x is None or states < 1:
                return "opaque", {}
            scans = len(node.output) - states
        units = None
        # a scan output's per-step shape, as the Loop records it or (without shape
        # inference) as its body does: Loop body outputs are cond, states, scans
        body_scans = list(body.output)[states + (1 if op == "Loop" else 0):]
        for j, out in enumerate(list(node.output)[states:]):
            dims = self.value_shapes.get(out) or (_dims(body_scans[j].type) if j < len(body_scans) else None)
            if dims and dims[-1]:
                units = dims[-1]
        return "recurrent", {"cell": "Loop" if op == "Loop" else "Scan", "units": units,
                             "time_axis": axis, "onnx_outputs": True, "loop": True,
                             "states": states, "scans": scans, "return_sequences": True,
                             "body_ops": _body_ops(body), "_data_inputs": [x]}

    def _loop_sequence(self, body) -> tuple[str | None, int]:
        """The outer data tensor a Loop body reads one slice of per iteration, and the axis."""
        counters = {i.name for i in body.input[:1]} | {i.name for i in body.input[2:]}
        for inner in body.node:
            if inner.op_type == "Gather" and len(inner.input) > 1 and inner.input[0] in self.data \
                    and inner.input[1] in counters:
                return inner.input[0], _attrs(inner).get("axis", 0)
        return None, 0

    # -- shape values --------------------------------------------------------------------
    def _shape_deps(self, name: str) -> list[str] | None:
        """Data tensors a shape value reads through Shape ops (they must be annotated first);
        None when the shape computation has more than MAX_SHAPE_NODES tensors."""
        deps: list[str] = []
        stack, seen = [name], set()
        while stack:
            tensor = stack.pop()
            if tensor in seen:
                continue
            if len(seen) >= MAX_SHAPE_NODES:
                return None
            seen.add(tensor)
            node = self.shape_nodes.get(tensor)
            if node is None:
                continue
            for inp in node.input:
                if inp in self.data and inp not in deps:
                    deps.append(inp)
                elif inp:
                    stack.append(inp)
        return deps

    def _shape_expr(self, name: str, slots: dict[str, int], allowzero: bool) -> ShapeExpr:
        """Compile the computation of shape tensor `name` into a ShapeExpr: one step per
        tensor, in dependency order (a shared subcomputation is one step, so the program is
        linear in the subgraph, which _shape_deps has bounded to MAX_SHAPE_NODES tensors).
        `slots` gives the aux input slot of each data tensor a Shape op reads. A chain
        deeper than MAX_SHAPE_DEPTH makes the target unknown."""
        steps: list[tuple] = []

        def emit(step: tuple) -> int:
            steps.append(step)
            return len(steps) - 1

        ref: dict[str, int | None] = {"": None}  # tensor -> its step (None: unknown/missing)
        height: dict[str, int] = {"": 0}  # the longest chain of shape ops below a tensor
        stack = [name]  # an explicit stack: no recursion, whatever the nesting
        visiting: set[str] = set()  # tensors whose inputs are being compiled
        while stack:
            tensor = stack[-1]
            if tensor in ref:
                stack.pop()
                continue
            node = None if tensor in self.const_values else self.shape_nodes.get(tensor)
            used = self._shape_inputs(node)
            pending = [t for t in used if t not in ref]
            if pending:
                if any(t in visiting for t in pending):  # names reused in a loop: hostile
                    return ShapeExpr((UNKNOWN,), allowzero)
                visiting.add(tensor)
                stack += reversed(pending)  # compiled left to right
                continue
            stack.pop()
            height[tensor] = 1 + max((height[t] for t in used), default=-1)
            ref[tensor] = self._shape_step(tensor, node, [ref[t] for t in used], slots, emit)
        root = ref[name]
        if root is None or height[name] > MAX_SHAPE_DEPTH:
            return ShapeExpr((UNKNOWN,), allowzero)
        if root != len(steps) - 1:  # the target is an alias of an earlier step
            emit(("concat", (root,)))
        return ShapeExpr(tuple(steps), allowzero)

    @staticmethod
    def _shape_inputs(node) -> list[str]:
        """The inputs a shape op's value is computed from ('' for a missing one)."""
        if node is None:
            return []
        op, ins = node.op_type, list(node.input)
        if op in _SHAPE_ALIASES:
            return ins[:1]
        if op == "Gather" or op in _SHAPE_ARITH or op == "Equal":
            return ins[:2]
        if op == "Where":
            return ins[:3]
        if op == "ConstantOfShape":
            return ins[:1]
        if op == "Slice":
            return ins[:1] if any(a.name == "starts" for a in node.attribute) else ins[:3] + ins[4:5]
        if op == "Concat" and len(ins) <= MAX_SHAPE_RANK:  # more parts: more entries too
            return ins
        return []  # Shape reads a data tensor (an aux input); other ops are unknown

    def _shape_step(self, tensor: str, node, refs: list, slots: dict[str, int], emit) -> int | None:
        """Emit the step computing `tensor` from the steps of its inputs (`refs`); return
        the step that holds its value."""
        if node is None:
            value = self.const_values.get(tensor)  # None: unknown, large or not a constant
            try:
                return emit(UNKNOWN if value is None else const_step([int(v) for v in _flat(value)]))
            except (TypeError, ValueError, OverflowError):  # inf, NaN, strings: not a shape
                return emit(UNKNOWN)
        op, a, ins = node.op_type, _attrs(node), list(node.input)
        arg = (refs + [None] * 4).__getitem__  # a missing input: None
        if op == "Shape":
            slot = slots.get(ins[0]) if ins else None
            return emit(UNKNOWN if slot is None else ("shape", slot, a.get("start", 0), a.get("end")))
        if op in _SHAPE_ALIASES:
            return arg(0)  # the value of its input: no step of its own
        if op == "Gather":
            return emit(("gather", arg(0), arg(1)))
        if op == "Slice":
            if "starts" in a:  # opset < 10: starts and ends are attributes
                starts, ends = emit(const_step(_flat(a["starts"]))), emit(const_step(_flat(a["ends"])))
                return emit(("slice", arg(0), starts, ends, None))
            return emit(("slice", arg(0), arg(1), arg(2), arg(3)))
        if op == "Concat" and len(ins) <= MAX_SHAPE_RANK:
            return emit(("concat", tuple(refs)))
        if op in _SHAPE_ARITH:
            return emit((_SHAPE_ARITH[op], arg(0), arg(1)))
        if op == "Equal":
            return emit(("equal", arg(0), arg(1)))
        if op == "Where":
            return emit(("where", arg(0), arg(1), arg(2)))
        if op == "ConstantOfShape":
            value = _const_value(a["value"]) if "value" in a else [0]  # ONNX: default 0
            value = _flat(value) if value is not None else []
            if len(value) == 1 and isinstance(value[0], (int, float)) \
                    and math.isfinite(value[0]) and float(value[0]).is_integer():
                fill = int(value[0])
                if const_step([fill]) != UNKNOWN:  # no huge constant stored on the graph
                    return emit(("fill", arg(0), fill))
        return emit(UNKNOWN)


def _body_ops(body) -> list[str]:
    """The op types a recurrence's body computes per step (nested subgraphs included, to
    MAX_SUBGRAPH_DEPTH): which activations the cell applies (CL011)."""
    ops, stack = set(), [(body, 0)]
    while stack:
        graph, depth = stack.pop()
        for inner in graph.node:
            ops.add(inner.op_type)
            if depth < MAX_SUBGRAPH_DEPTH:
                for attr in inner.attribute:
                    stack += [(g, depth + 1) for g in ([attr.g] if attr.HasField("g") else [])]
                    stack += [(g, depth + 1) for g in attr.graphs]
    return sorted(ops)


def _dim_names(type_proto) -> list[str]:
    tensor = type_proto.tensor_type
    if not tensor.HasField("shape"):
        return []
    return [d.dim_param if d.HasField("dim_param") else "" for d in tensor.shape.dim]


def _named_roles(default: str | None, names: list[str], rank: int, keras_layout: bool) -> str | None:
    """Role letters of an input, from what its dim names say (batch is a fact, never a
    default). A batch-named axis is N, a time-named one T; the other letters keep the
    default order. A PyTorch-style input of rank <= 3 whose dims name no batch has an
    unknown axis 0 (a Keras input's axis 0 is always the batch; rank 4 and 5 inputs are
    read by a Conv or pooling, whose spec makes axis 0 N)."""
    letters = default or {1: "N", 2: "NF", 3: "NTF"}.get(rank)
    if letters is None or len(names) != rank:
        return default
    said = {i: "N" if _BATCH_NAME.match(n) else "T" for i, n in enumerate(names)
            if n and (_BATCH_NAME.match(n) or _TIME_NAME.match(n))}
    if list(said.values()).count("N") > 1 or list(said.values()).count("T") > 1:
        return default  # two batches or two times: the names say nothing usable
    if "N" not in said.values() and not keras_layout and rank <= 3 and said.get(0) != "T":
        said[0] = "?"
    if not said:
        return default
    rest = [ch for ch in letters if ch not in said.values()]
    if "?" in said.values() and "N" in rest:
        rest.remove("N")
    out = [said.get(i) or (rest.pop(0) if rest else "?") for i in range(rank)]
    return "".join(out)


def _flat(value) -> list:
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _flat(v)]
    return [value]


def graph_from_onnx(model, file: str) -> ModelGraph:
    return _OnnxBuilder(model, file).build()
