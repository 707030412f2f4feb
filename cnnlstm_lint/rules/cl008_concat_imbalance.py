from __future__ import annotations

from ..findings import Severity
from .base import Option, Rule, axis_json, is_pytorch, shown

_NOT_WIDTH = {"time", "spatial", "batch"}


def _joined_axis(node, axes):
    if not axes:
        return None
    try:
        return axes[int(node.attrs.get("axis", -1)) % len(axes)]
    except (TypeError, ValueError):
        return None


class ConcatImbalance(Rule):
    """
    ## What it does
    Flags a `Concatenate` that joins a branch which went through a recurrent layer with
    one that did not, when their widths differ by more than `max-ratio` times — for
    example a flattened CNN map of 16384 values next to a 16-unit LSTM state.

    ## Why is this bad?
    The layer after the concatenation sees a thousand CNN values for every recurrent
    one. Early in training the wide branch dominates the gradient and the recurrent
    branch contributes little; the model behaves like the CNN alone, with the LSTM's
    parameters as dead weight.

    ## Example
    ```python
    image = keras.Input((32, 32, 3))
    sequence = keras.Input((20, 8))
    a = layers.Flatten()(layers.Conv2D(16, 3, padding="same")(image))  # 16384
    b = layers.LSTM(16)(sequence)                                       # 16
    y = layers.Concatenate()([a, b])
    ```

    ## Use instead
    ```python
    image = keras.Input((32, 32, 3))
    sequence = keras.Input((20, 8))
    a = layers.GlobalAveragePooling2D()(layers.Conv2D(16, 3, padding="same")(image))
    # or Dense(64) on the wide branch before concatenating
    b = layers.LSTM(16)(sequence)
    y = layers.Concatenate()([a, b])
    ```
    """

    code = "CL008"
    name = "concat-imbalance"
    severity = Severity.INFO
    remedies = ("pool_wide_branch", "dense_projection")
    options = {"max-ratio": Option(16.0, float, "largest accepted ratio of branch widths")}

    def check(self, graph, options):
        limit = float(options["max-ratio"])
        after_recurrent = None
        for node in graph.nodes():
            if node.kind != "concat":
                continue
            branches = []
            for (src, _, _), tensor in zip(graph.input_edges(node.id), graph.inputs_of(node.id)):
                # a branch's width is its size along the joined axis: ONNX exporters move
                # the feature axis (tf2onnx joins NCW maps on axis 1), so it is not always
                # the last one; a join of steps, positions or samples is not about width
                joined = _joined_axis(node, tensor.axes)
                if joined is None or joined.size is None or joined.role in _NOT_WIDTH:
                    break
                if after_recurrent is None:
                    after_recurrent = graph.upstream_any(lambda n: n.is_recurrent)
                branches.append((src, src in after_recurrent, joined))
            else:
                worst = None
                for a_src, a_rec, a in branches:
                    for b_src, b_rec, b in branches:
                        if a_rec and not b_rec and min(a.size, b.size) > 0:
                            ratio = max(a.size, b.size) / min(a.size, b.size)
                            if ratio > limit and (worst is None or ratio > worst[0]):
                                worst = (ratio, (a_src, a), (b_src, b))
                if worst is None:
                    continue
                ratio, recurrent, other = worst
                (wide_src, wide), (narrow_src, narrow) = sorted(
                    [recurrent, other], key=lambda branch: -branch[1].size)
                def named(src):
                    name = shown(graph, src)
                    return f"recurrent branch `{name}`" if src == recurrent[0] else f"`{name}`"

                yield self.finding(
                    node,
                    f"Concatenate `{shown(graph, node)}` joins {wide.size} values from {named(wide_src)} "
                    f"with {narrow.size} from {named(narrow_src)} ({ratio:.0f}× apart, limit "
                    f"{limit:g}×), so the wider branch drowns the other.",
                    related=[wide_src, narrow_src],
                    evidence={"wide_branch": {"node": wide_src, **axis_json(wide)},
                              "narrow_branch": {"node": narrow_src, **axis_json(narrow)},
                              "recurrent_branch": recurrent[0],
                              "ratio": round(ratio, 2), "max_ratio": limit,
                              "provenance": f"{wide.size} = {wide.describe()}; "
                                            f"{narrow.size} = {narrow.describe()}"},
                    remedy=_remedy(graph, wide_src, wide_src == recurrent[0], narrow.size)
                )


def _remedy(graph, wide_src: str, recurrent: bool, narrow: int) -> str:
    projection = max(narrow * 4, 16)
    if is_pytorch(graph):
        return (f"Bring `{shown(graph, wide_src)}` down before concatenating: "
                + (f"fewer hidden units, or an nn.Linear(..., {projection}) projection after "
                   "it." if recurrent else
                   "nn.AdaptiveAvgPool2d(1) + flatten instead of torch.flatten(x, 1), or an "
                   "nn.Linear(..., 64) projection on that branch."))
    return (f"Bring `{wide_src}` down before concatenating: "
            + ("GlobalAveragePooling2D() instead of Flatten(), or a Dense(64) "
               "projection on that branch." if not recurrent else
               f"fewer units, or a Dense({projection}) projection after it."))
