from __future__ import annotations

from ..findings import Severity
from .base import (Rule, axis_json, built_by, clip_time_merged_before, layer_title, shape_text,
                   is_pytorch, shown, step_input, terms)

_FEATURE_ROLES = {"channel", "feature"}


class ChannelsAsTime(Rule):
    """
    ## What it does
    Flags a recurrent layer whose time axis was made only from channels or features
    computed inside the model: a pooled vector reshaped to `(C, 1)`, a `Dense` output
    reshaped into steps, or a `Permute` that moves conv channels onto the time axis.

    ## Why is this bad?
    Channels and Dense units have no order: channel 7 is not "after" channel 6. The
    recurrent layer reads one number per step from an arbitrary permutation of features
    that a Dense layer would have seen all at once, which is slower to train and
    usually worse.

    ## Example
    ```python
    x = keras.Input((32, 32, 3))
    y = layers.Conv2D(16, 3)(x)
    y = layers.GlobalAveragePooling2D()(y)   # (16,)
    y = layers.Reshape((16, 1))(y)           # 16 "steps" of 1 channel each
    y = layers.LSTM(8)(y)
    ```

    ## Use instead
    ```python
    x = keras.Input((32, 32, 3))
    y = layers.Conv2D(16, 3)(x)
    y = layers.GlobalAveragePooling2D()(y)
    y = layers.Dense(64, activation="relu")(y)
    ```
    or, for sequences of frames, `TimeDistributed(cnn)` so that time comes from the data.
    Raw model inputs are not judged: a vector input reshaped to `(N, 1)` may well be a
    time series.
    """

    code = "CL002"
    name = "channels-as-time"
    severity = Severity.WARNING
    remedies = ("gap_dense_head", "flatten_dense_head", "timedistributed_cnn")

    def check(self, graph, options):
        for node, time in self.time_axes(graph):
            sources = time.sources
            if not sources or time.size == 1 or time.role == "scrambled":
                continue  # a scrambled time axis is CL007's
            if any(s.role not in _FEATURE_ROLES for s in sources):
                continue
            if any(graph.node(s.node).kind == "input" for s in sources):
                continue  # a raw input vector may be a genuine series
            if clip_time_merged_before(graph, node):
                continue  # the clip's own time was merged away first: CL003's finding
            what = " × ".join(f"{'channels' if s.role == 'channel' else 'features'} "
                              f"of `{shown(graph, s.node)}`" for s in sources)
            steps = "?" if time.size is None else time.size
            yield self.finding(
                node, f"{layer_title(node, graph)} steps through {steps} {what}, which have no order.",
                related=built_by(graph, node, time),
                evidence={"input_shape": shape_text(step_input(graph, node)),
                          "time_axis": axis_json(time),
                          "provenance": f"time axis of {steps} steps = {time.describe()}"},
                remedy=("Feed the features to {dense} instead of {op}: {gap} (or {flatten}) "
                        "then {projection}; for clips, make time come from the frames with "
                        "{per_frame}.").format(op=node.op, projection="nn.Linear(..., 64)"
                                               if is_pytorch(graph) else "Dense(64)", **terms(graph))
            )
