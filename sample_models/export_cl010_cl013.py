"""Build the CL010 (bidirectional-last-step) and CL013 (softmax-over-batch) samples.

    python sample_models/export_cl010_cl013.py [--out DIR] [--only keras|torch|legacy]

Writes sample_models/cl010_cl013/:

* ``k_*.keras`` / ``k_*.h5``: Keras 3 models, saved as is, and ``k_*.onnx``: their
  tf2onnx conversions (opset 17, through a functional wrapper as convert_onnx.py does).
* ``tfk_*.h5``: some of the same models saved by tf.keras 2 (``tf_keras``; ``--only
  legacy``, run in a child process by a full build).
* ``t_*.ts.onnx`` / ``t_*.dynamo.onnx``: PyTorch modules through the TorchScript
  exporter (``dynamo=False``, opset 17) and the dynamo exporter (opset 18, stack traces
  stripped), the batch axis named ``batch`` (time-first inputs ``['seq', 'batch', F]``).

Bad: a step taken from a bidirectional layer's full sequence with both directions'
features (``out[:, -1, :]``, ``out[-1]`` time-first, Keras ``x[:, -1]``), a softmax over
the batch axis (``F.softmax(x, dim=0)``, ``Softmax(axis=0)``, ``keras.ops.softmax(x,
axis=0)``). Clean near-misses: the same selection on a unidirectional LSTM, both
directions' halves joined correctly, both directions of ``h_n``, pooling over time,
``Bidirectional(return_sequences=False)``, softmax over classes, over time as attention
weights, and ``dim=0`` on a time-first tensor. Sizes are tiny; nothing is trained. The
expected findings are in tests/test_cl010_cl013.py.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "cl010_cl013")
sys.path.insert(0, HERE)


# ---------------------------------------------------------------------------------
# Keras 3 (.keras, .h5) and tf2onnx


def keras_models(keras=None) -> dict:
    """name -> builder, with Keras 3 or, given `tf_keras`, with tf.keras 2."""
    if keras is None:
        import keras
    layers = keras.layers

    def front(x):
        y = layers.Conv1D(8, 3, padding="same", activation="relu", name="conv")(x)
        return layers.Dropout(0.2, name="dropout")(y)

    def bilstm(return_sequences=True, name="bilstm"):
        return layers.Bidirectional(layers.LSTM(8, return_sequences=return_sequences),
                                    name=name)

    def k_bilstm_last():
        """x[:, -1] of a Bidirectional(LSTM(return_sequences=True)): CL010."""
        x = keras.Input((20, 6), name="x")
        y = bilstm()(front(x))
        y = y[:, -1]                                     # get_item op layer
        return keras.Model(x, layers.Dense(3, name="head")(y), name="k_bilstm_last")

    def k_bilstm_first():
        """x[:, 0] of the full sequence: the forward half has seen one step: CL010."""
        x = keras.Input((20, 6), name="x")
        y = bilstm()(front(x))[:, 0]
        return keras.Model(x, layers.Dense(3, name="head")(y), name="k_bilstm_first")

    def k_bigru_last():
        """x[:, -1] of a Bidirectional(GRU(return_sequences=True)): CL010. tf2onnx writes
        each direction as a Loop of its own and concatenates their sequences."""
        x = keras.Input((20, 6), name="x")
        y = layers.Bidirectional(layers.GRU(8, return_sequences=True), name="bigru")(front(x))
        return keras.Model(x, layers.Dense(3, name="head")(y[:, -1]), name="k_bigru_last")

    def good_k_bigru_pool():
        """The same split layer, its sequence averaged over time (clean)."""
        x = keras.Input((20, 6), name="x")
        y = layers.Bidirectional(layers.GRU(8, return_sequences=True), name="bigru")(front(x))
        y = layers.GlobalAveragePooling1D(name="pool")(y)
        return keras.Model(x, layers.Dense(3, name="head")(y), name="good_k_bigru_pool")

    def good_k_bilstm_final():
        """Bidirectional(return_sequences=False): Keras joins the right halves (clean)."""
        x = keras.Input((20, 6), name="x")
        y = bilstm(return_sequences=False)(front(x))
        return keras.Model(x, layers.Dense(3, name="head")(y), name="good_k_bilstm_final")

    def good_k_lstm_last():
        """x[:, -1] of a unidirectional LSTM (clean)."""
        x = keras.Input((20, 6), name="x")
        y = layers.LSTM(8, return_sequences=True, name="lstm")(front(x))[:, -1]
        return keras.Model(x, layers.Dense(3, name="head")(y), name="good_k_lstm_last")

    def good_k_bilstm_halves():
        """Forward half of the last step joined with the backward half of the first (clean)."""
        x = keras.Input((20, 6), name="x")
        seq = bilstm()(front(x))
        last, first = seq[:, -1], seq[:, 0]
        y = layers.Concatenate(name="ends")([last[:, :8], first[:, 8:]])
        return keras.Model(x, layers.Dense(3, name="head")(y), name="good_k_bilstm_halves")

    def good_k_bilstm_pool():
        """Mean over time of the full sequence (clean)."""
        x = keras.Input((20, 6), name="x")
        y = layers.GlobalAveragePooling1D(name="pool")(bilstm()(front(x)))
        return keras.Model(x, layers.Dense(3, name="head")(y), name="good_k_bilstm_pool")

    def k_softmax_batch():
        """Softmax(axis=0) on the (batch, classes) head: CL013."""
        x = keras.Input((20, 6), name="x")
        y = layers.LSTM(8, name="lstm")(front(x))
        y = layers.Softmax(axis=0, name="softmax")(layers.Dense(3, name="head")(y))
        return keras.Model(x, y, name="k_softmax_batch")

    def k_ops_softmax_batch():
        """keras.ops.softmax(x, axis=0), an op layer: CL013."""
        x = keras.Input((20, 6), name="x")
        y = layers.LSTM(8, name="lstm")(front(x))
        y = keras.ops.softmax(layers.Dense(3, name="head")(y), axis=0)
        return keras.Model(x, y, name="k_ops_softmax_batch")

    def good_k_softmax_classes():
        """Softmax over the classes (the last axis) (clean)."""
        x = keras.Input((20, 6), name="x")
        y = layers.LSTM(8, name="lstm")(front(x))
        y = layers.Softmax(name="softmax")(layers.Dense(3, name="head")(y))
        return keras.Model(x, y, name="good_k_softmax_classes")

    def good_k_softmax_time():
        """Attention: scores (batch, T, 1), Softmax(axis=1) over the steps (clean)."""
        x = keras.Input((20, 6), name="x")
        seq = layers.LSTM(8, return_sequences=True, name="lstm")(front(x))
        scores = layers.Dense(1, name="score")(seq)
        weights = layers.Softmax(axis=1, name="softmax")(scores)
        y = layers.Multiply(name="weigh")([seq, weights])
        y = layers.GlobalAveragePooling1D(name="pool")(y)
        return keras.Model(x, layers.Dense(3, name="head")(y), name="good_k_softmax_time")

    return {f.__name__: f for f in (
        k_bilstm_last, k_bilstm_first, k_bigru_last, good_k_bigru_pool, good_k_bilstm_final, good_k_lstm_last,
        good_k_bilstm_halves, good_k_bilstm_pool, k_softmax_batch, k_ops_softmax_batch,
        good_k_softmax_classes, good_k_softmax_time)}


# tf.keras 2 has no keras.ops; its `x[:, -1]` is a TFOpLambda (tf.__operators__.getitem)
LEGACY = ("k_bilstm_last", "k_bilstm_first", "good_k_bilstm_final", "good_k_lstm_last",
          "k_softmax_batch", "good_k_softmax_classes", "good_k_softmax_time")


def build_legacy(out: str) -> list[str]:
    """tfk_<name>.h5 for each LEGACY model, saved by tf.keras 2 (run in a child process:
    tf_keras and Keras 3 do not share one)."""
    import tf_keras

    models = keras_models(tf_keras)
    written = []
    for name in LEGACY:
        tf_keras.backend.clear_session()
        path = os.path.join(out, f"tfk_{name.replace('k_', '', 1)}.h5")  # tfk_good_lstm_last
        if os.path.exists(path):
            os.remove(path)
        models[name]().save(path)
        written.append(path)
    return written


def build_keras(name: str, factory, out: str) -> list[str]:
    import keras

    from convert_onnx import convert

    keras.backend.clear_session()  # layer names must not depend on what was built before
    model = factory()
    written = []
    for ext in (".keras", ".h5"):
        path = os.path.join(out, name + ext)
        if os.path.exists(path):
            os.remove(path)
        model.save(path)
        written.append(path)
    path = os.path.join(out, name + ".onnx")
    convert(written[0], path)
    written.append(path)
    return written


# ---------------------------------------------------------------------------------
# PyTorch -> ONNX


def torch_models() -> dict:
    """name -> (factory, example input shape, dynamic axes {index: name})."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    H = 8

    class Seq(nn.Module):
        """Conv1d over the steps of a (batch, 6, T) series, then a recurrent layer."""

        def __init__(self, bidirectional=True, batch_first=True):
            super().__init__()
            self.batch_first = batch_first
            self.conv = nn.Conv1d(6, 8, 3, padding=1)
            self.lstm = nn.LSTM(8, H, batch_first=batch_first, bidirectional=bidirectional)
            self.head = nn.Linear(2 * H if bidirectional else H, 3)

        def sequence(self, x):
            y = torch.relu(self.conv(x))                         # (N, 8, T)
            y = y.permute(0, 2, 1) if self.batch_first else y.permute(2, 0, 1)
            return self.lstm(y)

    class BiLastStep(Seq):
        """out[:, -1, :] of a bidirectional batch_first LSTM: CL010."""

        def forward(self, x):
            out, _ = self.sequence(x)
            return self.head(out[:, -1, :])

    class BiLastStepTimeFirst(nn.Module):
        """out[-1] of a bidirectional time-first LSTM fed (seq, batch, F): CL010."""

        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(6, H, bidirectional=True)
            self.head = nn.Linear(2 * H, 3)

        def forward(self, x):
            out, _ = self.lstm(x)
            return self.head(out[-1])

    class UniLastStep(Seq):
        """out[:, -1] of a unidirectional LSTM (clean)."""

        def __init__(self):
            super().__init__(bidirectional=False)

        def forward(self, x):
            out, _ = self.sequence(x)
            return self.head(out[:, -1])

    class BiHalves(Seq):
        """torch.cat([out[:, -1, :H], out[:, 0, H:]], 1): both directions' ends (clean)."""

        def forward(self, x):
            out, _ = self.sequence(x)
            return self.head(torch.cat([out[:, -1, :H], out[:, 0, H:]], 1))

    class BiFinalStates(Seq):
        """Both directions of h_n: torch.cat([h_n[-2], h_n[-1]], 1) (clean)."""

        def forward(self, x):
            _, (h, _) = self.sequence(x)
            return self.head(torch.cat([h[-2], h[-1]], 1))

    class BiMean(Seq):
        """out.mean(1): pooling over time (clean)."""

        def forward(self, x):
            out, _ = self.sequence(x)
            return self.head(out.mean(1))

    class SoftmaxBatch(Seq):
        """F.softmax(logits, dim=0) on the (batch, classes) head: CL013."""

        def __init__(self, dim=0, log=False):
            super().__init__(bidirectional=False)
            self.dim, self.log = dim, log

        def forward(self, x):
            out, _ = self.sequence(x)
            logits = self.head(out[:, -1])
            return (F.log_softmax if self.log else F.softmax)(logits, dim=self.dim)

    class SoftmaxTimeAttention(Seq):
        """Attention weights: scores (batch, T, 1), softmax over dim=1, the steps (clean)."""

        def __init__(self):
            super().__init__(bidirectional=False)
            self.score = nn.Linear(H, 1)

        def forward(self, x):
            out, _ = self.sequence(x)
            weights = F.softmax(self.score(out), dim=1)          # (N, T, 1)
            return self.head((out * weights).sum(1))

    class SoftmaxTimeFirst(Seq):
        """A time-first LSTM (T, batch, H): softmax over dim=0 is over the steps (clean)."""

        def __init__(self):
            super().__init__(bidirectional=False, batch_first=False)
            self.score = nn.Linear(H, 1)

        def forward(self, x):
            out, _ = self.sequence(x)                            # (T, N, H)
            weights = F.softmax(self.score(out), dim=0)          # (T, N, 1)
            return self.head((out * weights).sum(0))

    series = (2, 6, 20)
    batch = {0: "batch"}
    return {
        "t_bilstm_last": (BiLastStep, series, batch),
        "t_bilstm_last_time_first": (BiLastStepTimeFirst, (20, 2, 6), {0: "seq", 1: "batch"}),
        "good_t_lstm_last": (UniLastStep, series, batch),
        "good_t_bilstm_halves": (BiHalves, series, batch),
        "good_t_bilstm_hn": (BiFinalStates, series, batch),
        "good_t_bilstm_mean": (BiMean, series, batch),
        "t_softmax_batch": (SoftmaxBatch, series, batch),
        "t_log_softmax_batch": (lambda: SoftmaxBatch(log=True), series, batch),
        "good_t_softmax_classes": (lambda: SoftmaxBatch(dim=-1), series, batch),
        "good_t_softmax_time": (SoftmaxTimeAttention, series, batch),
        "good_t_softmax_time_first": (SoftmaxTimeFirst, series, batch),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--only", choices=("keras", "torch", "legacy"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    failures = []
    if args.only == "legacy":
        for path in build_legacy(args.out):
            print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")
        return 0
    if args.only is None:
        import subprocess

        if subprocess.run([sys.executable, __file__, "--only", "legacy", "--out", args.out]).returncode:
            failures.append("tf.keras 2 models")
    if args.only not in ("torch", "legacy"):
        for name, factory in keras_models().items():
            try:
                for path in build_keras(name, factory, args.out):
                    print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")
            except Exception as exc:
                failures.append(name)
                print(f"FAILED {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
    if args.only not in ("keras", "legacy"):
        from export_onnx_families import export_torch_models

        entries = [(name, factory, shape, dynamic, ("ts", "dynamo"))
                   for name, (factory, shape, dynamic) in torch_models().items()]
        failures += export_torch_models(entries, args.out)
    if failures:
        print(f"{len(failures)} export(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
