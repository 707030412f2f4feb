from __future__ import annotations

from ..findings import Severity
from .base import (MERGING_KINDS, MIXED_ROLES, Rule, axis_json, built_by, clip_time_merges,
                   is_pytorch, layer_title, shown, terms)


class MissingTimeDistributed(Rule):
    """
    ## What it does
    Flags a model whose input has a time axis (a clip of frames, a sequence) when,
    before a recurrent layer, that time axis is merged with spatial or feature axes —
    `Flatten()` over a whole clip, `Reshape((T * H, W, C))` to push a clip through
    `Conv2D`. (A recurrent layer whose time axis is the batch axis is CL009's.)

    ## Why is this bad?
    Once frames are merged with pixels or features, later layers mix time into space:
    the "image" the CNN sees is the frames stacked on top of each other, and the
    sequence the LSTM receives is no longer one step per frame. Per-frame layers must
    run on each frame separately and keep the time axis intact.

    ## Example
    ```python
    x = keras.Input((8, 16, 16, 1))          # 8 frames
    y = layers.Reshape((128, 16, 1))(x)      # frames stacked into one tall image
    y = layers.Conv2D(4, 3, padding="same")(y)
    y = layers.Reshape((128, 64))(y)         # a row of the tall image per step
    y = layers.LSTM(16)(y)
    ```

    ## Use instead
    ```python
    x = keras.Input((8, 16, 16, 1))
    y = layers.TimeDistributed(layers.Conv2D(4, 3, padding="same"))(x)
    y = layers.TimeDistributed(layers.GlobalAveragePooling2D())(y)
    y = layers.LSTM(16)(y)
    ```
    """

    code = "CL003"
    name = "missing-timedistributed"
    severity = Severity.ERROR
    remedies = ("timedistributed_cnn",)

    def check(self, graph, options):
        recurrent = graph.recurrent_nodes()
        if not recurrent:
            return
        recurrent_ids = {n.id for n in recurrent}
        feeds_recurrent = graph.downstream_any(lambda n: n.is_recurrent)
        for node in graph.nodes():
            if node.kind not in MERGING_KINDS or node.id not in feeds_recurrent:
                continue
            new_merges = clip_time_merges(graph, node)
            if new_merges:
                downstream = sorted(graph.descendants(node.id) & recurrent_ids)
                axis = new_merges[0]
                time_src = next(s for s in axis.sources if s.role == "time")
                others = [s for s in axis.sources if s.role in MIXED_ROLES]
                target = graph.node(downstream[0])
                mixed = " × ".join(f"{s.label} {s.size}" for s in others)
                yield self.finding(
                    node,
                    f"{node.op} `{shown(graph, node)}` merges the {time_src.size}-step time axis "
                    f"of `{shown(graph, time_src.node)}` with {mixed} before "
                    f"{layer_title(target, graph)}, so per-frame layers no longer run per frame.",
                    related=[*built_by(graph, node, axis), *downstream],
                    evidence={"merged_axis": axis_json(axis),
                              "provenance": f"axis of {axis.size} = {axis.describe()}"},
                    remedy=(f"Keep the time axis: instead of {node.op}, run "
                            + terms(graph)["per_frame"]
                            + ("" if is_pytorch(graph) else " (in Keras: TimeDistributed(Conv2D(...)), "
                               "TimeDistributed(GlobalAveragePooling2D()))")
                            + f" so that the {target.op} receives (batch, time, features).")
                )
