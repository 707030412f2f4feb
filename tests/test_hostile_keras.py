"""More hostile Keras files (generated here, harmless canaries only): what test_hostile.py
does not cover yet.

- many layers with one name (or none): unique node ids in linear time;
- unsafe content inside sub-configs that never become nodes of their own (Bidirectional's
  layer and backward_layer, an RNN's cell or stacked cells, TimeDistributed's own config,
  an InputLayer, a layer never called, the model's own config): CL900 on the layer;
- an HDF5 file whose groups hard-link back to their parent and the root;
- a zip64 end record whose locator points at a decoy record;
- .npz members: a huge inner central directory, and thousands of 1 MiB members;
- UTF-16/UTF-32 JSON nested too deeply, hiding its brackets from a UTF-8 reading;
- HDF5 files with a user block (the superblock at 512, 1024, 2048, ...).

Every case runs the real CLI in a subprocess with time and peak-memory bounds
(test_hostile.run_lint and assert_contained).
"""

from __future__ import annotations

import base64
import copy
import io
import json
import marshal
import os
import struct
import zipfile
import zlib

import pytest

from conftest import SAMPLES
from test_hostile import (CANARY, H5, KERAS_MEMBERS, _eocd, _local, assert_contained,
                          canary_lambda_code, copy_h5, h5py, keras_config, keras_tensor, np,
                          run_lint, write_keras, write_zip)

TF2_JSON = os.path.join(SAMPLES, "legacy_tfkeras_cl001.json")  # tf.keras 2 layout, CL001


def tf2_config() -> dict:
    with open(TF2_JSON) as fh:
        return json.load(fh)


def _models(tmp_path):
    (tmp_path / "models").mkdir(exist_ok=True)
    return tmp_path / "models"


def _refused(run, path, reason: str) -> None:
    assert run.returncode == 2, (run.returncode, run.stdout[-2000:], run.stderr)
    assert len(run.lines) == 1, run.lines
    assert run.lines[0].startswith(f"error: {path}: "), run.lines
    assert reason in run.lines[0], run.lines[0]


def _findings(run) -> list[dict]:
    return run.report()["files"][0]["findings"]


# -- 1. many layers with the same name, or none ---------------------------------------------

N_LAYERS = 20_000


def sequential_same_name(name: str | None) -> dict:
    """A Sequential chain of 20k Dense layers all named `name` (or unnamed)."""
    dense = {"module": "keras.layers", "class_name": "Dense", "config": {"units": 4}}
    if name is not None:
        dense = {**dense, "name": name, "config": {"units": 4, "name": name}}
    first = {"module": "keras.layers", "class_name": "InputLayer",
             "config": {"batch_shape": [None, 4], "dtype": "float32"}}
    return {"module": "keras.src.models.sequential", "class_name": "Sequential",
            "config": {"layers": [first] + [dense] * N_LAYERS}}


def functional_unnamed_inputs() -> dict:
    """A Functional model with 20k unnamed InputLayers (and one Dense reading one)."""
    inputs = [{"class_name": "InputLayer", "config": {"batch_shape": [None, 4]},
               "inbound_nodes": []}] * N_LAYERS
    dense = {"class_name": "Dense", "name": "out", "config": {"name": "out", "units": 2},
             "inbound_nodes": [{"args": [keras_tensor("InputLayer", [None, 4])], "kwargs": {}}]}
    return {"class_name": "Functional", "config": {
        "layers": inputs + [dense], "input_layers": [["InputLayer", 0, 0]],
        "output_layers": [["out", 0, 0]]}}


@pytest.mark.parametrize("make", [
    pytest.param(lambda: sequential_same_name("same"), id="sequential-same-name"),
    pytest.param(lambda: sequential_same_name(None), id="sequential-unnamed"),
    pytest.param(functional_unnamed_inputs, id="functional-unnamed-inputs"),
])
def test_many_layers_with_one_name_lint_in_linear_time(make, tmp_path):
    path = _models(tmp_path) / "same_names.json"
    path.write_text(json.dumps(make()))
    run = run_lint(str(path), cwd=tmp_path, timeout=60)
    assert_contained(run, tmp_path, seconds=15, rss=512 * 1024**2)  # was ~80 s
    assert run.returncode in (0, 1), run.stderr
    assert run.stderr == ""


def test_duplicate_ids_are_numbered_as_before():
    """The first duplicate of `x` is `x~1`, then `x~2`, skipping ids already taken."""
    from cnnlstm_lint.loaders.keras_config import KerasGraphBuilder

    builder = KerasGraphBuilder("f")
    ids = [builder.add(name, "dense", "Dense", {}, (), 0, "").id
           for name in ["x", "x", "x~2", "x", "x", "x~1"]]
    assert ids == ["x", "x~1", "x~2", "x~3", "x~4", "x~1~1"]


# -- 2. unsafe content in sub-configs that are not nodes -------------------------------------

OS_SYSTEM = {"module": "os", "class_name": "function", "config": "system",
             "registered_name": "function"}
BUILTINS_EXEC = {"module": "builtins", "class_name": "function", "config": "exec",
                 "registered_name": "function"}


def lambda_payload(layout: str, canary) -> dict:
    code = base64.b64encode(marshal.dumps(canary_lambda_code(canary))).decode()
    if layout == "keras3":
        return {"class_name": "__lambda__", "config": {"code": code, "defaults": None,
                                                       "closure": None}}
    return {"class_name": "Lambda", "config": {  # a tf.keras 2.x Lambda layer's config
        "name": "payload", "function": [code, None, None], "function_type": "lambda",
        "module": "__main__", "output_shape": None, "arguments": {}}}


def payloads(layout: str, canary) -> tuple[dict, list[str]]:
    """Three payloads for one sub-config (key -> payload), and what CL900 must say of each."""
    lam = "Lambda bytecode that keras.saving" if layout == "keras3" else \
        "Lambda bytecode (tf.keras 2.x)"
    return ({"activation": lambda_payload(layout, canary), "kernel_constraint": OS_SYSTEM,
             "bias_initializer": BUILTINS_EXEC},
            [lam, "Python function os.system", "Python function builtins.exec"])


def _base(layout: str) -> dict:
    return keras_config() if layout == "keras3" else tf2_config()


def _layer(layout: str, cls: str, config: dict, like: dict | None = None) -> dict:
    """A layer dict in the layout's style; `like` lends its name and inbound nodes."""
    layer = {"module": "keras.layers", "class_name": cls, "config": config,
             "registered_name": None} if layout == "keras3" else {"class_name": cls,
                                                                  "config": config}
    if like is not None:
        layer["name"] = like["name"]
        layer["inbound_nodes"] = like["inbound_nodes"]
    return layer


def _cell(layout: str, lstm: dict, extra: dict | None = None) -> dict:
    keys = ("units", "activation", "recurrent_activation", "use_bias", "kernel_initializer",
            "recurrent_initializer", "bias_initializer", "dropout", "recurrent_dropout")
    conf = {k: lstm["config"][k] for k in keys if k in lstm["config"]}
    return _layer(layout, "LSTMCell", {**conf, **(extra or {})})


def wrapped_model(layout: str, place: str, extra: dict | None = None) -> tuple[dict, str]:
    """The CL001 sample (Keras 3 or tf.keras layout) with a wrapper at `place`, and `extra`
    (key -> payload) in the sub-config of that place. Returns (config, node holding it)."""
    config = _base(layout)
    layers = config["config"]["layers"]
    at = next(i for i, l in enumerate(layers) if l["class_name"] == "LSTM")
    lstm = layers[at]
    inner = copy.deepcopy(lstm)
    inner.pop("inbound_nodes")
    inner.pop("build_config", None)
    extra = extra or {}
    if place in ("bidirectional.layer", "bidirectional.backward_layer"):
        backward = copy.deepcopy(inner)
        backward["config"].update(name="backward_lstm", go_backwards=True)
        (inner if place == "bidirectional.layer" else backward)["config"].update(extra)
        layers[at] = _layer(layout, "Bidirectional", {
            "name": "lstm", "merge_mode": "sum", "layer": inner, "backward_layer": backward},
            like=lstm)
        return config, "lstm"
    if place == "rnn.cell":
        layers[at] = _layer(layout, "RNN", {"name": "lstm", "return_sequences": False,
                                            "cell": _cell(layout, inner, extra)}, like=lstm)
        return config, "lstm"
    if place == "rnn.stacked_cells":
        cells = _layer(layout, "StackedRNNCells", {
            "cells": [_cell(layout, inner), _cell(layout, inner, extra)]})
        layers[at] = _layer(layout, "RNN", {"name": "lstm", "return_sequences": False,
                                            "cell": cells}, like=lstm)
        return config, "lstm"
    assert place == "time_distributed"  # TimeDistributed(Dense) between Reshape and LSTM
    dense = _layer(layout, "Dense", {"name": "dense_td", "units": 8})
    wrapper = _layer(layout, "TimeDistributed", {"name": "time_distributed", "layer": dense,
                                                 **extra}, like=lstm)
    wrapper["name"] = "time_distributed"
    lstm["inbound_nodes"] = copy.deepcopy(lstm["inbound_nodes"])
    if layout == "keras3":
        lstm["inbound_nodes"][0]["args"][0]["config"]["keras_history"][0] = "time_distributed"
    else:
        lstm["inbound_nodes"][0][0][0] = "time_distributed"
    layers.insert(at, wrapper)
    return config, "time_distributed/dense_td"


def write_model(path, layout: str, config: dict) -> None:
    if layout == "keras3":
        write_keras(path, config)
    else:
        path.write_text(json.dumps(config))


LAYOUTS = ["keras3", "tfkeras2"]
PLACES = ["bidirectional.layer", "bidirectional.backward_layer", "rnn.cell",
          "rnn.stacked_cells", "time_distributed"]


def _suffix(layout: str) -> str:
    return ".keras" if layout == "keras3" else ".json"


def assert_unsafe(run, where: str | None, whats: list[str]) -> None:
    """Each of `whats` is a CL900 error on `where` (None: on the model config)."""
    unsafe = [f for f in _findings(run) if f["code"] == "CL900"]
    for what in whats:
        hits = [f for f in unsafe if what in f["message"] and f["severity"] == "error" and
                (f"`{where}`" in f["message"] if where else
                 f["message"].startswith("The model config holds"))]
        assert hits, (where, what, [f["message"] for f in unsafe])


@pytest.mark.parametrize("place", PLACES)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_unsafe_content_in_wrapped_sub_configs(layout, place, tmp_path):
    path = _models(tmp_path) / f"{place}{_suffix(layout)}"
    extra, whats = payloads(layout, tmp_path / CANARY)
    config, where = wrapped_model(layout, place, extra)
    write_model(path, layout, config)
    run = run_lint(str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, seconds=30)
    assert run.returncode == 1 and run.stderr == "", (run.returncode, run.stderr)
    assert_unsafe(run, where, whats)


def test_clean_wrapped_sub_configs_are_not_unsafe(tmp_path):
    """The same wrappers without payloads: no CL900 (and the model is still linted)."""
    models = _models(tmp_path)
    for layout in LAYOUTS:
        for place in PLACES:
            write_model(models / f"{place}{_suffix(layout)}", layout,
                        wrapped_model(layout, place)[0])
    run = run_lint(str(models), cwd=tmp_path, timeout=60)
    assert_contained(run, tmp_path)
    assert run.stderr == "" and run.returncode in (0, 1), run.stderr
    files = run.report()["files"]
    assert len(files) == len(LAYOUTS) * len(PLACES)
    for entry in files:
        assert entry["status"] == "ok", entry
        assert "CL900" not in {f["code"] for f in entry["findings"]}, entry
    bidirectional = next(e for e in files if e["path"].endswith("bidirectional.layer.keras"))
    assert "CL001" in {f["code"] for f in bidirectional["findings"]}, bidirectional


def unsafe_elsewhere(place: str, canary) -> tuple[dict, str | None]:
    """The Keras 3 sample with payloads where no node is made of them."""
    config = keras_config()
    conf = config["config"]
    extra, _ = payloads("keras3", canary)
    if place == "input_layer":
        conf["layers"][0]["config"].update(extra)
        return config, "input_layer"
    if place == "uncalled_layer":  # listed, so deserialized by load_model, but never called
        conf["layers"].append({"module": "keras.layers", "class_name": "Dense", "name": "stray",
                               "config": {"name": "stray", "units": 2, **extra},
                               "registered_name": None, "inbound_nodes": []})
        return config, "stray"
    assert place == "model_config"
    conf.update(extra)
    return config, None


@pytest.mark.parametrize("place", ["input_layer", "uncalled_layer", "model_config"])
def test_unsafe_content_outside_any_node(place, tmp_path):
    path = _models(tmp_path) / f"{place}.keras"
    config, where = unsafe_elsewhere(place, tmp_path / CANARY)
    write_keras(path, config)
    run = run_lint(str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, seconds=30)
    assert run.returncode == 1 and run.stderr == "", (run.returncode, run.stderr)
    assert_unsafe(run, where, payloads("keras3", tmp_path / CANARY)[1])
    assert "CL001" in {f["code"] for f in _findings(run)}


# -- 3. HDF5 hard-link cycles ----------------------------------------------------------------


def h5_hard_link_loops(path) -> None:
    """The sample .h5 plus a chain of groups, each hard-linking back to its parent and to
    the root (a walk that follows them never ends)."""
    copy_h5(H5, path)
    with h5py.File(path, "a") as fh:
        parent = fh["model_weights"]
        for i in range(8):
            group = parent.create_group(f"g{i}")
            group["up"] = parent  # assigning a group makes a hard link
            group["root"] = fh
            group["self"] = group
            parent = group
        fh["again"] = fh["model_weights"]


def test_h5_hard_link_cycles_are_walked_once(tmp_path):
    path = _models(tmp_path) / "loops.h5"
    h5_hard_link_loops(path)
    run = run_lint(str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, seconds=30, rss=512 * 1024**2)  # was 3.75 GB
    assert run.returncode == 1 and run.stderr == "", run.stderr
    assert {f["code"] for f in _findings(run)} == {"CL001"}


def test_h5_unsafe_links_are_still_found_behind_a_cycle(tmp_path):
    path = _models(tmp_path) / "loops_soft.h5"
    h5_hard_link_loops(path)
    with h5py.File(path, "a") as fh:
        fh["model_weights/g0/g1"]["soft"] = h5py.SoftLink("/model_weights")
    run = run_lint(str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, seconds=30, rss=512 * 1024**2)
    unsafe = [f["message"] for f in _findings(run) if f["code"] == "CL900"]
    assert any("/g0/g1/soft` is a soft link to /model_weights" in m for m in unsafe), unsafe


# -- 4. zip64 decoy --------------------------------------------------------------------------

CD_ENTRIES = 1_250_000  # a 64 MiB central directory (as test_hostile's huge_central_directory)


def central_directory(count: int, header_offset: int) -> bytes:
    entry = struct.Struct("<4s6H3L5H2L")
    return b"".join(entry.pack(b"PK\x01\x02", 20, 20, 0, 0, 0, 0, 0, 0, 0, 7, 0, 0, 0, 0, 0,
                               header_offset) + b"%07x" % i for i in range(count))


def _zip64_record(entries: int, size: int, offset: int) -> bytes:
    return struct.pack("<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, size,
                       offset)


def zip64_decoy() -> bytes:
    """[local][decoy zip64 record][central directory][zip64 record][locator][end record].

    zipfile (3.10-3.13.0) takes the zip64 record right before the locator (1.25 million
    entries); the locator's own offset points at the decoy (1 entry, 46 bytes)."""
    local = _local(b"config.json", b"{}")
    decoy_at = len(local)
    decoy = _zip64_record(1, 46, decoy_at + 56)
    cd_at = decoy_at + len(decoy)
    cd = central_directory(CD_ENTRIES, 0)
    record = _zip64_record(CD_ENTRIES, len(cd), cd_at)
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, decoy_at, 1)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, 0xFFFF, 0xFFFF, 0xFFFFFFFF,
                      0xFFFFFFFF, 0)
    return local + decoy + cd + record + locator + end


def test_zip64_decoy_record_is_refused(tmp_path):
    path = _models(tmp_path) / "zip64_decoy.keras"
    path.write_bytes(zip64_decoy())
    run = run_lint(str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, seconds=10, rss=256 * 1024**2)  # was 1.16 GB, 20 s
    # 3.10-3.13.0 take the 1.25 million entries: over the limits. Later zipfiles read the
    # locator's record, and find it does not end where the directory does: corrupt.
    _refused(run, path, "")
    assert " over " in run.lines[0] or "corrupt zip archive" in run.lines[0], run.lines


def test_directory_read_is_bounded_even_if_the_pre_check_is_fooled(tmp_path, monkeypatch):
    """Whatever the end records say, zipfile reads at most MAX_DIRECTORY_BYTES of central
    directory: the file it reads from refuses more."""
    from cnnlstm_lint.loaders import keras_file
    from cnnlstm_lint.loaders.errors import LoadError

    path = tmp_path / "huge.keras"
    local = _local(b"config.json", b"{}")
    cd = central_directory(400_000, 0)  # 21 MB, honest records
    path.write_bytes(local + cd + _eocd(1, len(cd), len(local)))
    monkeypatch.setattr(keras_file, "_check_directory_size", lambda fh: None)
    with pytest.raises(LoadError, match="central directory .* over the"):
        keras_file.read_keras_zip(str(path))


# -- 5. .npz members -------------------------------------------------------------------------


def npz_huge_directory(count: int) -> bytes:
    """An .npz (a zip) with a 64 MiB central directory; its end record says `count`."""
    local = _local(b"a.npy", b"")
    cd = central_directory(CD_ENTRIES, 0)
    return local + cd + _eocd(count, len(cd), len(local))


@pytest.mark.parametrize("count", [0xFFFF, 1], ids=["honest-count", "lying-count"])
def test_npz_with_a_huge_inner_directory_is_refused(count, tmp_path):
    path = _models(tmp_path) / "npz_directory.keras"
    members = dict(KERAS_MEMBERS)
    members["model.weights.npz"] = npz_huge_directory(count)
    write_zip(path, members)
    run = run_lint(str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, seconds=15, rss=400 * 1024**2)
    _refused(run, path, "model.weights.npz")


def _deflated_zip(members: list[tuple[str, bytes]]) -> bytes:
    """A zip of deflated members, each compressed once here (zipfile would recompress)."""
    blob, cd, done = b"", b"", {}
    for name, data in members:
        if id(data) not in done:
            comp = zlib.compressobj(9, zlib.DEFLATED, -15)
            done[id(data)] = (comp.compress(data) + comp.flush(), zlib.crc32(data))
        packed, crc = done[id(data)]
        raw = name.encode()
        cd += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, 8, 0, 0, crc, len(packed),
                          len(data), len(raw), 0, 0, 0, 0, 0, len(blob)) + raw
        blob += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, 8, 0, 0, crc, len(packed),
                            len(data), len(raw), 0) + raw + packed
    count = len(members)
    return blob + cd + struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, count, count, len(cd),
                                   len(blob), 0)


def test_many_one_mib_npz_members_have_one_inflate_budget(tmp_path):
    """3000 valid 1 MiB .npz members (1 KiB each compressed: under the ratio check's 1 MiB
    floor): 3 GiB to inflate if each were read whole."""
    buf = io.BytesIO()
    np.savez(buf, weights=np.zeros((1024**2 - 512) // 4, "f4"))
    npz = buf.getvalue()
    assert len(npz) <= 1024**2
    members = [(name, data if isinstance(data, bytes) else data.encode())
               for name, data in KERAS_MEMBERS.items()]
    members += [(f"assets/w{i}.npz", npz) for i in range(3000)]
    path = _models(tmp_path) / "many_npz.keras"
    path.write_bytes(_deflated_zip(members))
    run = run_lint(str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, seconds=15, rss=400 * 1024**2)  # was 26 s, ~10 GiB inflated
    _refused(run, path, "inflate")


def test_npz_object_array_after_many_arrays_is_found(tmp_path):
    """Every inner array is looked at (not only the first 1000), 256 bytes of each."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as npz:
        for i in range(1500):
            arr = io.BytesIO()
            np.save(arr, np.zeros(4, "f4"))
            npz.writestr(f"a{i}.npy", arr.getvalue())
        arr = io.BytesIO()
        np.save(arr, np.array([None], dtype=object), allow_pickle=True)
        npz.writestr("late.npy", arr.getvalue())
    path = _models(tmp_path) / "late_object.keras"
    write_keras(path, model_DOT_weights_DOT_npz=buf.getvalue())
    run = run_lint(str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, seconds=15)
    assert run.returncode == 1 and run.stderr == "", run.stderr
    unsafe = [f["message"] for f in _findings(run) if f["code"] == "CL900"]
    assert any("'late.npy' is an object array" in m for m in unsafe), unsafe


# -- 6. UTF-16 / UTF-32 JSON -----------------------------------------------------------------

DEPTH = 300  # over MAX_JSON_DEPTH (200), under what json itself would recurse into


def deep_unicode_json(encoding: str) -> bytes:
    """The CL001 config with a 300-deep list in a layer, in `encoding`. U+2200 is `00 22`
    (LE) or `22 00` (BE): read as UTF-8 it is one more quote, which flips string/not-string
    for everything after it and hides the brackets."""
    config = {"x\u2200": 1, **keras_config()}  # first: everything after it is flipped
    nested = "[" * DEPTH + "1" + "]" * DEPTH
    text = json.dumps(config, ensure_ascii=False).replace('"bias_constraint": null',
                                                          f'"bias_constraint": {nested}', 1)
    assert nested in text
    return text.encode(encoding)


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le"])
def test_deep_unicode_json_file_is_refused(encoding, tmp_path):
    path = _models(tmp_path) / "deep.json"
    path.write_bytes(deep_unicode_json(encoding))
    run = run_lint(str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, seconds=10, rss=256 * 1024**2)
    _refused(run, path, "nested too deeply (over 200 levels)")


def test_deep_utf16_config_json_in_keras_is_refused(tmp_path):
    path = _models(tmp_path) / "deep_utf16.keras"
    write_zip(path, {**KERAS_MEMBERS, "config.json": deep_unicode_json("utf-16")})
    run = run_lint(str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, seconds=10, rss=256 * 1024**2)
    _refused(run, path, "config.json is nested too deeply (over 200 levels)")


@pytest.mark.parametrize("encoding", ["utf-16", "utf-32-be"])
def test_shallow_unicode_json_is_linted(encoding, tmp_path):
    path = _models(tmp_path) / "utf.json"
    path.write_bytes(json.dumps(keras_config()).encode(encoding))
    run = run_lint(str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, seconds=30)
    assert run.returncode == 1 and run.stderr == "", run.stderr
    assert {f["code"] for f in _findings(run)} == {"CL001"}


# -- 7. HDF5 user blocks ---------------------------------------------------------------------


def h5_with_userblock(path, size: int) -> None:
    with h5py.File(H5, "r") as src, h5py.File(path, "w", userblock_size=size) as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value


def _summary(run) -> list[tuple]:
    return sorted((f["code"], f["node"], f["message"]) for f in _findings(run))


@pytest.mark.parametrize("size", [512, 1024, 4096, 65536])
def test_h5_with_a_user_block_lints_like_the_original(size, tmp_path):
    path = _models(tmp_path) / f"userblock{size}.h5"
    h5_with_userblock(path, size)
    with open(path, "rb") as fh:
        fh.seek(size)
        assert fh.read(8) == b"\x89HDF\r\n\x1a\n"
    original = run_lint(H5, cwd=tmp_path, timeout=30)
    run = run_lint(str(path), cwd=tmp_path, timeout=30)
    assert_contained(run, tmp_path, seconds=30)
    assert run.returncode == 1 and run.stderr == "", run.stderr
    assert _summary(run) == _summary(original)
    assert ("CL001", "lstm") in {(f["code"], f["node"]) for f in _findings(run)}


def test_sniff_finds_the_superblock_at_a_power_of_two(tmp_path):
    from cnnlstm_lint.loaders.errors import LoadError
    from cnnlstm_lint.loaders.sniff import sniff

    magic = b"\x89HDF\r\n\x1a\n"
    path = tmp_path / "x.h5"
    path.write_bytes(b"\0" * 8192 + magic + b"\0" * 100)
    assert sniff(str(path)) == "hdf5"
    path.write_bytes(b"\0" * 3000 + magic + b"\0" * 100)  # not a power of two
    with pytest.raises(LoadError, match="unrecognised file format"):
        sniff(str(path))
