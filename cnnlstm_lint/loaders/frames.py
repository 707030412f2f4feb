"""Per-frame loops unrolled by an exporter, as the ONNX and `.pt2` front ends both meet
them: each frame cut from one tensor along one axis, run through the same layers, then
stacked back. Given, for each stacked input, the chain of nodes back to its frame piece,
this finds the common source and marks the layers of every frame after the first as
copies of frame 0's (the rules judge frame 0)."""

from __future__ import annotations

from ..graph import ModelGraph


def common_frames(graph: ModelGraph, chains: list) -> tuple[str, dict] | None:
    """`chains`: per stacked input, (node ids nearest first, [(sliced tensor, axis,
    piece, piece node id), ...]). Returns (source tensor, {"axis", "pieces",
    "piece_nodes"}) when every input is one piece of the same tensor along the same axis
    after the same ops, else None."""
    if len(chains) < 2 or any(c is None for c in chains):
        return None
    for source, axis, _, _ in chains[0][1]:  # the nearest common piece wins
        found = []
        for ops, pieces in chains:
            match = next(((piece, pid) for src, ax, piece, pid in pieces
                          if src == source and ax == axis), None)
            if match is None:
                break
            found.append(match)
        else:
            # the ops each frame went through, piece op excluded: identical per frame
            runs = [ops[:ops.index(pid)] for (ops, _), (_, pid) in zip(chains, found)]
            if len({tuple(graph.node(n).op for n in run) for run in runs}) != 1:
                return None
            for run in runs[1:]:
                for twin, first in zip(run, runs[0]):
                    graph.node(twin).attrs["frame_copy_of"] = first
            return source, {"axis": axis, "pieces": [piece for piece, _ in found],
                            "piece_nodes": [pid for _, pid in found]}
    return None
