"""Every way an axis or a shape is written as text, in one place.

- `provenance(axis)`: where an axis came from, the phrase of messages, evidence and the
  axes table: ``H 15 × W 15 of max_pooling2d``, ``8 of W 32 of pool × C 64 of conv``,
  ``a new axis``; `source_text` writes one source axis of it (``H 15``, ``T ?``).
- `sizes_text(axes)`: a shape as its sizes, ``(None, 225, 8)``, for rule evidence.
- `axis_json(axis)`: an axis in JSON evidence: size, role, origin and its provenance.
- `notation(axis)`: the short letter notation of the pictures, ``T=225 ⟵ H×W``, ``C=8``,
  ``B``; `shape_notation(axes)` an edge label, ``(B, T=225 ⟵ H×W, C=8)``;
  `notation_lines(axes)` an edge's tooltip, a line per axis with role and provenance.
- `table_rows(label, axes, escape)`: one tensor's rows of the `cnnlstm-lint axes` table.

Text only: axes.py computes provenance, axis_types.py holds it. Node names in this text
come from the model file; the caller escapes them for its output (the table rows take
the `escape` to apply).
"""

from __future__ import annotations

from typing import Callable, Sequence

from .axis_types import Axis, Source, _merge_adjacent

ARROW = "⟵"
TIMES = "×"

# the picture's letter for an axis of each role that is not simply one named source axis
_ROLE_LETTER = {"time": "T", "spatial": "S", "channel": "C", "feature": "F", "unknown": "?",
                "scrambled": ""}


def _size(size: int | None, unknown: str = "?") -> str:
    return unknown if size is None else str(size)


# ---------------------------------------------------------------------------------
# provenance: the words of messages, evidence and the axes table


def source_text(src: Source) -> str:
    """One source axis, e.g. ``H 15`` (``T ?`` when its size is unknown)."""
    return f"{src.label} {_size(src.size)}"


def provenance(axis: Axis) -> str:
    """E.g. ``H 15 × W 15 of max_pooling2d`` or ``C 32 of conv2d``; a piece of a source
    axis is ``8 of W 32 of pool`` (``part of W 15 of pool`` when the cut leaves no whole
    size); an axis with no source is ``a new axis``."""
    if not axis.parts:
        return "a new axis"
    groups: list[tuple[str, list[str]]] = []
    for src, size in _merge_adjacent(axis.parts):
        if size == src.size:
            text = source_text(src)
        else:  # a piece; of no whole size when the cut falls inside an element row
            text = f"{'part' if size is None else size} of {source_text(src)}"
        if groups and groups[-1][0] == src.node:
            groups[-1][1].append(text)
        else:
            groups.append((src.node, [text]))
    return " × ".join(f"{' × '.join(texts)} of {node}" for node, texts in groups)


def sizes_text(axes: Sequence[Axis] | None) -> str:
    """A shape as its sizes, e.g. ``(None, 225, 8)``; ``unknown`` without axes."""
    if axes is None:
        return "unknown"
    return "(" + ", ".join(_size(a.size, "None") for a in axes) + ")"


def axis_json(axis: Axis) -> dict:
    """An axis in a finding's JSON evidence."""
    return {
        "size": axis.size,
        "role": axis.role,
        "origin": [{"node": src.node, "axis": src.axis, "role": src.role, "size": src.size,
                    "label": src.label} for src in axis.sources],
        "provenance": provenance(axis),
    }


def table_rows(label: str, axes: Sequence[Axis] | None, escape: Callable[[str], str]) -> list[str]:
    """The `cnnlstm-lint axes` rows of one tensor (`label`: ``out``, ``out1`` …), e.g.
    ``    out[1]    225 spatial   = H 15 × W 15 of max_pooling2d``; `escape` is applied
    to the provenance, which names layers."""
    if axes is None:
        return [f"    {label}: unknown shape"]
    return [f"    {label}[{i}] {_size(axis.size, 'None'):>6} {axis.role:<9} = {escape(provenance(axis))}"
            for i, axis in enumerate(axes)]


# ---------------------------------------------------------------------------------
# the pictures' letter notation


def _letter(src: Source) -> str:
    return src.label if src.label else "?"


def notation(axis: Axis, *, as_time: bool = False) -> str:
    """One axis of an edge label, e.g. ``T=225 ⟵ H×W``, ``C=8``, ``B``.

    `as_time`: the consumer is a recurrent layer reading this axis as its time axis.
    """
    size = _size(axis.size)
    runs = _merge_adjacent(axis.parts)
    labels = [_letter(src) for src, _ in runs]
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


def shape_notation(axes: Sequence[Axis] | None, time_at: int | None = None) -> str:
    """A tensor's edge label, e.g. ``(B, T=225 ⟵ H×W, C=8)``; `time_at`: the index of
    the axis a recurrent consumer reads as time (only for a tensor of rank ≥ 3)."""
    if axes is None:
        return "(shape unknown)"
    if time_at is not None and not (len(axes) >= 3 and 0 <= time_at < len(axes)):
        time_at = None
    return "(" + ", ".join(notation(a, as_time=i == time_at) for i, a in enumerate(axes)) + ")"


def notation_lines(axes: Sequence[Axis] | None, time_at: int | None = None) -> list[str]:
    """An edge's tooltip: per axis its notation, role and provenance, e.g.
    ``T=225 ⟵ H×W: spatial, H 15 × W 15 of max_pooling2d``."""
    if axes is None:
        return ["shape unknown"]
    return [f"{notation(axis, as_time=i == time_at)}: {axis.role}, {provenance(axis)}"
            for i, axis in enumerate(axes)]
