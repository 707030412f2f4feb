"""ONNX front end: the same diagnoses as Keras, on graphs from tf2onnx and hand-built ones."""

import io
import json
import os
import pickle
import re
import subprocess
import sys

import numpy as np
import onnx
import pytest
from click.testing import CliRunner
from onnx import TensorProto, helper, numpy_helper

import cnnlstm_lint
from cnnlstm_lint.cli import main
from conftest import SAMPLES, run_cli

ONNX_DIR = os.path.join(SAMPLES, "onnx")
CONVERTED = sorted(f[:-5] for f in os.listdir(ONNX_DIR) if f.endswith(".onnx"))
# tf2onnx folds this Reshape into the NHWC->NCHW Transpose of the next Conv: the finding
# lands on that node, whose recorded layer is the conv.
FOLDED = {("cl003_reshape_clip", "CL003"): "conv2d"}


def keras_layer(onnx_layer: str) -> str:
    """tf2onnx records `model_1/layer_1/...`: drop the model and TF's `_1` call suffixes."""
    parts = onnx_layer.split("/")[1:]
    return "/".join(re.sub(r"_1$", "", p) for p in parts)


def codes_and_layers(path):
    graph = cnnlstm_lint.load_graph(path)
    return {(f.code, f.evidence.get("layer", f.node)) for f in cnnlstm_lint.lint(graph)}


def test_every_keras_sample_but_the_lambda_one_has_a_converted_twin():
    keras_names = {f[:-6] for f in os.listdir(SAMPLES) if f.endswith(".keras")}
    assert set(CONVERTED) == keras_names - {"opaque_lambda"}


@pytest.mark.parametrize("name", CONVERTED)
def test_onnx_gives_the_keras_codes_on_the_matching_layer(name):
    keras = {(f.code, f.node) for f in cnnlstm_lint.lint(os.path.join(SAMPLES, name + ".keras"))}
    onnx_found = codes_and_layers(os.path.join(ONNX_DIR, name + ".onnx"))
    expected = {(code, node) for code, node in keras if code != "CL006"}  # not judged on exports
    assert {c for c, _ in onnx_found} == {c for c, _ in expected}
    for code, node in expected:
        layer = next(keras_layer(l) for c, l in onnx_found if c == code)
        wanted = FOLDED.get((name, code), node)
        assert layer == wanted or layer.startswith(wanted + "/"), (code, layer, node)


def test_cl006_is_said_to_be_skipped_on_an_inference_export():
    proc = run_cli(os.path.join(ONNX_DIR, "cl006_no_dropout.onnx"))
    assert proc.returncode == 0
    assert "CL006 (no-dropout) not judged: an inference-only export, where dropout is stripped" in proc.stdout


def test_onnx_crnn_without_permute_gets_a_transpose_remedy():
    (finding,) = cnnlstm_lint.lint(os.path.join(ONNX_DIR, "cl007_crnn_no_permute.onnx"))
    assert finding.code == "CL007"
    assert "Permute((2, 1, 3))" in finding.remedy  # a tf2onnx export speaks Keras


# -- hand-built graphs ---------------------------------------------------------------


def _model(nodes, inputs, outputs, inits=(), producer="pytorch", opset=17):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(inits))
    model = helper.make_model(graph, producer_name=producer,
                              opset_imports=[helper.make_opsetid("", opset)])
    return model


def _save(tmp_path, model, name="m.onnx"):
    path = tmp_path / name
    path.write_bytes(model.SerializeToString())
    return str(path)


def _tensor(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def _init(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def spatial_reshape_graph(symbolic=True, lstm_input_shape=True):
    """PyTorch-style: conv -> pool -> transpose -> reshape via Shape/Gather/Mul/Concat -> LSTM."""
    batch = "batch" if symbolic else 2
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="/conv/Conv", kernel_shape=[3, 3]),
        helper.make_node("MaxPool", ["c"], ["p"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Transpose", ["p"], ["t"], name="/Transpose", perm=[0, 2, 3, 1]),
        helper.make_node("Shape", ["p"], ["s"], name="/Shape"),
        helper.make_node("Gather", ["s", "i0"], ["n"], name="/Gather", axis=0),
        helper.make_node("Gather", ["s", "i1"], ["ch"], name="/Gather_1", axis=0),
        helper.make_node("Gather", ["s", "i2"], ["h"], name="/Gather_2", axis=0),
        helper.make_node("Gather", ["s", "i3"], ["w_"], name="/Gather_3", axis=0),
        helper.make_node("Mul", ["h", "w_"], ["hw"], name="/Mul"),
        helper.make_node("Unsqueeze", ["n", "ax0"], ["n1"], name="/Unsqueeze"),
        helper.make_node("Unsqueeze", ["hw", "ax0"], ["hw1"], name="/Unsqueeze_1"),
        helper.make_node("Unsqueeze", ["ch", "ax0"], ["ch1"], name="/Unsqueeze_2"),
        helper.make_node("Concat", ["n1", "hw1", "ch1"], ["target"], name="/Concat", axis=0),
        helper.make_node("Reshape", ["t", "target"], ["r"], name="/Reshape"),
        helper.make_node("LSTM", ["r", "W", "R"], ["y", "yh"], name="/lstm/LSTM", hidden_size=16, layout=1),
    ]
    inits = [_init("w", np.zeros((8, 3, 3, 3), np.float32)), _init("i0", np.int64(0)),
             _init("i1", np.int64(1)), _init("i2", np.int64(2)), _init("i3", np.int64(3)),
             _init("ax0", np.array([0], np.int64)), _init("W", np.zeros((1, 64, 8), np.float32)),
             _init("R", np.zeros((1, 64, 16), np.float32))]
    return _model(nodes, [_tensor("x", [batch, 3, 32, 32])], [_tensor("yh", None)], inits)


def test_symbolic_reshape_target_keeps_provenance_exact(tmp_path):
    path = _save(tmp_path, spatial_reshape_graph())
    graph = cnnlstm_lint.load_graph(path)
    assert [str(v) for v in graph.node("/Reshape").attrs["resolved_target"]] == ["N", "225", "8"]
    (finding,) = cnnlstm_lint.lint(graph)
    assert (finding.code, finding.node) == ("CL001", "/lstm/LSTM")
    assert "/Reshape" in finding.related and "/pool/MaxPool" in finding.related
    assert finding.evidence["provenance"] == "time axis of 225 steps = H 15 × W 15 of /pool/MaxPool"
    assert finding.evidence["layer"] == "lstm"
    assert "nn.AdaptiveAvgPool2d(1)" in finding.remedy  # a PyTorch export speaks torch


def test_external_weights_are_never_read(tmp_path):
    model = spatial_reshape_graph()
    weight = next(t for t in model.graph.initializer if t.name == "W")
    weight.ClearField("raw_data")
    weight.ClearField("float_data")
    weight.data_location = TensorProto.EXTERNAL
    entry = weight.external_data.add()
    entry.key, entry.value = "location", "weights.bin"  # does not exist
    path = _save(tmp_path, model)
    assert [f.code for f in cnnlstm_lint.lint(path)] == ["CL001"]


def test_training_mode_dropout_lets_cl006_judge(tmp_path):
    nodes = [helper.make_node("Dropout", ["x", "ratio", "train"], ["d"], name="drop"),
             helper.make_node("LSTM", ["d", "W", "R"], ["y", "yh"], name="lstm", hidden_size=4, layout=1)]
    inits = [_init("ratio", np.float32(0.3)), _init("train", np.bool_(True)),
             _init("W", np.zeros((1, 16, 8), np.float32)), _init("R", np.zeros((1, 16, 4), np.float32))]
    model = _model(nodes, [_tensor("x", ["batch", 20, 8])], [_tensor("yh", None)], inits)
    graph = cnnlstm_lint.load_graph(_save(tmp_path, model))
    assert graph.meta["inference_only"] is False
    assert cnnlstm_lint.lint(graph) == []  # judged, and the dropout satisfies it
    model.graph.initializer[1].CopyFrom(_init("train", np.bool_(False)))
    graph = cnnlstm_lint.load_graph(_save(tmp_path, model, "eval.onnx"))
    assert graph.meta["inference_only"] is True


def _bad(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return run_cli(str(path), os.path.join(SAMPLES, "cl005_gap_single_step.keras"))


def test_not_protobuf(tmp_path):
    proc = _bad(tmp_path, "junk.onnx", b"\xff\xfe this is not protobuf" * 10)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.startswith(f"error: {tmp_path}/junk.onnx: not a readable ONNX model")
    assert "CL005" in proc.stdout


def test_truncated(tmp_path):
    data = open(os.path.join(ONNX_DIR, "cl001_spatial_reshape.onnx"), "rb").read()
    proc = _bad(tmp_path, "cut.onnx", data[: len(data) // 2])
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "not a readable ONNX model" in proc.stderr


def test_dangling_input(tmp_path):
    nodes = [helper.make_node("Relu", ["ghost"], ["y"], name="relu")]
    model = _model(nodes, [_tensor("x", [1, 4])], [_tensor("y", None)])
    proc = run_cli(_save(tmp_path, model))
    assert proc.returncode == 2
    assert "node 'relu' reads tensor 'ghost', which no node, input or initializer produces" in proc.stderr


def test_cycle(tmp_path):
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="first"),
             helper.make_node("Relu", ["a"], ["b"], name="second")]
    model = _model(nodes, [_tensor("x", [1, 4])], [_tensor("b", None)])
    proc = run_cli(_save(tmp_path, model))
    assert proc.returncode == 2
    assert "the graph has a cycle through node" in proc.stderr


def test_unknown_domain_is_linted_around(tmp_path):
    model = spatial_reshape_graph()
    custom = helper.make_node("Mystery", ["yh"], ["z"], name="mystery", domain="com.example")
    model.graph.node.append(custom)
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    proc = run_cli("--verbose", _save(tmp_path, model))
    assert proc.returncode == 1 and "CL001" in proc.stdout
    assert "operator 'Mystery' of domain 'com.example' is unknown" in proc.stdout


def test_lstm_without_shape_information_is_skipped_with_a_reason(tmp_path):
    nodes = [helper.make_node("LSTM", ["x", "W", "R"], ["y", "yh"], name="lstm", hidden_size=4)]
    inits = [_init("W", np.zeros((1, 16, 8), np.float32)), _init("R", np.zeros((1, 16, 4), np.float32))]
    model = _model(nodes, [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                   [_tensor("yh", None)], inits)
    proc = run_cli("--verbose", _save(tmp_path, model))
    assert proc.returncode == 0
    assert "CL001 not judged on lstm: its input shape is unknown" in proc.stdout


@pytest.mark.tf
def test_conversion_regenerates_the_same_codes(tmp_path):
    pytest.importorskip("tf2onnx")
    names = ["cl001_spatial_reshape", "cl007_crnn_no_permute", "good_lrcn", "cl001_stacked_sequential"]
    subprocess.run([sys.executable, os.path.join(SAMPLES, "convert_onnx.py"), "--out", str(tmp_path),
                    *names], check=True, capture_output=True, timeout=900)
    for name in names:
        fresh = {c for c, _ in codes_and_layers(str(tmp_path / f"{name}.onnx"))}
        committed = {c for c, _ in codes_and_layers(os.path.join(ONNX_DIR, f"{name}.onnx"))}
        assert fresh == committed, name


# -- the graph is plain data ---------------------------------------------------------

ALL_ONNX = sorted([os.path.join(ONNX_DIR, f) for f in os.listdir(ONNX_DIR) if f.endswith(".onnx")]
                  + [os.path.join(SAMPLES, "torch", f) for f in os.listdir(os.path.join(SAMPLES, "torch"))
                     if f.endswith(".onnx")])


class _NoProtobuf(pickle.Pickler):
    """Pickles as usual and records every object from onnx or protobuf it meets."""

    def __init__(self, file):
        super().__init__(file)
        self.foreign: set[str] = set()

    def persistent_id(self, obj):
        module = type(obj).__module__ or ""
        if module.startswith(("onnx", "google")):
            self.foreign.add(f"{module}.{type(obj).__qualname__}")
        return None


@pytest.mark.parametrize("path", ALL_ONNX, ids=os.path.basename)
def test_an_onnx_graph_pickles_without_protobuf_and_lints_the_same(path):
    """What comes back from the isolated parser child is a pickle: the graph must be plain
    data (Reshape targets as ShapeExprs, not closures over the loader and its protobuf)."""
    from cnnlstm_lint.axes import propagate
    from cnnlstm_lint.engine import lint_graph
    from cnnlstm_lint.loaders.onnx_graph import graph_from_onnx, read_onnx

    raw = graph_from_onnx(read_onnx(path), path)  # before axes: the targets are unevaluated
    pickler = _NoProtobuf(io.BytesIO())
    pickler.dump(raw)
    assert not pickler.foreign
    copy = pickle.loads(pickle.dumps(raw))
    propagate(raw)
    propagate(copy)
    expected = [f.as_dict() for f in lint_graph(raw)]
    assert [f.as_dict() for f in lint_graph(copy)] == expected
    loaded = cnnlstm_lint.load_graph(path)  # annotated, as the engine has it
    again = pickle.loads(pickle.dumps(loaded))
    assert [f.as_dict() for f in lint_graph(again)] == expected
    assert [t.axes for n in again.nodes() for t in n.outputs] == \
        [t.axes for n in loaded.nodes() for t in n.outputs]


def test_an_onnx_graph_comes_back_from_the_isolated_parser():
    from cnnlstm_lint.loaders.isolate import run_isolated

    if not hasattr(os, "fork"):
        pytest.skip("isolation needs fork; elsewhere the parser runs in-process")
    path = os.path.join(SAMPLES, "torch", "spatial_reshape.ts.onnx")
    graph = run_isolated(cnnlstm_lint.load_graph, path)
    assert {f.code for f in cnnlstm_lint.lint(graph)} == {f.code for f in cnnlstm_lint.lint(path)} != set()
