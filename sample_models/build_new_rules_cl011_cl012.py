"""Build the samples of CL011 (unbounded-recurrent-activation) and CL012 (mask-lost), issue 12.

Run from the repository root with the TensorFlow/Keras extra, tf2onnx and torch installed::

    python sample_models/build_new_rules_cl011_cl012.py             # Keras 3 .keras/.h5 + tf2onnx
    python sample_models/build_new_rules_cl011_cl012.py --legacy    # tf.keras 2 (tf_keras) .h5
    python sample_models/build_new_rules_cl011_cl012.py --torch     # PyTorch, both exporters

Files go to sample_models/cl011_cl012/ (tf2onnx conversions in onnx/, PyTorch exports in
torch/). Sizes are tiny; the models are never trained. Every model has dropout, so CL006
stays quiet and each file shows only the case it was built for. What the linter must say
about each file is pinned in tests/test_cl011_cl012.py.

CL011 bad: LSTM/GRU(activation="relu"), Bidirectional(LSTM(activation="relu")),
RNN(LSTMCell(activation="relu")), ConvLSTM2D(activation="relu") (the keras-io next-frame
example). Clean: activation="tanh" said explicitly, SimpleRNN(activation="relu") (IRNN),
LSTM(recurrent_activation="hard_sigmoid") with the default tanh.

CL012 bad: Embedding(mask_zero=True) -> Conv1D -> LSTM; Masking -> Conv1D -> MaxPooling1D
-> LSTM. Clean: Embedding(mask_zero=True) -> Dense -> Dropout -> LSTM; a CNN then Masking
right before the LSTM; Embedding -> Conv1D -> LSTM with no mask at all. CL012 samples are
not converted to ONNX: an export has no masks (the rule says it is not judged there), and
only the text-model one is converted, to pin that note.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import sys  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cl011_cl012")


def define(keras):
    """name -> builder; the same code builds with Keras 3 and with tf_keras."""
    layers = keras.layers

    def series(name, rnn):  # Conv1D feature extractor on a (50, 3) series, then `rnn`
        x = inp = keras.Input((50, 3), name="series")
        x = layers.Conv1D(8, 3, activation="relu", name="conv1d")(x)
        x = layers.MaxPooling1D(2, name="max_pooling1d")(x)
        x = rnn(x)
        x = layers.Dropout(0.3, name="dropout")(x)
        return keras.Model(inp, layers.Dense(1, name="head")(x), name=name)

    def tokens(name, *middle, mask_zero=True, masking=False):  # text: (40,) token ids
        x = inp = keras.Input((40,), dtype="int32", name="tokens")
        x = layers.Embedding(100, 16, mask_zero=mask_zero, name="embedding")(x)
        for layer in middle:
            x = layer(x)
        x = layers.LSTM(8, dropout=0.2, name="lstm")(x)
        return keras.Model(inp, layers.Dense(1, activation="sigmoid", name="head")(x), name=name)

    def padded(name, *middle):  # a zero-padded (40, 3) series read through Masking
        x = inp = keras.Input((40, 3), name="series")
        for layer in middle:
            x = layer(x)
        x = layers.LSTM(8, dropout=0.2, name="lstm")(x)
        return keras.Model(inp, layers.Dense(1, name="head")(x), name=name)

    def next_frame(name, activation):  # keras-io conv_lstm next-frame prediction, tiny
        x = inp = keras.Input((6, 16, 16, 1), name="frames")
        x = layers.ConvLSTM2D(4, 3, padding="same", return_sequences=True, activation=activation,
                              recurrent_dropout=0.1, name="conv_lstm2d")(x)
        x = layers.BatchNormalization(name="batch_normalization")(x)
        x = layers.Conv3D(1, 3, padding="same", activation="sigmoid", name="conv3d")(x)
        return keras.Model(inp, x, name=name)

    return {
        # CL011: bad
        "cl011_lstm_relu": lambda: series("cl011_lstm_relu", layers.LSTM(
            16, activation="relu", name="lstm")),
        "cl011_gru_relu": lambda: series("cl011_gru_relu", layers.GRU(
            16, activation="relu", name="gru")),
        "cl011_bilstm_relu": lambda: series("cl011_bilstm_relu", layers.Bidirectional(
            layers.LSTM(16, activation="relu"), name="bidirectional")),
        "cl011_rnn_lstmcell_relu": lambda: series("cl011_rnn_lstmcell_relu", layers.RNN(
            layers.LSTMCell(16, activation="relu"), name="rnn")),
        "cl011_convlstm_relu": lambda: next_frame("cl011_convlstm_relu", "relu"),
        # CL011: clean
        "good_cl011_lstm_tanh": lambda: series("good_cl011_lstm_tanh", layers.LSTM(
            16, activation="tanh", name="lstm")),
        "good_cl011_simplernn_relu": lambda: series("good_cl011_simplernn_relu", layers.SimpleRNN(
            16, activation="relu", name="simple_rnn")),
        "good_cl011_hard_sigmoid_gates": lambda: series("good_cl011_hard_sigmoid_gates", layers.LSTM(
            16, recurrent_activation="hard_sigmoid", name="lstm")),
        "good_cl011_convlstm_tanh": lambda: next_frame("good_cl011_convlstm_tanh", "tanh"),
        # CL012: bad
        "cl012_embedding_conv1d": lambda: tokens("cl012_embedding_conv1d", layers.Conv1D(
            16, 5, activation="relu", name="conv1d"), layers.Dropout(0.2, name="dropout")),
        "cl012_masking_conv_pool": lambda: padded(
            "cl012_masking_conv_pool", layers.Masking(0.0, name="masking"),
            layers.Conv1D(8, 3, activation="relu", padding="same", name="conv1d"),
            layers.MaxPooling1D(2, name="max_pooling1d")),
        # CL012: clean
        "good_cl012_embedding_dense": lambda: tokens(
            "good_cl012_embedding_dense", layers.Dense(16, activation="relu", name="dense"),
            layers.Dropout(0.2, name="dropout")),
        "good_cl012_masking_after_cnn": lambda: padded(
            "good_cl012_masking_after_cnn",
            layers.Conv1D(8, 3, activation="relu", padding="same", name="conv1d"),
            layers.MaxPooling1D(2, name="max_pooling1d"), layers.Masking(0.0, name="masking")),
        "good_cl012_no_mask": lambda: tokens("good_cl012_no_mask", layers.Conv1D(
            16, 5, activation="relu", name="conv1d"), layers.Dropout(0.2, name="dropout"),
            mask_zero=False),
    }


LEGACY = ("cl011_lstm_relu", "cl011_convlstm_relu", "good_cl011_simplernn_relu",
          "cl012_embedding_conv1d", "cl012_masking_conv_pool", "good_cl012_embedding_dense")
ONNX = ("cl011_lstm_relu", "cl011_gru_relu", "cl011_bilstm_relu", "cl011_rnn_lstmcell_relu",
        "cl011_convlstm_relu", "good_cl011_lstm_tanh", "good_cl011_simplernn_relu",
        "good_cl011_hard_sigmoid_gates", "good_cl011_convlstm_tanh", "cl012_embedding_conv1d")


def _save(model, path):
    if os.path.exists(path):
        os.remove(path)
    model.save(path)
    print("wrote", os.path.relpath(path), os.path.getsize(path), "bytes")


def build_keras3():
    import keras

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from convert_onnx import convert

    os.makedirs(os.path.join(HERE, "onnx"), exist_ok=True)
    for name, build in define(keras).items():
        model = build()
        for ext in (".keras", ".h5"):
            _save(model, os.path.join(HERE, name + ext))
        if name in ONNX:
            out = os.path.join(HERE, "onnx", name + ".onnx")
            convert(os.path.join(HERE, name + ".keras"), out)
            print("wrote", os.path.relpath(out), os.path.getsize(out), "bytes")


def build_legacy():
    import tf_keras

    models = define(tf_keras)
    for name in LEGACY:
        _save(models[name](), os.path.join(HERE, f"tfk_{name}.h5"))


def build_torch():
    import torch
    from torch import nn

    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from export_torch import EXPORTERS

    class ConvLstm(nn.Module):  # nn.LSTM has no activation option: always tanh
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(3, 8, 3)
            self.act = nn.ReLU()
            self.lstm = nn.LSTM(8, 16, batch_first=True)
            self.drop = nn.Dropout(0.3)
            self.head = nn.Linear(16, 1)

        def forward(self, x):  # (N, 3, 50)
            y = self.act(self.conv(x)).transpose(1, 2)  # (N, 48, 8): steps of the series
            o, _ = self.lstm(y)
            return self.head(self.drop(o[:, -1]))

    os.makedirs(os.path.join(HERE, "torch"), exist_ok=True)
    for kind, export in EXPORTERS.items():
        torch.manual_seed(0)
        path = os.path.join(HERE, "torch", f"t_conv1d_lstm.{kind}.onnx")
        export(ConvLstm().eval(), torch.randn(2, 3, 50), path)
        print("wrote", os.path.relpath(path), os.path.getsize(path), "bytes")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legacy", action="store_true", help="tf.keras 2 (tf_keras) .h5 files")
    parser.add_argument("--torch", action="store_true", help="PyTorch exports")
    args = parser.parse_args(argv)
    os.makedirs(HERE, exist_ok=True)
    if args.legacy:
        build_legacy()
    elif args.torch:
        build_torch()
    else:
        build_keras3()
    return 0


if __name__ == "__main__":
    sys.exit(main())
