from __future__ import annotations

from ..axes import Axis
from ..findings import Severity
from .base import Rule, axis_json, built_by, describe, layer_title, shown, step_input


class BatchAsTime(Rule):
    """
    ## What it does
    Flags a recurrent layer whose time axis is an axis known to be the batch: it came
    from a batch-first input through layers that keep axis 0 as the samples (Conv,
    pooling, BatchNorm, Linear/Dense, reshapes that keep axis 0), or a dim the file
    names as the batch. Typically a PyTorch `nn.LSTM`/`nn.GRU` left at
    `batch_first=False` (ONNX `layout=0`, time on axis 0) fed a `(B, T, F)` tensor, or a
    tf.keras 2 `LSTM(time_major=True)` fed the usual `(batch, time, features)`. It also
    flags the mirror image: a time-major layer whose batch axis is the one the input
    names as the sequence (e.g. `['seq']` on axis 1 of a `(B, seq, F)` input).

    An axis whose meaning the file does not state is never taken for the batch: a
    time-first input (`(T, N, F)`, dims named `['seq', 'batch', F]` or `['T', 'N', F]`,
    or declared with `input-roles`) fed to a time-major layer is clean, as are models
    that fold time into the batch for the CNN and unfold it again. The axis 0 of an
    unnamed PyTorch image or clip input counts as the batch only once a Conv or pooling
    reads it whole as its N; a time-first clip folded into the batch before the CNN does
    not, and the rule says so with `--verbose` (name the dims or declare `input-roles`).

    ## Why is this bad?
    The layer steps through the samples of a mini-batch as if they were time steps and
    treats every time step as an independent sample: each "sequence" mixes different
    examples, its length is the batch size, and the state carries information from one
    sample into the next. The model trains, and its predictions depend on which samples
    share a batch; validation accuracy stays low and changes with the batch size.

    ## Example
    ```python
    # PyTorch
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(6, 16, 3, padding=1)
            self.gru = nn.GRU(16, 32)                  # batch_first=False: (T, N, F)

        def forward(self, x):                          # x: (N, 6, T)
            y = self.conv(x).permute(0, 2, 1)          # (N, T, 16)
            out, _ = self.gru(y)                       # steps through the batch
            return out[-1]
    ```

    ## Use instead
    ```python
    # PyTorch
    self.gru = nn.GRU(16, 32, batch_first=True)        # (N, T, F)
    ...
    out, _ = self.gru(y)
    return out[:, -1]
    ```
    or keep the time-major layer and give it `(T, N, F)`: `y.permute(1, 0, 2)` (the same
    as `y.transpose(0, 1)`). In tf.keras 2, leave `time_major=False` (the default) for
    `(batch, time, features)` input, or `tf.transpose(x, [1, 0, 2])` before a
    `time_major=True` layer.
    """

    code = "CL009"
    name = "batch-as-time"
    severity = Severity.ERROR
    # The probe rebuilds models as Keras 3 layers: Keras 3 has no time_major and no layer
    # that moves the batch axis, so neither the mistake nor its remedy can be trained.
    remedies = ("batch_first",)
    static_remedies = ("batch_first",)

    def check(self, graph, options):
        for node in graph.recurrent_nodes():
            axes = step_input(graph, node)
            if axes is None or len(axes) != 3:
                continue  # no (batch, time, features) input: nothing to judge here
            t = node.attrs.get("time_axis", 0 if node.attrs.get("time_major") else 1)
            if t not in (0, 1):
                continue
            time, batch_axis = axes[t], axes[1 - t]
            if time.role == "scrambled" or batch_axis.role == "scrambled":
                continue  # a scramble is CL007's
            batch = [s for s in time.sources if s.role == "batch"]
            steps = _data_time(graph, batch_axis)
            if batch and not all(_said(graph, s) for s in batch):
                self.skip(graph, node, f"its time axis is axis {batch[0].axis} of input "
                          f"`{batch[0].node}`, the batch only by the default for its rank; "
                          "name that dim or declare the input's roles (input-roles)")
                continue
            if batch:
                whole = len(time.sources) == 1 and time.size == batch[0].size
                why = (f"which is the batch axis of `{shown(graph, batch[0].node)}`"
                       + (f" ({time.size} samples)" if whole and time.size else "")
                       + ("" if whole else f" ({describe(graph, time)})"))
            elif steps and not any(s.role == "time" for s in time.sources):
                why = (f"and reads the sequence axis of `{shown(graph, steps[0].node)}` "
                       f"({describe(graph, batch_axis)}) as its batch")
            else:
                continue
            yield self.finding(
                node,
                f"{layer_title(node, graph)} reads axis {t} of its input {_shape(axes)} as time, "
                f"{why}: it steps through the samples of a batch, not through time.",
                related=built_by(graph, node, time, batch_axis),
                evidence={"time_axis": axis_json(time), "batch_axis": axis_json(batch_axis),
                          "provenance": f"time axis = {time.describe()}; "
                                        f"batch axis = {batch_axis.describe()}"},
                remedy=_remedy(graph, node, axes, t),
            )


def _said(graph, src) -> bool:
    """Whether a batch source axis is a fact: made a batch by an op whose spec defines
    axis 0 as N (Conv, pooling), a Keras input's axis 0, a dim the file names as the batch,
    an input role the user declared - or a default (PyTorch rank 4 and 5 inputs are N...)
    that a Conv or pooling then reads whole as its N. A time-first clip folded into the
    batch for the CNN reaches the Conv merged, and so does not confirm the default."""
    node = graph.node(src.node)
    if node.kind != "input" or graph.meta.get("source_framework", "keras") == "keras":
        return True
    if node.attrs.get("batch_named") or node.attrs.get("roles_declared"):
        return True
    for conv in graph.nodes():
        if conv.kind in ("conv", "pool"):
            ins = graph.inputs_of(conv.id)
            if ins and ins[0].axes and ins[0].axes[0].sources == [src]:
                return True
    return False


def _data_time(graph, axis: Axis) -> list:
    """The axis' sources if it is the steps of the data as the file or the user says:
    a model input's axis named as the sequence (['batch', 'seq', F]) or declared time
    with input-roles; else []. (The default roles of an unnamed input say nothing.)"""
    sources = axis.sources
    if len(sources) != 1 or sources[0].role != "time":
        return []
    node = graph.node(sources[0].node)
    said = node.attrs.get("time_named") or node.attrs.get("roles_declared")
    return sources if node.kind == "input" and said else []


def _shape(axes) -> str:
    return "(" + ", ".join(_letter(a) for a in axes) + ")"


def _letter(axis: Axis) -> str:
    roles = {s.role for s in axis.sources}
    if "batch" in roles:
        letter = "N"
    elif len(axis.sources) == 1:
        letter = axis.sources[0].label if axis.sources[0].label not in ("", "?") else "?"
    else:
        letter = "F"
    return letter if axis.size is None else f"{letter} {axis.size}"


def _real_time(axes, t: int) -> int | None:
    """The input axis that should be the steps: a data time axis, else a spatial one
    (CRNN columns), among the axes that are not the batch."""
    others = [i for i in range(3) if not any(s.role == "batch" for s in axes[i].sources)]
    for roles in ({"time"}, {"spatial"}):
        found = [i for i in others if axes[i].sources and {s.role for s in axes[i].sources} <= roles]
        if len(found) == 1:
            return found[0]
    return None


def _remedy(graph, node, axes, t: int) -> str:
    batch = t  # the axis read as time is the samples (or the one beside the named steps)
    steps = _real_time(axes, t)
    if steps is None or steps == batch:
        steps = 1 - t
    features = ({0, 1, 2} - {batch, steps}).pop()
    time_major = (steps, batch, features)
    batch_first = (batch, steps, features)
    framework = graph.meta.get("source_framework", "keras")
    if framework != "keras":
        perm = ", ".join(map(str, time_major))
        first = ("" if batch_first == (0, 1, 2) else
                 f" with x.permute({', '.join(map(str, batch_first))}) before it")
        swap = " (the same as x.transpose(0, 1))" if time_major == (1, 0, 2) else ""
        return (f"Make `{shown(graph, node)}` batch-first: nn.{node.attrs.get('cell', node.op)}(..., "
                f"batch_first=True){first}, so that it reads (batch, time, features); or keep "
                f"it time-major and give it (time, batch, features): x.permute({perm}){swap} "
                "before it.")
    if node.attrs.get("time_major") and not node.attrs.get("onnx_outputs"):
        first = ("" if batch_first == (0, 1, 2) else
                 f" with the input permuted to (batch, time, features), "
                 f"tf.transpose(x, [{', '.join(map(str, batch_first))}])")
        return (f"Leave `{node.id}` batch-major: {node.op}(..., time_major=False) (the "
                f"default){first}; or keep time_major=True and transpose first: "
                f"tf.transpose(x, [{', '.join(map(str, time_major))}]) to (time, batch, features).")
    return (f"Feed `{node.id}` (batch, time, features), the layout Keras recurrent layers "
            "take: do not move the batch axis (no transpose of axis 0) before it.")
