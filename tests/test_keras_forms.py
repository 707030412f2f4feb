"""Keras recurrent forms, layouts and op layers, from real saves (issue 11, families 7, 5).

The files in sample_models/keras_forms/ are built by sample_models/build_keras_forms.py
with real Keras 3 (`.keras` and its legacy `.h5`) and real tf.keras 2 (`tfop_*.h5`,
`good_tfop_*.h5`: `tf.*` calls saved as TFOpLambda / SlicingOpLambda layers). No test
here needs TensorFlow: the files are read as data. Their tf2onnx conversions
(sample_models/keras_forms/onnx/, by `convert_onnx.py --src sample_models/keras_forms
--out sample_models/keras_forms/onnx`) are held to the same codes on the same layer by
tests/test_parity.py.
"""

from __future__ import annotations

import os

import pytest

from cnnlstm_lint import lint
from cnnlstm_lint.loaders import graph_from_config, load_graph
from cnnlstm_lint.loaders.keras_config import canonical_op, op_layer_function, _Call
from conftest import ROOT

FORMS = os.path.join(ROOT, "sample_models", "keras_forms")
BOTH = (".keras", ".h5")

PIXELS = {("CL001", "rnn")}
CASES = {
    # -- family 7: RNN(cell) is a recurrent layer like LSTM ---------------------------
    **{f"rnn_lstmcell_pixels{e}": PIXELS for e in BOTH},
    **{f"rnn_grucell_pixels{e}": PIXELS for e in BOTH},
    **{f"rnn_stacked_pixels{e}": PIXELS for e in BOTH},  # was missed (opaque RNN)
    **{f"rnn_go_backwards_pixels{e}": {("CL001", "lstm")} for e in BOTH},
    **{f"good_conv1d_rnn_lstmcell{e}": set() for e in BOTH},
    # -- family 7: Bidirectional, every merge mode ---------------------------------
    **{f"bidir_{m}_pixels.keras": {("CL001", "bilstm")}
       for m in ("concat", "sum", "mul", "ave", "none")},
    **{f"good_crnn_bidir_{m}{e}": set() for m in ("concat", "sum", "mul", "ave", "none")
       for e in BOTH},
    # -- family 7: channels_first ------------------------------------------------
    **{f"cf_crnn_no_permute{e}": {("CL007", "bilstm")} for e in BOTH},
    # a Dense between the reshape and the RNN (in tf2onnx a Tensordot that folds the
    # scrambled steps into the batch and back: test_parity holds the .onnx to this)
    **{f"crnn_dense_no_permute{e}": {("CL007", "bilstm")} for e in BOTH},
    **{f"good_crnn_dense{e}": set() for e in BOTH},
    **{f"cf_crnn_height1_no_permute{e}": {("CL007", "lstm")} for e in BOTH},
    **{f"cf_crnn_height1_wide_channels{e}": {("CL007", "lstm")} for e in BOTH},
    **{f"cf_pixels_as_steps{e}": {("CL001", "lstm")} for e in BOTH},
    **{f"good_cf_crnn{e}": set() for e in BOTH},
    **{f"good_cf_crnn_height1{e}": set() for e in BOTH},
    # -- family 5: keras.ops op layers (Keras 3) ---------------------------------
    **{f"ops_reshape_pixels{e}": {("CL001", "lstm")} for e in BOTH},
    **{f"ops_reshape_batch_pixels{e}": {("CL001", "lstm")} for e in BOTH},
    **{f"ops_transpose_channels{e}": {("CL002", "lstm")} for e in BOTH},
    **{f"good_ops_crnn{e}": set() for e in BOTH},
    **{f"good_ops_height_squeeze{e}": set() for e in BOTH},
    **{f"ops_crnn_no_transpose{e}": {("CL007", "lstm")} for e in BOTH},
    **{f"ops_unknown_op{e}": set() for e in BOTH},
    **{f"ops_flip_pixels{e}": {("CL001", "lstm")} for e in BOTH},  # flip keeps the axes
    # -- family 5: TFOpLambda / SlicingOpLambda (tf.keras 2) ------------------------
    "tfop_reshape_pixels.h5": {("CL001", "lstm")},
    "tfop_reshape_static_pixels.h5": {("CL001", "lstm")},
    "good_tfop_crnn.h5": set(),
    "good_tfop_height_squeeze.h5": set(),
    "tfop_unknown_op.h5": set(),
    "tfop_reverse_pixels.h5": {("CL001", "lstm")},  # tf.reverse keeps the axes
    # -- family 7 in tf.keras 2 saves --------------------------------------------
    "tfk_rnn_stacked_pixels.h5": {("CL001", "rnn")},
    "tfk_good_conv1d_rnn_cells.h5": set(),
    "tfk_cf_crnn_no_permute.h5": {("CL007", "bilstm")},
    "tfk_good_cf_crnn.h5": set(),
}

# CL002 reads the *sources* of the time axis, and the time axis of this reshape is a
# piece of the channels (its provenance, now `scrambled`, is right); CL002 must leave a
# scrambled time axis to CL007 as CL001 and CL003 do (rules/cl002_channels_as_time.py,
# owned elsewhere): until it does, the file also gets CL002.
_CL002_OWNERSHIP = {f"cf_crnn_height1_wide_channels{e}" for e in BOTH}


def findings(name):
    return lint(os.path.join(FORMS, name), isolated=True)


def test_every_file_is_a_case():
    on_disk = {f for f in os.listdir(FORMS) if f.endswith((".keras", ".h5"))}
    assert on_disk == set(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_exact_findings(name):
    assert {(f.code, f.node) for f in findings(name)} == CASES[name]


@pytest.mark.parametrize("name", sorted(_CL002_OWNERSHIP))
def test_channel_pieces_cut_by_a_scramble_are_scrambled(name):
    """(C=16, 1, W=8) reshaped to (8, 16): the time axis is the upper half of the channel
    index, its other half is mixed with the columns; CL007 names the time axis."""
    graph = load_graph(os.path.join(FORMS, name))
    time, feat = graph.inputs_of("lstm")[0].axes[1:]
    assert (time.role, time.size, feat.role, feat.size) == ("scrambled", 8, "scrambled", 16)
    (cl007,) = [f for f in findings(name) if f.code == "CL007"]
    assert cl007.node == "lstm" and "scrambled time axis of 8" in cl007.message


# -- family 7: what the recurrent nodes are -------------------------------------------


@pytest.mark.parametrize("ext", BOTH)
def test_rnn_of_cells_is_a_recurrent_node(ext):
    graph = load_graph(os.path.join(FORMS, f"good_conv1d_rnn_lstmcell{ext}"))
    rnn, stacked = graph.node("rnn"), graph.node("rnn_stacked")
    assert (rnn.kind, rnn.op, rnn.attrs["units"]) == ("recurrent", "LSTM", 4)
    assert (stacked.kind, stacked.op, stacked.attrs["units"]) == ("recurrent", "LSTM", 3)
    assert stacked.attrs["cells"] == ["GRU", "LSTM"] and stacked.attrs["stacked_cells"] == 2
    assert graph.tensor("rnn").shape == (None, 50, 4)
    assert graph.tensor("rnn_stacked").shape == (None, 3)  # the last cell's width


@pytest.mark.parametrize("mode,width", [("concat", 8), ("sum", 4), ("mul", 4), ("ave", 4),
                                        ("none", 4)])
@pytest.mark.parametrize("ext", BOTH)
def test_bidirectional_output_width_per_merge_mode(mode, width, ext):
    graph = load_graph(os.path.join(FORMS, f"good_crnn_bidir_{mode}{ext}"))
    node = graph.node("bilstm")
    assert node.attrs["bidirectional"] and node.attrs["merge_mode"] == (None if mode == "none" else mode)
    outs = [t.shape for t in node.outputs]
    assert outs == ([(None, 32, 4)] * 2 if mode == "none" else [(None, 32, width)])
    assert graph.tensor("head").shape == (None, 32, 5)
    if mode == "none":
        assert graph.tensor("join").shape == (None, 32, 8)


def test_stacked_cells_take_dropout_and_regularizers_from_any_cell():
    cell = {"class_name": "StackedRNNCells", "config": {"cells": [
        {"class_name": "LSTMCell", "config": {"units": 8, "recurrent_dropout": 0.25}},
        {"class_name": "GRUCell", "config": {"units": 4, "kernel_regularizer": {"class_name": "L2"}}},
    ]}}
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 10, 3], "name": "in"}},
        {"class_name": "RNN", "config": {"name": "rnn", "cell": cell, "return_state": True}},
    ]}}
    graph = graph_from_config(config, "m.keras")
    node = graph.node("rnn")
    assert (node.kind, node.op, node.attrs["units"]) == ("recurrent", "GRU", 4)
    assert node.attrs["recurrent_dropout"] == 0.25 and node.attrs["regularized"]
    assert len(node.outputs) == 1 + 2 + 1  # output, LSTM h and c, GRU h


def test_unknown_cell_class_stays_opaque():
    config = {"class_name": "Sequential", "config": {"layers": [
        {"class_name": "InputLayer", "config": {"batch_shape": [None, 10, 3], "name": "in"}},
        {"class_name": "RNN", "config": {"name": "rnn", "cell": {
            "class_name": "StackedRNNCells", "config": {"cells": [
                {"class_name": "LSTMCell", "config": {"units": 8}},
                {"class_name": "MyCell", "module": "mine", "config": {"units": 4}}]}}}},
    ]}}
    node = graph_from_config(config, "m.keras").node("rnn")
    assert node.kind == "opaque"


# -- family 5: op layers read as data ---------------------------------------------------


@pytest.mark.parametrize("name,node_id,kind", [
    ("ops_reshape_pixels.keras", "reshape", "reshape"),
    ("ops_reshape_pixels.h5", "reshape", "reshape"),
    ("good_ops_crnn.keras", "transpose", "transpose"),
    ("good_ops_crnn.keras", "get_item", "select"),
    ("good_ops_crnn.keras", "expand_dims", "unsqueeze"),
    ("good_ops_crnn.h5", "squeeze", "squeeze"),
    ("good_ops_height_squeeze.keras", "concatenate", "concat"),
    ("good_tfop_crnn.h5", "tf.compat.v1.transpose", "transpose"),
    ("good_tfop_crnn.h5", "tf.reshape", "reshape"),
    ("good_tfop_crnn.h5", "tf.__operators__.getitem", "select"),
    ("good_tfop_crnn.h5", "tf.expand_dims", "unsqueeze"),
    ("good_tfop_crnn.h5", "tf.compat.v1.squeeze", "squeeze"),
    ("good_tfop_height_squeeze.h5", "tf.concat", "concat"),
])
def test_op_layers_become_canonical_nodes(name, node_id, kind):
    graph = load_graph(os.path.join(FORMS, name))
    assert graph.node(node_id).kind == kind
    assert graph.tensor(node_id).axes is not None


@pytest.mark.parametrize("name,prefix", [("good_ops_crnn.keras", ""), ("good_tfop_crnn.h5", "tf.")])
def test_op_layer_crnn_provenance(name, prefix):
    graph = load_graph(os.path.join(FORMS, name))
    time, feat = graph.inputs_of("lstm")[0].axes[1:]
    assert (time.role, time.size) == ("spatial", 32)  # the width, after the transpose
    assert {s.label for s in feat.sources} == {"H", "C"} and feat.size == 32
    head_in = graph.inputs_of("dense")[0].axes
    assert [a.size for a in head_in] == [None, 4]  # [:, -1] then expand_dims, squeeze


_NOT_READ = "is not one of the shape ops this linter reads (not in its list); its function " \
    "is never imported or called"


@pytest.mark.parametrize("name,note", [
    ("ops_unknown_op.keras", f"op layer 'keras.ops.sort' {_NOT_READ}"),
    # a Keras 3 .h5 drops `module`: Sort is then just a class this linter does not know
    ("ops_unknown_op.h5", "layer class 'Sort' is not a built-in Keras layer"),
    ("tfop_unknown_op.h5", f"op layer 'tf.sort' {_NOT_READ}")])
def test_unknown_op_stays_opaque_with_a_note(name, note):
    result = findings(name)
    assert not list(result)
    assert any(note in line for line in result.notes)
    assert any("CL001 not judged on lstm" in note for note in result.notes)


def test_tf_op_reshape_with_a_dynamic_batch_reads_it_as_the_rest():
    graph = load_graph(os.path.join(FORMS, "tfop_reshape_pixels.h5"))
    node = graph.node("tf.reshape")
    assert node.attrs["target"] == [-1, 225, 4] and node.attrs["full"]
    time = graph.inputs_of("lstm")[0].axes[1]
    assert sorted(s.label for s in time.sources) == ["H", "W"]


def _keras3(cls, conf, args=None):
    layer = {"module": "keras.src.ops.numpy", "class_name": cls, "config": conf}
    return canonical_op(op_layer_function(layer), conf, _Call([], [], args or []))


def _tf(function, kwargs):
    layer = {"class_name": "TFOpLambda", "config": {"function": function}}
    return canonical_op(op_layer_function(layer), layer["config"], _Call([], [], None, kwargs))


def test_op_arguments_are_data_only():
    assert _keras3("Reshape", {"newshape": [None, 225, 8]}) == \
        ("reshape", {"target": [-1, 225, 8], "full": True})
    # two unknown entries: the target cannot be resolved, so the op stays opaque
    assert _keras3("Reshape", {"newshape": [None, -1, 8]})[0] == "opaque"
    assert _tf("reshape", {"shape": [["tf.shape", 0, 0], ["tf.shape", 0, 1], 8]})[0] == "opaque"
    assert _keras3("Transpose", {"axes": None}) == ("transpose", {"perm": None})
    assert _keras3("Transpose", {"axes": "0,2,1"})[0] == "opaque"
    assert _keras3("ExpandDims", {"axis": [1, 2]}) == ("unsqueeze", {"axes": [1, 2]})
    assert _keras3("Squeeze", {"axis": None}) == ("squeeze", {"axes": None})
    assert _tf("concat", {"axis": True})[0] == "opaque"  # a bool is not an axis
    slice_ = {"class_name": "__slice__", "config": {"start": 2, "stop": None, "step": None}}
    full = {"class_name": "__slice__", "config": {"start": None, "stop": None, "step": None}}
    assert _keras3("GetItem", {}, [{}, [full, slice_]]) == \
        ("slice", {"slices": [[1, 2, None, None]]})
    assert _keras3("GetItem", {}, [{}, [full, -1]]) == ("select", {"axis": 1, "index": -1})
    assert _keras3("GetItem", {}, [{}, [0, slice_]])[0] == "opaque"  # index and slice
    assert _tf("__operators__.getitem", {"slice_spec": [{"start": None, "stop": None,
                                                         "step": None}, {"class_name": "x"}]}
               )[0] == "opaque"
    # functions outside the list are never resolved, whatever they name
    for function in ("os.system", "compat.v1.py_func", "numpy_function", "io.read_file"):
        assert _tf(function, {"inp": "x"}) == ("opaque", {"op_reason": "not in its list"})
    assert op_layer_function({"class_name": "Reshape", "config": {"target_shape": [4]}}) is None
    assert op_layer_function({"class_name": "Concatenate",
                              "config": {"axis": 1, "trainable": True}}) is None
    assert op_layer_function({"class_name": "Reshape", "config": {"newshape": [4]}}) == \
        "keras.ops.reshape"


@pytest.mark.parametrize("ext", BOTH)
def test_op_layer_crnn_without_transpose_gets_the_transpose(ext):
    (finding,) = findings(f"ops_crnn_no_transpose{ext}")
    assert finding.evidence["reshape"] == "reshape" and finding.evidence["permute"] == [1, 3, 2, 4]
    # the fix in the API the model is written in: the op layer's own transpose
    assert "keras.ops.transpose(x, axes=(0, 2, 1, 3)) before `reshape`" in finding.remedy


def test_tf_op_lambda_crnn_without_transpose_gets_tf_transpose():
    """tf.keras 2's `tf.reshape` of an (N, H, W, C) map to (N, W, H*C) without the
    transpose: CL007, and the remedy is tf.transpose with its `perm` argument."""
    def layer(cls, name, config, inbound):
        return {"class_name": cls, "name": name, "config": {"name": name, **config},
                "inbound_nodes": inbound}

    config = {"class_name": "Functional", "config": {
        "name": "m", "input_layers": [["in", 0, 0]], "output_layers": [["lstm", 0, 0]],
        "layers": [
            layer("InputLayer", "in", {"batch_input_shape": [None, 8, 32, 8]}, []),
            layer("TFOpLambda", "tf.reshape", {"function": "reshape"},
                  [["in", 0, 0, {"shape": [-1, 32, 64]}]]),
            layer("LSTM", "lstm", {"units": 4, "dropout": 0.2}, [[["tf.reshape", 0, 0, {}]]]),
        ]}}
    (finding,) = lint(config)
    assert (finding.code, finding.node, finding.evidence["reshape"]) == \
        ("CL007", "lstm", "tf.reshape")
    assert "tf.transpose(x, perm=(0, 2, 1, 3)) before `tf.reshape`" in finding.remedy


def test_tf_keras_2_rnn_cells_and_merge_modes():
    graph = load_graph(os.path.join(FORMS, "tfk_good_conv1d_rnn_cells.h5"))
    bilstm, stacked = graph.node("bilstm"), graph.node("rnn_stacked")
    assert (bilstm.kind, bilstm.op, bilstm.attrs["merge_mode"]) == ("recurrent", "LSTM", "ave")
    assert graph.tensor("bilstm").shape == (None, 50, 4)
    assert (stacked.kind, stacked.attrs["cells"]) == ("recurrent", ["GRU", "LSTM"])
    assert graph.tensor("rnn_stacked").shape == (None, 3)


@pytest.mark.parametrize("function,unsafe", [("io.write_file", True), ("io.read_file", True),
                                             ("raw_ops.WriteFile", True), ("numpy_function", True),
                                             ("compat.v1.py_func", True), ("io.gfile.remove", True),
                                             ("reshape", False), ("roll", False),
                                             ("print", False), ("io.decode_jpeg", False),
                                             ("raw_ops.Reshape", False)])
def test_tf_op_lambda_touching_files_is_unsafe_content(function, unsafe):
    """tf_keras resolves a TFOpLambda's function inside the `tf` API when it loads the
    model, and the model then calls it on every input: file and Python ops are CL900."""
    config = {"class_name": "Functional", "config": {
        "input_layers": [["in", 0, 0]], "output_layers": [["op", 0, 0]], "layers": [
            {"class_name": "InputLayer", "name": "in",
             "config": {"batch_input_shape": [None, 4], "name": "in"}, "inbound_nodes": []},
            {"class_name": "TFOpLambda", "name": "op",
             "config": {"name": "op", "function": function},
             "inbound_nodes": [["in", 0, 0, {"filename": "/tmp/x"}]]}]}}
    graph = graph_from_config(config, "m.h5")
    node = graph.node("op")
    assert node.kind == "opaque"
    assert bool(node.attrs.get("unsafe")) is unsafe
    result = lint(config)
    assert (("CL900", "op") in {(f.code, f.node) for f in result}) is unsafe
