"""Issue 12: CL009 batch-as-time, on real saves and exports.

The files under sample_models/batch_as_time/ are committed (built by
sample_models/export_batch_as_time.py: PyTorch through both exporters, tf.keras 2 .h5
with `time_major`, a Keras 3 `keras.ops.transpose`); only the regeneration test needs
TF and torch. The two batch-as-time exports of issue 11 (sample_models/onnx_families/)
moved from CL003 to CL009 and are checked here for their wording too.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT, SAMPLES

pytest.importorskip("onnx", reason="linting .onnx files needs the onnx package")

import cnnlstm_lint  # noqa: E402
from cnnlstm_lint.rules import REGISTRY  # noqa: E402

HERE = os.path.join(SAMPLES, "batch_as_time")
FAMILIES = os.path.join(SAMPLES, "onnx_families")
SCRIPT = os.path.join(SAMPLES, "export_batch_as_time.py")

TS_GRU, DYNAMO_GRU = "/gru/GRU", "node_gru__1"

# file -> the exact set of (code, node) findings
EXPECTED = {
    # Conv1d (N, C, T).permute(0, 2, 1) into nn.GRU(batch_first=False): the GRU steps
    # through the batch; the Conv spec makes axis 0 N even with static shapes
    "t_conv1d_gru_no_batch_first.ts.onnx": {("CL009", TS_GRU)},
    "t_conv1d_gru_no_batch_first.dynamo.onnx": {("CL009", DYNAMO_GRU)},
    "t_static_conv1d_gru_no_batch_first.ts.onnx": {("CL009", TS_GRU)},
    # ... and with batch_first=True: clean
    "t_conv1d_gru_batch_first.ts.onnx": set(),
    "t_conv1d_gru_batch_first.dynamo.onnx": set(),
    # an input named ['T', 'N', 6] into a time-major LSTM: clean
    "t_time_major_lstm_tn.ts.onnx": set(),
    "t_time_major_lstm_tn.dynamo.onnx": set(),
    # a time-first clip ['T', 'N', 1, 16, 32] folded into the batch for the CNN and
    # unfolded back to (t, n, f): clean; with static shapes the rank-5 default puts N on
    # axis 0, which no Conv confirms (it reads t*n): not judged (see below)
    "t_fold_time_first.ts.onnx": set(),
    "t_fold_time_first.dynamo.onnx": set(),
    "t_static_fold_time_first.ts.onnx": set(),
    # tf.keras 2: LSTM(time_major=True) fed (batch, 40, 8); clean after tf.transpose
    # (and a second time_major LSTM reading the first one's time-major sequence)
    "tfk_time_major_fed_batch_first.h5": {("CL009", "lstm")},
    "tfk_good_time_major_transposed.h5": set(),
    # Keras 3: keras.ops.transpose(y, (1, 0, 2)) moves the batch to the steps
    "k3_transpose_batch_into_time.keras": {("CL009", "lstm")},
}


def lint(path, **kw):
    return cnnlstm_lint.lint(path, isolated=True, **kw)


def only_cl009(path, **kw):
    (finding,) = [f for f in lint(path, **kw) if f.code == "CL009"]
    return finding


def test_every_case_is_committed_and_small():
    on_disk = sorted(f for f in os.listdir(HERE) if f.endswith((".onnx", ".h5", ".keras")))
    assert on_disk == sorted(EXPECTED)
    for name in on_disk:
        assert os.path.getsize(os.path.join(HERE, name)) < 64 * 1024, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_findings(name):
    result = lint(os.path.join(HERE, name))
    assert {(f.code, f.node) for f in result} == EXPECTED[name]
    assert len(result) == len(EXPECTED[name])


def test_rule_metadata():
    rule = REGISTRY["CL009"]
    assert (rule.code, rule.name, rule.severity.value) == ("CL009", "batch-as-time", "error")
    # the probe rebuilds Keras 3 layers, which have no time_major and no layer that moves
    # the batch axis: the remedy is advice
    assert rule.remedies == rule.static_remedies == ("batch_first",)


# -- messages: the layer, and that its time axis is the batch ---------------------------


@pytest.mark.parametrize("name, node, layer, source", [
    ("t_conv1d_gru_no_batch_first.ts.onnx", TS_GRU, "gru", "`x`"),
    ("t_static_conv1d_gru_no_batch_first.ts.onnx", TS_GRU, "gru", "`conv` (2 samples)"),
    ("tfk_time_major_fed_batch_first.h5", "lstm", "lstm", "`x`"),
    ("k3_transpose_batch_into_time.keras", "lstm", "lstm", "`x`"),
])
def test_message_names_the_layer_and_the_batch_it_steps_through(name, node, layer, source):
    f = only_cl009(os.path.join(HERE, name))
    assert f.node == node and f.severity.value == "error"
    assert f"`{layer}`" in f.message  # a PyTorch export's module, not its ONNX node
    assert f"as time, which is the batch axis of {source}" in f.message
    assert "steps through the samples of a batch, not through time" in f.message
    assert f.evidence["time_axis"]["role"] == "batch"
    assert f.evidence["provenance"].startswith("time axis = N")
    assert f.remedies == ("batch_first",)


def test_message_of_the_conv1d_gru_gives_its_input_axes():
    f = only_cl009(os.path.join(HERE, "t_conv1d_gru_no_batch_first.ts.onnx"))
    assert f.message.startswith("GRU `gru` reads axis 0 of its input (N, L 40, C 8) as time")
    assert "/conv/Conv" in f.related


def test_the_mirror_image_a_named_sequence_axis_read_as_the_batch():
    """torch.export specialises the batch of a batch_first=False LSTM fed batch-first to
    the constant 2 (the LSTM state is sized by axis 1): the file's input is [2, 'seq', 6]
    and says nothing of axis 0, but the LSTM's batch axis is the one named 'seq'."""
    f = only_cl009(os.path.join(FAMILIES, "t_time_major_lstm_fed_batch_first.dynamo.onnx"))
    assert f.node == "node_lstm__2"
    assert "reads the sequence axis of `x` (T ? of x) as its batch" in f.message
    assert f.evidence["batch_axis"]["role"] == "time"
    # static shapes name nothing: the default letters say nothing either way
    assert not [g for g in lint(os.path.join(FAMILIES, "t_static_time_major_lstm.ts.onnx"))]


# -- remedies in the model's framework ----------------------------------------------------


def test_pytorch_remedy_is_batch_first_or_a_permute():
    f = only_cl009(os.path.join(HERE, "t_conv1d_gru_no_batch_first.dynamo.onnx"))
    assert "nn.GRU(..., batch_first=True)" in f.remedy
    assert "x.permute(1, 0, 2) (the same as x.transpose(0, 1))" in f.remedy
    assert "time_major" not in f.remedy and "TimeDistributed" not in f.remedy
    lstm = only_cl009(os.path.join(FAMILIES, "t_time_major_lstm_fed_batch_first.ts.onnx"))
    assert "nn.LSTM(..., batch_first=True), so that" in lstm.remedy


@pytest.mark.parametrize("kind, node", [("ts", "/lstm/LSTM"), ("dynamo", "node_lstm__2")])
def test_crnn_without_its_permute_gets_the_permutation_it_needs(kind, node):
    """(N, C, W) into a time-major LSTM: the steps should be the columns W, so
    batch-first needs permute(0, 2, 1) and time-major permute(2, 0, 1) (as the clean
    t_crnn_time_major does)."""
    f = only_cl009(os.path.join(FAMILIES, f"t_crnn_time_major_no_permute.{kind}.onnx"))
    assert f.node == node
    assert "batch_first=True) with x.permute(0, 2, 1) before it" in f.remedy
    assert "x.permute(2, 0, 1) before it" in f.remedy
    assert "(N" in f.message and "C 8, W 8) as time" in f.message


def test_tfkeras_remedy_is_time_major_false_or_a_transpose():
    f = only_cl009(os.path.join(HERE, "tfk_time_major_fed_batch_first.h5"))
    assert "LSTM(..., time_major=False) (the default)" in f.remedy
    assert "tf.transpose(x, [1, 0, 2])" in f.remedy
    assert "nn." not in f.remedy and "batch_first" not in f.remedy


def test_keras3_remedy_keeps_the_batch_axis_in_place():
    f = only_cl009(os.path.join(HERE, "k3_transpose_batch_into_time.keras"))
    assert "(batch, time, features)" in f.remedy and "time_major" not in f.remedy
    assert "nn." not in f.remedy


# -- time-first inputs: named, declared, or not said --------------------------------------


def test_time_first_names_make_axis_0_the_steps():
    graph = cnnlstm_lint.to_graph(os.path.join(HERE, "t_time_major_lstm_tn.ts.onnx"))
    (x,) = graph.inputs
    assert [a.role for a in graph.tensor(x, 0).axes] == ["time", "batch", "feature"]


STATIC_FOLD = os.path.join(HERE, "t_static_fold_time_first.ts.onnx")


def test_an_unnamed_time_first_clip_is_not_judged_and_says_why():
    result = lint(STATIC_FOLD)
    assert not list(result)
    (note,) = [n for n in result.notes if n.startswith("CL009")]
    assert "axis 0 of input `x`, the batch only by the default for its rank" in note
    assert "input-roles" in note


def test_declared_time_first_clip_is_clean_and_a_declared_batch_is_a_fact():
    assert not list(lint(STATIC_FOLD, input_roles={"x": "TNCHW"}))
    # the same file declared batch-first: the unfolded (N, T, F) into a time-major LSTM
    # is then the mistake
    f = only_cl009(STATIC_FOLD, input_roles={"x": "BTCHW"})
    assert f.node == "/lstm/LSTM"


def test_cl003_keeps_only_its_clip_merge():
    """CL003 no longer reports batch-as-time (its remedy, per-frame CNNs, was wrong)."""
    for path in [os.path.join(HERE, n) for n in EXPECTED] + [
            os.path.join(FAMILIES, "t_time_major_lstm_fed_batch_first.ts.onnx"),
            os.path.join(FAMILIES, "t_crnn_time_major_no_permute.ts.onnx")]:
        assert "CL003" not in {f.code for f in lint(path)}, path


# -- the probe ------------------------------------------------------------------------------


def test_probe_does_not_rebuild_a_time_major_layer_as_a_batch_major_one():
    from cnnlstm_lint.loaders.keras_layers import NotRebuildable, to_keras_layer
    from cnnlstm_lint.probe.variants import variants_for

    path = os.path.join(HERE, "tfk_time_major_fed_batch_first.h5")
    graph = cnnlstm_lint.load_graph(path)
    with pytest.raises(NotRebuildable, match="time_major=True, which Keras 3 layers do not have"):
        to_keras_layer(graph.node("lstm"))
    made, skipped = variants_for(graph, only_cl009(path))
    assert made == [] and set(skipped) == {"batch_first"}


# -- regeneration (needs torch, onnxscript, tf_keras) ----------------------------------------


@pytest.mark.tf
def test_regenerated_saves_and_exports_lint_the_same(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    pytest.importorskip("tf_keras")
    proc = subprocess.run([sys.executable, SCRIPT, "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    made = sorted(f for f in os.listdir(tmp_path) if f.endswith((".onnx", ".h5", ".keras")))
    assert made == sorted(EXPECTED)
    for name in EXPECTED:
        result = lint(str(tmp_path / name))
        assert {(f.code, f.node) for f in result} == EXPECTED[name], name
