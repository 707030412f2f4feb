"""Command line: `cnnlstm-lint PATH...` lints; `rule CODE` and `rules` document.

Exit status: 0 no findings, 1 findings, 2 a file could not be read or a usage error.
"""

from __future__ import annotations

import sys

import click

from . import __version__

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class DefaultGroup(click.Group):
    """A group whose default command is `lint`: `cnnlstm-lint model.keras` just works."""

    default_command = "lint"

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("--help", "-h", "--version")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnnlstm-lint")
def main() -> None:
    """Static checks for CNN -> LSTM/GRU models (.keras, .h5, .json).

    `cnnlstm-lint PATH...` is short for `cnnlstm-lint lint PATH...`.
    """


@main.command("lint")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, metavar="CODES",
              help="Rules to run: codes or prefixes, comma-separated (default: all).")
@click.option("--ignore", multiple=True, metavar="CODES",
              help="Rules to skip: codes or prefixes, comma-separated.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--verbose", "-v", is_flag=True,
              help="Also say what could not be judged, and why (opaque layers, unknown shapes).")
def lint_command(paths: tuple[str, ...], select: tuple[str, ...], ignore: tuple[str, ...],
                 fmt: str, output: str | None, exit_zero: bool, verbose: bool) -> None:
    """Lint model files, or directories of them (.keras .h5 .hdf5 .json .onnx)."""
    from .engine import SelectionError, Settings, lint_files, select_rules
    from .files import collect
    from .report import RENDERERS

    if not paths:
        raise click.UsageError("give one or more model files or directories to lint")
    settings = Settings(select=_split(select) or ("ALL",), ignore=_split(ignore))
    try:
        select_rules(settings.select, settings.ignore)
    except SelectionError as exc:
        raise click.UsageError(str(exc)) from None
    results = lint_files(collect(list(paths)), settings)
    for r in results:
        if r.status == "error":
            click.echo(f"error: {r.path}: {r.error}", err=True)
    to_tty = output is None and sys.stdout.isatty()
    report = RENDERERS[fmt](results, verbose=verbose, color=to_tty)
    if output:
        with open(output, "w", encoding="utf-8") as fh:
            fh.write(report)
    else:
        click.echo(report, nl=False)
    if any(r.status == "error" for r in results):
        sys.exit(EXIT_ERROR)
    if not exit_zero and any(r.findings for r in results):
        sys.exit(EXIT_FINDINGS)
    sys.exit(EXIT_CLEAN)


@main.command("rule")
@click.argument("code")
def rule_command(code: str) -> None:
    """Print the documentation of one rule (by code or name, e.g. CL001)."""
    from .docs import render_rule
    from .rules import by_code_or_name

    rule = by_code_or_name(code)
    if rule is None:
        raise click.UsageError(f"no rule {code!r} (see `cnnlstm-lint rules`)")
    click.echo(render_rule(rule), nl=False)


@main.command("rules")
def rules_command() -> None:
    """List every rule: code, name, default severity."""
    from .rules import REGISTRY

    for code, rule in REGISTRY.items():
        summary = (rule.__doc__ or "").split("## What it does", 1)[-1].strip().split("\n\n")[0]
        summary = " ".join(summary.split())
        click.echo(f"{code}  {rule.name:<27} {rule.severity.value:<8} {summary}")


@main.command("axes")
@click.argument("path", type=click.Path())
def axes_command(path: str) -> None:
    """Show every layer's output axes and where each came from."""
    from .loaders import LoadError, load_graph

    try:
        graph = load_graph(path)
    except LoadError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    for node in graph.nodes():
        step = f"  (per step ×{node.per_step})" if node.per_step else ""
        click.echo(f"{node.id}  [{node.op}]{step}")
        for index, tensor in enumerate(node.outputs):
            label = f"out{index}" if len(node.outputs) > 1 else "out"
            if tensor.axes is None:
                click.echo(f"    {label}: unknown shape")
                continue
            for i, axis in enumerate(tensor.axes):
                size = "None" if axis.size is None else axis.size
                click.echo(f"    {label}[{i}] {size:>6} {axis.role:<9} = {axis.describe()}")
