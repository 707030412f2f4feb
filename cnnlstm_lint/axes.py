"""Axis provenance: where each axis of each tensor came from.

Every tensor shape is a tuple of `Axis(size, role, parts)`. `parts` lists the *source
axes* the axis is made of, in memory order (major first), each with the size it
contributes; `origin` is the set of those sources. Sources are created where an axis
gets its meaning: model inputs, conv/pool outputs, Dense features, recurrent outputs,
embeddings. Reshape/Flatten regroup parts; a regrouping whose boundary cuts through a
part and mixes several sources yields a `scrambled` axis.

`propagate(graph)` fills every node's outputs, in topological order, from its inputs and
its canonical attributes (set by the loaders, framework-neutral).
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

# The value types live in axis_types (graph.py needs them too); re-exported here, where
# the rest of the package has always imported them from.
from .axis_types import (MAX_EXACT, MAX_SIZE, MAX_SYMBOLS, ROLES, Axis, Shape, Source, Sym,  # noqa: F401
                         _merge_adjacent, _product, axis_dim, bounded, sym_product)
from .graph import ModelGraph, Node, TensorInfo
from .shape_expr import ShapeExpr, evaluate

# ---------------------------------------------------------------------------------
# building blocks


def new_axis(node: str, index: int, role: str, size: int | None, label: str) -> Axis:
    size = bounded(size)  # every size from a file (inputs, units, filters) enters here
    src = Source(node, index, role, size, label)
    return Axis(size, role, ((src, size),))


def merged_role(roles: set[str]) -> str:
    if not roles:
        return "feature"
    if "batch" in roles:
        return "batch"  # e.g. time folded into batch for a per-frame CNN
    if "unknown" in roles:
        return "unknown"
    if len(roles) == 1:
        return next(iter(roles))
    return "feature"


def merge(axes: Sequence[Axis]) -> Axis:
    """One axis made of several whole axes (Flatten, or an aligned Reshape group)."""
    parts = tuple(_merge_adjacent([p for a in axes for p in a.parts]))
    roles = {a.role for a in axes if a.size != 1}
    if "scrambled" in roles and len(axes) > 1:
        roles = {src.role for src, _ in parts}
    return Axis(_product([a.size for a in axes]), merged_role(roles), parts)


# ---------------------------------------------------------------------------------
# Reshape: group input and output dims by equal cumulative products.
#
# Unknown sizes become distinct large primes, so that products stay exact integers and a
# symbolic dim only lines up with the same symbol (e.g. -1 resolving to a dynamic time).

_BIG_PRIMES = (1000000007, 1000000009, 1000000021, 1000000033, 1000000087, 1000000093,
               1000000097, 1000000103, 1000000123, 1000000181)


def reshape(axes: Sequence[Axis], target: Sequence["int | Sym"]) -> Shape | None:
    """Output axes for reshaping `axes` to `target` (ints, Syms, at most one -1)."""
    symbols: dict[Source, int] = {}

    def value(src: Source, size: int | None) -> int | None:
        if size is not None:
            return size
        if src not in symbols:
            if len(symbols) == len(_BIG_PRIMES):
                return None
            symbols[src] = _BIG_PRIMES[len(symbols)]
        return symbols[src]

    parts: list[tuple[Source, int]] = []
    static = 1  # the product of the known sizes
    for axis in axes:
        if axis.size == 1:
            continue  # size-1 axes carry no memory order
        if not axis.parts:
            return None
        for src, size in axis.parts:
            v = value(src, size)
            if v is None:
                return None
            if v != 1:
                parts.append((src, v))
            if size is not None:
                static = bounded(static * size, MAX_EXACT)
                if static is None:  # hostile sizes; the bound keeps the arithmetic below small
                    return None
    total = math.prod(v for _, v in parts)
    dims = []
    for t in target:
        if isinstance(t, Sym):
            values = [value(src, None) for src in t.symbols]
            if None in values:
                return None
            dims.append(t.coeff * math.prod(values))
        elif bounded(int(t), MAX_EXACT) is None:
            return None
        else:
            dims.append(int(t))
    if dims.count(-1) > 1 or any(t < -1 for t in dims):
        return None
    if -1 in dims:
        known = math.prod(t for t in dims if t != -1)
        if known == 0 or total % known:
            return None
        dims[dims.index(-1)] = total // known
    if math.prod(dims) != total:
        return None

    def shown(v: int) -> int | None:
        return None if any(v % p == 0 for p in symbols.values()) else bounded(v)

    bounds = [1]  # cumulative products of the parts
    for _, v in parts:
        bounds.append(bounds[-1] * v)
    out: list[Axis] = []
    split: list[int] = []  # output axes that are a clean piece of one input axis
    lo = 1
    for d in dims:
        if d == 1:
            out.append(Axis(1, "feature", ()))
            continue
        hi = lo * d
        touched = [k for k in range(len(parts)) if bounds[k] < hi and bounds[k + 1] > lo]
        first, last = touched[0], touched[-1]
        if bounds[first] == lo and bounds[last + 1] == hi:
            axis = merge([Axis(shown(v), src.role, ((src, shown(v)),))
                          for src, v in parts[first:last + 1]])
            if axis.role != "batch" and _cuts_a_source(axis):
                # the parts line up with the input, but one is a piece of an axis whose
                # rest is elsewhere: a scramble made earlier (tf2onnx's Tensordot folds a
                # scrambled time into the batch for a Dense and unfolds it here) stays one
                axis = Axis(axis.size, "scrambled", axis.parts)
            out.append(axis)
        elif first == last and lo % bounds[first] == 0 and bounds[first + 1] % hi == 0:
            src = parts[first][0]  # a clean piece of one axis, e.g. a split feature
            split.append(len(out))
            out.append(Axis(shown(d), src.role, ((src, shown(d)),)))
        else:
            pieces = []
            for k in touched:
                a, b = max(lo, bounds[k]), min(hi, bounds[k + 1])
                pieces.append((parts[k][0], shown(b // a) if b % a == 0 else None))
            out.append(Axis(shown(d), "scrambled", tuple(_merge_adjacent(pieces))))
        lo = hi
    # A piece of an axis whose other piece went into a scramble is part of that scramble:
    # (C=16, W=8) read as (8, 16) gives "steps" of channel pairs, each at every column.
    cut = {src for axis in out if axis.role == "scrambled" for src, _ in axis.parts}
    for i in split:
        if out[i].parts[0][0] in cut:
            out[i] = Axis(out[i].size, "scrambled", out[i].parts)
    return tuple(out)


def _cuts_a_source(axis: Axis) -> bool:
    """Whether `axis` joins several source axes, one of them only in part."""
    return len(axis.sources) > 1 and any(
        size is not None and src.size is not None and size != src.size
        for src, size in axis.parts)


def aligned_permutation(axes: Sequence[Axis], target: Sequence[int]) -> tuple[int, ...] | None:
    """A permutation of `axes` after which reshaping to `target` scrambles nothing.

    Prefers putting a spatial axis first (the one to read as time). Returns 1-based
    indices, as Keras' Permute takes them; None if no permutation helps.
    """
    import itertools

    best = None
    # all of them up to rank 7; a hostile rank-2000 input must not try 2000! of them
    for perm in itertools.islice(itertools.permutations(range(len(axes))), 5040):
        if list(perm) == list(range(len(axes))):
            continue
        result = reshape([axes[i] for i in perm], target)
        if result is None or any(a.role == "scrambled" for a in result):
            continue
        score = (result[0].role != "spatial" if result else True, perm)
        if best is None or score < best[0]:
            best = (score, perm)
        if len(axes) > 5:
            break
    return None if best is None else tuple(i + 1 for i in best[1])


# ---------------------------------------------------------------------------------
# seeding inputs

_DEFAULT_ROLES = {
    1: "N",
    2: "NF",
    3: "NTF",
    4: "NHWC",
    5: "NTHWC",
}
_LETTER_ROLE = {"N": "batch", "B": "batch", "T": "time", "H": "spatial", "W": "spatial",
                "D": "spatial", "L": "spatial", "C": "channel", "F": "feature"}


def seed_input(node: Node) -> Shape | None:
    shape = node.attrs.get("shape")
    if not shape:  # no shape, or an ONNX input of unknown rank
        node.notes.append("the input's shape is not recorded")
        return None
    letters = node.attrs.get("roles") or _DEFAULT_ROLES.get(len(shape))
    if letters is None or len(letters) != len(shape):
        letters = "N" + "?" * (len(shape) - 1)
    return tuple(new_axis(node.id, i, _LETTER_ROLE.get(ch, "unknown"), size, ch)
                 for i, (ch, size) in enumerate(zip(letters, shape)))


# ---------------------------------------------------------------------------------
# per-kind propagation


def _spatial_positions(rank: int, ndim: int, channels_first: bool) -> list[int]:
    start = 2 if channels_first else 1
    return list(range(start, start + rank)) if start + rank <= ndim else []


def _channel_position(ndim: int, channels_first: bool) -> int:
    return 1 if channels_first else ndim - 1


def _spatial_labels(rank: int) -> str:
    return {1: "L", 2: "HW", 3: "DHW"}.get(rank, "S" * rank)


def _out_size(n: int | None, k: int, s: int, d: int, padding, i: int, transpose=False,
              output_padding=None, ceil=False) -> int | None:
    if n is None:
        return None
    span = d * (k - 1) + 1
    if transpose:
        extra = output_padding[i] if output_padding else 0
        if padding == "same":
            return n * s + extra
        return (n - 1) * s + span + extra
    if isinstance(padding, (list, tuple)):  # explicit (begin, end) pads per spatial dim
        begin, end = padding[i]
        if ceil:
            return -(-(n + begin + end - span) // s) + 1
        return (n + begin + end - span) // s + 1
    if padding in ("same", "causal"):
        return -(-n // s)
    return max((n - span) // s + 1, 0)


def _resource_spatial(node: Node, x: Shape, positions: list[int], sizes: list) -> list[Axis]:
    out = list(x)
    labels = _spatial_labels(len(positions))
    for j, (pos, size) in enumerate(zip(positions, sizes)):
        role = x[pos].role if x[pos].role in ("spatial", "time") else "spatial"
        label = "T" if role == "time" else labels[j]
        out[pos] = new_axis(node.id, pos, role, size, label)
    return out


def _conv_like(node: Node, x: Shape, *, pool: bool) -> Shape | None:
    a = node.attrs
    rank, cf = a["rank"], a.get("channels_first", False)
    positions = _spatial_positions(rank, len(x), cf)
    if len(x) != rank + 2 or not positions:
        node.notes.append(f"expects a rank-{rank + 2} input, got rank {len(x)}")
        return None
    kernel = a.get("kernel") or [1] * rank
    strides = a.get("strides") or (kernel if pool else [1] * rank)
    dilation = a.get("dilation") or [1] * rank
    sizes = [_out_size(x[p].size, kernel[i], strides[i], dilation[i], a.get("padding", "valid"),
                       i, a.get("transpose", False), a.get("output_padding"), a.get("ceil", False))
             for i, p in enumerate(positions)]
    out = _resource_spatial(node, x, positions, sizes)
    if out[0].role == "unknown":  # Conv/pooling specs define axis 0 as N: now it is a fact
        out[0] = new_axis(node.id, 0, "batch", x[0].size, "N")
    if not pool:
        c = _channel_position(len(x), cf)
        filters = a.get("filters")
        if filters is None and x[c].size is not None:
            filters = x[c].size * a.get("depth_multiplier", 1)
        out[c] = new_axis(node.id, c, "channel", filters, "C")
    return tuple(out)


def _conv(node: Node, ins: list[Shape]) -> list[Shape | None]:
    return [_conv_like(node, ins[0], pool=False)]


def _pool(node: Node, ins: list[Shape]) -> list[Shape | None]:
    return [_conv_like(node, ins[0], pool=True)]


def _resize(node: Node, ins: list[Shape]) -> list[Shape | None]:
    """UpSampling, ZeroPadding, Cropping: spatial sizes change, channels stay."""
    x, a = ins[0], node.attrs
    rank, cf = a["rank"], a.get("channels_first", False)
    positions = _spatial_positions(rank, len(x), cf)
    if "axes" in a:  # ONNX Pad: the axes it pads, which must be rows, columns or steps
        positions = a["axes"]
        if max(positions) >= len(x) or any(x[p].role not in ("spatial", "time") for p in positions):
            node.notes.append("pads an axis that is not spatial or time; its shape is not followed")
            return [None]
    elif len(x) != rank + 2:
        return [None]
    scale, add = a.get("scale") or [1] * rank, a.get("add") or [0] * rank
    sizes = [None if x[p].size is None else x[p].size * scale[i] + add[i]
             for i, p in enumerate(positions)]
    return [tuple(_resource_spatial(node, x, positions, sizes))]


def _global_pool(node: Node, ins: list[Shape]) -> list[Shape | None]:
    x, a = ins[0], node.attrs
    positions = _spatial_positions(a["rank"], len(x), a.get("channels_first", False))
    if len(x) != a["rank"] + 2:
        return [None]
    if a.get("keepdims"):
        return [tuple(Axis(1, "spatial", ()) if i in positions else ax for i, ax in enumerate(x))]
    return [tuple(ax for i, ax in enumerate(x) if i not in positions)]


def _flatten(node: Node, ins: list[Shape]) -> list[Shape | None]:
    x = ins[0]
    rest = list(x[1:])
    if node.attrs.get("channels_first") and len(x) > 2:
        rest = rest[1:] + rest[:1]  # Keras flattens channels-first maps as channels-last
    return [(x[0], merge(rest)) if rest else (x[0], Axis(1, "feature", ()))]


def _reshape(node: Node, ins: list[Shape], by_slot: dict[int, Shape | None] | None = None,
             ) -> list[Shape | None]:
    """Keras: `target` excludes the batch axis. ONNX (`full`): it covers every axis and may
    be a ShapeExpr over the axes of the node's inputs (`by_slot`: the reshaped tensor and
    the tensors its Shape ops read), evaluated now that they are known."""
    x = ins[0]
    target = node.attrs.get("target")
    if isinstance(target, ShapeExpr):
        target = evaluate(target, {**(by_slot or {}), 0: x})  # slot 0 as this handler sees it
    out = None
    if target is not None:
        node.attrs["resolved_target"] = list(target)
        out = reshape(x, target) if node.attrs.get("full") else reshape(x[1:], target)
    if out is None:
        node.notes.append("could not resolve the reshape target against the input shape")
        return [None]
    return [out if node.attrs.get("full") else (x[0],) + out]


def _transpose(node: Node, ins: list[Shape]) -> list[Shape | None]:
    """ONNX Transpose: a permutation of every axis, batch included."""
    x = ins[0]
    perm = node.attrs.get("perm") or list(reversed(range(len(x))))
    if sorted(perm) != list(range(len(x))):
        return [None]
    return [tuple(x[p] for p in perm)]


def _norm_axes(axes, rank: int) -> list[int]:
    return sorted(a % rank for a in axes)


def _squeeze(node: Node, ins: list[Shape]) -> list[Shape | None]:
    x = ins[0]
    axes = node.attrs.get("axes")
    drop = _norm_axes(axes, len(x)) if axes is not None else [i for i, a in enumerate(x) if a.size == 1]
    if any(x[i].size not in (1, None) for i in drop):
        return [None]
    return [tuple(a for i, a in enumerate(x) if i not in drop)]


def _unsqueeze(node: Node, ins: list[Shape]) -> list[Shape | None]:
    out = list(ins[0])
    rank = len(out) + len(node.attrs.get("axes") or [])
    for axis in _norm_axes(node.attrs.get("axes") or [], rank):
        out.insert(axis, Axis(1, "feature", ()))
    return [tuple(out)]


def _reduce(node: Node, ins: list[Shape]) -> list[Shape | None]:
    """Reductions over listed axes (ReduceMean over H, W is a global pooling)."""
    x = ins[0]
    axes = node.attrs.get("axes")
    if node.attrs.get("from_axis") is not None:  # global pooling: every axis after channels
        axes = list(range(node.attrs["from_axis"], len(x)))
    drop = _norm_axes(axes, len(x)) if axes else list(range(len(x)))
    if node.attrs.get("keepdims", True):
        return [tuple(Axis(1, a.role, ()) if i in drop else a for i, a in enumerate(x))]
    return [tuple(a for i, a in enumerate(x) if i not in drop)]


def _select(node: Node, ins: list[Shape]) -> list[Shape | None]:
    """Gather with a scalar index: that axis disappears (e.g. the last time step)."""
    x = ins[0]
    axis = node.attrs.get("axis", 0) % len(x)
    count = node.attrs.get("count")  # None: a scalar index
    if count is None:
        return [x[:axis] + x[axis + 1:]]
    kept = new_axis(node.id, axis, x[axis].role, count, x[axis].sources[0].label
                    if x[axis].parts else "?")
    return [x[:axis] + (kept,) + x[axis + 1:]]


def _slice(node: Node, ins: list[Shape]) -> list[Shape | None]:
    """Slice: the sliced axes keep their role, with a new size and this node as source."""
    x = list(ins[0])
    slices = node.attrs.get("slices")
    if slices is None:
        return [None]
    for axis, start, end, step in slices:
        axis %= len(x)
        if start in (0, None) and (end is None or end >= 2**31 - 1) and step in (1, None):
            continue  # the whole axis (tf2onnx slices every axis, 0:INT_MAX where kept)
        size = None if x[axis].size is None else len(range(x[axis].size)[start:end:step])
        if size is None or size != x[axis].size:
            label = x[axis].sources[0].label if x[axis].parts else "?"
            x[axis] = new_axis(node.id, axis, x[axis].role, size, label)
    return [tuple(x)]


def _permute(node: Node, ins: list[Shape]) -> list[Shape | None]:
    x, dims = ins[0], node.attrs["dims"]
    if sorted(dims) != list(range(1, len(x))):
        return [None]
    return [(x[0],) + tuple(x[d] for d in dims)]


def _dense(node: Node, ins: list[Shape]) -> list[Shape | None]:
    x = ins[0]
    return [x[:-1] + (new_axis(node.id, len(x) - 1, "feature", node.attrs.get("units"), "F"),)]


def _recurrent(node: Node, ins: list[Shape]) -> list[Shape | None]:
    x, a = ins[0], node.attrs
    if len(x) != 3:
        node.notes.append(f"a recurrent layer takes (batch, time, features); got rank {len(x)}")
        return [None]
    t = a.get("time_axis", 0 if a.get("time_major") else 1)
    batch, time = x[1 - t], x[t]
    units = a.get("units")
    if a.get("onnx_outputs"):
        return _onnx_recurrent_outputs(node, batch, time, units)
    bidir = a.get("bidirectional", False)
    width = units * 2 if bidir and units and a.get("merge_mode", "concat") == "concat" else units
    if a.get("return_sequences") and a.get("time_major"):  # tf.keras 2: steps stay axis 0
        main = (new_axis(node.id, 0, "time", time.size, "T"), batch,
                new_axis(node.id, 2, "feature", width, "F"))
    elif a.get("return_sequences"):
        main = (batch, new_axis(node.id, 1, "time", time.size, "T"),
                new_axis(node.id, 2, "feature", width, "F"))
    else:
        main = (batch, new_axis(node.id, 1, "feature", width, "F"))
    outs: list[Shape | None] = [main]
    if bidir and a.get("merge_mode", "concat") is None:
        outs.append(main)
    if a.get("return_state"):
        n_states = (2 if a.get("cell") == "LSTM" else 1) * (2 if bidir else 1)
        outs += [(batch, new_axis(node.id, 1, "feature", units, "F"))] * n_states
    return outs


def _onnx_recurrent_outputs(node: Node, batch: Axis, time: Axis, units) -> list[Shape | None]:
    """ONNX LSTM/GRU/RNN: Y (T, D, N, H) or (N, T, D, H) with layout 1; Y_h and Y_c
    (D, N, H) or (N, D, H). A Loop/Scan recurrence gives its stacked steps (T, N, H)."""
    dirs = new_axis(node.id, 1, "feature", 2 if node.attrs.get("bidirectional") else 1, "D")
    steps = new_axis(node.id, 0, "time", time.size, "T")
    hidden = new_axis(node.id, 3, "feature", units, "F")
    if node.attrs.get("loop"):
        final = (batch, hidden)
        return [final] * node.attrs.get("states", 1) + [(steps, batch, hidden)] * node.attrs.get("scans", 1)
    if node.attrs.get("time_major"):
        return [(steps, dirs, batch, hidden)] + [(dirs, batch, hidden)] * 2
    return [(batch, steps, dirs, hidden)] + [(batch, dirs, hidden)] * 2


def _conv_recurrent(node: Node, ins: list[Shape]) -> list[Shape | None]:
    x, a = ins[0], node.attrs
    if len(x) != a["rank"] + 3:
        node.notes.append(f"expects a rank-{a['rank'] + 3} input, got rank {len(x)}")
        return [None]
    step = _conv_like(node, (x[0],) + x[2:], pool=False)
    if step is None:
        return [None]
    if a.get("return_sequences"):
        return [(step[0], new_axis(node.id, 1, "time", x[1].size, "T")) + step[1:]]
    return [step]


def _embedding(node: Node, ins: list[Shape]) -> list[Shape | None]:
    x = ins[0]
    steps = [new_axis(node.id, i, "time", ax.size, "T") if len(x) == 2 else ax
             for i, ax in enumerate(x[1:], start=1)]
    feat = new_axis(node.id, len(x), "feature", node.attrs.get("units"), "F")
    return [(x[0], *steps, feat)]


def _repeat(node: Node, ins: list[Shape]) -> list[Shape | None]:
    x = ins[0]
    if len(x) != 2:
        return [None]
    return [(x[0], new_axis(node.id, 1, "time", node.attrs.get("n"), "T"), x[1])]


def _tile(node: Node, ins: list[Shape], by_slot: dict[int, Shape | None] | None = None,
          ) -> list[Shape | None]:
    """Tile: an axis of 1 repeated n times is a new run of n steps (RepeatVector is
    ExpandDims + Tile in tf2onnx, `repeat` in PyTorch); repeating a longer axis
    interleaves copies of it, which no axis describes: unknown."""
    x = ins[0]
    repeats = _shape_input(node, x, by_slot)
    if repeats is None or len(repeats) != len(x):
        return [None]
    return [_repeated(node, x, repeats)]


def _expand(node: Node, ins: list[Shape], by_slot: dict[int, Shape | None] | None = None,
            ) -> list[Shape | None]:
    """Expand: numpy broadcasting to a shape; an axis of 1 broadcast to n > 1 is a new run
    of n copies, as with Tile (PyTorch's `x.unsqueeze(1).expand(-1, T, -1)`)."""
    x = ins[0]
    shape = _shape_input(node, x, by_slot)
    if shape is None:
        return [None]
    lead = len(shape) - len(x)
    if lead < 0:
        shape, lead = [1] * -lead + list(shape), 0
    if lead:  # new leading axes: what they mean, the graph does not say
        return [None]
    repeats = [1 if n == 1 or (axis.size is not None and n == axis.size) else n
               for axis, n in zip(x, shape)]
    return [_repeated(node, x, repeats)]


def _shape_input(node: Node, x: Shape, by_slot) -> list | None:
    target = node.attrs.get("target")
    if isinstance(target, ShapeExpr):
        target = evaluate(target, {**(by_slot or {}), 0: x})
    return list(target) if target is not None else None


def _repeated(node: Node, x: Shape, repeats: list) -> Shape | None:
    out = []
    for i, (axis, n) in enumerate(zip(x, repeats)):
        if n == 1:
            out.append(axis)
        elif axis.size == 1 and isinstance(n, int) and n > 1:
            out.append(new_axis(node.id, i, "time", n, "T"))
        else:
            return None
    return tuple(out)


def _piece_span(piece, n: int) -> tuple[int, int] | None:
    """The [start, end) of axis size `n` that one frame piece takes (see the ONNX loader)."""
    kind = piece[0]
    if kind == "range":
        r = range(n)[piece[1]:piece[2]]
        return (r.start, r.stop) if len(r) else None
    if kind == "index":
        return (piece[1] % n, piece[1] % n + 1) if -n <= piece[1] < n else None
    sizes, count, k = piece[1], piece[2], piece[3]
    if sizes is None:
        if not count or n % count:
            return None
        sizes = [n // count] * count
    if sum(sizes) != n or len(sizes) <= k:
        return None
    return (sum(sizes[:k]), sum(sizes[:k + 1]))


def _unrolled_axis(node: Node, ins: list[Shape], axis: int,
                   by_slot: dict[int, Shape | None]) -> Axis | None:
    """The joined axis of a Concat that puts per-frame results back in frame order (an
    exporter's unrolled TimeDistributed, a loop over frames): the axis the frames were
    cut from, with its provenance (time stays time), when the pieces cover it exactly
    and in order and each joined axis is its frame's piece; else None."""
    stack = node.attrs["unrolled"]
    source = by_slot.get(stack["source_slot"])
    if not source or not -len(source) <= stack["axis"] < len(source):
        return None
    whole = source[stack["axis"] % len(source)]
    if whole.size is None or len(stack["pieces"]) != len(ins):
        return None
    at = 0
    for shape, piece, piece_node in zip(ins, stack["pieces"], stack["piece_nodes"]):
        span = _piece_span(piece, whole.size)
        if span is None or span[0] != at or shape[axis].size != span[1] - span[0]:
            return None
        # a single frame may sit on any size-1 axis; a longer piece must be that axis
        if span[1] - span[0] > 1 and piece_node not in {s.node for s in shape[axis].sources}:
            return None
        at = span[1]
    return whole if at == whole.size else None


def _concat(node: Node, ins: list[Shape], by_slot: dict[int, Shape | None] | None = None,
            ) -> list[Shape | None]:
    first = ins[0]
    axis = node.attrs.get("axis", -1) % len(first)
    if any(len(s) != len(first) for s in ins):
        return [None]
    if node.attrs.get("unrolled") and by_slot:
        whole = _unrolled_axis(node, ins, axis, by_slot)
        if whole is not None:
            return [first[:axis] + (whole,) + first[axis + 1:]]
    joined = [s[axis] for s in ins]
    sizes = [a.size for a in joined]
    size = None if None in sizes else bounded(sum(sizes))  # type: ignore[arg-type]
    # The joined axis is what its steps are: single steps (an image token before the words)
    # do not decide it, and real time steps among them make it a time axis.
    steps = [a for a in joined if a.size != 1] or joined
    roles = {a.role for a in steps}
    role = "time" if "time" in roles and "batch" not in roles else merged_role(roles)
    if all(not a.parts for a in joined):  # a stack of new axes: where it came from is lost
        role = "unknown"
    out = list(first)
    labels = {a.parts[0][0].label for a in joined if len(a.parts) == 1}
    label = labels.pop() if len(labels) == 1 else {"time": "T", "channel": "C", "unknown": "?"}.get(role, "F")
    out[axis] = new_axis(node.id, axis, role, size, label)
    return [tuple(out)]


def _split(node: Node, ins: list[Shape]) -> list[Shape | None]:
    """ONNX Split: each output is a piece of one axis, which keeps its role."""
    x, a = ins[0], node.attrs
    axis = a.get("axis", 0) % len(x)
    count = a.get("count") or 1
    outs: list[Shape | None] = []
    for k in range(count):
        span = None if x[axis].size is None else _piece_span(("split", a.get("sizes"), count, k),
                                                              x[axis].size)
        size = None if span is None else span[1] - span[0]
        label = x[axis].sources[0].label if x[axis].parts else "?"
        outs.append(x[:axis] + (new_axis(node.id, axis, x[axis].role, size, label),) + x[axis + 1:])
    return outs


def _merge_elementwise(node: Node, ins: list[Shape]) -> list[Shape | None]:
    """Elementwise ops keep the axes of the full-shaped operand: the highest rank, then
    the fewest broadcast (size-1) axes, then the most axes whose role is known."""
    def score(shape: Shape) -> tuple[int, int, int]:
        return (len(shape), -sum(a.size == 1 for a in shape),
                -sum(a.role == "unknown" for a in shape))
    return [max(ins, key=score)]


def _identity(node: Node, ins: list[Shape]) -> list[Shape | None]:
    return [ins[0]]


HANDLERS: dict[str, Callable[[Node, list[Shape]], list[Shape | None]]] = {
    "conv": _conv,
    "pool": _pool,
    "resize": _resize,
    "global_pool": _global_pool,
    "flatten": _flatten,
    "reshape": _reshape,
    "permute": _permute,
    "dense": _dense,
    "recurrent": _recurrent,
    "conv_recurrent": _conv_recurrent,
    "embedding": _embedding,
    "repeat": _repeat,
    "tile": _tile,
    "expand": _expand,
    "concat": _concat,
    "transpose": _transpose,
    "squeeze": _squeeze,
    "unsqueeze": _unsqueeze,
    "reduce": _reduce,
    "select": _select,
    "slice": _slice,
    "split": _split,
    "merge": _merge_elementwise,
    "dropout": _identity,
    "norm": _identity,
    "activation": _identity,
    "identity": _identity,
}


def _opaque(node: Node, carried: tuple[Axis, ...]) -> list[Shape | None]:
    """Opaque layers: shapes only as recorded (in the node's own per-step frame), roles
    unknown; nothing is guessed."""
    outs: list[Shape | None] = []
    for tensor in node.outputs or [TensorInfo()]:
        rec = tensor.recorded
        if not rec or (node.per_step and not carried):
            outs.append(None)
            continue
        axes = [new_axis(node.id, i, "unknown", size, "?") for i, size in enumerate(rec[1:], 1)]
        first = node.attrs.get("axis0_role", "batch")  # ONNX: unknown (batch is a fact)
        outs.append((new_axis(node.id, 0, first, rec[0], "N" if first == "batch" else "?"), *axes))
    return outs


def _with_steps(shape: Shape | None, carried: tuple[Axis, ...]) -> Shape | None:
    if shape is None or not carried:
        return shape
    return (shape[0], *carried, *shape[1:])


_READS_SHAPES = {"reshape", "tile", "expand"}  # their target may be computed (ShapeExpr)


def _axes_by_slot(graph: ModelGraph, node_id: str) -> dict[int, Shape | None]:
    """The axes of every input of a node, aux ones included, by input slot."""
    return {slot: graph.tensor(u, out).axes
            for u, out, slot in graph.input_edges(node_id, aux=True)}


def propagate(graph: ModelGraph) -> None:
    """Annotate every node's output tensors with axes, in topological order."""
    for node in graph.nodes():
        ins = graph.inputs_of(node.id)
        shapes = [t.axes for t in ins]
        carried: tuple[Axis, ...] = ()
        if node.per_step and shapes and shapes[0] is not None:
            k = node.per_step
            carried = shapes[0][1:1 + k]
            shapes = [None if s is None else (s[0],) + s[1 + k:] for s in shapes]
        if node.kind == "input":
            outs: list[Shape | None] = [seed_input(node)]
        elif node.kind in HANDLERS and shapes and all(s is not None for s in shapes):
            try:
                if node.kind in _READS_SHAPES:  # a computed shape also reads the aux inputs
                    outs = HANDLERS[node.kind](node, shapes, _axes_by_slot(graph, node.id))  # type: ignore[call-arg]
                elif node.kind == "concat" and node.attrs.get("unrolled"):  # and the frames' source
                    outs = _concat(node, shapes, _axes_by_slot(graph, node.id))  # type: ignore[arg-type]
                else:
                    outs = HANDLERS[node.kind](node, shapes)  # type: ignore[arg-type]
            except (TypeError, ValueError, KeyError, IndexError, ZeroDivisionError, OverflowError):
                # attributes the config got wrong: the layer stays unjudged, never a crash
                node.notes.append(f"attributes of {node.op} do not fit its input shape")
                outs = [None]
        elif node.kind in HANDLERS and shapes:
            bad = [u for u, t in zip(graph.producers(node.id), ins) if t.axes is None]
            node.notes.append(f"input shape unknown (from {', '.join(bad)})")
            outs = [None]
        else:
            if node.kind != "opaque":
                node.notes.append(f"{node.op} is not understood; treated as opaque")
            outs = _opaque(node, carried)
        for index, shape in enumerate(outs):
            graph.tensor(node.id, index).axes = _with_steps(shape, carried)
