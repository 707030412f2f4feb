"""The training probe, on the CPU with small settings (needs the TensorFlow extra)."""

import json
import os

import numpy as np
import pytest
from click.testing import CliRunner

from cnnlstm_lint.cli import main
from conftest import SAMPLES

pytestmark = pytest.mark.tf

QUICK = ["--epochs", "2", "--seeds", "2", "--max-samples", "120", "--batch-size", "64"]


def sample(name):
    return os.path.join(SAMPLES, name)


def variant_models(name):
    """{variant name: rebuilt keras.Model} for every remedy of every finding of a sample."""
    from cnnlstm_lint import lint, load_graph
    from cnnlstm_lint.probe.rebuild import keras_model
    from cnnlstm_lint.probe.variants import variants_for

    graph = load_graph(sample(name))
    out, skipped = {}, {}
    for finding in lint(graph):
        made, why = variants_for(graph, finding)
        skipped.update(why)
        out.update({v.name: keras_model(v.graph) for v in made})
    return out, skipped


def classes(model):
    """Layer class names in call order, TimeDistributed shown as TD(inner)."""
    names = []
    for layer in model.layers:
        name = type(layer).__name__
        if name == "TimeDistributed":
            name = f"TD({type(layer.layer).__name__})"
        names.append(name)
    return names


def test_spatial_reshape_remedies_replace_the_lstm_with_a_head():
    models, skipped = variant_models("cl001_spatial_reshape.keras")
    assert set(models) == {"CL001:gap_dense_head", "CL001:flatten_dense_head"}
    gap = classes(models["CL001:gap_dense_head"])
    assert gap == ["InputLayer", "Conv2D", "MaxPooling2D", "GlobalAveragePooling2D", "Dense",
                   "Dropout", "Dense"]
    flat = classes(models["CL001:flatten_dense_head"])
    assert "LSTM" not in flat and "Reshape" not in flat and "Flatten" in flat
    assert models["CL001:gap_dense_head"].output_shape == (None, 10)
    assert "no time axis" in skipped["timedistributed_cnn"]


def test_scrambled_reshape_remedy_inserts_the_permute():
    models, _ = variant_models("cl007_crnn_no_permute.keras")
    model = models["CL007:insert_permute"]
    names = classes(model)
    assert names.index("Permute") == names.index("Reshape") - 1
    permute = next(l for l in model.layers if type(l).__name__ == "Permute")
    assert tuple(permute.dims) == (2, 1, 3)
    assert model.output_shape == (None, 32, 20)


def test_clip_remedy_moves_the_cnn_under_timedistributed():
    models, _ = variant_models("cl003_reshape_clip.keras")
    names = classes(models["CL003:timedistributed_cnn"])
    assert names == ["InputLayer", "TD(Conv2D)", "TD(MaxPooling2D)", "TD(GlobalAveragePooling2D)",
                     "LSTM", "Dropout", "Dense"]


def test_oversized_input_remedies():
    models, _ = variant_models("cl004_oversized_features.keras")
    assert "TD(GlobalAveragePooling2D)" in classes(models["CL004:pool_before_recurrent"])
    assert "TD(Flatten)" not in classes(models["CL004:pool_before_recurrent"])
    proj = classes(models["CL004:dense_projection"])
    assert proj.index("Dense") == proj.index("LSTM") - 1


def test_no_dropout_remedies():
    models, _ = variant_models("cl006_no_dropout.keras")
    head = classes(models["CL006:dropout_before_head"])
    assert head[head.index("LSTM") + 1] == "Dropout"
    lstm = next(l for l in models["CL006:recurrent_dropout"].layers if type(l).__name__ == "LSTM")
    assert (lstm.dropout, lstm.recurrent_dropout) == (0.2, 0.2)


def test_concat_remedies_shrink_the_wide_branch():
    models, _ = variant_models("cl008_concat_imbalance.keras")
    pooled = models["CL008:pool_wide_branch"]
    assert "GlobalAveragePooling2D" in classes(pooled) and "Flatten" not in classes(pooled)
    concat = next(l for l in pooled.layers if type(l).__name__ == "Concatenate")
    assert concat.output.shape[-1] == 16 + 16


def test_probe_of_the_spatial_reshape_sample(tmp_path):
    result = CliRunner().invoke(main, ["probe", sample("cl001_spatial_reshape.keras"), *QUICK,
                                       "--out", str(tmp_path), "--format", "json"])
    assert result.exit_code in (0, 1), result.output
    report = json.loads(result.output)
    saved = json.loads((tmp_path / "probe.json").read_text())
    assert saved["findings"] == report["findings"]
    (finding,) = report["findings"]
    assert finding["code"] == "CL001"
    verdict = finding["verdict"]
    assert verdict["verdict"] in ("confirmed", "refuted", "inconclusive")
    assert verdict["test"]["name"].startswith("Welch t-test")
    assert verdict["baseline"]["n"] == 2 and len(verdict["baseline"]["values"]) == 2
    assert set(report["variants"]) == {"baseline", "CL001:gap_dense_head", "CL001:flatten_dense_head"}
    for variant in report["variants"].values():
        assert len(variant["runs"]) == 2
        assert all(len(r["history"]["val_metric"]) == r["epochs_run"] for r in variant["runs"])
    assert report["data"]["builtin"] and "tests the architecture, not your data" in report["data"]["description"]
    assert report["environment"]["backend"] == "tensorflow" and report["environment"]["device"] == "cpu"
    png = (tmp_path / "curves.png").read_bytes()
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert result.exit_code == (1 if verdict["verdict"] == "confirmed" else 0)


def test_probe_text_report_and_user_data(tmp_path):
    rng = np.random.default_rng(0)
    data = tmp_path / "mine.npz"
    np.savez(data, x=rng.random((80, 100, 4), dtype=np.float32), y=rng.random(80, dtype=np.float32))
    result = CliRunner().invoke(main, ["probe", sample("cl002_permute_channels.keras"), "--data", str(data),
                                       *QUICK, "--out", str(tmp_path / "out")])
    assert result.exit_code in (0, 1), result.output
    assert "val r2 (mean ± sd)" in result.output
    assert "CL002:gap_dense_head" in result.output and "CL002 channels-as-time at `lstm`:" in result.output
    assert "built-in task" not in result.output
    assert (tmp_path / "out" / "probe.json").exists()


def test_wrong_shaped_data_is_a_clear_error(tmp_path):
    data = tmp_path / "bad.npz"
    np.savez(data, x_train=np.zeros((10, 28, 28)), y_train=np.zeros(10), x_val=np.zeros((4, 28, 28)),
             y_val=np.zeros(4))
    result = CliRunner().invoke(
        main, ["probe", sample("cl001_spatial_reshape.keras"), "--data", str(data), "--out", str(tmp_path)])
    assert result.exit_code == 2
    line = result.stderr.strip()
    assert "\n" not in line and str(data) in line
    assert "(32, 32, 3)" in line and "(28, 28)" in line


def test_label_out_of_range_and_nan_are_errors(tmp_path):
    base = dict(x_train=np.zeros((10, 32, 32, 3)), x_val=np.zeros((4, 32, 32, 3)), y_val=np.zeros(4))
    np.savez(tmp_path / "labels.npz", y_train=np.full(10, 12), **base)
    result = CliRunner().invoke(
        main, ["probe", sample("cl001_spatial_reshape.keras"), "--data", str(tmp_path / "labels.npz")])
    assert result.exit_code == 2 and "label 12 in y_train is outside the model's 10 outputs" in result.stderr
    nan_x = base["x_train"].copy()
    nan_x[0, 0, 0, 0] = np.nan
    np.savez(tmp_path / "nan.npz", **{**base, "x_train": nan_x}, y_train=np.zeros(10))
    result = CliRunner().invoke(
        main, ["probe", sample("cl001_spatial_reshape.keras"), "--data", str(tmp_path / "nan.npz")])
    assert result.exit_code == 2 and "NaN" in result.stderr


def test_budget_stops_cleanly_and_says_so(tmp_path):
    result = CliRunner().invoke(main, ["probe", sample("cl005_gap_single_step.keras"), "--epochs", "200",
                                       "--seeds", "3", "--budget", "3", "--format", "json",
                                       "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["budget"]["exhausted"] is True
    assert report["budget"]["runs_done"] < report["budget"]["runs_planned"]
    (finding,) = report["findings"]
    assert finding["verdict"]["verdict"] == "inconclusive"
    assert "budget" in finding["verdict"]["reason"]


def test_unsafe_model_is_refused_before_keras_sees_it(tmp_path):
    result = CliRunner().invoke(main, ["probe", sample("opaque_lambda.keras"), "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "unsafe content (CL900 at `scale`: Lambda bytecode" in result.stderr
    assert not (tmp_path / "probe.json").exists()


def test_opaque_model_is_refused(tmp_path):
    """A custom class (not unsafe: never imported) is opaque, so it cannot be rebuilt."""
    with open(sample("cl001_spatial_reshape.json")) as fh:
        config = json.load(fh)
    layer = next(l for l in config["config"]["layers"] if l["class_name"] == "Dense")
    layer.update(module="my_project.layers", class_name="MyDense", registered_name="MyDense")
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(config))
    result = CliRunner().invoke(main, ["probe", str(path), "--out", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert f"layer `{layer['config']['name']}` (MyDense) is opaque" in result.stderr


def test_missing_backend_names_the_extra(monkeypatch):
    monkeypatch.setenv("KERAS_BACKEND", "no_such_backend")
    result = CliRunner().invoke(main, ["probe", sample("cl001_spatial_reshape.keras")])
    assert result.exit_code == 2
    assert "pip install 'cnnlstm-lint[tf]'" in result.stderr


def test_clean_model_has_nothing_to_train(tmp_path):
    result = CliRunner().invoke(main, ["probe", sample("good_lrcn.keras"), "--out", str(tmp_path)])
    assert result.exit_code == 0
    assert result.output.strip().endswith("no findings, so nothing to train.")
    report = json.loads((tmp_path / "probe.json").read_text())
    assert report["findings"] == [] and report["variants"] == {} and report["environment"] is None
    assert not (tmp_path / "curves.png").exists()
