"""Build the ONNX regression cases of issue 11, family 4 (exporter rewrites that unroll
per-frame layers) from real exports.

    python sample_models/export_unrolled.py [--out DIR] [--only keras|torch]

Writes sample_models/onnx_unrolled/:

* ``k_<name>.keras`` and ``k_<name>.b2.onnx``: Keras 3 models with ``TimeDistributed``
  over a static time axis, input ``batch_shape=(2, T, ...)``, converted with tf2onnx
  ``from_keras`` (opset 17). tf2onnx unrolls each TimeDistributed layer into Slice ->
  Squeeze -> the layer -> Unsqueeze, once per frame, then Concat. ``k_<name>.bN.onnx``:
  the same model converted with a dynamic batch (unrolled the same way).
* ``t_<name>.ts.onnx`` / ``t_<name>.dynamo.onnx``: PyTorch modules that loop over the
  frames (``x[:, t]``, ``x.unbind(1)``, ``x.split(1, 1)``) and ``torch.stack`` /
  ``torch.cat`` the per-frame CNN outputs, through the TorchScript exporter
  (``dynamo=False``, opset 17) and the dynamo exporter (opset 18): Gather / Split / Slice
  -> per-frame ops -> Unsqueeze -> Concat.

Layer sizes are tiny so every file stays well under 300 KB; models are never trained.
The expected findings of each file are in tests/test_onnx_unrolled.py.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "onnx_unrolled")
sys.path.insert(0, HERE)


# ---------------------------------------------------------------------------------
# Keras 3 -> tf2onnx


def keras_models() -> dict:
    import keras
    from keras import layers

    TD = layers.TimeDistributed

    def lrcn(b):
        """LRCN: TimeDistributed Conv2D, MaxPooling2D, GAP, then LSTM over the 6 frames (clean)."""
        x = keras.Input(batch_shape=(b, 6, 16, 16, 3), name="x")
        y = TD(layers.Conv2D(4, 3, name="conv"), name="td_conv")(x)
        y = TD(layers.MaxPooling2D(2, name="pool"), name="td_pool")(y)
        y = TD(layers.GlobalAveragePooling2D(name="gap"), name="td_gap")(y)
        y = layers.Dropout(0.3, name="drop")(layers.LSTM(8, name="lstm")(y))
        return keras.Model(x, layers.Dense(3, name="head")(y), name="lrcn")

    def clip_merge(b):
        """CL003: per-frame conv maps, then Reshape((T * H, W * C)): frames stacked into rows."""
        x = keras.Input(batch_shape=(b, 6, 8, 8, 1), name="x")
        y = TD(layers.Conv2D(4, 3, padding="same", name="conv"), name="td_conv")(x)
        y = layers.Reshape((6 * 8, 8 * 4), name="merge")(y)
        y = layers.Dropout(0.3, name="drop")(layers.LSTM(8, name="lstm")(y))
        return keras.Model(x, layers.Dense(3, name="head")(y), name="clip_merge")

    def flatten_clip(b):
        """CL003: per-frame GAP features, then Flatten + Dense over the whole clip."""
        x = keras.Input(batch_shape=(b, 6, 8, 8, 1), name="x")
        y = TD(layers.Conv2D(4, 3, padding="same", name="conv"), name="td_conv")(x)
        y = TD(layers.GlobalAveragePooling2D(name="gap"), name="td_gap")(y)
        y = layers.Flatten(name="flatten")(y)
        y = layers.Reshape((6, 4), name="steps")(layers.Dense(24, name="mix")(y))
        y = layers.Dropout(0.3, name="drop")(layers.LSTM(8, name="lstm")(y))
        return keras.Model(x, layers.Dense(3, name="head")(y), name="flatten_clip")

    def td_concat(b, pooled):
        """CL008: per-frame flattened maps (8x8x8 = 512) joined per step with a 16-unit
        LSTM's steps; `pooled`: the per-frame GAP (8) instead (clean)."""
        x = keras.Input(batch_shape=(b, 6, 8, 8, 1), name="x")
        c = TD(layers.Conv2D(8, 3, padding="same", name="conv"), name="td_conv")(x)
        wide = (TD(layers.GlobalAveragePooling2D(name="gap_wide"), name="td_gap_wide") if pooled
                else TD(layers.Flatten(name="flat"), name="td_flat"))(c)
        s = TD(layers.GlobalAveragePooling2D(name="gap"), name="td_gap")(c)
        s = layers.LSTM(16, return_sequences=True, name="lstm")(s)
        y = layers.Concatenate(name="concat")([wide, s])
        y = layers.Dropout(0.3, name="drop")(layers.LSTM(4, name="lstm2")(y))
        return keras.Model(x, layers.Dense(3, name="head")(y), name="td_concat")

    def conv1d_concat(b, filters):
        """CL008: a Conv1D branch (256 channels) joined per step with an 8-unit LSTM's
        steps; tf2onnx joins them on axis 1 of (N, C, T). filters=8: balanced (clean)."""
        x = keras.Input(batch_shape=(b, 20, 8), name="x")
        a = layers.Conv1D(filters, 3, padding="same", name="conv1d")(x)
        s = layers.LSTM(8, return_sequences=True, name="lstm")(x)
        y = layers.Concatenate(name="concat")([a, s])
        y = layers.Dropout(0.3, name="drop")(layers.LSTM(4, name="lstm2")(y))
        return keras.Model(x, layers.Dense(3, name="head")(y), name="conv1d_concat")

    def td_crnn(b, permute):
        """CL007: per frame, an (8, 16, 4) map reshaped to (16, 32) without Permute, then
        Conv1D; `permute`: with Permute((2, 1, 3)) first (clean)."""
        x = keras.Input(batch_shape=(b, 4, 16, 32, 1), name="x")
        y = TD(layers.Conv2D(4, 3, padding="same", name="conv"), name="td_conv")(x)
        y = TD(layers.MaxPooling2D(2, name="pool"), name="td_pool")(y)
        if permute:
            y = TD(layers.Permute((2, 1, 3), name="perm"), name="td_perm")(y)
        y = TD(layers.Reshape((16, 32), name="cols"), name="td_cols")(y)
        y = TD(layers.Conv1D(8, 3, name="conv1d"), name="td_conv1d")(y)
        y = TD(layers.GlobalMaxPooling1D(name="gmp"), name="td_gmp")(y)
        y = layers.Dropout(0.3, name="drop")(layers.LSTM(8, name="lstm")(y))
        return keras.Model(x, layers.Dense(3, name="head")(y), name="td_crnn")

    return {
        "k_lrcn": lrcn,
        "k_clip_merge": clip_merge,
        "k_flatten_clip": flatten_clip,
        "k_td_concat": lambda b: td_concat(b, False),
        "k_td_concat_pooled": lambda b: td_concat(b, True),
        "k_conv1d_concat": lambda b: conv1d_concat(b, 256),
        "k_conv1d_concat_balanced": lambda b: conv1d_concat(b, 8),
        "k_td_crnn": lambda b: td_crnn(b, False),
        "k_td_crnn_permute": lambda b: td_crnn(b, True),
    }


# the models also written with a dynamic batch (the same unrolled form)
DYNAMIC_BATCH = ("k_lrcn", "k_clip_merge", "k_td_crnn")


def export_keras(factory, batch, out: str, name: str) -> list[str]:
    import onnx
    import tensorflow as tf
    import tf2onnx

    import keras

    keras.backend.clear_session()  # layer names must not depend on what was built before
    model = factory(batch)
    written = []
    if batch is not None:
        path = os.path.join(out, name + ".keras")
        model.save(path)
        written.append(path)
    spec = [tf.TensorSpec(t.shape, t.dtype, name="x") for t in model.inputs]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    path = os.path.join(out, f"{name}.{'b2' if batch else 'bN'}.onnx")
    onnx.save(proto, path)
    return written + [path]


# ---------------------------------------------------------------------------------
# PyTorch -> ONNX


def torch_models() -> dict:
    import torch
    from torch import nn

    T = 6

    def cnn():
        return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))  # (4, 8, 8)

    class LoopFrames(nn.Module):
        """The CNN run on each frame in a Python loop, the features stacked back in frame
        order, an LSTM over the 6 frames (clean)."""

        def __init__(self, how: str):
            super().__init__()
            self.how = how
            self.cnn = cnn()
            self.lstm = nn.LSTM(4, 8, batch_first=True)
            self.head = nn.Linear(8, 3)

        def frame(self, f):
            return self.cnn(f).mean(dim=(2, 3))  # (N, 4)

        def forward(self, x):  # (N, T, 1, 16, 16)
            if self.how == "stack":      # x[:, t]: Gather of one index
                y = torch.stack([self.frame(x[:, t]) for t in range(x.shape[1])], 1)
            elif self.how == "unbind":   # Split + Squeeze (TorchScript), Slice + Squeeze (dynamo)
                y = torch.stack([self.frame(f) for f in x.unbind(1)], 1)
            else:                        # split(1, 1) + squeeze, cat of unsqueezed features
                y = torch.cat([self.frame(f.squeeze(1)).unsqueeze(1) for f in x.split(1, dim=1)], 1)
            o, _ = self.lstm(y)
            return self.head(o[:, -1])

    class LoopMerge(nn.Module):
        """CL003: per-frame maps stacked to (N, T, C, H, W), then time merged with rows:
        permute(0, 1, 3, 2, 4).reshape(n, T * H, C * W)."""

        def __init__(self):
            super().__init__()
            self.cnn = cnn()
            self.lstm = nn.LSTM(4 * 8, 8, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            y = torch.stack([self.cnn(x[:, t]) for t in range(x.shape[1])], 1)
            n = y.shape[0]
            y = y.permute(0, 1, 3, 2, 4).reshape(n, T * 8, 4 * 8)
            o, _ = self.lstm(y)
            return self.head(o[:, -1])

    clip = (2, T, 1, 16, 16)
    both = ("ts", "dynamo")
    return {
        "t_loop_stack": (lambda: LoopFrames("stack"), clip, both),
        "t_loop_unbind": (lambda: LoopFrames("unbind"), clip, both),
        "t_loop_split_cat": (lambda: LoopFrames("split"), clip, ("ts",)),
        "t_loop_merge": (LoopMerge, clip, both),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--only", choices=("keras", "torch"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    failures = []
    if args.only != "torch":
        for name, factory in keras_models().items():
            for batch in (2, None) if name in DYNAMIC_BATCH else (2,):
                try:
                    for path in export_keras(factory, batch, args.out, name):
                        print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")
                except Exception as exc:
                    failures.append(name)
                    print(f"FAILED {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
    if args.only != "keras":
        from export_onnx_families import export_torch_models

        entries = [(name, factory, shape, {0: "batch"}, exporters)
                   for name, (factory, shape, exporters) in torch_models().items()]
        failures += export_torch_models(entries, args.out)
    if failures:
        print(f"{len(failures)} export(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
