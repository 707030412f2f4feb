"""Build the TensorFlow SavedModel samples that the cnnlstm_lint tests lint.

    python sample_models/export_saved_model.py [--out DIR] [--traces] [--h5]

Writes sample_models/saved_model/ (or DIR):

* ``cl001_spatial_reshape/``, ``good_lrcn/``: ``model.save(dir)`` by tf.keras 2
  (``tf_keras``), the architectures of build.py's models of the same names, built by
  build.py's own builders. Their ``keras_metadata.pb`` holds the Keras config the linter
  reads; they must lint as the ``.h5`` of the same model does.
* ``cl001_spatial_reshape_k3_export/``: Keras 3 ``model.export(dir)`` of the same cl001
  model: a serving SavedModel with no ``keras_metadata.pb``, which the linter cannot read
  and says so.

The committed tf_keras samples are saved with ``save_traces=False``: the traced layer
functions would make saved_model.pb some 30 times larger, and the linter never reads
saved_model.pb (nor variables/). ``--traces`` keeps them (what ``model.save`` does by
default; the tests build such SavedModels at test time), ``--h5`` also writes each tf_keras
model as ``<name>.h5`` for comparison. tf_keras and Keras 3 each run in a child process
of their own, so the two never share an interpreter (as in build.py).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "saved_model")
TF_KERAS_NAMES = ("cl001_spatial_reshape", "good_lrcn")
EXPORT_NAME = "cl001_spatial_reshape_k3_export"


def _written(path: str) -> None:
    size = sum(os.path.getsize(os.path.join(root, f))
               for root, _, files in os.walk(path) for f in files)
    print("wrote %-40s %8d bytes" % (os.path.relpath(path, HERE), size))


def _fresh(path: str) -> str:
    if os.path.isdir(path):
        shutil.rmtree(path)
    return path


def _quiet() -> None:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)


def build_tf_keras(out: str, traces: bool, h5: bool) -> None:
    try:
        import tf_keras
    except ImportError:
        print("note: tf_keras not installed; skipping the tf.keras 2 SavedModels")
        return
    _quiet()
    # build.py's builders import `keras`; in this process that name is tf_keras, so the
    # very same architectures are built with the Keras 2 API (Input, layers, Model and
    # Sequential are spelled alike in both).
    sys.modules["keras"] = tf_keras
    sys.path.insert(0, HERE)
    import build

    builders = build._builders()
    for name in TF_KERAS_NAMES:
        tf_keras.backend.clear_session()
        tf_keras.utils.set_random_seed(0)
        model = builders[name][0]()
        path = _fresh(os.path.join(out, name))
        model.save(path, save_format="tf", save_traces=traces)
        assets = os.path.join(path, "assets")
        if os.path.isdir(assets) and not os.listdir(assets):
            os.rmdir(assets)  # empty: git would not keep it anyway
        _written(path)
        if h5:
            model.save(os.path.join(out, name + ".h5"), save_format="h5")
            _written(os.path.join(out, name + ".h5"))


def build_keras3(out: str) -> None:
    import keras

    _quiet()
    sys.path.insert(0, HERE)
    import build

    keras.backend.clear_session()
    keras.utils.set_random_seed(0)
    model = build._builders()["cl001_spatial_reshape"][0]()
    path = _fresh(os.path.join(out, EXPORT_NAME))
    model.export(path, verbose=False)
    assets = os.path.join(path, "assets")
    if os.path.isdir(assets) and not os.listdir(assets):
        os.rmdir(assets)
    _written(path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=DEFAULT_OUT, help="write the directories here")
    parser.add_argument("--traces", action="store_true",
                        help="keep the traced layer functions (model.save's default)")
    parser.add_argument("--h5", action="store_true",
                        help="also write each tf_keras model as NAME.h5")
    parser.add_argument("--part", choices=("tf_keras", "keras3"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = os.path.abspath(args.out)
    os.makedirs(out, exist_ok=True)
    if args.part == "tf_keras":
        build_tf_keras(out, args.traces, args.h5)
    elif args.part == "keras3":
        build_keras3(out)
    else:
        own = [sys.executable, os.path.abspath(__file__), "--out", out]
        extra = (["--traces"] if args.traces else []) + (["--h5"] if args.h5 else [])
        subprocess.run([*own, "--part", "tf_keras", *extra], check=True)
        subprocess.run([*own, "--part", "keras3"], check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
