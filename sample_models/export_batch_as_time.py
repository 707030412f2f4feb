"""Build the batch-as-time cases of issue 12 (rule CL009) from real saves and exports.

    python sample_models/export_batch_as_time.py [--out DIR] [--only torch|tfkeras|keras]

Writes sample_models/batch_as_time/:

* ``t_*.ts.onnx`` / ``t_*.dynamo.onnx``: PyTorch modules exported with the TorchScript
  exporter (``dynamo=False``, opset 17) and the dynamo exporter (opset 18, stack traces
  stripped), as sample_models/export_onnx_families.py exports them;
* ``tfk_*.h5``: tf.keras 2 (tf_keras) models, whose recurrent layers still have
  ``time_major``;
* ``k3_*.keras``: a Keras 3 model that moves the batch axis with ``keras.ops.transpose``.

Layer sizes are tiny so every file stays a few KB; models are never trained. The
expected findings of each file are in tests/test_cl009.py.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "batch_as_time")
sys.path.insert(0, HERE)


def torch_models() -> dict:
    """name -> (factory, example input shape, dynamic axes {index: name}, exporters)."""
    import torch
    from torch import nn

    class Conv1dGRU(nn.Module):
        """Time series (N, 6, 40): Conv1d, then `.permute(0, 2, 1)` to (N, T, C). Into a
        GRU left at batch_first=False its time axis is the batch (CL009); with
        batch_first=True it is clean."""

        def __init__(self, batch_first: bool):
            super().__init__()
            self.batch_first = batch_first
            self.conv = nn.Conv1d(6, 8, 3, padding=1)
            self.gru = nn.GRU(8, 8, batch_first=batch_first)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            o, _ = self.gru(torch.relu(self.conv(x)).permute(0, 2, 1))
            return self.head(o[:, -1] if self.batch_first else o[-1])

    class TimeMajorLSTM(nn.Module):
        """nn.LSTM(batch_first=False) fed its (T, N, F) input directly (clean)."""

        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(6, 8)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            o, _ = self.lstm(x)
            return self.head(o[-1])

    class FoldTimeFirst(nn.Module):
        """A time-first clip (T, N, 1, 16, 32): `(t n) c h w` for the CNN, unfolded back
        to (t, n, f) for a batch_first=False LSTM (clean)."""

        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(4),
                                     nn.AdaptiveAvgPool2d(1))  # (4, 1, 1) per frame
            self.lstm = nn.LSTM(4, 8)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            t, n = x.shape[0], x.shape[1]
            y = self.cnn(x.flatten(0, 1))            # (t*n, 4, 1, 1)
            o, _ = self.lstm(y.reshape(t, n, -1))    # (t, n, 4)
            return self.head(o[-1])

    both = ("ts", "dynamo")
    return {
        # the mistake: Conv1d output permuted batch-first, GRU time-major
        "t_conv1d_gru_no_batch_first": (lambda: Conv1dGRU(False), (2, 6, 40), {0: "batch"}, both),
        # ... exported with static shapes: the Conv spec says axis 0 is N
        "t_static_conv1d_gru_no_batch_first": (lambda: Conv1dGRU(False), (2, 6, 40), {}, ("ts",)),
        # the same with batch_first=True: clean
        "t_conv1d_gru_batch_first": (lambda: Conv1dGRU(True), (2, 6, 40), {0: "batch"}, both),
        # an input named ['T', 'N', F] fed to a time-major LSTM: clean
        "t_time_major_lstm_tn": (TimeMajorLSTM, (5, 2, 6), {0: "T", 1: "N"}, both),
        # a time-first clip folded into the batch and unfolded: clean
        "t_fold_time_first": (FoldTimeFirst, (3, 2, 1, 16, 32), {0: "T", 1: "N"}, both),
        # ... exported with static shapes: clean once `input-roles` declares it TNCHW
        "t_static_fold_time_first": (FoldTimeFirst, (3, 2, 1, 16, 32), {}, ("ts",)),
    }


def tfkeras_models() -> dict:
    """tf.keras 2 models (recurrent layers with time_major), saved as .h5."""
    import tensorflow as tf
    import tf_keras as keras
    from tf_keras import layers

    def time_major_fed_batch_first():
        """LSTM(time_major=True) fed the usual (batch, 40, 8) of a Conv1D (CL009)."""
        x = keras.Input((40, 6), name="x")
        y = layers.Conv1D(8, 3, padding="same", activation="relu")(x)
        y = layers.Dropout(0.2)(y)
        y = layers.LSTM(8, time_major=True, name="lstm")(y)
        return keras.Model(x, layers.Dense(3)(y), name="tfk_time_major_fed_batch_first")

    def good_time_major_transposed():
        """tf.transpose(y, [1, 0, 2]) to (40, batch, 8) for two stacked time_major LSTMs
        (clean; the first one's sequence output stays time-major)."""
        x = keras.Input((40, 6), name="x")
        y = layers.Conv1D(8, 3, padding="same", activation="relu")(x)
        y = layers.Dropout(0.2)(y)
        y = tf.transpose(y, [1, 0, 2])
        y = layers.LSTM(8, time_major=True, return_sequences=True, name="lstm")(y)
        y = layers.LSTM(8, time_major=True, name="lstm_2")(y)
        return keras.Model(x, layers.Dense(3)(y), name="tfk_good_time_major_transposed")

    return keras, {"tfk_time_major_fed_batch_first": time_major_fed_batch_first,
                   "tfk_good_time_major_transposed": good_time_major_transposed}


def keras3_models() -> dict:
    import keras
    from keras import layers, ops

    def transpose_batch_into_time():
        """keras.ops.transpose(y, (1, 0, 2)) before a Keras 3 LSTM, which always reads
        (batch, time, features): its time axis is the batch (CL009)."""
        x = keras.Input((40, 6), name="x")
        y = layers.Conv1D(8, 3, padding="same", activation="relu")(x)
        y = layers.Dropout(0.2)(y)
        y = ops.transpose(y, (1, 0, 2))
        y = layers.LSTM(8, name="lstm")(y)
        return keras.Model(x, layers.Dense(3)(y), name="k3_transpose_batch_into_time")

    return keras, {"k3_transpose_batch_into_time": transpose_batch_into_time}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--only", choices=("torch", "tfkeras", "keras"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    failures = []
    for which, build, ext in (("tfkeras", tfkeras_models, ".h5"), ("keras", keras3_models, ".keras")):
        if args.only not in (None, which):
            continue
        keras, models = build()
        for name, factory in models.items():
            path = os.path.join(args.out, name + ext)
            keras.backend.clear_session()  # layer names must not depend on what came before
            keras.utils.set_random_seed(0)
            try:
                if os.path.exists(path):
                    os.remove(path)
                factory().save(path)
                print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")
            except Exception as exc:
                failures.append(name)
                print(f"FAILED {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
    if args.only in (None, "torch"):
        from export_onnx_families import export_torch_models

        failures += export_torch_models(
            [(name, *entry) for name, entry in torch_models().items()], args.out)
    if failures:
        print(f"{len(failures)} export(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
