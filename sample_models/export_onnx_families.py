"""Build the ONNX regression families of issue 11 (families 1 and 6) from real exports.

    python sample_models/export_onnx_families.py [--out DIR] [--only keras|torch]

Writes sample_models/onnx_families/<name>.onnx:

* ``k_*.onnx``: Keras 3 models converted with tf2onnx (opset 17). tf2onnx exports a
  Bidirectional GRU/SimpleRNN as two ``Loop``s, the backward one reading a
  ``ReverseSequence`` of the input (family 1).
* ``t_*.ts.onnx`` / ``t_*.dynamo.onnx``: PyTorch modules exported with the TorchScript
  exporter (``dynamo=False``, opset 17) and the dynamo exporter (opset 18, stack traces
  stripped) - PyTorch idioms of family 6 and a genuinely time-first input (family 1).

Layer sizes are tiny so every file stays a few KB. Models are never trained. The
expected findings of each file are in tests/test_onnx_families.py.
"""

from __future__ import annotations

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "onnx_families")


# ---------------------------------------------------------------------------------
# Keras -> tf2onnx


def keras_models() -> dict:
    import keras
    from keras import layers

    def conv1d_bigru():
        """Time series: Conv1D over 40 steps, a bidirectional GRU reads them (clean)."""
        x = keras.Input((40, 6), name="x")
        y = layers.Conv1D(8, 3, padding="same", activation="relu")(x)
        y = layers.Bidirectional(layers.GRU(8, name="gru"), name="bigru")(y)
        return keras.Model(x, layers.Dense(3)(y), name="conv1d_bigru")

    def text_bisimplernn():
        """Text: Embedding + Conv1D + bidirectional SimpleRNN (clean)."""
        x = keras.Input((30,), dtype="int32", name="x")
        y = layers.Embedding(50, 8)(x)
        y = layers.Conv1D(8, 3, padding="same", activation="relu")(y)
        y = layers.Bidirectional(layers.SimpleRNN(8, name="rnn"), name="birnn")(y)
        return keras.Model(x, layers.Dense(2)(y), name="text_bisimplernn")

    def crnn(pixels: bool):
        """OCR CRNN: image width is time (Permute, rows x channels folded into features);
        with `pixels` the map is reshaped to H*W pixel steps instead (CL001)."""
        x = keras.Input((16, 32, 1), name="x")
        y = layers.Conv2D(4, 3, padding="same", activation="relu")(x)
        y = layers.MaxPooling2D(2)(y)                     # (8, 16, 4)
        if pixels:
            y = layers.Reshape((8 * 16, 4))(y)            # 128 pixel "steps"
        else:
            y = layers.Permute((2, 1, 3))(y)              # (16, 8, 4): width first
            y = layers.Reshape((16, 8 * 4))(y)            # 16 columns, 32 features
        y = layers.Bidirectional(layers.GRU(8, return_sequences=True, name="gru"), name="bigru")(y)
        return keras.Model(x, layers.Dense(5)(y), name="crnn_pixels" if pixels else "crnn_bigru")

    def audio_bigru():
        """DeepSpeech-style: a (100 frames, 16 bins) spectrogram, Conv2D striding only the
        frequency, bins x channels folded into features, Bidirectional GRU over the
        frames (clean)."""
        x = keras.Input((100, 16, 1), name="x")
        y = layers.Conv2D(4, 3, strides=(1, 2), padding="same", activation="relu")(x)
        y = layers.Reshape((100, 8 * 4))(y)               # (frames, bins*channels)
        y = layers.Bidirectional(layers.GRU(8, return_sequences=True, name="gru"), name="bigru")(y)
        return keras.Model(x, layers.Dense(6)(y), name="audio_bigru")

    def encdec_repeat():
        """Encoder-decoder forecaster: Conv1D over 14 steps, Flatten, RepeatVector(7) (an
        ExpandDims + Tile in tf2onnx) makes the decoder's 7 steps (clean)."""
        x = keras.Input((14, 1), name="x")
        y = layers.Conv1D(8, 3, activation="relu")(x)
        y = layers.MaxPooling1D(2)(y)
        y = layers.RepeatVector(7)(layers.Flatten()(y))
        y = layers.LSTM(8, return_sequences=True, name="decoder")(y)
        return keras.Model(x, layers.TimeDistributed(layers.Dense(1))(y), name="encdec_repeat")

    return {"k_encdec_repeat": encdec_repeat, "k_audio_bigru": audio_bigru, "k_conv1d_bigru": conv1d_bigru, "k_text_bisimplernn": text_bisimplernn,
            "k_crnn_bigru": lambda: crnn(False), "k_crnn_bigru_pixels": lambda: crnn(True)}


def export_keras(factory, path: str) -> None:
    import onnx
    import tensorflow as tf
    import tf2onnx

    import keras

    keras.backend.clear_session()  # layer names must not depend on what was built before
    model = factory()
    spec = [tf.TensorSpec((None, *t.shape[1:]), t.dtype, name=t.name) for t in model.inputs]
    proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
    onnx.save(proto, path)


# ---------------------------------------------------------------------------------
# PyTorch -> ONNX


def torch_models() -> dict:
    """name -> (factory, example input shape, dynamic axes {index: name}, exporters)."""
    import torch
    from torch import nn

    def cnn(c_in=1):
        # (N, 1, 16, 32) -> (N, 8, 4, 8)
        return nn.Sequential(nn.Conv2d(c_in, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                             nn.Conv2d(4, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))

    class TimeMajorLSTM(nn.Module):
        """nn.LSTM(batch_first=False) fed its (seq, batch, F) input directly (clean)."""

        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(6, 8)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            o, _ = self.lstm(x)
            return self.head(o[-1])

    class FlattenStart2(nn.Module):
        """nn.Flatten(start_dim=2): (N, C, H*W). Without transpose the 8 channels are the
        steps (CL002); with transpose(1, 2) the 32 pixels are (CL001)."""

        def __init__(self, transpose: bool):
            super().__init__()
            self.transpose = transpose
            self.cnn = cnn()
            self.flatten = nn.Flatten(start_dim=2)
            self.lstm = nn.LSTM(8 if transpose else 32, 8, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            y = self.flatten(self.cnn(x))            # (N, 8, 32)
            if self.transpose:
                y = y.transpose(1, 2)                # (N, 32, 8)
            o, _ = self.lstm(y)
            return self.head(o[:, -1])

    class CrnnTimeMajor(nn.Module):
        """CRNN: height pooled to 1, squeezed; `permute(2, 0, 1)` makes (W, N, C) for a
        batch_first=False LSTM (clean). Without the permute the LSTM's time axis is the
        batch (N, C, W)."""

        def __init__(self, permute: bool):
            super().__init__()
            self.permute = permute
            self.cnn = cnn()
            self.pool_h = nn.MaxPool2d((4, 1))  # height 4 -> 1
            self.lstm = nn.LSTM(8, 8)
            self.head = nn.Linear(8, 5)

        def forward(self, x):
            y = self.pool_h(self.cnn(x)).squeeze(2)  # (N, C=8, W=8)
            if self.permute:
                y = y.permute(2, 0, 1)               # (W, N, C)
            o, _ = self.lstm(y)
            return self.head(o)

    class CrnnSqueeze(nn.Module):
        """CRNN, batch_first: MaxPool of height to 1, squeeze(2), permute(0, 2, 1) (clean)."""

        def __init__(self):
            super().__init__()
            self.cnn = cnn()
            self.pool_h = nn.MaxPool2d((4, 1))
            self.gru = nn.GRU(8, 8, batch_first=True, bidirectional=True)
            self.head = nn.Linear(16, 5)

        def forward(self, x):
            y = self.pool_h(self.cnn(x)).squeeze(2)  # (N, 8, W=8)
            o, _ = self.gru(y.permute(0, 2, 1))      # (N, 8 steps, 8)
            return self.head(o)

    class EinopsPixels(nn.Module):
        """einops' `b c h w -> b (h w) c` spelt as permute + reshape: pixels as steps (CL001)."""

        def __init__(self):
            super().__init__()
            self.cnn = cnn()
            self.lstm = nn.LSTM(8, 8, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            y = self.cnn(x)
            b, c, h, w = y.shape
            y = y.permute(0, 2, 3, 1).reshape(b, h * w, c)
            o, _ = self.lstm(y)
            return self.head(o[:, -1])

    class FoldTime(nn.Module):
        """`b t c h w -> (b t) c h w` for the CNN, unfolded back `(b t) f -> b t f` (clean)."""

        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(cnn(), nn.MaxPool2d(2))  # (8, 2, 4) per frame
            self.lstm = nn.LSTM(8 * 2 * 4, 8, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            b, t = x.shape[0], x.shape[1]
            y = self.cnn(x.flatten(0, 1))            # (b*t, 8, 2, 4)
            y = y.reshape(b, t, -1)                  # (b, t, 64)
            o, _ = self.lstm(y)
            return self.head(o[:, -1])

    class Conv1dLSTM(nn.Module):
        """Time series, exported with static shapes (no dim names): Conv1d over 40 steps,
        permute(0, 2, 1) into a batch_first LSTM (clean)."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(6, 8, 3, padding=1)
            self.lstm = nn.LSTM(8, 8, batch_first=True)
            self.head = nn.Linear(8, 3)

        def forward(self, x):
            o, _ = self.lstm(torch.relu(self.conv(x)).permute(0, 2, 1))
            return self.head(o[:, -1])

    class TextConvLSTM(nn.Module):
        """nn.Embedding (a Gather of table rows) + Conv1d + LSTM over the words (clean)."""

        def __init__(self):
            super().__init__()
            self.emb = nn.Embedding(50, 8)
            self.conv = nn.Conv1d(8, 8, 3, padding=1)
            self.lstm = nn.LSTM(8, 8, batch_first=True)
            self.head = nn.Linear(8, 2)

        def forward(self, x):
            y = torch.relu(self.conv(self.emb(x).transpose(1, 2)))   # (N, 8, T)
            o, _ = self.lstm(y.transpose(1, 2))                     # (N, T, 8)
            return self.head(o[:, -1])

    class CellLoopFrames(nn.Module):
        """A clip's frames through the CNN one by one, into an nn.LSTMCell called in a
        Python loop (clean). Both exporters unroll the loop: plain MatMul/Sigmoid/Tanh ops
        per frame, no recurrent op for the rules to judge (--verbose says so)."""

        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(cnn(), nn.AdaptiveAvgPool2d(1), nn.Flatten())  # 8 per frame
            self.cell = nn.LSTMCell(8, 8)
            self.head = nn.Linear(8, 3)

        def forward(self, x):                        # (b, t, 1, 16, 32)
            h = x.new_zeros(x.shape[0], 8)
            c = x.new_zeros(x.shape[0], 8)
            for t in range(x.shape[1]):
                h, c = self.cell(self.cnn(x[:, t]), (h, c))
            return self.head(h)

    class EncDec(nn.Module):
        """Encoder-decoder forecaster: Conv1d over 14 steps, the pooled map flattened to
        one vector, copied to the decoder's 7 steps with `repeat` (Tile) or `expand`
        (Expand, its shape computed in the graph) (clean)."""

        def __init__(self, how):
            super().__init__()
            self.how = how
            self.conv = nn.Conv1d(1, 8, 3)
            self.lstm = nn.LSTM(48, 8, batch_first=True)
            self.head = nn.Linear(8, 1)

        def forward(self, x):                                      # (N, 1, 14)
            z = torch.max_pool1d(torch.relu(self.conv(x)), 2).flatten(1).unsqueeze(1)
            z = z.repeat(1, 7, 1) if self.how == "repeat" else z.expand(-1, 7, -1)
            out, _ = self.lstm(z)                                  # (N, 7, 8)
            return self.head(out)

    both = ("ts", "dynamo")
    img = (1, 16, 32)
    return {
        "t_time_major_lstm": (TimeMajorLSTM, (5, 2, 6), {0: "seq", 1: "batch"}, both),
        # the real mistake: a (batch, seq, F) input fed to a batch_first=False LSTM
        "t_time_major_lstm_fed_batch_first": (TimeMajorLSTM, (2, 5, 6), {0: "batch", 1: "seq"}, both),
        # static shapes: no dim says which axis is the batch
        "t_static_time_major_lstm": (TimeMajorLSTM, (5, 2, 6), {}, ("ts",)),
        "t_static_conv1d_lstm": (Conv1dLSTM, (2, 6, 40), {}, ("ts",)),
        "t_flatten2": (lambda: FlattenStart2(False), (2, *img), {0: "batch"}, both),
        "t_flatten2_transpose": (lambda: FlattenStart2(True), (2, *img), {0: "batch"}, both),
        "t_crnn_time_major": (lambda: CrnnTimeMajor(True), (2, *img), {0: "batch"}, both),
        "t_crnn_time_major_no_permute": (lambda: CrnnTimeMajor(False), (2, *img), {0: "batch"}, both),
        "t_text_conv_lstm": (TextConvLSTM, "tokens", {0: "batch"}, both),
        "t_crnn_squeeze": (CrnnSqueeze, (2, *img), {0: "batch"}, both),
        "t_einops_pixels": (EinopsPixels, (2, *img), {0: "batch"}, both),
        "t_fold_time": (FoldTime, (2, 3, *img), {0: "batch"}, both),
        "t_lstmcell_frames": (CellLoopFrames, (2, 3, *img), {0: "batch"}, both),
        "t_encdec_repeat": (lambda: EncDec("repeat"), (2, 1, 14), {0: "batch"}, both),
        "t_encdec_expand": (lambda: EncDec("expand"), (2, 1, 14), {0: "batch"}, both),
        # nn.utils.rnn.pack_padded_sequence is not here: torch 2.13 exports it with
        # neither exporter (TorchScript: "vector::_M_range_check"; dynamo: torch.export
        # fails on the PackedSequence), sorted or not.
    }


def export_torch(kind: str, model, x, dynamic: dict, path: str) -> None:
    import torch

    if kind == "ts":
        torch.onnx.export(model, (x,), path, dynamo=False, opset_version=17,
                          input_names=["x"], output_names=["y"],
                          dynamic_axes={"x": dict(dynamic)})
        return
    dims = {i: torch.export.Dim(name, min=2) for i, name in dynamic.items()}
    torch.onnx.export(model, (x,), path, dynamo=True, opset_version=18, input_names=["x"],
                      output_names=["y"], dynamic_shapes={"x": dims}, external_data=False,
                      verbose=False)
    _strip_stack_traces(path)


def export_torch_models(entries, out: str = DEFAULT_OUT) -> list[str]:
    """Export each (name, factory, example shape or "tokens", dynamic axes, exporters)
    with each of its exporters into `out`; the names of the exports that failed. The
    sample scripts of the other families use it too."""
    import logging
    import warnings

    import torch

    warnings.filterwarnings("ignore")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    failures = []
    for name, factory, shape, dynamic, exporters in entries:
        for kind in exporters:
            path = os.path.join(out, f"{name}.{kind}.onnx")
            torch.manual_seed(0)
            model = factory().eval()
            x = torch.randint(0, 50, (2, 30)) if shape == "tokens" else torch.randn(*shape)
            try:
                with torch.no_grad():
                    export_torch(kind, model, x, dynamic, path)
                print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")
            except Exception as exc:
                failures.append(f"{name}.{kind}")
                print(f"FAILED {name}.{kind}: {type(exc).__name__}: {str(exc)[:300]}",
                      file=sys.stderr)
    return failures


def _strip_stack_traces(path: str) -> None:
    import onnx

    model = onnx.load(path)
    for node in list(model.graph.node) + [n for f in model.functions for n in f.node]:
        keep = [p for p in node.metadata_props if p.key != "pkg.torch.onnx.stack_trace"]
        del node.metadata_props[:]
        node.metadata_props.extend(keep)
    onnx.save(model, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT)
    parser.add_argument("--only", choices=("keras", "torch"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    failures = []
    if args.only != "torch":
        for name, factory in keras_models().items():
            path = os.path.join(args.out, name + ".onnx")
            try:
                export_keras(factory, path)
                print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path)} bytes)")
            except Exception as exc:
                failures.append(name)
                print(f"FAILED {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
    if args.only != "keras":
        failures += export_torch_models(
            [(name, *entry) for name, entry in torch_models().items()], args.out)
    if failures:
        print(f"{len(failures)} export(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
