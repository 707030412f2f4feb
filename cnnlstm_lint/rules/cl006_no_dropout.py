from __future__ import annotations

from ..findings import Severity
from .base import Rule, is_pytorch, layer_title, shown


class NoDropout(Rule):
    """
    ## What it does
    Flags a model that has a recurrent layer but no dropout of any kind — no
    `Dropout`/`SpatialDropout*`/`GaussianDropout`/`GaussianNoise` layer, no `dropout`
    or `recurrent_dropout` on a recurrent layer — and no weight regularizer on any
    layer.

    ## Why is this bad?
    CNN + recurrent models have many parameters and are usually trained on small
    labelled sets; without any regularization they memorise the training set and the
    validation score falls behind early. It is the most common cause of a model that
    "trains fine but validates badly" once the architecture itself is right.

    Not judged on inference-only exports: ONNX files whose exporter stripped dropout
    (PyTorch in eval mode, tf2onnx) are skipped unless the graph carries training-mode
    `Dropout` nodes, and the text output says that the rule was skipped.

    ## Example
    ```python
    clip = keras.Input((8, 32, 32, 3))
    frame_cnn = keras.Sequential([layers.Conv2D(8, 3), layers.GlobalAveragePooling2D()])
    y = layers.TimeDistributed(frame_cnn)(clip)
    y = layers.LSTM(16)(y)
    y = layers.Dense(5, activation="softmax")(y)
    ```

    ## Use instead
    ```python
    clip = keras.Input((8, 32, 32, 3))
    frame_cnn = keras.Sequential([layers.Conv2D(8, 3), layers.GlobalAveragePooling2D()])
    y = layers.TimeDistributed(frame_cnn)(clip)
    y = layers.LSTM(16, dropout=0.2, recurrent_dropout=0.2)(y)
    y = layers.Dropout(0.3)(y)
    y = layers.Dense(5, activation="softmax")(y)
    ```
    """

    code = "CL006"
    name = "no-dropout"
    severity = Severity.WARNING
    remedies = ("dropout_before_head", "recurrent_dropout")

    def check(self, graph, options):
        recurrent = graph.recurrent_nodes()
        if not recurrent:
            return
        if graph.meta.get("inference_only"):
            self.skip(graph, recurrent[0], "an inference-only export, where dropout is stripped",
                      whole_model=True)
            return
        nodes = list(graph.nodes())
        if any(n.kind == "dropout" and (n.attrs.get("rate") or 0) > 0 for n in nodes):
            return
        if any((n.attrs.get("dropout") or 0) > 0 or (n.attrs.get("recurrent_dropout") or 0) > 0
               for n in recurrent):
            return
        if any(n.attrs.get("regularized") for n in nodes):
            return
        first = recurrent[0]
        others = [n.id for n in recurrent[1:]]
        yield self.finding(
            first,
            f"The model has {layer_title(first, graph)} but no dropout of any kind and no weight "
            "regularizer on any layer.",
            related=others,
            evidence={"recurrent_layers": [n.id for n in recurrent], "dropout_layers": [],
                      "regularized_layers": [],
                      "provenance": f"{len(nodes)} layers: no Dropout-family layer, no "
                                    "dropout/recurrent_dropout, no kernel/bias/activity "
                                    "regularizer"},
            remedy=(f"Add nn.Dropout(0.3) between `{shown(graph, first)}` and the head, and/or "
                    f"dropout=0.2 on the nn.{first.attrs.get('cell', first.op)} (it drops "
                    "between stacked layers: num_layers > 1)." if is_pytorch(graph) else
                    f"Add Dropout(0.3) between `{first.id}` and the head, and/or "
                    f"dropout=0.2, recurrent_dropout=0.2 on the {first.op}.")
        )
