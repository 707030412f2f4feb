"""The ONNX front end reads models with the protobuf messages alone: no `onnx` package
import on the lint path (it costs ~0.7 s), its own decoding of attributes and constants,
and onnx's shape inference only for ops it does not understand."""

import os
import subprocess
import sys

import numpy as np
import onnx
import pytest
from hypothesis import given, settings, strategies as st
from onnx import TensorProto, helper, numpy_helper

import cnnlstm_lint
from cnnlstm_lint.loaders.onnx_proto import attribute_value, tensor_values
from conftest import ROOT, SAMPLES

DTYPES = [np.float32, np.float64, np.int64, np.int32, np.int16, np.int8, np.uint8, np.uint16,
          np.uint32, np.uint64, np.bool_, np.float16]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("raw", [True, False], ids=["raw_data", "typed_field"])
@given(shape=st.lists(st.integers(0, 4), min_size=0, max_size=3), seed=st.integers(0, 2**16))
@settings(max_examples=15, deadline=None)
def test_constants_decode_as_numpy_helper_does(dtype, raw, shape, seed):
    values = np.random.default_rng(seed).integers(-100, 100, size=shape).astype(dtype)
    if raw:
        tensor = numpy_helper.from_array(values, "c")
    else:
        tensor = helper.make_tensor("c", helper.np_dtype_to_tensor_dtype(values.dtype), shape,
                                    values.flatten().tolist(), raw=False)
    expected = numpy_helper.to_array(tensor).tolist()
    if values.size == 0 and len(shape) > 1:
        assert tensor_values(tensor, 4096) is None  # never a shape vector
    else:
        assert tensor_values(tensor, 4096) == expected


def test_bad_or_large_constants_are_unknown_not_errors():
    big = numpy_helper.from_array(np.zeros(5000, np.int64), "big")
    short = TensorProto(name="s", data_type=TensorProto.INT64, dims=[4], raw_data=b"\0" * 7)
    external = numpy_helper.from_array(np.zeros(3, np.int64), "e")
    external.data_location = TensorProto.EXTERNAL
    strings = helper.make_tensor("t", TensorProto.STRING, [1], [b"x"])
    assert [tensor_values(t, 4096) for t in (big, short, external, strings)] == [None] * 4


def test_attributes_decode_as_onnx_helper_does():
    node = helper.make_node("X", [], [], f=1.5, i=3, s="same", ints=[1, -2], floats=[0.5],
                            strings=["a", "b"], t=numpy_helper.from_array(np.ones(2, np.float32)))
    for attr in node.attribute:
        assert attribute_value(attr) == helper.get_attribute_value(attr), attr.name


def test_linting_an_onnx_file_imports_neither_onnx_nor_numpy():
    code = ("import sys\n"
            "from cnnlstm_lint.loaders import load_graph\n"  # in this process, not the child
            f"graph = load_graph({os.path.join(SAMPLES, 'torch', 'spatial_reshape.ts.onnx')!r})\n"
            "import cnnlstm_lint\n"
            "codes = [f.code for f in cnnlstm_lint.lint(graph)]\n"
            "print(codes, sorted(m for m in sys.modules if m.split('.')[0] in ('onnx', 'numpy', 'ml_dtypes')))\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                         timeout=120)
    assert out.stdout.strip() == "['CL001'] []", out.stderr


def test_a_model_read_here_is_an_onnx_model_proto():
    from cnnlstm_lint.loaders.onnx_graph import read_onnx

    model = read_onnx(os.path.join(SAMPLES, "torch", "crnn_width_time.ts.onnx"))
    assert isinstance(model, onnx.ModelProto)
    onnx.checker.check_model(model)


def _pixels_model(pads, pad_opset11=True):
    """NCHW conv -> Pad -> the pooled map's pixels as an LSTM's steps (CL001)."""
    nodes = [helper.make_node("Conv", ["x", "w"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1])]
    inits = [numpy_helper.from_array(np.zeros((4, 1, 3, 3), np.float32), "w"),
             numpy_helper.from_array(np.array([0, 4, -1], np.int64), "shape"),
             numpy_helper.from_array(np.array([0, 2, 1], np.int64), "perm")]
    if pad_opset11:
        inits.append(numpy_helper.from_array(np.array(pads, np.int64), "pads"))
        nodes.append(helper.make_node("Pad", ["c", "pads"], ["p"]))
    else:
        nodes.append(helper.make_node("Pad", ["c"], ["p"], pads=pads))
    nodes += [helper.make_node("Reshape", ["p", "shape"], ["r"]),
              helper.make_node("Transpose", ["r"], ["t"], perm=[0, 2, 1]),
              helper.make_node("LSTM", ["t"], ["y"], hidden_size=8, layout=1)]
    inits.append(numpy_helper.from_array(np.zeros((1, 32, 4), np.float32), "lstm_w"))
    nodes[-1].input.extend(["lstm_w", "lstm_w"])
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                         ["batch", 1, 16, 16])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    opset = 13 if pad_opset11 else 10
    return helper.make_model(graph, producer_name="pytorch",
                             opset_imports=[helper.make_opsetid("", opset)])


@pytest.mark.parametrize("opset11", [True, False], ids=["pads_input", "pads_attribute"])
def test_a_spatial_pad_keeps_the_rows_and_columns_it_pads(opset11):
    model = _pixels_model([0, 0, 1, 2, 0, 0, 1, 2], opset11)
    graph = cnnlstm_lint.to_graph(model)
    pad = next(n for n in graph.nodes() if n.op == "Pad")
    assert pad.kind == "resize"
    assert [(a.role, a.size) for a in pad.outputs[0].axes] == [
        ("batch", None), ("channel", 4), ("spatial", 18), ("spatial", 20)]
    assert [f.code for f in cnnlstm_lint.lint(model)] == ["CL001"]  # 360 pixel steps


def test_a_pad_of_the_batch_or_channels_is_not_followed():
    batch = next(n for n in cnnlstm_lint.to_graph(_pixels_model([1, 0, 0, 0, 0, 0, 0, 0])).nodes()
                 if n.op == "Pad")
    assert batch.kind == "opaque"
    assert {a.role for a in batch.outputs[0].axes} == {"unknown"}  # what it holds is unknown
    channels = next(n for n in cnnlstm_lint.to_graph(_pixels_model([0, 1, 0, 0, 0, 1, 0, 0])).nodes()
                    if n.op == "Pad")
    assert channels.outputs[0].axes is None
    assert "pads an axis that is not spatial or time" in " ".join(channels.notes)


def test_an_unknown_op_still_gets_its_shape_from_onnx_shape_inference():
    """TopK is not understood: its output shape comes from onnx's inference, run only then."""
    graph = cnnlstm_lint.load_graph(os.path.join(SAMPLES, "keras_forms", "onnx", "ops_unknown_op.onnx"))
    topk = next(n for n in graph.nodes() if n.op == "TopK")
    assert topk.kind == "opaque" and topk.outputs[0].recorded is not None
