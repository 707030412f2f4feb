"""`cnnlstm-lint graph`: DOT / SVG / HTML pictures of the annotated graph, findings in red."""

from __future__ import annotations

import html
import os
import re
import shutil

import pytest
from click.testing import CliRunner

from cnnlstm_lint import picture
from cnnlstm_lint.axes import propagate
from cnnlstm_lint.engine import lint_graph
from cnnlstm_lint.graph import ModelGraph, Node
from cnnlstm_lint.loaders import load_graph
from cnnlstm_lint.picture import graph_command, graphviz
from cnnlstm_lint.picture.scene import RED_HEX

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "sample_models")
CL001 = os.path.join(SAMPLES, "cl001_spatial_reshape.keras")
CL007 = os.path.join(SAMPLES, "cl007_crnn_no_permute.keras")
CLEAN = os.path.join(SAMPLES, "good_lrcn.keras")
ONNX_CL001 = os.path.join(SAMPLES, "torch", "spatial_reshape.ts.onnx")

HAS_DOT = shutil.which("dot") is not None


def invoke(*args: str):
    return CliRunner().invoke(graph_command, list(args))


def dot_of(path: str, *extra: str) -> str:
    result = invoke("--format", "dot", *extra, path)
    assert result.exit_code == 0, result.output
    return result.stdout


def node_stmt(dot: str, node_id: str) -> str:
    """The DOT statement of the box whose label starts with `node_id`."""
    quoted = picture.dot_quote(node_id)[1:-1]
    found = [line for line in dot.splitlines() if re.match(r"\s*n\d+ \[label=\"" + re.escape(quoted) + r"\\n", line)]
    assert len(found) == 1, (node_id, dot)
    return found[0]


def key_of(dot: str, node_id: str) -> str:
    return node_stmt(dot, node_id).split()[0]


def edge_stmt(dot: str, src: str, dst: str) -> str:
    a, b = key_of(dot, src), key_of(dot, dst)
    found = [line for line in dot.splitlines() if line.strip().startswith(f"{a} -> {b} ")]
    assert len(found) == 1, (src, dst, dot)
    return found[0]


RED_BOX = "color=red penwidth=2"


# -- DOT ----------------------------------------------------------------------------------


def test_dot_outlines_the_spatial_reshape_path():
    dot = dot_of(CL001)
    assert dot.startswith("digraph model {") and "rankdir=TB" in dot
    lstm = node_stmt(dot, "lstm")
    assert RED_BOX in lstm and "CL001" in lstm
    for related in ("reshape", "max_pooling2d"):
        stmt = node_stmt(dot, related)
        assert RED_BOX in stmt and "CL001" not in stmt
    for clean in ("input_layer", "conv2d", "dropout", "dense"):
        assert "color=red" not in node_stmt(dot, clean)
    into_lstm = edge_stmt(dot, "reshape", "lstm")
    assert "(B, T=225 ⟵ H×W, C=8)" in into_lstm and "color=red" in into_lstm
    assert "color=red" in edge_stmt(dot, "max_pooling2d", "reshape")
    assert "(B, H=15, W=15, C=8)" in edge_stmt(dot, "max_pooling2d", "reshape")
    assert "color=red" not in edge_stmt(dot, "conv2d", "max_pooling2d")
    assert "color=red" not in edge_stmt(dot, "lstm", "dropout")
    assert "(B, F=16)" in edge_stmt(dot, "lstm", "dropout")


def test_dot_of_a_clean_model_has_no_red():
    dot = dot_of(CLEAN)
    assert "red" not in dot and "CL0" not in dot
    assert "×T per step" in node_stmt(dot, "time_distributed/frame_cnn/conv2d")
    assert "×T per step" not in node_stmt(dot, "lstm")
    # the clip's time axis goes through the per-frame CNN untouched
    assert "(B, T=8, C=8)" in edge_stmt(dot, "time_distributed/frame_cnn/global_average_pooling2d", "lstm")


def test_dot_marks_scrambled_axes():
    dot = dot_of(CL007)
    edge = edge_stmt(dot, "reshape", "bilstm")
    assert "(B, T=32 ⟵ scrambled(H, W), 128 ⟵ scrambled(W, C))" in edge
    assert "color=red" in edge
    assert "CL007" in node_stmt(dot, "bilstm")


# The whole DOT text of one small sample, pinned: any change in what the picture says or
# how it is written shows up here, to be reviewed (and this text updated on purpose).
CL001_DOT = r'''digraph model {
  graph [rankdir=TB fontname=Helvetica fontsize=12 labelloc=t label="sample_models/cl001_spatial_reshape.keras — 1 finding" nodesep=0.35 ranksep=0.45 charset="UTF-8"];
  node [shape=box style="rounded,filled" fillcolor=white fontname=Helvetica fontsize=11 margin="0.14,0.05"];
  edge [fontname=Helvetica fontsize=9 color="#555555" arrowsize=0.7];
  n0 [label="input_layer\nInputLayer" tooltip="input_layer [InputLayer]" fillcolor="#eef2f7"];
  n1 [label="conv2d\nConv2D" tooltip="conv2d [Conv2D]" fillcolor="#e6f0fb"];
  n2 [label="max_pooling2d\nMaxPooling2D" tooltip="max_pooling2d [MaxPooling2D]" fillcolor="#e6f0fb" color=red penwidth=2];
  n3 [label="reshape\nReshape" tooltip="reshape [Reshape]" fillcolor="#f1ecf8" color=red penwidth=2];
  n4 [label="lstm\nLSTM\nCL001 spatial-sequence" tooltip="lstm [LSTM]\nCL001 spatial-sequence: LSTM `lstm` runs over 225 steps made of the 15×15 pixels (H×W) of `max_pooling2d`'s feature map, so its time axis is a scan over image positions." fillcolor="#fde4e4" color=red penwidth=2 fontcolor="#8b0000"];
  n5 [label="dropout\nDropout" tooltip="dropout [Dropout]" fillcolor="white"];
  n6 [label="dense\nDense" tooltip="dense [Dense]" fillcolor="white"];
  o0 [label="output" shape=plaintext style=solid fontcolor="#555555"];
  n0 -> n1 [label=" (B, H=32, W=32, C=3) " tooltip="B: batch, N ? of input_layer\nH=32: spatial, H 32 of input_layer\nW=32: spatial, W 32 of input_layer\nC=3: channel, C 3 of input_layer"];
  n1 -> n2 [label=" (B, H=30, W=30, C=8) " tooltip="B: batch, N ? of input_layer\nH=30: spatial, H 30 of conv2d\nW=30: spatial, W 30 of conv2d\nC=8: channel, C 8 of conv2d"];
  n2 -> n3 [label=" (B, H=15, W=15, C=8) " tooltip="B: batch, N ? of input_layer\nH=15: spatial, H 15 of max_pooling2d\nW=15: spatial, W 15 of max_pooling2d\nC=8: channel, C 8 of conv2d" color=red fontcolor=red penwidth=2];
  n3 -> n4 [label=" (B, T=225 ⟵ H×W, C=8) " tooltip="B: batch, N ? of input_layer\nT=225 ⟵ H×W: spatial, H 15 × W 15 of max_pooling2d\nC=8: channel, C 8 of conv2d" color=red fontcolor=red penwidth=2];
  n4 -> n5 [label=" (B, F=16) " tooltip="B: batch, N ? of input_layer\nF=16: feature, F 16 of lstm"];
  n5 -> n6 [label=" (B, F=16) " tooltip="B: batch, N ? of input_layer\nF=16: feature, F 16 of lstm"];
  n6 -> o0 [label=" (B, F=10) " tooltip="B: batch, N ? of input_layer\nF=10: feature, F 10 of dense"];
}
'''


def test_dot_text_of_a_sample_is_pinned(monkeypatch):
    monkeypatch.chdir(ROOT)  # the title shows the path as given
    path = os.path.join("sample_models", "cl001_spatial_reshape.keras")
    assert dot_of(path) == CL001_DOT
    graph = load_graph(path)  # the API draws what the command draws
    assert picture.to_dot(graph, lint_graph(graph)) == CL001_DOT


def test_dot_of_an_onnx_export():
    dot = dot_of(ONNX_CL001)
    lstm = node_stmt(dot, "/lstm/LSTM")
    assert RED_BOX in lstm and "CL001" in lstm
    assert RED_BOX in node_stmt(dot, "/Reshape") and RED_BOX in node_stmt(dot, "/pool/MaxPool")
    # time-major ONNX LSTM: the time axis is first
    assert "(T=225 ⟵ H×W, B, C=8)" in edge_stmt(dot, "/lstm/Transpose", "/lstm/LSTM")


def test_select_and_ignore_choose_what_is_red():
    assert "color=red" not in dot_of(CL001, "--ignore", "CL001")
    assert "color=red" not in dot_of(CL001, "--select", "CL007,CL008")
    assert "CL001" in node_stmt(dot_of(CL001, "--select", "CL0"), "lstm")
    result = invoke("--format", "dot", "--select", "CL999", CL001)
    assert result.exit_code == 2 and "CL999" in result.output


def _tiny_graph(name: str) -> ModelGraph:
    graph = ModelGraph("odd.keras", "keras")
    graph.add_node(Node("in", "input", "InputLayer", {"shape": (None, 4)}))
    graph.add_node(Node(name, "dense", "Dense", {"units": 3}))
    graph.connect("in", 0, name, 0)
    graph.outputs = [(name, 0)]
    propagate(graph)
    return graph


def test_labels_are_escaped():
    name = 'we"ird\\name\n<&>'
    assert picture.dot_quote(name) == r'"we\"ird\\name\n<&>"'
    dot = picture.to_dot(_tiny_graph(name), [])
    assert r'label="we\"ird\\name\n<&>\nDense"' in dot
    page = picture.to_html(_tiny_graph(name), [], layout="python")
    assert "<&>" not in page and "&lt;&amp;&gt;" in page
    assert 'we"ird' not in page.split("<body>", 1)[1].replace("&quot;", "")


# -- axis notation ---------------------------------------------------------------------------


def test_axis_notation():
    graph = load_graph(CL001)
    reshaped = graph.tensor("reshape").axes
    assert picture.shape_text(reshaped) == "(B, S=225 ⟵ H×W, C=8)"
    assert picture.shape_text(reshaped, time_at=1) == "(B, T=225 ⟵ H×W, C=8)"
    lstm = graph.node("lstm")
    assert picture.time_index(graph, lstm) == 1
    assert picture.time_index(graph, graph.node("reshape")) is None
    assert picture.shape_text(None) == "(shape unknown)"


def test_folded_batch_and_pieces():
    dot = dot_of(os.path.join(SAMPLES, "torch", "video_fold_batch.ts.onnx"))
    assert "B ⟵ N×T" in dot
    dot = dot_of(os.path.join(SAMPLES, "cl003_flatten_clip.keras"))
    assert "F=1536 ⟵ T×H×W×C" in dot
    assert "T=6 ⟵ part of F" in dot


# -- SVG ----------------------------------------------------------------------------------


@pytest.mark.skipif(not HAS_DOT, reason="Graphviz `dot` is not installed")
def test_svg_has_the_red_outline(tmp_path):
    out = tmp_path / "m.svg"
    result = invoke(CL001, "-o", str(out))
    assert result.exit_code == 0, result.output
    svg = out.read_text(encoding="utf-8")
    assert "<svg" in svg and svg.rstrip().endswith("</svg>")
    assert 'stroke="red"' in svg and "CL001" in svg
    assert "T=225 ⟵ H×W" in svg
    stdout = invoke("--format", "svg", CLEAN)
    assert stdout.exit_code == 0 and "<svg" in stdout.stdout and 'stroke="red"' not in stdout.stdout


def test_missing_graphviz_is_one_line_with_the_install_hint(monkeypatch):
    monkeypatch.setattr(graphviz, "dot_path", lambda: None)
    result = invoke("--format", "svg", CL001)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    for hint in ("apt-get install graphviz", "brew install graphviz", "conda install graphviz"):
        assert hint in lines[0]
    with pytest.raises(picture.GraphvizError, match="apt-get install graphviz"):
        picture.to_svg("digraph { a }")
    # html needs no Graphviz
    page = invoke("--format", "html", CL001)
    assert page.exit_code == 0 and 'data-layout="python"' in page.stdout


# -- HTML ---------------------------------------------------------------------------------


def _assert_self_contained(page: str) -> None:
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, re.I)
    assert not re.search(r"<script[^>]*\bsrc\b", page, re.I)
    assert not re.search(r"<link\b", page, re.I)
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", page, re.I)
    assert "<!DOCTYPE svg" not in page and "<?xml" not in page


@pytest.mark.parametrize("layout", ["python", "graphviz"])
def test_html_is_self_contained_with_picture_and_findings(layout):
    if layout == "graphviz" and not HAS_DOT:
        pytest.skip("Graphviz `dot` is not installed")
    graph = load_graph(CL001)
    findings = lint_graph(graph)
    page = picture.to_html(graph, findings, layout=layout)
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    _assert_self_contained(page)
    assert f'data-layout="{layout}"' in page
    body = page.split("<h2>Findings", 1)
    picture_part, listing = body[0], body[1]
    assert picture_part.count("<svg") == 1
    assert "T=225 ⟵ H×W" in picture_part and "CL001" in picture_part
    if layout == "python":  # the three boxes of the finding carry the red stroke
        red_boxes = re.findall(r'<g class="node red"><title>([^\n<]*)', picture_part)
        assert red_boxes == ["max_pooling2d [MaxPooling2D]", "reshape [Reshape]", "lstm [LSTM]"]
        assert picture_part.count(f'stroke="{RED_HEX}" stroke-width="2"') >= 5
    else:
        assert 'stroke="red"' in picture_part
    finding = findings[0]
    assert "CL001" in listing and "<code>lstm</code>" in listing
    assert html.escape(finding.message) in listing
    assert html.escape(finding.remedy) in listing


def test_html_command_and_clean_model(tmp_path):
    out = tmp_path / "page.html"
    result = invoke("--format", "html", "--output", str(out), CLEAN)
    assert result.exit_code == 0 and result.stdout == ""
    page = out.read_text(encoding="utf-8")
    _assert_self_contained(page)
    assert "No findings." in page and "time_distributed/frame_cnn/conv2d" in page
    assert RED_HEX not in picture.python_svg(load_graph(CLEAN), [])


def test_html_of_an_onnx_export():
    result = invoke("--format", "html", ONNX_CL001)
    assert result.exit_code == 0
    _assert_self_contained(result.stdout)
    assert "/lstm/LSTM" in result.stdout and "CL001" in result.stdout


@pytest.mark.parametrize("name", ["cl008_concat_imbalance.keras", "good_shared_multi_io.keras",
                                  "opaque_lambda.keras", "onnx/good_lrcn_layers.onnx"])
def test_python_layout_draws_branching_graphs(name):
    graph = load_graph(os.path.join(SAMPLES, name))
    svg = picture.python_svg(graph, lint_graph(graph))
    assert svg.count("<rect") >= len(graph) and svg.count("<path d=") >= len(graph) - len(graph.inputs)
    assert "nan" not in svg


# -- errors -------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["dot", "svg", "html"])
def test_unreadable_model_exits_2_with_one_line(tmp_path, fmt):
    bad = tmp_path / "broken.keras"
    bad.write_bytes(b"this is not a zip")
    result = invoke("--format", fmt, str(bad))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"error: {bad}: ")
    assert result.stdout == ""
    missing = invoke("--format", fmt, str(tmp_path / "nope.keras"))
    assert missing.exit_code == 2 and missing.stderr.startswith(f"error: {tmp_path / 'nope.keras'}: ")


def test_help_explains_the_notation():
    result = invoke("--help")
    assert result.exit_code == 0
    for text in ("--format", "dot|svg|html", "--select", "--ignore", "--output", "scrambled", "⟵ H×W"):
        assert text in result.output
