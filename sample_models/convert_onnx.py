"""Convert the Keras sample models to ONNX with tf2onnx (opset 17), for the parity tests.

    python sample_models/convert_onnx.py [--src DIR] [--out DIR] [NAME ...]

Writes sample_models/onnx/<name>.onnx (with --src sample_models/keras_forms --out
sample_models/keras_forms/onnx: the Keras forms' conversions). tf2onnx's `from_keras` fails on Sequential models
(KeyError: 'keras_tensor_N'), so every model is converted through a functional wrapper
of the same layers. Skipped: the Lambda sample (its code would be traced, which the
linter never does) and the tf.keras 2.x files. Needs the TensorFlow extra and tf2onnx.
"""

import argparse
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = os.path.dirname(os.path.abspath(__file__))
SKIP = {"opaque_lambda"}


def convert(path: str, out_path: str) -> None:
    import keras
    import onnx
    import tensorflow as tf
    import tf2onnx

    model = keras.saving.load_model(path, compile=False)
    inputs = [keras.Input(batch_shape=t.shape, dtype=t.dtype, name=t.name.split(":")[0])
              for t in model.inputs]
    outputs = model(inputs if len(inputs) > 1 else inputs[0])
    wrapper = keras.Model(inputs, outputs, name=model.name)
    spec = [tf.TensorSpec(t.shape, t.dtype, name=t.name) for t in wrapper.inputs]
    proto, _ = tf2onnx.convert.from_keras(wrapper, input_signature=spec, opset=17)
    onnx.save(proto, out_path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="sample names (default: all .keras samples)")
    parser.add_argument("--src", default=HERE, help="folder of the .keras files")
    parser.add_argument("--out", default=os.path.join(HERE, "onnx"))
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    names = args.names or sorted(f[:-6] for f in os.listdir(args.src) if f.endswith(".keras"))
    for name in names:
        if name in SKIP:
            continue
        out = os.path.join(args.out, name + ".onnx")
        try:
            convert(os.path.join(args.src, name + ".keras"), out)
        except Exception as exc:  # a model tf2onnx cannot trace: say so, convert the rest
            print(f"skipped {name}: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}")
            continue
        print(f"wrote {os.path.relpath(out)} {os.path.getsize(out)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
