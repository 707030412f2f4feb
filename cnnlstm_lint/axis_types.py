"""The value types of axis provenance: Source, Axis, Sym, and the bounds on their sizes.

Plain frozen data with no imports from the rest of the package, so that graph.py (which
stores axes on tensors), shape_expr.py (which computes Reshape targets) and axes.py (the
provenance pass) can all use them without importing each other. How an axis is written
as text is axis_text.py's; `describe` here only calls it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Sequence

ROLES = ("batch", "time", "spatial", "channel", "feature", "scrambled", "unknown")

Shape = tuple["Axis", ...]

# No tensor has more elements than MAX_SIZE. An axis size read from a file or computed
# (products of axes, sums) beyond it is hostile or garbage and is unknown (None): never a
# huge int, whose arithmetic is slow and which Python refuses to print. Exact products that
# only group axes (Reshape targets, their shape arithmetic) may reach MAX_EXACT, a rank-8
# tensor of MAX_SIZE axes, so that provenance survives absurd but finite sizes; beyond it
# they are unknown too.
MAX_SIZE = 2**62
MAX_EXACT = MAX_SIZE**8
MAX_SYMBOLS = 16  # a Sym over more dynamic axes than this is unknown


def bounded(size: int | None, limit: int = MAX_SIZE) -> int | None:
    """`size`, or None when it is unknown or beyond `limit` in magnitude."""
    return None if size is None or not -limit <= size <= limit else size


class Source(NamedTuple):
    """An axis where it got its meaning: (node, axis index, role), plus size and label."""

    node: str
    axis: int
    role: str
    size: int | None
    label: str  # N, T, H, W, D, L, C, F or ? -- for messages

    def describe(self) -> str:
        """E.g. 'H 15'; written by axis_text.source_text."""
        from .axis_text import source_text

        return source_text(self)


@dataclass(frozen=True)
class Axis:
    size: int | None
    role: str
    parts: tuple[tuple[Source, int | None], ...] = ()

    @property
    def origin(self) -> frozenset[Source]:
        return frozenset(src for src, _ in self.parts)

    @property
    def sources(self) -> list[Source]:
        """Distinct sources in memory order."""
        seen: list[Source] = []
        for src, _ in self.parts:
            if src not in seen:
                seen.append(src)
        return seen

    def describe(self) -> str:
        """E.g. 'H 15 × W 15 of max_pooling2d' or 'C 32 of conv2d'; written by
        axis_text.provenance."""
        from .axis_text import provenance

        return provenance(self)


def _product(sizes: Sequence[int | None], limit: int = MAX_SIZE) -> int | None:
    """The product of sizes; None if one is unknown or the product is beyond `limit`."""
    total = 1
    for s in sizes:
        if s is None:
            return None
        total = bounded(total * s, limit)  # checked per factor: no intermediate grows huge
        if total is None:
            return None
    return total


def _merge_adjacent(parts: Sequence[tuple[Source, int | None]]) -> list[tuple[Source, int | None]]:
    """Join neighbouring pieces of one source (a split undone by a later merge)."""
    merged: list[tuple[Source, int | None]] = []
    for src, size in parts:
        if merged and merged[-1][0] == src:
            prev = merged[-1][1]
            merged[-1] = (src, None if prev is None or size is None else bounded(prev * size))
        else:
            merged.append((src, size))
    return merged


@dataclass(frozen=True)
class Sym:
    """A dimension known only at run time: coeff × the product of dynamic source axes.

    Exporters compute Reshape targets from Shape ops (e.g. [N, H·W, C] with a symbolic
    batch N); evaluating them to Syms keeps the grouping exact without knowing N.
    """

    coeff: int
    symbols: tuple[Source, ...] = ()

    @staticmethod
    def of(value: "int | Sym") -> "Sym":
        return value if isinstance(value, Sym) else Sym(int(value))

    def times(self, other: "int | Sym") -> "Sym | None":
        """The product; None (unknown) when its coefficient or symbol count is beyond bounds."""
        other = Sym.of(other)
        coeff = bounded(self.coeff * other.coeff, MAX_EXACT)
        if coeff is None or len(self.symbols) + len(other.symbols) > MAX_SYMBOLS:
            return None
        return Sym(coeff, _sorted_sources(self.symbols + other.symbols))

    def divide(self, other: "int | Sym") -> "Sym | None":
        other = Sym.of(other)
        rest = list(self.symbols)
        for sym in other.symbols:
            if sym not in rest:
                return None
            rest.remove(sym)
        if other.coeff == 0 or self.coeff % other.coeff:
            return None
        return Sym(self.coeff // other.coeff, tuple(rest))

    def simplify(self) -> "int | Sym":
        return self.coeff if not self.symbols else self

    def __repr__(self) -> str:
        names = [s.label if s.label not in ("?", "") else f"{s.node}[{s.axis}]" for s in self.symbols]
        return "·".join(([str(self.coeff)] if self.coeff != 1 or not names else []) + names)


def _sorted_sources(sources) -> tuple[Source, ...]:
    return tuple(sorted(sources, key=lambda s: (s.node, s.axis, s.label)))


def sym_product(values: Sequence["int | Sym | None"]) -> "int | Sym | None":
    """The product of ints and Syms, simplified; None if one is unknown or it is too big."""
    total: Sym | None = Sym(1)
    for v in values:
        if v is None or total is None:
            return None
        total = total.times(v)
    return None if total is None else total.simplify()


def axis_dim(axis: Axis) -> "int | Sym | None":
    """An axis' size as an int, or as a Sym over its dynamic source axes."""
    if axis.size is not None:
        return axis.size
    if not axis.parts:
        return None
    known = _product([size for _, size in axis.parts if size is not None], MAX_EXACT)
    dynamic = [src for src, size in axis.parts if size is None]
    if known is None or len(dynamic) > MAX_SYMBOLS:
        return None
    return Sym(known, _sorted_sources(dynamic))
