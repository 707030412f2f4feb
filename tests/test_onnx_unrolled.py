"""Issue 11, family 4: exporter rewrites that unroll per-frame layers, linted with their
exact findings, next to the Keras model they came from.

The files under sample_models/onnx_unrolled/ are committed (built by
sample_models/export_unrolled.py); only the regeneration test needs TF, tf2onnx and torch.

What the exporters write (measured with TensorFlow 2.21, Keras 3.15, tf_keras 2.21,
tf2onnx 1.17, torch 2.13, onnx 1.23):

* Keras 3 ``TimeDistributed`` over a static time axis, through tf2onnx ``from_keras`` or
  ``from_function`` of a ``tf.function``, opset 13 and 17, fixed batch (``batch_shape=
  (2, T, ...)``) or dynamic: always unrolled - per frame Slice -> Squeeze -> the layer ->
  Unsqueeze, then one Concat per TimeDistributed layer (the graphs of from_keras and
  from_function are the same). The Concat joined new size-1 axes, so the time axis was
  unknown: the clip merge (CL003) and per-frame merges after it were missed, and the
  CRNN reshape without permute (CL007) fired once per unrolled frame. Now the joined axis is the axis the frames were
  cut from (``T`` of the input), with its provenance, and CL007 judges the first frame's
  copy of a layer.
* tf2onnx's transpose optimizer joins a Conv1D branch and an LSTM branch on axis 1 of
  ``(N, C, T)``, not on the last axis; CL008 read the widths on the last axis (the steps)
  and missed it. A branch's width is now its size along the joined axis.
* PyTorch loops over frames (``x[:, t]``, ``x.unbind(1)``, ``x.split(1, 1)``) and
  ``torch.stack``/``torch.cat``: Gather of one index (both exporters), Split + Squeeze
  (TorchScript), Slice + Squeeze (dynamo ``unbind``) -> the CNN -> Unsqueeze -> Concat.
  The same recognition applies.
* tf_keras 2 ``TimeDistributed`` of a built-in layer always reshapes time into the batch
  (``(B*T, ...)``, no unrolling, with a fixed batch too: tf_keras sets
  ``_always_use_reshape`` for built-in layers), which the Reshape provenance already
  handles. Only a custom inner layer with a known batch takes the ``backend.rnn`` path:
  tf2onnx writes a stateless ONNX ``Loop`` (the carried values are a counter and the
  weights), which is still read as a recurrent node, and the LSTM after it has an unknown
  input - nothing fires (a known miss; the .h5 of such a model names a custom class).
* "A Reshape folded into the next conv's transpose": tf2onnx turns Reshape + Transpose
  into one Reshape only when the transpose moves a size-1 axis (a 1-channel frame,
  ``[16, 1, 16, 16]``), which reads the same as before; no exporter above produced a fold
  that changes the grouping, so there is no case for it.

Clean files have no finding at all (CL006 is only "not judged" on an inference export),
and their recurrent layer's time axis is judged (it is the input's T), not skipped.
"""

import os
import subprocess
import sys

import pytest

from conftest import ROOT, SAMPLES

onnx = pytest.importorskip("onnx", reason="linting .onnx files needs the onnx package")

import cnnlstm_lint  # noqa: E402

UNROLLED = os.path.join(SAMPLES, "onnx_unrolled")
SCRIPT = os.path.join(SAMPLES, "export_unrolled.py")
CL006_SKIP = "CL006 (no-dropout) not judged: an inference-only export, where dropout is stripped"

# file -> the exact set of (code, node) findings
EXPECTED = {
    # LRCN: TimeDistributed Conv2D, MaxPooling2D, GAP -> LSTM (clean)
    "k_lrcn.keras": set(),
    "k_lrcn.b2.onnx": set(),
    "k_lrcn.bN.onnx": set(),
    # per-frame maps, then Reshape((T * H, W * C)): the clip's time merged with rows
    "k_clip_merge.keras": {("CL003", "merge")},
    "k_clip_merge.b2.onnx": {("CL003", "clip_merge_1/merge_1/Reshape")},
    "k_clip_merge.bN.onnx": {("CL003", "clip_merge_1/merge_1/Reshape")},
    # per-frame GAP, then Flatten + Dense over the clip and Reshape((6, 4)): since a754468
    # CL003 needs time merged with spatial axes, and pooled per-frame features flattened
    # are not that, so both give CL002 (the steps are Dense features); the unrolled export
    # agrees with the .keras (before the unrolled form was recognised, the .onnx gave
    # CL002 on an unknown time axis while the .keras gave CL003)
    "k_flatten_clip.keras": {("CL002", "lstm")},
    "k_flatten_clip.b2.onnx": {("CL002", "LSTM__859")},
    # per-frame flattened maps (512) joined per step with a 16-unit LSTM ...
    "k_td_concat.keras": {("CL008", "concat")},
    "k_td_concat.b2.onnx": {("CL008", "td_concat_1/concat_1/concat")},
    # ... and with the per-frame GAP (8) instead (clean)
    "k_td_concat_pooled.keras": set(),
    "k_td_concat_pooled.b2.onnx": set(),
    # Conv1D(256) joined per step with an 8-unit LSTM: tf2onnx joins on axis 1 of (N, C, T)
    "k_conv1d_concat.keras": {("CL008", "concat")},
    "k_conv1d_concat.b2.onnx": {("CL008", "conv1d_concat_1/concat_1/concat")},
    "k_conv1d_concat_balanced.keras": set(),
    "k_conv1d_concat_balanced.b2.onnx": set(),
    # per-frame (8, 16, 4) map reshaped to (16, 32) without Permute, into Conv1D: one
    # finding, on the first frame's copy of the Conv1D (was one per unrolled frame)
    "k_td_crnn.keras": {("CL007", "td_conv1d/conv1d")},
    "k_td_crnn.b2.onnx": {("CL007", "td_crnn_1/td_conv1d_1/convolution")},
    "k_td_crnn.bN.onnx": {("CL007", "td_crnn_1/td_conv1d_1/convolution")},
    "k_td_crnn_permute.keras": set(),
    "k_td_crnn_permute.b2.onnx": set(),
    # PyTorch: the CNN run per frame in a loop, stacked back, LSTM over the frames (clean)
    "t_loop_stack.ts.onnx": set(),
    "t_loop_stack.dynamo.onnx": set(),
    "t_loop_unbind.ts.onnx": set(),
    "t_loop_unbind.dynamo.onnx": set(),
    "t_loop_split_cat.ts.onnx": set(),
    # ... stacked maps, then time merged with rows before the LSTM
    "t_loop_merge.ts.onnx": {("CL003", "/Reshape")},
    "t_loop_merge.dynamo.onnx": {("CL003", "node_Reshape_202")},
}
CLEAN_ONNX = sorted(n for n, want in EXPECTED.items() if not want and n.endswith(".onnx"))


def committed() -> list[str]:
    return sorted(f for f in os.listdir(UNROLLED) if f.endswith((".onnx", ".keras"))) \
        if os.path.isdir(UNROLLED) else []


def test_every_case_is_committed_and_small():
    assert committed() == sorted(EXPECTED)
    for name in committed():
        assert os.path.getsize(os.path.join(UNROLLED, name)) < 300 * 1024, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_findings(name):
    result = cnnlstm_lint.lint(os.path.join(UNROLLED, name), isolated=True)
    assert {(f.code, f.node) for f in result} == EXPECTED[name]
    assert len(result) == len(EXPECTED[name])  # one finding per (code, node)
    if not EXPECTED[name] and name.endswith(".onnx"):
        assert result.skipped == [CL006_SKIP]


@pytest.mark.parametrize("name", CLEAN_ONNX)
def test_clean_exports_are_judged(name):
    """The clean files are clean because their time axis is the frames, not because it
    is unknown: every recurrent layer's time axis is a time axis of the input's T steps."""
    graph = cnnlstm_lint.to_graph(os.path.join(UNROLLED, name))
    (x,) = graph.inputs
    input_time = graph.tensor(x, 0).axes[1]
    assert input_time.role == "time"
    for rnn in graph.recurrent_nodes():
        (into,) = graph.inputs_of(rnn.id)
        time = into.axes[rnn.attrs.get("time_axis", 0 if rnn.attrs.get("time_major") else 1)]
        assert time.role == "time" and time.size == input_time.size, rnn.id
        assert {s.role for s in time.sources} == {"time"}, rnn.id


def test_stacked_frames_keep_the_time_axis():
    """Each unrolled TimeDistributed layer's Concat gives back the input's time axis."""
    graph = cnnlstm_lint.to_graph(os.path.join(UNROLLED, "k_lrcn.b2.onnx"))
    (x,) = graph.inputs
    time = graph.tensor(x, 0).axes[1]
    stacks = [n for n in graph.nodes() if n.kind == "concat" and n.attrs.get("unrolled")]
    assert len(stacks) == 3  # td_conv, td_pool, td_gap
    for node in stacks:
        axes = graph.tensor(node.id, 0).axes
        assert axes[node.attrs["axis"]] == time


def test_uncovered_pieces_are_not_a_time_axis():
    """Frames that do not cover the sliced axis in order (here: frame 1 twice) are not
    read as that axis; the joined axis stays unknown, as before."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Gather", ["x", f"i{k}"], [f"f{k}"], axis=1) for k in range(2)
    ] + [
        helper.make_node("Relu", [f"f{k}"], [f"r{k}"]) for k in range(2)
    ] + [
        helper.make_node("Unsqueeze", [f"r{k}", "one"], [f"u{k}"]) for k in range(2)
    ] + [helper.make_node("Concat", ["u0", "u1"], ["y"], axis=1)]
    inits = [helper.make_tensor("i0", TensorProto.INT64, [], [1]),
             helper.make_tensor("i1", TensorProto.INT64, [], [1]),
             helper.make_tensor("one", TensorProto.INT64, [1], [1])]
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 2, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    g = cnnlstm_lint.to_graph(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    (concat,) = [n for n in g.nodes() if n.op == "Concat"]
    assert concat.attrs.get("unrolled")  # the loader saw a stack of pieces ...
    assert g.tensor(concat.id, 0).axes[1].role == "unknown"  # ... that is not the axis
    # the same stack with frames 0 and 1 in order is the input's axis 1
    inits[0] = helper.make_tensor("i0", TensorProto.INT64, [], [0])
    graph = helper.make_graph(nodes, "g", list(graph.input), list(graph.output), inits)
    g = cnnlstm_lint.to_graph(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    (concat,) = [n for n in g.nodes() if n.op == "Concat"]
    (x,) = g.inputs
    assert g.tensor(concat.id, 0).axes[1] == g.tensor(x, 0).axes[1]


@pytest.mark.tf
def test_regenerated_exports_lint_the_same(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    pytest.importorskip("tf2onnx")
    pytest.importorskip("tensorflow")
    proc = subprocess.run([sys.executable, SCRIPT, "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    made = sorted(f for f in os.listdir(tmp_path) if f.endswith((".onnx", ".keras")))
    assert made == sorted(EXPECTED)
    for name in EXPECTED:
        result = cnnlstm_lint.lint(str(tmp_path / name), isolated=True)
        assert {(f.code, f.node) for f in result} == EXPECTED[name], name
