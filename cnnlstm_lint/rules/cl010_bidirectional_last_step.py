from __future__ import annotations

from ..findings import Severity
from .base import Rule, axis_json, backward_directions, describe, layer_title, shape_text, shown

# ops a selected step passes through unchanged on its way to the layer that reads it
_PASS = {"identity", "squeeze", "unsqueeze", "dropout", "norm", "activation"}
_MAX_WALK = 64  # consumers followed from one selection


class BidirectionalLastStep(Rule):
    """
    ## What it does
    Flags a *bidirectional* recurrent layer whose full-sequence output has one time step
    (the last, or the first) taken from it with both directions' features still in the
    selected vector: PyTorch `out[:, -1, :]` after
    `nn.LSTM(bidirectional=True, batch_first=True)` (`out[-1]` when time-first), Keras
    `x[:, -1]` after `Bidirectional(LSTM(..., return_sequences=True))`.

    ## Why is this bad?
    The backward direction reads the sequence from the end: at the last step it has
    seen one step, and at the first step the forward direction has. Half of the vector
    the head reads is a single step's worth of context, so the model gets little out of
    its second direction and trains like a unidirectional one with extra parameters.
    The right summary joins the forward half of the last step with the backward half of
    the first, which is exactly what the final states hold.

    ## Example
    ```python
    # PyTorch
    lstm = nn.LSTM(64, 128, batch_first=True, bidirectional=True)
    out, _ = lstm(x)                   # (N, T, 256): forward | backward
    y = head(out[:, -1, :])            # the backward half has seen one step
    ```
    ```python
    x = keras.Input((20, 64))
    y = layers.Bidirectional(layers.LSTM(128, return_sequences=True))(x)
    y = layers.Dense(10)(y[:, -1])
    ```

    ## Use instead
    ```python
    # PyTorch
    out, (h_n, _) = lstm(x)
    y = head(torch.cat([out[:, -1, :128], out[:, 0, 128:]], 1))  # or the two h_n
    y = head(torch.cat([h_n[-2], h_n[-1]], 1))
    y = head(out.mean(1))                                         # or pool over time
    ```
    ```python
    x = keras.Input((20, 64))
    y = layers.Bidirectional(layers.LSTM(128))(x)   # return_sequences=False
    y = layers.Dense(10)(y)
    ```
    """

    code = "CL010"
    name = "bidirectional-last-step"
    severity = Severity.WARNING
    remedies = ("bidirectional_final_states", "pool_over_time")

    def check(self, graph, options):
        by_layer: dict[str, list[tuple]] = {}
        # layers the exporter split in two (tf2onnx: a Loop per direction of a GRU)
        split = {forward: backward for backward, forward in backward_directions(graph).items()}
        for node in graph.nodes():
            if node.kind not in ("select", "slice"):
                continue
            found = _bad_selection(graph, node, split)
            if found is not None:
                by_layer.setdefault(found[0].id, []).append((node, *found[1:]))
        for rec_id, selections in by_layer.items():
            rec = graph.node(rec_id)
            if {s[1] for s in selections} == {"first", "last"}:
                # both ends, whole: the right halves are among them (wasteful, not wrong)
                self.skip(graph, rec, "both its first and its last step are taken whole")
                continue
            selection, which, time, features, x = selections[0]
            yield self._finding(graph, rec, selection, which, time, features, x,
                                [s[0].id for s in selections])

    def _finding(self, graph, rec, selection, which, time, features, x, selected):
        other = "backward" if which == "last" else "forward"
        seen = "the last" if which == "last" else "the first"
        keras = graph.meta.get("source_framework", "keras") == "keras"
        units = rec.attrs.get("units")
        h = units if units else "H"
        time_index = x.index(time)
        merge = rec.attrs.get("merge_mode", "concat")
        if keras:
            remedy = (f"Use `{_keras_layer(rec)}` with return_sequences=False (Bidirectional then joins "
                      "each direction's final output: the forward one after the last step, "
                      "the backward one after the first), or pool over time with "
                      "GlobalAveragePooling1D()")
            if merge == "concat":
                remedy += (f"; to keep the sequence too, join the halves: Concatenate()("
                           f"[x[:, -1, :{h}], x[:, 0, {h}:]])")
            remedy += "."
        else:
            index = (lambda step: f"out[:, {step}, ") if time_index == 1 else \
                (lambda step: f"out[{step}, :, ")
            dim = 1 if time_index == 1 else 0
            remedy = (f"Join the forward half of the last step with the backward half of the "
                      f"first: torch.cat([{index(-1)}:{h}], {index(0)}{h}:]], 1); or use both "
                      "directions of h_n (torch.cat([h_n[-2], h_n[-1]], 1)); or pool over "
                      f"time (out.mean({dim})).")
        evidence = {
            "input_shape": shape_text(x), "selection": selection.id, "step": which,
            "time_axis": axis_json(time), "features": axis_json(features),
            "merge_mode": merge if keras else "concat",
            "provenance": f"step {which} of the time axis {time.size} = {time.describe()}; "
                          f"features {features.size} = {features.describe()}, both directions",
        }
        return self.finding(
            rec,
            f"`{shown(graph, selection)}` takes the {which} step of {layer_title(rec, graph)}'s full "
            f"sequence (time axis {time.size}, {describe(graph, time)}) with both directions' "
            f"{features.size} features, so its {other} half has seen only {seen} step.",
            related=selected, evidence=evidence, remedy=remedy,
        )


def _keras_layer(rec) -> str:
    """The Keras layer a (tf2onnx) node came from: a split layer's forward direction
    (`.../bigru_1/forward_gru_1`) names its Bidirectional (`.../bigru_1`)."""
    layer = rec.attrs.get("layer") or rec.id
    head, _, last = layer.rpartition("/")
    return head if head and last.startswith("forward_") else layer


# -- what a selection takes ------------------------------------------------------------


def _bad_selection(graph, node, split: dict[str, str]):
    """(recurrent node, 'first'/'last', time axis, feature axis, input axes) when `node`
    takes one end step of a bidirectional layer's full sequence and that step, with both
    directions' features, reaches a layer whole."""
    ins = graph.inputs_of(node.id)
    if not ins or not ins[0].axes:
        return None
    x = ins[0].axes
    picked = _picked_step(node, x)
    if picked is None:
        return None
    k, which = picked
    time = x[k]
    if time.role != "time" or len(time.sources) != 1:
        return None
    rec_id = time.sources[0].node
    rec = graph.node(rec_id) if rec_id in graph else None
    if rec is None or not rec.is_recurrent or rec.attrs.get("merge_mode", "concat") is None:
        return None
    backward = split.get(rec.id)  # the other half of a split layer
    if not rec.attrs.get("bidirectional") and backward is None:
        return None
    found = _directions_axis(graph, rec, x, skip=k, backward=backward)
    if found is None:
        return None
    d, width = found
    if node.kind == "slice" and _halves(node, x, d, width):
        return None  # this slice takes one direction's half as well
    if _halves_downstream(graph, node, x[d], width):
        return None
    return rec, which, time, x[d], x


def _picked_step(node, x):
    """(axis, 'first'/'last') when `node` takes one step at an end of an axis."""
    rank = len(x)
    if node.kind == "select":
        index = node.attrs.get("index")
        if index is None and node.attrs.get("count") == 1 and node.attrs.get("indices"):
            index = node.attrs["indices"][0]
        if not isinstance(index, int) or isinstance(index, bool):
            return None
        try:
            k = int(node.attrs.get("axis", 0)) % rank
        except (TypeError, ValueError, ZeroDivisionError):
            return None
        return (k, _end(index, x[k].size)) if _end(index, x[k].size) else None
    for entry in node.attrs.get("slices") or ():
        try:
            axis, start, end, step = entry
            k = int(axis) % rank
        except (TypeError, ValueError, ZeroDivisionError):
            continue
        n = x[k].size
        step = 1 if step is None else step
        if step != 1:
            continue
        if n is not None:
            r = range(n)[start:end:step] if None not in (start, end) else \
                range(n)[slice(start, end, step)]
            if len(r) == 1 and _end(r[0], n):
                return k, _end(r[0], n)
        elif start == -1 and (end is None or end >= 2 ** 31 - 1):
            return k, "last"
        elif start in (0, None) and end == 1:
            return k, "first"
    return None


def _end(index: int, n: int | None) -> str | None:
    if index == -1 or (n is not None and n > 1 and index == n - 1):
        return "last"
    if index == 0 or (n is not None and n > 1 and index == -n):
        return "first"
    return None


def _directions_axis(graph, rec, x, skip: int, backward: str | None = None):
    """(axis index, width) of the axis of `x` that holds both directions' features
    (`backward`: the other half of a layer the exporter split in two)."""
    for i, axis in enumerate(x):
        if i == skip or axis.size is None:
            continue
        for src, size in axis.parts:
            if src.node == rec.id:
                if src.label == "D" and size == 2:  # ONNX: the direction axis, whole
                    return i, axis.size
                if src.label == "F" and not rec.attrs.get("onnx_outputs") and size == src.size:
                    return i, axis.size  # Keras: the merged features, whole
            elif src.node in graph and size == src.size and (
                    _joins_directions(graph, src.node, rec)
                    or (backward and _joins_split_directions(graph, src.node, rec.id, backward))):
                return i, axis.size
    return None


def _joins_split_directions(graph, concat_id, forward: str, backward: str) -> bool:
    """Whether a Concat joins the outputs of a split layer's two directions (tf2onnx puts
    the backward Loop's steps back in order with a ReverseSequence first)."""
    concat = graph.node(concat_id)
    if concat.kind != "concat":
        return False
    reached = [_up_through(graph, p, ("squeeze", "identity", "transpose"))[-1].id
               for p in graph.producers(concat.id)]
    return sorted(reached) == sorted([forward, backward])


def _up_through(graph, node_id: str, kinds, limit: int = 8) -> list:
    """`node_id` and its producers up through single-input nodes of `kinds`: the chain,
    ending at the first node of another kind (or after `limit` steps)."""
    chain = [graph.node(node_id)]
    for _ in range(limit):
        node = chain[-1]
        ups = graph.producers(node.id)
        if node.kind not in kinds or len(ups) != 1:
            break
        chain.append(graph.node(ups[0]))
    return chain


def _joins_directions(graph, concat_id, rec) -> bool:
    """Whether a Concat joins both directions of `rec` (tf2onnx slices ONNX LSTM's Y
    (T, 2, N, H) into its two directions, squeezes them and concatenates the features)."""
    concat = graph.node(concat_id)
    if concat.kind != "concat":
        return False
    covered = []
    for producer in graph.producers(concat.id):
        chain = _up_through(graph, producer, ("slice", "squeeze", "identity", "transpose"))
        piece = next((n for n in chain if n.kind == "slice"), None)
        if chain[-1].id != rec.id or piece is None:
            return False
        slices = piece.attrs.get("slices") or ()
        if len(slices) != 1 or slices[0][0] != 1 or slices[0][3] != 1:
            return False
        covered.append((slices[0][1], slices[0][2]))
    return covered == [(0, 1), (1, 2)]


def _halves(node, x, d, width) -> bool:
    """Whether slice `node` takes one direction's half along axis `d` of `x`."""
    for entry in node.attrs.get("slices") or ():
        try:
            axis, start, end, step = entry
            if int(axis) % len(x) != d:
                continue
            r = range(width)[slice(start, end, step)]
        except (TypeError, ValueError, ZeroDivisionError):
            return False
        return len(r) > 0 and (max(r) < width / 2 or min(r) >= width / 2)
    return False


def _halves_downstream(graph, node, directions, width) -> bool:
    """Whether every use of `node`'s output takes one direction's half of `directions`
    (a Slice of it, or a Split in two) before any other layer reads it."""
    queue, seen = [node.id], set()
    used = False
    while queue:
        current = queue.pop()
        if current in seen:
            continue
        seen.add(current)
        if len(seen) > _MAX_WALK:
            return False
        consumers = graph.consumers(current)
        if not consumers or current in {n for n, _ in graph.outputs}:
            return False  # the whole step is a model output
        for dst, _, _ in consumers:
            consumer = graph.node(dst)
            ins = graph.inputs_of(dst)
            axes = ins[0].axes if ins else None
            if not axes or directions not in axes:
                return False
            d = axes.index(directions)
            used = True
            if consumer.kind == "slice":
                if _halves(consumer, axes, d, width):
                    continue
                queue.append(dst)
            elif consumer.kind == "split":
                sizes = consumer.attrs.get("sizes")
                if int(consumer.attrs.get("axis", 0)) % len(axes) == d and (
                        (sizes and len(sizes) == 2 and sizes[0] == sizes[1])
                        or (not sizes and consumer.attrs.get("count") == 2)):
                    continue
                return False
            elif consumer.kind in _PASS and not consumer.attrs.get("axis"):
                queue.append(dst)
            else:
                return False
    return used
