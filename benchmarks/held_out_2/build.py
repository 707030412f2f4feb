"""Build the second held-aside set: more real public CNN -> LSTM/GRU architectures, shrunk.

    python benchmarks/held_out_2/build.py            # build everything into this folder
    python benchmarks/held_out_2/build.py --only desed_crnn --only eegnet_lstm
    python benchmarks/held_out_2/build.py --list

None of these architectures is in benchmarks/held_out/ (the first held-aside set) or was
used to tune the linter. Each one follows a piece of public code, cited in the comment
above its builder: keras-io, research repositories (DCASE, clovaai, HPI, keunwoochoi),
tutorials, and the CNN->RNN mistakes people post in questions. Layer order, reshapes,
permutes, wrappers, dropout / regularizers (present or absent), recurrent settings and,
where they do not change the file size, the input sizes follow the source; channel and
unit counts are shrunk so the files stay small. Nothing is trained.

Written per Keras 3 model: ``<name>.keras`` and ``<name>.h5`` (``model.save``) and
``<name>.onnx`` (tf2onnx, opset 17, through a functional wrapper of the same layers as in
sample_models/convert_onnx.py). The one tf.keras 2 model (``tfk_*``, built with
``import tf_keras as keras`` in a child process, since tf_keras and Keras 3 do not share a
process well) is saved the same three ways.

Written per PyTorch model (``eval()``): ``<name>.ts.onnx`` (``dynamo=False``, opset 17,
``dynamic_axes``) and ``<name>.dynamo.onnx`` (``dynamo=True``, opset 18,
``torch.export.Dim``; the per-node stack traces are stripped). Every ONNX file is checked
with ``onnx.checker`` and run once in onnxruntime on a batch of 2 against the framework's
own output. A failed export is printed (and listed at the end); the rest goes on.

Needs TensorFlow/Keras 3, tf_keras, tf2onnx, torch, onnx, onnxscript, onnxruntime.
"""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import traceback  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


# ---------------------------------------------------------------------------------------
# Keras 3 models. Each builder returns a keras.Model (Sequential where the source is).
# ---------------------------------------------------------------------------------------

def keras_builders():
    import keras
    from keras import layers

    b = {}

    def reg(fn):
        b[fn.__name__] = fn
        return fn

    @reg
    def video_gru_masked():
        # keras-io "Video Classification with a CNN-RNN Architecture" (Sayak Paul),
        # keras-team/keras-io examples/vision/video_classification.py,
        # get_sequence_model(): the frame features (InceptionV3 run per frame, outside the
        # model) come in as (MAX_SEQ_LENGTH=20, NUM_FEATURES=2048) with a boolean frame
        # mask (MAX_SEQ_LENGTH,); GRU(16, return_sequences=True)(features, mask=mask) ->
        # GRU(8) -> Dropout(0.4) -> Dense(8, relu) -> Dense(classes, softmax).
        # Here NUM_FEATURES 2048 -> 32 and 5 classes; everything else as in the example.
        frame_features_input = keras.Input((20, 32), name="frame_features")
        mask_input = keras.Input((20,), dtype="bool", name="frame_mask")
        x = layers.GRU(16, return_sequences=True)(frame_features_input, mask=mask_input)
        x = layers.GRU(8)(x)
        x = layers.Dropout(0.4)(x)
        x = layers.Dense(8, activation="relu")(x)
        output = layers.Dense(5, activation="softmax")(x)
        return keras.Model([frame_features_input, mask_input], output, name="video_gru")

    @reg
    def music_tagger_crnn():
        # keunwoochoi/music-auto_tagging-keras music_tagger_crnn.py, MusicTaggerCRNN
        # (Choi et al. 2016), in the 'tf' (channels_last) ordering: mel-spectrogram
        # (96 freq, 1366 frames, 1) -> ZeroPadding2D((0, 37)) -> BatchNormalization(axis=
        # time) -> 4 x [Conv2D 3x3 same, BN, ELU, MaxPooling2D (2,2)/(3,3)/(4,4)/(4,4),
        # Dropout(0.1)] -> the map is (1 freq, 15 frames, C) -> Reshape((15, C)) ->
        # GRU(32, return_sequences=True) -> GRU(32) -> Dropout(0.3) -> Dense(50, sigmoid).
        # Frequency is pooled to 1, so the steps are the 15 time frames. Input size as in
        # the source; filters 64/128 -> 4/8, GRUs 32 -> 8.
        inp = layers.Input(shape=(96, 1366, 1), name="melgram")
        x = layers.ZeroPadding2D(padding=(0, 37))(inp)
        x = layers.BatchNormalization(axis=2, name="bn_0_freq")(x)
        for i, (filters, pool) in enumerate([(4, 2), (8, 3), (8, 4), (8, 4)], start=1):
            x = layers.Conv2D(filters, (3, 3), padding="same", name=f"conv{i}")(x)
            x = layers.BatchNormalization(axis=3, name=f"bn{i}")(x)
            x = layers.ELU()(x)
            x = layers.MaxPooling2D(pool_size=(pool, pool), strides=(pool, pool), name=f"pool{i}")(x)
            x = layers.Dropout(0.1, name=f"dropout{i}")(x)
        x = layers.Reshape((15, 8))(x)
        x = layers.GRU(8, return_sequences=True, name="gru1")(x)
        x = layers.GRU(8, return_sequences=False, name="gru2")(x)
        x = layers.Dropout(0.3)(x)
        x = layers.Dense(50, activation="sigmoid", name="output")(x)
        return keras.Model(inp, x, name="music_tagger_crnn")

    @reg
    def crnn_lid():
        # HPI-DeepLearning/crnn-lid keras/models/crnn.py (Bartz et al. 2017, "Language
        # identification using deep convolutional recurrent neural networks"; also copied
        # as py-lidbox speechbox/models/crnn.py): Sequential of 7 valid 3x3 Conv2D (relu,
        # W_regularizer=l2(0.01)) each with BatchNormalization, MaxPooling2D(2, 2) after
        # conv 1, 2, 4, 6, 7 on a (129 freq, 500 time, 1) spectrogram image -> the map is
        # (1, 12, C) -> Permute((2, 1, 3)) "(bs, y, x, c) --> (bs, x, y, c)" ->
        # Reshape((x, y * c)) -> Bidirectional(LSTM(256), merge_mode="concat") -> Dense
        # softmax. No dropout, but every conv has an L2 kernel regularizer. Input size as
        # in the source; filters 64..512 -> 4..16, LSTM 256 -> 8, 4 languages.
        wd = keras.regularizers.l2(0.01)
        m = keras.Sequential(name="crnn_lid")
        m.add(keras.Input(shape=(129, 500, 1)))
        plan = [(4, True), (8, True), (8, False), (8, True), (16, False), (16, True), (16, True)]
        for filters, pool in plan:
            m.add(layers.Conv2D(filters, (3, 3), kernel_regularizer=wd, activation="relu"))
            m.add(layers.BatchNormalization())
            if pool:
                m.add(layers.MaxPooling2D(pool_size=(2, 2), strides=(2, 2)))
        m.add(layers.Permute((2, 1, 3)))
        _, x_, y_, c_ = m.output_shape
        m.add(layers.Reshape((x_, y_ * c_)))
        m.add(layers.Bidirectional(layers.LSTM(8, return_sequences=False), merge_mode="concat"))
        m.add(layers.Dense(4, activation="softmax"))
        return m

    @reg
    def eegnet_lstm():
        # A public EEGNet-LSTM implementation ("An implementation of the EEGNet-LSTM model
        # as described in Oliveira & Rodrigues (2023), Empirical comparison of deep
        # learning methods for EEG decoding", create_model(); EEGNet blocks from
        # vlawhern/arl-eegmodels): Input((Chans=64, Samples, 1)) -> Conv2D(F1=16, (1, 16),
        # same, no bias) -> BN -> DepthwiseConv2D((Chans, 1), depth_multiplier=4,
        # max_norm(1.)) -> BN -> ELU -> AveragePooling2D((1, 4)) -> Dropout(0.2) ->
        # SeparableConv2D(16, (1, 16), same) -> BN -> ELU -> AveragePooling2D((1, 8)) ->
        # Dropout -> Reshape((32, -1)) -> LSTM(32, return_sequences) -> BN -> Dropout ->
        # LSTM(32) -> BN -> Dropout -> Dense(activity_regularizer=L2) -> softmax.
        # Samples is read from the data; the source loads 64-channel EEG (channels = 64),
        # i.e. PhysioNet EEG Motor Movement/Imagery at 160 Hz, whose 4 s MNE epochs have
        # 641 samples. The map before the Reshape is then (1, 20, 16) = 320 values, and the
        # hard-coded Reshape((32, -1)) cuts it into 32 "steps" of 10: each step is part of
        # one time position's 16 filters, not a time position. Sizes as in the source
        # except the two LSTMs (32 -> 8 units).
        chans, samples = 64, 641
        input1 = layers.Input(shape=(chans, samples, 1))
        block1 = layers.Conv2D(16, (1, 16), padding="same", use_bias=False)(input1)
        block1 = layers.BatchNormalization()(block1)
        block1 = layers.DepthwiseConv2D((chans, 1), use_bias=False, depth_multiplier=4,
                                        depthwise_constraint=keras.constraints.max_norm(1.0))(block1)
        block1 = layers.BatchNormalization()(block1)
        block1 = layers.Activation("elu")(block1)
        block1 = layers.AveragePooling2D((1, 4))(block1)
        block1 = layers.Dropout(0.2)(block1)
        block2 = layers.SeparableConv2D(16, (1, 16), use_bias=False, padding="same")(block1)
        block2 = layers.BatchNormalization()(block2)
        block2 = layers.Activation("elu")(block2)
        block2 = layers.AveragePooling2D((1, 8))(block2)
        block2 = layers.Dropout(0.2)(block2)
        reshape = layers.Reshape((32, -1))(block2)
        lstm1 = layers.LSTM(8, return_sequences=True)(reshape)
        norm1 = layers.BatchNormalization()(lstm1)
        dropout1 = layers.Dropout(0.2)(norm1)
        lstm2 = layers.LSTM(8)(dropout1)
        norm2 = layers.BatchNormalization()(lstm2)
        dropout2 = layers.Dropout(0.2)(norm2)
        dense = layers.Dense(4, activity_regularizer=keras.regularizers.L2(0.2))(dropout2)
        softmax = layers.Activation("softmax", name="softmax")(dense)
        return keras.Model(inputs=input1, outputs=softmax, name="eegnet_lstm")

    @reg
    def power_cnn_lstm_encdec():
        # machinelearningmastery.com "How to Develop LSTM Models for Multi-Step Time Series
        # Forecasting of Household Power Consumption" (J. Brownlee), section "CNN-LSTM
        # Encoder-Decoder Model With Univariate Input": Sequential Conv1D(64, 3, relu,
        # input_shape=(n_timesteps=14, n_features=1)) -> Conv1D(64, 3, relu) ->
        # MaxPooling1D(2) -> Flatten -> RepeatVector(n_outputs=7) -> LSTM(200,
        # activation='relu', return_sequences=True) -> TimeDistributed(Dense(100, relu)) ->
        # TimeDistributed(Dense(1)). No dropout, no regularizer. Here 8 filters, LSTM(8),
        # Dense(8).
        m = keras.Sequential(name="power_cnn_lstm")
        m.add(keras.Input(shape=(14, 1)))
        m.add(layers.Conv1D(filters=8, kernel_size=3, activation="relu"))
        m.add(layers.Conv1D(filters=8, kernel_size=3, activation="relu"))
        m.add(layers.MaxPooling1D(pool_size=2))
        m.add(layers.Flatten())
        m.add(layers.RepeatVector(7))
        m.add(layers.LSTM(8, activation="relu", return_sequences=True))
        m.add(layers.TimeDistributed(layers.Dense(8, activation="relu")))
        m.add(layers.TimeDistributed(layers.Dense(1)))
        return m

    # ---- mistakes ------------------------------------------------------------------

    @reg
    def mistake_flatten_expand_dims():
        # StackOverflow "Connecting recurrent layer after cnn, what does tf.expand_dims
        # do?" (question 4309501 in the whosebug.com mirror): Conv2D(32) x2 -> MaxPool ->
        # Dropout(0.25) -> Conv2D(64) x2 -> MaxPool -> Dropout(0.25) -> Flatten ->
        # Lambda(expand_dims(axis=-1)) -> SimpleRNN(64) -> Dense(8, softmax) on 50x50x1
        # images. The RNN then runs over every flattened value of the map (H x W x C
        # steps of 1 feature). The Lambda is written as the equivalent Reshape((-1, 1))
        # (a Lambda would only test the unsafe-content rule). Filters 32/64 -> 4/8, so
        # 11 x 11 x 8 = 968 steps; SimpleRNN 64 -> 8.
        m = keras.Sequential(name="flatten_expand_dims")
        m.add(keras.Input(shape=(50, 50, 1)))
        m.add(layers.Conv2D(4, (3, 3), padding="same", activation="relu"))
        m.add(layers.Conv2D(4, (3, 3), activation="relu"))
        m.add(layers.MaxPooling2D(pool_size=(2, 2)))
        m.add(layers.Dropout(0.25))
        m.add(layers.Conv2D(8, (3, 3), padding="same", activation="relu"))
        m.add(layers.Conv2D(8, (3, 3), activation="relu"))
        m.add(layers.MaxPooling2D(pool_size=(2, 2)))
        m.add(layers.Dropout(0.25))
        m.add(layers.Flatten())
        m.add(layers.Reshape((-1, 1)))
        m.add(layers.SimpleRNN(8, return_sequences=False))
        m.add(layers.Dense(8, activation="softmax"))
        return m

    return b


def tfkeras_builders():
    """tf.keras 2 (tf_keras) models; only imported in the child process."""
    import tf_keras as keras
    from tf_keras import layers

    b = {}

    def tfk_action_recognition_gru():
        # viGor027/ActionRecognition src/model/model.py (tf.keras 2): a keras.applications
        # MobileNet(include_top=False, weights='imagenet', pooling='avg') wrapped as
        # TimeDistributed over Input((N_FRAMES, IMAGE_SIZE, IMAGE_SIZE, 3)) ->
        # TimeDistributed(Flatten()) -> GRU(64, return_sequences=True) -> GRU(64) ->
        # Dense(len(CLASSES), softmax). No dropout, no regularizer. MobileNet is replaced
        # by a tiny nested Functional "mobilenet" (conv/BN/ReLU, depthwise-separable
        # block, global average pool, as pooling='avg' ends) so the file stays small;
        # 8 frames of 32x32, GRUs 64 -> 8, 5 classes.
        img = keras.Input((32, 32, 3))
        y = layers.Conv2D(4, 3, strides=2, padding="same", use_bias=False, name="conv1")(img)
        y = layers.BatchNormalization(name="conv1_bn")(y)
        y = layers.ReLU(6.0, name="conv1_relu")(y)
        y = layers.DepthwiseConv2D(3, padding="same", use_bias=False, name="conv_dw_1")(y)
        y = layers.BatchNormalization(name="conv_dw_1_bn")(y)
        y = layers.ReLU(6.0, name="conv_dw_1_relu")(y)
        y = layers.Conv2D(8, 1, use_bias=False, name="conv_pw_1")(y)
        y = layers.BatchNormalization(name="conv_pw_1_bn")(y)
        y = layers.ReLU(6.0, name="conv_pw_1_relu")(y)
        y = layers.GlobalAveragePooling2D(name="global_average_pooling2d")(y)
        mobilenet = keras.Model(img, y, name="mobilenet")

        input_sequence = keras.Input((8, 32, 32, 3))
        outputs = layers.TimeDistributed(mobilenet)(input_sequence)
        new_output = layers.TimeDistributed(layers.Flatten())(outputs)
        new_output = layers.GRU(units=8, return_sequences=True)(new_output)
        new_output = layers.GRU(units=8)(new_output)
        new_output = layers.Dense(5, activation="softmax")(new_output)
        return keras.Model(inputs=input_sequence, outputs=new_output)

    b["tfk_action_recognition_gru"] = tfk_action_recognition_gru
    return b


TFKERAS_NAMES = ["tfk_action_recognition_gru"]


def _example(tshape, dtype):
    import numpy as np

    rng = np.random.default_rng(0)
    shape = [2] + [d if d is not None else 12 for d in tshape[1:]]
    if "bool" in str(dtype):
        arr = np.ones(shape, dtype=bool)
        arr[:, shape[1] // 2:] = False  # a padded second half, as the example's masks
        return arr
    if "int" in str(dtype):
        return rng.integers(0, 100, size=shape).astype(str(dtype))
    return rng.random(shape).astype("float32")


def verify_onnx(path, run_native, feeds):
    """onnx.checker + one onnxruntime run compared with the framework's output."""
    import numpy as np
    import onnx
    import onnxruntime as ort

    onnx.checker.check_model(path, full_check=True)
    sess = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [i.name for i in sess.get_inputs()]
    got = sess.run(None, dict(zip(names, feeds)))[0]
    want = run_native(feeds)
    if isinstance(want, (tuple, list)):
        want = want[0]
    want = np.asarray(want)
    if got.shape != want.shape:
        raise AssertionError(f"onnxruntime output {got.shape} != native {want.shape}")
    err = float(np.abs(got - want).max())
    if not np.allclose(got, want, atol=1e-4, rtol=1e-3):
        raise AssertionError(f"onnxruntime output differs by {err:.2e}")
    return f"checked, batch 2 -> {tuple(got.shape)} (max err {err:.1e})"


def build_keras(name, fn, failures, keras_mod):
    """Save one model three ways. keras_mod is keras (Keras 3) or tf_keras."""
    import onnx
    import tensorflow as tf
    import tf2onnx

    keras = keras_mod
    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = fn()
    for ext in (".keras", ".h5"):
        path = os.path.join(HERE, name + ext)
        try:
            model.save(path)
            print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path) / 1024:.1f} KB)")
        except Exception as exc:  # noqa: BLE001
            failures.append(name + ext)
            print(f"FAILED {name}{ext}: {type(exc).__name__}: {exc}", file=sys.stderr)
    path = os.path.join(HERE, name + ".onnx")
    try:
        shapes = getattr(fn, "onnx_shapes", None) or [tuple(t.shape) for t in model.inputs]
        inputs = [keras.Input(batch_shape=shape, dtype=t.dtype, name=f"in{i}")
                  for i, (t, shape) in enumerate(zip(model.inputs, shapes))]
        outputs = model(inputs if len(inputs) > 1 else inputs[0])
        wrapper = keras.Model(inputs, outputs, name=model.name)
        spec = [tf.TensorSpec(t.shape, t.dtype, name=f"in{i}") for i, t in enumerate(wrapper.inputs)]
        proto, _ = tf2onnx.convert.from_keras(wrapper, input_signature=spec, opset=17)
        onnx.save(proto, path)
        feeds = [_example(tuple(t.shape), t.dtype) for t in wrapper.inputs]
        note = verify_onnx(path, lambda f: model(f[0] if len(f) == 1 else f, training=False), feeds)
        print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path) / 1024:.1f} KB): {note}")
    except Exception as exc:  # noqa: BLE001
        failures.append(name + ".onnx")
        print(f"FAILED {name}.onnx: {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr)
        traceback.print_exc(limit=3, file=sys.stderr)
        if os.path.exists(path):  # never leave a file that failed its check
            os.remove(path)


# ---------------------------------------------------------------------------------------
# PyTorch models: name -> (factory, example inputs (batch 2), dynamic dims per input).
# ---------------------------------------------------------------------------------------

def torch_models():
    import torch
    import torch.nn.functional as F
    from torch import nn

    models = {}

    # ---- DCASE-REPO/DESED_task desed_task/nnet/{CRNN,CNN,RNN}.py -----------------------
    # The DCASE 2021-2024 task 4 (sound event detection) baseline CRNN with its default
    # config (sed.yaml): x (bs, n_mels=128, frames) -> x.transpose(1, 2).unsqueeze(1) ->
    # CNN of 7 blocks [Conv2d 3x3 pad 1 -> BatchNorm2d -> GLU (a Linear over
    # x.permute(0, 2, 3, 1), permuted back, times sigmoid(x)) -> Dropout(0.5) ->
    # AvgPool2d] with pooling (time, freq) [2,2],[2,2],[1,2] x5, so frequency goes to 1
    # and time is pooled by 4 -> x.squeeze(-1).permute(0, 2, 1) [bs, frames, chan] ->
    # BidirectionalGRU (nn.GRU batch_first, 2 layers) -> Dropout -> strong =
    # sigmoid(dense(x)); attention: sof = softmax(dense_softmax(x), dim=-1), clamp,
    # weak = (strong * sof).sum(1) / sof.sum(1); returns strong.transpose(1, 2), weak.
    # nb_filters [16,32,64,128,128,128,128] -> [2,4,4,8,8,8,8], n_RNN_cell 128 -> 8,
    # 10 classes. Batch and frames dynamic (frames a multiple of 4, as the pooling needs
    # for the strong output to line up).
    class GLU(nn.Module):
        def __init__(self, input_num):
            super().__init__()
            self.sigmoid = nn.Sigmoid()
            self.linear = nn.Linear(input_num, input_num)

        def forward(self, x):
            lin = self.linear(x.permute(0, 2, 3, 1))
            lin = lin.permute(0, 3, 1, 2)
            sig = self.sigmoid(x)
            return lin * sig

    class DesedCNN(nn.Module):
        def __init__(self, n_in_channel=1, conv_dropout=0.5, nb_filters=(2, 4, 4, 8, 8, 8, 8),
                     pooling=((2, 2), (2, 2), (1, 2), (1, 2), (1, 2), (1, 2), (1, 2))):
            super().__init__()
            self.nb_filters = list(nb_filters)
            cnn = nn.Sequential()
            for i in range(len(nb_filters)):
                n_in = n_in_channel if i == 0 else nb_filters[i - 1]
                cnn.add_module(f"conv{i}", nn.Conv2d(n_in, nb_filters[i], 3, 1, 1))
                cnn.add_module(f"batchnorm{i}", nn.BatchNorm2d(nb_filters[i], eps=0.001, momentum=0.99))
                cnn.add_module(f"glu{i}", GLU(nb_filters[i]))
                cnn.add_module(f"dropout{i}", nn.Dropout(conv_dropout))
                cnn.add_module(f"pooling{i}", nn.AvgPool2d(pooling[i]))
            self.cnn = cnn

        def forward(self, x):
            return self.cnn(x)

    class BidirectionalGRU(nn.Module):
        def __init__(self, n_in, n_hidden, dropout=0, num_layers=1):
            super().__init__()
            self.rnn = nn.GRU(n_in, n_hidden, bidirectional=True, dropout=dropout,
                              batch_first=True, num_layers=num_layers)

        def forward(self, input_feat):
            recurrent, _ = self.rnn(input_feat)
            return recurrent

    class DesedCRNN(nn.Module):
        def __init__(self, nclass=10, dropout=0.5, n_RNN_cell=8, n_layers_RNN=2, clamp_max=1):
            super().__init__()
            self.clamp_max = clamp_max
            self.cnn = DesedCNN(conv_dropout=dropout)
            self.rnn = BidirectionalGRU(self.cnn.nb_filters[-1], n_RNN_cell, dropout=0,
                                        num_layers=n_layers_RNN)
            self.dropout = nn.Dropout(dropout)
            self.dense = nn.Linear(n_RNN_cell * 2, nclass)
            self.sigmoid = nn.Sigmoid()
            self.dense_softmax = nn.Linear(n_RNN_cell * 2, nclass)
            self.softmax = nn.Softmax(dim=-1)

        def forward(self, x):
            x = x.transpose(1, 2).unsqueeze(1)
            x = self.cnn(x)
            x = x.squeeze(-1)
            x = x.permute(0, 2, 1)  # [bs, frames, chan]
            x = self.rnn(x)
            x = self.dropout(x)
            strong = self.sigmoid(self.dense(x))
            sof = self.softmax(self.dense_softmax(x))
            sof = torch.clamp(sof, min=1e-7, max=self.clamp_max)
            weak = (strong * sof).sum(1) / sof.sum(1)
            return strong.transpose(1, 2), weak

    # torch 2.13's dynamo exporter fails on this model twice ("ConversionError: Failed
    # to decompose the FX graph"): on the source's torch.clamp(sof, min=1e-7, max=1) (a
    # scalar max, also with max=1.0), and, with that removed, on the 2-layer
    # bidirectional nn.GRU once frames are dynamic ("The size of tensor a (8) must match
    # the size of tensor b (24)"). After those failures the dynamo file is exported with
    # no max (softmax outputs never exceed 1: the same result) and frames fixed at 40.
    models["desed_crnn"] = (DesedCRNN, lambda: (torch.randn(2, 128, 40),), [{0: "batch", 2: "frames"}],
                            {"dynamo_fallback": lambda: DesedCRNN(clamp_max=None),
                             "dynamo_fallback_dyn": [{0: "batch"}]})

    # ---- clovaai/deep-text-recognition-benchmark model.py + modules/ -------------------
    # The None-VGG-BiLSTM-CTC configuration (Baek et al. 2019): VGG_FeatureExtractor
    # (conv/relu, MaxPool 2x2 twice, 2 convs, MaxPool (2,1), conv/BN/relu x2, MaxPool
    # (2,1), 2x2 valid conv -> 512 x 1 x 24 for a 32 x 100 image); forward:
    # AdaptiveAvgPool2d((None, 1))(visual_feature.permute(0, 3, 1, 2)) "[b, c, h, w] ->
    # [b, w, c, h]" -> squeeze(3) -> 2 x BidirectionalLSTM (nn.LSTM batch_first,
    # bidirectional, Linear(2h, h)) -> Prediction Linear (CTC). No dropout. output_channel
    # 512 -> 32, hidden 256 -> 8, 37 classes; imgH 32, imgW 100 as the default options;
    # batch dynamic. The unused `text` argument of the CTC forward is left out.
    class VGG_FeatureExtractor(nn.Module):
        def __init__(self, input_channel, output_channel=32):
            super().__init__()
            oc = [output_channel // 8, output_channel // 4, output_channel // 2, output_channel]
            self.ConvNet = nn.Sequential(
                nn.Conv2d(input_channel, oc[0], 3, 1, 1), nn.ReLU(True),
                nn.MaxPool2d(2, 2),
                nn.Conv2d(oc[0], oc[1], 3, 1, 1), nn.ReLU(True),
                nn.MaxPool2d(2, 2),
                nn.Conv2d(oc[1], oc[2], 3, 1, 1), nn.ReLU(True),
                nn.Conv2d(oc[2], oc[2], 3, 1, 1), nn.ReLU(True),
                nn.MaxPool2d((2, 1), (2, 1)),
                nn.Conv2d(oc[2], oc[3], 3, 1, 1, bias=False),
                nn.BatchNorm2d(oc[3]), nn.ReLU(True),
                nn.Conv2d(oc[3], oc[3], 3, 1, 1, bias=False),
                nn.BatchNorm2d(oc[3]), nn.ReLU(True),
                nn.MaxPool2d((2, 1), (2, 1)),
                nn.Conv2d(oc[3], oc[3], 2, 1, 0), nn.ReLU(True))

        def forward(self, input):
            return self.ConvNet(input)

    class ClovaBidirectionalLSTM(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.rnn = nn.LSTM(input_size, hidden_size, bidirectional=True, batch_first=True)
            self.linear = nn.Linear(hidden_size * 2, output_size)

        def forward(self, input):
            recurrent, _ = self.rnn(input)
            return self.linear(recurrent)

    class ClovaModel(nn.Module):
        def __init__(self, input_channel=1, output_channel=32, hidden_size=8, num_class=37):
            super().__init__()
            self.FeatureExtraction = VGG_FeatureExtractor(input_channel, output_channel)
            self.AdaptiveAvgPool = nn.AdaptiveAvgPool2d((None, 1))
            self.SequenceModeling = nn.Sequential(
                ClovaBidirectionalLSTM(output_channel, hidden_size, hidden_size),
                ClovaBidirectionalLSTM(hidden_size, hidden_size, hidden_size))
            self.Prediction = nn.Linear(hidden_size, num_class)

        def forward(self, input):
            visual_feature = self.FeatureExtraction(input)
            visual_feature = self.AdaptiveAvgPool(visual_feature.permute(0, 3, 1, 2))
            visual_feature = visual_feature.squeeze(3)
            contextual_feature = self.SequenceModeling(visual_feature)
            return self.Prediction(contextual_feature.contiguous())

    # The TorchScript exporter refuses AdaptiveAvgPool2d((None, 1)) once the batch is
    # dynamic ("Unsupported: ONNX export of operator adaptive pooling, since output_size
    # is not constant"); after that failure the .ts.onnx is exported with a fixed batch
    # (the shape the dynamo exporter handles dynamically).
    models["clova_vgg_bilstm_ctc"] = (ClovaModel, lambda: (torch.randn(2, 1, 32, 100),), [{0: "batch"}],
                                      {"ts_static_fallback": True})

    # ---- HHTseng/video-classification CRNN/functions.py (and ResNetCRNN/) --------------
    # EncoderCNN (2D CNN trained from scratch): a Python loop over frames
    # `for t in range(x_3d.size(1))`: conv1..conv4 (Conv2d stride 2, BatchNorm2d, ReLU)
    # -> x.view(x.size(0), -1) -> fc1 -> relu -> fc2 -> relu -> F.dropout -> fc3;
    # cnn_embed_seq = torch.stack(seq, dim=0).transpose_(0, 1) -> (batch, time, embed);
    # DecoderRNN: nn.LSTM(embed, h_RNN, num_layers=3, batch_first=True) -> fc1 on
    # RNN_out[:, -1, :] -> relu -> F.dropout -> fc2. Frames 90x120 -> 45x60, channels
    # 32..256 -> 4..16, fc 512 -> 16, embed 300 -> 8, LSTM 256 -> 8, 6 frames (the loop
    # count is fixed when traced), batch dynamic.
    def conv2d_out(size, pad, k, s):
        return tuple((size[i] + 2 * pad[i] - (k[i] - 1) - 1) // s[i] + 1 for i in range(2))

    class EncoderCNN(nn.Module):
        def __init__(self, img_x=45, img_y=60, fc_hidden1=16, fc_hidden2=16, drop_p=0.3, CNN_embed_dim=8):
            super().__init__()
            ch = (4, 8, 8, 16)
            ks = ((5, 5), (3, 3), (3, 3), (3, 3))
            shape = (img_x, img_y)
            blocks = []
            for i in range(4):
                shape = conv2d_out(shape, (0, 0), ks[i], (2, 2))
                blocks.append(nn.Sequential(
                    nn.Conv2d(3 if i == 0 else ch[i - 1], ch[i], kernel_size=ks[i], stride=(2, 2), padding=(0, 0)),
                    nn.BatchNorm2d(ch[i], momentum=0.01), nn.ReLU(inplace=True)))
            self.conv1, self.conv2, self.conv3, self.conv4 = blocks
            self.drop_p = drop_p
            self.fc1 = nn.Linear(ch[3] * shape[0] * shape[1], fc_hidden1)
            self.fc2 = nn.Linear(fc_hidden1, fc_hidden2)
            self.fc3 = nn.Linear(fc_hidden2, CNN_embed_dim)

        def forward(self, x_3d):
            cnn_embed_seq = []
            for t in range(x_3d.size(1)):
                x = self.conv1(x_3d[:, t, :, :, :])
                x = self.conv2(x)
                x = self.conv3(x)
                x = self.conv4(x)
                x = x.view(x.size(0), -1)
                x = F.relu(self.fc1(x))
                x = F.relu(self.fc2(x))
                x = F.dropout(x, p=self.drop_p, training=self.training)
                x = self.fc3(x)
                cnn_embed_seq.append(x)
            cnn_embed_seq = torch.stack(cnn_embed_seq, dim=0).transpose_(0, 1)
            return cnn_embed_seq

    class DecoderRNN(nn.Module):
        def __init__(self, CNN_embed_dim=8, h_RNN_layers=3, h_RNN=8, h_FC_dim=8, drop_p=0.3, num_classes=10):
            super().__init__()
            self.drop_p = drop_p
            self.LSTM = nn.LSTM(input_size=CNN_embed_dim, hidden_size=h_RNN,
                                num_layers=h_RNN_layers, batch_first=True)
            self.fc1 = nn.Linear(h_RNN, h_FC_dim)
            self.fc2 = nn.Linear(h_FC_dim, num_classes)

        def forward(self, x_RNN):
            RNN_out, (h_n, h_c) = self.LSTM(x_RNN, None)
            x = self.fc1(RNN_out[:, -1, :])
            x = F.relu(x)
            x = F.dropout(x, p=self.drop_p, training=self.training)
            return self.fc2(x)

    class HHTsengCRNN(nn.Module):
        # the training script calls rnn_decoder(cnn_encoder(X)); one module for export
        def __init__(self):
            super().__init__()
            self.cnn_encoder = EncoderCNN()
            self.rnn_decoder = DecoderRNN()

        def forward(self, x):
            return self.rnn_decoder(self.cnn_encoder(x))

    models["hhtseng_crnn_video"] = (HHTsengCRNN, lambda: (torch.randn(2, 6, 3, 45, 60),), [{0: "batch"}])

    # ---- phuongvt24/transfer-learning-ecg-diagnosis pretrain/ECGCombinedModel.py -------
    # 12-lead ECG (batch, samples, 12) -> x.permute(0, 2, 1) -> 3 x [Conv1d k3 pad 1 ->
    # ReLU -> MaxPool1d(2) (-> Dropout(0.2) on the first two)] -> x.permute(0, 2, 1) ->
    # nn.LSTM(256, 256, batch_first=True, num_layers=3, dropout=0.2) -> x[:, -1, :] ->
    # fc1 -> ReLU -> fc2 -> sigmoid (7 labels). Channels 64/128/256 -> 8/8/16, LSTM 256 ->
    # 8; 1000 samples (PTB-XL at 100 Hz); batch and samples dynamic.
    class ECGCombinedModel(nn.Module):
        def __init__(self, num_classes=7, batch_first=True):
            super().__init__()
            self.conv1 = nn.Sequential(nn.Conv1d(12, 8, kernel_size=3, padding=1), nn.ReLU(),
                                       nn.MaxPool1d(2), nn.Dropout(0.2))
            self.conv2 = nn.Sequential(nn.Conv1d(8, 8, kernel_size=3, padding=1), nn.ReLU(),
                                       nn.MaxPool1d(2), nn.Dropout(0.2))
            self.conv3 = nn.Sequential(nn.Conv1d(8, 16, kernel_size=3, padding=1), nn.ReLU(),
                                       nn.MaxPool1d(2))
            if batch_first:
                self.lstm = nn.LSTM(16, 8, batch_first=True, num_layers=3, dropout=0.2)
            else:
                self.lstm = nn.LSTM(16, 8, num_layers=3, dropout=0.2)
            self.fc1 = nn.Linear(8, 8)
            self.fc2 = nn.Linear(8, num_classes)
            self.sigmoid = nn.Sigmoid()

        def forward(self, x):
            x = x.permute(0, 2, 1)
            x = self.conv1(x)
            x = self.conv2(x)
            x = self.conv3(x)
            x = x.permute(0, 2, 1)
            x, _ = self.lstm(x)
            x = x[:, -1, :]
            x = self.fc1(x)
            x = nn.ReLU()(x)
            x = self.fc2(x)
            return self.sigmoid(x)

    models["ecg_combined_cnn_lstm"] = (ECGCombinedModel, lambda: (torch.randn(2, 1000, 12),),
                                       [{0: "batch", 1: "samples"}])

    # ---- mistakes ----------------------------------------------------------------------
    # The default-layout mistake: the same ECG model with the LSTM declared without
    # batch_first (nn.LSTM defaults to (seq, batch, feature)) while it is fed the
    # batch-first (batch, steps, 16) tensor from x.permute(0, 2, 1) -- the "critical
    # gotcha" theneuralbase.com "Input shape for RNNs -- seq, batch, features" warns about
    # and the subject of the "Difference between the expected input tensor order for LSTM
    # and Conv1d" question (z.id.vn / taourl mirrors). The LSTM then steps over the
    # batch; x[:, -1, :] takes the last *position* of every step. Dropout as in the model.
    models["mistake_lstm_not_batch_first"] = (
        lambda: ECGCombinedModel(batch_first=False), lambda: (torch.randn(2, 1000, 12),),
        [{0: "batch", 1: "samples"}])

    # The view-instead-of-permute mistake on a Conv1d map, in the form the forum
    # questions write it: x.view(x.size(0), -1, x.size(1)) to get (batch, steps,
    # channels) from (batch, channels, steps). On the MIT-BIH heartbeat input (batch, 1,
    # 187) after two Conv1d(k5)/ReLU/MaxPool1d(2) blocks the map is (B, 16, 43); the view
    # gives (B, 43, 16) whose "steps" are runs of 16 consecutive values along one
    # channel's time axis. LSTM(batch_first=True) -> out[:, -1, :] -> Linear. No dropout,
    # as in those questions. Batch dynamic.
    class Conv1dViewNoPermute(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv1d(1, 16, kernel_size=5)
            self.conv2 = nn.Conv1d(16, 16, kernel_size=5)
            self.pool = nn.MaxPool1d(2)
            self.lstm = nn.LSTM(16, 16, batch_first=True)
            self.fc = nn.Linear(16, 5)

        def forward(self, x):
            x = self.pool(F.relu(self.conv1(x)))
            x = self.pool(F.relu(self.conv2(x)))   # (B, 16, 43)
            x = x.view(x.size(0), -1, x.size(1))   # (B, 43, 16), no permute
            out, _ = self.lstm(x)
            return self.fc(out[:, -1, :])

    models["mistake_conv1d_view_no_permute"] = (Conv1dViewNoPermute, lambda: (torch.randn(2, 1, 187),),
                                                [{0: "batch"}])

    return models


def _strip_stack_traces(path):
    import onnx

    model = onnx.load(path)
    nodes = list(model.graph.node) + [n for f in model.functions for n in f.node]
    for node in nodes:
        keep = [p for p in node.metadata_props if p.key != "pkg.torch.onnx.stack_trace"]
        if len(keep) != len(node.metadata_props):
            del node.metadata_props[:]
            node.metadata_props.extend(keep)
    onnx.save(model, path)


def _export(model, inputs, path, kind, in_names, dyn):
    import torch

    with torch.no_grad():
        if kind == "ts":
            axes = None
            if dyn is not None:
                axes = {n: d for n, d in zip(in_names, dyn)}
                axes["y"] = {0: "batch"}
            torch.onnx.export(model, inputs, path, dynamo=False, opset_version=17,
                              input_names=in_names, output_names=["y"], dynamic_axes=axes)
        else:
            dims = {}
            shapes = []
            for d in dyn:
                shapes.append({i: dims.setdefault(n, torch.export.Dim(n)) for i, n in d.items()})
            torch.onnx.export(model, inputs, path, dynamo=True, opset_version=18,
                              input_names=in_names, output_names=["y"],
                              dynamic_shapes=tuple(shapes), external_data=False, verbose=False)
            _strip_stack_traces(path)


EXPORTER_NOTES = []


def build_torch(name, spec, failures):
    import torch

    factory, make_inputs, dyn = spec[:3]
    opts = spec[3] if len(spec) > 3 else {}
    for kind in ("ts", "dynamo"):
        path = os.path.join(HERE, f"{name}.{kind}.onnx")
        torch.manual_seed(0)
        model = factory().eval()
        inputs = make_inputs()
        in_names = [f"x{i}" for i in range(len(inputs))] if len(inputs) > 1 else ["x"]
        try:
            try:
                _export(model, inputs, path, kind, in_names, dyn)
            except Exception as exc:  # noqa: BLE001
                if kind == "ts" and opts.get("ts_static_fallback"):
                    how = "fixed shapes"
                    _export(model, inputs, path, kind, in_names, None)
                elif kind == "dynamo" and opts.get("dynamo_fallback"):
                    how = "the workaround noted in build.py"
                    torch.manual_seed(0)
                    model = opts["dynamo_fallback"]().eval()
                    _export(model, inputs, path, kind, in_names, opts.get("dynamo_fallback_dyn", dyn))
                else:
                    raise
                note = (f"{name}.{kind}.onnx: the exporter failed on the source as written "
                        f"({type(exc).__name__}: {' '.join(str(exc).split())[:160]}); exported with {how}")
                EXPORTER_NOTES.append(note)
                print("note: " + note, file=sys.stderr)

            def run_native(feeds):
                with torch.no_grad():
                    out = model(*[torch.from_numpy(f) for f in feeds])
                if isinstance(out, (tuple, list)):
                    out = out[0]
                return out.numpy()

            note = verify_onnx(path, run_native, [t.numpy() for t in make_inputs()])
            print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path) / 1024:.1f} KB): {note}")
        except Exception as exc:  # noqa: BLE001
            failures.append(f"{name}.{kind}.onnx")
            print(f"FAILED {name}.{kind}.onnx: {type(exc).__name__}: {str(exc)[:400]}", file=sys.stderr)
            if os.path.exists(path):
                os.remove(path)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", action="append", default=[], help="build just this model")
    parser.add_argument("--list", action="store_true", help="print the model names")
    parser.add_argument("--tfkeras-child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)
    logging.getLogger("tf2onnx").setLevel(logging.ERROR)

    if args.tfkeras_child:
        import tf_keras

        failures = []
        for name, fn in tfkeras_builders().items():
            if not args.only or name in args.only:
                build_keras(name, fn, failures, tf_keras)
        if failures:
            print(f"{len(failures)} file(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1 if failures else 0

    kb = keras_builders()
    tm = torch_models()
    everything = list(kb) + TFKERAS_NAMES + list(tm)
    if args.list:
        print("\n".join(everything))
        return 0
    wanted = set(args.only) or set(everything)
    unknown = wanted - set(everything)
    if unknown:
        parser.error(f"unknown model(s): {', '.join(sorted(unknown))}")
    failures = []
    import keras

    for name, fn in kb.items():
        if name in wanted:
            build_keras(name, fn, failures, keras)
    tfk = [n for n in TFKERAS_NAMES if n in wanted]
    if tfk:
        cmd = [sys.executable, os.path.abspath(__file__), "--tfkeras-child"]
        for n in tfk:
            cmd += ["--only", n]
        if subprocess.call(cmd) != 0:
            failures.append("tf_keras model(s)")
    for name, spec in tm.items():
        if name in wanted:
            build_torch(name, spec, failures)
    for note in EXPORTER_NOTES:
        print("exporter note: " + note, file=sys.stderr)
    if failures:
        print(f"{len(failures)} file(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
