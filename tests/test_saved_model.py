"""TensorFlow SavedModel directories (tf.keras 2 `model.save("dir")`): linted from the Keras
config in keras_metadata.pb, with the findings of the .h5 of the same model; a SavedModel
without it (Keras 3 `model.export()`) is refused with what to do instead.

The committed samples (sample_models/saved_model/, built by export_saved_model.py) are
linted without TensorFlow; the `tf` tests build SavedModels with tf_keras at test time,
as `model.save` writes them by default (traced functions included).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

import cnnlstm_lint
from cnnlstm_lint.files import collect
from conftest import ROOT, SAMPLES, run_cli

SAVED = os.path.join(SAMPLES, "saved_model")
CL001 = os.path.join(SAVED, "cl001_spatial_reshape")
LRCN = os.path.join(SAVED, "good_lrcn")
EXPORT = os.path.join(SAVED, "cl001_spatial_reshape_k3_export")  # no keras_metadata.pb
KERAS = os.path.join(SAMPLES, "cl005_gap_single_step.keras")  # CL005: another file in the run
TF2_JSON = os.path.join(SAMPLES, "legacy_tfkeras_cl001.json")  # a tf.keras 2 model config

# the same architecture saved as .h5 by Keras 3 and by tf.keras 2
PARITY = [(CL001, "cl001_spatial_reshape.h5"), (CL001, "legacy_tfkeras_cl001.h5"),
          (LRCN, "good_lrcn.h5"), (LRCN, "legacy_tfkeras_lrcn.h5")]


# -- writing keras_metadata.pb (the protobuf wire format, for crafted cases) --------------


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def field(number: int, value: bytes | int) -> bytes:
    if isinstance(value, int):
        return varint(number << 3) + varint(value)
    return varint(number << 3 | 2) + varint(len(value)) + value


def saved_object(node_id: int, path: str, identifier: str, metadata: str | bytes) -> bytes:
    metadata = metadata.encode() if isinstance(metadata, str) else metadata
    return (field(2, node_id) + field(3, path.encode()) + field(4, identifier.encode())
            + field(5, metadata) + field(6, field(1, 2) + field(2, 1)))


def keras_metadata(root: str | bytes, identifier: str = "_tf_keras_network") -> bytes:
    """A SavedMetadata whose root object (node 0) has this metadata, and one layer."""
    layer = saved_object(1, "root.layer-0", "_tf_keras_input_layer", '{"class_name": "InputLayer"}')
    return field(1, saved_object(0, "root", identifier, root)) + field(1, layer)


def tf2_root_metadata(config: dict | None = None) -> str:
    """The root object's metadata as tf_keras writes it: the model's class_name and
    config, tuples as {"class_name": "__tuple__", "items": [...]}."""
    config = config or json.load(open(TF2_JSON))

    def tuples(value):
        if isinstance(value, list) and value and all(isinstance(v, (int, type(None))) for v in value):
            return {"class_name": "__tuple__", "items": value}
        if isinstance(value, list):
            return [tuples(v) for v in value]
        if isinstance(value, dict):
            return {k: tuples(v) for k, v in value.items()}
        return value

    return json.dumps({"name": config["config"]["name"], "class_name": config["class_name"],
                       "config": tuples(config["config"]), "is_graph_network": True,
                       "build_input_shape": {"class_name": "TensorShape", "items": [None, 32, 32, 3]},
                       "keras_version": "2.21.0", "backend": "tensorflow"})


def write_saved_model(path, metadata: bytes | None) -> str:
    """A SavedModel directory: a saved_model.pb (never read: any bytes do) and, unless
    None, this keras_metadata.pb."""
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, "saved_model.pb"), "wb") as fh:
        fh.write(b"\x08\x01")
    if metadata is not None:
        with open(os.path.join(path, "keras_metadata.pb"), "wb") as fh:
            fh.write(metadata)
    return str(path)


def lint_json(*args: str, cwd: str = ROOT) -> tuple[int, dict]:
    proc = run_cli("--isolated", "--format", "json", *args, cwd=cwd)
    return proc.returncode, json.loads(proc.stdout)


def comparable(findings: list[dict]) -> list[dict]:
    """A finding less what names the file it came from."""
    return [{k: v for k, v in f.items() if k not in ("fingerprint", "location")} for f in findings]


# -- the committed samples, without TensorFlow --------------------------------------------


@pytest.mark.parametrize("saved,h5", PARITY, ids=[f"{os.path.basename(s)}-{h}" for s, h in PARITY])
def test_a_saved_model_gets_the_findings_of_the_h5_of_the_same_model(saved, h5):
    saved_code, saved_doc = lint_json(saved)
    h5_code, h5_doc = lint_json(os.path.join(SAMPLES, h5))
    assert saved_code == h5_code
    assert saved_doc["files"][0]["status"] == "ok"
    assert comparable(saved_doc["files"][0]["findings"]) == comparable(h5_doc["files"][0]["findings"])


def test_the_cl001_saved_model_in_text():
    proc = run_cli("--isolated", CL001 + "/")
    assert proc.returncode == 1, proc.stderr
    assert proc.stdout.startswith(f"{CL001}:lstm: CL001 [warning] spatial-sequence\n")
    assert "225 steps made of the 15×15 pixels" in proc.stdout
    assert proc.stdout.endswith("Found 1 finding (1 warning) in 1 file.\n")


def test_json_names_the_directory_as_the_path():
    code, doc = lint_json("saved_model/cl001_spatial_reshape/", cwd=SAMPLES)
    assert code == 1
    (entry,) = doc["files"]
    assert entry["path"] == "saved_model/cl001_spatial_reshape"
    assert entry["status"] == "ok" and entry["error"] is None
    assert [(f["code"], f["node"]) for f in entry["findings"]] == [("CL001", "lstm")]


def test_the_fingerprint_does_not_depend_on_how_the_directory_is_typed():
    _, typed = lint_json("sample_models/saved_model/cl001_spatial_reshape/")
    _, plain = lint_json(os.path.join(ROOT, "sample_models", "saved_model", "cl001_spatial_reshape"))
    assert typed["files"][0]["findings"][0]["fingerprint"] == \
        plain["files"][0]["findings"][0]["fingerprint"]


def test_a_saved_model_without_keras_metadata_says_what_to_do_instead():
    proc = run_cli("--isolated", EXPORT, KERAS)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"error: {EXPORT}: a SavedModel without Keras metadata (keras_metadata.pb), as Keras 3 "
        "model.export() and tf.saved_model.save() write; lint the .keras/.h5 it was exported "
        f"from, or convert it: python -m tf2onnx.convert --saved-model {EXPORT} --output model.onnx"]
    assert "cl005_gap_single_step.keras:lstm: CL005" in proc.stdout  # the other file still linted


def test_a_walk_lints_each_saved_model_as_one_model_and_notes_the_unreadable_one():
    proc = run_cli("--isolated", "--verbose", SAVED)
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == ""
    assert f"{CL001}:lstm: CL001" in proc.stdout
    assert f"{EXPORT}: note: skipped: a SavedModel without Keras metadata" in proc.stdout
    assert [t.path for t in collect([SAVED])] == [CL001, EXPORT, LRCN]


def test_a_walk_does_not_descend_into_a_saved_model(tmp_path):
    shutil.copytree(CL001, tmp_path / "models" / "sm")
    os.makedirs(tmp_path / "models" / "sm" / "assets")
    shutil.copy(KERAS, tmp_path / "models" / "sm" / "assets" / "inside.keras")
    shutil.copy(KERAS, tmp_path / "models" / "beside.keras")
    code, doc = lint_json("models", cwd=str(tmp_path))
    assert code == 1
    assert [(f["path"], [x["code"] for x in f["findings"]]) for f in doc["files"]] == [
        ("models/beside.keras", ["CL005"]), ("models/sm", ["CL001"])]


def test_member_files_stand_for_their_saved_model(tmp_path):
    """What pre-commit passes when a SavedModel's files change: the directory is linted
    once, however many of its files (or the directory itself) are named."""
    shutil.copytree(CL001, tmp_path / "sm")
    code, doc = lint_json("sm/saved_model.pb", "sm/keras_metadata.pb", "sm/", "sm",
                          cwd=str(tmp_path))
    assert code == 1
    assert [(f["path"], [x["code"] for x in f["findings"]]) for f in doc["files"]] == [
        ("sm", ["CL001"])]


def test_the_precommit_pattern_passes_a_saved_models_files():
    import re

    from cnnlstm_lint.loaders.formats import precommit_pattern

    hook = re.compile(precommit_pattern())
    assert hook.search("models/sm/saved_model.pb") and hook.search("models/sm/keras_metadata.pb")
    assert not hook.search("models/sm/variables/variables.index")
    assert not hook.search("models/sm/fingerprint.pb")


def test_a_member_file_without_its_marker_is_not_a_saved_model(tmp_path):
    os.makedirs(tmp_path / "half")
    (tmp_path / "half" / "keras_metadata.pb").write_bytes(keras_metadata(tf2_root_metadata()))
    proc = run_cli("half/keras_metadata.pb", cwd=str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("error: half: is a directory with keras_metadata.pb but no "
                                   "saved_model.pb, so not a TensorFlow SavedModel")


def test_the_python_api_reads_a_saved_model_directory():
    assert [(f.code, f.node) for f in cnnlstm_lint.lint(CL001)] == [("CL001", "lstm")]
    with pytest.raises(cnnlstm_lint.LoadError, match="lint its directory"):
        cnnlstm_lint.lint(os.path.join(CL001, "saved_model.pb"))
    with pytest.raises(cnnlstm_lint.LoadError, match="without Keras metadata"):
        cnnlstm_lint.lint(EXPORT)


def test_a_crafted_saved_model_reads_like_its_config(tmp_path):
    """tf_keras's tuple and TensorShape encodings read as the lists an .h5 holds."""
    sm = write_saved_model(tmp_path / "sm", keras_metadata(tf2_root_metadata()))
    assert [(f.code, f.node, f.message) for f in cnnlstm_lint.lint(sm)] == \
           [(f.code, f.node, f.message) for f in cnnlstm_lint.lint(TF2_JSON)]


def test_a_subclassed_model_is_refused_with_the_reason(tmp_path):
    root = json.dumps({"name": "m", "class_name": "MyModel", "config": {},
                       "is_graph_network": False})
    sm = write_saved_model(tmp_path / "sub", keras_metadata(root, "_tf_keras_model"))
    proc = run_cli(sm)
    assert proc.returncode == 2
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"error: {sm}: the SavedModel holds a subclassed Keras model "
                           "('MyModel'): its layers are wired by its Python call()")
    assert f"--saved-model {sm} --output model.onnx" in line


def test_unsafe_content_in_the_metadata_is_reported(tmp_path):
    config = json.load(open(TF2_JSON))
    layers = config["config"]["layers"]
    layers[3]["class_name"] = "Lambda"  # the Reshape: its code would be unmarshalled
    layers[3]["config"] = {"name": "reshape", "function": ["4wAAAA==", None, None],
                           "function_type": "lambda", "module": "__main__"}
    sm = write_saved_model(tmp_path / "sm", keras_metadata(tf2_root_metadata(config)))
    code, doc = lint_json(sm)
    assert code == 1
    cl900 = [f for f in doc["files"][0]["findings"] if f["code"] == "CL900"]
    assert cl900 and "Lambda bytecode" in cl900[0]["message"]


def test_linting_a_saved_model_imports_neither_tensorflow_nor_protobuf():
    """The wire format is decoded in pure Python: no TensorFlow, Keras or protobuf."""
    code = ("import sys; from cnnlstm_lint.cli import main\n"
            "try:\n    main(args=sys.argv[1:], prog_name='cnnlstm-lint')\n"
            "except SystemExit as exc:\n    print('EXIT', exc.code)\n"
            "print('HEAVY', sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'tf_keras', 'torch', 'google', 'h5py', 'onnx')))")
    proc = subprocess.run([sys.executable, "-c", code, CL001, LRCN], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert "EXIT 1" in proc.stdout, proc.stderr
    assert "HEAVY []" in proc.stdout


# -- SavedModels written by tf_keras at test time -----------------------------------------


def without_module(value):
    """A layer's config less what tf_keras writes to an .h5 alone (`module`,
    `registered_name`, a nested model's layers' `build_config`): keras_metadata.pb has the
    legacy serialization its loader reads."""
    if isinstance(value, list):
        return [without_module(v) for v in value]
    if isinstance(value, dict):
        return {k: without_module(v) for k, v in value.items()
                if k not in ("module", "registered_name", "build_config")}
    return value


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """export_saved_model.py's models as model.save writes them by default, and as .h5."""
    pytest.importorskip("tf_keras")
    out = tmp_path_factory.mktemp("saved_models")
    proc = subprocess.run([sys.executable, os.path.join(SAMPLES, "export_saved_model.py"),
                           "--out", str(out), "--traces", "--h5"],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out


@pytest.mark.tf
@pytest.mark.parametrize("name,codes", [("cl001_spatial_reshape", ["CL001"]), ("good_lrcn", [])])
def test_a_default_tf_keras_save_reads_as_its_h5(built, name, codes):
    """Same findings, and the same graph: every node, its kind, op and attributes, and
    every edge with its shape."""
    saved, h5 = str(built / name), str(built / f"{name}.h5")
    assert [f.code for f in cnnlstm_lint.lint(saved)] == codes
    assert comparable([f.as_dict() for f in cnnlstm_lint.lint(saved)]) == \
           comparable([f.as_dict() for f in cnnlstm_lint.lint(h5)])
    a, b = cnnlstm_lint.load_graph(saved), cnnlstm_lint.load_graph(h5)
    assert [(n.id, n.kind, n.op, without_module(n.attrs)) for n in a.nodes()] == \
           [(n.id, n.kind, n.op, without_module(n.attrs)) for n in b.nodes()]
    assert sorted(map(str, a.g.edges(data=True))) == sorted(map(str, b.g.edges(data=True)))


@pytest.mark.tf
def test_the_root_object_is_the_one_tf_keras_reads(built):
    """The decoder agrees with tf_keras's own protobuf message on what the root holds."""
    from tf_keras.protobuf import saved_metadata_pb2

    from cnnlstm_lint.loaders.saved_model import _root_object

    for name in ("cl001_spatial_reshape", "good_lrcn"):
        data = (built / name / "keras_metadata.pb").read_bytes()
        message = saved_metadata_pb2.SavedMetadata()
        message.ParseFromString(data)
        (root,) = [n for n in message.nodes if n.node_id == 0]
        assert _root_object(data) == (root.identifier, root.metadata, len(message.nodes))


@pytest.mark.tf
def test_a_tf_keras_subclassed_model_is_refused(tmp_path):
    pytest.importorskip("tf_keras")
    script = f"""
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf, tf_keras
class Net(tf_keras.Model):
    def __init__(self):
        super().__init__()
        self.conv, self.lstm = tf_keras.layers.Conv2D(4, 3), tf_keras.layers.LSTM(8)
    def call(self, x):
        return self.lstm(tf.reshape(self.conv(x), (-1, 900, 4)))
net = Net()
net(tf.zeros((1, 32, 32, 3)))
net.save({str(tmp_path / "net")!r}, save_traces=False)
"""
    subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, timeout=300)
    proc = run_cli(str(tmp_path / "net"))
    assert proc.returncode == 2
    assert "a subclassed Keras model ('Net')" in proc.stderr


def test_the_hook_lints_a_changed_saved_model_once(tmp_path):
    """`pre-commit try-repo` on a repository holding a SavedModel: its two files are
    passed to the hook, which lints the directory once. The hook comes from a commit of
    this working tree (try-repo would leave out files not yet added to git)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    pre_commit = [sys.executable, "-m", "pre_commit"]
    if subprocess.run([*pre_commit, "--version"], capture_output=True).returncode:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}

    def commit_all(where):
        for args in (["git", "init", "-q"], ["git", "add", "."], ["git", "commit", "-q", "-m", "m"]):
            subprocess.run(args, cwd=where, env=env, check=True, capture_output=True)

    tree = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                          cwd=ROOT, capture_output=True, text=True, check=True).stdout
    hook = tmp_path / "hook"
    for name in filter(None, tree.split("\0")):
        if os.path.isfile(os.path.join(ROOT, name)):
            os.makedirs(hook / os.path.dirname(name), exist_ok=True)
            shutil.copy(os.path.join(ROOT, name), hook / name)
    commit_all(hook)
    work = tmp_path / "repo"
    shutil.copytree(CL001, work / "models" / "sm")
    commit_all(work)
    run = subprocess.run([*pre_commit, "try-repo", str(hook), "cnnlstm-lint", "--all-files"],
                         cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert run.returncode == 1, run.stdout + run.stderr
    assert run.stdout.count("models/sm:lstm: CL001 [warning] spatial-sequence") == 1
    assert "variables" not in run.stdout
