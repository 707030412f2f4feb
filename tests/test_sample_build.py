"""Rebuild sample models with real Keras and check the linter agrees with the committed files."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cnnlstm_lint.cli import main
from conftest import ROOT
from test_samples import EXPECTED

REBUILT = ["cl001_spatial_reshape", "cl007_crnn_no_permute", "good_crnn_ocr", "good_lrcn",
           "cl004_oversized_features"]


@pytest.mark.tf
def test_rebuilt_models_give_the_expected_findings(tmp_path):
    args = [sys.executable, os.path.join(ROOT, "sample_models", "build.py"), "--out", str(tmp_path)]
    for name in REBUILT:
        args += ["--only", name]
    subprocess.run(args, check=True, capture_output=True, timeout=600)
    for name in REBUILT:
        for ext in (".keras", ".h5", ".json"):
            path = tmp_path / (name + ext)
            if not path.exists():
                continue
            result = CliRunner().invoke(main, ["--format", "json", str(path)])
            found = {(f["code"], f["node"]) for f in json.loads(result.output)["files"][0]["findings"]}
            assert found == EXPECTED[name + ext], path.name


@pytest.mark.tf
def test_in_memory_config_of_a_real_keras_model():
    """The linter reads what Keras itself serialises (get_config), not only saved files."""
    code = """
import json, keras
from keras import layers
x = keras.Input((32, 32, 3))
y = layers.Conv2D(8, 3)(x)
y = layers.MaxPooling2D(2)(y)
y = layers.Reshape((225, 8))(y)
y = layers.LSTM(4, name="lstm")(y)
m = keras.Model(x, layers.Dense(2)(y))
print(json.dumps(keras.saving.serialize_keras_object(m)))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    config = json.loads(proc.stdout.strip().splitlines()[-1])
    import cnnlstm_lint

    assert {(f.code, f.node) for f in cnnlstm_lint.lint(config)} == {("CL001", "lstm"), ("CL006", "lstm")}
