from __future__ import annotations

from ..findings import Severity
from .base import Rule, layer_title, time_axis

# ONNX ops a Keras mask is computed with (Embedding's `ids != 0`, Masking's
# `x != mask_value`: Equal then Not) — a tf2onnx model that had a mask shows them.
_MASK_OPS = {"Equal", "Not"}

def _maker(node) -> str:
    if node.kind == "embedding":
        return f"Embedding(mask_zero=True) `{node.id}`"
    value = node.attrs.get("mask_value")
    shown = "" if value in (None, 0, 0.0) else f"mask_value={value}"
    return f"Masking({shown}) `{node.id}`"


class MaskLost(Rule):
    """
    ## What it does
    Follows the mask that `Embedding(mask_zero=True)` or `Masking` makes and flags a
    recurrent layer that it no longer reaches because a layer on the way does not carry
    masks: `Conv1D`/`Conv2D` (and separable, depthwise, transposed convs), pooling,
    `Flatten`, `Reshape`, `Permute`, `UpSampling`/`ZeroPadding`/`Cropping`,
    `RepeatVector`. Layers that carry a mask on (Dense, Dropout and its kin, Activation,
    normalization, anything under `TimeDistributed`, a recurrent layer returning
    sequences) and merges (`Concatenate`) keep it. A `Masking` placed after the CNN,
    right before the recurrent layer, makes a new mask there, and is fine.

    Keras files only. ONNX exports carry no masks (an exporter either folds the mask
    into the graph or drops it), so on a tf2onnx conversion whose graph shows a mask
    being computed or an embedding lookup the rule says it is not judged; PyTorch has
    no layer masks at all.

    ## Why is this bad?
    The mask is how the recurrent layer knows which steps are padding: with it, padded
    steps are skipped and the state of the last real step is the output. Without it,
    the LSTM reads the zeros (or the conv's response to them) as data, and with
    pre-padding or post-padding its final state is computed from tens of meaningless
    steps; accuracy drops, most on short sequences, and nothing warns at training time
    except one line in the log (Keras 3: "this layer does not support masking and will
    therefore destroy the mask information").

    ## Example
    ```python
    tokens = keras.Input((200,), dtype="int32")
    y = layers.Embedding(20000, 64, mask_zero=True)(tokens)
    y = layers.Conv1D(64, 5, activation="relu")(y)     # the mask stops here
    y = layers.LSTM(32, dropout=0.2)(y)                # runs over the padding
    y = layers.Dense(1, activation="sigmoid")(y)
    ```

    ## Use instead
    ```python
    tokens = keras.Input((200,), dtype="int32")
    y = layers.Embedding(20000, 64, mask_zero=True)(tokens)
    y = layers.Conv1D(64, 5, activation="relu", padding="same")(y)
    mask = keras.ops.not_equal(tokens, 0)               # the same steps, so the same mask
    y = layers.LSTM(32, dropout=0.2)(y, mask=mask)
    y = layers.Dense(1, activation="sigmoid")(y)
    ```
    """

    code = "CL012"
    name = "mask-lost"
    severity = Severity.WARNING
    remedies = ("explicit_mask",)
    static_remedies = ("explicit_mask",)

    def check(self, graph, options):
        recurrent = graph.recurrent_nodes()
        if not recurrent:
            return
        if graph.framework != "keras":
            if graph.meta.get("source_framework") == "keras" and self._had_mask(graph, recurrent):
                self.skip(graph, recurrent[0], "an ONNX export carries no Keras masks",
                          whole_model=True)
            return
        state: dict[str, tuple | None] = {}  # node -> its output's mask state
        for node in graph.nodes():
            ins = [state.get(u) for u, _, _ in graph.input_edges(node.id)]
            behaviour = node.attrs.get("mask")
            if node.kind == "input":
                state[node.id] = None
            elif behaviour == "makes":
                state[node.id] = ("mask", node.id)
            elif behaviour == "consumes":
                first = ins[0] if ins else None
                if node.is_recurrent and first and first[0] == "lost":
                    finding = self._judge(graph, node, first)
                    if finding is not None:
                        yield finding
                        state[node.id] = None  # one finding: the first recurrent layer
                        continue
                keeps = node.is_recurrent and node.attrs.get("return_sequences")
                state[node.id] = first if keeps else None
            elif behaviour == "carries":
                state[node.id] = ins[0] if ins else None
            elif behaviour == "drops":
                first = ins[0] if ins else None
                state[node.id] = ("lost", first[1], node.id) if first and first[0] == "mask" else first
            elif behaviour == "merges":
                state[node.id] = self._merge(node, ins)
            else:  # not known what it does with a mask
                state[node.id] = ("unknown",) if any(ins) else None

    @staticmethod
    def _merge(node, ins: list) -> tuple | None:
        masked = [s for s in ins if s and s[0] == "mask"]
        if masked and (node.kind == "concat" or len(masked) == len(ins)):
            return masked[0]  # Concatenate fills an unmasked input's mask with ones
        if masked or any(s and s[0] == "unknown" for s in ins):
            return ("unknown",)  # Add & co. of masked and unmasked: differs by version
        return next((s for s in ins if s), None)

    def _judge(self, graph, node, lost):
        _, source_id, dropper_id = lost
        if graph.input_edges(node.id, aux=True) != graph.input_edges(node.id):
            self.skip(graph, node, "it is called with extra tensors (a mask or states may be given)")
            return None
        time = time_axis(graph, node)
        if time is None or time.role != "time":
            self.skip(graph, node, f"its steps are no longer the steps `{source_id}` masked")
            return None
        source, dropper = graph.node(source_id), graph.node(dropper_id)
        path = [n for n in graph.between({source_id}, node.id) if n not in (source_id, node.id)]
        how = ("keras.ops.not_equal(ids, 0) on the token ids" if source.kind == "embedding" else
               "keras.ops.any(keras.ops.not_equal(x, mask_value), axis=-1) on its input")
        shortened = any(graph.node(n).kind == "pool" or
                        any(s != 1 for s in graph.node(n).attrs.get("strides") or [1])
                        for n in path if graph.node(n).kind in ("conv", "pool"))
        cut = " and subsampled as the steps were (`mask[:, ::2]` after a pooling of 2)" \
            if shortened else ""
        message = (f"The mask that {_maker(source)} makes is dropped by {dropper.op} "
                   f"`{dropper.id}`, which does not carry masks, so {layer_title(node, graph)} runs "
                   "over the padded steps as if they were data.")
        remedy = (f"Give `{node.id}` the mask itself: `{node.id}(x, mask=mask)` with mask = "
                  f"{how}{cut}; or move `{dropper.id}` after `{node.id}`. A Masking() right "
                  f"before `{node.id}` works only if the padded steps are still exactly the "
                  "mask value there, which a Conv with a bias does not keep.")
        return self.finding(
            node, message, related=[dropper_id, source_id],
            evidence={"mask_source": source_id, "dropped_by": dropper_id,
                      "path": path,
                      "provenance": f"mask of {source_id} -> lost at {dropper_id} ({dropper.op}) "
                                    f"-> {node.id}"},
            remedy=remedy)

    @staticmethod
    def _had_mask(graph, recurrent) -> bool:
        """Whether a tf2onnx graph shows an embedding lookup or a mask computation
        upstream of a recurrent layer (where a Keras model would have had a mask)."""
        for rec in recurrent:
            for node_id in graph.ancestors(rec.id):
                node = graph.node(node_id)
                if node.kind == "embedding" or node.op in _MASK_OPS:
                    return True
        return False
