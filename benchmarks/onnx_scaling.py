"""Lint time and peak memory of generated ONNX graphs of 1k to 50k nodes.

    python benchmarks/onnx_scaling.py [--sizes 1000 5000 20000 50000]

Each graph is a realistic stack: conv blocks (Conv, BatchNormalization, Relu, residual
Add), and every few blocks a recurrent side branch as PyTorch exports it (Transpose,
Shape/Gather/Mul/Concat computing a Reshape target with a symbolic batch, LSTM,
Squeeze) whose output is a graph output. Every size is linted in a fresh process.
Budget: linear — 50k nodes within 10× the 5k time, and <= 3 s on a 2-core machine.
The time is that of `cnnlstm-lint FILE` as a user runs it (the parse in its isolated
child included); peak memory is the larger of the process and its child.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np


def build(n_nodes: int):
    from onnx import TensorProto, helper, numpy_helper

    c, hw = 8, 8
    nodes, inits, outputs = [], [], []

    def init(name, array):
        inits.append(numpy_helper.from_array(np.asarray(array), name))

    init("w", np.zeros((c, c, 3, 3), np.float32))
    for name in ("scale", "bias", "mean", "var"):
        init(name, np.ones(c, np.float32))
    for i in range(4):
        init(f"i{i}", np.int64(i))
    init("ax0", np.array([0], np.int64))
    init("W", np.zeros((1, 64, c), np.float32))
    init("R", np.zeros((1, 64, 16), np.float32))
    x, block = "x", 0
    while len(nodes) < n_nodes:
        p = f"b{block}_"
        nodes += [
            helper.make_node("Conv", [x, "w"], [p + "c"], name=p + "conv", kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
            helper.make_node("BatchNormalization", [p + "c", "scale", "bias", "mean", "var"], [p + "bn"], name=p + "bn"),
            helper.make_node("Relu", [p + "bn"], [p + "r"], name=p + "relu"),
            helper.make_node("Add", [p + "r", x], [p + "out"], name=p + "add"),
        ]
        if block % 4 == 3:  # a recurrent branch reading the map row by row (clean)
            nodes += [
                helper.make_node("Transpose", [p + "out"], [p + "t"], name=p + "transpose", perm=[0, 2, 1, 3]),
                helper.make_node("Shape", [p + "t"], [p + "s"], name=p + "shape"),
                helper.make_node("Gather", [p + "s", "i0"], [p + "n"], name=p + "gather_n", axis=0),
                helper.make_node("Gather", [p + "s", "i2"], [p + "ch"], name=p + "gather_c", axis=0),
                helper.make_node("Gather", [p + "s", "i3"], [p + "w"], name=p + "gather_w", axis=0),
                helper.make_node("Mul", [p + "ch", p + "w"], [p + "cw"], name=p + "mul"),
                helper.make_node("Unsqueeze", [p + "n", "ax0"], [p + "n1"], name=p + "unsq_n"),
                helper.make_node("Unsqueeze", [p + "cw", "ax0"], [p + "cw1"], name=p + "unsq_cw"),
                helper.make_node("Concat", [p + "n1", "i_h", p + "cw1"], [p + "target"], name=p + "concat", axis=0),
                helper.make_node("Reshape", [p + "t", p + "target"], [p + "seq"], name=p + "reshape"),
                helper.make_node("LSTM", [p + "seq", "W", "R"], [p + "y", p + "yh"], name=p + "lstm",
                                 hidden_size=16, layout=1),
                helper.make_node("Squeeze", [p + "yh", "ax0"], [p + "h"], name=p + "squeeze"),
            ]
            outputs.append(helper.make_tensor_value_info(p + "h", TensorProto.FLOAT, None))
        x, block = p + "out", block + 1
    init("i_h", np.array([hw], np.int64))
    outputs.append(helper.make_tensor_value_info(x, TensorProto.FLOAT, None))
    graph = helper.make_graph(nodes, "scaling", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, ["batch", c, hw, hw])], outputs, initializer=inits)
    return helper.make_model(graph, producer_name="pytorch",
                             opset_imports=[helper.make_opsetid("", 17)]), len(nodes)


MEASURE = """
import contextlib, io, json, resource, sys, time
t0 = time.perf_counter()
from cnnlstm_lint.cli import main
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        main([sys.argv[1], "--format", "json", "--isolated"])
    except SystemExit:
        pass
wall = time.perf_counter() - t0
report = json.loads(out.getvalue())
peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(json.dumps({"wall": wall, "findings": report["summary"]["findings"],
                  "status": report["files"][0]["status"], "peak_mib": peak / 1024}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 5000, 20000, 50000])
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.sizes:
            model, count = build(size)
            path = os.path.join(tmp, f"g{size}.onnx")
            with open(path, "wb") as fh:
                fh.write(model.SerializeToString())
            proc = subprocess.run([sys.executable, "-c", MEASURE, path], capture_output=True, text=True)
            if proc.returncode:
                print(f"{size}: failed: {proc.stderr.strip().splitlines()[-1:]}")
                continue
            rows.append((count, os.path.getsize(path), json.loads(proc.stdout)))
    print(f"{'nodes':>7} {'file KiB':>9} {'lint s':>8} {'peak MiB':>9} {'status':>7} {'findings':>9}")
    for count, size, r in rows:
        print(f"{count:>7} {size / 1024:>9.0f} {r['wall']:>8.2f} {r['peak_mib']:>9.0f} "
              f"{r['status']:>7} {r['findings']:>9}")
    by = {count: r["wall"] for count, _, r in rows}
    small = min(by, key=lambda c: abs(c - 5000)) if by else None
    large = max(by) if by else None
    if small and large and large != small:
        ratio = by[large] / by[small]
        print(f"scaling: {large} nodes take {ratio:.1f}× the time of {small} "
              f"({large / small:.0f}× the nodes); budget <= 10× and <= 3 s -> "
              f"{'within' if ratio <= 10 and by[large] <= 3 else 'OVER'} budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
