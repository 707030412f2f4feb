"""Front ends are a registry (loaders/formats): what collects, sniffs, isolates, reads
in-memory objects, and the pre-commit hook's file pattern all come from it."""

from __future__ import annotations

import os
import re
import shutil

import pytest

import cnnlstm_lint
from cnnlstm_lint.files import collect
from cnnlstm_lint.loaders import sniff
from cnnlstm_lint.loaders.formats import BY_NAME, REGISTRY, precommit_pattern, suffix_list

from conftest import ROOT, SAMPLES, run_cli


def test_the_precommit_hook_pattern_is_the_registrys():
    with open(os.path.join(ROOT, ".pre-commit-hooks.yaml")) as fh:
        (line,) = [l for l in fh if l.strip().startswith("files:")]
    assert line.split("files:", 1)[1].strip() == precommit_pattern()
    hook = re.compile(precommit_pattern())
    assert all(hook.search(p) for p in ["m.pt2", "m.keras", "a/m.h5", "m.hdf5", "m.onnx",
                                        "sm/saved_model.pb", "keras_metadata.pb"])
    assert not any(hook.search(p) for p in ["package.json", "notes.txt", "my_saved_model.pb",
                                            "sm/variables/variables.index"])


def test_every_front_end_is_collected_sniffed_and_read(tmp_path):
    samples = {"pt2": "pt2/spatial_reshape.pt2",
               "keras_zip": "cl001_spatial_reshape.keras", "hdf5": "cl001_spatial_reshape.h5",
               "json": "cl001_spatial_reshape.json", "onnx": "onnx/cl001_spatial_reshape.onnx",
               "saved_model": "saved_model/cl001_spatial_reshape"}
    assert set(samples) == {n for n, fe in BY_NAME.items() if fe.suffixes or fe.directory_files}
    names = {n: f"m{BY_NAME[n].suffixes[0]}" if BY_NAME[n].suffixes else f"m_{n}" for n in samples}
    for name, sample in samples.items():
        path = tmp_path / names[name]
        copy = shutil.copytree if BY_NAME[name].directory_files else shutil.copy
        copy(os.path.join(SAMPLES, sample), path)
        assert sniff(str(path)) == name
        assert [f.code for f in cnnlstm_lint.lint(str(path), isolated=True)] == ["CL001"]
    (tmp_path / "notes.txt").write_text("not a model")
    assert sorted(os.path.basename(t.path) for t in collect([str(tmp_path)])) == \
        sorted(names.values())


def test_the_help_names_every_format():
    text = run_cli("--help").stdout + run_cli("lint", "--help").stdout
    assert " ".join(text.split()).count(suffix_list()) == 2  # as wrapped by click
    assert all(s in suffix_list() for fe in REGISTRY for s in fe.suffixes)


def test_native_parsers_are_the_isolated_ones():
    assert {fe.name for fe in REGISTRY if fe.isolate} == {"hdf5", "onnx"}
    assert all(fe.preload is not None for fe in REGISTRY if fe.isolate)


def test_in_memory_objects_go_to_their_front_end():
    onnx = pytest.importorskip("onnx")
    proto = onnx.load(os.path.join(SAMPLES, "torch", "spatial_reshape.ts.onnx"))
    assert [f.code for f in cnnlstm_lint.lint(proto, isolated=True)] == ["CL001"]
    with pytest.raises(cnnlstm_lint.LoadError, match="no such file"):
        cnnlstm_lint.lint(os.path.join(SAMPLES, "missing.keras"))


def test_a_file_of_no_known_format_names_them_all(tmp_path):
    (tmp_path / "m.bin").write_bytes(b"\x00\x01 not a model")
    run = run_cli("m.bin", cwd=str(tmp_path))
    titles = [fe.title for fe in REGISTRY if fe.detect or fe.suffixes]  # not folders, not objects
    assert run.returncode == 2
    assert run.stderr.strip().endswith(f"expected a {', '.join(titles[:-1])} or {titles[-1]})")
    assert {"HDF5", "ONNX model"} <= set(titles) and "TensorFlow SavedModel" not in run.stderr
