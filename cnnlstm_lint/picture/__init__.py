"""Pictures of an annotated model: Graphviz DOT, SVG, and a self-contained HTML page.

A box per layer (its id and op, "×T per step" under TimeDistributed), an edge per tensor
labelled with its shape and where each axis came from, e.g. ``(B, T=225 ⟵ H×W, C=8)``:

- ``B`` is the batch axis (``B ⟵ N×T`` when other axes were folded into it);
- every other axis is ``LETTER=size``: its source's label (``H``, ``W``, ``D``, ``L``,
  ``C``, ``T``, ``F``) when it is one whole axis, else its role (``T`` time, ``S``
  spatial, ``C`` channel, ``F`` feature, ``?`` unknown); the axis a recurrent layer
  reads as time is always ``T``; ``?`` stands for a size known only at run time;
- ``⟵ H×W`` says what the axis is made of, when that is several source axes (in memory
  order) or a source of another kind; ``⟵ part of W`` is a clean piece of one axis;
- a reshape that cut through axes gives ``32 ⟵ scrambled(H, W)`` (or ``T=32 ⟵ …`` into
  a recurrent layer).

The layers a finding names (its node and the layers that built its input) are outlined
in red, the finding's node is labelled with its code(s), and the tensors between them
are drawn red.

Names come from the file and are untrusted: the scene (and the page's title and findings
list) takes them in through report/escape.py's `visible` (control characters shown as
escapes; for DOT a newline stays a label line break, which `dot_quote` writes as ``\\n``),
and `dot_quote`, `html.escape` and Graphviz then quote them as markup.

One module per job: scene.py (what to draw, the axis notation), dot.py (the DOT text),
graphviz.py (SVG by Graphviz' `dot`), layout.py (SVG laid out here, without Graphviz),
page.py (the HTML page), command.py (`cnnlstm-lint graph`).
"""

from __future__ import annotations

from .command import graph_command
from .dot import dot_quote, to_dot
from .graphviz import GraphvizError, dot_path, to_svg
from .layout import python_svg
from .page import to_html
from .scene import axis_text, shape_text, time_index

__all__ = ["axis_text", "dot_path", "dot_quote", "graph_command", "GraphvizError", "python_svg",
           "shape_text", "time_index", "to_dot", "to_html", "to_svg"]
