"""Trust in every environment: memory-limited runners, stable fingerprints, configs that
cannot switch off the unsafe-content gate, the probe refusing unsafe models, and errors
from parser children that stay one file's error.

Everything runs the installed CLI as a user would, on real sample files.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES, cli_path, run_cli

from cnnlstm_lint.findings import fingerprint
from cnnlstm_lint.loaders import LoadError
from cnnlstm_lint.loaders.isolate import run_isolated

KERAS = os.path.join(SAMPLES, "cl001_spatial_reshape.keras")
H5 = os.path.join(SAMPLES, "cl001_spatial_reshape.h5")
TF2ONNX = os.path.join(SAMPLES, "onnx", "cl001_spatial_reshape.onnx")
TORCH = os.path.join(SAMPLES, "torch", "spatial_reshape.ts.onnx")
LAMBDA = os.path.join(SAMPLES, "opaque_lambda.keras")  # CL900 at `scale`


def shell(command: str, cwd: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], cwd=cwd, capture_output=True, text=True,
                          timeout=300)


def cli_words() -> str:
    return " ".join(f"'{part}'" for part in cli_path())


# -- memory-limited runners ---------------------------------------------------------------


@pytest.mark.parametrize("kib", [2_500_000, 3_000_000])
def test_directory_lints_under_an_address_space_limit(tmp_path, kib):
    models = tmp_path / "models"
    models.mkdir()
    for src, name in [(KERAS, "a.keras"), (H5, "b.h5"), (TF2ONNX, "c.onnx"), (TORCH, "d.onnx")]:
        shutil.copy(src, models / name)
    (models / "broken.onnx").write_bytes(b"\x08\x07garbage that is not a protobuf \xff\xff")
    run = shell(f"ulimit -v {kib} && {cli_words()} --format json models", tmp_path)
    assert "Traceback" not in run.stdout + run.stderr, run.stderr
    assert run.returncode == 2, run.stderr
    report = json.loads(run.stdout)
    status = {Path(f["path"]).name: f["status"] for f in report["files"]}
    assert status == {"a.keras": "ok", "b.h5": "ok", "c.onnx": "ok", "d.onnx": "ok",
                      "broken.onnx": "error"}, report
    assert all("CL001" in {x["code"] for x in f["findings"]}
               for f in report["files"] if f["status"] == "ok")
    lines = run.stderr.strip().splitlines()
    assert lines == [line for line in lines if line.startswith("error: models/broken.onnx: ")]
    assert len(lines) == 1, lines


def test_a_child_never_raises_its_address_space_limit():
    """Under a hard limit below what the child would grant itself, the child lowers
    only: the work still runs (it used to die on 'not allowed to raise maximum limit')."""
    code = ("import resource; from cnnlstm_lint.loaders.isolate import run_isolated; "
            "resource.setrlimit(resource.RLIMIT_AS, (3 * 1024**3, 3 * 1024**3)); "
            "print(run_isolated(lambda: resource.getrlimit(resource.RLIMIT_AS)[0]))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    assert 0 < int(out.stdout) <= 3 * 1024**3


def _raises_value_error():
    raise ValueError("not allowed to raise maximum limit")


def test_any_exception_in_a_child_comes_back_as_a_load_error():
    with pytest.raises(LoadError, match=r"the HDF5 parser failed \(ValueError: not allowed"):
        run_isolated(_raises_value_error, what="HDF5 parser")


# -- fingerprints ---------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path) -> Path:
    """A git checkout (a `.git` folder is what marks the root) with one CL001 model."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "models" / "sub").mkdir(parents=True)
    shutil.copy(KERAS, root / "models" / "m.keras")
    return root


def fingerprints(run: subprocess.CompletedProcess) -> list[str]:
    assert run.returncode == 1, run.stderr
    return [f["fingerprint"] for entry in json.loads(run.stdout)["files"]
            for f in entry["findings"]]


# sha256("CL001\0models/m.keras\0lstm")[:16]: the path relative to the repository root
EXPECTED = "85f4170b56a79cfd"


def test_fingerprint_is_independent_of_how_the_path_is_typed(repo):
    absolute = str(repo / "models" / "m.keras")
    runs = [run_cli("--format", "json", "models/m.keras", cwd=str(repo)),
            run_cli("--format", "json", "./models/m.keras", cwd=str(repo)),
            run_cli("--format", "json", absolute, cwd="/"),
            run_cli("--format", "json", "m.keras", cwd=str(repo / "models")),
            run_cli("--format", "json", "../m.keras", cwd=str(repo / "models" / "sub")),
            run_cli("--format", "json", "repo/models/m.keras", cwd=str(repo.parent))]
    assert {tuple(fingerprints(r)) for r in runs} == {(EXPECTED,)}
    assert fingerprint("CL001", "models/m.keras", "lstm") == EXPECTED


def test_sarif_and_gitlab_fingerprints_follow_the_same_key(repo):
    a = run_cli("--format", "sarif", "models/m.keras", cwd=str(repo))
    b = run_cli("--format", "sarif", str(repo / "models" / "m.keras"), cwd="/")
    keys = [r["partialFingerprints"] for run in (a, b)
            for r in json.loads(run.stdout)["runs"][0]["results"]]
    assert len(keys) == 2 and keys[0] == keys[1] and EXPECTED in keys[0].values()
    gitlab = run_cli("--format", "gitlab", "m.keras", cwd=str(repo / "models"))
    assert [i["fingerprint"] for i in json.loads(gitlab.stdout)] == [EXPECTED]


def test_outside_a_repository_the_config_folder_is_the_root(tmp_path):
    (tmp_path / "proj" / "models").mkdir(parents=True)
    (tmp_path / "proj" / "cnnlstm-lint.toml").write_text('ignore = ["CL006"]\n')
    shutil.copy(KERAS, tmp_path / "proj" / "models" / "m.keras")
    here = run_cli("--format", "json", "proj/models/m.keras", cwd=str(tmp_path))
    inside = run_cli("--format", "json", "m.keras", cwd=str(tmp_path / "proj" / "models"))
    assert fingerprints(here) == fingerprints(inside) == [EXPECTED]


def test_a_baseline_written_one_way_suppresses_when_checked_another(repo):
    wrote = run_cli("--write-baseline", "base.json", "./models/m.keras", cwd=str(repo))
    assert wrote.returncode == 0, wrote.stderr
    data = json.loads((repo / "base.json").read_text())
    assert data["version"] == 2
    assert data["findings"] == [{"code": "CL001", "file": "models/m.keras",
                                 "fingerprint": EXPECTED, "node": "lstm"}]
    checked = run_cli("--baseline", str(repo / "base.json"), "m.keras",
                      cwd=str(repo / "models"))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "No findings in 1 model file." in checked.stdout


def test_a_version_1_baseline_is_still_read(repo):
    old = {"version": 1, "findings": [{"code": "CL001", "file": "./models/m.keras",
                                       "fingerprint": "0123456789abcdef", "node": "lstm"}]}
    (repo / "old.json").write_text(json.dumps(old))
    checked = run_cli("--baseline", "old.json", "models/m.keras", cwd=str(repo))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_resaving_an_unchanged_model_keeps_its_fingerprints(repo):
    """A new save rewrites the zip headers (dates, order); the fingerprint must not move."""
    path = repo / "models" / "m.keras"
    before = fingerprints(run_cli("--format", "json", "models/m.keras", cwd=str(repo)))
    with zipfile.ZipFile(path) as zf:
        members = [(zf.getinfo(n), zf.read(n)) for n in zf.namelist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for info, data in reversed(members):
            info.date_time = (2031, 1, 2, 3, 4, 6)
            zf.writestr(info, data)
    after = fingerprints(run_cli("--format", "json", "models/m.keras", cwd=str(repo)))
    assert before == after == [EXPECTED]


@pytest.mark.tf
def test_a_keras_model_saved_twice_keeps_its_fingerprints(tmp_path):
    code = ("import sys, time, keras; from keras import layers; "
            "m = keras.Sequential([keras.Input((32, 32, 1)), layers.Conv2D(8, 3), "
            "layers.MaxPooling2D(2), layers.Reshape((225, 8)), layers.LSTM(16), "
            "layers.Dense(10)]); m.save(sys.argv[1]); time.sleep(2); m.save(sys.argv[2])")
    (tmp_path / ".git").mkdir()
    subprocess.run([sys.executable, "-c", code, "one.keras", "two.keras"], cwd=tmp_path,
                   check=True, capture_output=True, timeout=300)
    assert (tmp_path / "one.keras").read_bytes() != (tmp_path / "two.keras").read_bytes()
    shutil.move(tmp_path / "two.keras", tmp_path / "again")
    first = fingerprints(run_cli("--format", "json", "one.keras", cwd=str(tmp_path)))
    (tmp_path / "one.keras").unlink()
    shutil.move(tmp_path / "again", tmp_path / "one.keras")
    second = fingerprints(run_cli("--format", "json", "one.keras", cwd=str(tmp_path)))
    assert first == second and len(first) >= 1


# -- the unsafe-content gate against planted configs ----------------------------------------


PLANTED = {
    "ignore": 'ignore = ["CL900"]\n',
    "select": 'select = ["CL001"]\n',
    "prefix": 'ignore = ["CL9"]\n',
    "per-file": 'per-file-ignores = { "*.keras" = ["CL900"] }\n',
    "per-layer": 'per-layer-ignores = { "*" = ["CL900"] }\n',
    "fail-on": 'fail-on = "error"\nignore = ["ALL"]\n',
}


@pytest.mark.parametrize("name", sorted(PLANTED))
def test_a_planted_config_cannot_switch_off_unsafe_content(tmp_path, name):
    shutil.copy(LAMBDA, tmp_path / "m.keras")
    (tmp_path / ".cnnlstm-lint.toml").write_text(PLANTED[name])
    run = run_cli("--format", "json", "m.keras", cwd=str(tmp_path))
    assert run.returncode == 1, run.stdout + run.stderr
    codes = [f["code"] for f in json.loads(run.stdout)["files"][0]["findings"]]
    assert "CL900" in codes
    if name in ("ignore", "select", "prefix", "fail-on"):
        assert "cannot switch off CL900 (unsafe-content); only --config or the command " \
               "line can" in run.stderr


def test_an_explicit_config_or_flag_can_switch_it_off_and_says_so(tmp_path):
    shutil.copy(LAMBDA, tmp_path / "m.keras")
    (tmp_path / "trusted.toml").write_text('ignore = ["CL900"]\n')
    run = run_cli("--config", "trusted.toml", "m.keras", cwd=str(tmp_path))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "warning: m.keras: 1 CL900 (unsafe-content) finding(s) not reported: switched off by --config trusted.toml" in run.stderr
    flag = run_cli("--ignore", "CL900", "m.keras", cwd=str(tmp_path))
    assert flag.returncode == 0
    assert "switched off by the command line" in flag.stderr


@pytest.mark.tf
def test_the_probe_refuses_an_unsafe_model(tmp_path):
    run = run_cli("probe", LAMBDA, "--out", str(tmp_path / "out"), cwd=str(tmp_path))
    assert run.returncode == 2, run.stdout + run.stderr
    assert "unsafe content (CL900 at `scale`" in run.stderr
    assert "budget" not in run.stdout + run.stderr
    assert "Traceback" not in run.stderr


# -- configs as hostile data ------------------------------------------------------------------


def test_a_deeply_nested_toml_config_is_one_clean_error(tmp_path):
    shutil.copy(KERAS, tmp_path / "m.keras")
    (tmp_path / "cnnlstm-lint.toml").write_text("x = " + "[" * 5000 + "]" * 5000 + "\n")
    run = run_cli("m.keras", cwd=str(tmp_path))
    assert run.returncode == 2
    assert "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines() == [
        f"error: {tmp_path / 'cnnlstm-lint.toml'}: nested too deeply to be a config file"]


def test_axes_reads_onnx_in_the_isolated_child_and_honours_the_config(tmp_path):
    shutil.copy(TORCH, tmp_path / "m.onnx")
    (tmp_path / "cnnlstm-lint.toml").write_text('input-roles = { x = "NCHWF" }\n')
    bad = run_cli("axes", "m.onnx", cwd=str(tmp_path))
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: m.onnx: input-roles gives 'NCHWF' for input 'x'")
    good = run_cli("axes", "m.onnx", "--isolated", cwd=str(tmp_path))
    assert good.returncode == 0 and "/lstm/LSTM  [LSTM]" in good.stdout


def test_graph_draws_in_the_child_with_the_nearest_config(tmp_path):
    shutil.copy(TORCH, tmp_path / "m.onnx")
    drawn = run_cli("graph", "m.onnx", "--format", "dot", cwd=str(tmp_path))
    assert drawn.returncode == 0, drawn.stderr
    assert "1 finding" in drawn.stdout and "CL001" in drawn.stdout
    (tmp_path / "cnnlstm-lint.toml").write_text('ignore = ["CL001"]\n')
    quiet = run_cli("graph", "m.onnx", "--format", "dot", cwd=str(tmp_path))
    assert quiet.returncode == 0, quiet.stderr
    assert "CL001" not in quiet.stdout and "no findings" in quiet.stdout


def test_a_pyproject_above_the_model_is_read_on_every_python(tmp_path):
    """Python 3.10 has no tomllib: tomli stands in (CI runs this on 3.10 and 3.13)."""
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n\n'
                                             '[tool.cnnlstm-lint]\nignore = ["CL006"]\n')
    (tmp_path / "models").mkdir()
    shutil.copy(KERAS, tmp_path / "models" / "m.keras")
    run = run_cli("--show-settings", "models/m.keras", cwd=str(tmp_path))
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["ignore"] == ["CL006"]
    lint = run_cli("models/m.keras", "--exit-zero", cwd=str(tmp_path))
    assert lint.returncode == 0 and "CL001" in lint.stdout and "Traceback" not in lint.stderr
