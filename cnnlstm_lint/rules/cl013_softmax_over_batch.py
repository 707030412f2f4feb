from __future__ import annotations

from ..findings import Severity
from .base import Rule, axis_json, describe, has_unknown, shape_text, shown, step_input

_SOFTMAX = {"softmax", "log_softmax"}


class SoftmaxOverBatch(Rule):
    """
    ## What it does
    Flags a Softmax or LogSoftmax whose axis is the batch axis: PyTorch
    `F.softmax(logits, dim=0)` on `(batch, classes)` logits, Keras `Softmax(axis=0)` or
    `keras.ops.softmax(x, axis=0)`, an ONNX `Softmax` with `axis=0` (before opset 13,
    any axis up to the batch: the input is coerced to 2-D from that axis on). It fires
    only where the axis is known to be the batch, never on a guess.

    ## Why is this bad?
    The probabilities are normalised across the samples of the batch instead of across
    the classes: each sample's prediction depends on which other samples share its
    batch, a batch of one always predicts probability 1, and training and inference
    (different batch sizes) disagree. The loss still goes down, so the mistake is easy
    to miss.

    ## Example
    ```python
    # PyTorch
    logits = self.head(out[:, -1])         # (N, classes)
    return F.softmax(logits, dim=0)        # normalised over the batch
    ```
    ```python
    x = keras.Input((20, 64))
    y = layers.LSTM(32)(x)
    y = layers.Dense(10)(y)
    y = layers.Softmax(axis=0)(y)
    ```

    ## Use instead
    ```python
    # PyTorch
    return F.softmax(logits, dim=-1)       # over the classes
    ```
    ```python
    x = keras.Input((20, 64))
    y = layers.LSTM(32)(x)
    y = layers.Dense(10, activation="softmax")(y)   # or Softmax(axis=-1)
    ```
    Softmax over time, for attention weights over the steps, is fine: `dim=1` of
    `(N, T, 1)` scores, or `dim=0` of a time-first `(T, N, 1)` tensor.
    """

    code = "CL013"
    name = "softmax-over-batch"
    severity = Severity.ERROR
    remedies = ("softmax_over_classes",)
    static_remedies = ("softmax_over_classes",)

    def check(self, graph, options):
        for node in graph.nodes():
            if node.kind != "activation" or node.attrs.get("activation") not in _SOFTMAX:
                continue
            axes = step_input(graph, node)
            wanted = node.attrs.get("axis")
            if axes is None or not wanted:
                if axes is None:
                    self.skip(graph, node, "its input shape is unknown")
                continue
            rank = len(axes)
            try:
                over = sorted({int(a) % rank for a in wanted if -rank <= int(a) < rank})
            except (TypeError, ValueError, ZeroDivisionError):
                continue
            if node.attrs.get("axis_to_end") and over:  # ONNX before opset 13: 2-D coercion
                over = list(range(over[0], rank))
            batch = [i for i in over if axes[i].role == "batch" and not has_unknown(axes[i])]
            if not batch:
                continue
            yield self._finding(graph, node, axes, batch[0], over)

    def _finding(self, graph, node, axes, index, over):
        axis = axes[index]
        log = node.attrs.get("activation") == "log_softmax"
        keras = graph.meta.get("source_framework", "keras") == "keras"
        time = next((i for i, a in enumerate(axes) if a.role == "time"), None)
        title = "LogSoftmax" if log else "Softmax"
        if keras:
            if node.op.startswith(("keras.ops.", "tf.")):  # an op layer: the same function
                fix = f"{node.op}(x, axis=-1)"
            else:
                fix = "Softmax(axis=-1)" if node.op != "Activation" else "Activation on the classes"
            remedy = f"Normalise over the classes: {fix} (the last axis)"
            if time is not None:
                remedy += f", or axis={time} (the time axis) for attention weights over the steps"
        else:
            fn = "F.log_softmax" if log else "F.softmax"
            remedy = f"Normalise over the classes: {fn}(x, dim=-1) (the last axis)"
            if time is not None:
                remedy += f", or dim={time} (the time axis) for attention weights over the steps"
        remedy += "."
        where = f"axis {index}" if over == [index] else f"axes {over[0]}..{over[-1]} (2-D coercion)"
        producers = graph.producers(node.id)
        return self.finding(
            node,
            f"{title} `{shown(graph, node)}` normalises over {where}, the batch axis "
            f"({describe(graph, axis)}): "
            "each sample's probabilities then depend on the rest of the batch.",
            related=producers[:1],
            evidence={"input_shape": shape_text(axes), "axis": index, "normalised_axes": over,
                      "batch_axis": axis_json(axis),
                      "provenance": f"axis {index} of {shape_text(axes)} = {axis.describe()}"},
            remedy=remedy,
        )
