"""Unreadable or odd files: one clear line naming the file, exit 2, others still linted."""

import io
import json
import os
import shutil
import zipfile

import pytest

from conftest import SAMPLES, run_cli

GOOD_BAD = os.path.join(SAMPLES, "cl005_gap_single_step.keras")


def _zip(path, members):
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)


def _config():
    with zipfile.ZipFile(GOOD_BAD) as zf:
        return json.loads(zf.read("config.json"))


def make_corrupt_zip(path):
    path.write_bytes(b"PK\x03\x04" + b"\x00garbage" * 20)


def make_zip_without_config(path):
    _zip(path, {"metadata.json": "{}", "model.weights.h5": b""})


def make_config_not_json(path):
    _zip(path, {"config.json": "{ this is not json"})


def make_json_not_a_model(path):
    path.write_text(json.dumps({"name": "package", "version": "1.0"}))


def make_truncated_h5(path):
    data = open(os.path.join(SAMPLES, "good_lrcn.h5"), "rb").read()
    path.write_bytes(data[: len(data) // 3])


def make_h5_without_config(path):
    import h5py

    with h5py.File(path, "w") as fh:
        fh.create_dataset("weights", data=[1.0, 2.0])


def make_empty(path):
    path.write_bytes(b"")


def make_deeply_nested(path):
    path.write_text('{"a": ' * 100_000 + "1" + "}" * 100_000)


def make_onnx(path):
    path.write_bytes(b"\x08\x07\x12\x07pytorch")


def make_unknown_bytes(path):
    path.write_bytes(b"\x00\x01\x02 definitely not a model")


def make_model_with_missing_input(path):
    config = _config()
    config["config"]["layers"][1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "ghost"
    _zip(path, {"config.json": json.dumps(config)})


CASES = [
    ("corrupt.keras", make_corrupt_zip, "corrupt zip archive"),
    ("noconfig.keras", make_zip_without_config, "the zip archive has no config.json"),
    ("notjson.keras", make_config_not_json, "config.json is not valid JSON"),
    ("package.json", make_json_not_a_model, "not a Keras model config"),
    ("truncated.h5", make_truncated_h5, "cannot read HDF5 file"),
    ("weights_only.h5", make_h5_without_config, "has no model_config attribute"),
    ("empty.keras", make_empty, "empty file"),
    ("deep.json", make_deeply_nested, "nested too deeply"),
    ("model.onnx", make_onnx, "not an ONNX model: the protobuf has no graph nodes"),
    ("mystery.bin", make_unknown_bytes, "unrecognised file format"),
    ("ghost.keras", make_model_with_missing_input, "layer inputs never defined: ghost"),
]


@pytest.mark.parametrize("name,make,reason", CASES, ids=[c[0] for c in CASES])
def test_bad_file_next_to_good_one(tmp_path, name, make, reason):
    bad = tmp_path / name
    make(bad)
    proc = run_cli(str(bad), GOOD_BAD)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {bad}: ") and reason in lines[0]
    # the other file was still linted
    assert "cl005_gap_single_step.keras:lstm: CL005" in proc.stdout
    assert "1 file could not be read" in proc.stdout


def test_bad_file_in_json_output(tmp_path):
    bad = tmp_path / "corrupt.keras"
    make_corrupt_zip(bad)
    proc = run_cli("--format", "json", str(bad), GOOD_BAD)
    assert proc.returncode == 2
    doc = json.loads(proc.stdout)
    first, second = doc["files"]
    assert first["status"] == "error" and "corrupt zip archive" in first["error"]
    assert first["findings"] == []
    assert second["status"] == "ok" and second["findings"][0]["code"] == "CL005"
    assert doc["summary"] == {"files": 2, "errors": 1, "findings": 1}


def test_directory_named_like_a_model(tmp_path):
    fake = tmp_path / "x.keras"
    fake.mkdir()
    proc = run_cli(str(fake))
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"error: {fake}: is a directory, not a model file"


def test_missing_file():
    proc = run_cli("no/such/model.keras")
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: no/such/model.keras: no such file"


def test_unrelated_json_met_in_a_directory_is_skipped(tmp_path):
    make_json_not_a_model(tmp_path / "package.json")
    shutil.copy(GOOD_BAD, tmp_path / "m.keras")
    proc = run_cli(str(tmp_path))
    assert proc.returncode == 1
    assert proc.stderr == ""
    assert "in 1 file." in proc.stdout


def test_lambda_code_is_never_run(tmp_path):
    """A Lambda whose stored function would write a canary file: linted around, never run."""
    import base64
    import marshal

    canary = tmp_path / "canary"
    code = compile(f"open({str(canary)!r}, 'w').write('ran')", "<payload>", "exec")
    payload = base64.b64encode(marshal.dumps(code)).decode()
    config = _config()
    layers = config["config"]["layers"]
    lam = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
           "name": "payload",
           "config": {"name": "payload", "function": {"class_name": "__lambda__", "config": {
               "code": payload, "defaults": None, "closure": None}},
               "output_shape": None, "arguments": {}},
           "inbound_nodes": [{"args": [{"class_name": "__keras_tensor__", "config": {
               "shape": [None, 30, 30, 8], "keras_history": [layers[1]["name"], 0, 0]}}],
               "kwargs": {}}]}
    layers[2]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "payload"
    layers.insert(2, lam)
    path = tmp_path / "lambda.keras"
    _zip(path, {"config.json": json.dumps(config)})
    proc = run_cli("--verbose", str(path))
    assert "Traceback" not in proc.stderr
    assert not canary.exists()
    assert "payload: Lambda layer: its code is not run" in proc.stdout
    # the recorded shapes let the rest of the model be linted: the single step is still found
    assert proc.returncode == 1 and "CL005" in proc.stdout
