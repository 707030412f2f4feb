"""Build the backbone samples (issue 11, family 8): `keras.applications` models nested as
layers, inside `TimeDistributed`, and their feature maps reshaped to steps.

Run from the repository root with the TensorFlow/Keras extra installed::

    python sample_models/build_backbones.py                 # Keras 3 cases (.keras and .h5)
    TF_USE_LEGACY_KERAS=1 python sample_models/build_backbones.py --legacy
                                                            # tf.keras 2 cases (.h5; needs
                                                            # the tf-keras package)
    python sample_models/build_backbones.py --onnx DIR [NAME ...]
                                                            # tf2onnx conversions into DIR

Every model is built with `weights=None` and small inputs, then saved for real with
`model.save(...)`. A real save of ResNet50 is about 100 MB of weights, too big to commit,
so each saved file is then cut down to its config, keeping the file exactly as Keras
wrote it otherwise (`strip_weights` below):

- `.keras`: the zip Keras wrote, re-zipped member by member without `model.weights.h5`
  (config.json and metadata.json copied byte for byte, deflated where Keras stored them);
- `.h5`: a new HDF5 file holding only the root attributes Keras wrote (`model_config`,
  `keras_version`, `backend`), without the `model_weights` group.

The linter reads only the config, so it sees these files exactly as it sees the real
saves (tests/test_backbones.py lints an unstripped save too, under the `tf` mark). ONNX
conversions (tf2onnx, opset 17) keep their weights; they are written by `--onnx` into a
folder of the caller's choosing (the tests use a temporary one), and one small one
(MobileNetV2, alpha 0.35) is committed as sample_models/backbones/good_lrcn_mobilenetv2.onnx.
What each file is, and what the linter must say about it, is pinned in
tests/test_backbones.py.
"""

from __future__ import annotations

import argparse
import os
import sys
import zipfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "backbones")
COMMITTED_ONNX = ("good_lrcn_mobilenetv2",)  # small enough (< 2 MB) to commit


def strip_weights(path: str) -> None:
    """Cut a real Keras save down to what the linter reads (see the module docstring)."""
    if path.endswith(".keras"):
        tmp = path + ".tmp"
        with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in src.infolist():
                if info.filename != "model.weights.h5":
                    data = src.read(info)
                    info.compress_type = zipfile.ZIP_DEFLATED  # Keras stores; 10x smaller
                    dst.writestr(info, data)
        os.replace(tmp, path)
        return
    import h5py

    tmp = path + ".tmp"
    with h5py.File(path, "r") as src, h5py.File(tmp, "w") as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
    os.replace(tmp, path)


def models(keras):
    """name -> (builder, extensions). `keras` is Keras 3 or tf_keras; the same code builds
    both (the applications and layers used exist in each)."""
    layers, apps = keras.layers, keras.applications
    built = {}

    def register(*exts):
        def deco(fn):
            built[fn.__name__] = (fn, exts or (".keras", ".h5"))
            return fn
        return deco

    def app(cls, shape, pooling=None, **kw):
        """A `keras.applications` backbone, weights=None, named `backbone` (tf_keras's
        applications take no `name`: it is set on the built model instead)."""
        kw.update(input_shape=shape, include_top=False, weights=None, pooling=pooling)
        try:
            return getattr(apps, cls)(name="backbone", **kw)
        except (TypeError, ValueError):
            model = getattr(apps, cls)(**kw)
            model._name = "backbone"
            return model

    def mobilenet(shape, pooling=None):
        return app("MobileNetV2", shape, pooling, alpha=0.35)

    def lrcn(backbone, name):
        """A video LRCN: the backbone per frame (pooled to a vector), an LSTM over frames."""
        clip = keras.Input((4,) + tuple(backbone.input_shape[1:]), name="clip")
        y = layers.TimeDistributed(backbone, name="frames")(clip)
        y = layers.LSTM(8, dropout=0.2, name="lstm")(y)  # 8 units: the ONNX stays under 2 MB
        return keras.Model(clip, layers.Dense(3, activation="softmax", name="head")(y), name=name)

    # ---- clean: TimeDistributed(backbone) -> LSTM --------------------------------------
    @register()
    def good_lrcn_mobilenetv2():
        return lrcn(mobilenet((32, 32, 3), "avg"), "good_lrcn_mobilenetv2")

    @register()
    def good_lrcn_resnet50():
        return lrcn(app("ResNet50", (32, 32, 3), "avg"), "good_lrcn_resnet50")

    @register()
    def good_lrcn_efficientnetb0():
        return lrcn(app("EfficientNetB0", (32, 32, 3), "avg"), "good_lrcn_efficientnetb0")

    @register()
    def good_lrcn_sequential_mobilenetv2():
        """The tutorial form: Sequential models all the way, the backbone inside a
        Sequential inside TimeDistributed, pooled by a layer of the outer Sequential."""
        cnn = keras.Sequential([mobilenet((32, 32, 3)),
                                layers.GlobalAveragePooling2D(name="gap"),
                                layers.Dropout(0.3, name="frame_dropout")], name="cnn")
        return keras.Sequential([keras.Input((4, 32, 32, 3), name="clip"),
                                 layers.TimeDistributed(cnn, name="frames"),
                                 layers.LSTM(8, name="lstm"),
                                 layers.Dense(3, activation="softmax", name="head")],
                                name="good_lrcn_sequential_mobilenetv2")

    @register()
    def good_lrcn_wrapped_mobilenetv2():
        """The backbone wrapped in a model of its own whose output *is* the backbone's
        (a model output naming a nested model's call), that model inside TimeDistributed."""
        image = keras.Input((32, 32, 3), name="image")
        cnn = keras.Model(image, mobilenet((32, 32, 3), "avg")(image), name="cnn")
        return lrcn(cnn, "good_lrcn_wrapped_mobilenetv2")

    @register()
    def good_two_camera_mobilenetv2():
        """Two clips through one shared TimeDistributed(backbone) (a layer called twice),
        the infrared one first mapped to 3 channels by a layer named `Conv1` like the
        backbone's own first conv: outer and inner graphs each have their own names."""
        rgb = keras.Input((4, 32, 32, 3), name="rgb")
        ir = keras.Input((4, 32, 32, 1), name="input_layer")  # a name the backbone uses too
        frames = layers.TimeDistributed(mobilenet((32, 32, 3), "avg"), name="frames")
        ir3 = layers.TimeDistributed(layers.Conv2D(3, 1, name="Conv1"), name="Conv1")(ir)
        y = layers.Concatenate(name="join")([frames(rgb), frames(ir3)])
        y = layers.LSTM(8, dropout=0.2, name="lstm")(y)
        return keras.Model([rgb, ir], layers.Dense(3, activation="softmax", name="head")(y),
                           name="good_two_camera_mobilenetv2")

    # ---- clean: a backbone on one image, its width read as steps (CRNN) ------------------
    def crnn(backbone_fn, name, permute=True, steps=None):
        image = keras.Input((64, 256, 3), name="image")
        fmap = backbone_fn((64, 256, 3))(image)  # (2, 8, C): H, W, C
        h, w, c = fmap.shape[1:]
        if permute:
            y = layers.Permute((2, 1, 3), name="permute")(fmap)  # (W, H, C)
            y = layers.Reshape((w, h * c), name="to_steps")(y)  # steps = columns
        else:
            y = layers.Reshape(steps(h, w, c), name="to_steps")(fmap)
        y = layers.Dropout(0.2, name="dropout")(y)
        y = layers.Bidirectional(layers.LSTM(16, return_sequences=True), name="bilstm")(y)
        return keras.Model(image, layers.Dense(5, activation="softmax", name="head")(y), name=name)

    @register()
    def good_crnn_mobilenetv2():
        return crnn(mobilenet, "good_crnn_mobilenetv2")

    @register()
    def good_crnn_resnet50():
        return crnn(lambda s: app("ResNet50", s), "good_crnn_resnet50")

    @register()
    def good_stereo_crnn_mobilenetv2():
        """One backbone called on two images (a shared nested model: its second call is
        node 1 in Keras 3 and node 2 in tf.keras 2), the maps joined on channels and read
        column by column after a Permute."""
        left, right = keras.Input((32, 256, 3), name="left"), keras.Input((32, 256, 3), name="right")
        backbone = mobilenet((32, 256, 3))
        fmap = layers.Concatenate(name="join")([backbone(left), backbone(right)])  # (1, 8, 2560)
        y = layers.Permute((2, 1, 3), name="permute")(fmap)
        y = layers.Reshape((8, 2560), name="to_steps")(y)
        y = layers.LSTM(8, dropout=0.2, return_sequences=True, name="lstm")(y)
        return keras.Model([left, right], layers.Dense(5, activation="softmax", name="head")(y),
                           name="good_stereo_crnn_mobilenetv2")

    # ---- mistakes ----------------------------------------------------------------------
    @register()
    def pixels_mobilenetv2():
        """The feature map (h, w, c) reshaped to (h*w, c): pixels as steps (CL001)."""
        image = keras.Input((96, 96, 3), name="image")
        fmap = mobilenet((96, 96, 3))(image)  # (3, 3, 1280)
        h, w, c = fmap.shape[1:]
        y = layers.Reshape((h * w, c), name="to_steps")(fmap)
        y = layers.LSTM(16, dropout=0.2, name="lstm")(y)
        return keras.Model(image, layers.Dense(3, activation="softmax", name="head")(y),
                           name="pixels_mobilenetv2")

    @register()
    def pixels_efficientnetb0():
        image = keras.Input((96, 96, 3), name="image")
        fmap = app("EfficientNetB0", (96, 96, 3))(image)  # (3, 3, 1280)
        h, w, c = fmap.shape[1:]
        y = layers.Reshape((h * w, c), name="to_steps")(fmap)
        y = layers.LSTM(16, name="lstm")(y)
        return keras.Model(image, layers.Dense(3, activation="softmax", name="head")(y),
                           name="pixels_efficientnetb0")

    @register()
    def crnn_no_permute_mobilenetv2():
        """(2, 8, C) reshaped to (8, 2*C) without Permute: each 'column' is a scramble of
        rows and columns (CL007)."""
        return crnn(mobilenet, "crnn_no_permute_mobilenetv2", permute=False,
                    steps=lambda h, w, c: (w, h * c))

    @register()
    def clip_tiled_mobilenetv2():
        """A clip's frames stacked into one tall image for a backbone without
        TimeDistributed, the tall map's rows then read as frames (CL003)."""
        clip = keras.Input((4, 32, 32, 3), name="clip")
        y = layers.Reshape((128, 32, 3), name="tile")(clip)  # time merged into height
        fmap = mobilenet((128, 32, 3))(y)  # (4, 1, 1280)
        y = layers.Reshape((4, 1280), name="to_steps")(fmap)
        y = layers.LSTM(16, dropout=0.2, name="lstm")(y)
        return keras.Model(clip, layers.Dense(3, activation="softmax", name="head")(y),
                           name="clip_tiled_mobilenetv2")

    return built


def build(out: str, names: list[str], legacy: bool) -> None:
    if legacy:
        import tf_keras as keras
    else:
        import keras
    os.makedirs(out, exist_ok=True)
    table = models(keras)
    for name in names or sorted(table):
        fn, exts = table[name]
        model = fn()
        for ext in (".h5",) if legacy else exts:
            path = os.path.join(out, ("tfk_" if legacy else "") + name + ext)
            if os.path.exists(path):
                os.remove(path)
            model.save(path)
            strip_weights(path)
            print("wrote", os.path.relpath(path), os.path.getsize(path), "bytes")


def convert_onnx(out: str, names: list[str]) -> None:
    """tf2onnx conversions (opset 17) of freshly built models, weights included."""
    import keras
    import onnx
    import tensorflow as tf
    import tf2onnx

    os.makedirs(out, exist_ok=True)
    table = models(keras)
    for name in names or sorted(table):
        model = table[name][0]()
        if isinstance(model, keras.Sequential):  # tf2onnx's from_keras fails on Sequential
            inputs = keras.Input(batch_shape=model.inputs[0].shape, name="clip")
            model = keras.Model(inputs, model(inputs), name=model.name)  # (KeyError keras_tensor_N)
        spec = [tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in model.inputs]
        proto, _ = tf2onnx.convert.from_keras(model, input_signature=spec, opset=17)
        path = os.path.join(out, name + ".onnx")
        onnx.save(proto, path)
        print("wrote", os.path.relpath(path), os.path.getsize(path), "bytes")
        keras.backend.clear_session()  # fresh names for the next model


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="case names (default: all)")
    parser.add_argument("--out", default=HERE)
    parser.add_argument("--legacy", action="store_true", help="build with tf_keras (tf.keras 2)")
    parser.add_argument("--onnx", metavar="DIR", help="write tf2onnx conversions into DIR")
    args = parser.parse_args(argv)
    if args.onnx:
        convert_onnx(args.onnx, args.names)
    else:
        build(args.out, args.names, args.legacy)
    return 0


if __name__ == "__main__":
    sys.exit(main())
