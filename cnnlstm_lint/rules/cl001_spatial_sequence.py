from __future__ import annotations

from ..findings import Severity
from .base import (Rule, terms, axis_json, built_by, layer_title, shape_text, shown, spatial_sources,
                   step_input)


class SpatialSequence(Rule):
    """
    ## What it does
    Flags a recurrent layer whose time steps are the pixels of a feature map: its time
    axis was built from two or more spatial axes (height × width) of a conv or pooling
    output, typically by `Reshape((H * W, C))`.

    ## Why is this bad?
    A recurrent layer assumes step *t* follows step *t − 1*. Reading a feature map
    pixel by pixel, row after row, puts neighbours in the same column H steps apart and
    joins the end of one row to the start of the next. The layer spends its capacity
    on an order that means nothing, gradients must cross hundreds of steps, and such
    models often train well and validate poorly.

    ## Example
    ```python
    x = keras.Input((32, 32, 3))
    y = layers.Conv2D(8, 3)(x)
    y = layers.MaxPooling2D(2)(y)             # (15, 15, 8)
    y = layers.Reshape((225, 8))(y)           # 225 "steps" = 15 × 15 pixels
    y = layers.LSTM(16)(y)
    ```

    ## Use instead
    For a single image, summarise the map and classify it:
    ```python
    x = keras.Input((32, 32, 3))
    y = layers.Conv2D(8, 3)(x)
    y = layers.MaxPooling2D(2)(y)
    y = layers.GlobalAveragePooling2D()(y)    # or Flatten()
    y = layers.Dense(64, activation="relu")(y)
    ```
    If the data really is a sequence of frames, give the model a time axis and run the
    CNN per frame with `TimeDistributed(...)` before the LSTM. If one spatial axis is a
    real sequence (text lines, spectrogram time), pool the other one away or fold it
    into the features with `Permute` + `Reshape`, so that only that axis becomes time.
    """

    code = "CL001"
    name = "spatial-sequence"
    severity = Severity.WARNING
    remedies = ("gap_dense_head", "flatten_dense_head", "timedistributed_cnn")

    def check(self, graph, options):
        for node, time in self.time_axes(graph):
            if time.role == "scrambled":
                continue  # CL007 says it better
            spatial = spatial_sources(time)
            if len(spatial) < 2:
                continue
            steps = "?" if time.size is None else time.size
            grid = "×".join("?" if s.size is None else str(s.size) for s in spatial)
            names = "×".join(s.label for s in spatial)
            owner = ", ".join(sorted({f"`{shown(graph, s.node)}`" for s in spatial}))
            message = (f"{layer_title(node, graph)} runs over {steps} steps made of the {grid} pixels "
                       f"({names}) of {owner}'s feature map, so its time axis is a scan over "
                       f"image positions.")
            yield self.finding(
                node, message,
                related=built_by(graph, node, time),
                evidence={"input_shape": shape_text(step_input(graph, node)),
                          "time_axis": axis_json(time),
                          "provenance": f"time axis of {steps} steps = {time.describe()}"},
                remedy=("Summarise the map instead of scanning it: replace the {reshape} and "
                        "{op} with {gap} (or {flatten}) then {dense}; if the input is a "
                        "sequence of frames, give the model a time axis and run "
                        "{per_frame} before the {op}.").format(op=node.op, **terms(graph))
            )
