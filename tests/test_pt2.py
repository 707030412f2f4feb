"""Integration: torch.export archives (.pt2) linted through the CLI, against their ONNX twins.

The files under sample_models/pt2/ are committed (built by sample_models/export_pt2.py
from the very modules whose ONNX exports are under sample_models/torch/, batch_as_time/
and cl010_cl013/), so only the regeneration test needs torch.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

import cnnlstm_lint
from cnnlstm_lint.cli import main
from cnnlstm_lint.loaders.formats import SUFFIXES, precommit_pattern
from conftest import ROOT, SAMPLES, run_cli

PT2 = os.path.join(SAMPLES, "pt2")
EXPORT_SCRIPT = os.path.join(SAMPLES, "export_pt2.py")

# name -> (its ONNX twin, {code: the node it is reported on})
EXPECTED = {
    "crnn_width_time": ("torch/crnn_width_time.dynamo.onnx", {}),
    "spatial_reshape": ("torch/spatial_reshape.dynamo.onnx", {"CL001": "lstm"}),
    "spatial_reshape_gru": ("torch/spatial_reshape_gru.ts.onnx", {"CL001": "gru"}),
    "video_fold_batch": ("torch/video_fold_batch.dynamo.onnx", {}),
    "single_step": ("torch/single_step.dynamo.onnx", {"CL005": "lstm"}),
    "channels_as_time": ("torch/channels_as_time.dynamo.onnx", {"CL002": "lstm"}),
    "missing_permute": ("torch/missing_permute.dynamo.onnx", {"CL007": "lstm"}),
    "t_conv1d_gru_no_batch_first": ("batch_as_time/t_conv1d_gru_no_batch_first.dynamo.onnx",
                                    {"CL009": "gru"}),
    "t_conv1d_gru_batch_first": ("batch_as_time/t_conv1d_gru_batch_first.dynamo.onnx", {}),
    "t_bilstm_last": ("cl010_cl013/t_bilstm_last.dynamo.onnx", {"CL010": "lstm"}),
    "t_bilstm_last_time_first": ("cl010_cl013/t_bilstm_last_time_first.dynamo.onnx",
                                 {"CL010": "lstm"}),
    "good_t_lstm_last": ("cl010_cl013/good_t_lstm_last.dynamo.onnx", {}),
    "good_t_bilstm_halves": ("cl010_cl013/good_t_bilstm_halves.dynamo.onnx", {}),
    "good_t_bilstm_hn": ("cl010_cl013/good_t_bilstm_hn.dynamo.onnx", {}),
    "t_softmax_batch": ("cl010_cl013/t_softmax_batch.dynamo.onnx", {"CL013": "softmax"}),
    "good_t_softmax_classes": ("cl010_cl013/good_t_softmax_classes.dynamo.onnx", {}),
    "t_loop_stack": ("onnx_unrolled/t_loop_stack.dynamo.onnx", {}),
    "t_loop_unbind": ("onnx_unrolled/t_loop_unbind.dynamo.onnx", {}),
    "t_loop_merge": ("onnx_unrolled/t_loop_merge.dynamo.onnx", {"CL003": "reshape"}),
}


def committed() -> list[str]:
    return sorted(f[:-len(".pt2")] for f in os.listdir(PT2) if f.endswith(".pt2")) \
        if os.path.isdir(PT2) else []


def lint_json(*paths: str) -> tuple[int, dict]:
    result = CliRunner().invoke(main, ["--format", "json", *paths])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def findings(path: str) -> list[dict]:
    _, doc = lint_json(path)
    (entry,) = doc["files"]
    assert entry["status"] == "ok", entry["error"]
    return entry["findings"]


def sample(name: str) -> str:
    return os.path.join(PT2, f"{name}.pt2")


def test_every_sample_is_committed_and_small():
    assert committed() == sorted(EXPECTED)
    for name in committed():
        assert os.path.getsize(sample(name)) < 200 * 1024, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_codes_and_nodes(name):
    _, expected = EXPECTED[name]
    exit_code, doc = lint_json(sample(name))
    (entry,) = doc["files"]
    assert entry["status"] == "ok" and entry["error"] is None
    assert {f["code"]: f["node"] for f in entry["findings"]} == expected
    assert len(entry["findings"]) == len(expected)  # one finding per code, no duplicates
    assert exit_code == (1 if expected else 0)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_the_same_findings_as_the_onnx_twin(name):
    pytest.importorskip("onnx", reason="linting the ONNX twin needs the onnx package")
    twin, _ = EXPECTED[name]
    ours, theirs = findings(sample(name)), findings(os.path.join(SAMPLES, twin))
    assert [f["code"] for f in ours] == [f["code"] for f in theirs]
    for mine, other in zip(ours, theirs):
        # the module path is the node here and the exporter's layer there; an op of the
        # root module is named after its op in both (`reshape`, `node_Reshape_202`)
        named = other["evidence"].get("layer") or \
            re.sub(r"_\d+$", "", other["node"].removeprefix("node_")).lower()
        assert mine["node"] == named, (mine["node"], other["node"])


def test_spatial_reshape_names_the_pixels_the_modules_and_pytorch_remedies():
    (finding,) = findings(sample("spatial_reshape"))
    assert "225 steps" in finding["message"] and "15×15" in finding["message"]
    assert finding["related"] == ["reshape", "permute", "pool"]
    assert "nn.AdaptiveAvgPool2d(1)" in finding["remedy"]
    assert "GlobalAveragePooling2D" not in finding["remedy"]


def test_batch_as_time_speaks_pytorch():
    (finding,) = findings(sample("t_conv1d_gru_no_batch_first"))
    assert "which is the batch axis of `conv`" in finding["message"]
    assert "nn.GRU(..., batch_first=True)" in finding["remedy"]


def test_missing_permute_remedy_is_a_permute():
    (finding,) = findings(sample("missing_permute"))
    assert finding["evidence"]["reshape"] == "reshape"
    assert "x.permute(0, 3, 1, 2) before `reshape`" in finding["remedy"]


def test_bidirectional_last_step_names_both_directions():
    for name in ("t_bilstm_last", "t_bilstm_last_time_first"):
        (finding,) = findings(sample(name))
        assert finding["related"] == ["select"]
        assert "both directions' 16 features" in finding["message"]
    (finding,) = findings(sample("t_bilstm_last_time_first"))
    assert "out[-1, :, :8]" in finding["remedy"] and "out.mean(0)" in finding["remedy"]


def test_the_location_names_the_member_and_the_node():
    (finding,) = cnnlstm_lint.lint(sample("spatial_reshape"))
    assert finding.node == "lstm"
    assert finding.location.pointer == "spatial_reshape/models/model.json node lstm"
    assert finding.location.layer_path == "lstm"


def test_the_graph_shows_the_aten_ops_and_module_paths():
    run = run_cli("axes", "sample_models/pt2/video_fold_batch.pt2")
    assert run.returncode == 0, run.stderr
    heads = re.findall(r"^(\S+)  \[(.+)\]$", run.stdout, re.MULTILINE)
    assert ("cnn.0", "aten.conv2d.default") in heads
    assert ("gap", "aten.adaptive_avg_pool2d.default") in heads
    assert ("lstm", "LSTM") in heads
    assert ("head", "aten.linear.default") in heads
    # the clip's 6 frames go into the batch for the CNN and come back as the LSTM's steps
    folded = run.stdout.split("flatten  [aten.flatten.using_ints]")[1].split("\n")[1]
    assert folded.split() == ["out[0]", "None", "batch", "=", "N", "?", "×", "T", "6", "of", "x"]
    unfolded = run.stdout.split("reshape_1  [aten.reshape.default]")[1].split("lstm  [")[0]
    assert "6 time      = T 6 of x" in unfolded


@pytest.mark.parametrize("name", ["t_loop_stack", "t_loop_unbind"])
def test_a_loop_over_frames_gives_the_lstm_the_clips_time_axis(name):
    """The CNN run on x[:, t] (or x.unbind(1)) per frame, the features stacked back: the
    stacked axis is the clip's time axis, so the LSTM is judged (and clean)."""
    run = run_cli("axes", f"sample_models/pt2/{name}.pt2")
    assert run.returncode == 0, run.stderr
    stacked = run.stdout.split("stack  [aten.stack.default]")[1].split("\n")[2]
    assert stacked.split() == ["out[1]", "6", "time", "=", "T", "6", "of", "x"]
    verbose = run_cli("-v", f"sample_models/pt2/{name}.pt2")
    assert verbose.returncode == 0 and "not judged on lstm: its input" not in verbose.stdout


def test_stacked_frames_merged_with_rows_name_the_reshape():
    (finding,) = findings(sample("t_loop_merge"))
    assert "merges the 6-step time axis of `x` with H 8" in finding["message"]
    assert "run the CNN on every frame (x.reshape(b * t, c, h, w)" in finding["remedy"]


def test_directory_walks_collect_pt2(tmp_path):
    assert ".pt2" in SUFFIXES
    for name in ("spatial_reshape", "crnn_width_time"):
        shutil.copy(sample(name), tmp_path / f"{name}.pt2")
    (tmp_path / "notes.txt").write_text("not a model")
    exit_code, doc = lint_json(str(tmp_path))
    assert exit_code == 1
    assert sorted(os.path.basename(f["path"]) for f in doc["files"]) == \
        ["crnn_width_time.pt2", "spatial_reshape.pt2"]
    assert {os.path.basename(f["path"]): [x["code"] for x in f["findings"]]
            for f in doc["files"]} == {"crnn_width_time.pt2": [], "spatial_reshape.pt2": ["CL001"]}


def test_the_precommit_hook_takes_pt2():
    hook = re.compile(precommit_pattern())
    assert hook.search("models/encoder.pt2") and not hook.search("models/encoder.pt")


def test_the_content_not_the_suffix_tells_a_pt2_from_a_keras(tmp_path):
    shutil.copy(sample("spatial_reshape"), tmp_path / "looks_like.keras")
    shutil.copy(os.path.join(SAMPLES, "cl001_spatial_reshape.keras"), tmp_path / "looks_like.pt2")
    _, doc = lint_json(str(tmp_path / "looks_like.keras"), str(tmp_path / "looks_like.pt2"))
    by_file = {os.path.basename(f["path"]): f for f in doc["files"]}
    (pt2,) = by_file["looks_like.keras"]["findings"]
    assert pt2["code"] == "CL001" and pt2["message"].startswith("LSTM `lstm` runs over")
    (keras,) = by_file["looks_like.pt2"]["findings"]
    assert keras["code"] == "CL001" and "aten" not in keras["message"]


SCRIPT = """
import sys
from cnnlstm_lint.cli import main
try:
    main(args=sys.argv[1:], prog_name="cnnlstm-lint")
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("torch", "numpy", "onnx", "h5py"))
print("EXIT", code)
print("HEAVY", heavy)
"""


def test_linting_pt2_imports_neither_torch_nor_numpy():
    proc = subprocess.run([sys.executable, "-c", SCRIPT, "sample_models/pt2"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert "EXIT 1" in proc.stdout, proc.stderr
    assert "HEAVY []" in proc.stdout


def test_regenerated_archives_lint_the_same(tmp_path):
    pytest.importorskip("torch")
    proc = subprocess.run([sys.executable, EXPORT_SCRIPT, "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    regenerated = sorted(f[:-len(".pt2")] for f in os.listdir(tmp_path) if f.endswith(".pt2"))
    assert regenerated == committed()
    for name in regenerated:
        got = [(f["code"], f["node"]) for f in findings(str(tmp_path / f"{name}.pt2"))]
        assert got == sorted(EXPECTED[name][1].items()), name
