"""Shape expressions (cnnlstm_lint.shape_expr): run-time Reshape targets as plain data.

The evaluator on hand-made expressions and axes first, then what the ONNX loader compiles
from Shape -> Gather -> Mul -> Concat subgraphs, and the bounds that keep both linear.
"""

from __future__ import annotations

import pickle

import pytest

from cnnlstm_lint.axes import new_axis, propagate, reshape
from cnnlstm_lint.axis_types import MAX_EXACT, Sym
from cnnlstm_lint.shape_expr import MAX_SHAPE_RANK, UNKNOWN, ShapeExpr, const_step, evaluate

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from cnnlstm_lint.loaders.onnx_graph import MAX_SHAPE_DEPTH, _OnnxBuilder, graph_from_onnx  # noqa: E402


def nhwc(n=None, h=15, w=15, c=8):
    """A (N, H, W, C) feature map; None sizes are dynamic."""
    return tuple(new_axis("pool", i, role, size, label) for i, (role, size, label) in enumerate(
        [("batch", n, "N"), ("spatial", h, "H"), ("spatial", w, "W"), ("channel", c, "C")]))


# [N, H*W, C] the way PyTorch exports x.reshape(x.size(0), -1, x.size(3)) spelled out:
# Shape -> Gather(0), Gather(1) * Gather(2), Gather(3) -> Concat
N_HW_C = ShapeExpr((
    ("shape", 1, 0, None),   # 0: Shape of aux input 1
    ("const", (0,)),         # 1
    ("gather", 0, 1),        # 2: [N]
    ("const", (1,)),         # 3
    ("gather", 0, 3),        # 4: [H]
    ("const", (2,)),         # 5
    ("gather", 0, 5),        # 6: [W]
    ("mul", 4, 6),           # 7: [H*W]
    ("const", (3,)),         # 8
    ("gather", 0, 8),        # 9: [C]
    ("concat", (2, 7, 9)),   # 10: [N, H*W, C]
))


# -- the evaluator ----------------------------------------------------------------------


def test_symbolic_batch_shape_gather_mul_concat_resolves_to_n_hw_c():
    x = nhwc()
    target = evaluate(N_HW_C, {0: x, 1: x})
    assert [str(v) for v in target] == ["N", "225", "8"]
    assert target[0] == Sym(1, (x[0].parts[0][0],))  # the batch, as a symbol
    out = reshape(x, target)
    assert [a.size for a in out] == [None, 225, 8]
    assert [a.role for a in out] == ["batch", "spatial", "channel"]
    assert {s.label for s in out[1].origin} == {"H", "W"}  # the time steps are pixels


def test_dynamic_spatial_dims_multiply_as_symbols():
    x = nhwc(h=None, w=None)
    target = evaluate(N_HW_C, {0: x, 1: x})
    assert str(target[1]) == "H·W" and target[2] == 8
    assert {s.label for s in reshape(x, target)[1].origin} == {"H", "W"}


def test_an_unsupported_op_gives_an_unknown_target():
    x = nhwc()
    expr = ShapeExpr((("shape", 1, 0, None), UNKNOWN, ("concat", (0, 1))))
    assert evaluate(expr, {0: x, 1: x}) is None
    assert evaluate(ShapeExpr((UNKNOWN,)), {0: x}) is None
    assert evaluate(ShapeExpr((("frobnicate", 0),)), {0: x}) is None  # a step it does not know


def test_an_input_of_unknown_shape_gives_an_unknown_target():
    assert evaluate(N_HW_C, {0: nhwc(), 1: None}) is None


def test_zero_copies_the_input_dimension_unless_allowzero():
    x = nhwc(n=2)
    assert evaluate(ShapeExpr((("const", (0, -1)),)), {0: x}) == [2, -1]
    assert evaluate(ShapeExpr((("const", (0, -1)),), allowzero=True), {0: x}) == [0, -1]
    assert evaluate(ShapeExpr((("const", (0, 0, 0, 0, 0)),)), {0: x}) is None  # past its rank


def test_flatten_step():
    x = nhwc()
    assert [str(v) for v in evaluate(ShapeExpr((("flatten", 1),), True), {0: x})] == ["N", "1800"]
    assert evaluate(ShapeExpr((("flatten", 3),), True), {0: x}) == [Sym(225, (x[0].parts[0][0],)), 8]


def test_slice_and_broadcast_arithmetic():
    x = nhwc(n=4)
    expr = ShapeExpr((
        ("shape", 0, 0, None),                 # 0: [4, 15, 15, 8]
        ("const", (1,)), ("const", (3,)),      # 1, 2
        ("slice", 0, 1, 2, None),              # 3: [15, 15]
        ("const", (2,)),                       # 4
        ("mul", 3, 4),                         # 5: [30, 30], the 2 broadcast
        ("const", (-1,)),                      # 6
        ("concat", (6, 5)),                    # 7: [-1, 30, 30]
    ))
    assert evaluate(expr, {0: x}) == [-1, 30, 30]


def test_expand_shape_as_the_torchscript_exporter_computes_it():
    """x.expand(-1, 7, -1): ones = ConstantOfShape([3]); Where(Equal(shape, -ones), ones,
    shape) turns each -1 ("keep") into 1, which broadcasting keeps."""
    expr = ShapeExpr((
        ("const", (3,)),                       # 0
        ("fill", 0, 1),                        # 1: [1, 1, 1]
        ("const", (-1,)),                      # 2
        ("mul", 1, 2),                         # 3: [-1, -1, -1]
        ("const", (-1, 7, -1)),                # 4
        ("equal", 4, 3),                       # 5: [1, 0, 1]
        ("where", 5, 1, 4),                    # 6: [1, 7, 1]
    ), allowzero=True)
    assert evaluate(expr, {0: nhwc()}) == [1, 7, 1]
    # a run-time dimension is never -1; whether it equals 7 is not known
    x = nhwc()
    dims = (("shape", 0, 0, 1), ("const", (-1,)), ("const", (7,)))
    assert evaluate(ShapeExpr(dims + (("equal", 0, 1),), True), {0: x}) == [0]
    assert evaluate(ShapeExpr(dims + (("equal", 0, 2),), True), {0: x}) is None
    for bad in (("fill", 1, 1), ("fill", 2, 0)):  # a negative length, a length not one entry
        assert evaluate(ShapeExpr((("const", (-1, 2)),) + dims[1:] + (bad,)), {0: x}) is None
    assert evaluate(ShapeExpr((("const", (MAX_SHAPE_RANK + 1,)), ("fill", 0, 1))), {0: x}) is None


@pytest.mark.parametrize("step", [
    ("div", 0, 1),     # by zero
    ("gather", 0, 2),  # a symbolic index
    ("gather", 0, 3),  # out of range
    ("sub", 0, 2),     # a sum of run-time dims is not a product
], ids=["div-by-zero", "symbolic-index", "index-out-of-range", "symbolic-sum"])
def test_bad_arithmetic_is_unknown_not_an_error(step):
    x = nhwc()
    head = (("const", (7,)), ("const", (0,)), ("shape", 0, 0, 1), ("const", (9,)))
    assert evaluate(ShapeExpr(head + (step,)), {0: x}) is None


def test_values_are_bounded():
    assert const_step(range(MAX_SHAPE_RANK)) == ("const", tuple(range(MAX_SHAPE_RANK)))
    assert const_step(range(MAX_SHAPE_RANK + 1)) == UNKNOWN  # never stored on the graph
    assert const_step([MAX_EXACT + 1]) == UNKNOWN
    x = nhwc()
    huge = ShapeExpr((("const", (MAX_EXACT,)), ("const", (2,)), ("mul", 0, 1)))
    assert evaluate(huge, {0: x}) is None
    wide = tuple(new_axis("x", i, "feature", 1, "F") for i in range(MAX_SHAPE_RANK + 1))
    assert evaluate(ShapeExpr((("shape", 0, 0, None),)), {0: wide}) is None


def test_an_expression_is_plain_data():
    assert pickle.loads(pickle.dumps(N_HW_C)) == N_HW_C
    x = nhwc()
    assert evaluate(pickle.loads(pickle.dumps(N_HW_C)), {0: x, 1: x}) == evaluate(N_HW_C, {0: x, 1: x})


# -- what the ONNX loader compiles --------------------------------------------------------


def value(name, dims):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, dims)


def ints(name, values):
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def model_of(nodes, inits=(), x_dims=("batch", 8, 15, 15)):
    graph = helper.make_graph(nodes, "g", [value("x", list(x_dims))], [value("r", None)], list(inits))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def spatial_reshape(shape_ops=None):
    """x (N, C, H, W) -> Transpose to (N, H, W, C) -> Reshape to [N, H*W, C], the target
    computed from Shape(x) (or by `shape_ops`, which make the tensor "target")."""
    nodes = [helper.make_node("Transpose", ["x"], ["t"], name="transpose", perm=[0, 2, 3, 1])]
    nodes += shape_ops or [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
        helper.make_node("Gather", ["s", "i1"], ["c"], axis=0),
        helper.make_node("Gather", ["s", "i2"], ["h"], axis=0),
        helper.make_node("Gather", ["s", "i3"], ["w"], axis=0),
        helper.make_node("Mul", ["h", "w"], ["hw"]),
        helper.make_node("Cast", ["hw"], ["hw64"], to=TensorProto.INT64),
        helper.make_node("Concat", ["n", "hw64", "c"], ["target"], axis=0),
    ]
    nodes.append(helper.make_node("Reshape", ["t", "target"], ["r"], name="reshape"))
    inits = [ints(f"i{k}", [k]) for k in range(4)]
    return model_of(nodes, inits)


def built(model):
    graph = graph_from_onnx(model, "m.onnx")
    propagate(graph)
    return graph


def test_loader_stores_the_shape_subgraph_as_an_expression():
    graph = graph_from_onnx(spatial_reshape(), "m.onnx")
    target = graph.node("reshape").attrs["target"]
    assert isinstance(target, ShapeExpr)
    assert target == ShapeExpr((
        ("shape", 1, 0, None),  # x: the Reshape's aux input 1, so it is annotated first
        ("const", (0,)), ("gather", 0, 1),   # n
        ("const", (2,)), ("gather", 0, 3),   # h
        ("const", (3,)), ("gather", 0, 5),   # w
        ("mul", 4, 6),                       # h * w, and Cast is its input's value: no step
        ("const", (1,)), ("gather", 0, 8),   # c
        ("concat", (2, 7, 9)),
    ))
    assert graph.input_edges("reshape", aux=True)[1] == ("x", 0, 1)
    propagate(graph)
    assert [str(v) for v in graph.node("reshape").attrs["resolved_target"]] == ["N", "225", "8"]
    axes = graph.tensor("reshape").axes
    assert [a.role for a in axes] == ["batch", "spatial", "channel"]


def test_loader_unsupported_shape_op_gives_an_unknown_target():
    """Range is not modelled: the Reshape's shape is unknown, with a reason, and nothing fails."""
    ops = [helper.make_node("Range", ["i0", "i3", "i1"], ["rng"]),
           helper.make_node("Concat", ["rng", "i1"], ["target"], axis=0)]
    graph = built(spatial_reshape(ops))
    assert UNKNOWN in graph.node("reshape").attrs["target"].steps
    assert graph.tensor("reshape").axes is None
    assert any("could not resolve the reshape target" in n for n in graph.node("reshape").notes)
    assert graph.tensor("transpose").shape == (None, 15, 15, 8)


def test_a_shared_subcomputation_is_compiled_once():
    """m_{k+1} = m_k * m_k, 40 deep: a tree walk would visit 2**40 tensors."""
    ops = [helper.make_node("Identity", ["i1"], ["m0"])]
    ops += [helper.make_node("Mul", [f"m{k}", f"m{k}"], [f"m{k + 1}"]) for k in range(40)]
    ops += [helper.make_node("Shape", ["x"], ["s"]),
            helper.make_node("Gather", ["s", "i0"], ["n"], axis=0),
            helper.make_node("Constant", [], ["minus1"], value=ints("minus1", [-1])),
            helper.make_node("Concat", ["n", "minus1", "m40"], ["target"], axis=0)]
    graph = built(spatial_reshape(ops))
    assert len(graph.node("reshape").attrs["target"].steps) <= 48
    assert graph.tensor("reshape").shape == (None, 1800, 1)


@pytest.mark.parametrize("depth", [MAX_SHAPE_DEPTH - 2, MAX_SHAPE_DEPTH + 1])
def test_nesting_beyond_the_depth_bound_is_unknown(depth):
    ops = [helper.make_node("Shape", ["x"], ["s0"])]
    ops += [helper.make_node("Identity", [f"s{k}"], [f"s{k + 1}"]) for k in range(depth)]
    ops += [helper.make_node("Identity", [f"s{depth}"], ["target"])]
    graph = built(spatial_reshape(ops))  # a Reshape to its own (transposed) input's shape
    resolved = graph.tensor("reshape").shape
    assert resolved == ((None, 8, 15, 15) if depth < MAX_SHAPE_DEPTH else None)


def test_names_reused_in_a_loop_do_not_hang_the_compiler():
    """Two Identity nodes writing each other's input: shape values in a cycle."""
    builder = _OnnxBuilder(spatial_reshape(), "m.onnx")
    builder.shape_nodes = {"a": helper.make_node("Identity", ["b"], ["a"]),
                           "b": helper.make_node("Identity", ["a"], ["b"])}
    assert builder._shape_expr("a", {}, False) == ShapeExpr((UNKNOWN,))
