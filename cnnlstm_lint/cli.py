"""Command line: `cnnlstm-lint PATH...` lints; `rule CODE` and `rules` document.

Exit status: 0 no findings, 1 findings, 2 a file could not be read or a usage error.
"""

from __future__ import annotations

import json
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


@main.command("probe")
@click.argument("model", type=click.Path())
@click.option("--data", type=click.Path(), help="FILE.npz with x_train, y_train, x_val, y_val "
              "(or x, y and --val-split). Default: a built-in task shaped to the model.")
@click.option("--task", default="digits", show_default=True, help="Built-in task without --data.")
@click.option("--epochs", type=click.IntRange(1), default=15, show_default=True)
@click.option("--seeds", type=click.IntRange(1), default=3, show_default=True,
              help="Training runs per variant, each from fresh weights.")
@click.option("--budget", type=click.FloatRange(min=1), default=None,
              help="Seconds for all training; the probe stops cleanly and reports what finished.")
@click.option("--device", type=click.Choice(["auto", "cpu", "gpu"]), default="auto", show_default=True)
@click.option("--rules", "rules", default="", metavar="CODES", help="Only probe these findings, e.g. CL001,CL006.")
@click.option("--out", "out_dir", default="probe_out", show_default=True, type=click.Path(file_okay=False),
              help="Folder for probe.json and curves.png.")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option("--min-delta", type=float, default=0.02, show_default=True,
              help="Smallest gain of a remedy that counts as confirming the finding.")
@click.option("--val-split", type=click.FloatRange(0.01, 0.9), default=0.2, show_default=True)
@click.option("--batch-size", type=click.IntRange(1), default=64, show_default=True)
@click.option("--max-samples", type=click.IntRange(1), default=None,
              help="Use at most N training and N validation samples (quick looks).")
@click.option("--tensorboard", is_flag=True, help="Also write TensorBoard logs under --out.")
@click.option("--mixed-precision", is_flag=True, help="mixed_float16 on GPU.")
def probe_command(model: str, data, task, epochs, seeds, budget, device, rules, out_dir, fmt,
                  min_delta, val_split, batch_size, max_samples, tensorboard, mixed_precision) -> None:
    """Train MODEL and its remedied variants briefly on the same data and say, per finding,
    whether the remedy really beats it (confirmed / refuted / inconclusive).

    Needs the TensorFlow extra (pip install 'cnnlstm-lint[tf]'); runs on any Keras 3
    backend (KERAS_BACKEND=jax or torch). Exit status: 0 nothing confirmed, 1 at least one
    finding confirmed, 2 error.
    """
    import importlib.util
    import os

    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    missing = [m for m in ("keras", backend, "sklearn", "scipy", "matplotlib")
               if importlib.util.find_spec(m) is None]
    if missing:
        click.echo(f"error: the probe needs the TensorFlow extra ({', '.join(missing)} missing): "
                   "pip install 'cnnlstm-lint[tf]'", err=True)
        sys.exit(EXIT_ERROR)
    from .engine import SelectionError, select_rules
    from .loaders import LoadError
    from .probe.runner import DataError, ProbeError, ProbeOptions, render_text, run_probe, write_outputs

    codes = _split((rules,))
    try:
        select_rules(codes or ["ALL"])
    except SelectionError as exc:
        raise click.UsageError(str(exc)) from None
    opts = ProbeOptions(data=data, task=task, epochs=epochs, seeds=seeds, budget=budget,
                        device=device, rules=codes, out_dir=out_dir, min_delta=min_delta,
                        val_split=val_split, batch_size=batch_size, max_samples=max_samples,
                        tensorboard=tensorboard, mixed_precision=mixed_precision)
    try:
        report = run_probe(model, opts, progress=fmt == "text" and sys.stderr.isatty())
    except LoadError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    except (DataError, ProbeError) as exc:
        click.echo(f"error: {model}: {exc}", err=True)
        sys.exit(EXIT_ERROR)
    write_outputs(report, out_dir)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render_text(report), nl=False)
    confirmed = any(f["verdict"]["verdict"] == "confirmed" for f in report["findings"])
    sys.exit(EXIT_FINDINGS if confirmed else EXIT_CLEAN)
