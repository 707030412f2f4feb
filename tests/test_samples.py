"""Integration: the committed sample models linted through the CLI."""

import json
import os

import pytest
from click.testing import CliRunner

from cnnlstm_lint.cli import main
from conftest import SAMPLES, run_cli

# file -> the (code, node) pairs it must produce, exactly
EXPECTED = {
    "cl001_spatial_reshape.keras": {("CL001", "lstm")},
    "cl001_spatial_reshape.h5": {("CL001", "lstm")},
    "cl001_spatial_reshape.json": {("CL001", "lstm")},
    "cl001_stacked_sequential.keras": {("CL001", "lstm_model/lstm")},
    "cl001_stacked_sequential.h5": {("CL001", "lstm_model/lstm")},
    "cl002_channels_as_time.keras": {("CL002", "lstm")},
    "cl002_permute_channels.keras": {("CL002", "lstm")},
    "cl003_reshape_clip.keras": {("CL003", "reshape")},
    "cl003_flatten_clip.keras": {("CL003", "flatten")},  # one cause, one finding
    "cl004_oversized_features.keras": {("CL004", "lstm")},
    "cl005_gap_single_step.keras": {("CL005", "lstm")},
    "cl005_dense_single_step.keras": {("CL005", "lstm")},
    "cl006_no_dropout.keras": {("CL006", "lstm")},
    "cl007_crnn_no_permute.keras": {("CL007", "bilstm")},
    "cl008_concat_imbalance.keras": {("CL008", "concat")},
    "legacy_tfkeras_cl001.h5": {("CL001", "lstm")},
    "legacy_tfkeras_cl001.json": {("CL001", "lstm")},
    # legitimate architectures: clean
    "good_gap_head.keras": set(),
    "good_crnn_ocr.keras": set(),
    "good_crnn_ocr.h5": set(),
    "good_crnn_height_pooled.keras": set(),
    "good_audio_crnn.keras": set(),
    "good_lrcn.keras": set(),
    "good_lrcn.h5": set(),
    "good_lrcn_layers.keras": set(),
    "good_convlstm2d.keras": set(),
    "good_conv3d.keras": set(),
    "good_conv1d_lstm.keras": set(),
    "good_text_cnn_lstm.keras": set(),
    "good_sequential_mnist.keras": set(),
    "good_sequential_mnist.json": set(),
    "good_concat_balanced.keras": set(),
    "good_shared_multi_io.keras": set(),
    "legacy_tfkeras_lrcn.h5": set(),
    "saved_model/cl001_spatial_reshape": {("CL001", "lstm")},  # tf.keras 2 SavedModels
    "saved_model/good_lrcn": set(),
    # the Lambda hides the reshape's meaning: CL001 is silent, not a guess; its stored
    # bytecode is unsafe content
    "opaque_lambda.keras": {("CL900", "scale")},
}


def lint_json(*args):
    result = CliRunner().invoke(main, ["--format", "json", *args])
    return result.exit_code, json.loads(result.output)


def test_every_sample_is_listed():
    on_disk = {f for f in os.listdir(SAMPLES) if f.endswith((".keras", ".h5", ".json"))}
    on_disk |= {f"saved_model/{d}" for d in os.listdir(os.path.join(SAMPLES, "saved_model"))
                if os.path.exists(os.path.join(SAMPLES, "saved_model", d, "keras_metadata.pb"))}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_codes_nodes_and_exit_status(name):
    code, doc = lint_json(os.path.join(SAMPLES, name))
    (entry,) = doc["files"]
    assert entry["status"] == "ok" and entry["error"] is None
    assert {(f["code"], f["node"]) for f in entry["findings"]} == EXPECTED[name]
    assert code == (1 if EXPECTED[name] else 0)


def test_spatial_reshape_explained_through_the_console_script():
    proc = run_cli("sample_models/cl001_spatial_reshape.keras")
    assert proc.returncode == 1
    out = proc.stdout
    assert "CL001 [warning] spatial-sequence" in out
    assert "225 steps made of the 15×15 pixels" in out
    assert "time axis of 225 steps = H 15 × W 15 of max_pooling2d" in out
    assert "GlobalAveragePooling2D()" in out and "TimeDistributed(" in out
    assert out.rstrip().endswith("Found 1 finding (1 warning) in 1 file.")
    assert proc.stderr == ""


def test_crnn_without_permute_gets_the_permute_remedy():
    code, doc = lint_json(os.path.join(SAMPLES, "cl007_crnn_no_permute.keras"))
    (finding,) = doc["files"][0]["findings"]
    assert finding["severity"] == "error"
    assert "Permute((2, 1, 3))" in finding["remedy"]
    assert finding["evidence"]["reshape"] == "reshape"
    assert finding["evidence"]["scrambled_axis"]["role"] == "scrambled"


def test_oversized_input_reports_kernel_weights():
    _, doc = lint_json(os.path.join(SAMPLES, "cl004_oversized_features.keras"))
    (finding,) = doc["files"][0]["findings"]
    assert "4608 values per step" in finding["message"]
    assert finding["evidence"]["input_kernel_weights"] == 4608 * 2 * 4
    assert finding["related"][0] == "time_distributed_1/flatten"


def test_json_contract_is_exact():
    code, doc = lint_json(os.path.join(SAMPLES, "cl001_spatial_reshape.keras"),
                          os.path.join(SAMPLES, "good_lrcn.keras"))
    assert code == 1
    assert set(doc) == {"version", "files", "summary"} and doc["version"] == 1
    assert doc["summary"] == {"files": 2, "errors": 0, "findings": 1}
    for entry in doc["files"]:
        assert set(entry) == {"path", "status", "error", "findings"}
    finding = doc["files"][0]["findings"][0]
    assert set(finding) == {"code", "name", "severity", "message", "node", "related", "remedy",
                            "evidence", "fingerprint"}
    assert finding["related"] == ["reshape", "max_pooling2d"]
    assert len(finding["fingerprint"]) == 16


def test_fingerprint_is_a_fixed_value():
    """sha256("CL001\0sample_models/cl001_spatial_reshape.keras\0lstm")[:16]: the path
    relative to the repository root, however the file was named."""
    path = os.path.join(SAMPLES, "cl001_spatial_reshape.keras")
    assert lint_json(path)[1]["files"][0]["findings"][0]["fingerprint"] == "57a8ba9d144c93b3"


def test_directory_is_linted_recursively():
    code, doc = lint_json(SAMPLES)
    assert code == 1
    on_disk = sorted(os.path.join(root, f) for root, _, files in os.walk(SAMPLES) for f in files
                     if f.endswith((".keras", ".h5", ".json", ".onnx", ".pt2")))
    on_disk = sorted(on_disk + [root for root, _, files in os.walk(SAMPLES)
                                if "keras_metadata.pb" in files])  # SavedModels: one entry each
    assert [entry["path"] for entry in doc["files"]] == on_disk  # converted ONNX files included
    assert doc["summary"]["errors"] == 0
    for entry in doc["files"]:
        name = os.path.relpath(entry["path"], SAMPLES)
        if name in EXPECTED:
            assert {(f["code"], f["node"]) for f in entry["findings"]} == EXPECTED[name]


def test_select_and_ignore_by_code_and_prefix(tmp_path):
    """A CL001 model whose Dropout has rate 0: CL001 and CL006."""
    with open(os.path.join(SAMPLES, "cl001_spatial_reshape.json")) as fh:
        config = json.load(fh)
    for layer in config["config"]["layers"]:
        if layer["class_name"] == "Dropout":
            layer["config"]["rate"] = 0.0
    path = str(tmp_path / "two_codes.json")
    with open(path, "w") as fh:
        json.dump(config, fh)
    assert {f["code"] for f in lint_json(path)[1]["files"][0]["findings"]} == {"CL001", "CL006"}
    assert {f["code"] for f in lint_json("--select", "CL001", path)[1]["files"][0]["findings"]} == {"CL001"}
    assert {f["code"] for f in lint_json("--ignore", "CL001", path)[1]["files"][0]["findings"]} == {"CL006"}
    code, doc = lint_json("--select", "CL00", "--ignore", "CL001,CL006", path)
    assert code == 0 and doc["files"][0]["findings"] == []


def test_unknown_selector_is_a_usage_error():
    result = CliRunner().invoke(main, ["--select", "CL999", os.path.join(SAMPLES, "good_lrcn.keras")])
    assert result.exit_code == 2
    assert "unknown rule selector 'CL999'" in result.output


def test_exit_zero_and_output_file(tmp_path):
    out = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["--exit-zero", "--format", "json", "--output", str(out),
                                       os.path.join(SAMPLES, "cl005_gap_single_step.keras")])
    assert result.exit_code == 0
    assert result.output == ""
    assert json.loads(out.read_text())["files"][0]["findings"][0]["code"] == "CL005"


def test_verbose_says_why_the_lambda_model_is_not_judged():
    result = CliRunner().invoke(main, ["--verbose", os.path.join(SAMPLES, "opaque_lambda.keras")])
    assert result.exit_code == 1  # CL900: the Lambda's bytecode
    assert "Lambda layer: its code is not run" in result.output
    assert "CL001 not judged on lstm: its input passes through opaque layer(s) scale" in result.output


def test_explicit_lint_subcommand_and_no_paths():
    result = CliRunner().invoke(main, ["lint", os.path.join(SAMPLES, "good_lrcn.keras")])
    assert result.exit_code == 0 and "No findings in 1 model file." in result.output
    result = CliRunner().invoke(main, [])
    assert result.exit_code == 2 and "give one or more model files" in result.output


def test_many_files_in_parallel_match_serial():
    from cnnlstm_lint.engine import Settings, lint_files
    from cnnlstm_lint.files import collect

    targets = collect([SAMPLES])
    serial = lint_files(targets, Settings(), jobs=1)
    parallel = lint_files(targets, Settings(), jobs=2)
    assert [(r.path, [f.as_dict() for f in r.findings]) for r in serial] == \
           [(r.path, [f.as_dict() for f in r.findings]) for r in parallel]


def test_workers_start_without_fork_when_the_parent_has_threads():
    """A forked worker of a process with other threads (TensorFlow's, a notebook's) can
    inherit a held lock and hang: the pool starts its workers from a fork server, and
    the results are those of a serial run."""
    import threading

    from cnnlstm_lint.engine import Settings, lint_files, pool_start_method
    from cnnlstm_lint.files import collect

    stop = threading.Event()
    worker = threading.Thread(target=stop.wait, daemon=True)
    worker.start()
    try:
        assert pool_start_method() == "forkserver"
        targets = collect([os.path.join(SAMPLES, "cl010_cl013")])
        parallel = lint_files(targets, Settings(), jobs=2)
    finally:
        stop.set()
        worker.join()
    serial = lint_files(targets, Settings(), jobs=1)
    assert [(r.path, r.status, [f.as_dict() for f in r.findings]) for r in parallel] == \
           [(r.path, r.status, [f.as_dict() for f in r.findings]) for r in serial]
    assert any(r.findings for r in serial)
