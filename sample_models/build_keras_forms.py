"""Build the Keras recurrent-form, layout and op-layer samples (issue 11, families 7 and 5).

Run from the repository root with the TensorFlow/Keras extra installed::

    python sample_models/build_keras_forms.py            # Keras 3 cases (.keras and .h5)
    python sample_models/build_keras_forms.py --legacy   # tf.keras 2 cases (needs tf_keras;
                                                          # run it with TF_USE_LEGACY_KERAS=1
                                                          # in a venv that has tf-keras)

Files go to sample_models/keras_forms/. Sizes are tiny (a few filters and units); the
models are never trained. What each file is, and what the linter must say about it, is
pinned in tests/test_keras_forms.py.

Family 7 (recurrent forms and layouts): `RNN(LSTMCell)`, `RNN(GRUCell)`,
`RNN(StackedRNNCells([...]))`, `go_backwards=True`, `Bidirectional(merge_mode=...)` for
every mode, `data_format="channels_first"` convs and pooling.

Family 5 (op layers): Keras 3 `keras.ops.*` calls in a functional model (saved as
`keras.src.ops.numpy` op layers), tf.keras 2 `tf.reshape`/`tf.transpose`/... saved as
`TFOpLambda` / `SlicingOpLambda` layers.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import sys  # noqa: E402

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "keras_forms")


def _save(model, name, exts):
    os.makedirs(HERE, exist_ok=True)
    for ext in exts:
        path = os.path.join(HERE, name + ext)
        if os.path.exists(path):
            os.remove(path)
        model.save(path)
        print("wrote", os.path.relpath(path))


def keras3_models():
    import keras
    from keras import layers, ops

    models = {}

    def register(*exts):
        def deco(fn):
            models[fn.__name__] = (fn, exts or (".keras", ".h5"))
            return fn
        return deco

    def spatial_map(x):
        y = layers.Conv2D(4, 3)(x)
        y = layers.Dropout(0.2)(y)
        return layers.MaxPooling2D(2)(y)  # (15, 15, 4): H, W, C

    def crnn_map(x):
        y = layers.Conv2D(4, 3, padding="same")(x)
        y = layers.Dropout(0.2)(y)
        return layers.MaxPooling2D(2)(y)  # (8, 32, 4): H, W, C

    # ---- family 7: recurrent layers built from cells ---------------------------------
    def pixels_as_steps(rnn, name):
        x = keras.Input((32, 32, 3))
        y = layers.Reshape((225, 4))(spatial_map(x))
        y = rnn(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y), name=name)

    @register()
    def rnn_lstmcell_pixels():
        return pixels_as_steps(layers.RNN(layers.LSTMCell(4), name="rnn"), "rnn_lstmcell_pixels")

    @register()
    def rnn_grucell_pixels():
        return pixels_as_steps(layers.RNN(layers.GRUCell(4), name="rnn"), "rnn_grucell_pixels")

    @register()
    def rnn_stacked_pixels():
        cells = layers.StackedRNNCells([layers.LSTMCell(4), layers.LSTMCell(3)])
        return pixels_as_steps(layers.RNN(cells, name="rnn"), "rnn_stacked_pixels")

    @register()
    def rnn_go_backwards_pixels():
        return pixels_as_steps(layers.LSTM(4, go_backwards=True, name="lstm"),
                               "rnn_go_backwards_pixels")

    @register()
    def good_conv1d_rnn_lstmcell():
        x = keras.Input((100, 6))
        y = layers.Conv1D(8, 5, padding="same", activation="relu")(x)
        y = layers.MaxPooling1D(2)(y)
        y = layers.Dropout(0.2)(y)
        y = layers.RNN(layers.LSTMCell(4), return_sequences=True, name="rnn")(y)
        y = layers.RNN(layers.StackedRNNCells([layers.GRUCell(4), layers.LSTMCell(3)]),
                       go_backwards=True, name="rnn_stacked")(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y), name="good_conv1d_rnn")

    # ---- family 7: Bidirectional merge modes -------------------------------------------
    for mode in ("concat", "sum", "mul", "ave", None):
        tag = str(mode).lower()

        def good_crnn(mode=mode, tag=tag):
            # A correct CRNN (Permute then Reshape: width is time); each merge mode's
            # output width feeds a per-step Dense.
            x = keras.Input((16, 64, 1))
            y = layers.Permute((2, 1, 3))(crnn_map(x))  # (32, 8, 4): W, H, C
            y = layers.Reshape((32, 32))(y)
            out = layers.Bidirectional(layers.LSTM(4, return_sequences=True),
                                       merge_mode=mode, name="bilstm")(y)
            if mode is None:
                out = layers.Concatenate(name="join")(out)
            y = layers.Dense(5, activation="softmax", name="head")(out)
            return keras.Model(x, y, name=f"good_crnn_bidir_{tag}")

        def pixels(mode=mode, tag=tag):
            x = keras.Input((32, 32, 3))
            y = layers.Reshape((225, 4))(spatial_map(x))
            out = layers.Bidirectional(layers.RNN(layers.LSTMCell(4)), merge_mode=mode,
                                       name="bilstm")(y)
            if mode is None:
                out = layers.Concatenate(name="join")(out)
            return keras.Model(x, layers.Dense(2, activation="softmax")(out),
                               name=f"bidir_{tag}_pixels")

        good_crnn.__name__ = f"good_crnn_bidir_{tag}"
        pixels.__name__ = f"bidir_{tag}_pixels"
        register()(good_crnn)
        register(".keras")(pixels)

    # ---- family 7: channels_first ------------------------------------------------------
    def cf_map(x, filters=8):
        # (1, 16, 64) -> (8, 8, 32): C, H, W
        y = layers.Conv2D(filters, 3, padding="same", data_format="channels_first")(x)
        y = layers.Dropout(0.2)(y)
        return layers.MaxPooling2D(2, data_format="channels_first")(y)

    # ---- a Dense between the reshape and the RNN (tf2onnx: a Tensordot fold/unfold) ---
    def crnn_dense(permute: bool, name: str):
        x = keras.Input((16, 64, 1))
        y = crnn_map(x)  # (8, 32, 4): H, W, C
        if permute:
            y = layers.Permute((2, 1, 3))(y)  # (32, 8, 4): W, H, C
        y = layers.Reshape((32, 32))(y)  # without the Permute: each step mixes H and W
        y = layers.Dense(8, activation="relu", name="dense1")(y)
        y = layers.Dropout(0.2)(y)
        y = layers.Bidirectional(layers.LSTM(4, return_sequences=True), name="bilstm")(y)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y), name=name)

    @register()
    def good_crnn_dense():
        return crnn_dense(True, "good_crnn_dense")

    @register()
    def crnn_dense_no_permute():
        return crnn_dense(False, "crnn_dense_no_permute")

    @register()
    def cf_crnn_no_permute():
        # Reads the (C, H, W) map as if it were (W, C*H): each "step" is a chunk of memory.
        x = keras.Input((1, 16, 64))
        y = layers.Reshape((32, 64))(cf_map(x))
        y = layers.Bidirectional(layers.LSTM(4, return_sequences=True), name="bilstm")(y)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y), name="cf_crnn_no_permute")

    @register()
    def cf_crnn_height1_wide_channels():
        # (16, 1, 8) reshaped straight to (8, 16): the 8 "steps" are the channel pairs
        # (2t, 2t+1) at every column; the features a mix of channels and columns.
        x = keras.Input((1, 16, 16))
        y = cf_map(x, filters=16)  # (16, 8, 8)
        y = layers.MaxPooling2D((8, 1), data_format="channels_first")(y)  # (16, 1, 8)
        y = layers.Reshape((8, 16))(y)
        y = layers.LSTM(4, return_sequences=True, name="lstm")(y)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y),
                           name="cf_crnn_height1_wide_channels")

    @register()
    def cf_crnn_height1_no_permute():
        # Height pooled to 1 and the (C, 1, W) map reshaped straight to (W, C).
        x = keras.Input((1, 16, 64))
        y = cf_map(x)
        y = layers.MaxPooling2D((8, 1), data_format="channels_first")(y)  # (8, 1, 32)
        y = layers.Reshape((32, 8))(y)
        y = layers.LSTM(4, return_sequences=True, name="lstm")(y)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y),
                           name="cf_crnn_height1_no_permute")

    @register()
    def good_cf_crnn_height1():
        # height pooled to 1, then Permute((3, 1, 2)) puts width first: (W, C, 1) -> (W, C)
        x = keras.Input((1, 16, 64))
        y = layers.MaxPooling2D((8, 1), data_format="channels_first")(cf_map(x))  # (8, 1, 32)
        y = layers.Permute((3, 1, 2))(y)
        y = layers.Reshape((32, 8))(y)
        y = layers.LSTM(4, return_sequences=True, name="lstm")(y)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y), name="good_cf_crnn_height1")

    @register()
    def good_cf_crnn():
        x = keras.Input((1, 16, 64))
        y = layers.Permute((3, 1, 2))(cf_map(x))  # (32, 8, 8): W, C, H
        y = layers.Reshape((32, 64))(y)
        y = layers.Bidirectional(layers.LSTM(4, return_sequences=True), name="bilstm")(y)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y), name="good_cf_crnn")

    @register()
    def cf_pixels_as_steps():
        # channels_first map (C, H, W) permuted to (H, W, C) and pixels read as steps
        x = keras.Input((3, 32, 32))
        y = layers.Conv2D(4, 3, data_format="channels_first")(x)
        y = layers.Dropout(0.2)(y)
        y = layers.MaxPooling2D(2, data_format="channels_first")(y)  # (4, 15, 15)
        y = layers.Permute((2, 3, 1))(y)
        y = layers.Reshape((225, 4))(y)
        y = layers.LSTM(4, name="lstm")(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y), name="cf_pixels_as_steps")

    # ---- family 5: keras.ops op layers ---------------------------------------------------
    @register()
    def ops_reshape_pixels():
        x = keras.Input((32, 32, 3))
        y = ops.reshape(spatial_map(x), (-1, 225, 4))
        y = layers.LSTM(4, name="lstm")(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y), name="ops_reshape_pixels")

    @register()
    def ops_reshape_batch_pixels():
        # tf.reshape(features, (B, H*W, C)) in Keras 3: the dynamic batch is saved as null
        x = keras.Input((32, 32, 3))
        f = spatial_map(x)
        y = ops.reshape(f, (ops.shape(f)[0], 15 * 15, 4))
        y = layers.LSTM(4, name="lstm")(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y),
                           name="ops_reshape_batch_pixels")

    @register()
    def good_ops_crnn():
        # transpose (B, H, W, C) -> (B, W, H, C), reshape to (B, W, H*C), last step [:, -1]
        x = keras.Input((16, 64, 1))
        y = ops.transpose(crnn_map(x), (0, 2, 1, 3))
        y = ops.reshape(y, (-1, 32, 32))
        y = layers.LSTM(4, return_sequences=True, name="lstm")(y)
        y = ops.expand_dims(y[:, -1], 1)
        y = ops.squeeze(y, 1)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y), name="good_ops_crnn")

    @register()
    def good_ops_height_squeeze():
        # height pooled to 1, squeezed, then concatenated with itself along features
        x = keras.Input((16, 64, 1))
        y = layers.MaxPooling2D((8, 1))(crnn_map(x))  # (1, 32, 4)
        y = ops.squeeze(y, axis=1)  # (32, 4): W, C
        y = ops.concatenate([y, y], axis=-1)
        y = layers.LSTM(4, name="lstm")(y)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y),
                           name="good_ops_height_squeeze")

    @register()
    def ops_transpose_channels():
        # the transpose moves channels to the steps: (B, W, C) -> (B, C, W)
        x = keras.Input((16, 64, 1))
        y = layers.MaxPooling2D((8, 1))(crnn_map(x))  # (1, 32, 4)
        y = ops.squeeze(y, axis=1)
        y = ops.transpose(y, (0, 2, 1))  # (4, 32): C, W
        y = layers.LSTM(4, name="lstm")(y)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y),
                           name="ops_transpose_channels")

    @register()
    def ops_crnn_no_transpose():
        # the op-layer form of the CRNN reshape that needed a transpose first
        x = keras.Input((16, 64, 1))
        y = layers.Conv2D(8, 3, padding="same")(x)
        y = layers.MaxPooling2D(2)(layers.Dropout(0.2)(y))  # (8, 32, 8): H, W, C
        y = ops.reshape(y, (-1, 32, 64))  # meant (W, H * C)
        y = layers.LSTM(4, return_sequences=True, name="lstm")(y)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y),
                           name="ops_crnn_no_transpose")

    @register()
    def ops_flip_pixels():
        # keras.ops.flip keeps every axis (rows reversed are still rows): pixels as steps
        x = keras.Input((32, 32, 3))
        y = ops.flip(spatial_map(x), axis=1)
        y = layers.Reshape((225, 4))(y)
        y = layers.LSTM(4, name="lstm")(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y), name="ops_flip_pixels")

    @register()
    def ops_unknown_op():
        # an op outside the allow-list (keras.ops.sort): opaque, nothing guessed
        x = keras.Input((32, 32, 3))
        y = ops.sort(spatial_map(x), axis=-1)
        y = layers.Reshape((225, 4))(y)
        y = layers.LSTM(4, name="lstm")(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y), name="ops_unknown_op")

    return models


def legacy_models():
    """tf.keras 2 (tf_keras) models with tf.* calls saved as TFOpLambda/SlicingOpLambda."""
    import tensorflow as tf
    import tf_keras as keras
    from tf_keras import layers

    models = {}

    def register(fn):
        models[fn.__name__] = (fn, (".h5",))
        return fn

    def spatial_map(x):
        y = layers.Conv2D(4, 3)(x)
        y = layers.Dropout(0.2)(y)
        return layers.MaxPooling2D(2)(y)

    def crnn_map(x):
        y = layers.Conv2D(4, 3, padding="same")(x)
        y = layers.Dropout(0.2)(y)
        return layers.MaxPooling2D(2)(y)

    @register
    def tfop_reshape_pixels():
        x = keras.Input((32, 32, 3))
        f = spatial_map(x)
        y = tf.reshape(f, (tf.shape(f)[0], 15 * 15, 4))
        y = layers.LSTM(4, name="lstm")(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y), name="tfop_reshape_pixels")

    @register
    def tfop_reshape_static_pixels():
        x = keras.Input((32, 32, 3))
        y = tf.reshape(spatial_map(x), [-1, 225, 4])
        y = layers.LSTM(4, name="lstm")(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y),
                           name="tfop_reshape_static_pixels")

    @register
    def good_tfop_crnn():
        x = keras.Input((16, 64, 1))
        y = tf.transpose(crnn_map(x), perm=[0, 2, 1, 3])
        y = tf.reshape(y, [-1, 32, 32])
        y = layers.LSTM(4, return_sequences=True, name="lstm")(y)
        y = tf.expand_dims(y[:, -1], 1)
        y = tf.squeeze(y, axis=1)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y), name="good_tfop_crnn")

    @register
    def good_tfop_height_squeeze():
        x = keras.Input((16, 64, 1))
        y = layers.MaxPooling2D((8, 1))(crnn_map(x))
        y = tf.squeeze(y, axis=1)
        y = tf.concat([y, y], axis=-1)
        y = layers.LSTM(4, name="lstm")(y)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y),
                           name="good_tfop_height_squeeze")

    @register
    def tfk_rnn_stacked_pixels():
        x = keras.Input((32, 32, 3))
        y = layers.Reshape((225, 4))(spatial_map(x))
        cells = layers.StackedRNNCells([layers.LSTMCell(4), layers.GRUCell(3)])
        y = layers.RNN(cells, name="rnn")(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y),
                           name="tfk_rnn_stacked_pixels")

    @register
    def tfk_good_conv1d_rnn_cells():
        x = keras.Input((100, 6))
        y = layers.Conv1D(8, 5, padding="same", activation="relu")(x)
        y = layers.Dropout(0.2)(layers.MaxPooling1D(2)(y))
        y = layers.Bidirectional(layers.RNN(layers.LSTMCell(4), return_sequences=True),
                                 merge_mode="ave", name="bilstm")(y)
        y = layers.RNN(layers.StackedRNNCells([layers.GRUCell(4), layers.LSTMCell(3)]),
                       go_backwards=True, name="rnn_stacked")(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y),
                           name="tfk_good_conv1d_rnn_cells")

    @register
    def tfk_cf_crnn_no_permute():
        x = keras.Input((1, 16, 64))
        y = layers.Conv2D(8, 3, padding="same", data_format="channels_first")(x)
        y = layers.Dropout(0.2)(y)
        y = layers.MaxPooling2D(2, data_format="channels_first")(y)  # (8, 8, 32): C, H, W
        y = layers.Reshape((32, 64))(y)
        y = layers.Bidirectional(layers.LSTM(4, return_sequences=True), name="bilstm")(y)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y),
                           name="tfk_cf_crnn_no_permute")

    @register
    def tfk_good_cf_crnn():
        x = keras.Input((1, 16, 64))
        y = layers.Conv2D(8, 3, padding="same", data_format="channels_first")(x)
        y = layers.Dropout(0.2)(y)
        y = layers.MaxPooling2D(2, data_format="channels_first")(y)
        y = layers.Permute((3, 1, 2))(y)  # (32, 8, 8): W, C, H
        y = layers.Reshape((32, 64))(y)
        y = layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode="sum",
                                 name="bilstm")(y)
        return keras.Model(x, layers.Dense(5, activation="softmax")(y), name="tfk_good_cf_crnn")

    @register
    def tfop_reverse_pixels():
        x = keras.Input((32, 32, 3))
        y = tf.reverse(spatial_map(x), axis=[1])
        y = layers.Reshape((225, 4))(y)
        y = layers.LSTM(4, name="lstm")(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y),
                           name="tfop_reverse_pixels")

    @register
    def tfop_unknown_op():
        x = keras.Input((32, 32, 3))
        y = tf.sort(spatial_map(x), axis=-1)
        y = layers.Reshape((225, 4))(y)
        y = layers.LSTM(4, name="lstm")(y)
        return keras.Model(x, layers.Dense(2, activation="softmax")(y), name="tfop_unknown_op")

    return models, keras


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--legacy", action="store_true", help="build the tf.keras 2 cases")
    parser.add_argument("--only", action="append", default=[])
    args = parser.parse_args(argv)
    if args.legacy:
        models, keras = legacy_models()
    else:
        import keras
        models = keras3_models()
    for name, (fn, exts) in sorted(models.items()):
        if args.only and name not in args.only:
            continue
        keras.backend.clear_session()
        keras.utils.set_random_seed(0)
        _save(fn(), name, exts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
