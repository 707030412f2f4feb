"""Hostile torch.export archives (generated here, harmless canaries only).

Each archive is the committed sample_models/pt2/spatial_reshape.pt2 (CL001 on `lstm`)
with one member made hostile: a zip bomb, too many members, a graph JSON nested too
deeply or too large, a path leaving the archive, pickles that would write a canary file
if anything unpickled them, a truncated zip, and graph JSON of the wrong types. Every
case runs the real CLI in a subprocess, with a good archive in the same run: a refused
file gets exit 2 and one `error: PATH: reason` line, never a traceback, and the good
file is still linted; a readable model with unsafe content is linted as usual with a
CL900 finding saying where and what. No test here needs torch.
"""

from __future__ import annotations

import copy
import io
import json
import os
import pickle
import random
import signal
import stat
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import pytest

from conftest import SAMPLES

SAMPLE = os.path.join(SAMPLES, "pt2", "spatial_reshape.pt2")
ROOT_DIR = "spatial_reshape"
GRAPH = f"{ROOT_DIR}/models/model.json"
INPUTS = f"{ROOT_DIR}/data/sample_inputs/model.pt"
WEIGHTS_CONFIG = f"{ROOT_DIR}/data/weights/model_weights_config.json"
CANARY = "CANARY"
TIME_LIMIT_S = 60
RSS_LIMIT = 1024**3

with zipfile.ZipFile(SAMPLE) as _zf:
    MEMBERS = [(info.filename, _zf.read(info)) for info in _zf.infolist()]


def graph() -> dict:
    return json.loads(dict(MEMBERS)[GRAPH])


def write_pt2(path: Path, replace: dict | None = None, add=(), drop=(),
              compression=zipfile.ZIP_STORED) -> None:
    """The sample's members in order, some replaced, dropped or added (name or ZipInfo)."""
    replace = replace or {}
    with zipfile.ZipFile(path, "w", compression) as zf:
        for name, data in MEMBERS:
            if name not in drop:
                zf.writestr(name, replace.get(name, data))
        for name, data in add:
            zf.writestr(name, data)


class CanaryPickle:
    """Pickles as `exec(<write the canary>)`: unpickling it would write the canary."""

    def __init__(self, canary: Path):
        self.source = f"open({str(canary)!r}, 'w').write('payload ran')"

    def __reduce__(self):
        return (exec, (self.source,))


def canary_pickle(canary: Path, protocol: int) -> bytes:
    return pickle.dumps(CanaryPickle(canary), protocol=protocol)


def torch_save_zip(data_pkl: bytes) -> bytes:
    """A file in torch.save's zip layout whose data.pkl is `data_pkl`."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("archive/data.pkl", data_pkl)
        zf.writestr("archive/byteorder", "little")
        zf.writestr("archive/version", "3\n")
    return buffer.getvalue()


# -- running the CLI ----------------------------------------------------------------------

# The CLI runs under this small process, which reports the peak memory of its children.
_MEASURE = ("import resource, subprocess, sys; rc = subprocess.call(sys.argv[2:]); "
            "open(sys.argv[1], 'w').write(str(resource.getrusage("
            "resource.RUSAGE_CHILDREN).ru_maxrss)); sys.exit(rc)")


class Run:
    def __init__(self, returncode, stdout, stderr, seconds, max_rss):
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr
        self.seconds, self.max_rss = seconds, max_rss

    @property
    def lines(self) -> list[str]:
        return self.stderr.strip().splitlines()

    def report(self) -> dict:
        return json.loads(self.stdout)


def run_lint(*args: str, cwd: Path, timeout: float = TIME_LIMIT_S) -> Run:
    with tempfile.TemporaryDirectory() as scratch:
        rss_file = os.path.join(scratch, "rss")
        start = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-c", _MEASURE, rss_file,
             sys.executable, "-m", "cnnlstm_lint", "--format", "json", *args],
            cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
            start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
            pytest.fail(f"cnnlstm-lint {' '.join(args)} ran over {timeout} s (killed)")
        seconds = time.monotonic() - start
        with open(rss_file) as fh:
            max_rss = int(fh.read()) * 1024
    return Run(proc.returncode, out.decode(errors="replace"), err.decode(errors="replace"),
               seconds, max_rss)


def lint_with_a_good_one(tmp_path: Path, path: Path) -> Run:
    """Lint the hostile file and a good archive in one run; check what must always hold."""
    good = tmp_path / "good.pt2"
    good.write_bytes(Path(SAMPLE).read_bytes())
    run = run_lint(path.name, good.name, cwd=tmp_path)
    assert "Traceback" not in run.stdout + run.stderr, run.stderr[-3000:]
    assert "internal error" not in run.stdout + run.stderr, run.stderr
    assert not (tmp_path / CANARY).exists(), "a payload ran: the canary file was written"
    assert run.seconds < TIME_LIMIT_S, f"took {run.seconds:.1f} s"
    assert run.max_rss < RSS_LIMIT, f"peak memory {run.max_rss / 2**20:.0f} MiB"
    files = {f["path"]: f for f in run.report()["files"]}
    assert [(f["code"], f["node"]) for f in files[good.name]["findings"]] == [("CL001", "lstm")]
    return run


def assert_refused(run: Run, path: Path, reason: str) -> None:
    assert run.returncode == 2, (run.returncode, run.stdout[-2000:], run.stderr)
    assert len(run.lines) == 1, run.lines
    assert run.lines[0].startswith(f"error: {path.name}: "), run.lines
    assert reason in run.lines[0], run.lines[0]
    (entry,) = [f for f in run.report()["files"] if f["path"] == path.name]
    assert entry["status"] == "error" and reason in entry["error"]


def unsafe_findings(run: Run, path: Path) -> list[dict]:
    (entry,) = [f for f in run.report()["files"] if f["path"] == path.name]
    assert entry["status"] == "ok", entry["error"]
    codes = sorted(f["code"] for f in entry["findings"])
    assert "CL001" in codes  # the model itself is still judged
    return [f for f in entry["findings"] if f["code"] == "CL900"]


# -- refused archives ------------------------------------------------------------------------


def test_a_zip_bomb_member_is_refused_before_it_is_inflated(tmp_path):
    path = tmp_path / "bomb.pt2"
    bomb = json.dumps(graph()).encode() + b" " * (200 * 1024**2)  # valid JSON, ~200 KB deflated
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in MEMBERS:
            if name == GRAPH:
                zf.writestr(name, bomb, zipfile.ZIP_DEFLATED)
            else:
                zf.writestr(name, data)
    del bomb
    run = lint_with_a_good_one(tmp_path, path)
    assert_refused(run, path, "a zip bomb?")
    assert run.max_rss < 200 * 1024**2  # the graph was never inflated


def test_a_graph_json_that_inflates_past_the_limit_is_refused(tmp_path):
    path = tmp_path / "big_graph.pt2"
    padded = graph()
    padded["padding"] = "x" * (65 * 1024**2)  # over the 64 MiB the graph may take
    write_pt2(path, {GRAPH: json.dumps(padded)})
    run = lint_with_a_good_one(tmp_path, path)
    assert_refused(run, path, f"{GRAPH} declares")


def test_too_many_members_are_refused(tmp_path):
    path = tmp_path / "many.pt2"
    write_pt2(path, add=[(f"{ROOT_DIR}/extra/m{i}", b"") for i in range(10_001)])
    run = lint_with_a_good_one(tmp_path, path)
    assert_refused(run, path, "members, over 10000")


def test_a_graph_nested_too_deeply_is_refused(tmp_path):
    path = tmp_path / "deep.pt2"
    text = json.dumps(graph())
    assert text.count('"metadata": {}') == 1  # the graph module's own, empty
    write_pt2(path, {GRAPH: text.replace('"metadata": {}', '"metadata": ' + "[" * 250 + "]" * 250)})
    run = lint_with_a_good_one(tmp_path, path)
    assert_refused(run, path, "nested too deeply (over 200 levels)")


def test_an_integer_with_thousands_of_digits_is_refused(tmp_path):
    path = tmp_path / "digits.pt2"
    text = json.dumps(graph()).replace('{"as_int": 225}', '{"as_int": ' + "9" * 5000 + "}", 1)
    write_pt2(path, {GRAPH: text})
    run = lint_with_a_good_one(tmp_path, path)
    assert_refused(run, path, "over 32 digits")


@pytest.mark.parametrize("name", [f"{ROOT_DIR}/../../outside", "/etc/passwd",
                                  f"{ROOT_DIR}/data/..\\..\\evil", "C:/evil"])
def test_a_member_leaving_the_archive_is_refused(tmp_path, name):
    path = tmp_path / "traversal.pt2"
    write_pt2(path, add=[(name, b"payload")])
    run = lint_with_a_good_one(tmp_path, path)
    assert_refused(run, path, "points outside the archive")
    assert not (tmp_path.parent / "outside").exists()


def test_a_member_compressed_other_than_torch_writes_is_refused(tmp_path):
    path = tmp_path / "bzip2.pt2"
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in MEMBERS:
            zf.writestr(name, data, zipfile.ZIP_BZIP2 if name == GRAPH else zipfile.ZIP_STORED)
    run = lint_with_a_good_one(tmp_path, path)
    assert_refused(run, path, "not stored or deflate as torch writes")


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.999])
def test_a_truncated_archive_is_refused(tmp_path, keep):
    path = tmp_path / "truncated.pt2"
    data = Path(SAMPLE).read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    run = lint_with_a_good_one(tmp_path, path)
    assert_refused(run, path, "corrupt zip archive")


def test_an_archive_without_a_graph_is_refused(tmp_path):
    path = tmp_path / "no_graph.pt2"
    write_pt2(path, drop={GRAPH})
    run = lint_with_a_good_one(tmp_path, path)
    assert_refused(run, path, f"not a torch.export archive: no {ROOT_DIR}/models/<name>.json")


def _set(path: list, value):
    def change(doc: dict) -> dict:
        doc = copy.deepcopy(doc)
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        return doc
    return change


@pytest.mark.parametrize("change, reason", [
    (lambda doc: [doc], f"{GRAPH} is not a JSON object"),
    (_set(["graph_module"], [1, 2]), f"{GRAPH}: graph_module is not a JSON object"),
    (_set(["graph_module", "graph"], "graph"), f"{GRAPH}: graph_module.graph is not a JSON object"),
    (_set(["graph_module", "graph", "nodes"], "conv2d"),
     f"{GRAPH}: graph nodes is not a JSON list"),
    (_set(["graph_module", "graph", "nodes", 1], 7), f"{GRAPH}: node 1 is not a JSON object"),
    (_set(["graph_module", "graph", "nodes", 1, "target"], 7),
     f"{GRAPH}: node 'conv2d' has no target op"),
    (_set(["graph_module", "graph", "nodes", 1, "inputs"], {"input": "x"}),
     f"{GRAPH}: inputs of node 'conv2d' is not a JSON list"),
    (_set(["graph_module", "graph", "inputs"], None), f"{GRAPH}: graph inputs is not a JSON list"),
    (_set(["graph_module", "graph", "tensor_values"], []),
     f"{GRAPH}: tensor_values is not a JSON object"),
    (_set(["graph_module", "graph", "nodes", 1, "inputs", 0, "arg"],
          {"as_tensor": {"name": "no_such_tensor"}}),
     f"{GRAPH}: node 'conv2d' reads tensor 'no_such_tensor', which no node or input produces"),
], ids=["list", "graph_module", "graph", "nodes", "node", "target", "inputs", "graph-inputs",
        "tensor-values", "undefined-tensor"])
def test_a_graph_of_the_wrong_types_is_refused(tmp_path, change, reason):
    path = tmp_path / "wrong_types.pt2"
    write_pt2(path, {GRAPH: json.dumps(change(graph()))})
    run = lint_with_a_good_one(tmp_path, path)
    assert_refused(run, path, reason)


def _mutations(doc, rng: random.Random, count: int):
    """`count` copies of doc, each with one value somewhere replaced by one of another type."""
    spots = []

    def walk(value, where):
        spots.append(where)
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, where + [k])
        elif isinstance(value, list):
            for i, v in enumerate(value):
                walk(v, where + [i])

    walk(doc["graph_module"]["graph"], ["graph_module", "graph"])
    for _ in range(count):
        where = rng.choice(spots[1:])
        other = rng.choice([None, 7, -1, 2**40, "x", [], {}, [1, "a"], True, 0.5])
        yield where, _set(where, other)(doc)


def test_values_of_the_wrong_type_anywhere_never_crash_the_linter(tmp_path):
    """Archives with one graph value swapped for another type: each is linted (the op that
    reads it becomes opaque) or refused with a reason, never a traceback."""
    rng = random.Random(12)
    paths = []
    for i, (_, doc) in enumerate(_mutations(graph(), rng, 60)):
        path = tmp_path / f"mutated_{i}.pt2"
        write_pt2(path, {GRAPH: json.dumps(doc)})
        paths.append(path.name)
    run = run_lint(*paths, cwd=tmp_path)
    assert "Traceback" not in run.stdout + run.stderr, run.stderr[-3000:]
    assert "internal error" not in run.stdout + run.stderr, run.stderr
    report = run.report()
    assert len(report["files"]) == len(paths)
    refused = [f for f in report["files"] if f["status"] == "error"]
    assert all(f["error"] and "\n" not in f["error"] for f in refused)
    assert len(run.lines) == len(refused)


# -- pickles that must never be unpickled ------------------------------------------------------


@pytest.mark.parametrize("protocol", [2, 4])
@pytest.mark.parametrize("layout", ["raw", "torch.save zip"])
def test_sample_inputs_that_would_run_code_are_reported_not_loaded(tmp_path, protocol, layout):
    path = tmp_path / "evil_inputs.pt2"
    payload = canary_pickle(tmp_path / CANARY, protocol)
    write_pt2(path, {INPUTS: payload if layout == "raw" else torch_save_zip(payload)})
    run = lint_with_a_good_one(tmp_path, path)
    assert run.returncode == 1, run.stderr
    (finding,) = unsafe_findings(run, path)
    assert finding["node"] == INPUTS
    assert "builtins.exec" in finding["message"]
    assert "weights_only=False" in finding["message"]


def test_sample_inputs_of_the_types_torch_loads_safely_are_not_reported(tmp_path):
    import collections

    path = tmp_path / "safe_inputs.pt2"
    safe = pickle.dumps(collections.OrderedDict(a=(1, 2.0, "x")), protocol=4)  # STACK_GLOBAL
    write_pt2(path, {INPUTS: torch_save_zip(safe)})
    run = run_lint(path.name, SAMPLE, cwd=tmp_path)
    assert [[f["code"] for f in entry["findings"]] for entry in run.report()["files"]] == \
        [["CL001"], ["CL001"]]  # and the real sample's own inputs are not reported either


def test_a_pickled_weight_is_reported_not_loaded(tmp_path):
    path = tmp_path / "pickled_weight.pt2"
    config = json.loads(dict(MEMBERS)[WEIGHTS_CONFIG])
    config["config"]["conv.weight"]["use_pickle"] = True
    write_pt2(path, {WEIGHTS_CONFIG: json.dumps(config),
                     f"{ROOT_DIR}/data/weights/weight_0": canary_pickle(tmp_path / CANARY, 2)})
    run = lint_with_a_good_one(tmp_path, path)
    (finding,) = unsafe_findings(run, path)
    assert finding["node"] == f"{ROOT_DIR}/data/weights/weight_0"
    assert "'conv.weight' pickled" in finding["message"]


def test_custom_objects_native_libraries_and_links_are_reported(tmp_path):
    path = tmp_path / "objects.pt2"
    constants = f"{ROOT_DIR}/data/constants/model_constants_config.json"
    config = {"config": {"obj": {"path_name": "custom_obj_0", "is_param": False,
                                 "use_pickle": False, "tensor_meta": None}}}
    link = zipfile.ZipInfo(f"{ROOT_DIR}/extra/link")
    link.external_attr = (stat.S_IFLNK | 0o777) << 16
    write_pt2(path, {constants: json.dumps(config)},
              add=[(f"{ROOT_DIR}/data/constants/custom_obj_0", canary_pickle(tmp_path / CANARY, 2)),
                   (f"{ROOT_DIR}/data/aotinductor/model/model.so", b"\x7fELF"), (link, "/etc")])
    run = lint_with_a_good_one(tmp_path, path)
    found = {f["node"]: f["message"] for f in unsafe_findings(run, path)}
    assert "pickle.loads" in found[f"{ROOT_DIR}/data/constants/custom_obj_0"]
    assert "aoti_load_package" in found[f"{ROOT_DIR}/data/aotinductor/model/model.so"]
    assert "symbolic link" in found[f"{ROOT_DIR}/extra/link"]
