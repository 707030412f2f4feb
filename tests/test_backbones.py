"""Issue 11, family 8: `keras.applications` backbones (MobileNetV2, ResNet50,
EfficientNetB0; weights=None) nested as layers, inside TimeDistributed, and their feature
maps reshaped to steps.

sample_models/backbones/ is written by sample_models/build_backbones.py from real saves
(Keras 3 `.keras` and `.h5`; tf.keras 2 `tfk_*.h5` through the tf-keras package), cut
down to their config (the weights of ResNet50 alone are ~100 MB; how, exactly, is in the
builder's docstring). The nested functional graphs must be read exactly: each with its
own inbound nodes and names (an outer layer may share a name with an inner one), a
backbone shared by two calls, a model whose output is a nested model's call.

Before this family, every tf.keras 2 file with a backbone called as a layer failed to
load (tf.keras 2 refers to a nested model's first call as node 1: its own node, not
saved, still counts), and so did a Keras 3 model whose output names a nested model's
call (Keras 3 counts that node in `output_layers` only).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import cnnlstm_lint
from cnnlstm_lint import load_graph
from conftest import ROOT

HERE = os.path.join(ROOT, "sample_models", "backbones")
BUILDER = os.path.join(ROOT, "sample_models", "build_backbones.py")

CLEAN = ("good_lrcn_mobilenetv2", "good_lrcn_resnet50", "good_lrcn_efficientnetb0",
         "good_lrcn_sequential_mobilenetv2", "good_lrcn_wrapped_mobilenetv2",
         "good_two_camera_mobilenetv2", "good_crnn_mobilenetv2", "good_crnn_resnet50",
         "good_stereo_crnn_mobilenetv2")
MISTAKES = {
    "pixels_mobilenetv2": {("CL001", "lstm")},  # (3, 3, 1280) -> (9, 1280)
    "pixels_efficientnetb0": {("CL001", "lstm")},
    "crnn_no_permute_mobilenetv2": {("CL007", "bilstm")},  # (2, 8, C) -> (8, 2C), no Permute
    "clip_tiled_mobilenetv2": {("CL003", "tile")},  # (4, 32, 32, 3) -> (128, 32, 3)
}
EXPECTED = {**{name: set() for name in CLEAN}, **MISTAKES}

CASES = {
    **{f"{name}{ext}": found for name, found in EXPECTED.items() for ext in (".keras", ".h5")},
    **{f"tfk_{name}.h5": found for name, found in EXPECTED.items()},
    "good_lrcn_mobilenetv2.onnx": set(),  # tf2onnx; the only conversion small enough to keep
}


def lint(path):
    return cnnlstm_lint.lint(path, isolated=True)


def test_every_file_is_a_case():
    assert {f for f in os.listdir(HERE) if f.endswith((".keras", ".h5", ".onnx"))} == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_exact_findings(name):
    result = lint(os.path.join(HERE, name))
    assert {(f.code, f.node) for f in result} == CASES[name]
    if name.endswith(".onnx"):  # an inference export: dropout stripped, CL006 not judged
        assert [s.split()[0] for s in result.skipped] == ["CL006"]


# -- the nested graphs, read exactly ----------------------------------------------------

# (file stem, node) -> its output shape, per-frame layers with the clip's time axis kept
SHAPES = {
    ("good_lrcn_mobilenetv2", "frames/backbone/Conv1"): (None, 4, 16, 16, 16),
    ("good_lrcn_mobilenetv2", "frames/backbone/block_16_project_BN"): (None, 4, 1, 1, 112),
    ("good_lrcn_mobilenetv2", "lstm"): (None, 8),
    ("good_lrcn_resnet50", "frames/backbone/conv1_pad"): (None, 4, 38, 38, 3),
    ("good_lrcn_resnet50", "frames/backbone/conv5_block3_out"): (None, 4, 1, 1, 2048),
    ("good_lrcn_efficientnetb0", "frames/backbone/normalization"): (None, 4, 32, 32, 3),
    ("good_lrcn_efficientnetb0", "frames/backbone/block2a_se_reshape"): (None, 4, 1, 1, 96),
    ("good_lrcn_efficientnetb0", "frames/backbone/block2a_se_excite"): (None, 4, 8, 8, 96),
    ("good_lrcn_sequential_mobilenetv2", "frames/cnn/gap"): (None, 4, 1280),
    ("good_two_camera_mobilenetv2", "Conv1/Conv1"): (None, 4, 32, 32, 3),
    ("good_two_camera_mobilenetv2", "frames#1/backbone/Conv1"): (None, 4, 16, 16, 16),
    ("good_two_camera_mobilenetv2", "join"): (None, 4, 2560),
    ("good_stereo_crnn_mobilenetv2", "backbone#1/out_relu"): (None, 1, 8, 1280),
    ("good_stereo_crnn_mobilenetv2", "to_steps"): (None, 8, 2560),
    ("good_crnn_resnet50", "to_steps"): (None, 8, 4096),
}
# file stem -> nodes of the whole graph: every layer of every nested model, once per call
# (a nested model's InputLayer fed from outside makes none)
NODE_COUNTS = {"good_lrcn_mobilenetv2": 157, "good_lrcn_resnet50": 178,
               "good_lrcn_efficientnetb0": 240, "good_two_camera_mobilenetv2": 314,
               "good_stereo_crnn_mobilenetv2": 313}


def _files(stem):
    return [f"{stem}.keras", f"{stem}.h5", f"tfk_{stem}.h5"]


@pytest.mark.parametrize("stem,node", sorted(SHAPES))
def test_nested_layer_shapes(stem, node):
    for name in _files(stem):
        graph = load_graph(os.path.join(HERE, name))
        assert graph.tensor(node).shape == SHAPES[(stem, node)], name


@pytest.mark.parametrize("stem", sorted(NODE_COUNTS))
def test_every_nested_layer_is_a_node_and_none_is_opaque(stem):
    for name in _files(stem):
        graph = load_graph(os.path.join(HERE, name))
        nodes = list(graph.nodes())
        assert len(nodes) == NODE_COUNTS[stem], name
        assert not [n.id for n in nodes if n.kind == "opaque" or n.notes], name
        assert all(n.outputs and n.outputs[0].axes is not None for n in nodes), name


@pytest.mark.parametrize("name", ["good_lrcn_mobilenetv2.keras", "tfk_good_lrcn_mobilenetv2.h5"])
def test_lrcn_steps_are_the_clip_frames(name):
    """The LSTM's time axis is the clip's own, carried through the whole backbone."""
    graph = load_graph(os.path.join(HERE, name))
    batch, time, feat = graph.inputs_of("lstm")[0].axes
    assert (time.role, time.size) == ("time", 4)
    assert {src.node for src in time.origin} == {"clip"}
    assert (feat.role, feat.size) == ("channel", 1280)


@pytest.mark.parametrize("name", ["good_stereo_crnn_mobilenetv2.keras",
                                  "tfk_good_stereo_crnn_mobilenetv2.h5"])
def test_a_shared_backbone_is_one_node_per_call(name):
    graph = load_graph(os.path.join(HERE, name))
    join = graph.producers("join")
    assert join == ["backbone/out_relu", "backbone#1/out_relu"]
    assert graph.producers("backbone#1/Conv1") == ["right"]


# -- the formats Keras and tf2onnx write on this machine ----------------------------------


def _layer(finding) -> str:
    """The Keras layer an ONNX finding's node was converted from (tf2onnx adds `_1`)."""
    path = finding.location.layer_path if finding.location else finding.node
    return re.sub(r"_\d+$", "", path.split("/")[-1])


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    pytest.importorskip("tf2onnx")
    out = tmp_path_factory.mktemp("backbones_onnx")
    proc = subprocess.run([sys.executable, BUILDER, "--onnx", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=1200)
    assert proc.returncode == 0, proc.stderr[-4000:]
    return out


# tf2onnx names a Bidirectional's LSTM op after the forward layer Keras builds inside it
ONNX_EXPECTED = {**EXPECTED, "crnn_no_permute_mobilenetv2": {("CL007", "forward_lstm")}}


@pytest.mark.tf
@pytest.mark.parametrize("stem", sorted(EXPECTED))
def test_tf2onnx_conversions(converted, stem):
    result = lint(str(converted / f"{stem}.onnx"))
    assert {(f.code, _layer(f)) for f in result} == ONNX_EXPECTED[stem]
    assert [s.split()[0] for s in result.skipped] == ["CL006"]


@pytest.mark.tf
def test_rebuilt_saves_with_weights_lint_as_the_committed_ones(tmp_path):
    """The committed files are real saves cut down to their config: a fresh save, with its
    weights, gets the same findings, and so does the builder's output."""
    import keras

    sys.path.insert(0, os.path.dirname(BUILDER))
    try:
        import build_backbones
    finally:
        sys.path.pop(0)
    for stem in ("good_lrcn_wrapped_mobilenetv2", "pixels_mobilenetv2"):
        model = build_backbones.models(keras)[stem][0]()
        for ext in (".keras", ".h5"):
            path = str(tmp_path / f"{stem}{ext}")
            model.save(path)
            assert {(f.code, f.node) for f in lint(path)} == EXPECTED[stem]
            build_backbones.strip_weights(path)
            assert {(f.code, f.node) for f in lint(path)} == EXPECTED[stem]
