"""Issue 11: one model, one verdict. Every model that exists in more than one format
(.keras, .h5, .json, its tf2onnx conversion, its two PyTorch exports) must get the same
codes on the same layer in each.

Files are grouped by name: everything before the first dot of the file name, anywhere
under sample_models/ and benchmarks/held_out/. A layer is matched across formats by the
name the exporter keeps: Keras files name the layer (one inside a TimeDistributed or a
nested model as `outer/inner`, matched by either name); tf2onnx keeps it as a scope component of the ONNX node or of the tensors it reads and
writes (`model_1/lstm_1/transpose:0`, with Keras's `_N` call suffix); PyTorch keeps the
module path (`/lstm/LSTM`, `node_lstm__2`).

A rule that says it could not judge a file (CL006 on an inference-only export, which has
no dropout left to see) is left out of that comparison; the exceptions below are the only
other differences allowed, each with its reason.
"""

import os
import re
from collections import defaultdict

import pytest

from conftest import ROOT, SAMPLES

pytest.importorskip("onnx", reason="the ONNX members of each group need the onnx package")

import onnx  # noqa: E402

import cnnlstm_lint  # noqa: E402

FOLDERS = [SAMPLES, os.path.join(ROOT, "benchmarks", "held_out")]
SUFFIXES = (".keras", ".h5", ".json", ".onnx")

# group -> {file: why its codes may differ from the rest of the group}
EXCEPTIONS: dict[str, set[str]] = {}

# (file, layer) -> the layer the same op is named for in the other formats
RENAMED = {
    # tf2onnx merges the Reshape that folds the clip's time into its batch with the
    # NHWC->NCHW Transpose of the Conv after it, and names the one Reshape it keeps for
    # the conv: the finding is on the same op, under the conv's name.
    ("cl003_reshape_clip.onnx", "conv2d"): "reshape",
    # a keras.ops.softmax op layer makes no name scope in tf2onnx: its Softmax node is
    # named for the op only
    ("k_ops_softmax_batch.onnx", "Softmax"): "softmax",
}


def model_files():
    for folder in FOLDERS:
        for dirpath, _, names in os.walk(folder):
            for name in names:
                if name.endswith(SUFFIXES) and not name.startswith("_"):
                    yield os.path.join(dirpath, name)


def groups() -> dict[str, list[str]]:
    by_name = defaultdict(list)
    for path in model_files():
        by_name[os.path.basename(path).split(".")[0]].append(path)
    return {name: sorted(paths) for name, paths in sorted(by_name.items()) if len(paths) > 1}


GROUPS = groups()


def scopes(text: str) -> set[str]:
    """Layer names a tensor or node name carries: its path components, without the
    `:0` output index and Keras's `_1` call suffix."""
    parts = re.split(r"[/.]", text.split(":")[0])
    names = set()
    for part in parts:
        part = re.sub(r"^node_", "", part)
        part = re.sub(r"__\d+$", "", part)
        names |= {part, re.sub(r"_\d+$", "", part)}
    return names - {""}


def onnx_names(path: str) -> dict[str, set[str]]:
    """ONNX node name -> the layer names it and its tensors carry."""
    model = onnx.load(path, load_external_data=False)
    names = {}
    for node in model.graph.node:
        carried = set()
        for text in (node.name, *node.input, *node.output):
            carried |= scopes(text)
        names[node.name] = carried
    return names


def layer_names(path: str, node: str, cache: dict) -> set[str]:
    if not path.endswith(".onnx"):  # the layer, its own name, its top-level layer
        return {node, node.split("/")[-1], node.split("/")[0]}
    if path not in cache:
        cache[path] = onnx_names(path)
    names = cache[path].get(node, scopes(node))
    file = os.path.basename(path)
    return names | {new for (f, old), new in RENAMED.items() if f == file and old in names}


def verdict(path: str):
    found = cnnlstm_lint.lint(path)
    unjudged = {s.split()[0] for s in found.skipped}
    return {(f.code, f.node) for f in found}, unjudged


def test_there_are_models_in_several_formats():
    kinds = {os.path.basename(p).split(".", 1)[1] for paths in GROUPS.values() for p in paths}
    assert {"keras", "h5", "onnx", "ts.onnx", "dynamo.onnx"} <= kinds
    assert len(GROUPS) >= 40


@pytest.mark.parametrize("name", sorted(GROUPS))
def test_every_format_of_a_model_gets_the_same_codes_on_the_same_layer(name):
    allowed = EXCEPTIONS.get(name, set())
    results = {p: verdict(p) for p in GROUPS[name] if os.path.basename(p) not in allowed}
    unjudged = set().union(*(u for _, u in results.values()))
    codes = {p: sorted({c for c, _ in found if c not in unjudged})
             for p, (found, _) in results.items()}
    assert len({tuple(c) for c in codes.values()}) == 1, codes

    # the same layer: each finding of one file has a finding with that code on a layer
    # of the same name in every other file of the group
    cache: dict = {}
    for path, (found, _) in results.items():
        for other, (other_found, _) in results.items():
            for code, node in found:
                if code in unjudged:
                    continue
                mine = layer_names(path, node, cache)
                theirs = [layer_names(other, n, cache) for c, n in other_found if c == code]
                assert any(mine & t for t in theirs), (
                    f"{code} on {node!r} in {os.path.basename(path)} has no match in "
                    f"{os.path.basename(other)}: {sorted(other_found)}")


def test_each_exception_still_differs():
    """An exception that no longer differs is stale: remove it."""
    for name, allowed in EXCEPTIONS.items():
        results = {os.path.basename(p): {c for c, _ in verdict(p)[0]} for p in GROUPS[name]}
        rest = [codes for file, codes in results.items() if file not in allowed]
        for file in allowed:
            assert all(results[file] != codes for codes in rest), name
