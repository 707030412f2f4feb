"""Build the small sample models that the cnnlstm_lint tests lint.

Run from the repository root (needs the TensorFlow/Keras extra)::

    python sample_models/build.py                 # build everything
    python sample_models/build.py --only cl001_spatial_reshape [--only ...]
    python sample_models/build.py --list          # print the model names

Every file is written next to this script. The models are never trained; they
only exist so the linter has real Keras files (``.keras`` zips, legacy ``.h5``
and bare ``to_json`` output) to read. Filter and unit counts are tiny so every
file stays well below 400 KB. Weights are deterministic
(``keras.utils.set_random_seed(0)`` and a fresh Keras session per model, which
also keeps auto-generated layer names stable), although the ``.keras`` zip
carries a save timestamp, so the bytes differ from run to run.

What gets built:

* ``cl001_*`` .. ``cl008_*`` -- CNN->LSTM wiring mistakes, one or more per rule
  (spatial axes read as time, channels read as time, time axis clipped into
  features, oversized per-step features, single-step sequences, no
  regularisation, CRNN without a permute, concat branch imbalance).
* ``good_*`` -- legitimate architectures that must lint clean (every one has
  some dropout).
* ``opaque_lambda`` -- a Lambda layer in the middle; the linter has to treat it
  as opaque and must never execute the stored code.
* ``legacy_tfkeras_*`` -- the same kind of models saved by ``tf_keras`` (the
  Keras 2 API) in the old HDF5 / JSON layout. Built in a subprocess
  (``--legacy``) so Keras 2 and Keras 3 never share an interpreter; skipped
  with a note when ``tf_keras`` is not installed.

Some models are compiled (adam + sparse_categorical_crossentropy) so their
files carry a ``compile_config`` / ``training_config``.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.environ.get("SAMPLE_MODELS_OUT", HERE)  # --out sets it, for the legacy subprocess too

LEGACY_NAMES = ("legacy_tfkeras_cl001", "legacy_tfkeras_lrcn")


def _path(name, ext):
    return os.path.join(OUT, name + ext)


# --------------------------------------------------------------------------
# Keras 3 models. Each builder returns (model, extra_formats); extra formats
# are ".h5" (legacy HDF5 via model.save) and ".json" (model.to_json()).
# --------------------------------------------------------------------------

def _builders():
    import keras
    from keras import layers

    def compile_(model):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        return model

    builders = {}

    def register(*extra):
        def deco(fn):
            builders[fn.__name__] = (fn, extra)
            return fn
        return deco

    # ---- bad models -------------------------------------------------------

    @register(".h5", ".json")
    def cl001_spatial_reshape():
        # A 15x15 feature map is flattened row-major into 225 "time steps":
        # the LSTM walks over pixels, not over time.
        inp = keras.Input((32, 32, 3))
        x = layers.Conv2D(8, 3, activation="relu")(inp)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Reshape((225, 8))(x)
        x = layers.LSTM(16, name="lstm")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(10, activation="softmax")(x)
        return compile_(keras.Model(inp, out, name="cl001_spatial_reshape"))

    @register(".h5")
    def cl001_stacked_sequential():
        # Same spatial-as-time mistake, but hidden across two nested
        # Sequential models: the Reshape lives in one, the LSTM in the other.
        cnn_model = keras.Sequential([
            keras.Input((32, 32, 3)),
            layers.Conv2D(8, 3),
            layers.MaxPooling2D(2),
            layers.Reshape((225, 8)),
        ], name="cnn_model")
        lstm_model = keras.Sequential([
            layers.LSTM(16),
            layers.Dropout(0.3),
            layers.Dense(10),
        ], name="lstm_model")
        model = keras.Sequential([cnn_model, lstm_model], name="stacked")
        model.build((None, 32, 32, 3))
        if not model.built:  # pragma: no cover - older Keras fallback
            model(keras.ops.zeros((1, 32, 32, 3)))
        return model

    @register()
    def cl002_channels_as_time():
        # Global pooling leaves a 16-channel vector which is reshaped to
        # 16 steps x 1 feature: the channel axis becomes "time".
        inp = keras.Input((32, 32, 3))
        x = layers.Conv2D(8, 3)(inp)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Conv2D(16, 3)(x)
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Reshape((16, 1))(x)
        x = layers.LSTM(8, name="lstm")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(10)(x)
        return keras.Model(inp, out, name="cl002_channels_as_time")

    @register()
    def cl002_permute_channels():
        # Conv1D keeps time on axis 1, then Permute swaps it with the
        # channels: the LSTM iterates over 16 filters instead of 98 steps.
        inp = keras.Input((100, 4))
        x = layers.Conv1D(16, 3)(inp)
        x = layers.Permute((2, 1))(x)
        x = layers.LSTM(8, name="lstm")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(1)(x)
        return keras.Model(inp, out, name="cl002_permute_channels")

    @register()
    def cl003_reshape_clip():
        # 8 frames are merged into one tall image (time folded into height),
        # and the later Reshape cuts "time" at a boundary unrelated to frames.
        inp = keras.Input((8, 16, 16, 1))
        x = layers.Reshape((128, 16, 1))(inp)
        x = layers.Conv2D(4, 3, padding="same")(x)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Reshape((64, 32))(x)
        x = layers.LSTM(8, name="lstm")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(5)(x)
        return keras.Model(inp, out, name="cl003_reshape_clip")

    @register()
    def cl003_flatten_clip():
        # Flatten + Dense mixes all 6 frames together; the 6 "steps" that the
        # Reshape invents afterwards no longer correspond to input frames.
        inp = keras.Input((6, 16, 16, 1))
        x = layers.Flatten()(inp)
        x = layers.Dense(48)(x)
        x = layers.Reshape((6, 8))(x)
        x = layers.LSTM(8, name="lstm")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(3)(x)
        return keras.Model(inp, out, name="cl003_flatten_clip")

    @register()
    def cl004_oversized_features():
        # Each time step feeds 24*24*8 = 4608 raw features into a 2-unit
        # LSTM: almost all recurrent parameters sit in the input kernel.
        inp = keras.Input((4, 24, 24, 1))
        x = layers.TimeDistributed(layers.Conv2D(8, 3, padding="same"))(inp)
        x = layers.TimeDistributed(layers.Flatten())(x)
        x = layers.LSTM(2, name="lstm")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(2)(x)
        return keras.Model(inp, out, name="cl004_oversized_features")

    @register()
    def cl005_gap_single_step():
        # A pooled feature vector is wrapped as a sequence of length 1, so
        # the LSTM has no recurrence to exploit.
        inp = keras.Input((32, 32, 3))
        x = layers.Conv2D(8, 3)(inp)
        x = layers.MaxPooling2D(2)(x)
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Reshape((1, 8))(x)
        x = layers.LSTM(8, name="lstm")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(10)(x)
        return keras.Model(inp, out, name="cl005_gap_single_step")

    @register()
    def cl005_dense_single_step():
        # Sequential variant of the single-step sequence: Dense(64) reshaped
        # to (1, 64) before the LSTM.
        return keras.Sequential([
            keras.Input((28, 28, 1)),
            layers.Conv2D(4, 3),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dense(64),
            layers.Reshape((1, 64)),
            layers.LSTM(8, name="lstm"),
            layers.Dropout(0.3),
            layers.Dense(10),
        ], name="cl005_dense_single_step")

    @register()
    def cl006_no_dropout():
        # A correct LRCN (per-frame CNN, LSTM over frames) but with no dropout
        # or weight regularisation anywhere.
        frame_cnn = keras.Sequential([
            keras.Input((32, 32, 3)),
            layers.Conv2D(8, 3),
            layers.MaxPooling2D(2),
            layers.GlobalAveragePooling2D(),
        ], name="frame_cnn")
        inp = keras.Input((8, 32, 32, 3))
        x = layers.TimeDistributed(frame_cnn)(inp)
        x = layers.LSTM(16, name="lstm")(x)
        out = layers.Dense(5)(x)
        return keras.Model(inp, out, name="cl006_no_dropout")

    def _crnn_trunk(inp):
        x = layers.Conv2D(8, 3, padding="same")(inp)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Conv2D(16, 3, padding="same")(x)
        return layers.MaxPooling2D(2)(x)  # -> (8, 32, 16): H, W, C

    @register()
    def cl007_crnn_no_permute():
        # OCR-style CRNN whose (H=8, W=32, C=16) map is reshaped straight to
        # (32, 128): the 32 "steps" are cut along height-major memory order,
        # not along the image width.
        inp = keras.Input((32, 128, 1))
        x = _crnn_trunk(inp)
        x = layers.Reshape((32, 128))(x)
        x = layers.Bidirectional(layers.LSTM(16, return_sequences=True),
                                 name="bilstm")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(20)(x)
        return keras.Model(inp, out, name="cl007_crnn_no_permute")

    def _fusion(name, image_head):
        # Two-branch model: an image branch ending in `image_head` and a 16-unit
        # LSTM over a sequence, joined by a Concatenate.
        image = keras.Input((32, 32, 3), name="image")
        a = layers.Conv2D(16, 3, padding="same")(image)
        a = image_head(a)
        seq = keras.Input((20, 8), name="sequence")
        b = layers.LSTM(16, name="lstm")(seq)
        x = layers.Concatenate(name="concat")([a, b])
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(2)(x)
        return keras.Model([image, seq], out, name=name)

    @register()
    def cl008_concat_imbalance():
        # The flattened image branch (16384 wide) swamps the 16-wide LSTM branch.
        return _fusion("cl008_concat_imbalance", layers.Flatten(name="flatten"))

    # ---- legitimate models ------------------------------------------------

    @register()
    def good_gap_head():
        # Plain CNN classifier, no recurrence at all.
        inp = keras.Input((32, 32, 3))
        x = layers.Conv2D(8, 3)(inp)
        x = layers.MaxPooling2D(2)(x)
        x = layers.GlobalAveragePooling2D()(x)
        x = layers.Dense(16)(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(10)(x)
        return keras.Model(inp, out, name="good_gap_head")

    @register(".h5")
    def good_crnn_ocr():
        # The fixed CRNN: Permute((2, 1, 3)) puts width first, so each of the
        # 32 steps is one image column (8 rows x 16 channels = 128 features).
        inp = keras.Input((32, 128, 1))
        x = _crnn_trunk(inp)
        x = layers.Permute((2, 1, 3))(x)
        x = layers.Reshape((32, 128))(x)
        x = layers.Bidirectional(layers.LSTM(16, return_sequences=True),
                                 name="bilstm")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(20)(x)
        return keras.Model(inp, out, name="good_crnn_ocr")

    @register()
    def good_crnn_height_pooled():
        # Height pooled down to 1, so Reshape (1, 32, 16) -> (32, 16) just
        # drops a unit axis and the steps run along the width.
        inp = keras.Input((16, 64, 1))
        x = layers.Conv2D(8, 3, padding="same")(inp)
        x = layers.MaxPooling2D((2, 2))(x)
        x = layers.Conv2D(16, 3, padding="same")(x)
        x = layers.MaxPooling2D((8, 1))(x)
        x = layers.Reshape((32, 16))(x)
        x = layers.LSTM(16, return_sequences=True)(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(20)(x)
        return keras.Model(inp, out, name="good_crnn_height_pooled")

    @register()
    def good_audio_crnn():
        # Spectrogram with time on axis 1: pooling only the mel axis keeps all
        # 128 frames, and Reshape (128, 10, 8) -> (128, 80) keeps time leading.
        inp = keras.Input((128, 40, 1))
        x = layers.Conv2D(8, 3, padding="same")(inp)
        x = layers.MaxPooling2D((1, 2))(x)
        x = layers.Conv2D(8, 3, padding="same")(x)
        x = layers.MaxPooling2D((1, 2))(x)
        x = layers.Reshape((128, 80))(x)
        x = layers.GRU(16, name="gru")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(10)(x)
        return keras.Model(inp, out, name="good_audio_crnn")

    @register(".h5")
    def good_lrcn():
        # cl006 fixed: the same LRCN with dropout after the LSTM.
        frame_cnn = keras.Sequential([
            keras.Input((32, 32, 3)),
            layers.Conv2D(8, 3),
            layers.MaxPooling2D(2),
            layers.GlobalAveragePooling2D(),
        ], name="frame_cnn")
        inp = keras.Input((8, 32, 32, 3))
        x = layers.TimeDistributed(frame_cnn)(inp)
        x = layers.LSTM(16, name="lstm")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(5)(x)
        return compile_(keras.Model(inp, out, name="good_lrcn"))

    @register()
    def good_lrcn_layers():
        # LRCN built from individually TimeDistributed layers; 8*8*8 = 512
        # features per frame is a sane LSTM input width.
        inp = keras.Input((8, 32, 32, 3))
        x = layers.TimeDistributed(layers.Conv2D(8, 3, padding="same"))(inp)
        x = layers.TimeDistributed(layers.MaxPooling2D(4))(x)
        x = layers.TimeDistributed(layers.Flatten())(x)
        x = layers.LSTM(16)(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(5)(x)
        return keras.Model(inp, out, name="good_lrcn_layers")

    @register()
    def good_convlstm2d():
        # ConvLSTM2D does convolution and recurrence in one layer; its
        # regularisation is the layer's own dropout argument.
        inp = keras.Input((8, 32, 32, 1))
        x = layers.ConvLSTM2D(4, 3, padding="same", return_sequences=False,
                              dropout=0.2)(inp)
        x = layers.GlobalAveragePooling2D()(x)
        out = layers.Dense(5)(x)
        return keras.Model(inp, out, name="good_convlstm2d")

    @register()
    def good_conv3d():
        # Conv3D over (T, H, W) with pooling that leaves time alone; the
        # Reshape to (8, 1024) keeps the 8 frames as the steps.
        inp = keras.Input((8, 32, 32, 1))
        x = layers.Conv3D(4, 3, padding="same")(inp)
        x = layers.MaxPooling3D((1, 2, 2))(x)
        x = layers.Reshape((8, 1024))(x)
        x = layers.LSTM(8)(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(5)(x)
        return keras.Model(inp, out, name="good_conv3d")

    @register()
    def good_conv1d_lstm():
        # Conv1D front end over a signal; time stays on axis 1 throughout.
        inp = keras.Input((100, 4))
        x = layers.Conv1D(16, 5)(inp)
        x = layers.MaxPooling1D(2)(x)
        x = layers.LSTM(16)(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(1)(x)
        return keras.Model(inp, out, name="good_conv1d_lstm")

    @register()
    def good_text_cnn_lstm():
        # Token ids -> Embedding -> Conv1D -> LSTM: the classic text model.
        inp = keras.Input((50,), dtype="int32")
        x = layers.Embedding(500, 16)(inp)
        x = layers.Conv1D(16, 3)(x)
        x = layers.MaxPooling1D(2)(x)
        x = layers.LSTM(16)(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(5)(x)
        return keras.Model(inp, out, name="good_text_cnn_lstm")

    @register(".json")
    def good_sequential_mnist():
        # Row-by-row MNIST: 28 rows as 28 steps is a deliberate, well-known
        # choice and has no CNN in front, so no CNN->LSTM rule applies.
        return compile_(keras.Sequential([
            keras.Input((28, 28)),
            layers.LSTM(32),
            layers.Dropout(0.3),
            layers.Dense(10),
        ], name="good_sequential_mnist"))

    @register()
    def good_concat_balanced():
        # cl008 fixed: global pooling makes the image branch 16 wide, like the LSTM.
        return _fusion("good_concat_balanced", layers.GlobalAveragePooling2D(name="gap"))

    @register()
    def good_shared_multi_io():
        # Graph-shape stress test: two inputs, one layer shared by both
        # (two inbound nodes), two LSTMs, two named outputs.
        a_in = keras.Input((20, 8), name="a")
        b_in = keras.Input((20, 8), name="b")
        shared = layers.Dense(8, name="shared_dense")
        a = layers.LSTM(8, name="lstm_a")(shared(a_in))
        b = layers.LSTM(8, name="lstm_b")(shared(b_in))
        x = layers.Concatenate(name="concat")([a, b])
        x = layers.Dropout(0.3)(x)
        out_a = layers.Dense(1, name="out_a")(x)
        out_b = layers.Dense(3, name="out_b")(x)
        return keras.Model([a_in, b_in], [out_a, out_b],
                           name="good_shared_multi_io")

    @register()
    def opaque_lambda():
        # The cl001 mistake behind a Lambda. The stored function is opaque:
        # the linter must carry shapes across it without executing it.
        inp = keras.Input((32, 32, 3))
        x = layers.Conv2D(8, 3)(inp)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Lambda(lambda t: t * 2.0, name="scale")(x)
        x = layers.Reshape((225, 8))(x)
        x = layers.LSTM(16)(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(10)(x)
        return keras.Model(inp, out, name="opaque_lambda")

    return builders


def build_keras3(names=None):
    import keras
    import warnings

    builders = _builders()
    if names:
        unknown = [n for n in names if n not in builders]
        if unknown:
            raise SystemExit("unknown model(s): %s" % ", ".join(unknown))
    for name, (fn, extra) in builders.items():
        if names and name not in names:
            continue
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        model = fn()
        written = [_path(name, ".keras")]
        model.save(written[0])
        if ".h5" in extra:
            written.append(_path(name, ".h5"))
            with warnings.catch_warnings():
                # Keras 3 warns that HDF5 is a legacy format; that is the point.
                warnings.simplefilter("ignore")
                model.save(written[-1])
        if ".json" in extra:
            written.append(_path(name, ".json"))
            with open(written[-1], "w") as fh:
                fh.write(model.to_json())
        for path in written:
            print("wrote %-40s %8d bytes" % (os.path.basename(path),
                                             os.path.getsize(path)))


# --------------------------------------------------------------------------
# tf_keras (Keras 2 API) models in the legacy layout. Runs in its own process.
# --------------------------------------------------------------------------

def build_legacy(names=None):
    import logging
    import warnings

    try:
        import tf_keras
    except ImportError:
        print("note: tf_keras not installed; skipping legacy_tfkeras_* models")
        return
    # HDF5 is deliberately the legacy format here; keep the output quiet.
    warnings.simplefilter("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    from tf_keras import layers

    def written(path):
        print("wrote %-40s %8d bytes" % (os.path.basename(path),
                                         os.path.getsize(path)))

    if not names or "legacy_tfkeras_cl001" in names:
        # Keras 2 save of the cl001 spatial-as-time model (HDF5 + JSON).
        tf_keras.backend.clear_session()
        tf_keras.utils.set_random_seed(0)
        inp = tf_keras.Input((32, 32, 3))
        x = layers.Conv2D(8, 3, activation="relu")(inp)
        x = layers.MaxPooling2D(2)(x)
        x = layers.Reshape((225, 8))(x)
        x = layers.LSTM(16, name="lstm")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(10, activation="softmax")(x)
        model = tf_keras.Model(inp, out, name="legacy_tfkeras_cl001")
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                      metrics=["accuracy"])
        path = _path("legacy_tfkeras_cl001", ".h5")
        model.save(path, save_format="h5")
        written(path)
        path = _path("legacy_tfkeras_cl001", ".json")
        with open(path, "w") as fh:
            fh.write(model.to_json())
        written(path)

    if not names or "legacy_tfkeras_lrcn" in names:
        # Keras 2 save of good_lrcn: TimeDistributed wrapping a Sequential,
        # which the old layout stores as a nested config inside the wrapper.
        tf_keras.backend.clear_session()
        tf_keras.utils.set_random_seed(0)
        frame_cnn = tf_keras.Sequential([
            tf_keras.Input((32, 32, 3)),
            layers.Conv2D(8, 3),
            layers.MaxPooling2D(2),
            layers.GlobalAveragePooling2D(),
        ], name="frame_cnn")
        inp = tf_keras.Input((8, 32, 32, 3))
        x = layers.TimeDistributed(frame_cnn)(inp)
        x = layers.LSTM(16, name="lstm")(x)
        x = layers.Dropout(0.3)(x)
        out = layers.Dense(5)(x)
        model = tf_keras.Model(inp, out, name="legacy_tfkeras_lrcn")
        path = _path("legacy_tfkeras_lrcn", ".h5")
        model.save(path, save_format="h5")
        written(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="build only this model (repeatable)")
    parser.add_argument("--list", action="store_true",
                        help="print the model names and exit")
    parser.add_argument("--out", metavar="DIR",
                        help="write the files to DIR instead of next to this script")
    parser.add_argument("--legacy", action="store_true",
                        help=argparse.SUPPRESS)  # internal: tf_keras part
    args = parser.parse_args(argv)
    if args.out:
        global OUT
        os.makedirs(args.out, exist_ok=True)
        OUT = os.environ["SAMPLE_MODELS_OUT"] = os.path.abspath(args.out)

    if args.legacy:
        build_legacy(args.only)
        return 0

    if args.list:
        for name in list(_builders()) + list(LEGACY_NAMES):
            print(name)
        return 0

    only = args.only or []
    keras3_names = [n for n in only if n not in LEGACY_NAMES]
    legacy_names = [n for n in only if n in LEGACY_NAMES]

    if not only or keras3_names:
        build_keras3(keras3_names or None)
    if not only or legacy_names:
        cmd = [sys.executable, os.path.abspath(__file__), "--legacy"]
        for n in legacy_names:
            cmd += ["--only", n]
        subprocess.run(cmd, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
