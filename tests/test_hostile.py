"""Hostile files: malicious and malformed models, generated here (no committed payloads).

Each payload carries a harmless *canary*: if the linter ever ran, unpickled, imported or
followed it, the only effect would be a marker file in tmp_path (marshalled bytecode and
pickles that write it, gadget configs whose command would `touch` it, a module that
writes it when imported). Nothing here ever runs a payload.

Every case runs the real CLI in a subprocess and checks that the file is either refused
(exit 2, exactly one `error: PATH: reason` line on stderr) or, when it is a valid model
with unsafe content, linted as usual with a CL900 finding that says where and what; never
a traceback, never the canary, always in bounded time and memory. test_malformed.py has
the plainer unreadable files (corrupt zip, no config.json, an empty .keras, an explicit
directory named x.keras, ...); they are not repeated here.
"""

from __future__ import annotations

import base64
import io
import json
import marshal
import os
import pickle
import random
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time
import types
import warnings
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from conftest import SAMPLES

h5py = pytest.importorskip("h5py")
np = pytest.importorskip("numpy")
onnx = pytest.importorskip("onnx")
from onnx import TensorProto, helper  # noqa: E402

KERAS = os.path.join(SAMPLES, "cl001_spatial_reshape.keras")  # CL001 on `lstm`
H5 = os.path.join(SAMPLES, "cl001_spatial_reshape.h5")  # CL001 on `lstm`
H5_TFKERAS2 = os.path.join(SAMPLES, "legacy_tfkeras_cl001.h5")  # tf.keras 2 layout, CL001
ONNX = os.path.join(SAMPLES, "torch", "spatial_reshape.ts.onnx")  # CL001, conv.weight
GOOD = [os.path.join(SAMPLES, "good_lrcn.keras"), os.path.join(SAMPLES, "good_crnn_ocr.h5"),
        os.path.join(SAMPLES, "torch", "crnn_width_time.ts.onnx")]

TIME_LIMIT_S = 60
RSS_LIMIT = 1024**3  # peak resident memory of the CLI and its parser children
CANARY = "CANARY"  # the marker file, directly in tmp_path


# -- running the CLI ----------------------------------------------------------------------


@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss: int  # bytes: the CLI's peak, or its workers' or forked parsers', the largest

    @property
    def lines(self) -> list[str]:
        return self.stderr.strip().splitlines()

    def report(self) -> dict:
        return json.loads(self.stdout)


# Runs the CLI and reports its peak memory. The CLI is started from this small process,
# not from pytest: a child's ru_maxrss starts from the resident size of the process that
# forked it, and pytest itself grows large building the bigger payloads.
_MEASURE = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[2:]); "
            "open(sys.argv[1], 'w').write(str(resource.getrusage("
            "resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(rc)")


def run_lint(*args: str, cwd: Path, timeout: float = TIME_LIMIT_S) -> Run:
    """`python -m cnnlstm_lint --format json ARGS` in cwd, timed, with its peak memory.

    cwd is also on PYTHONPATH, where a module that writes the canary when imported waits
    for a linter that imports what a config names.
    """
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    with tempfile.TemporaryDirectory() as scratch:
        rss_file = os.path.join(scratch, "rss")
        with open(os.path.join(scratch, "out"), "w+b") as out, \
                open(os.path.join(scratch, "err"), "w+b") as err:
            start = time.monotonic()
            proc = subprocess.Popen(
                [sys.executable, "-c", _MEASURE, rss_file,
                 sys.executable, "-m", "cnnlstm_lint", "--format", "json", *args],
                cwd=cwd, env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                start_new_session=True)
            try:
                returncode = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                pytest.fail(f"cnnlstm-lint {' '.join(args)} ran over {timeout} s (killed)")
            seconds = time.monotonic() - start
            out.seek(0)
            err.seek(0)
            stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
        with open(rss_file) as fh:
            max_rss = int(fh.read()) * 1024
    return Run(returncode, stdout, stderr, seconds, max_rss)


def assert_contained(run: Run, tmp_path: Path, seconds: float = TIME_LIMIT_S,
                     rss: int = RSS_LIMIT) -> None:
    assert "Traceback" not in run.stdout + run.stderr, run.stderr[-3000:]
    assert "internal error" not in run.stdout + run.stderr, run.stderr
    assert not (tmp_path / CANARY).exists(), "a payload ran: the canary file was written"
    assert run.seconds < seconds, f"took {run.seconds:.1f} s"
    assert run.max_rss < rss, f"peak memory {run.max_rss / 2**20:.0f} MiB"


# -- payloads -----------------------------------------------------------------------------


def canary_source(canary: Path) -> str:
    return f"open({str(canary)!r}, 'w').write('payload ran')"


def canary_lambda_code(canary: Path) -> types.CodeType:
    """The code object of `lambda x: (<write the canary>, x)[1]`, never called."""
    module = compile(f"lambda x: ({canary_source(canary)}, x)[1]", "<payload>", "eval")
    return next(c for c in module.co_consts if isinstance(c, types.CodeType))


class CanaryPickle:
    """Pickles as `exec(<write the canary>)`: unpickling it would write the canary."""

    def __init__(self, canary: Path):
        self.source = canary_source(canary)

    def __reduce__(self):
        return (exec, (self.source,))


def canary_pickle(canary: Path) -> bytes:
    return pickle.dumps(CanaryPickle(canary), protocol=2)


def canary_module(where: Path, canary: Path) -> str:
    """A module that writes the canary when imported; returns its name."""
    (where / "canary_layers.py").write_text(canary_source(canary) + "\n")
    return "canary_layers"


# -- building files -----------------------------------------------------------------------

with zipfile.ZipFile(KERAS) as _zf:
    KERAS_MEMBERS = {name: _zf.read(name) for name in _zf.namelist()}


def keras_config() -> dict:
    return json.loads(KERAS_MEMBERS["config.json"])


def keras_tensor(name: str, shape=None) -> dict:
    return {"class_name": "__keras_tensor__",
            "config": {"shape": shape, "dtype": "float32", "keras_history": [name, 0, 0]}}


def append_layer(config: dict, layer: dict) -> dict:
    """Add `layer` after the model's output (so the CNN->LSTM part is still judged)."""
    conf = config["config"]
    last = conf["output_layers"][0] if isinstance(conf["output_layers"][0], list) \
        else conf["output_layers"]
    layer.setdefault("inbound_nodes", [{"args": [keras_tensor(last[0], [None, 10])],
                                        "kwargs": {}}])
    conf["layers"].append(layer)
    conf["output_layers"] = [layer["name"], 0, 0]
    return config


def write_zip(path: Path, members, compression=zipfile.ZIP_STORED) -> None:
    """members: {name: bytes|str} or [(name or ZipInfo, data)] (duplicates allowed)."""
    items = members.items() if isinstance(members, dict) else members
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Duplicate name"
        with zipfile.ZipFile(path, "w", compression) as zf:
            for name, data in items:
                zf.writestr(name, data)


def write_keras(path: Path, config: dict | None = None, **members) -> None:
    files = dict(KERAS_MEMBERS)
    if config is not None:
        files["config.json"] = json.dumps(config)
    files.update({k.replace("__", "/").replace("_DOT_", "."): v for k, v in members.items()})
    write_zip(path, files)


def _local(name: bytes, data: bytes) -> bytes:
    return struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 0, 0, 0, zlib.crc32(data),
                       len(data), len(data), len(name), 0) + name + data


def _central(name: bytes, data: bytes, offset: int, size: int | None = None,
             csize: int | None = None) -> bytes:
    size = len(data) if size is None else size
    csize = len(data) if csize is None else csize
    return struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 0, 0, 0, zlib.crc32(data),
                       csize, size, len(name), 0, 0, 0, 0, 0, offset) + name


def _eocd(count: int, cd_size: int, cd_offset: int) -> bytes:
    return struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, min(count, 0xFFFF),
                       min(count, 0xFFFF), cd_size, cd_offset, 0)


def hand_zip(local: list[tuple[bytes, bytes]], central: list[tuple]) -> bytes:
    """A zip written by hand: `local` members in order, then central-directory entries
    (name, data, index of the local member it points at, size=None, csize=None)."""
    blob, offsets = b"", []
    for name, data in local:
        offsets.append(len(blob))
        blob += _local(name, data)
    cd = b"".join(_central(name, data, offsets[at], *rest) for name, data, at, *rest in central)
    return blob + cd + _eocd(len(central), len(cd), len(blob))


def copy_h5(src: str, path: Path) -> None:
    shutil.copyfile(src, path)


def set_model_config(path: Path, config) -> None:
    with h5py.File(path, "a") as fh:
        del fh.attrs["model_config"]
        fh.attrs["model_config"] = config if isinstance(config, (str, bytes, np.bytes_)) \
            else json.dumps(config)


def load_onnx():
    return onnx.load(ONNX, load_external_data=False)


def save_onnx(model, path: Path) -> None:
    path.write_bytes(model.SerializeToString())


def external(model, location: str, **entries) -> None:
    """Mark the first initializer (conv.weight) as stored in external data (not written)."""
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    for key, value in {"location": location, **entries}.items():
        entry = tensor.external_data.add()
        entry.key, entry.value = key, value


def _field(number: int, payload: bytes) -> bytes:
    def varint(n):
        out = b""
        while True:
            out += bytes([(n & 0x7F) | (0x80 if n > 0x7F else 0)])
            n >>= 7
            if not n:
                return out
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def nested_loops(depth: int) -> bytes:
    """ModelProto bytes with Loop bodies nested `depth` deep, encoded by hand (the
    protobuf library refuses to build messages this deep)."""
    graph = b""
    for _ in range(depth):
        attr = _field(1, b"body") + _field(6, graph) + b"\xa0\x01\x05"  # type = GRAPH
        node = _field(4, b"Loop") + _field(5, attr)
        graph = _field(1, node)
    return b"\x08\x08" + _field(7, graph) + _field(8, b"\x10\x11")  # ir 8, opset 17


def loop_model(depth: int):
    """A real model: input X, a Loop whose body holds a Loop ... `depth` levels in all."""
    body = None
    for d in range(depth - 1):
        nodes = [helper.make_node("Identity", [f"c{d}"], [f"co{d}"])]
        if body is None:
            nodes.append(helper.make_node("Identity", ["X"], [f"so{d}"]))
        else:
            nodes.append(helper.make_node("Loop", ["", f"c{d}", "X"], [f"so{d}"], body=body))
        body = helper.make_graph(
            nodes, f"body{d}",
            [helper.make_tensor_value_info(f"i{d}", TensorProto.INT64, []),
             helper.make_tensor_value_info(f"c{d}", TensorProto.BOOL, []),
             helper.make_tensor_value_info(f"s{d}", TensorProto.FLOAT, None)],
            [helper.make_tensor_value_info(f"co{d}", TensorProto.BOOL, []),
             helper.make_tensor_value_info(f"so{d}", TensorProto.FLOAT, None)])
    graph = helper.make_graph(
        [helper.make_node("Loop", ["", "cond", "X"], ["Y"], body=body)], "loops",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, None)],
        [helper.make_tensor("cond", TensorProto.BOOL, [], [True])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])


# -- the cases ----------------------------------------------------------------------------


@dataclass
class Ctx:
    tmp: Path  # tmp_path: the canary lives here
    models: Path  # tmp_path/models: the files linted
    outside: Path  # tmp_path/outside, beside it: link targets

    @property
    def canary(self) -> Path:
        return self.tmp / CANARY


@dataclass
class Case:
    name: str  # the file name (and test id)
    make: Callable[[Path, Ctx], None]
    error: str | None = None  # refused: this text is in the one error line
    unsafe: tuple[str, str] | None = None  # linted: a CL900 finding on `where` saying `what`
    also: str | None = None  # another rule still reported: the rest was linted
    args: tuple[str, ...] = ()
    in_mix: bool = True  # part of the directory-of-everything test
    seconds: float = TIME_LIMIT_S
    rss: int = RSS_LIMIT
    bug: str | None = None  # a known bug: the case is an xfail(strict) with this reason


def lambda_keras3(path, ctx):
    code = base64.b64encode(marshal.dumps(canary_lambda_code(ctx.canary))).decode()
    layer = {"module": "keras.layers", "class_name": "Lambda", "registered_name": None,
             "name": "payload", "config": {
                 "name": "payload", "arguments": {}, "output_shape": None,
                 "function": {"class_name": "__lambda__",
                              "config": {"code": code, "defaults": None, "closure": None}}}}
    write_keras(path, append_layer(keras_config(), layer))


def lambda_tfkeras2(path, ctx):
    """tf.keras 2.x .h5: Lambda config {"function": [base64 marshal, ...], "function_type": "lambda"}."""
    copy_h5(H5_TFKERAS2, path)
    with h5py.File(path, "r") as fh:
        config = json.loads(fh.attrs["model_config"])
    code = base64.b64encode(marshal.dumps(canary_lambda_code(ctx.canary))).decode()
    conf = config["config"]
    conf["layers"].append({"class_name": "Lambda", "name": "payload", "config": {
        "name": "payload", "trainable": True, "dtype": "float32",
        "function": [code, None, None], "function_type": "lambda", "module": "__main__",
        "output_shape": None, "output_shape_type": "raw", "output_shape_module": None,
        "arguments": {}}, "inbound_nodes": [[[conf["output_layers"][0][0], 0, 0, {}]]]})
    conf["output_layers"] = [["payload", 0, 0]]
    set_model_config(path, config)


def function_reference(path, ctx):
    config = keras_config()
    config["config"]["layers"][1]["config"]["activation"] = {
        "module": "os", "class_name": "function", "config": "system", "registered_name": "function"}
    write_keras(path, config)


def gadget_initializer(path, ctx):
    """subprocess.Popen(args=["touch", canary]) as a kernel initializer."""
    config = keras_config()
    config["config"]["layers"][1]["config"]["kernel_initializer"] = {
        "module": "subprocess", "class_name": "Popen", "registered_name": "Popen",
        "config": {"args": ["touch", str(ctx.canary)]}}
    write_keras(path, config)


def gadget_layer(path, ctx):
    """A whole layer whose class is posix.system, with `touch canary` as its command."""
    layer = {"module": "posix", "class_name": "system", "registered_name": "system",
             "name": "gadget", "config": {"name": "gadget", "command": f"touch {ctx.canary}"}}
    write_keras(path, append_layer(keras_config(), layer))


def tfsm_layer(path, ctx):
    layer = {"module": "keras.layers", "class_name": "TFSMLayer", "registered_name": None,
             "name": "tfsm", "config": {"name": "tfsm", "filepath": str(ctx.outside / "saved_model"),
                                        "call_endpoint": "serve", "trainable": False}}
    write_keras(path, append_layer(keras_config(), layer))


def custom_class(path, ctx):
    module = canary_module(ctx.tmp, ctx.canary)
    layer = {"module": module, "class_name": "FancyLayer", "registered_name": "Custom>FancyLayer",
             "name": "fancy", "config": {"name": "fancy", "units": 4}}
    write_keras(path, append_layer(keras_config(), layer))


def pickled_weights(path, ctx):
    write_keras(path, model_DOT_weights_DOT_h5=canary_pickle(ctx.canary))


def _npz(**arrays) -> bytes:
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    return buf.getvalue()


def npz_object_array(path, ctx):
    members = dict(KERAS_MEMBERS)
    del members["model.weights.h5"]
    members["model.weights.npz"] = _npz(kernel=np.zeros(3, "f4"),
                                        payload=np.array([CanaryPickle(ctx.canary)], dtype=object))
    write_zip(path, members)


def npy_object_array(path, ctx):
    buf = io.BytesIO()
    np.save(buf, np.array([CanaryPickle(ctx.canary)], dtype=object), allow_pickle=True)
    write_keras(path, assets__vocab_DOT_npy=buf.getvalue())


def pkl_member(path, ctx):
    write_keras(path, assets__preprocess_DOT_pkl=canary_pickle(ctx.canary))


def symlink_member(path, ctx):
    members = [(n, d) for n, d in KERAS_MEMBERS.items() if n != "model.weights.h5"]
    link = zipfile.ZipInfo("model.weights.h5")
    link.create_system = 3
    link.external_attr = 0o120777 << 16
    members.append((link, str(ctx.canary)))  # extracted, the weights would be the canary path
    write_zip(path, members)


def zip_bomb(path, ctx):
    write_zip(path, {**KERAS_MEMBERS, "assets/bomb.bin": b"\0" * (8 * 1024**2)},
              zipfile.ZIP_DEFLATED)


def traversal(name):
    def make(path, ctx):
        write_zip(path, {**KERAS_MEMBERS, name: str(ctx.canary)})
    return make


def duplicate(name):
    def make(path, ctx):
        if name == "config.json":  # the copy an extractor keeps holds a Lambda payload
            lambda_keras3(path, ctx)
            with zipfile.ZipFile(path) as zf:
                other = zf.read("config.json")
        else:
            other = canary_pickle(ctx.canary)
        write_zip(path, [*KERAS_MEMBERS.items(), (name, other)])
    return make


def overlapping(path, ctx):
    """Two central-directory entries for one local header (a 'non-recursive' zip bomb)."""
    config = KERAS_MEMBERS["config.json"]
    path.write_bytes(hand_zip([(b"config.json", config)],
                              [(b"config.json", config, 0), (b"model.weights.h5", config, 0)]))


def too_many_members(path, ctx):
    write_zip(path, {**KERAS_MEMBERS, **{f"assets/{i}": b"" for i in range(10_001)}})


def huge_central_directory(count: int):
    """1.25 million entries (a 64 MiB central directory, just under the config limit),
    with `count` as the entry count of the end record: refused before it is parsed."""
    def make(path, ctx):
        local = _local(b"config.json", b"{}")
        entry = struct.Struct("<4s6H3L5H2L")
        cd = bytearray()
        for i in range(1_250_000):
            name = b"%07x" % i
            cd += entry.pack(b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, len(name), 0, 0, 0, 0,
                             0, len(local)) + name
        path.write_bytes(local + bytes(cd) + _eocd(count, len(cd), len(local)))
    return make


def config_declares_huge(path, ctx):
    config = KERAS_MEMBERS["config.json"]
    path.write_bytes(hand_zip([(b"config.json", config)],
                              [(b"config.json", config, 0, 70 * 1024**2, 400_000)]))


def deep_json(path, ctx):
    nested = '{"a": [' * 1000 + "1" + "]}" * 1000  # 2000 levels, in a layer's config
    text = json.dumps(keras_config()).replace('"bias_constraint": null',
                                              f'"bias_constraint": {nested}', 1)
    assert nested in text
    write_zip(path, {**KERAS_MEMBERS, "config.json": text})


def long_int(path, ctx):
    text = json.dumps(keras_config()).replace('"units": 16', '"units": ' + "9" * 40)
    assert "9" * 40 in text
    write_zip(path, {**KERAS_MEMBERS, "config.json": text})


def reversed_npz(path, ctx):
    """A harmless 64 MB .npz of 4000 float arrays whose central directory lists them in
    reverse order: each array read seeks backwards in the member."""
    arr = io.BytesIO()
    np.save(arr, np.zeros(1, "f4"))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as npz:
        for i in range(4000):
            npz.writestr(f"a{i}.npy", arr.getvalue() + b"\0" * 16_000)
        npz.filelist.reverse()
    write_keras(path, model_DOT_weights_DOT_npz=buf.getvalue())


def reversed_layers(path, ctx):
    """A 10000-layer Dense chain whose layers are listed last to first (2.7 MB)."""
    layers = [{"module": "keras.layers", "class_name": "InputLayer", "name": "in",
               "config": {"batch_shape": [None, 4], "dtype": "float32", "name": "in"},
               "inbound_nodes": []}]
    for i in range(10_000):
        layers.append({"module": "keras.layers", "class_name": "Dense", "name": f"d{i}",
                       "config": {"name": f"d{i}", "units": 4},
                       "inbound_nodes": [{"args": [keras_tensor(layers[-1]["name"], [None, 4])],
                                          "kwargs": {}}]})
    config = {"module": "keras.src.models.functional", "class_name": "Functional",
              "config": {"name": "chain", "layers": [layers[0], *layers[:0:-1]],
                         "input_layers": [["in", 0, 0]], "output_layers": [["d9999", 0, 0]]}}
    write_zip(path, {"config.json": json.dumps(config)})


def escaped_quotes(path, ctx):
    """200 KB of JSON: `{"` then escaped quotes and no closing one."""
    path.write_text('{"' + '\\"' * 100_000)


# HDF5


def h5_external_link(path, ctx):
    copy_h5(H5, path)
    with h5py.File(path, "a") as fh:
        fh["model_weights"]["evil"] = h5py.ExternalLink(str(ctx.outside / "secret.h5"), "/data")


def h5_soft_link(path, ctx):
    copy_h5(H5, path)
    with h5py.File(path, "a") as fh:
        fh["model_weights"]["loop"] = h5py.SoftLink("/model_weights")  # a cycle if followed


def h5_external_storage(path, ctx):
    copy_h5(H5, path)
    with h5py.File(path, "a") as fh:
        fh.create_dataset("ext", shape=(16,), dtype="f4",
                          external=[(str(ctx.outside / "secret.bin"), 0, h5py.h5f.UNLIMITED)])


def h5_virtual(path, ctx):
    copy_h5(H5, path)
    layout = h5py.VirtualLayout(shape=(16,), dtype="f4")
    layout[:] = h5py.VirtualSource(str(ctx.outside / "secret.h5"), "data", shape=(16,))
    with h5py.File(path, "a") as fh:
        fh.create_virtual_dataset("virtual", layout)


def _huge_config_text() -> str:
    with h5py.File(H5, "r") as fh:
        config = fh.attrs["model_config"]
    config = config.decode() if isinstance(config, bytes) else config
    return config + " " * (70 * 1024**2)  # valid JSON, over the 64 MiB config limit


def h5_huge_config_fixed(path, ctx):
    """A fixed-length string attribute (dense attribute storage)."""
    with h5py.File(path, "w", libver="latest") as fh:
        fh.attrs["model_config"] = np.bytes_(_huge_config_text().encode())


def h5_huge_config_vlen(path, ctx):
    """A variable-length string attribute, as Keras and h5py write model_config."""
    copy_h5(H5, path)
    set_model_config(path, _huge_config_text())


def h5_truncated(fraction):
    def make(path, ctx):
        data = Path(H5).read_bytes()
        path.write_bytes(data[:max(int(len(data) * fraction), 100)])
    return make


# ONNX


def onnx_external(location, **entries):
    def make(path, ctx):
        model = load_onnx()
        external(model, location.format(stem=path.stem, outside=ctx.outside), **entries)
        save_onnx(model, path)
    return make


def onnx_external_symlink(path, ctx):
    target = ctx.outside / "secret.bin"
    target.write_bytes(b"\0" * 64)
    (path.parent / f"{path.stem}.bin").symlink_to(target)
    onnx_external("{stem}.bin")(path, ctx)


def onnx_sparse_external(where):
    def make(path, ctx):
        model = load_onnx()
        values = helper.make_tensor("sparse_values", TensorProto.FLOAT, [1], [0.0])
        values.ClearField("float_data")
        values.data_location = TensorProto.EXTERNAL
        entry = values.external_data.add()
        entry.key, entry.value = "location", "../../secret.bin"
        sparse = helper.make_sparse_tensor(
            values, helper.make_tensor("sparse_indices", TensorProto.INT64, [1], [0]), [4])
        if where == "initializer":
            model.graph.sparse_initializer.append(sparse)
        else:
            model.graph.node.insert(0, helper.make_node("Constant", [], ["sparse_const"],
                                                        sparse_value=sparse))
        save_onnx(model, path)
    return make


def onnx_cycle(path, ctx):
    model = load_onnx()
    nodes = model.graph.node
    conv = next(n for n in nodes if n.op_type == "Conv")
    after = next(n for n in nodes if conv.output[0] in n.input)
    conv.input[0] = after.output[0]  # Conv -> Relu -> Conv
    save_onnx(model, path)


def onnx_dangling(path, ctx):
    model = load_onnx()
    next(n for n in model.graph.node if n.op_type == "Relu").input[0] = "ghost_tensor"
    save_onnx(model, path)


def onnx_deep_loops(path, ctx):
    save_onnx(loop_model(10), path)


def onnx_protobuf_nesting(path, ctx):
    path.write_bytes(nested_loops(3000))


def onnx_huge_dims(path, ctx):
    model = load_onnx()
    tensor = model.graph.initializer[0]
    del tensor.dims[:]
    tensor.dims.extend([2**62, 2**62])
    save_onnx(model, path)


def onnx_huge_input(path, ctx):
    model = load_onnx()
    for dim in model.graph.input[0].type.tensor_type.shape.dim:
        dim.ClearField("dim_param")
        dim.dim_value = 2**62
    save_onnx(model, path)


def random_bytes(path, ctx):
    path.write_bytes(random.Random(1234).randbytes(4096))


# the file itself


def fifo(path, ctx):
    os.mkfifo(path)


def symlink_to_model(path, ctx):
    target = ctx.outside / "real.keras"
    shutil.copyfile(KERAS, target)
    path.symlink_to(target)


def lfs_pointer(path, ctx):
    path.write_text("version https://git-lfs.github.com/spec/v1\n"
                    "oid sha256:4d7a214614ab2935c943f9e0ff69d22eadbb8f32b1258daaa5e2ca24d17e2393\n"
                    "size 12345\n")


def copy_of(src):
    def make(path, ctx):
        shutil.copyfile(src, path)
    return make


def empty(path, ctx):
    path.write_bytes(b"")


MEMBER = "is a symbolic link inside the archive"
CASES = [
    # unsafe content in valid models: linted, CL900 says where and what
    Case("lambda3.keras", lambda_keras3, unsafe=("payload", "Lambda bytecode"), also="CL001"),
    Case("lambda2.h5", lambda_tfkeras2, unsafe=("payload", "Lambda bytecode (tf.keras 2.x)"),
         also="CL001"),
    Case("funcref.keras", function_reference, unsafe=("conv2d", "Python function os.system"),
         also="CL001"),
    Case("gadget_init.keras", gadget_initializer,
         unsafe=("conv2d", "Python function subprocess.Popen"), also="CL001"),
    Case("gadget_layer.keras", gadget_layer, unsafe=("gadget", "Python function posix.system"),
         also="CL001"),
    Case("tfsm.keras", tfsm_layer, unsafe=("tfsm", "TFSMLayer that would load the TensorFlow "
                                                   "SavedModel at"), also="CL001"),
    Case("pickled_weights.keras", pickled_weights,
         unsafe=("model.weights.h5", "claims to be HDF5 weights but is a pickle"), also="CL001"),
    Case("npz_object.keras", npz_object_array,
         unsafe=("model.weights.npz", "'payload.npy' is an object array"), also="CL001"),
    Case("npy_object.keras", npy_object_array,
         unsafe=("assets/vocab.npy", "object array"), also="CL001"),
    Case("pkl_member.keras", pkl_member, unsafe=("assets/preprocess.pkl", "pickled Python"),
         also="CL001"),
    Case("symlink_member.keras", symlink_member, unsafe=("model.weights.h5", MEMBER),
         also="CL001"),
    Case("h5_external_link.h5", h5_external_link,
         unsafe=("/model_weights/evil", "is an external link to"), also="CL001"),
    Case("h5_soft_link.h5", h5_soft_link,
         unsafe=("/model_weights/loop", "is a soft link to /model_weights"), also="CL001"),
    Case("h5_external_storage.h5", h5_external_storage,
         unsafe=("/ext", "stores its data in external files"), also="CL001"),
    Case("h5_virtual.h5", h5_virtual, unsafe=("/virtual", "virtual dataset"), also="CL001"),
    Case("onnx_dotdot.onnx", onnx_external("../secret.bin"),
         unsafe=("conv.weight", "'../secret.bin', outside the model's folder"), also="CL001"),
    Case("onnx_absolute.onnx", onnx_external("{outside}/secret.bin"),
         unsafe=("conv.weight", "external data at the absolute path"), also="CL001"),
    Case("onnx_symlink.onnx", onnx_external_symlink,
         unsafe=("conv.weight", "a link that leaves the model's folder"), also="CL001"),
    Case("onnx_negative_offset.onnx", onnx_external("{stem}.bin", offset="-4096"),
         unsafe=("conv.weight", "offset '-4096', not a non-negative integer"), also="CL001"),
    Case("onnx_sparse_initializer.onnx", onnx_sparse_external("initializer"),
         unsafe=("sparse_values", "outside the model's folder"), also="CL001"),
    Case("onnx_sparse_constant.onnx", onnx_sparse_external("constant"),
         unsafe=("sparse_values", "outside the model's folder"), also="CL001"),
    # readable but odd: linted as usual
    Case("onnx_huge_dims.onnx", onnx_huge_dims, also="CL001"),
    Case("onnx_huge_input.onnx", onnx_huge_input, also="CL001"),
    # refused: one error line
    Case("zip_bomb.keras", zip_bomb, error="expands"),
    Case("dotdot.keras", traversal("../evil"), error="member '../evil' points outside the archive"),
    Case("deep_dotdot.keras", traversal("assets/../../evil"), error="points outside the archive"),
    Case("absolute.keras", traversal("/abs/evil"), error="member '/abs/evil' points outside"),
    Case("drive.keras", traversal("C:/evil"), error="member 'C:/evil' points outside"),
    Case("backslash.keras", traversal("..\\evil"), error="points outside the archive"),
    Case("dup_config.keras", duplicate("config.json"), error="'config.json' appears twice"),
    Case("dup_weights.keras", duplicate("model.weights.h5"),
         error="'model.weights.h5' appears twice"),
    Case("overlap.keras", overlapping, error="overlap"),
    Case("many_members.keras", too_many_members,
         error=f"zip has {len(KERAS_MEMBERS) + 10_001} members, over 10000"),
    Case("config_declares_huge.keras", config_declares_huge,
         error=f"config.json declares {70 * 1024**2} bytes, over the limit"),
    Case("deep_json.keras", deep_json, error="config.json is nested too deeply"),
    Case("long_int.keras", long_int, error="an integer in the config has over 32 digits"),
    Case("h5_huge_config_fixed.h5", h5_huge_config_fixed,
         error="the model_config attribute is 73"),
    Case("h5_truncated_header.h5", h5_truncated(0.0), error="cannot read HDF5 file"),
    Case("h5_truncated_tail.h5", h5_truncated(0.9), error="cannot read HDF5 file"),
    Case("onnx_cycle.onnx", onnx_cycle, error="the graph has a cycle through node"),
    Case("onnx_dangling.onnx", onnx_dangling,
         error="reads tensor 'ghost_tensor', which no node, input or initializer produces"),
    Case("onnx_deep_loops.onnx", onnx_deep_loops, error="subgraphs nested more than 8 deep"),
    Case("onnx_nesting.onnx", onnx_protobuf_nesting, error="not a readable ONNX model"),
    Case("random.onnx", random_bytes, error="ONNX model"),
    Case("fifo.keras", fifo, error="not a regular file (device, FIFO or socket)"),
    Case("symlink.keras", symlink_to_model, error="is a symbolic link (to "),
    Case("lfs.keras", lfs_pointer, error="Git LFS pointer"),
    Case("empty.h5", empty, error="empty file"),
    Case("big.keras", copy_of(KERAS), error="over the 1024-byte limit",
         args=("--max-file-size", "1K"), in_mix=False),
    # resource exhaustion: refused or linted within tight time and memory bounds
    Case("h5_huge_config_vlen.h5", h5_huge_config_vlen, error="model_config attribute is",
         in_mix=False),
    Case("huge_central_directory.keras", huge_central_directory(0xFFFF), error="over",
         rss=256 * 1024**2, in_mix=False),
    Case("lying_central_directory.keras", huge_central_directory(1), error="over",
         rss=256 * 1024**2, in_mix=False),  # the end record says 1 entry: the size bounds it
    Case("reversed_npz.keras", reversed_npz, also="CL001", seconds=10, in_mix=False),
    Case("reversed_layers.keras", reversed_layers, seconds=10, in_mix=False),
    Case("escaped_quotes.json", escaped_quotes, error="is not valid JSON", seconds=10,
         in_mix=False),
]


def _params():
    for case in CASES:
        marks = [pytest.mark.xfail(strict=True, reason=case.bug)] if case.bug else []
        yield pytest.param(case, id=case.name, marks=marks)


@pytest.fixture
def ctx(tmp_path) -> Ctx:
    (tmp_path / "models").mkdir()
    (tmp_path / "outside").mkdir()
    return Ctx(tmp_path, tmp_path / "models", tmp_path / "outside")


def _finding_codes(entry: dict) -> set[str]:
    return {f["code"] for f in entry["findings"]}


def check_case(case: Case, path: Path, entry: dict | None, lines: list[str]) -> None:
    """One file's outcome in a run: its error line, or its findings."""
    mine = [line for line in lines if line.startswith(f"error: {path}: ")]
    if case.error is not None:
        assert len(mine) == 1, (case.name, lines)
        assert case.error in mine[0], mine[0]
        assert entry is None or entry["status"] == "error"
        return
    assert mine == [], mine
    assert entry is not None and entry["status"] == "ok", (case.name, entry)
    codes = _finding_codes(entry)
    if case.also:
        assert case.also in codes, (case.name, entry["findings"])
    if case.unsafe:
        where, what = case.unsafe
        unsafe = [f for f in entry["findings"] if f["code"] == "CL900"]
        assert any(f"`{where}`" in f["message"] and what in f["message"] and
                   f["severity"] == "error" for f in unsafe), (case.name, unsafe)
    else:
        assert "CL900" not in codes, (case.name, entry["findings"])


@pytest.mark.parametrize("case", list(_params()))
def test_hostile_file(case: Case, ctx: Ctx, tmp_path):
    path = ctx.models / case.name
    case.make(path, ctx)
    run = run_lint(*case.args, str(path), cwd=tmp_path, timeout=case.seconds + 1)
    assert_contained(run, tmp_path, case.seconds, case.rss)
    if case.error is not None:
        assert run.returncode == 2, (run.returncode, run.stderr)
        assert len(run.lines) == 1, run.lines
        assert run.lines[0].startswith(f"error: {path}: "), run.lines
    else:
        assert run.returncode == (1 if case.also or case.unsafe else 0), run.stderr
        assert run.stderr == ""
    entry = run.report()["files"][0]
    check_case(case, path, entry, run.lines)


# -- cases that need a second look ----------------------------------------------------------


def test_custom_class_is_opaque_and_never_imported(ctx, tmp_path):
    """A layer class from a non-Keras module: no CL900, never imported, named by --verbose."""
    path = ctx.models / "custom.keras"
    custom_class(path, ctx)
    run = run_lint("--verbose", str(path), cwd=tmp_path)
    assert_contained(run, tmp_path)
    assert run.returncode == 1 and run.stderr == ""
    findings = run.report()["files"][0]["findings"]
    assert {f["code"] for f in findings} == {"CL001"}
    proc = subprocess.run([sys.executable, "-m", "cnnlstm_lint", "--verbose", str(path)],
                          cwd=tmp_path, env={**os.environ, "PYTHONPATH": str(tmp_path)},
                          capture_output=True, text=True, timeout=TIME_LIMIT_S)
    assert "custom class canary_layers.FancyLayer: kept as data, never imported" in proc.stdout
    assert "layer class 'FancyLayer' is not a built-in Keras layer" in proc.stdout
    assert not (tmp_path / CANARY).exists()


def test_symlinked_model_is_linted_with_follow_symlinks(ctx, tmp_path):
    path = ctx.models / "link.keras"
    symlink_to_model(path, ctx)
    run = run_lint("--follow-symlinks", str(path), cwd=tmp_path)
    assert_contained(run, tmp_path)
    assert run.returncode == 1 and run.stderr == ""
    assert _finding_codes(run.report()["files"][0]) == {"CL001"}


@pytest.mark.parametrize("target,reason", [
    ("missing", "is a broken symbolic link"),
    ("fifo", "not a regular file"),
])
def test_followed_symlink_to_nothing_or_a_fifo(ctx, tmp_path, target, reason):
    dest = ctx.outside / target
    if target == "fifo":
        os.mkfifo(dest)
    path = ctx.models / "link.keras"
    path.symlink_to(dest)
    run = run_lint("--follow-symlinks", str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, 30)
    assert run.returncode == 2 and len(run.lines) == 1
    assert run.lines[0].startswith(f"error: {path}: ") and reason in run.lines[0]


# -- the isolation of native parsers --------------------------------------------------------


def _segfault():
    import ctypes
    import faulthandler

    faulthandler.disable()  # pytest enables it: no dump, just the signal
    ctypes.string_at(0)


def _sleep():
    time.sleep(60)


def _allocate():
    from cnnlstm_lint.loaders.isolate import EXTRA_MEMORY

    return len(bytearray(2 * EXTRA_MEMORY))


def _allocate_slowly():
    hoard = []
    while True:  # untouched pages: the address-space limit stops it, quickly
        hoard.append(np.empty(256 * 1024**2, dtype=np.uint8))


def _exit_silently():
    os._exit(0)


def test_isolated_segfault_is_one_files_error():
    from cnnlstm_lint.loaders.errors import LoadError
    from cnnlstm_lint.loaders.isolate import run_isolated

    with pytest.raises(LoadError) as info:
        run_isolated(_segfault, what="HDF5 parser")
    assert "crashed" in str(info.value) and "(SIGSEGV)" in str(info.value)
    assert str(info.value).startswith("the HDF5 parser crashed")


def test_isolated_hang_is_stopped():
    from cnnlstm_lint.loaders.errors import LoadError
    from cnnlstm_lint.loaders.isolate import run_isolated

    start = time.monotonic()
    with pytest.raises(LoadError, match=r"the parser took over 1 s \(stopped\)"):
        run_isolated(_sleep, timeout=1.0)
    assert time.monotonic() - start < 10


@pytest.mark.parametrize("fn", [_allocate, _allocate_slowly])
def test_isolated_memory_blowup_is_an_error(fn):
    from cnnlstm_lint.loaders.errors import LoadError
    from cnnlstm_lint.loaders.isolate import run_isolated

    with pytest.raises(LoadError, match="^the ONNX parser ran out of memory$"):
        run_isolated(fn, what="ONNX parser", timeout=60)


def test_isolated_silent_death_and_normal_results():
    from cnnlstm_lint.loaders.errors import LoadError
    from cnnlstm_lint.loaders.isolate import run_isolated

    with pytest.raises(LoadError, match="died without an answer"):
        run_isolated(_exit_silently)
    assert run_isolated(sum, [1, 2, 3]) == 6
    with pytest.raises(LoadError, match="^boom$"):
        run_isolated(_raise_load_error)


def _raise_load_error():
    from cnnlstm_lint.loaders.errors import LoadError

    raise LoadError("boom")


# -- everything at once ----------------------------------------------------------------------


def test_directory_of_good_and_hostile_files(ctx, tmp_path):
    """Good models next to one of each hostile file: the good ones are linted as usual,
    each bad one is one error line, each unsafe one a CL900 finding; exit 2; no canary."""
    folder = ctx.models
    good = []
    for src in GOOD:
        good.append(folder / os.path.basename(src))
        shutil.copyfile(src, good[-1])
    (folder / "x.keras").mkdir()  # a directory named like a model is walked, not linted
    cases = [c for c in CASES if c.in_mix and not c.bug]
    for case in cases:
        case.make(folder / case.name, ctx)
    custom_class(folder / "custom.keras", ctx)
    run = run_lint(str(folder), cwd=tmp_path, timeout=120)
    assert_contained(run, tmp_path, 120)
    assert run.returncode == 2
    report = run.report()
    entries = {e["path"]: e for e in report["files"]}
    errors = [c for c in cases if c.error]
    assert len(run.lines) == len(errors), run.lines
    assert all(line.startswith("error: ") for line in run.lines)
    for path in good:
        assert entries[str(path)]["status"] == "ok"
        assert entries[str(path)]["findings"] == [], entries[str(path)]
    for case in cases:
        check_case(case, folder / case.name, entries.get(str(folder / case.name)), run.lines)
    assert _finding_codes(entries[str(folder / "custom.keras")]) == {"CL001"}
    assert report["summary"]["errors"] == len(errors)
    assert not ctx.canary.exists()
