from __future__ import annotations

from ..axes import aligned_permutation
from ..findings import Severity
from .base import (Rule, axis_json, built_by, describe, is_pytorch, layer_title, shape_text, shown,
                   step_input)

_CONSUMERS = {"recurrent", "conv_recurrent", "conv", "pool"}


class ScrambledReshape(Rule):
    """
    ## What it does
    Flags a recurrent, conv or pooling layer that receives a *scrambled* axis: one
    made by a `Reshape` whose new boundaries cut through an existing axis, mixing
    pieces of several axes in memory order. The usual cause is a CRNN that reshapes
    `(H, W, C)` straight to `(W, H * C)` without first moving W in front.

    ## Why is this bad?
    `Reshape` never moves data, it only re-reads the same memory. Reshaping
    `(8, 32, 16)` to `(32, 128)` gives step 0 the first four columns of row 0 and step
    1 the next four, and so on: each "time step" is a chunk of one row, not a column.
    The model still trains, on a sequence that does not exist in the image.

    ## Example
    ```python
    x = keras.Input((16, 64, 1))
    y = layers.Conv2D(16, 3, padding="same")(x)
    y = layers.MaxPooling2D(2)(y)              # (8, 32, 16): H, W, C
    y = layers.Reshape((32, 128))(y)           # meant (W, H * C)
    y = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(y)
    ```

    ## Use instead
    ```python
    x = keras.Input((16, 64, 1))
    y = layers.Conv2D(16, 3, padding="same")(x)
    y = layers.MaxPooling2D(2)(y)              # (8, 32, 16): H, W, C
    y = layers.Permute((2, 1, 3))(y)           # (32, 8, 16): W, H, C
    y = layers.Reshape((32, 128))(y)
    y = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(y)
    ```
    """

    code = "CL007"
    name = "scrambled-reshape"
    severity = Severity.ERROR
    remedies = ("insert_permute",)

    def check(self, graph, options):
        flagged = {node.id: node for node in graph.nodes() if node.kind in _CONSUMERS
                   and any(a.role == "scrambled" for a in step_input(graph, node) or ())}
        for node in flagged.values():
            # an exporter's unrolled TimeDistributed runs one copy of the layer per frame:
            # the first frame's copy is the finding, as the one layer is in Keras
            if node.attrs.get("frame_copy_of") in flagged:
                continue
            axes = step_input(graph, node)
            scrambled = [(i, a) for i, a in enumerate(axes) if a.role == "scrambled"]
            index, axis = scrambled[0]
            culprit = self._culprit(graph, node)
            remedy, perm = self._remedy(graph, culprit)
            time_index = node.attrs.get("time_axis", 0 if node.attrs.get("time_major") else 1)
            what = "time axis" if node.is_recurrent and index == time_index else f"axis {index}"
            yield self.finding(
                node,
                f"{layer_title(node, graph)} receives a scrambled {what} of {axis.size}: "
                f"{'`' + shown(graph, culprit) + '`' if culprit else 'a Reshape'} cuts through "
                f"axes, so each step mixes {describe(graph, axis)} in memory order.",
                related=([culprit.id] if culprit else []) + [
                    n for n in built_by(graph, node, axis) if not culprit or n != culprit.id],
                evidence={"input_shape": shape_text(axes), "scrambled_axis": axis_json(axis),
                          "reshape": culprit.id if culprit else None,
                          "permute": list(perm) if perm else None,
                          "provenance": f"{what} of {axis.size} = {axis.describe()}"},
                remedy=remedy
            )

    @staticmethod
    def _culprit(graph, node):
        """The nearest upstream reshape that made a scrambled axis from unscrambled ones."""
        seen, queue = set(), list(graph.producers(node.id))
        while queue:  # breadth-first along producers: nearest first
            node_id = queue.pop(0)
            if node_id in seen:
                continue
            seen.add(node_id)
            queue += graph.producers(node_id)
            cand = graph.node(node_id)
            if cand.kind != "reshape" or not cand.outputs or cand.outputs[0].axes is None:
                continue
            ins = graph.inputs_of(cand.id)
            before = ins[0].axes if ins else None
            if before and not any(a.role == "scrambled" for a in before) and any(
                    a.role == "scrambled" and not _cut_before(a, before)
                    for a in cand.outputs[0].axes):
                return cand
        return None

    @staticmethod
    def _remedy(graph, culprit):
        torch = is_pytorch(graph)
        if culprit is None:
            if torch:
                return ("Insert the x.permute(...) that puts the wanted time axis first "
                        "before the reshape."), None
            return ("Insert the Permute that puts the wanted time axis first before the "
                    "Reshape."), None
        name = shown(graph, culprit)
        before = graph.inputs_of(culprit.id)[0].axes
        full = bool(culprit.attrs.get("full"))  # ONNX: the target covers the batch axis too
        start = 0 if full else 1 + culprit.per_step
        target = culprit.attrs.get("resolved_target") or []
        perm = aligned_permutation(before[start:], target)
        if perm is None:
            how = "x.permute(...)" if torch else "Transpose" if full else "Permute(...)"
            return (f"Reorder the axes with {how} before `{name}` so that the "
                    "reshape only merges neighbouring axes."), None
        if full and perm[0] == 1 and graph.meta.get("source_framework") == "keras":
            perm = tuple(p - 1 for p in perm[1:])  # a Keras model's export: Permute skips the batch
            full, start = False, 1
        order = ", ".join(before[start + p - 1].sources[0].label if before[start + p - 1].parts
                          else "?" for p in perm)
        if full:
            zero_based = [p - 1 for p in perm]
            if culprit.op.endswith(".reshape"):  # a Keras op layer: the same API's transpose
                fn = culprit.op[:-len("reshape")] + "transpose"
                arg = "axes" if fn.startswith("keras.") else "perm"
                return (f"Insert {fn}(x, {arg}={tuple(zero_based)}) before `{culprit.id}` "
                        f"(giving {order}), then keep the reshape."), perm
            if torch:
                where = f"`{name}`" if name == culprit.id else f"the reshape in `{name}`"
                return (f"Insert x.permute{tuple(zero_based)} before {where} "
                        f"(giving {order}), then keep the reshape."), perm
            return (f"Insert Transpose(perm={zero_based}) before `{culprit.id}` (giving {order}; "
                    f"in PyTorch x.permute{tuple(zero_based)} before the reshape)."), perm
        kept = tuple(target[1:] if culprit.attrs.get("full") else target)
        return (f"Insert Permute({tuple(perm)}) before `{culprit.id}` (giving {order}), "
                f"then keep Reshape({kept})."), perm


def _cut_before(axis, before) -> bool:
    """Whether the pieces of a scrambled axis were already cut out of their axes upstream
    (tf2onnx's Tensordot for a Dense folds the scrambled time into the batch and splits it
    back out: that split only restores the scramble the real culprit made)."""
    pieces = [(src, size) for src, size in axis.parts if size != src.size]
    upstream = {part for a in before for part in a.parts}
    return bool(pieces) and all(piece in upstream for piece in pieces)
