"""Property-based fuzzing: mutated models must lint or fail cleanly, never crash.

Every example is a valid sample model with random damage: structural mutations of a
`.keras` config (keys deleted, values of the wrong type, list items duplicated or
shuffled, class names, shapes and integers changed), byte-level mutations of a `.keras`
zip, an HDF5 model and an ONNX model, and structural mutations of an ONNX graph (nodes
dropped, inputs rewired, attributes and dims changed). Each is linted in-process with
`engine.lint_file`, the function the CLI runs per file, and must come back as a
FileResult with status "ok" or "error" in bounded time, where an error is a real reason
and never the safety net's "internal error (...)" (a traceback in disguise).

The number of examples per test comes from FUZZ_EXAMPLES (default 100, so that CI runs a
few hundred in all); run thousands with

    FUZZ_EXAMPLES=3000 pytest -m fuzz tests/test_fuzz.py

Runs are derandomized (the same examples every time) and keep no example database, so
a CI failure reproduces locally; a failure prints the mutated file's path and the
mutations that made it. Internal errors already reported are listed in
KNOWN_INTERNAL_ERRORS, each with an xfail(strict) reproduction at the end of the module.
"""

from __future__ import annotations

import copy
import io
import json
import os
import re
import signal
import zipfile
from datetime import timedelta

import pytest

hypothesis = pytest.importorskip("hypothesis")
onnx = pytest.importorskip("onnx")

from hypothesis import HealthCheck, event, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from onnx import AttributeProto  # noqa: E402

from conftest import SAMPLES  # noqa: E402
from cnnlstm_lint.engine import FileResult, Settings, lint_file  # noqa: E402
from cnnlstm_lint.files import Target  # noqa: E402

pytestmark = pytest.mark.fuzz

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
DEADLINE_S = 20  # per example; the slowest sample lints in well under a second
HARD_STOP_S = 90  # an example that hangs in-process is stopped (and fails) after this

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=timedelta(seconds=DEADLINE_S),
    derandomize=True,
    database=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.large_base_example],
)

KERAS = os.path.join(SAMPLES, "cl001_spatial_reshape.keras")
H5 = os.path.join(SAMPLES, "good_lrcn.h5")
ONNX = os.path.join(SAMPLES, "torch", "spatial_reshape.ts.onnx")


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


with zipfile.ZipFile(KERAS) as _zf:
    KERAS_MEMBERS = {name: _zf.read(name) for name in _zf.namelist()}
KERAS_CONFIG = json.loads(KERAS_MEMBERS["config.json"])
KERAS_BYTES, H5_BYTES, ONNX_BYTES = _read(KERAS), _read(H5), _read(ONNX)


# Internal errors the fuzzers found that are not yet fixed, each with an xfail(strict)
# reproduction at the end of this module; the fuzz tests let them through (as a hypothesis
# event) so that they keep looking for new ones. None is open: the reproductions of the
# ones found so far are regression tests below.
KNOWN_INTERNAL_ERRORS: dict[str, str] = {}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("fuzz")


class Hang(BaseException):
    """Raised by the alarm: not an Exception, so lint_file's safety net cannot eat it."""


def _on_alarm(signum, frame):
    raise Hang(f"lint_file ran over {HARD_STOP_S} s")


def check(path: str, how: object) -> None:
    """Lint one mutated file; `how` (the mutations) is shown when the check fails."""
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(HARD_STOP_S)
    try:
        result = lint_file(Target(str(path), True), Settings())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    context = f"{path} after {how!r}"
    assert isinstance(result, FileResult), context
    assert result.status in ("ok", "error"), context
    if result.status == "error":
        known = [bug for text, bug in KNOWN_INTERNAL_ERRORS.items() if text in result.error]
        if result.error.startswith("internal error") and known:
            event(f"known bug: {known[0]}")
            return
        assert result.error and not result.error.startswith("internal error"), \
            f"{context}: {result.error}"
        assert "\n" not in result.error.strip(), f"{context}: {result.error}"
    else:
        assert result.error is None, context


def _zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


# -- (a) structural mutations of a .keras config ---------------------------------------

JSON_LEAF = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
             | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=12))
JSON_VALUE = st.recursive(JSON_LEAF, lambda kids: st.lists(kids, max_size=4)
                          | st.dictionaries(st.text(max_size=8), kids, max_size=4),
                          max_leaves=12)
SMALL_INT = st.sampled_from([0, 1, -1, 2, 3, 7, 8, 15, 16, 225, -225, 2**31, 2**63, 10**31])
NUMBER = SMALL_INT | st.sampled_from([float("inf"), float("-inf"), float("nan"), 1e300, -0.0,
                                      2.5, True]) | st.floats(allow_nan=True, allow_infinity=True)
SHAPE = st.lists(st.one_of(NUMBER, st.none(), st.integers(-4, 300)), max_size=6)
CLASS_NAMES = st.sampled_from([
    "Conv2D", "Conv1D", "Conv3D", "ConvLSTM2D", "MaxPooling2D", "GlobalAveragePooling2D",
    "Reshape", "Permute", "Flatten", "Dense", "LSTM", "GRU", "Bidirectional",
    "TimeDistributed", "RNN", "LSTMCell", "InputLayer", "Lambda", "Concatenate", "Add",
    "Dropout", "ZeroPadding2D", "Cropping2D", "UpSampling2D", "Sequential", "Functional",
    "Model", "TFSMLayer", "__lambda__", "__keras_tensor__", "function", "Unknown", "",
])
KEYS = st.sampled_from(["class_name", "config", "layers", "layer", "cell", "inbound_nodes",
                        "keras_history", "target_shape", "dims", "batch_shape",
                        "batch_input_shape", "kernel_size", "strides", "pool_size", "units",
                        "return_sequences", "input_layers", "output_layers", "module",
                        "build_config", "input_shape", "padding", "data_format", "axis",
                        "function_type", "name"])
INTERESTING = set(KEYS.elements) | {"args", "kwargs", "shape", "filters", "dilation_rate",
                                    "size", "cropping", "rate", "n", "merge_mode", "keepdims",
                                    "return_state", "time_major", "dropout", "output_dim"}


def _interesting(path) -> bool:
    """Paths the loader reads (a key it knows among the last two steps), as opposed to
    the initializer and dtype subtrees that make up most of a config."""
    return any(step in INTERESTING for step in path[-2:])


def _paths(value, prefix=()):
    """Every (container path, key) in a JSON tree, in a fixed order."""
    out = []
    if isinstance(value, dict):
        for key in value:
            out.append(prefix + (key,))
            out += _paths(value[key], prefix + (key,))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            out.append(prefix + (i,))
            out += _paths(item, prefix + (i,))
    return out


def _parent(doc, path):
    for step in path[:-1]:
        doc = doc[step]
    return doc


def _mutate_json(data, doc) -> list:
    """Apply 1-6 random structural mutations to `doc` in place; return what was done."""
    done = []
    for _ in range(data.draw(st.integers(1, 6), label="mutations")):
        paths = _paths(doc)
        if not paths:
            break
        useful = [p for p in paths if _interesting(p)] or paths
        path = data.draw(st.sampled_from(useful) | st.sampled_from(paths), label="path")
        parent, key = _parent(doc, path), path[-1]
        value = parent[key]
        op = data.draw(st.sampled_from(["delete", "replace", "duplicate", "shuffle",
                                        "class_name", "shape", "int", "rename", "add_key"]),
                       label="op")
        if op == "delete":
            del parent[key]
        elif op == "replace":
            parent[key] = data.draw(JSON_VALUE, label="value")
        elif op == "duplicate" and isinstance(value, list) and value:
            i = data.draw(st.integers(0, len(value) - 1), label="item")
            value.insert(data.draw(st.integers(0, len(value)), label="at"), copy.deepcopy(value[i]))
        elif op == "shuffle" and isinstance(value, list) and len(value) > 1:
            order = data.draw(st.permutations(range(len(value))), label="order")
            value[:] = [value[i] for i in order]
        elif op == "class_name" and isinstance(value, dict):
            value["class_name"] = data.draw(CLASS_NAMES, label="class_name")
        elif op == "shape":
            parent[key] = data.draw(SHAPE, label="shape")
        elif op == "int" and isinstance(value, (int, float)) and not isinstance(value, bool):
            parent[key] = data.draw(NUMBER, label="number")
        elif op == "rename" and isinstance(value, str):
            parent[key] = data.draw(st.sampled_from(["input_layer", "conv2d", "lstm", "reshape",
                                                     "max_pooling2d", "ghost", ""]), label="name")
        elif op == "add_key" and isinstance(value, dict):
            value[data.draw(KEYS, label="key")] = data.draw(JSON_VALUE | SHAPE, label="value")
        else:
            continue
        done.append((op, path))
    return done


@FUZZ
@given(data=st.data())
def test_keras_config_structure(workdir, data):
    doc = copy.deepcopy(KERAS_CONFIG)
    done = _mutate_json(data, doc)
    path = workdir / "structure.keras"
    path.write_bytes(_zip_bytes({**KERAS_MEMBERS, "config.json": json.dumps(doc)}))
    check(path, done)


# -- (b) byte-level mutations -----------------------------------------------------------


def _mutate_bytes(data, blob: bytes) -> tuple[bytes, list]:
    """1-8 flips, inserts, deletes and overwrites; positions favour the first and last
    kilobyte, where headers, superblocks and central directories live."""
    buf = bytearray(blob)
    done = []
    for _ in range(data.draw(st.integers(1, 8), label="mutations")):
        n = len(buf)
        if n == 0:
            break
        pos = data.draw(st.one_of(st.integers(0, min(n, 1024) - 1),
                                  st.integers(max(0, n - 1024), n - 1),
                                  st.integers(0, n - 1)), label="pos")
        op = data.draw(st.sampled_from(["flip", "insert", "delete", "overwrite", "truncate"]),
                       label="op")
        if op == "flip":
            buf[pos] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif op == "insert":
            buf[pos:pos] = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        elif op == "delete":
            del buf[pos:pos + data.draw(st.integers(1, 16), label="length")]
        elif op == "overwrite":
            chunk = data.draw(st.sampled_from([b"\xff" * 8, b"\x00" * 8, b"\x7f\xff\xff\xff",
                                               b"\xff\xff\xff\xff\xff\xff\xff\x7f", b"\x80"]),
                              label="bytes")
            buf[pos:pos + len(chunk)] = chunk
        else:
            del buf[max(pos, 1):]
        done.append((op, pos))
    return bytes(buf), done


@pytest.mark.parametrize("name,original", [("bytes.keras", KERAS_BYTES), ("bytes.h5", H5_BYTES),
                                           ("bytes.onnx", ONNX_BYTES)],
                         ids=["keras_zip", "hdf5", "onnx"])
@FUZZ
@given(data=st.data())
def test_file_bytes(workdir, name, original, data):
    """Byte damage to whole files: flips, insertions and cuts."""
    blob, done = _mutate_bytes(data, original)
    path = workdir / name
    path.write_bytes(blob)
    check(path, done)


@FUZZ
@given(data=st.data())
def test_keras_config_bytes(workdir, data):
    """Byte damage to the config text itself, re-zipped with a valid CRC (raw flips in a
    zip are mostly stopped by the CRC check before the JSON parser sees them)."""
    text, done = _mutate_bytes(data, KERAS_MEMBERS["config.json"])
    path = workdir / "config_bytes.keras"
    path.write_bytes(_zip_bytes({**KERAS_MEMBERS, "config.json": text}))
    check(path, done)


# -- (c) structural mutations of an ONNX graph ------------------------------------------

DIM = st.sampled_from([0, 1, 2, 3, 8, 16, -1, -7, 2**31, 2**62, 2**63 - 1])


def _mutate_onnx(data, model) -> list:
    g = model.graph
    done = []
    for _ in range(data.draw(st.integers(1, 5), label="mutations")):
        names = sorted({t for n in g.node for t in [*n.input, *n.output] if t}
                       | {i.name for i in g.input} | {t.name for t in g.initializer})
        op = data.draw(st.sampled_from(["drop_node", "rewire", "attribute", "init_dims",
                                        "input_dims", "duplicate_node", "swap_nodes",
                                        "op_type", "drop_output", "drop_initializer"]),
                       label="op")
        nodes = len(g.node)
        if op == "drop_node" and nodes > 1:
            i = data.draw(st.integers(0, nodes - 1), label="node")
            del g.node[i]
            done.append((op, i))
        elif op == "rewire" and nodes:
            node = g.node[data.draw(st.integers(0, nodes - 1), label="node")]
            if node.input:
                slot = data.draw(st.integers(0, len(node.input) - 1), label="slot")
                node.input[slot] = data.draw(st.sampled_from(names + ["ghost", ""]), label="tensor")
                done.append((op, node.name, slot, node.input[slot]))
        elif op == "attribute" and nodes:
            node = g.node[data.draw(st.integers(0, nodes - 1), label="node")]
            attrs = [a for a in node.attribute
                     if a.type in (AttributeProto.INT, AttributeProto.INTS, AttributeProto.FLOAT,
                                   AttributeProto.STRING, AttributeProto.TENSOR)]
            if attrs:
                attr = data.draw(st.sampled_from(attrs), label="attribute")
                if attr.type == AttributeProto.INT:
                    attr.i = data.draw(DIM, label="int")
                elif attr.type == AttributeProto.INTS:
                    del attr.ints[:]
                    attr.ints.extend(data.draw(st.lists(DIM, max_size=8), label="ints"))
                elif attr.type == AttributeProto.FLOAT:
                    attr.f = data.draw(st.floats(allow_nan=True, allow_infinity=True,
                                                 width=32), label="float")
                elif attr.type == AttributeProto.STRING:
                    attr.s = data.draw(st.binary(max_size=12), label="string")
                else:
                    del attr.t.dims[:]
                    attr.t.dims.extend(data.draw(st.lists(DIM, max_size=4), label="dims"))
                done.append((op, node.name, attr.name))
        elif op == "init_dims" and g.initializer:
            t = g.initializer[data.draw(st.integers(0, len(g.initializer) - 1), label="init")]
            del t.dims[:]
            t.dims.extend(data.draw(st.lists(DIM, max_size=5), label="dims"))
            done.append((op, t.name, list(t.dims)))
        elif op == "input_dims" and g.input:
            shape = g.input[0].type.tensor_type.shape
            dims = data.draw(st.lists(st.one_of(DIM, st.none()), max_size=6), label="dims")
            del shape.dim[:]
            for d in dims:
                if d is None:
                    shape.dim.add().dim_param = "n"
                else:
                    shape.dim.add().dim_value = d
            done.append((op, dims))
        elif op == "duplicate_node" and nodes:
            i = data.draw(st.integers(0, nodes - 1), label="node")
            g.node.add().CopyFrom(g.node[i])
            done.append((op, i))
        elif op == "swap_nodes" and nodes > 1:
            i = data.draw(st.integers(0, nodes - 1), label="a")
            j = data.draw(st.integers(0, nodes - 1), label="b")
            a, b = copy.deepcopy(g.node[i]), copy.deepcopy(g.node[j])
            g.node[i].CopyFrom(b)
            g.node[j].CopyFrom(a)
            done.append((op, i, j))
        elif op == "op_type" and nodes:
            node = g.node[data.draw(st.integers(0, nodes - 1), label="node")]
            node.op_type = data.draw(st.sampled_from([
                "Conv", "Reshape", "Transpose", "LSTM", "GRU", "Gemm", "MatMul", "Flatten",
                "Squeeze", "Unsqueeze", "Concat", "Gather", "Slice", "Loop", "Scan", "Shape",
                "Constant", "MaxPool", "GlobalAveragePool", "ReduceMean", "Dropout", "Mystery"]),
                label="op_type")
            done.append((op, node.name, node.op_type))
        elif op == "drop_output" and g.output:
            del g.output[0]
            done.append((op,))
        elif op == "drop_initializer" and g.initializer:
            i = data.draw(st.integers(0, len(g.initializer) - 1), label="init")
            done.append((op, g.initializer[i].name))
            del g.initializer[i]
    return done


@FUZZ
@given(data=st.data())
def test_onnx_structure(workdir, data):
    model = onnx.load_from_string(ONNX_BYTES)
    done = _mutate_onnx(data, model)
    path = workdir / "structure.onnx"
    path.write_bytes(model.SerializeToString())
    check(path, done)


def test_fuzz_inputs_are_valid_to_start_with(workdir):
    """The unmutated inputs lint cleanly (so the fuzz tests start from real models)."""
    for name, blob in [("k.keras", KERAS_BYTES), ("h.h5", H5_BYTES), ("o.onnx", ONNX_BYTES)]:
        path = workdir / name
        path.write_bytes(blob)
        result = lint_file(Target(str(path), True), Settings())
        assert result.status == "ok", (name, result.error)


# -- what the fuzzers found: minimal reproductions of reported bugs ---------------------


def _lint_config(workdir, name: str, mutate) -> "FileResult":
    doc = copy.deepcopy(KERAS_CONFIG)
    mutate(doc["config"]["layers"], doc["config"])
    path = workdir / name
    path.write_bytes(_zip_bytes({**KERAS_MEMBERS, "config.json": json.dumps(doc)}))
    return lint_file(Target(str(path), True), Settings())


def _set(index: int, key: str, value):
    def mutate(layers, conf):
        layers[index]["config"][key] = value
    return mutate


def _history(layers, conf):
    layers[1]["inbound_nodes"][0]["args"][0]["config"]["keras_history"][1] = float("inf")


def _input_layers(layers, conf):
    conf["input_layers"][1] = float("inf")




@pytest.mark.parametrize("mutate", [
    _set(1, "kernel_size", [float("inf"), 3]),  # Conv2D: keras_config._tuple
    _set(3, "target_shape", [float("inf"), 8]),  # Reshape: axes.reshape
    _history,  # keras_config._tensors
    _input_layers,  # keras_config._refs
], ids=["kernel_size", "target_shape", "keras_history", "input_layers"])
def test_infinity_in_a_keras_config_is_a_clear_error(workdir, mutate):
    result = _lint_config(workdir, "infinity.keras", mutate)
    assert result.status in ("ok", "error")
    assert not (result.error or "").startswith("internal error"), result.error


@pytest.mark.parametrize("mutate", [
    _set(1, "filters", []),  # Conv2D filters: unhashable type: 'list' in axes.Axis.origin
    _set(5, "rate", "0.5"),  # Dropout rate: '>' between str and int in CL006
    _set(5, "rate", [0.5]),  # Dropout rate: '>' between list and int in CL006
], ids=["conv_filters_list", "dropout_rate_str", "dropout_rate_list"])
def test_wrong_types_in_a_keras_config_are_not_a_crash(workdir, mutate):
    result = _lint_config(workdir, "types.keras", mutate)
    assert result.status in ("ok", "error")
    assert not (result.error or "").startswith("internal error"), result.error


def test_onnx_reshape_to_infinity_is_not_a_crash(workdir):
    import numpy as np
    from onnx import numpy_helper

    model = onnx.load_from_string(ONNX_BYTES)
    reshape = next(n for n in model.graph.node if n.op_type == "Reshape")
    model.graph.initializer.append(numpy_helper.from_array(np.array([np.inf, 8], "f4"), "inf"))
    reshape.input[1] = "inf"
    path = workdir / "reshape_inf.onnx"
    path.write_bytes(model.SerializeToString())
    result = lint_file(Target(str(path), True), Settings())
    assert not (result.error or "").startswith("internal error"), result.error


# -- (d) hostile names: layer and file names from hostile alphabets ------------------------
# Names from a file are untrusted (DESIGN.md, Rules): whatever a layer or a file is called,
# the text output has no raw control character and no line a CI runner would run as a
# command, every GitHub line is one of our own commands, and the JSON parses back to the
# exact name. tests/test_injection.py has the worked examples; these look for more.

HOSTILE_PIECES = st.sampled_from([
    "\n", "\r", "\r\n", "\t", "\x00", "\x07", "\x08", "\x0b", "\x0c", "\x1b", "\x1b[31m",
    "\x1b]0;title\x07", "\x1b[2J", "\x7f", "\x85", "\x9b", "\u2028", "\u2029", "\u202a",
    "\u202e", "\u2066", "\u2069", "\u200b", "\u200e", "\ufeff", "\ufffe", "\U000e0041",
    "\ud800", "\udbff", "\udc80", "\udcff", "\udfff",
    "::", "::error file=EVIL.py,line=1::INJECTED", "::warning::", "::add-mask::", "%0A", "%",
    ",", ":", "<", ">", "&", "&amp;", '"', "'", "\\", "\\n", "]", "]]>", "<script>",
    "</script>", "<!--", "-->", "${{ secrets }}", "`", "{", "}", ";", "->",
    "é", "×", "⟵", "漢字", "😀", "\u200d",
])
UNSAFE_CHARS = st.characters(categories=["Cc", "Cf", "Cs", "Zl", "Zp", "Co"])
HOSTILE_NAME = st.lists(HOSTILE_PIECES | UNSAFE_CHARS | st.text(max_size=3), min_size=1,
                        max_size=8).map("".join)
# A file name: no "/" or NUL, and only the surrogates os.fsdecode makes of bytes that are
# not UTF-8 (U+DC80..U+DCFF), so that os.fsencode gives it back.
FILE_NAME = HOSTILE_NAME.map(lambda s: "".join(
    ch for ch in s.replace("/", "_").replace("\x00", "_")
    if not ("\ud800" <= ch <= "\udfff") or "\udc80" <= ch <= "\udcff"))

CL001_JSON = os.path.join(SAMPLES, "cl001_spatial_reshape.json")
with open(CL001_JSON, encoding="utf-8") as _fh:
    CL001_DOC = json.load(_fh)
OTHER_LAYERS = {"input_layer", "conv2d", "max_pooling2d", "dropout", "dense"}
RAW_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                        "\ud800-\udfff]")
OUR_COMMAND = re.compile(r"::(error|warning|notice) file=[^,:\n]*,line=1,title=[^:\n]*::")


def _renamed(value, names: dict):
    if isinstance(value, dict):
        return {k: _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


def _assert_reports_are_safe(result: FileResult, context: str) -> dict:
    """Text, concise and GitHub output clean; JSON parsed back (returned)."""
    from cnnlstm_lint.report import RENDERERS

    for fmt in ("text", "concise", "github"):
        out = RENDERERS[fmt]([result], verbose=True)
        raw = RAW_UNSAFE.search(out)
        assert raw is None, f"{context}: raw {raw.group()!r} in {fmt}: {out!r}"
        out.encode("utf-8")
        for line in out.splitlines():
            if fmt == "github":
                assert OUR_COMMAND.match(line), f"{context}: {line!r}"
            else:
                assert not line.lstrip().startswith("::"), f"{context}: {fmt}: {line!r}"
    text = RENDERERS["json"]([result])
    assert RAW_UNSAFE.search(text.replace("\n", " ")) is None, f"{context}: {text!r}"
    text.encode("utf-8")
    return json.loads(text)


def _as_read(name: str) -> str:
    """The name a JSON reader gets back: a high and a low surrogate side by side are
    written as two escapes and read as the one character they spell."""
    return json.loads(json.dumps(name))


@FUZZ
@given(lstm=HOSTILE_NAME.map(_as_read), reshape=HOSTILE_NAME.map(_as_read))
def test_hostile_layer_names_render_safely(workdir, lstm, reshape):
    hypothesis.assume(lstm != reshape and not {lstm, reshape} & OTHER_LAYERS)
    path = workdir / "hostile_names.json"
    path.write_text(json.dumps(_renamed(CL001_DOC, {"lstm": lstm, "reshape": reshape})),
                    encoding="ascii")
    result = lint_file(Target(str(path), True), Settings())
    context = f"layers {lstm!r}, {reshape!r}"
    assert result.status in ("ok", "error"), context
    event(f"status {result.status}")
    doc = _assert_reports_are_safe(result, context)
    if result.status == "ok":
        nodes = [f["node"] for f in doc["files"][0]["findings"] if f["code"] == "CL001"]
        assert nodes == [lstm], (context, nodes)
        (cl001,) = [f for f in doc["files"][0]["findings"] if f["code"] == "CL001"]
        assert f"`{lstm}`" in cl001["message"] and reshape in cl001["related"], context


@FUZZ
@given(name=FILE_NAME, readable=st.booleans())
def test_hostile_file_names_render_safely(workdir, name, readable):
    folder = os.fsencode(str(workdir / "file_names"))
    os.makedirs(folder, exist_ok=True)
    raw = os.fsencode(name)[:200] + (b".json" if readable else b".keras")
    path = os.path.join(folder, raw)
    with open(CL001_JSON, "rb") as src, open(path, "wb") as fh:
        fh.write(src.read() if readable else b"not a model\xff")
    try:
        result = lint_file(Target(os.fsdecode(path), True), Settings())
        doc = _assert_reports_are_safe(result, f"file {raw!r}")
    finally:
        os.remove(path)
    assert doc["files"][0]["path"] == os.fsdecode(path)
    assert result.status == ("ok" if readable else "error"), (raw, result.error)
