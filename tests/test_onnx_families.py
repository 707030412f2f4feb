"""Issue 11, families 1 and 6: real exports (tf2onnx conversions of Keras models and
PyTorch modules through both exporters) linted with their exact findings.

The files under sample_models/onnx_families/ are committed (built by
sample_models/export_onnx_families.py); only the regeneration test needs TF and torch.

Family 1 ("time from the batch" where nothing says so): tf2onnx's backward direction of
a bidirectional GRU/SimpleRNN reads a ReverseSequence, which keeps every axis as it is;
an input whose dims are named time-first (['seq', 'batch', F]) is time-major. Family 6:
PyTorch idioms. Clean files must have no finding at all (CL006 is only "not judged" on an
inference export).
"""

import os
import subprocess
import sys

import pytest

from conftest import ROOT, SAMPLES

onnx = pytest.importorskip("onnx", reason="linting .onnx files needs the onnx package")

import cnnlstm_lint  # noqa: E402
from cnnlstm_lint.loaders.onnx_graph import _named_roles  # noqa: E402

FAMILIES = os.path.join(SAMPLES, "onnx_families")
SCRIPT = os.path.join(SAMPLES, "export_onnx_families.py")
CL006_SKIP = "CL006 (no-dropout) not judged: an inference-only export, where dropout is stripped"
CL012_SKIP = "CL012 (mask-lost) not judged: an ONNX export carries no Keras masks"

TS_LSTM, DYNAMO_LSTM = "/lstm/LSTM", "node_lstm__2"
PIXELS = "crnn_pixels_1/bigru_1/{}_gru_1/while_loop"

# file -> the exact set of (code, node) findings
EXPECTED = {
    # family 1: tf2onnx bidirectional recurrences (two Loops, the backward one after a
    # ReverseSequence): clean ...
    "k_conv1d_bigru.onnx": set(),
    "k_audio_bigru.onnx": set(),  # DeepSpeech-style: spectrogram frames as time
    "k_text_bisimplernn.onnx": set(),
    "k_crnn_bigru.onnx": set(),
    # ... and the same CRNN with pixels as steps: tf2onnx makes each direction a Loop of
    # its own (the backward one reads the ReverseSequence of the forward one's input);
    # the user wrote one Bidirectional layer, so one CL001, on the forward direction
    "k_crnn_bigru_pixels.onnx": {("CL001", PIXELS.format("forward"))},
    # family 1: nn.LSTM(batch_first=False) fed a ['seq', 'batch', 6] input: time-major, clean
    "t_time_major_lstm.ts.onnx": set(),
    "t_time_major_lstm.dynamo.onnx": set(),
    # the real mistake: ['batch', 'seq', 6] fed to a batch_first=False LSTM - its time
    # axis is the batch (CL009)
    "t_time_major_lstm_fed_batch_first.ts.onnx": {("CL009", TS_LSTM)},
    # torch.export specialises that batch to the constant 2 (the LSTM state is sized by
    # axis 1), so the file's input is [2, 'seq', 6]: nothing says axis 0 is the batch, but
    # the LSTM reads the axis named 'seq' as its batch (CL009 again)
    "t_time_major_lstm_fed_batch_first.dynamo.onnx": {("CL009", DYNAMO_LSTM)},
    # ... and exported with static shapes (no dim names): nothing says axis 0 is the
    # batch, so it is unknown and the time-major LSTM is clean; the Conv1d of a static
    # time-series model makes its axis 0 the batch (the Conv spec's N)
    "t_static_time_major_lstm.ts.onnx": set(),
    "t_static_conv1d_lstm.ts.onnx": set(),
    # family 6: nn.Flatten(start_dim=2) gives (N, C, H*W): the channels are the steps ...
    "t_flatten2.ts.onnx": {("CL002", TS_LSTM)},
    "t_flatten2.dynamo.onnx": {("CL002", DYNAMO_LSTM)},
    # ... and with transpose(1, 2) the H*W pixels are
    "t_flatten2_transpose.ts.onnx": {("CL001", TS_LSTM)},
    "t_flatten2_transpose.dynamo.onnx": {("CL001", DYNAMO_LSTM)},
    # CRNN, height pooled to 1, squeeze(2).permute(2, 0, 1) into batch_first=False: clean
    "t_crnn_time_major.ts.onnx": set(),
    "t_crnn_time_major.dynamo.onnx": set(),
    # the same without the permute: (N, C, W) read as (time, batch, F) - the time axis is
    # the batch (CL009)
    "t_crnn_time_major_no_permute.ts.onnx": {("CL009", TS_LSTM)},
    "t_crnn_time_major_no_permute.dynamo.onnx": {("CL009", DYNAMO_LSTM)},
    # squeeze after pooling height to 1, batch_first bidirectional GRU: clean
    "t_crnn_squeeze.ts.onnx": set(),
    "t_crnn_squeeze.dynamo.onnx": set(),
    # einops `b c h w -> b (h w) c` as permute + reshape: pixels as steps
    "t_einops_pixels.ts.onnx": {("CL001", TS_LSTM)},
    "t_einops_pixels.dynamo.onnx": {("CL001", DYNAMO_LSTM)},
    # nn.Embedding (a Gather of table rows) + Conv1d + LSTM over the words: clean
    "t_text_conv_lstm.ts.onnx": set(),
    "t_text_conv_lstm.dynamo.onnx": set(),
    # `(b t) c h w` for the CNN, unfolded back to (b, t, f): clean
    "t_fold_time.ts.onnx": set(),
    "t_fold_time.dynamo.onnx": set(),
    # nn.LSTMCell called in a Python loop over the frames: unrolled by both exporters into
    # plain ops, no recurrent op to judge; --verbose says so (see the test below)
    "t_lstmcell_frames.ts.onnx": set(),
    "t_lstmcell_frames.dynamo.onnx": set(),
    # encoder-decoders: one vector copied to the decoder's steps by tf2onnx's RepeatVector
    # (ExpandDims + Tile), PyTorch's repeat (Tile) and expand (Expand, its shape computed
    # by ConstantOfShape/Equal/Where or Concat): clean, with the axes read (test below)
    "k_encdec_repeat.onnx": set(),
    "t_encdec_repeat.ts.onnx": set(),
    "t_encdec_repeat.dynamo.onnx": set(),
    "t_encdec_expand.ts.onnx": set(),
    "t_encdec_expand.dynamo.onnx": set(),
}


def committed() -> list[str]:
    return sorted(f for f in os.listdir(FAMILIES) if f.endswith(".onnx")) if os.path.isdir(FAMILIES) else []


def test_every_case_is_committed_and_small():
    assert committed() == sorted(EXPECTED)
    for name in committed():
        assert os.path.getsize(os.path.join(FAMILIES, name)) < 64 * 1024, name


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_exact_findings(name):
    result = cnnlstm_lint.lint(os.path.join(FAMILIES, name), isolated=True)
    assert {(f.code, f.node) for f in result} == EXPECTED[name]
    assert len(result) == len(EXPECTED[name])  # one finding per (code, node)
    if not EXPECTED[name] and "lstmcell" not in name:  # no recurrent layer: nothing skipped
        # a tf2onnx text model (an embedding lookup before the recurrent layer): whatever
        # Keras mask it had is gone from the export, so CL012 says it is not judged
        masked = [CL012_SKIP] if name == "k_text_bisimplernn.onnx" else []
        assert result.skipped == [CL006_SKIP] + masked



def test_backward_direction_keeps_its_axes():
    """The ReverseSequence before tf2onnx's backward Loop is an identity of axes: the
    backward Loop's time axis is the Conv1D's steps, as the forward one's is."""
    graph = cnnlstm_lint.to_graph(os.path.join(FAMILIES, "k_conv1d_bigru.onnx"))
    (rev,) = [n for n in graph.nodes() if n.op == "ReverseSequence"]
    assert rev.kind == "identity"
    (into,) = graph.inputs_of(rev.id)
    assert graph.tensor(rev.id, 0).axes == into.axes
    loops = [n for n in graph.nodes() if n.op == "Loop"]
    assert len(loops) == 2
    for loop in loops:
        (x,) = graph.inputs_of(loop.id)
        time = x.axes[loop.attrs["time_axis"]]
        assert time.role == "time" and time.size == 40
        assert {s.role for s in time.sources} == {"time"}


@pytest.mark.parametrize("name", ["k_text_bisimplernn.onnx", "t_text_conv_lstm.ts.onnx",
                                  "t_text_conv_lstm.dynamo.onnx"])
def test_embedding_lookup_makes_the_word_steps(name):
    """A Gather of a constant (vocabulary, F) table by data indices is an embedding: the
    recurrent layer's time axis is the words, not an opaque op's unknown axis."""
    graph = cnnlstm_lint.to_graph(os.path.join(FAMILIES, name))
    (emb,) = [n for n in graph.nodes() if n.kind == "embedding"]
    assert emb.op == "Gather" and emb.attrs["units"] == 8
    for rnn in graph.recurrent_nodes():
        (x,) = graph.inputs_of(rnn.id)
        time = x.axes[rnn.attrs.get("time_axis", 0)]
        assert time.role == "time" and time.size == 30


@pytest.mark.parametrize("name", ["k_encdec_repeat.onnx", "t_encdec_repeat.ts.onnx",
                                  "t_encdec_repeat.dynamo.onnx", "t_encdec_expand.ts.onnx",
                                  "t_encdec_expand.dynamo.onnx"])
def test_a_repeated_vector_makes_the_decoder_steps(name):
    """Tile and Expand of a length-1 axis make a new run of steps: the decoder's time
    axis is the 7 copies, its features the encoder's 8 channels x 6 pooled steps."""
    graph = cnnlstm_lint.to_graph(os.path.join(FAMILIES, name))
    (rnn,) = graph.recurrent_nodes()
    (x,) = graph.inputs_of(rnn.id)
    assert x.axes is not None, [n.notes for n in graph.nodes() if n.notes]
    time, features = x.axes[rnn.attrs.get("time_axis", 0)], x.axes[-1]
    assert (time.role, time.size) == ("time", 7)
    (copier,) = {s.node for s in time.sources}
    assert graph.node(copier).op in ("Tile", "Expand")
    assert features.size == 48
    assert sorted(graph.node(s.node).op for s in features.sources) == ["Conv", "MaxPool"]


def test_time_first_input_is_time_major():
    graph = cnnlstm_lint.to_graph(os.path.join(FAMILIES, "t_time_major_lstm.ts.onnx"))
    (x,) = graph.inputs
    assert [a.role for a in graph.tensor(x, 0).axes] == ["time", "batch", "feature"]


def test_conv_makes_axis_0_the_batch():
    graph = cnnlstm_lint.to_graph(os.path.join(FAMILIES, "t_static_conv1d_lstm.ts.onnx"))
    (x,) = graph.inputs
    assert graph.tensor(x, 0).axes[0].role == "unknown"
    (conv,) = [n for n in graph.nodes() if n.op == "Conv"]
    assert [a.role for a in graph.tensor(conv.id, 0).axes] == ["batch", "channel", "spatial"]
    (lstm,) = graph.recurrent_nodes()
    (into,) = graph.inputs_of(lstm.id)
    assert [a.role for a in into.axes] == ["spatial", "batch", "channel"]  # (L, N, C), layout 0


@pytest.mark.parametrize("names, keras, expected", [
    (["seq", "batch", ""], False, "TNF"),
    (["T", "N", ""], False, "TNF"),
    (["time", "batch", ""], False, "TNF"),
    (["batch", "seq", ""], False, "NTF"),
    (["batch", "", ""], False, "NTF"),
    (["", "", ""], False, "?TF"),  # a static rank-3 PyTorch input: axis 0 is not said
    (["s0", "s1", ""], False, "?TF"),  # generated names say nothing
    (["unk__12", "", ""], True, None),  # a Keras input: the default NTF (axis 0 its batch)
    (["batch", "", "", ""], False, "NCHW"),
])
def test_dim_names_say_the_roles(names, keras, expected):
    default = {4: "NCHW"}.get(len(names)) if not keras else None
    assert _named_roles(default, names, len(names), keras) == expected


def test_regenerated_exports_lint_the_same(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("onnxscript")
    pytest.importorskip("tf2onnx")
    proc = subprocess.run([sys.executable, SCRIPT, "--out", str(tmp_path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert sorted(f for f in os.listdir(tmp_path) if f.endswith(".onnx")) == sorted(EXPECTED)
    for name in EXPECTED:
        result = cnnlstm_lint.lint(str(tmp_path / name), isolated=True)
        assert {(f.code, f.node) for f in result} == EXPECTED[name], name


def test_a_split_bidirectional_layer_reports_a_finding_once_per_code():
    """The two Loops of one tf2onnx bidirectional layer are paired through the backward
    one's ReverseSequence; only a finding the forward half also has is dropped."""
    from cnnlstm_lint.engine import one_per_layer
    from cnnlstm_lint.findings import Finding, Severity
    from cnnlstm_lint.rules.base import backward_directions

    graph = cnnlstm_lint.load_graph(os.path.join(FAMILIES, "k_crnn_bigru_pixels.onnx"))
    forward, backward = PIXELS.format("forward"), PIXELS.format("backward")
    assert backward_directions(graph) == {backward: forward}

    def at(code, node):
        return Finding(code, "", Severity.WARNING, "", node)

    kept = one_per_layer(graph, [at("CL001", forward), at("CL001", backward),
                                 at("CL004", backward)])
    assert [(f.code, f.node) for f in kept] == [("CL001", forward), ("CL004", backward)]
    # a clean bidirectional CRNN of the same form pairs its directions too
    clean = cnnlstm_lint.load_graph(os.path.join(FAMILIES, "k_crnn_bigru.onnx"))
    assert len(backward_directions(clean)) == 1


@pytest.mark.parametrize("kind", ["ts", "dynamo"])
def test_an_unrolled_cell_loop_is_said_to_have_no_recurrence(kind):
    from cnnlstm_lint.engine import NO_RECURRENCE

    result = cnnlstm_lint.lint(os.path.join(FAMILIES, f"t_lstmcell_frames.{kind}.onnx"))
    assert not list(result) and NO_RECURRENCE in result.notes
    assert "nn.LSTMCell" in NO_RECURRENCE
    # a model with a recurrent layer never gets the note
    assert NO_RECURRENCE not in cnnlstm_lint.lint(os.path.join(FAMILIES, "t_fold_time.ts.onnx")).notes
