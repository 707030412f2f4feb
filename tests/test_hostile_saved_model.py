"""Hostile SavedModel directories (generated here, harmless canaries only).

keras_metadata.pb is read whole and decoded in pure Python, so each case checks that a
crafted one is refused in bounded time and memory with one line `error: DIR: reason`
(exit 2), and that the other model in the same run is still linted: an oversized or
truncated file, garbage and over-long protobuf, metadata JSON nested too deeply or with
huge numbers, links where the member files should be, a FIFO. saved_model.pb is never
read, whatever it holds.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from conftest import SAMPLES
from test_hostile import CANARY, assert_contained, run_lint
from test_saved_model import (CL001, field, keras_metadata, saved_object, tf2_root_metadata,
                              varint, write_saved_model)

OTHER = os.path.join(SAMPLES, "cl005_gap_single_step.keras")  # CL005, linted alongside
METADATA = os.path.join(CL001, "keras_metadata.pb")


def real_metadata() -> bytes:
    with open(METADATA, "rb") as fh:
        return fh.read()


def _refused(tmp_path, sm: str, reason: str, *extra: str) -> None:
    run = run_lint(*extra, sm, OTHER, cwd=tmp_path)
    assert_contained(run, tmp_path)
    assert run.returncode == 2, (run.stdout[-2000:], run.stderr)
    assert len(run.lines) == 1, run.lines
    assert run.lines[0].startswith(f"error: {sm}: "), run.lines
    assert reason in run.lines[0], run.lines[0]
    other = run.report()["files"][1]
    assert other["status"] == "ok" and [f["code"] for f in other["findings"]] == ["CL005"]


def make_oversized(sm):
    write_saved_model(sm, None)
    with open(os.path.join(sm, "keras_metadata.pb"), "wb") as fh:
        fh.truncate(64 * 1024**2 + 1)  # sparse: no disk, never read


def make_garbage(sm):
    write_saved_model(sm, bytes(range(256)) * 64)


def make_truncated(sm):
    write_saved_model(sm, real_metadata()[: len(real_metadata()) // 2])


def make_deep_json(sm):
    write_saved_model(sm, keras_metadata('{"config": ' * 100_000 + "1" + "}" * 100_000))


def make_huge_int(sm):
    write_saved_model(sm, keras_metadata('{"class_name": "Functional", "config": {"layers": [], '
                                         '"name": ' + "9" * 100_000 + "}}"))


def make_not_utf8(sm):
    write_saved_model(sm, keras_metadata(b'{"class_name": "\xff\xfe"}'))


def make_overlong_varint(sm):
    write_saved_model(sm, field(1, b"\x10" + b"\xff" * 11 + b"\x01"))


def make_too_many_fields(sm):
    write_saved_model(sm, field(1, saved_object(0, "root", "_tf_keras_network", "{}"))
                      + b"\x78\x00" * 1_000_001)  # field 15, varint 0: unknown, skipped


def make_group(sm):
    write_saved_model(sm, b"\x0b\x0c")  # a group (wire type 3): tf_keras writes none


def make_empty_metadata(sm):
    write_saved_model(sm, b"")


def make_no_root(sm):
    write_saved_model(sm, field(1, saved_object(7, "root.layer-0", "_tf_keras_layer", "{}")))


def make_root_without_config(sm):
    write_saved_model(sm, keras_metadata(json.dumps({"class_name": "Functional"})))


def make_metadata_is_a_directory(sm):
    write_saved_model(sm, None)
    os.makedirs(os.path.join(sm, "keras_metadata.pb"))


def make_fifo(sm):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs here")
    write_saved_model(sm, None)
    os.mkfifo(os.path.join(sm, "keras_metadata.pb"))  # would block a reader for ever


CASES = [
    ("oversized", make_oversized, "keras_metadata.pb is 67108865 bytes, over the 67108864-byte limit"),
    ("garbage", make_garbage, "keras_metadata.pb is truncated or not a Keras metadata protobuf"),
    ("truncated", make_truncated, "keras_metadata.pb is truncated or not a Keras metadata protobuf"),
    ("deep_json", make_deep_json, "metadata in keras_metadata.pb is nested too deeply"),
    ("huge_int", make_huge_int, "an integer in the config has over 32 digits"),
    ("not_utf8", make_not_utf8, "the root object's metadata in keras_metadata.pb is not UTF-8 text"),
    ("overlong_varint", make_overlong_varint, "is over ten bytes long"),
    ("too_many_fields", make_too_many_fields, "keras_metadata.pb has over 1000000 protobuf fields"),
    ("group", make_group, "wire type 3"),
    ("empty_metadata", make_empty_metadata, "keras_metadata.pb lists no Keras objects"),
    ("no_root", make_no_root, "keras_metadata.pb lists no root object (node 0)"),
    ("root_without_config", make_root_without_config, "holds no model config"),
    ("metadata_dir", make_metadata_is_a_directory, "keras_metadata.pb is not a regular file"),
    ("fifo", make_fifo, "keras_metadata.pb is not a regular file"),
]


@pytest.mark.parametrize("name,make,reason", CASES, ids=[c[0] for c in CASES])
def test_a_crafted_keras_metadata_is_refused(tmp_path, name, make, reason):
    sm = str(tmp_path / name)
    make(sm)
    _refused(tmp_path, sm, reason)


def test_the_max_file_size_bounds_keras_metadata(tmp_path):
    sm = str(tmp_path / "sm")
    shutil.copytree(CL001, sm)
    run = run_lint("--max-file-size", "1K", sm, cwd=tmp_path)
    assert_contained(run, tmp_path)
    assert run.returncode == 2
    assert run.lines == [f"error: {sm}: keras_metadata.pb is {os.path.getsize(METADATA)} bytes, "
                         "over the 1024-byte limit"]


def test_saved_model_pb_is_never_read(tmp_path):
    """The marker may hold anything, at any size: only its presence counts."""
    sm = str(tmp_path / "sm")
    shutil.copytree(CL001, sm)
    with open(os.path.join(sm, "saved_model.pb"), "wb") as fh:
        fh.write(b"\xff" * 1000)
        fh.truncate(3 * 1024**3)  # sparse, over --max-file-size's default
    run = run_lint(sm, cwd=tmp_path)
    assert_contained(run, tmp_path)
    assert run.returncode == 1, run.stderr
    assert [f["code"] for f in run.report()["files"][0]["findings"]] == ["CL001"]


@pytest.mark.parametrize("member", ["keras_metadata.pb", "saved_model.pb"])
def test_a_linked_member_is_not_followed_unless_asked(tmp_path, member):
    sm = str(tmp_path / "sm")
    shutil.copytree(CL001, sm)
    target = tmp_path / f"elsewhere-{member}"
    os.replace(os.path.join(sm, member), target)
    os.symlink(target, os.path.join(sm, member))
    _refused(tmp_path, sm, f"{member} is a symbolic link (to {str(target)!r}); pass "
                           "--follow-symlinks to lint its target")
    run = run_lint("--follow-symlinks", sm, cwd=tmp_path)
    assert run.returncode == 1, run.stderr
    assert [f["code"] for f in run.report()["files"][0]["findings"]] == ["CL001"]


def test_a_broken_link_for_keras_metadata(tmp_path):
    sm = str(tmp_path / "sm")
    write_saved_model(sm, None)
    os.symlink(tmp_path / "gone", os.path.join(sm, "keras_metadata.pb"))
    _refused(tmp_path, sm, "keras_metadata.pb is a broken symbolic link", "--follow-symlinks")


def test_a_linked_saved_model_directory_is_not_followed_unless_asked(tmp_path):
    real = tmp_path / "real"
    shutil.copytree(CL001, real)
    link = tmp_path / "sm"
    os.symlink(real, link)
    _refused(tmp_path, str(link), "is a symbolic link")
    run = run_lint("--follow-symlinks", str(link), cwd=tmp_path)
    assert run.returncode == 1, run.stderr


def test_a_lambda_in_the_metadata_is_reported_and_never_run(tmp_path):
    """Lambda bytecode that would write the canary if unmarshalled and called: CL900,
    and the canary stays unwritten."""
    import base64
    import marshal

    from test_hostile import canary_lambda_code

    code = base64.b64encode(marshal.dumps(canary_lambda_code(tmp_path / CANARY))).decode()
    config = json.load(open(os.path.join(SAMPLES, "legacy_tfkeras_cl001.json")))
    layer = config["config"]["layers"][3]
    layer["class_name"] = "Lambda"
    layer["config"] = {"name": "reshape", "function": [code, None, None],
                       "function_type": "lambda", "output_shape": [225, 8],
                       "output_shape_type": "raw"}
    sm = str(tmp_path / "sm")
    write_saved_model(sm, keras_metadata(tf2_root_metadata(config)))
    run = run_lint(sm, cwd=tmp_path)
    assert_contained(run, tmp_path)
    assert run.returncode == 1, run.stderr
    cl900 = [f for f in run.report()["files"][0]["findings"] if f["code"] == "CL900"]
    assert len(cl900) == 1 and "Lambda bytecode" in cl900[0]["message"]
    assert cl900[0]["node"] == "reshape"


def test_a_varint_helper_round_trip():
    """The test encoder writes what the reader decodes (its multi-byte numbers)."""
    from cnnlstm_lint.loaders.saved_model import _root_object

    text = "x" * 300  # a length over 127: a two-byte varint
    data = keras_metadata(text) + field(1, saved_object(9, "root.layer-1", "_tf_keras_layer", "{}"))
    assert varint(300) == b"\xac\x02"
    assert _root_object(data) == ("_tf_keras_network", text, 3)
