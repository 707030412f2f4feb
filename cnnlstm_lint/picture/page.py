"""The picture as a self-contained HTML page: the SVG (Graphviz' when `dot` is
installed, else layout.py's) and the list of findings. No network needed."""

from __future__ import annotations

import html
from typing import Sequence

from ..findings import Finding
from ..graph import ModelGraph
from ..report.escape import escaped_finding, visible
from . import graphviz  # dot_path looked up in its module, where a test may replace it
from .dot import to_dot
from .layout import python_svg


_CSS = """
body { font-family: Helvetica, Arial, sans-serif; margin: 1.5em; color: #111; }
h1 { font-size: 1.25em; margin: 0 0 .3em 0; }
h2 { font-size: 1.1em; margin-top: 1.5em; }
.picture { overflow: auto; border: 1px solid #ddd; padding: .5em; background: #fff; }
.picture svg { max-width: none; height: auto; }
.legend { color: #444; font-size: .9em; max-width: 60em; }
code { font-family: Menlo, Consolas, monospace; font-size: .92em; background: #f4f4f4; padding: 0 .2em; }
ol.findings li { margin-bottom: .9em; }
.code { font-weight: bold; color: #a00; }
.sev { color: #555; }
.remedy { color: #234; }
"""


def _strip_xml_prolog(svg: str) -> str:
    start = svg.find("<svg")
    return svg[start:] if start >= 0 else svg


def to_html(graph: ModelGraph, findings: Sequence[Finding], *, layout: str = "auto") -> str:
    """A self-contained HTML page: the picture (Graphviz' SVG when `dot` is installed,
    else layout.py's layered layout) and the list of findings. No network needed.

    `layout`: "auto", "graphviz" (GraphvizError if it is missing) or "python".
    """
    e = html.escape
    file = visible(graph.file)
    drawn_by = "python"
    if layout == "graphviz" or (layout == "auto" and graphviz.dot_path() is not None):
        svg = _strip_xml_prolog(graphviz.to_svg(to_dot(graph, findings)))
        drawn_by = "graphviz"
    else:
        svg = python_svg(graph, findings)
    count = f"{len(findings)} finding{'s' if len(findings) != 1 else ''}" if findings else "no findings"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>cnnlstm-lint: {e(file)}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{e(file)} <span class=\"sev\">({e(visible(graph.framework))}, {count})</span></h1>",
        '<p class="legend">Each box is a layer (its id and op; <code>×T per step</code> under '
        "TimeDistributed); each arrow a tensor, labelled with its shape: <code>B</code> batch, "
        "<code>T</code> time, <code>H</code>/<code>W</code>/<code>D</code>/<code>L</code> spatial "
        "(<code>S</code> several), <code>C</code> channels, <code>F</code> features, "
        "<code>?</code> unknown; <code>⟵ H×W</code> says what an axis is made of, "
        "<code>scrambled(…)</code> that a reshape cut through axes. The layers a finding names "
        "are outlined in red and the tensors between them drawn red. Hover for details."
        + ("" if drawn_by == "graphviz" else
           " <em>Drawn without Graphviz; install it (apt-get install graphviz, brew install "
           "graphviz or conda install graphviz) for a tidier layout.</em>")
        + "</p>",
        f'<div class="picture" data-layout="{drawn_by}">',
        svg,
        "</div>",
        f"<h2>Findings ({len(findings)})</h2>",
    ]
    if not findings:
        parts.append("<p>No findings.</p>")
    else:
        parts.append('<ol class="findings">')
        for f in [escaped_finding(finding) for finding in findings]:
            related = (f" <span class=\"sev\">built by: {e(', '.join(f.related))}</span>"
                       if f.related else "")
            parts.append(
                f'<li><span class="code">{e(f.code)}</span> <span class="sev">[{e(f.severity.value)}]</span> '
                f"{e(f.name)} at <code>{e(f.node)}</code>{related}"
                f"<br>{e(f.message)}"
                + (f'<br><span class="remedy"><b>remedy:</b> {e(f.remedy)}</span>' if f.remedy else "")
                + "</li>")
        parts.append("</ol>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"
