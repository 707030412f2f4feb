"""Issue 12: CL011 unbounded-recurrent-activation and CL012 mask-lost on real saves.

The files in sample_models/cl011_cl012/ are built by sample_models/build_new_rules_cl011_cl012.py:
Keras 3 (.keras, .h5), tf.keras 2 (tfk_*.h5), tf2onnx conversions (onnx/) and a PyTorch
Conv1d + LSTM exported by both exporters (torch/). Each file must give exactly the
(code, node) pairs below; every model carries dropout, so nothing else fires (CL006 is
only "not judged" on the ONNX exports). The rule-level families (near misses included)
are in tests/rule_cases.py under cl011/ and cl012/.
"""

from __future__ import annotations

import glob
import json
import os
import xml.etree.ElementTree as ET

import pytest

import cnnlstm_lint
from cnnlstm_lint.engine import Settings, lint_file
from cnnlstm_lint.files import Target
from cnnlstm_lint.probe.variants import variants_for
from cnnlstm_lint.report import RENDERERS
from cnnlstm_lint.rules import REGISTRY

from conftest import ROOT, SAMPLES

HERE = os.path.join(SAMPLES, "cl011_cl012")
CL006_SKIP = "CL006 (no-dropout) not judged: an inference-only export, where dropout is stripped"
CL012_SKIP = "CL012 (mask-lost) not judged: an ONNX export carries no Keras masks"

KERAS = {  # the same in .keras and .h5 (and tfk_*.h5 where there is one)
    "cl011_lstm_relu": {("CL011", "lstm")},
    "cl011_gru_relu": {("CL011", "gru")},
    "cl011_bilstm_relu": {("CL011", "bidirectional")},
    "cl011_rnn_lstmcell_relu": {("CL011", "rnn")},
    "cl011_convlstm_relu": {("CL011", "conv_lstm2d")},
    "good_cl011_lstm_tanh": set(),
    "good_cl011_simplernn_relu": set(),
    "good_cl011_hard_sigmoid_gates": set(),
    "good_cl011_convlstm_tanh": set(),
    "cl012_embedding_conv1d": {("CL012", "lstm")},
    "cl012_masking_conv_pool": {("CL012", "lstm")},
    "good_cl012_embedding_dense": set(),
    "good_cl012_masking_after_cnn": set(),
    "good_cl012_no_mask": set(),
}
LEGACY = ("cl011_lstm_relu", "cl011_convlstm_relu", "good_cl011_simplernn_relu",
          "cl012_embedding_conv1d", "cl012_masking_conv_pool", "good_cl012_embedding_dense")
ONNX = {  # tf2onnx: fused LSTM ops keep `activations`; GRU and ConvLSTM2D become Loops
    "cl011_lstm_relu": {("CL011", "LSTM__33")},
    "cl011_gru_relu": {("CL011", "cl011_gru_relu_1/cl011_gru_relu_1/gru_1/while_loop")},
    "cl011_bilstm_relu": {("CL011", "LSTM__382")},
    "cl011_rnn_lstmcell_relu": {("CL011", "LSTM__505")},
    "cl011_convlstm_relu": {
        ("CL011", "cl011_convlstm_relu_1/cl011_convlstm_relu_1/conv_lstm2d_1/while_loop")},
    "good_cl011_lstm_tanh": set(),
    "good_cl011_simplernn_relu": set(),
    "good_cl011_hard_sigmoid_gates": set(),  # a Loop with Clip gates and Tanh
    "good_cl011_convlstm_tanh": set(),
    "cl012_embedding_conv1d": set(),  # CL012 not judged: no masks in an export
}
TORCH = ("t_conv1d_lstm.ts.onnx", "t_conv1d_lstm.dynamo.onnx")


def expected_files() -> dict[str, set]:
    files = {}
    for name, found in KERAS.items():
        files[f"{name}.keras"] = found
        files[f"{name}.h5"] = found
    for name in LEGACY:
        files[f"tfk_{name}.h5"] = KERAS[name]
    for name, found in ONNX.items():
        files[f"onnx/{name}.onnx"] = found
    for name in TORCH:
        files[f"torch/{name}"] = set()
    return files


EXPECTED = expected_files()


def lint(rel: str):
    return cnnlstm_lint.lint(os.path.join(HERE, rel), isolated=True)


def test_every_committed_file_is_pinned():
    on_disk = {os.path.relpath(p, HERE).replace(os.sep, "/")
               for p in glob.glob(os.path.join(HERE, "**", "*.*"), recursive=True)
               if p.endswith((".keras", ".h5", ".onnx"))}
    assert on_disk == set(EXPECTED)


@pytest.mark.parametrize("rel", sorted(EXPECTED))
def test_exact_findings_per_file(rel):
    if rel.endswith(".onnx"):
        pytest.importorskip("onnx")
    found = lint(rel)
    assert {(f.code, f.node) for f in found} == EXPECTED[rel]
    if rel.endswith(".onnx"):
        assert CL006_SKIP in found.skipped


def test_cl011_message_names_the_layer_and_the_activation():
    (f,) = lint("cl011_lstm_relu.keras")
    assert f.message.startswith("LSTM `lstm` has activation='relu' instead of tanh")
    assert "exploding loss, NaN" in f.message and "cuDNN" in f.message
    assert f.evidence["activations"] == ["relu"]
    assert f.remedy.startswith('Use activation="tanh" (the default) on the LSTM `lstm`')
    assert "SimpleRNN" in f.remedy and f.remedies == ("tanh_activation",)
    (bi,) = lint("cl011_bilstm_relu.h5")
    assert bi.message.startswith("Bidirectional LSTM `bidirectional` has activation='relu'")
    (conv,) = lint("tfk_cl011_convlstm_relu.h5")
    assert conv.message.startswith("ConvLSTM2D `conv_lstm2d` has activation='relu'")
    assert "cuDNN" not in conv.message  # no fused kernel to leave


def test_cl011_onnx_messages_say_what_the_graph_shows():
    pytest.importorskip("onnx")
    (fused,) = lint("onnx/cl011_lstm_relu.onnx")
    assert "has cell activation `Relu` (its `activations` attribute) instead of Tanh" in fused.message
    assert fused.evidence["layer"] == "cl011_lstm_relu_1/lstm_1"
    assert "`cl011_lstm_relu_1/lstm_1`" in fused.remedy  # the Keras layer, not the ONNX op
    (loop,) = lint("onnx/cl011_gru_relu.onnx")
    assert "a gated recurrence (Sigmoid gates), applies `Relu` where an LSTM/GRU cell applies " \
           "Tanh" in loop.message
    assert "the recurrent layer `cl011_gru_relu_1/gru_1`" in loop.remedy


def test_cl011_the_held_aside_next_frame_model_in_every_format():
    """benchmarks/held_out/conv_lstm_next_frame: three ConvLSTM2D(activation="relu")."""
    folder = os.path.join(ROOT, "benchmarks", "held_out")
    for ext, count in ((".keras", 3), (".h5", 3), (".onnx", 3)):
        if ext == ".onnx":
            pytest.importorskip("onnx")
        found = cnnlstm_lint.lint(os.path.join(folder, "conv_lstm_next_frame" + ext), isolated=True)
        assert len([f for f in found if f.code == "CL011"]) == count, ext


def test_cl012_message_names_the_mask_the_dropper_and_the_rnn():
    (f,) = lint("cl012_embedding_conv1d.keras")
    assert f.message == ("The mask that Embedding(mask_zero=True) `embedding` makes is dropped "
                         "by Conv1D `conv1d`, which does not carry masks, so LSTM `lstm` runs "
                         "over the padded steps as if they were data.")
    assert f.related == ["conv1d", "embedding"]
    assert f.evidence["mask_source"] == "embedding" and f.evidence["dropped_by"] == "conv1d"
    assert f.remedy.startswith("Give `lstm` the mask itself: `lstm(x, mask=mask)` with mask = "
                               "keras.ops.not_equal(ids, 0) on the token ids; or move `conv1d` "
                               "after `lstm`.")
    (m,) = lint("tfk_cl012_masking_conv_pool.h5")
    assert m.message.startswith("The mask that Masking() `masking` makes is dropped by Conv1D "
                                "`conv1d`")
    assert "subsampled as the steps were" in m.remedy  # MaxPooling1D(2) halves the steps


def test_cl012_is_not_judged_on_onnx():
    pytest.importorskip("onnx")
    found = lint("onnx/cl012_embedding_conv1d.onnx")
    assert list(found) == []
    assert found.skipped == [CL006_SKIP, CL012_SKIP]
    # PyTorch has no layer masks: nothing to say; an export without an embedding or a
    # mask computation upstream of its recurrent layer is not a masked model either
    assert lint("torch/t_conv1d_lstm.ts.onnx").skipped == [CL006_SKIP]
    assert lint("onnx/cl011_lstm_relu.onnx").skipped == [CL006_SKIP]


def test_cl012_text_output_says_not_judged(monkeypatch):
    pytest.importorskip("onnx")
    monkeypatch.chdir(ROOT)
    rel = "sample_models/cl011_cl012/onnx/cl012_embedding_conv1d.onnx"
    out = RENDERERS["concise"]([lint_file(Target(rel, True), Settings())])
    assert f"{rel}: {CL012_SKIP}" in out


def test_both_rules_are_listed_documented_and_in_every_format(monkeypatch):
    monkeypatch.chdir(ROOT)
    assert REGISTRY["CL011"].name == "unbounded-recurrent-activation"
    assert REGISTRY["CL012"].name == "mask-lost"
    for code in ("CL011", "CL012"):
        with open(os.path.join(ROOT, "rules", f"{code}.md"), encoding="utf-8") as fh:
            page = fh.read()
        for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead",
                        "## Options"):
            assert section in page, (code, section)
    paths = ["sample_models/cl011_cl012/cl011_gru_relu.keras",
             "sample_models/cl011_cl012/cl012_masking_conv_pool.h5"]
    results = [lint_file(Target(p, True), Settings()) for p in paths]
    (run,) = json.loads(RENDERERS["sarif"](results))["runs"]
    assert {r["ruleId"] for r in run["results"]} == {"CL011", "CL012"}
    assert {"CL011", "CL012"} <= {r["id"] for r in run["tool"]["driver"]["rules"]}
    gitlab = json.loads(RENDERERS["gitlab"](results))
    assert sorted(i["check_name"] for i in gitlab) == ["CL011", "CL012"]
    root = ET.fromstring(RENDERERS["junit"](results).encode("utf-8"))
    names = [c.get("name") for c in root.iter("testcase") if c.find("failure") is not None]
    assert names == ["CL011:gru", "CL012:lstm"]


def test_cl011_probe_sets_tanh_and_writes_it_into_the_config():
    from cnnlstm_lint.loaders.keras_layers import to_keras_layer

    for rel, layer_key in (("cl011_lstm_relu.keras", None), ("cl011_bilstm_relu.keras", "layer"),
                           ("cl011_rnn_lstmcell_relu.h5", "cell"),
                           ("tfk_cl011_convlstm_relu.h5", None)):
        graph = cnnlstm_lint.load_graph(os.path.join(HERE, rel))
        (finding,) = cnnlstm_lint.lint(graph)
        (variant,), skipped = variants_for(graph, finding)
        assert skipped == {} and variant.name == "CL011:tanh_activation"
        layer = to_keras_layer(variant.graph.node(finding.node))
        conf = layer["config"][layer_key]["config"] if layer_key else layer["config"]
        assert conf["activation"] == "tanh", rel
        original = to_keras_layer(graph.node(finding.node))
        conf = original["config"][layer_key]["config"] if layer_key else original["config"]
        assert conf["activation"] == "relu", rel  # the baseline keeps what the file says


def test_cl012_remedy_is_static_only():
    graph = cnnlstm_lint.load_graph(os.path.join(HERE, "cl012_embedding_conv1d.keras"))
    (finding,) = cnnlstm_lint.lint(graph)
    made, skipped = variants_for(graph, finding)
    assert made == []
    assert skipped == {"explicit_mask": "advice the probe does not apply (static-only remedy)"}
