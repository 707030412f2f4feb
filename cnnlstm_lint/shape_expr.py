"""Shapes a model computes at run time, as data.

Exporters compute Reshape targets inside the graph (ONNX `Shape -> Gather -> Mul ->
Concat -> Reshape`), from axes that are only known once axes.py has annotated the
Reshape's inputs. The loader compiles such a computation into a `ShapeExpr`: a short
straight-line program of plain tuples, stored on the node; axes.py evaluates it with the
input axes. Being plain data, a graph pickles (it comes back from the isolated parser
child) and later passes never call back into a loader.

Each step is a tuple whose value is a vector of entries (int, Sym, or None: unknown);
`ref`s are indices of earlier steps, or None for a missing input:

    ("const", (int, ...))          a constant vector
    ("shape", slot, start, end)    ONNX Shape of the node's input `slot`, sliced [start:end]
    ("flatten", axis)              ONNX Flatten of input 0: [prod(x[:axis]), prod(x[axis:])]
    ("gather", data, indices)      entries of `data` at `indices`
    ("slice", data, starts, ends, steps)   data[starts[0]:ends[0]:steps[0]] (steps None: 1)
    ("concat", (ref, ...))         the vectors joined
    ("mul" | "div" | "add" | "sub", a, b)  entrywise, a length-1 side broadcast
    ("equal", a, b)                entrywise 1 or 0, broadcast the same way
    ("where", cond, a, b)          entrywise a where cond is 1, b where it is 0
    ("fill", shape, value)         ONNX ConstantOfShape of a vector shape [n]: n x value
    ("unknown",)                   an op not modelled: its value is unknown

The last step is the target (of a Reshape, or the repeats of a Tile, the shape of an
Expand: PyTorch's exporter computes `x.expand(-1, 7, -1)`'s shape with
ConstantOfShape, Equal and Where). Every value is bounded as it is made (at most
MAX_SHAPE_RANK entries, ints within MAX_EXACT; Sym products are bounded by axis_types),
so evaluation is one pass over the steps with no huge integers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Optional, Sequence

from .axis_types import MAX_EXACT, Shape, Sym, axis_dim, bounded, sym_product

MAX_SHAPE_RANK = 64  # entries in one shape vector; a longer one is hostile and unknown

Value = Optional[list]  # a vector of int | Sym | None entries, or None when unknown
UNKNOWN = ("unknown",)


@dataclass(frozen=True)
class ShapeExpr:
    """A Reshape target computed at run time: `steps` (see the module docstring), and
    ONNX's `allowzero` (False: a 0 entry copies the input's dimension there)."""

    steps: tuple[tuple, ...]
    allowzero: bool = False


def checked(value: Value) -> Value:
    """`value`, or None when it is longer than MAX_SHAPE_RANK or an entry is beyond MAX_EXACT."""
    if value is None or len(value) > MAX_SHAPE_RANK or any(
            isinstance(v, int) and bounded(v, MAX_EXACT) is None for v in value):
        return None
    return value


def const_step(values: Sequence[int]) -> tuple:
    """A constant step, or an unknown one when the constant is out of bounds (so that no
    large constant is stored on the graph)."""
    return ("const", tuple(values)) if checked(list(values)) is not None else UNKNOWN


def evaluate(expr: ShapeExpr, inputs: Mapping[int, Shape | None]) -> list | None:
    """The target as ints and Syms, given the axes of the node's inputs by slot (slot 0 is
    the tensor reshaped); None when it cannot be known."""
    values: list[Value] = []
    for step in expr.steps:
        try:
            value = _step(step, values, inputs)
        except (TypeError, ValueError, IndexError, KeyError, ZeroDivisionError):
            value = None  # malformed entries (a Sym as an index, a zero step): unknown
        values.append(checked(value))
    result = values[-1] if values else None
    if result is None:
        return None
    x = inputs.get(0) or ()
    out = []
    for i, v in enumerate(result):
        if v == 0 and not expr.allowzero:  # ONNX: 0 copies the input dimension
            if i >= len(x):
                return None
            v = axis_dim(x[i])
        if v is None:
            return None
        out.append(v.simplify() if isinstance(v, Sym) else v)
    return out


def _step(step: tuple, values: list[Value], inputs: Mapping[int, Shape | None]) -> Value:
    op = step[0]

    def arg(ref) -> Value:
        return None if ref is None else values[ref]

    if op == "const":
        return list(step[1])
    if op == "shape":
        _, slot, start, end = step
        axes = inputs.get(slot)
        if axes is None:
            return None
        dims = [axis_dim(ax) for ax in axes]
        return dims[start:len(dims) if end is None else end]
    if op == "flatten":
        x = inputs.get(0)
        if x is None:
            return None
        k = step[1] % len(x) if x else 0
        dims = [axis_dim(a) for a in x]
        head, tail = sym_product(dims[:k]), sym_product(dims[k:])
        return None if head is None or tail is None else [head, tail]
    if op == "gather":
        data, indices = arg(step[1]), arg(step[2])
        if data is None or indices is None:
            return None
        return [data[int(i)] for i in indices]
    if op == "slice":
        data, starts, ends, steps = (arg(r) for r in step[1:])
        if data is None or starts is None or ends is None:
            return None
        steps = steps if steps is not None else [1]
        return data[int(starts[0]):_clip_end(ends[0]):int(steps[0])]
    if op == "concat":
        parts = [arg(r) for r in step[1]]
        if any(p is None for p in parts):
            return None
        return [v for p in parts for v in p]  # type: ignore[union-attr]
    if op in ("mul", "div", "add", "sub", "equal", "where"):
        args = _broadcast([arg(r) for r in step[1:]])
        if args is None:
            return None
        entry = _equal if op == "equal" else _where if op == "where" else \
            (lambda lhs, rhs: _arith(op, lhs, rhs))
        out = [entry(*vs) for vs in zip(*args)]
        return None if None in out else out
    if op == "fill":
        shape = arg(step[1])
        if shape is None or len(shape) != 1 or not isinstance(shape[0], int) \
                or not 0 <= shape[0] <= MAX_SHAPE_RANK:
            return None
        return [step[2]] * shape[0]
    return None  # "unknown", or anything this evaluator does not know


def _broadcast(vectors: list[Value]) -> list[list] | None:
    """The vectors at one length, a length-1 vector repeated; None when one is unknown
    or the lengths disagree."""
    if any(v is None for v in vectors):
        return None
    n = max(len(v) for v in vectors)  # type: ignore[arg-type]
    if any(len(v) not in (1, n) for v in vectors):  # type: ignore[arg-type]
        return None
    return [v * n if len(v) == 1 else v for v in vectors]  # type: ignore[operator]


def _equal(left, right):
    if isinstance(left, int) and isinstance(right, int):
        return int(left == right)
    if isinstance(left, int) != isinstance(right, int) and min(
            (v for v in (left, right) if isinstance(v, int)), default=1) <= 0:
        return 0  # a run-time dimension is never zero or negative
    return None


def _where(cond, left, right):
    return left if cond == 1 else right if cond == 0 else None


def _clip_end(end) -> int:
    end = int(end)
    return end if end < 2**31 - 1 else 2**31 - 1


def _arith(op: str, left, right):
    """One entry of shape arithmetic; None when unknown or beyond MAX_EXACT (operands are
    bounded, so no result grows huge)."""
    if left is None or right is None:
        return None
    if isinstance(left, int) and isinstance(right, int):
        if op == "mul":
            return bounded(left * right, MAX_EXACT)
        if op == "div":
            return left // right if right else None
        return bounded(left + right if op == "add" else left - right, MAX_EXACT)
    if op == "mul":
        return sym_product([left, right])
    left, right = Sym.of(left), Sym.of(right)
    if op == "div":
        result = left.divide(right)
        return None if result is None else result.simplify()
    return None  # sums of run-time dims are not products
