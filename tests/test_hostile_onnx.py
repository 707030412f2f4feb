"""Hostile ONNX (and Keras config) graphs that are small or valid but costly to judge.

Each payload is generated here with onnx.helper. Each once made the linter run for a
minute or more, grow large, or crash turning a huge integer into text:

- thousands of nodes sharing one name (or none): unique node ids made in quadratic time;
- a Reshape target computed by a chain of `Mul`s that square a value: unbounded integers;
  or by a shape computation thousands of ops long;
- thousands of axes of huge size, multiplied by Flatten/Reshape into a size with tens of
  thousands of digits, which Python refuses to print (`axes`, `graph`).

Every case runs the real CLI in a subprocess with bounded time and peak memory
(test_hostile.run_lint), and checks what the graph became.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from test_hostile import _MEASURE, Run, assert_contained, run_lint

onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

from cnnlstm_lint.axes import propagate  # noqa: E402
from cnnlstm_lint.loaders.onnx_graph import graph_from_onnx  # noqa: E402

QUICK_S = 20  # each run takes 1-2 s; before the bounds: 28 s, 56 s, or killed at 60 s
SMALL_RSS = 400 * 2**20  # the CLI and its parser child peak near 130 MiB
MAX_SIZE = 2**62  # a larger axis size, read or computed, is unknown (axes.MAX_SIZE)


def make_model(nodes, inputs, outputs, initializers=()):
    graph = helper.make_graph(nodes, "hostile", inputs, outputs, list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


def save(model, path: Path) -> Path:
    path.write_bytes(model.SerializeToString())
    return path


def value(name, dims, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, dims)


def int64s(name, values):
    return helper.make_tensor(name, TensorProto.INT64, [len(values)], values)


def built(model, tmp_path: Path):
    """The annotated ModelGraph, in-process (after the CLI run has bounded the cost)."""
    graph = graph_from_onnx(model, str(tmp_path / "m.onnx"))
    propagate(graph)
    return graph


def run_cli(*args: str, cwd: Path) -> Run:
    """Any cnnlstm-lint command (run_lint always adds `--format json` for `lint`)."""
    with tempfile.TemporaryDirectory() as scratch:
        rss_file = os.path.join(scratch, "rss")
        start = time.monotonic()
        proc = subprocess.run([sys.executable, "-c", _MEASURE, rss_file,
                               sys.executable, "-m", "cnnlstm_lint", *args],
                              cwd=cwd, capture_output=True, text=True, timeout=120,
                              stdin=subprocess.DEVNULL)
        seconds = time.monotonic() - start
        with open(rss_file) as fh:
            max_rss = int(fh.read()) * 1024
    return Run(proc.returncode, proc.stdout, proc.stderr, seconds, max_rss)


# -- 1. many nodes, one name ----------------------------------------------------------


def named_chain(count: int, name: str):
    """X -> Identity -> Relu -> Identity -> ... `count` nodes, every one called `name`."""
    nodes = [helper.make_node("Relu" if i % 2 else "Identity", [f"t{i}"], [f"t{i + 1}"], name=name)
             for i in range(count)]
    return make_model(nodes, [value("t0", [1, 8])], [value(f"t{count}", [1, 8])])


@pytest.mark.parametrize("name", ["same", ""], ids=["one-name", "no-names"])
def test_20k_nodes_sharing_a_name_lint_in_linear_time(name, tmp_path):
    path = save(named_chain(20_000, name), tmp_path / "chain.onnx")
    run = run_lint(str(path), cwd=tmp_path)
    assert_contained(run, tmp_path, seconds=QUICK_S, rss=SMALL_RSS)  # was 56 s
    assert run.returncode == 0, run.stderr
    assert run.report()["files"][0]["status"] == "ok"


def test_shared_names_keep_their_ids(tmp_path):
    """The first free of name, name~1, name~2, ...: as before, however many share it."""
    nodes = [helper.make_node("Relu", ["x"], ["a0"], name="a"),
             helper.make_node("Relu", ["a0"], ["a1"], name="a~1"),  # takes a suffix's place
             helper.make_node("Relu", ["a1"], ["a2"], name="a"),
             helper.make_node("Relu", ["a2"], ["a3"], name="a"),
             helper.make_node("Relu", ["a3"], ["a4"], name="a~1"),
             helper.make_node("Relu", ["a4"], ["a5"], name="x")]  # the input's name
    model = make_model(nodes, [value("x", [1, 4])], [value("a5", [1, 4])])
    ids = [n.id for n in built(model, tmp_path).nodes()]
    assert ids == ["x", "a", "a~1", "a~2", "a~3", "a~1~1", "x~1"]


# -- 2. shape arithmetic --------------------------------------------------------------


def squaring_reshape(squarings: int, from_shape: bool):
    """X (1, 2, 4) -> Reshape(X, [-1, v]) where v is 2 (read by Shape -> Gather, or a
    Constant) squared `squarings` times: 2**(2**squarings) with unbounded integers."""
    if from_shape:
        head = [helper.make_node("Shape", ["X"], ["s"]),
                helper.make_node("Constant", [], ["i"], value=int64s("i", [1])),
                helper.make_node("Gather", ["s", "i"], ["m0"])]
    else:
        head = [helper.make_node("Constant", [], ["m0"], value=int64s("m0", [2]))]
    muls = [helper.make_node("Mul", [f"m{i}", f"m{i}"], [f"m{i + 1}"]) for i in range(squarings)]
    tail = [helper.make_node("Constant", [], ["minus1"], value=int64s("minus1", [-1])),
            helper.make_node("Concat", ["minus1", f"m{squarings}"], ["target"], axis=0),
            helper.make_node("Reshape", ["X", "target"], ["Y"], name="reshape"),
            helper.make_node("Relu", ["X"], ["Z"], name="relu")]  # the rest stays judged
    return make_model(head + muls + tail, [value("X", [1, 2, 4])],
                      [value("Y", None), value("Z", [1, 2, 4])])


@pytest.mark.parametrize("from_shape", [True, False], ids=["shape-gather", "constant"])
def test_squaring_shape_arithmetic_is_bounded(from_shape, tmp_path):
    model = squaring_reshape(32, from_shape)  # 2**(2**32): gigabytes, hours, before
    path = save(model, tmp_path / "squares.onnx")
    assert path.stat().st_size < 2000
    run = run_lint(str(path), cwd=tmp_path)
    assert_contained(run, tmp_path, seconds=QUICK_S, rss=SMALL_RSS)
    assert run.returncode == 0 and run.report()["files"][0]["status"] == "ok", run.stderr
    graph = built(model, tmp_path)
    reshape = graph.node("reshape")
    assert reshape.outputs[0].axes is None  # an entry beyond 2**62: the target is unknown
    assert any("could not resolve the reshape target" in note for note in reshape.notes)
    assert graph.node("relu").outputs[0].shape == (1, 2, 4)


def test_small_shape_arithmetic_still_resolves(tmp_path):
    """Four squarings give 2**16, within bounds: the reshape is resolved as before."""
    model = squaring_reshape(4, True)
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_value = 2**16
    graph = built(model, tmp_path)
    assert graph.node("reshape").outputs[0].shape == (2, 2**16)


def long_shape_chain(length: int, reshapes: int = 1):
    """Shape(X) -> Identity x `length` -> the target of `reshapes` Reshapes of X."""
    nodes = [helper.make_node("Shape", ["X"], ["s0"])]
    nodes += [helper.make_node("Identity", [f"s{i}"], [f"s{i + 1}"]) for i in range(length)]
    nodes += [helper.make_node("Reshape", ["X", f"s{length}"], [f"Y{r}"], name=f"reshape{r}")
              for r in range(reshapes)]
    return make_model(nodes, [value("X", [1, 2, 4])],
                      [value(f"Y{r}", None) for r in range(reshapes)])


def test_long_shape_computation_is_unknown_not_a_crash(tmp_path):
    """5000 nested shape ops once recursed past Python's limit; and 2000 Reshapes reading
    one 5000-op shape computation walked it 2000 times."""
    model = long_shape_chain(5000, reshapes=2000)
    path = save(model, tmp_path / "long.onnx")
    run = run_lint(str(path), cwd=tmp_path)
    assert_contained(run, tmp_path, seconds=QUICK_S, rss=SMALL_RSS)
    assert run.returncode == 0 and run.report()["files"][0]["status"] == "ok", run.stderr
    assert built(long_shape_chain(5000), tmp_path).node("reshape0").outputs[0].axes is None
    # an exporter-sized computation is still evaluated
    assert built(long_shape_chain(20), tmp_path).node("reshape0").outputs[0].shape == (1, 2, 4)


# -- 3. huge axes ---------------------------------------------------------------------

HUGE_RANK = 2000


def huge_axes_onnx(dim: int):
    """X of 2000 axes of size `dim` -> Flatten, Reshape(X, [1, -1]), Transpose -> LSTM."""
    nodes = [helper.make_node("Flatten", ["X"], ["F"], name="flatten"),
             helper.make_node("Reshape", ["X", "flat"], ["R"], name="reshape"),
             helper.make_node("Shape", ["X"], ["s"]),
             helper.make_node("Reshape", ["X", "s"], ["S"], name="reshape_to_shape"),
             helper.make_node("Transpose", ["F"], ["T"], perm=[1, 0], name="transpose"),
             helper.make_node("Unsqueeze", ["T", "one"], ["U"], name="unsqueeze"),
             helper.make_node("LSTM", ["U", "W", "Rw"], ["Y"], hidden_size=4, name="lstm")]
    inits = [int64s("flat", [1, -1]), int64s("one", [1]),
             helper.make_tensor("W", TensorProto.FLOAT, [1, 16, 1], [0.0] * 16),
             helper.make_tensor("Rw", TensorProto.FLOAT, [1, 16, 4], [0.0] * 64)]
    return make_model(nodes, [value("X", [dim] * HUGE_RANK)],
                      [value(o, None) for o in ("R", "S", "Y")], inits)


def huge_axes_keras(dim: int) -> dict:
    """A Keras config (as model.to_json() writes) with 2000 axes of `dim`, flattened and
    reshaped into an LSTM."""
    from kbuild import dense, flatten, lstm, reshape, sequential

    return sequential([dim] * HUGE_RANK, flatten(), reshape((dim, -1)), lstm(4), dense(2))


def _check_commands(path: Path, tmp_path: Path) -> None:
    run = run_lint(str(path), cwd=tmp_path)
    assert_contained(run, tmp_path, seconds=QUICK_S, rss=SMALL_RSS)
    assert run.returncode in (0, 1) and run.report()["files"][0]["status"] == "ok", run.stderr

    axes = run_cli("axes", str(path), cwd=tmp_path)  # crashed printing a 37,000-digit size
    assert_contained(axes, tmp_path, seconds=QUICK_S, rss=SMALL_RSS)
    assert axes.returncode == 0, axes.stderr
    sizes = [line.split()[1] for line in axes.stdout.splitlines() if line.startswith("    out[")]
    assert sizes and all(s == "None" or int(s) <= MAX_SIZE for s in sizes)

    dot = tmp_path / "out.dot"
    picture = run_cli("graph", str(path), "--format", "dot", "-o", str(dot), cwd=tmp_path)
    assert_contained(picture, tmp_path, seconds=QUICK_S, rss=SMALL_RSS)
    assert picture.returncode in (0, 1), picture.stderr
    assert dot.read_text().lstrip().startswith("digraph")


@pytest.mark.parametrize("dim", [2**62, 2**63 - 1], ids=["2**62", "int64-max"])
def test_huge_onnx_axes(dim, tmp_path):
    model = huge_axes_onnx(dim)
    path = save(model, tmp_path / "huge.onnx")
    _check_commands(path, tmp_path)
    graph = built(model, tmp_path)
    x = graph.tensor(graph.inputs[0]).axes
    assert {a.size for a in x} == ({dim} if dim <= MAX_SIZE else {None})  # read bound
    for name in ("flatten", "reshape", "reshape_to_shape"):  # product bound
        axes = graph.node(name).outputs[0].axes
        assert axes is None or all(a.size is None or a.size <= MAX_SIZE for a in axes)


# 10**31: 32 digits, the longest ints the config reader accepts; 10**18: within the bound
# per axis, so only the products are out of bounds
@pytest.mark.parametrize("dim", [10**31, 10**18], ids=["10**31", "10**18"])
def test_huge_keras_config_axes(dim, tmp_path):
    path = tmp_path / "huge.json"
    path.write_text(json.dumps(huge_axes_keras(dim)))
    _check_commands(path, tmp_path)
