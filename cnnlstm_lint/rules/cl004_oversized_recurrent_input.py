from __future__ import annotations

from ..findings import Severity
from .base import (Option, Rule, axis_json, built_by, describe, has_unknown, is_pytorch, layer_title,
                   shape_text, step_input)

_GATES = {"LSTM": 4, "GRU": 3, "SimpleRNN": 1}


class OversizedRecurrentInput(Rule):
    """
    ## What it does
    Flags a recurrent layer that receives, at every step, more than `max-features`
    values made from a feature map's pixels — typically `TimeDistributed(Flatten())`
    of a whole conv map.

    ## Why is this bad?
    The input kernel of an LSTM has `features × units × 4` weights. A flattened map of
    tens of thousands of values makes this one matrix most of the model: it is slow,
    overfits quickly, and forces every spatial position to be learned separately for
    every gate.

    ## Example
    ```python
    clip = keras.Input((10, 24, 24, 3))                                    # 10 frames
    y = layers.TimeDistributed(layers.Conv2D(8, 3, padding="same"))(clip)  # (10, 24, 24, 8)
    y = layers.TimeDistributed(layers.Flatten())(y)                        # 4608 per step
    y = layers.LSTM(64)(y)
    ```

    ## Use instead
    ```python
    clip = keras.Input((10, 24, 24, 3))
    y = layers.TimeDistributed(layers.Conv2D(8, 3, padding="same"))(clip)
    y = layers.TimeDistributed(layers.GlobalAveragePooling2D())(y)  # 8 per step
    # or more pooling before Flatten, or TimeDistributed(Dense(256)) as a projection
    y = layers.LSTM(64)(y)
    ```
    """

    code = "CL004"
    name = "oversized-recurrent-input"
    severity = Severity.WARNING
    remedies = ("pool_before_recurrent", "dense_projection")
    options = {"max-features": Option(4096, int, "largest per-step input width accepted")}

    def check(self, graph, options):
        limit = options["max-features"]
        for node in graph.recurrent_nodes():
            if node.kind != "recurrent":
                continue
            axes = step_input(graph, node)
            if axes is None or len(axes) != 3:
                continue
            width = axes[-1]
            if width.size is None or width.size <= limit or has_unknown(width):
                continue
            if not any(s.role == "spatial" for s in width.sources):
                continue
            units = node.attrs.get("units") or 0
            directions = 2 if node.attrs.get("bidirectional") else 1
            weights = width.size * units * _GATES.get(node.attrs.get("cell", ""), 1) * directions
            yield self.finding(
                node,
                f"{layer_title(node, graph)} receives {width.size} values per step "
                f"({describe(graph, width)}), over the {limit} limit: its input kernel alone has "
                f"{weights:,} weights.",
                related=built_by(graph, node, width),
                evidence={"input_shape": shape_text(axes), "feature_axis": axis_json(width),
                          "input_kernel_weights": weights, "max_features": limit,
                          "provenance": f"features per step {width.size} = {width.describe()}"},
                remedy=(f"Shrink the per-step features before the {node.op}: "
                        + ("nn.AdaptiveAvgPool2d(1) on each frame's map instead of flattening "
                           "it, more pooling before the flatten, or an nn.Linear(..., 256) "
                           "projection of each step." if is_pytorch(graph) else
                           "TimeDistributed(GlobalAveragePooling2D()) instead of Flatten, more "
                           "pooling before the Flatten, or a TimeDistributed(Dense(256)) "
                           "projection."))
            )
