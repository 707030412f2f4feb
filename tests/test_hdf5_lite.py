"""The pure-Python HDF5 reader (loaders/hdf5_lite.py) against h5py.

For every sample .h5 and for files built here with h5py (soft, external and hard links
in cycles, external storage, virtual datasets, user blocks, fixed-length strings,
libver="latest", superblock version 1), the lite reader gives exactly what the h5py path
gives (the model_config text, the unsafe list in order), or says the file is not in its
subset, and then read_hdf5 falls back to h5py. Damaged files give a result, NotInSubset
or LoadError, never another exception or a hang. A `.h5` lint imports neither h5py nor
numpy.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import ROOT, SAMPLES, run_cli
from cnnlstm_lint.loaders import hdf5_lite, keras_file
from cnnlstm_lint.loaders.errors import LoadError
from cnnlstm_lint.loaders.hdf5_lite import NotInSubset

h5py = pytest.importorskip("h5py")
np = pytest.importorskip("numpy")

H5 = os.path.join(SAMPLES, "cl001_spatial_reshape.h5")  # Keras 3, CL001 on `lstm`
H5_TFKERAS2 = os.path.join(SAMPLES, "legacy_tfkeras_cl001.h5")  # tf.keras 2
SAMPLE_FILES = sorted(glob.glob(os.path.join(SAMPLES, "**", "*.h5"), recursive=True))


def by_h5py(path) -> tuple[str | bytes, list]:
    """What the h5py path reads: the raw attribute and _hdf5_unsafe's list."""
    with h5py.File(path, "r") as fh:
        return fh.attrs["model_config"], keras_file._hdf5_unsafe(fh)


def same_as_h5py(path) -> tuple[str | bytes, list]:
    lite, full = hdf5_lite.read(str(path)), by_h5py(path)
    assert lite == full
    assert isinstance(lite[0], str) == isinstance(full[0], str)  # h5py: str or numpy bytes
    return lite


def falls_back(path) -> tuple[dict, list]:
    with pytest.raises(NotInSubset):
        hdf5_lite.read(str(path))
    return keras_file.read_hdf5(str(path))


# -- the samples ----------------------------------------------------------------------------


def test_there_are_keras3_and_tfkeras2_samples():
    names = {os.path.basename(p) for p in SAMPLE_FILES}
    assert len(SAMPLE_FILES) > 50 and "legacy_tfkeras_cl001.h5" in names
    assert any(n.startswith("tfk_") for n in names)


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: os.path.relpath(p, SAMPLES))
def test_samples_read_as_h5py_reads_them(path):
    raw, unsafe = same_as_h5py(path)
    assert isinstance(raw, str) and unsafe == []  # Keras writes a variable-length string
    assert keras_file.read_hdf5(path)[0] == json.loads(raw)


@pytest.mark.parametrize("path", [H5, H5_TFKERAS2, os.path.join(SAMPLES, "good_crnn_ocr.h5")])
def test_large_files_are_read_piece_by_piece_alike(path, monkeypatch):
    whole = hdf5_lite.read(path)
    monkeypatch.setattr(hdf5_lite, "WHOLE_FILE_BYTES", 0)  # as for a file of many MiB
    assert hdf5_lite.read(path) == whole


# -- files built with h5py ------------------------------------------------------------------


def copy_sample(tmp_path, name="m.h5", src=H5) -> Path:
    path = tmp_path / name
    shutil.copyfile(src, path)
    return path


def test_soft_links_are_reported_not_followed(tmp_path):
    path = copy_sample(tmp_path)
    with h5py.File(path, "a") as fh:
        fh["model_weights"]["loop"] = h5py.SoftLink("/model_weights")
        fh["dangling"] = h5py.SoftLink("/nowhere/at/all")
        fh["model_weights/lstm"]["up"] = h5py.SoftLink("..")
    _, unsafe = same_as_h5py(path)
    assert ("/model_weights/loop", "is a soft link to /model_weights") in unsafe
    assert ("/dangling", "is a soft link to /nowhere/at/all") in unsafe
    assert len(unsafe) == 3


def test_external_links_fall_back_to_h5py_and_are_reported(tmp_path):
    path = copy_sample(tmp_path)
    with h5py.File(path, "a") as fh:
        fh["model_weights"]["evil"] = h5py.ExternalLink(str(tmp_path / "secret.h5"), "/data")
    _, unsafe = falls_back(path)
    assert unsafe == [("/model_weights/evil",
                       f"is an external link to {tmp_path / 'secret.h5'}:/data")]


def test_external_storage_is_reported(tmp_path):
    path = copy_sample(tmp_path)
    with h5py.File(path, "a") as fh:
        fh.create_dataset("ext", shape=(16,), dtype="f4",
                          external=[(str(tmp_path / "secret.bin"), 0, h5py.h5f.UNLIMITED)])
        names = [(str(tmp_path / f"part{i}.bin"), 0, 64) for i in range(5)]
        fh["model_weights"].create_dataset("parts", shape=(80,), dtype="f4", external=names)
    _, unsafe = same_as_h5py(path)
    assert [u[0] for u in unsafe] == ["/ext", "/model_weights/parts"]  # the root's first
    assert unsafe[0][1] == f"stores its data in external files {[str(tmp_path / 'secret.bin')]}"
    assert "part2.bin" in unsafe[1][1] and "part3.bin" not in unsafe[1][1]  # three at most


def test_virtual_datasets_are_reported(tmp_path):
    path = copy_sample(tmp_path)
    layout = h5py.VirtualLayout(shape=(16,), dtype="f4")
    layout[:] = h5py.VirtualSource(str(tmp_path / "secret.h5"), "data", shape=(16,))
    with h5py.File(path, "a") as fh:
        fh.create_virtual_dataset("virtual", layout)
    _, unsafe = same_as_h5py(path)
    assert unsafe == [("/virtual", "is a virtual dataset mapping other files")]


def test_hard_link_cycles_are_walked_once(tmp_path):
    path = copy_sample(tmp_path)
    with h5py.File(path, "a") as fh:
        parent = fh["model_weights"]
        for i in range(8):
            group = parent.create_group(f"g{i}")
            group["up"], group["root"], group["self"] = parent, fh, group
            parent = group
        fh["again"] = fh["model_weights"]
        fh["model_weights/g0/g1"]["soft"] = h5py.SoftLink("/model_weights")
        fh["model_weights/g0/g1/g2/g3"]["kernel_again"] = fh["model_weights/dense/dense/kernel"]
    _, unsafe = same_as_h5py(path)
    # "again" sorts before "model_weights": the group is first met, and named, by it
    assert unsafe == [("/again/g0/g1/soft", "is a soft link to /model_weights")]


def test_committed_datatypes_and_shared_messages(tmp_path):
    path = copy_sample(tmp_path)
    with h5py.File(path, "a") as fh:
        fh["kind"] = np.dtype("<f4")  # a named datatype: an object of its own
        fh["model_weights"].create_dataset("typed", shape=(4,), dtype=fh["kind"])
        fh["model_weights"].create_dataset("ext", shape=(4,), dtype=fh["kind"],
                                           external=[("far.bin", 0, 16)])
    _, unsafe = same_as_h5py(path)
    assert unsafe == [("/model_weights/ext", "stores its data in external files ['far.bin']")]


def test_many_links_in_one_group_span_b_tree_levels(tmp_path):
    """Enough entries for several symbol table nodes under a two-level B-tree; the names'
    order (the B-tree's) is the order h5py lists them in."""
    path = copy_sample(tmp_path)
    with h5py.File(path, "a") as fh:
        group = fh.create_group("many")
        for i in range(1500):
            group[f"s{i:05d}"] = h5py.SoftLink(f"/to/{i}")
    _, unsafe = same_as_h5py(path)
    assert [u[0] for u in unsafe] == [f"/many/s{i:05d}" for i in range(1500)]


def test_the_link_cap_raises_as_the_h5py_path_does(tmp_path, monkeypatch):
    path = copy_sample(tmp_path)
    with h5py.File(path, "a") as fh:
        for i in range(40):
            fh.create_group(f"extra{i}")
    monkeypatch.setattr(hdf5_lite, "MAX_HDF5_LINKS", 30)
    monkeypatch.setattr(keras_file, "MAX_HDF5_LINKS", 30)
    with pytest.raises(LoadError, match="HDF5 file has over 30 links") as lite:
        hdf5_lite.read(str(path))
    with pytest.raises(LoadError) as full, h5py.File(path, "r") as fh:
        keras_file._hdf5_unsafe(fh)
    assert lite.value.reason == full.value.reason


@pytest.mark.parametrize("size", [512, 1024, 4096, 65536])
def test_a_user_block_moves_the_base_address(size, tmp_path):
    path = tmp_path / "ub.h5"
    with h5py.File(H5, "r") as src, h5py.File(path, "w", userblock_size=size) as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        src.copy("model_weights", dst)
        dst["s"] = h5py.SoftLink("/model_weights")
    with open(path, "r+b") as fh:
        fh.write(b"\x89HDF\r\n\x1a\n"[:4] + b"not this one")  # user block bytes, no signature
    raw, unsafe = same_as_h5py(path)
    assert raw == by_h5py(H5)[0] and unsafe == [("/s", "is a soft link to /model_weights")]


def test_a_file_moved_after_a_user_block_of_its_own(tmp_path):
    """512 bytes put before a file written without a user block: its base address field
    says 0, the library (and this reader) takes the superblock's offset instead."""
    path = tmp_path / "moved.h5"
    path.write_bytes(b"#!user block\n".ljust(512, b"\0") + Path(H5).read_bytes())
    raw, unsafe = same_as_h5py(path)
    assert raw == by_h5py(H5)[0] and unsafe == []


@pytest.mark.parametrize("pad", ["NULLTERM", "NULLPAD", "SPACEPAD"])
@pytest.mark.parametrize("charset", ["ASCII", "UTF8"])
def test_fixed_length_string_configs(pad, charset, tmp_path):
    """Fixed-length strings (older Keras wrote bytes), each padding as h5py reads it."""
    path = copy_sample(tmp_path)
    text = by_h5py(H5)[0].encode()
    for value in [b"a\0b \0 c  \0\0", text + b" \0\0"]:  # embedded NULs, then a config
        with h5py.File(path, "a") as fh:
            del fh.attrs["model_config"]
            kind = h5py.h5t.C_S1.copy()
            kind.set_size(len(value))
            kind.set_strpad(getattr(h5py.h5t, f"STR_{pad}"))
            kind.set_cset(getattr(h5py.h5t, f"CSET_{charset}"))
            attr = h5py.h5a.create(fh.id, b"model_config", kind,
                                   h5py.h5s.create(h5py.h5s.SCALAR))
            attr.write(np.array(value, dtype=f"S{len(value)}"), mtype=kind)
        raw, _ = same_as_h5py(path)
        assert isinstance(raw, bytes)
    assert keras_file.read_hdf5(str(path))[0] == json.loads(text)


def test_a_numpy_bytes_config_as_test_hostile_writes_it(tmp_path):
    path = copy_sample(tmp_path)
    with h5py.File(path, "a") as fh:
        text = fh.attrs["model_config"]
        del fh.attrs["model_config"]
        fh.attrs["model_config"] = np.bytes_(text.encode())
    raw, _ = same_as_h5py(path)
    assert raw == text.encode()


def test_a_non_ascii_variable_length_config(tmp_path):
    path = copy_sample(tmp_path)
    with h5py.File(path, "a") as fh:
        config = json.loads(fh.attrs["model_config"])
        config["config"]["name"] = "modèle ✓"
        fh.attrs["model_config"] = json.dumps(config, ensure_ascii=False)
    same_as_h5py(path)
    assert keras_file.read_hdf5(str(path))[0]["config"]["name"] == "modèle ✓"


def _libhdf5():
    """The HDF5 library h5py has loaded, for a call h5py does not wrap."""
    import ctypes

    try:
        with open("/proc/self/maps") as fh:
            paths = {line.split()[-1] for line in fh if "libhdf5" in line and "_hl" not in line}
    except OSError:
        paths = set()
    if len(paths) != 1:
        pytest.skip("cannot find the HDF5 library h5py uses")
    return ctypes.CDLL(paths.pop())


def test_superblock_version_1(tmp_path):
    import ctypes

    path = tmp_path / "sb1.h5"
    fcpl = h5py.h5p.create(h5py.h5p.FILE_CREATE)
    set_istore_k = _libhdf5().H5Pset_istore_k
    set_istore_k.argtypes = [ctypes.c_int64, ctypes.c_uint]
    # a non-default indexed-storage K needs superblock version 1
    assert set_istore_k(fcpl.id, 64) >= 0
    fid = h5py.h5f.create(str(path).encode(), fcpl=fcpl)
    with h5py.File(fid) as dst, h5py.File(H5, "r") as src:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        src.copy("model_weights", dst)
    version = path.read_bytes()[8]
    if version != 1:  # the HDF5 library h5py ships decides (some write version 2 here)
        pytest.skip(f"this HDF5 library writes superblock version {version} for a non-default K")
    same_as_h5py(path)


@pytest.mark.parametrize("libver", ["latest", "v108", "v110"])
def test_newer_formats_fall_back_to_h5py(libver, tmp_path):
    path = tmp_path / f"{libver}.h5"
    with h5py.File(H5, "r") as src, h5py.File(path, "w", libver=libver) as dst:
        for key, value in src.attrs.items():
            dst.attrs[key] = value
        src.copy("model_weights", dst)
        dst["model_weights"]["evil"] = h5py.ExternalLink("secret.h5", "/data")
    config, unsafe = falls_back(path)
    assert config == json.loads(by_h5py(H5)[0])
    assert unsafe == [("/model_weights/evil", "is an external link to secret.h5:/data")]


def test_new_style_groups_and_dense_attributes_fall_back(tmp_path):
    path = copy_sample(tmp_path)
    with h5py.File(path, "a", track_order=True) as fh:
        fh.create_group("ordered", track_order=True)
    falls_back(path)
    path = copy_sample(tmp_path, "dense.h5")
    with h5py.File(path, "a") as fh:
        group = fh.create_group("attrs", track_order=True)
        for i in range(20):
            group.attrs[f"a{i}"] = i
    falls_back(path)


def test_no_model_config_is_a_load_error(tmp_path):
    path = tmp_path / "weights.h5"
    with h5py.File(path, "w") as fh:
        fh.create_dataset("weights", data=[1.0, 2.0])
        fh.attrs["keras_version"] = "3.0"
    with pytest.raises(LoadError, match="no model_config attribute"):
        hdf5_lite.read(str(path))


def test_the_config_bound_is_checked_before_reading(tmp_path, monkeypatch):
    path = copy_sample(tmp_path)
    size = len(by_h5py(H5)[0].encode())
    monkeypatch.setattr(hdf5_lite, "MAX_CONFIG_BYTES", size - 1)
    monkeypatch.setattr(hdf5_lite._Reader, "_heap_object", None)  # reading it would fail
    with pytest.raises(LoadError, match=f"the model_config attribute is {size} bytes, over"):
        hdf5_lite.read(str(path))


def test_non_scalar_or_non_string_configs_fall_back(tmp_path):
    path = copy_sample(tmp_path)
    with h5py.File(path, "a") as fh:
        text = fh.attrs["model_config"]
        del fh.attrs["model_config"]
        fh.attrs["model_config"] = [text]
    with pytest.raises(NotInSubset):
        hdf5_lite.read(str(path))
    with pytest.raises(LoadError, match="the model_config attribute is not"):  # as before
        keras_file.read_hdf5(str(path))
    with h5py.File(path, "a") as fh:
        del fh.attrs["model_config"]
        fh.attrs["model_config"] = 3
    with pytest.raises(NotInSubset):
        hdf5_lite.read(str(path))


@pytest.mark.parametrize("fraction", [0.0, 0.01, 0.1, 0.5, 0.9, 0.99])
def test_truncated_files_fall_back_to_h5py_errors(fraction, tmp_path):
    data = Path(H5).read_bytes()
    path = tmp_path / "cut.h5"
    path.write_bytes(data[:max(int(len(data) * fraction), 100)])
    with pytest.raises(NotInSubset):
        hdf5_lite.read(str(path))
    with pytest.raises(LoadError, match="cannot read HDF5 file"):
        keras_file.read_hdf5(str(path))


# -- damaged bytes --------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "100"))
HARD_STOP_S = 30
ORIGINALS = {"keras3": Path(H5).read_bytes(), "tfkeras2": Path(H5_TFKERAS2).read_bytes()}


class Hang(BaseException):
    """Raised by the alarm: not an Exception, so nothing on the way can swallow it."""


def _on_alarm(signum, frame):
    raise Hang(f"hdf5_lite.read ran over {HARD_STOP_S} s")


def _damage(data, blob: bytes) -> tuple[bytes, list]:
    buf, done = bytearray(blob), []
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        n = len(buf)
        if n < 2:
            break
        pos = data.draw(st.integers(0, n - 1) | st.integers(0, min(n, 4096) - 1), label="pos")
        op = data.draw(st.sampled_from(["flip", "overwrite", "insert", "delete", "truncate"]),
                       label="op")
        if op == "flip":
            buf[pos] ^= 1 << data.draw(st.integers(0, 7), label="bit")
        elif op == "overwrite":
            chunk = data.draw(st.sampled_from([b"\xff" * 8, b"\x00" * 8, b"\x7f\xff\xff\xff",
                                               b"\x01\x00\x00\x00\x00\x00\x00\x00",
                                               b"\xff\xff\xff\xff\xff\xff\xff\x7f"]),
                              label="bytes")
            buf[pos:pos + len(chunk)] = chunk
        elif op == "insert":
            buf[pos:pos] = data.draw(st.binary(min_size=1, max_size=16), label="bytes")
        elif op == "delete":
            del buf[pos:pos + data.draw(st.integers(1, 16), label="length")]
        else:
            del buf[max(pos, 1):]
        done.append((op, pos))
    return bytes(buf), done


@pytest.fixture(scope="module")
def fuzzdir(tmp_path_factory):
    return tmp_path_factory.mktemp("hdf5_lite_fuzz")


@pytest.mark.fuzz
@pytest.mark.parametrize("original", sorted(ORIGINALS))
@settings(max_examples=EXAMPLES, deadline=timedelta(seconds=HARD_STOP_S), derandomize=True,
          database=None, suppress_health_check=[HealthCheck.too_slow,
                                                HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_bytes_give_a_result_or_a_reason(fuzzdir, original, data):
    blob, done = _damage(data, ORIGINALS[original])
    path = fuzzdir / "damaged.h5"
    path.write_bytes(blob)
    previous = signal.signal(signal.SIGALRM, _on_alarm)
    signal.alarm(HARD_STOP_S)
    try:
        raw, unsafe = hdf5_lite.read(str(path))
    except NotInSubset:
        return
    except LoadError as exc:
        assert exc.reason and "\n" not in exc.reason, done
        return
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert isinstance(raw, (str, bytes)), done
    assert all(isinstance(p, str) and isinstance(r, str) for p, r in unsafe), done


# -- the lint path --------------------------------------------------------------------------

IMPORTS = """
import sys
from cnnlstm_lint.engine import Settings, inspect_file
from cnnlstm_lint.loaders import load_graph

heavy = ("h5py", "numpy", "tensorflow", "keras")
graph = load_graph(sys.argv[1])
in_process = sorted(m for m in heavy if m in sys.modules)
in_child = inspect_file(sys.argv[1], Settings(), lambda graph, findings: sorted(
    m for m in heavy if m in sys.modules))
print(in_process, in_child, len(list(graph.nodes())))
"""


@pytest.mark.parametrize("path", [H5, H5_TFKERAS2])
def test_a_lint_imports_neither_h5py_nor_numpy(path):
    run = subprocess.run([sys.executable, "-c", IMPORTS, path], capture_output=True,
                         text=True, timeout=120, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert run.stdout.startswith("[] [] "), run.stdout  # neither in-process nor in the child


def test_the_cli_still_gives_a_keras_h5_its_findings():
    run = run_cli("--format", "json", H5)
    assert run.returncode == 1, run.stderr
    findings = json.loads(run.stdout)["files"][0]["findings"]
    assert ("CL001", "lstm") in {(f["code"], f["node"]) for f in findings}
