from __future__ import annotations

from ..findings import Severity
from .base import Rule, backward_directions, is_pytorch, layer_title, shown

# Gated cells (LSTM, GRU, ConvLSTM) whose cell activation the rule judges; SimpleRNN is
# left alone (a ReLU SimpleRNN, IRNN, is a deliberate design).
_GATED = {"LSTM", "GRU"}
# Activations bounded like tanh is: the cell cannot blow up, but it is still not tanh.
_BOUNDED = {"sigmoid", "hard_sigmoid", "softsign", "hard_tanh", "relu6", "hard_silu",
            "hard_swish", "tanhshrink"}
# ONNX ops a gated Loop body may apply where an LSTM/GRU cell applies Tanh
_LOOP_ACTIVATIONS = ("Relu", "LeakyRelu", "Elu", "Selu", "Celu", "PRelu", "Softplus", "Gelu",
                     "Mish", "HardSwish", "Exp", "Softsign")
_LOOP_GATES = {"Sigmoid", "HardSigmoid"}


def _name(value: str) -> str:
    return str(value)[:40]


def non_tanh(node) -> list[str]:
    """The cell activations of a gated recurrent node that are not tanh (empty: tanh, or
    not a gated cell, or not known)."""
    a = node.attrs
    if "onnx_outputs" in a:
        if a.get("loop"):
            ops = set(a.get("body_ops") or ())
            # a gated cell: Sigmoid/HardSigmoid gates, or tf2onnx's hard_sigmoid
            # (Clip of a scaled sum) multiplying the state
            gated = bool(ops & _LOOP_GATES) or {"Clip", "Mul"} <= ops
            if not gated or "Tanh" in ops:
                return []
            found = [op for op in _LOOP_ACTIVATIONS if op in ops]
            return found[:1]
        if a.get("cell") not in _GATED:
            return []
        acts = a.get("activations")
        if not acts:
            return []  # the spec's defaults: tanh
        per = 3 if a.get("cell") == "LSTM" else 2
        out = []
        for start in range(0, len(acts), per):
            for act in acts[start + 1:start + per]:  # g and h: f is the gates'
                if act.lower() != "tanh" and _name(act) not in out:
                    out.append(_name(act))
        return out
    if node.kind == "conv_recurrent":
        acts = [a.get("activation", "tanh")]
    elif a.get("cells"):  # RNN(StackedRNNCells): each gated cell on its own
        acts = [act for cell, act in zip(a["cells"], a.get("cell_activations") or [])
                if cell in _GATED]
    elif a.get("cell") in _GATED:
        acts = [a.get("activation", "tanh")]
    else:
        return []
    out = []
    for act in acts:
        if str(act).lower() != "tanh" and _name(act) not in out:
            out.append(_name(act))
    return out


class UnboundedRecurrentActivation(Rule):
    """
    ## What it does
    Flags an LSTM, GRU or ConvLSTM whose cell activation — the `activation` that
    squashes the candidate state and the output, tanh by default — is something else,
    most often `activation="relu"`. In ONNX it reads a fused `LSTM`/`GRU` op's
    `activations` attribute (the cell and hidden functions `g` and `h` of each
    direction; `f`, the gates', is the Keras `recurrent_activation`), and the body of a
    gated `Loop` recurrence (how tf2onnx writes GRU and ConvLSTM2D) that applies a Relu
    where the cell would apply Tanh. A changed `recurrent_activation` alone is fine,
    and so is `SimpleRNN(activation="relu")` (IRNN is a deliberate design). PyTorch's
    `nn.LSTM`/`nn.GRU` have no activation option, so PyTorch exports are always clean.

    ## Why is this bad?
    The cell state of an LSTM is a running sum; tanh keeps what it passes on between −1
    and 1. With ReLU nothing bounds it, so activations and gradients grow step after
    step: the loss explodes or turns NaN after a few epochs, most of all on long
    sequences, and the usual cure (lower learning rate, clipping) only delays it. It
    also takes the layer off the fused cuDNN kernel, which needs tanh, so training on a
    GPU is several times slower. `LSTM(50, activation="relu")` comes from a few popular
    time-series tutorials and is copied into many projects that then report exactly
    these NaNs.

    ## Example
    ```python
    x = keras.Input((50, 3))
    y = layers.Conv1D(8, 3, activation="relu")(x)
    y = layers.LSTM(50, activation="relu")(y)
    y = layers.Dense(1)(y)
    ```

    ## Use instead
    ```python
    x = keras.Input((50, 3))
    y = layers.Conv1D(8, 3, activation="relu")(x)   # ReLU belongs in the CNN
    y = layers.LSTM(50)(y)                          # activation="tanh", the default
    y = layers.Dense(1)(y)
    ```
    """

    code = "CL011"
    name = "unbounded-recurrent-activation"
    severity = Severity.WARNING
    remedies = ("tanh_activation",)

    def check(self, graph, options):
        backward = backward_directions(graph)
        for node in graph.recurrent_nodes():
            if node.id in backward or node.attrs.get("frame_copy_of"):
                continue  # one layer, one finding: on its forward direction / first copy
            acts = non_tanh(node)
            if not acts:
                continue
            yield self._finding(graph, node, acts)

    def _finding(self, graph, node, acts):
        title = layer_title(node, graph)
        listed = ", ".join(f"`{a}`" for a in acts)
        loop = node.attrs.get("loop")
        bounded = all(a.lower() in _BOUNDED for a in acts)
        fused = not loop and node.kind != "conv_recurrent"
        if loop:
            what = (f"{title}, a gated recurrence (Sigmoid gates), applies {listed} where an "
                    "LSTM/GRU cell applies Tanh")
        elif "onnx_outputs" in node.attrs:
            what = f"{title} has cell activation {listed} (its `activations` attribute) instead of Tanh"
        else:
            what = f"{title} has activation={listed.replace('`', chr(39))} instead of tanh"
        why = ("a bounded activation, but not the one the cell and its fused kernel are made for"
               if bounded else
               "nothing bounds its cell state, so activations and gradients can grow step "
               "after step (exploding loss, NaN)")
        if fused and not bounded:
            why += ", and it is not the fused cuDNN kernel"
        if is_pytorch(graph):
            remedy = (f"Use nn.{node.attrs.get('cell') or 'LSTM'} for `{shown(graph, node)}` (its "
                      "cell is tanh), or torch.tanh where a custom cell applies this activation; "
                      "keep ReLU in the CNN before it. For a ReLU recurrence on purpose, use "
                      "nn.RNN(..., nonlinearity=\"relu\") with an identity weight_hh (IRNN) and "
                      "gradient clipping (torch.nn.utils.clip_grad_norm_).")
        else:
            layer = node.attrs.get("layer") or node.id
            op = node.op if node.op not in ("Loop", "Scan") else "recurrent layer"
            remedy = (f"Use activation=\"tanh\" (the default) on the {op} `{layer}`; keep ReLU in "
                      "the CNN before it. For a ReLU recurrence on purpose, use SimpleRNN with an "
                      "identity recurrent_initializer (IRNN) and gradient clipping.")
        return self.finding(
            node, f"{what}: {why}.", related=[],
            evidence={"activations": acts, "cell": node.attrs.get("cell"),
                      "recurrent_activation": node.attrs.get("recurrent_activation"),
                      "provenance": f"cell activation {', '.join(acts)}"},
            remedy=remedy)
