"""`cnnlstm-lint graph`: the command that draws a model (loaded lazily by cli.py)."""

from __future__ import annotations

import sys

import click

from ..report.escape import visible
from .dot import to_dot
from .graphviz import GraphvizError, to_svg
from .page import to_html


EXIT_ERROR = 2


@click.command("graph")
@click.argument("model", type=click.Path())
@click.option("--format", "fmt", type=click.Choice(["dot", "svg", "html"]), default="svg",
              show_default=True,
              help="dot: Graphviz source; svg: rendered by Graphviz' `dot`; html: a "
                   "self-contained page with the picture and the findings (works without Graphviz).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write to FILE instead of standard output.")
@click.option("--select", multiple=True, metavar="CODES",
              help="Findings to show: codes or prefixes, comma-separated (default: all).")
@click.option("--ignore", multiple=True, metavar="CODES",
              help="Findings to leave out: codes or prefixes, comma-separated.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Use this config file instead of the nearest one to the model.")
@click.option("--isolated", is_flag=True, help="Ignore every config file.")
def graph_command(model: str, fmt: str, output: str | None, select: tuple[str, ...],
                  ignore: tuple[str, ...], config_file: str | None, isolated: bool) -> None:
    """Draw MODEL's layers with every tensor's axes, and the findings in red.

    A box per layer (id, op, "×T per step" under TimeDistributed), an arrow per tensor
    labelled with its shape and where each axis came from:

    \b
      (B, T=225 ⟵ H×W, C=8)    batch; 225 time steps made of the H×W pixels; 8 channels
      T=32 ⟵ scrambled(H, W)   a reshape cut through axes: each step mixes rows and columns

    B is the batch; other axes are LETTER=size: the source axis' label (H, W, D, L, C,
    T, F) or the role (T time, S spatial, C channel, F feature, ? unknown); the axis a
    recurrent layer reads as time is always T. The layers a finding names are outlined in
    red, its layer is labelled with the code, and the tensors between them are red.

    svg needs Graphviz (`dot`); html draws without it. Exit status: 0 drawn, 2 the
    model could not be read, Graphviz is missing for svg, or a usage error.
    """
    from ..cli import _file_settings
    from ..engine import inspect_file
    from ..loaders import LoadError

    settings = _file_settings(model, config_file, isolated, select, ignore)
    # drawn where the file was parsed (the isolated child for .h5/.onnx); svg from the DOT
    draw = to_html if fmt == "html" else to_dot
    try:
        text = inspect_file(model, settings, draw)
    except LoadError as exc:
        click.echo(f"error: {visible(model)}: {visible(exc.reason)}", err=True)
        sys.exit(EXIT_ERROR)
    try:
        if fmt == "svg":
            text = to_svg(text)
    except GraphvizError as exc:
        click.echo(f"error: {visible(exc)}", err=True)
        sys.exit(EXIT_ERROR)
    data = text.encode("utf-8", "backslashreplace")  # nothing unencodable is left; never raise
    if output:
        with open(output, "wb") as fh:
            fh.write(data)
    else:  # bytes, so that a terminal without UTF-8 cannot fail on "⟵"
        stream = getattr(sys.stdout, "buffer", None)
        if stream is None:
            click.echo(text, nl=False)
        else:
            sys.stdout.flush()
            stream.write(data)
            stream.flush()
