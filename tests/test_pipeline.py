"""One pipeline: every entry point (lint, graph, axes, probe, check, the Python API)
resolves the nearest config file as `cnnlstm-lint PATH` does, and reads native formats in
the isolated child.

Each test plants a config next to a CL001 model (pixels as LSTM steps) that ignores
CL001, and checks that the entry point no longer reports it; without the config (or
with --isolated) it does.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

import cnnlstm_lint
from cnnlstm_lint.config import ConfigError

from conftest import SAMPLES, run_cli

KERAS = os.path.join(SAMPLES, "cl001_spatial_reshape.keras")  # CL001 at `lstm`
ONNX = os.path.join(SAMPLES, "torch", "spatial_reshape.ts.onnx")  # CL001 at /lstm/LSTM
CONFIG = os.path.join(SAMPLES, "cl001_spatial_reshape.json")


@pytest.fixture
def project(tmp_path):
    """models/ with the two CL001 models; the config is added by each test."""
    (tmp_path / "models").mkdir()
    shutil.copy(KERAS, tmp_path / "models" / "m.keras")
    shutil.copy(ONNX, tmp_path / "models" / "m.onnx")
    return tmp_path


def ignore_cl001(project, how='ignore = ["CL001"]'):
    (project / "cnnlstm-lint.toml").write_text(how + "\n")


def codes(run) -> list[str]:
    return [f["code"] for entry in json.loads(run.stdout)["files"] for f in entry["findings"]]


def test_lint_honours_the_nearest_config(project):
    assert codes(run_cli("--format", "json", "models", cwd=str(project))) == ["CL001", "CL001"]
    ignore_cl001(project)
    assert codes(run_cli("--format", "json", "models", cwd=str(project))) == []


@pytest.mark.parametrize("fmt", ["dot", "html"])
@pytest.mark.parametrize("model", ["m.keras", "m.onnx"])
def test_graph_honours_the_nearest_config(project, model, fmt):
    before = run_cli("graph", f"models/{model}", "--format", fmt, cwd=str(project))
    assert before.returncode == 0 and "CL001" in before.stdout, before.stderr
    ignore_cl001(project, 'per-layer-ignores = { "*lstm*" = ["CL001"] }')
    after = run_cli("graph", f"models/{model}", "--format", fmt, cwd=str(project))
    assert after.returncode == 0 and "CL001" not in after.stdout, after.stderr
    isolated = run_cli("graph", f"models/{model}", "--format", fmt, "--isolated",
                       cwd=str(project))
    assert "CL001" in isolated.stdout


def test_axes_honours_input_roles_from_the_nearest_config(project):
    ignore_cl001(project, 'input-roles = { x = "NTFC" }')  # the ONNX input, read as a clip
    run = run_cli("axes", "models/m.onnx", cwd=str(project))
    assert run.returncode == 0, run.stderr
    assert "    out[1]      3 time      = T 3 of x" in run.stdout.splitlines()


def test_api_honours_the_nearest_config_and_takes_the_cli_options(project, monkeypatch):
    path = str(project / "models" / "m.keras")
    assert [f.code for f in cnnlstm_lint.lint(path)] == ["CL001"]
    ignore_cl001(project)
    assert cnnlstm_lint.lint(path) == []
    assert [f.code for f in cnnlstm_lint.lint(path, isolated=True)] == ["CL001"]
    (project / "other.toml").write_text('ignore = ["CL006"]\n')
    assert [f.code for f in cnnlstm_lint.lint(path, config=str(project / "other.toml"))] == ["CL001"]
    # an in-memory config: the config nearest to the working directory applies
    with open(CONFIG) as fh:
        model = json.load(fh)
    monkeypatch.chdir(project)
    assert cnnlstm_lint.lint(model) == []
    assert [f.code for f in cnnlstm_lint.lint(model, isolated=True)] == ["CL001"]


def test_api_returns_notes_and_takes_rule_options_and_input_roles(project):
    onnx = cnnlstm_lint.lint(str(project / "models" / "m.onnx"), isolated=True)
    assert [f.code for f in onnx] == ["CL001"]
    assert onnx.skipped == ["CL006 (no-dropout) not judged: an inference-only export, "
                            "where dropout is stripped"]
    wide = os.path.join(SAMPLES, "cl004_oversized_features.keras")
    assert [f.code for f in cnnlstm_lint.lint(wide, isolated=True)] == ["CL004"]
    assert cnnlstm_lint.lint(wide, isolated=True,
                             options={"oversized-recurrent-input": {"max-features": 10**9}}) == []
    with pytest.raises(ConfigError, match=r"`rules.CL004.nope` is not an option of CL004"):
        cnnlstm_lint.lint(wide, options={"CL004": {"nope": 1}})
    with open(CONFIG) as fh:
        model = json.load(fh)
    name = next(l["config"]["name"] for l in model["config"]["layers"]
                if l["class_name"] == "InputLayer")
    with pytest.raises(cnnlstm_lint.LoadError, match="input-roles gives 'NTHWC'"):
        cnnlstm_lint.lint(model, isolated=True, input_roles={name: "NTHWC"})


def test_check_honours_the_config_nearest_to_the_module(project):
    (project / "models.py").write_text(
        "import json\n"
        f"def build():\n    return json.load(open({CONFIG!r}))\n")
    before = run_cli("check", "models.py:build", cwd=str(project))
    assert before.returncode == 1 and "CL001" in before.stdout, before.stderr
    ignore_cl001(project)
    after = run_cli("check", "models.py:build", cwd=str(project))
    assert after.returncode == 0, after.stdout + after.stderr
    assert "CL001" in run_cli("check", "models.py:build", "--isolated", cwd=str(project)).stdout


@pytest.mark.tf
def test_probe_honours_the_nearest_config(project):
    ignore_cl001(project)
    run = run_cli("probe", "models/m.keras", "--out", str(project / "out"), cwd=str(project))
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip().endswith("no findings, so nothing to train.")


def test_load_graph_parses_native_formats_in_the_isolated_child(monkeypatch):
    import cnnlstm_lint.loaders.isolate as isolate

    calls = []
    real = isolate.run_isolated
    monkeypatch.setattr(isolate, "run_isolated",
                        lambda *a, **kw: calls.append(kw.get("what")) or real(*a, **kw))
    graph = cnnlstm_lint.load_graph(ONNX)
    assert calls == ["ONNX parser"]
    assert [f.code for f in cnnlstm_lint.lint(graph, isolated=True)] == ["CL001"]
    cnnlstm_lint.load_graph(KERAS)  # pure Python: read in-process
    assert calls == ["ONNX parser"]
    with pytest.raises(cnnlstm_lint.LoadError, match=r"missing\.onnx: no such file"):
        cnnlstm_lint.load_graph(os.path.join(SAMPLES, "missing.onnx"))


@pytest.mark.tf
def test_an_in_memory_model_is_read_as_its_saved_file(tmp_path):
    """`lint(model)` and `cnnlstm-lint model.keras` agree: in memory, a slice key is a
    tuple (`y[:, -1]`), in the saved config.json a list; both are the last step."""
    import keras
    from keras import layers

    x = keras.Input((20, 64))
    y = layers.Bidirectional(layers.LSTM(16, return_sequences=True))(x)
    y = layers.Dense(10)(y[:, -1])            # CL010: the backward half saw one step
    z = layers.LSTM(8, return_sequences=True)(x)[:, 2:5]
    model = keras.Model(x, layers.Concatenate()([y, layers.Flatten()(z)]))
    path = str(tmp_path / "m.keras")
    model.save(path)

    def codes(findings):
        return sorted((f.code, f.node, tuple(f.related)) for f in findings)

    in_memory = codes(cnnlstm_lint.lint(model, isolated=True))
    assert ("CL010", "bidirectional", ("get_item",)) in in_memory
    assert in_memory == codes(cnnlstm_lint.lint(path, isolated=True))
