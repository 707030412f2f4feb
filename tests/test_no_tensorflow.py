"""The lint path never imports TensorFlow or Keras (speed, and model files are data)."""

import subprocess
import sys

from conftest import ROOT

SCRIPT = """
import sys
from cnnlstm_lint.cli import main
try:
    main(args=sys.argv[1:], prog_name="cnnlstm-lint")
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras", "torch"))
print("EXIT", code)
print("HEAVY", heavy)
"""


def test_lint_path_leaves_tensorflow_and_keras_unimported():
    proc = subprocess.run([sys.executable, "-c", SCRIPT, "sample_models"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert "EXIT 1" in proc.stdout
    assert "HEAVY []" in proc.stdout


def test_python_api_leaves_tensorflow_and_keras_unimported():
    code = ("import sys, cnnlstm_lint; "
            "f = cnnlstm_lint.lint('sample_models/cl001_spatial_reshape.h5'); "
            "print(f[0].code, sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.strip() == "CL001 []"
