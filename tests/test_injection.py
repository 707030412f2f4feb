"""Output injection: names from a model file (layers, ONNX nodes, file names) are untrusted.

A layer named ``"lstm\\n::error file=EVIL.py,line=1::INJECTED"`` must not start a line that
GitHub Actions runs as a workflow command, in any format; an ESC, a bidi override or a
line separator must not reach a terminal raw; ``<script>`` must not become markup in the
pictures; and a lone surrogate (a ``"\\ud800"`` JSON escape, or a file name that is not
UTF-8) must not lose the report. Every check here runs on one of these hostile inputs:

- a Keras JSON model (sample_models/cl001_spatial_reshape.json, which gets a CL001
  finding) whose `lstm` and `reshape` layers carry hostile names;
- the PyTorch ONNX twin with hostile node names;
- copies of the Keras model under hostile file names (newline, `::`, ESC, `<script>`,
  bidi override, bytes that are not UTF-8), and an unreadable file with such a name.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from urllib.parse import unquote_to_bytes

import pytest

from conftest import ROOT, SAMPLES, cli_path
from cnnlstm_lint import picture
from cnnlstm_lint.engine import FileResult, Settings, lint_file, lint_graph
from cnnlstm_lint.files import Target
from cnnlstm_lint.loaders import load_graph
from cnnlstm_lint.report import RENDERERS
from cnnlstm_lint.report.escape import json_text, visible
from cnnlstm_lint.report.formats.github import escape_data

KERAS_JSON = os.path.join(SAMPLES, "cl001_spatial_reshape.json")
ONNX_MODEL = os.path.join(SAMPLES, "torch", "spatial_reshape.ts.onnx")

# Everything a name could use to escape its place: a forged workflow command after a
# newline and a carriage return, terminal escapes, NUL, DEL, C1 (NEL), Unicode line and
# paragraph separators, bidi override and isolate, markup, quotes, backslash, brackets.
HOSTILE = ("lstm\n::error file=EVIL.py,line=1::INJECTED\r::warning::TWO\x1b[31mRED\x1b]0;t\x07"
           "\x00\x7f\x85\u2028::notice::THREE\u2029\u202egnp.exe\u2066<script>alert(1)</script>"
           "\"'\\]]>&amp;%0A")
RESHAPE = "re\nshape\x9b<b onmouseover=x>"
SURROGATE = "lstm\ud800x\udcff"  # lone surrogates, as json.loads gives them for "\ud800"
ONNX_HOSTILE = "/lstm/LSTM\n::error file=ONNX.py::INJECTED\x1b[2J\u2028<script>x</script>"

FORMATS = ["text", "concise", "json", "sarif", "github", "gitlab", "junit"]

# Raw characters no output may hold, whatever the format: C0 but the line feed, DEL, C1,
# line/paragraph separators, bidi embeddings/overrides/isolates, lone surrogates.
RAW_UNSAFE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069"
                        "\ud800-\udfff]")
GITHUB_COMMAND = re.compile(r"::(error|warning|notice) file=[^,:\n]*,line=1,title=[^:\n]*::")
MARKERS = ("EVIL.py", "INJECTED", "TWO", "THREE", "ONNX.py")


def _rename(value, names: dict):
    if isinstance(value, dict):
        return {k: _rename(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_rename(v, names) for v in value]
    return names.get(value, value) if isinstance(value, str) else value


def hostile_keras(path, lstm: str = HOSTILE, reshape: str = RESHAPE) -> str:
    """The CL001 Keras JSON model with its `lstm` and `reshape` layers renamed. Written
    with json.dumps' default ASCII escapes, so a lone surrogate is a "\\ud800" escape."""
    with open(KERAS_JSON, encoding="utf-8") as fh:
        doc = json.load(fh)
    doc = _rename(doc, {"lstm": lstm, "reshape": reshape})
    with open(path, "w", encoding="ascii") as fh:
        json.dump(doc, fh)
    return os.fspath(path)


def hostile_onnx(path, name: str = ONNX_HOSTILE) -> str:
    onnx = pytest.importorskip("onnx")
    model = onnx.load(ONNX_MODEL)
    for node in model.graph.node:
        if node.name == "/lstm/LSTM":
            node.name = name
    with open(path, "wb") as fh:
        fh.write(model.SerializeToString())
    return os.fspath(path)


def hostile_file_names(directory) -> list[bytes]:
    """Copies of the CL001 model under hostile names (bytes paths), and an unreadable
    file under one; names the file system refuses are left out."""
    names = [b"nl\n::error file=NAME.py,line=1::INJECTED.json", b"cr\r::warning::TWO.json",
             b"esc\x1b[31m\x1b]0;title\x07.json", b"<script>alert(1)<\\script>.json",
             b"bidi\xe2\x80\xaegnp.json", b"not-utf8\xff\xfe.json", b"sep\xe2\x80\xa8.json"]
    with open(KERAS_JSON, "rb") as fh:
        model = fh.read()
    made = []
    base = os.fsencode(os.fspath(directory))
    for name in names + [b"unreadable\n::error::INJECTED\xff.keras"]:
        path = os.path.join(base, name)
        try:
            with open(path, "wb") as fh:
                fh.write(b"not a model\x00\xff" if name.endswith(b".keras") else model)
        except (OSError, ValueError):  # e.g. a file system that insists on UTF-8 names
            continue
        made.append(path)
    return made


def run(*args, cwd=ROOT) -> subprocess.CompletedProcess:
    """The CLI, with bytes out: decoding is part of what is checked. It never crashes."""
    proc = subprocess.run([*cli_path(), *args], cwd=cwd, capture_output=True, timeout=120)
    assert b"Traceback" not in proc.stderr, proc.stderr.decode("utf-8", "backslashreplace")
    return proc


def decoded(data: bytes) -> str:
    return data.decode("utf-8")  # strict: every output must be clean UTF-8


def assert_safe(text: str, fmt: str = "") -> None:
    """No raw unsafe character; no line a CI runner would read as a command, except the
    GitHub format's own commands (each of which then is one whole, well-formed line)."""
    raw = RAW_UNSAFE.search(text)
    assert raw is None, f"raw {raw.group()!r} in {fmt}: {text[max(0, raw.start() - 60):raw.end() + 20]!r}"
    for line in text.splitlines():
        if fmt == "github":
            assert GITHUB_COMMAND.match(line), line
            assert not any(line.startswith(f"::{c} file={m}") for c in ("error", "warning")
                           for m in MARKERS), line
        else:
            assert not line.lstrip().startswith("::"), f"{fmt}: {line!r}"
    text.encode("utf-8")


def lint(*paths) -> list[FileResult]:
    return [lint_file(Target(os.fsdecode(p), True), Settings()) for p in paths]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> tuple[str, str]:
    where = tmp_path_factory.mktemp("hostile")
    return hostile_keras(where / "hostile.json"), hostile_onnx(where / "hostile.onnx")


@pytest.fixture
def keras_model(models) -> str:
    return models[0]


@pytest.fixture
def onnx_model(models) -> str:
    return models[1]


@pytest.fixture(scope="module")
def cli_on_models(models):
    """The CLI over both hostile models, once per format for the module."""
    done: dict[str, subprocess.CompletedProcess] = {}

    def get(fmt: str) -> subprocess.CompletedProcess:
        if fmt not in done:
            done[fmt] = run(*(["--statistics"] if fmt == "statistics" else ["--format", fmt]),
                            *models)
        return done[fmt]
    return get


# -- the escaping functions --------------------------------------------------------------


def test_visible_shows_every_unsafe_character():
    assert visible("a\nb\rc\td\x00e\x1b[1mf\x7fg\x85h") == "a\\nb\\rc\\td\\x00e\\x1b[1mf\\x7fg\\x85h"
    assert visible("\u2028\u2029\u202e\u2066\u200b\ufeff") == "\\u2028\\u2029\\u202e\\u2066\\u200b\\ufeff"
    assert visible("\ud800\udcff") == "\\ud800\\udcff"
    assert visible("\U000e0041") == "\\U000e0041"  # a tag character, invisible
    assert visible(HOSTILE).count("\n") == 0
    assert RAW_UNSAFE.search(visible(HOSTILE)) is None


def test_visible_leaves_ordinary_names_alone():
    for name in ["lstm", "conv2d_1", "model/layer_1/LSTM:0", "é×⟵ 漢字", "C:\\models\\m.keras",
                 "a%b,c:d", "<&>\"'", "👩\u200d💻 emoji with a joiner"]:
        assert visible(name) == name


def test_json_text_is_lossless_and_clean():
    doc = {"name": HOSTILE + SURROGATE + "\U000e0041", "plain": "é×⟵"}
    text = json_text(doc, indent=2)
    assert RAW_UNSAFE.search(text) is None
    assert "é×⟵" in text  # readable non-ASCII stays
    assert json.loads(text) == doc
    text.encode("utf-8")


# -- every lint format, through the CLI ----------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_hostile_layer_names_in_every_format(fmt, cli_on_models):
    proc = cli_on_models(fmt)
    assert proc.returncode == 1, proc.stderr
    out, err = decoded(proc.stdout), decoded(proc.stderr)
    assert_safe(out, fmt)
    assert_safe(err)
    if fmt in ("text", "concise"):
        assert visible(HOSTILE) in out and visible(ONNX_HOSTILE) in out
    if fmt == "github":  # newlines as the runner's %0A, which it shows as line breaks
        assert escape_data(visible(HOSTILE, keep="\r\n")) in out


def test_json_gives_back_the_exact_names(cli_on_models):
    doc = json.loads(decoded(cli_on_models("json").stdout))
    nodes = [f["node"] for entry in doc["files"] for f in entry["findings"]]
    assert HOSTILE in nodes and ONNX_HOSTILE in nodes
    (cl001,) = [f for f in doc["files"][0]["findings"] if f["code"] == "CL001"]
    assert f"`{HOSTILE}`" in cl001["message"] and RESHAPE in cl001["related"]


def test_sarif_gives_back_the_exact_names(cli_on_models):
    doc = json.loads(decoded(cli_on_models("sarif").stdout))
    results = doc["runs"][0]["results"]
    names = {loc["name"] for r in results for loc in r["locations"][0]["logicalLocations"]}
    assert {HOSTILE, ONNX_HOSTILE} <= names
    assert any(HOSTILE in r["message"]["text"] for r in results)


def test_gitlab_gives_back_the_exact_names(cli_on_models):
    issues = json.loads(decoded(cli_on_models("gitlab").stdout))
    assert any(f"`{HOSTILE}`" in issue["description"] for issue in issues)
    # a PyTorch export's node is named by its module in words; the exact node name is in
    # the json and sarif output
    assert any("LSTM `lstm` runs over" in issue["description"] for issue in issues)


def test_junit_parses_and_shows_names_visibly(cli_on_models):
    out = decoded(cli_on_models("junit").stdout)
    root = ET.fromstring(out)
    names = [case.get("name") for case in root.iter("testcase")]
    assert "CL001:" + visible(HOSTILE) in names  # every control character shown, as in text
    for element in root.iter():
        for text in [element.text or "", *element.attrib.values()]:
            assert RAW_UNSAFE.search(text) is None


def test_statistics_with_hostile_names(cli_on_models):
    proc = cli_on_models("statistics")
    out = decoded(proc.stdout)
    assert_safe(out, "statistics")
    assert "CL001  spatial-sequence" in out


def test_text_colour_is_ours_only(keras_model):
    (result,) = lint(keras_model)
    out = RENDERERS["text"]([result], color=True)
    ours = re.sub(r"\x1b\[[0-9;]*m", "", out.replace("\\x1b", ""))
    assert_safe(ours, "text")
    assert "\\x1b[31mRED" in out  # the file's ESC is shown, not sent


def test_verbose_notes_and_skipped_reasons_are_escaped(onnx_model, keras_model):
    results = lint(onnx_model, keras_model)
    for fmt in FORMATS:
        out = RENDERERS[fmt](results, verbose=True)
        assert_safe(out, fmt)


# -- file names ------------------------------------------------------------------------------


@pytest.fixture
def named_files(tmp_path) -> list[bytes]:
    made = hostile_file_names(tmp_path)
    if len(made) < 4:
        pytest.skip("this file system refuses the hostile names")
    return made


@pytest.mark.parametrize("fmt", FORMATS + ["statistics"])
def test_hostile_file_names_in_every_format(fmt, named_files):
    args = ["--statistics"] if fmt == "statistics" else ["--format", fmt]
    proc = run(*args, *named_files)
    assert proc.returncode == 2  # the unreadable one
    out, err = decoded(proc.stdout), decoded(proc.stderr)
    assert_safe(out, fmt)
    assert_safe(err)
    if fmt == "json":
        doc = json.loads(out)
        assert sorted(entry["path"] for entry in doc["files"]) == sorted(map(os.fsdecode, named_files))
    if fmt == "sarif":
        doc = json.loads(out)
        uris = {unquote_to_bytes(loc["physicalLocation"]["artifactLocation"]["uri"])
                for r in doc["runs"][0]["results"] for loc in r["locations"]}
        assert {u.rsplit(b"/", 1)[-1] for u in uris} == \
            {os.path.basename(p) for p in named_files if not p.endswith(b".keras")}
    if fmt == "junit":
        ET.fromstring(out)


def test_the_error_line_for_an_unreadable_hostile_file(named_files):
    (unreadable,) = [p for p in named_files if p.endswith(b".keras")]
    proc = run(unreadable)
    assert proc.returncode == 2
    err = decoded(proc.stderr)
    assert_safe(err)
    (line,) = err.splitlines()
    assert line.startswith(f"error: {visible(os.fsdecode(unreadable))}: unrecognised file format")
    assert "unreadable\\n::error::INJECTED\\udcff.keras" in line


def test_output_file_with_surrogates(tmp_path):
    model = hostile_keras(tmp_path / "m.json", lstm=SURROGATE)
    for fmt in FORMATS:
        out = tmp_path / f"report.{fmt}"
        proc = run("--format", fmt, "--output", str(out), model)
        assert proc.returncode == 1, proc.stderr
        text = decoded(out.read_bytes())
        assert_safe(text, fmt)
        if fmt == "json":
            assert json.loads(text)["files"][0]["findings"][0]["node"] == SURROGATE


# -- lone surrogates lose nothing ---------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_lone_surrogate_does_not_lose_the_other_files(fmt, tmp_path):
    bad = hostile_keras(tmp_path / "surrogate.json", lstm=SURROGATE, reshape="re\udcffshape")
    good = os.path.join(SAMPLES, "cl003_flatten_clip.keras")
    proc = run("--format", fmt, bad, good)
    assert proc.returncode == 1 and not proc.stderr, proc.stderr
    out = decoded(proc.stdout)
    assert_safe(out, fmt)
    assert "surrogate.json" in out and "cl003_flatten_clip.keras" in out
    if fmt == "text":
        assert "lstm\\ud800x\\udcff" in out and "in 2 files" in out
    if fmt == "json":
        doc = json.loads(out)
        assert [len(entry["findings"]) > 0 for entry in doc["files"]] == [True, True]
        assert doc["files"][0]["findings"][0]["node"] == SURROGATE


def test_renderers_never_raise_on_surrogates(tmp_path):
    """In-process, with a surrogate in the path too (as os.fsdecode makes of a byte that
    is not UTF-8): every renderer returns text that encodes as UTF-8."""
    path = os.fsencode(str(tmp_path)) + b"/file\xff.json"
    shutil.copy(hostile_keras(tmp_path / "m.json", lstm=SURROGATE), path)
    results = lint(path) + [FileResult(os.fsdecode(path) + "\ud800", "error", "bad \udcff\n")]
    for fmt in [*FORMATS, "statistics"]:
        assert_safe(RENDERERS[fmt](results, verbose=True), fmt)


# -- pictures ----------------------------------------------------------------------------------


QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')


def _graph_and_findings(path):
    graph = load_graph(path)
    return graph, lint_graph(graph, Settings())


def assert_markup_safe(text: str) -> None:
    assert "<script" not in text.lower()
    assert_safe(text, "picture")


def assert_dot_safe(dot: str) -> None:
    """DOT is not markup: a name's `<script>` may stay inside its quoted string (Graphviz
    escapes it in SVG), but nothing of a name may be outside one."""
    assert_safe(dot, "dot")
    outside = QUOTED.sub('""', dot)  # what is left is DOT syntax only: ours
    for marker in (*MARKERS, "script", "onmouseover", "RED"):
        assert marker not in outside, (marker, outside)
    assert all(line.endswith(("{", "}", ";")) for line in dot.splitlines())


@pytest.mark.parametrize("which", ["keras", "onnx"])
def test_dot_keeps_names_inside_their_quotes(which, keras_model, onnx_model):
    graph, findings = _graph_and_findings(keras_model if which == "keras" else onnx_model)
    assert findings
    assert_dot_safe(picture.to_dot(graph, findings))


@pytest.mark.parametrize("which", ["keras", "onnx"])
def test_html_and_builtin_svg_escape_names(which, keras_model, onnx_model):
    graph, findings = _graph_and_findings(keras_model if which == "keras" else onnx_model)
    svg = picture.python_svg(graph, findings)
    assert_markup_safe(svg)
    root = ET.fromstring(svg)
    assert not [e for e in root.iter() if not e.tag.startswith("{http://www.w3.org/2000/svg}")]
    page = picture.to_html(graph, findings, layout="python")
    assert_markup_safe(page)
    assert "onmouseover=x" not in page.replace("&lt;b onmouseover=x&gt;", "")
    svg_part = page[page.index("<svg"):page.index("</svg>") + 6]
    ET.fromstring(svg_part)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz `dot` is not installed")
def test_graphviz_svg_escapes_names(keras_model, onnx_model):
    for path in (keras_model, onnx_model):
        graph, findings = _graph_and_findings(path)
        svg = picture.to_svg(picture.to_dot(graph, findings))
        assert_markup_safe(svg)
        root = ET.fromstring(svg)
        assert not [e for e in root.iter() if e.tag.endswith("script")]
        page = picture.to_html(graph, findings, layout="graphviz")
        assert_markup_safe(page)


@pytest.mark.parametrize("fmt", ["dot", "html", "svg"])
def test_graph_command_with_hostile_and_surrogate_names(fmt, tmp_path, keras_model):
    if fmt == "svg" and shutil.which("dot") is None:
        pytest.skip("Graphviz `dot` is not installed")
    surrogate = hostile_keras(tmp_path / "s\udcff.json", lstm=SURROGATE + HOSTILE)  # b"s\xff.json"
    for model in (keras_model, surrogate):
        proc = run("graph", "--format", fmt, model)
        assert proc.returncode == 0, proc.stderr
        check = assert_dot_safe if fmt == "dot" else assert_markup_safe
        check(decoded(proc.stdout))
        out = tmp_path / f"picture.{fmt}"
        assert run("graph", "--format", fmt, "--output", str(out), model).returncode == 0
        check(decoded(out.read_bytes()))


def test_graph_command_error_line_is_escaped(named_files):
    (unreadable,) = [p for p in named_files if p.endswith(b".keras")]
    proc = run("graph", "--format", "dot", unreadable)
    assert proc.returncode == 2
    err = decoded(proc.stderr)
    assert_safe(err)
    assert len(err.splitlines()) == 1 and "\\n::error::INJECTED\\udcff" in err


def test_axes_command_escapes_names(keras_model):
    proc = run("axes", keras_model)
    assert proc.returncode == 0, proc.stderr
    out = decoded(proc.stdout)
    assert_safe(out, "axes")
    assert visible(HOSTILE) in out


def test_streams_never_raise_on_a_terminal_that_is_not_utf8(tmp_path):
    """Latin-1 output (click leaves a non-ASCII stream as it is): what it cannot encode is
    written as \\uXXXX, which reads the same in text and keeps JSON valid."""
    name = SURROGATE + "漢"
    model = hostile_keras(tmp_path / "m.json", lstm=name)
    env = {**os.environ, "PYTHONIOENCODING": "latin-1", "PYTHONUTF8": "0"}
    proc = subprocess.run([*cli_path(), model, os.path.join(SAMPLES, "good_lrcn.keras")],
                          cwd=ROOT, capture_output=True, timeout=120, env=env)
    assert proc.returncode == 1, proc.stderr
    out = proc.stdout.decode("latin-1")
    assert "lstm\\ud800x\\udcff\\u6f22" in out and "15×15" in out
    assert "in 2 files" in out
    proc = subprocess.run([*cli_path(), "--format", "json", model], cwd=ROOT, capture_output=True,
                          timeout=120, env=env)
    doc = json.loads(proc.stdout.decode("latin-1"))
    assert doc["files"][0]["findings"][0]["node"] == name
