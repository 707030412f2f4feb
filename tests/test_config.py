"""Config files, suppressions, baselines, --show-settings, the Python API and `check`."""

import json
import os
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

import cnnlstm_lint
from cnnlstm_lint.cli import main
from conftest import SAMPLES


def invoke(*args, cwd=None):
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, list(args))
    old = os.getcwd()
    os.chdir(cwd)
    try:
        return runner.invoke(main, list(args))
    finally:
        os.chdir(old)


@pytest.fixture
def project(tmp_path):
    """A repository with a legacy/ folder of old models and a models/ folder."""
    (tmp_path / "legacy").mkdir()
    (tmp_path / "models").mkdir()
    shutil.copy(os.path.join(SAMPLES, "cl006_no_dropout.keras"), tmp_path / "legacy" / "old.keras")
    shutil.copy(os.path.join(SAMPLES, "cl006_no_dropout.keras"), tmp_path / "models" / "new.keras")
    shutil.copy(os.path.join(SAMPLES, "cl001_spatial_reshape.keras"), tmp_path / "models" / "pix.keras")
    return tmp_path


def codes(result):
    doc = json.loads(result.output)
    return {os.path.basename(f["path"]): sorted(x["code"] for x in f["findings"]) for f in doc["files"]}


def test_pyproject_per_file_ignores(project):
    (project / "pyproject.toml").write_text(
        '[project]\nname = "x"\n\n[tool.cnnlstm-lint]\nper-file-ignores = { "legacy/*" = ["CL006"] }\n')
    result = invoke("--format", "json", "legacy", "models", cwd=project)
    assert codes(result) == {"old.keras": [], "new.keras": ["CL006"], "pix.keras": ["CL001"]}
    assert result.exit_code == 1


def test_nearest_config_wins_and_isolated_ignores_it(project):
    (project / "pyproject.toml").write_text('[tool.cnnlstm-lint]\nignore = ["CL001"]\n')
    (project / "models" / "cnnlstm-lint.toml").write_text('ignore = ["CL006"]\n')
    result = invoke("--format", "json", "legacy", "models", cwd=project)
    assert codes(result) == {"old.keras": ["CL006"], "new.keras": [], "pix.keras": ["CL001"]}
    isolated = invoke("--format", "json", "--isolated", "models", cwd=project)
    assert codes(isolated) == {"new.keras": ["CL006"], "pix.keras": ["CL001"]}


def test_explicit_config_file_and_rule_options(project, tmp_path):
    cfg = tmp_path / "strict.toml"
    cfg.write_text('select = ["CL004"]\n[rules.oversized-recurrent-input]\nmax-features = 100\n')
    shutil.copy(os.path.join(SAMPLES, "good_lrcn_layers.keras"), project / "models" / "wide.keras")
    result = invoke("--format", "json", "--config", str(cfg), "models", cwd=project)
    assert codes(result)["wide.keras"] == ["CL004"]
    assert codes(result)["pix.keras"] == []


def test_per_layer_ignores(project):
    (project / "cnnlstm-lint.toml").write_text('[per-layer-ignores]\n"ls*" = ["CL001"]\n')
    result = invoke("--format", "json", "models/pix.keras", cwd=project)
    assert codes(result) == {"pix.keras": []} and result.exit_code == 0


def test_fail_on_controls_the_exit_status(project):
    (project / "cnnlstm-lint.toml").write_text('fail-on = "error"\n')
    result = invoke("models/pix.keras", cwd=project)
    assert "CL001" in result.output and result.exit_code == 0  # a warning does not fail
    assert invoke("--fail-on", "warning", "models/pix.keras", cwd=project).exit_code == 1


@pytest.mark.parametrize("text,message", [
    ('selct = ["CL001"]\n', "unknown key `selct`"),
    ('ignore = "CL001"\n', "`ignore` must be a list of rule codes"),
    ('ignore = ["CL777"]\n', "`ignore` names no rule: 'CL777'"),
    ('fail-on = "fatal"\n', "`fail-on` must be"),
    ('[rules.oversized-recurrent-input]\nmax-featurs = 1\n', "`rules.oversized-recurrent-input.max-featurs` is not an option"),
    ('[rules.CL004]\nmax-features = "big"\n', "`rules.CL004.max-features` must be int"),
    ('[input-roles]\nx = "QQ"\n', "`input-roles.x` must be letters"),
    ('ignore = [\n', "not valid TOML"),
])
def test_bad_config_is_an_error_naming_the_key(project, text, message):
    (project / "cnnlstm-lint.toml").write_text(text)
    result = invoke("models/pix.keras", cwd=project)
    assert result.exit_code == 2
    assert message in result.output and "cnnlstm-lint.toml" in result.output


def test_show_settings(project):
    (project / "pyproject.toml").write_text('[tool.cnnlstm-lint]\nignore = ["CL006"]\n'
                                             '[tool.cnnlstm-lint.rules.CL008]\nmax-ratio = 4\n')
    result = invoke("--show-settings", "models", cwd=project)
    doc = json.loads(result.output)
    assert doc["config-file"].endswith("pyproject.toml")
    assert doc["ignore"] == ["CL006"] and "CL006" not in doc["rules-selected"]
    assert doc["rules"] == {"CL008": {"max-ratio": 4.0}}


def test_warn_unused_ignores(project):
    (project / "cnnlstm-lint.toml").write_text('[per-file-ignores]\n"models/*" = ["CL001"]\n"nothing/*" = ["CL002"]\n')
    result = invoke("--warn-unused-ignores", "models", cwd=project)
    assert "per-file-ignores entry 'nothing/*' matched no finding" in result.output
    assert "'models/*' matched no finding" not in result.output


def test_input_roles_declare_an_ambiguous_input(tmp_path):
    # an audio CRNN reading a (time, mel, 1) spectrogram: declared as BTFC, the Reshape
    # folding mel into features keeps time as time (no spatial axes at all)
    (tmp_path / "cnnlstm-lint.toml").write_text('[input-roles]\ninput_layer = "BTFC"\n')
    shutil.copy(os.path.join(SAMPLES, "good_audio_crnn.keras"), tmp_path / "a.keras")
    graph = cnnlstm_lint.load_graph(str(tmp_path / "a.keras"), input_roles={"input_layer": "BTFC"})
    assert [a.role for a in graph.tensor("input_layer").axes] == ["batch", "time", "feature", "channel"]
    assert invoke("--format", "json", "a.keras", cwd=tmp_path).exit_code == 0


def test_baseline_reports_only_new_findings(project):
    base = project / "baseline.json"
    assert invoke("--write-baseline", str(base), "models", cwd=project).exit_code == 0
    first = base.read_text()
    assert invoke("--write-baseline", str(base), "models", cwd=project).exit_code == 0
    assert base.read_text() == first  # stable across runs
    entries = json.loads(first)["findings"]
    assert [(e["file"], e["code"]) for e in entries] == [("models/new.keras", "CL006"),
                                                         ("models/pix.keras", "CL001")]
    assert invoke("--baseline", str(base), "models", cwd=project).exit_code == 0
    shutil.copy(os.path.join(SAMPLES, "cl005_gap_single_step.keras"), project / "models" / "one.keras")
    result = invoke("--format", "json", "--baseline", str(base), "models", cwd=project)
    assert result.exit_code == 1
    assert codes(result) == {"new.keras": [], "one.keras": ["CL005"], "pix.keras": []}


def test_python_api_assert_clean():
    cnnlstm_lint.assert_clean(os.path.join(SAMPLES, "good_lrcn.keras"))
    with pytest.raises(AssertionError) as info:
        cnnlstm_lint.assert_clean(os.path.join(SAMPLES, "cl001_spatial_reshape.keras"))
    assert "CL001 spatial-sequence at `lstm`" in str(info.value)
    assert "remedy:" in str(info.value)
    cnnlstm_lint.assert_clean(os.path.join(SAMPLES, "cl001_spatial_reshape.keras"), ignore=["CL001"])


def test_python_api_on_an_onnx_model_proto():
    import onnx

    proto = onnx.load(os.path.join(SAMPLES, "torch", "spatial_reshape.ts.onnx"))
    (finding,) = cnnlstm_lint.lint(proto)
    assert (finding.code, finding.node) == ("CL001", "/lstm/LSTM")
    assert set(finding.as_dict()) == {"code", "name", "severity", "message", "node", "related",
                                      "remedy", "evidence", "fingerprint"}


@pytest.mark.tf
def test_in_memory_keras_model_matches_the_saved_file(tmp_path):
    code = f"""
import os, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras, cnnlstm_lint
model = keras.saving.load_model({os.path.join(SAMPLES, 'cl003_flatten_clip.keras')!r}, compile=False)
print(json.dumps(sorted((f.code, f.node, f.message) for f in cnnlstm_lint.lint(model))))
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    in_memory = [tuple(x) for x in json.loads(proc.stdout.strip().splitlines()[-1])]
    saved = sorted((f.code, f.node, f.message)
                   for f in cnnlstm_lint.lint(os.path.join(SAMPLES, "cl003_flatten_clip.keras")))
    assert in_memory == saved


MODELS_PY = '''
import keras
from keras import layers

def rank_error():
    x = keras.Input((32, 32, 3))
    y = layers.Conv2D(8, 3)(x)
    return keras.Model(x, layers.LSTM(8, name="lstm")(y))

def spatial():
    x = keras.Input((32, 32, 3))
    y = layers.MaxPooling2D(2)(layers.Conv2D(8, 3)(x))
    y = layers.LSTM(8, name="lstm")(layers.Reshape((225, 8))(y))
    return keras.Model(x, layers.Dense(2)(layers.Dropout(0.3)(y)))

def broken():
    raise RuntimeError("no such dataset")
'''


@pytest.mark.tf
def test_check_command_builds_and_lints_user_code(tmp_path):
    (tmp_path / "models.py").write_text(MODELS_PY)
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    cli = [sys.executable, "-m", "cnnlstm_lint", "check"]

    def run(spec):
        return subprocess.run([*cli, str(tmp_path / "models.py") + spec], capture_output=True,
                              text=True, env=env, timeout=300)

    rank = run(":rank_error")
    assert rank.returncode == 1 and "Traceback" not in rank.stderr
    assert ":lstm: CL003 [error] missing-timedistributed" in rank.stdout
    assert "receives (None, 30, 30, 8)" in rank.stdout and "TimeDistributed" in rank.stdout
    spatial = run(":spatial")
    assert spatial.returncode == 1 and "CL001" in spatial.stdout
    broken = run(":broken")
    assert broken.returncode == 2 and "raised RuntimeError: no such dataset" in broken.stderr
    assert "Traceback" not in broken.stderr
    assert run(":missing").returncode == 2
