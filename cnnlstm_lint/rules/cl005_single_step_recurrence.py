from __future__ import annotations

from ..findings import Severity
from .base import Rule, terms, axis_json, built_by, is_pytorch, layer_title, shape_text, step_input


class SingleStepRecurrence(Rule):
    """
    ## What it does
    Flags a recurrent layer whose time axis has a static length of 1, as made by
    `Reshape((1, C))` after global pooling or after a `Dense` layer.

    ## Why is this bad?
    With one step there is no recurrence: the layer is a Dense layer with extra gates
    and parameters, and the "temporal modelling" the architecture suggests never
    happens. It is a frequent suggestion for silencing the rank error an LSTM raises on
    2-D input.

    ## Example
    ```python
    x = keras.Input((32, 32, 3))
    y = layers.Conv2D(8, 3)(x)
    y = layers.GlobalAveragePooling2D()(y)    # (8,)
    y = layers.Reshape((1, 8))(y)             # one step
    y = layers.LSTM(8)(y)
    ```

    ## Use instead
    ```python
    x = keras.Input((32, 32, 3))
    y = layers.Conv2D(8, 3)(x)
    y = layers.GlobalAveragePooling2D()(y)
    y = layers.Dense(64, activation="relu")(y)
    ```
    or, if the data has frames, `TimeDistributed(cnn)` over a real time axis.
    """

    code = "CL005"
    name = "single-step-recurrence"
    severity = Severity.WARNING
    remedies = ("gap_dense_head", "flatten_dense_head", "timedistributed_cnn")

    def check(self, graph, options):
        for node, time in self.time_axes(graph, need_roles=False):
            if time.size != 1:
                continue
            axes = step_input(graph, node)
            related = built_by(graph, node, *axes[1:])
            maker = f", made by `{related[0]}`" if related else ""
            yield self.finding(
                node,
                f"{layer_title(node, graph)} runs over a single time step, so it is "
                f"{'an nn.Linear' if is_pytorch(graph) else 'a Dense layer'} with extra gates: "
                "nothing recurs.",
                related=related,
                evidence={"input_shape": shape_text(axes), "time_axis": axis_json(time),
                          "provenance": f"input {shape_text(axes)}: time axis of 1 step{maker}"},
                remedy=("Replace the single-step {reshape} and {op} with {dense} on the pooled "
                        "features ({gap} or {flatten} then {dense}), or feed a real sequence: "
                        "{per_frame}.").format(op=node.op, **terms(graph))
            )
