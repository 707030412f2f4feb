"""Integration: real PyTorch ONNX exports (TorchScript and dynamo exporters) linted through the CLI.

The files under sample_models/torch/ are committed (built by sample_models/export_torch.py),
so only the last test needs torch.
"""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner

from cnnlstm_lint.cli import main
from conftest import ROOT, SAMPLES, run_cli

onnx = pytest.importorskip("onnx", reason="linting .onnx files needs the onnx package")

TORCH_SAMPLES = os.path.join(SAMPLES, "torch")
EXPORT_SCRIPT = os.path.join(SAMPLES, "export_torch.py")

# model name -> the exact set of codes its exports must produce (either exporter)
EXPECTED = {
    "crnn_width_time": set(),
    "spatial_reshape": {"CL001"},
    "spatial_reshape_gru": {"CL001"},
    "video_fold_batch": set(),
    "single_step": {"CL005"},
    "channels_as_time": {"CL002"},
    "missing_permute": {"CL007"},
}
RECURRENT_OPS = {"LSTM", "GRU", "RNN"}


def committed_files() -> list[str]:
    if not os.path.isdir(TORCH_SAMPLES):
        return []
    return sorted(f for f in os.listdir(TORCH_SAMPLES) if f.endswith(".onnx"))


def model_name(filename: str) -> str:
    # "<name>.ts.onnx" / "<name>.dynamo.onnx"
    return filename.split(".", 1)[0]


def lint_json(path: str):
    result = CliRunner().invoke(main, ["--format", "json", path])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, json.loads(result.output)


def codes_of(path: str) -> set[str]:
    _, doc = lint_json(path)
    (entry,) = doc["files"]
    assert entry["status"] == "ok", entry["error"]
    return {f["code"] for f in entry["findings"]}


def test_every_model_is_committed_for_both_exporters():
    files = set(committed_files())
    wanted = {f"{name}.{kind}.onnx" for name in EXPECTED for kind in ("ts", "dynamo")}
    wanted.discard("spatial_reshape_gru.dynamo.onnx")  # exported with TorchScript only
    assert files == wanted


def test_committed_files_are_small():
    for name in committed_files():
        assert os.path.getsize(os.path.join(TORCH_SAMPLES, name)) < 200 * 1024, name


@pytest.mark.parametrize("filename", committed_files())
def test_torch_export_codes_and_nodes(filename):
    path = os.path.join(TORCH_SAMPLES, filename)
    expected = EXPECTED[model_name(filename)]
    exit_code, doc = lint_json(path)
    (entry,) = doc["files"]
    assert entry["status"] == "ok" and entry["error"] is None
    findings = entry["findings"]
    assert {f["code"] for f in findings} == expected
    assert len(findings) == len(expected)  # one finding per expected code, no duplicates
    assert exit_code == (1 if expected else 0)

    graph_ops = {n.name: n.op_type for n in onnx.load(path, load_external_data=False).graph.node}
    for finding in findings:
        node = finding["node"]
        assert any(word in node for word in ("lstm", "LSTM", "gru", "GRU")), node
        assert graph_ops.get(node) in RECURRENT_OPS, (node, graph_ops.get(node))
        if finding["code"] == "CL001":
            assert any("Reshape" in r for r in finding["related"]), finding["related"]
            assert "225 steps" in finding["message"] and "15×15" in finding["message"]
            kind = "GRU" if model_name(filename).endswith("_gru") else "LSTM"
            assert graph_ops[node] == kind


def test_spatial_reshape_text_output_through_the_console_script():
    proc = run_cli("sample_models/torch/spatial_reshape.ts.onnx")
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout
    assert "/lstm/LSTM" in out
    assert "CL001 [warning] spatial-sequence" in out
    assert "time axis of 225 steps = H 15 × W 15" in out


def test_regenerated_exports_lint_the_same(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnxscript")  # the dynamo exporter
    proc = subprocess.run([sys.executable, EXPORT_SCRIPT, "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-4000:]
    regenerated = sorted(f for f in os.listdir(tmp_path) if f.endswith(".onnx"))
    assert regenerated == committed_files()
    for name in regenerated:
        assert codes_of(str(tmp_path / name)) == codes_of(os.path.join(TORCH_SAMPLES, name)), name
