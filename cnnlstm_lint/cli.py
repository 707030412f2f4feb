"""Command line: `cnnlstm-lint PATH...` lints; `rule CODE` and `rules` document.

Exit status: 0 no findings, 1 findings, 2 a file could not be read or a usage error.
"""

from __future__ import annotations

import json
import sys

import click

from . import __version__
from .report.escape import safe_streams, visible  # file-supplied text, for stdout/stderr

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class DefaultGroup(click.Group):
    """A group whose default command is `lint`: `cnnlstm-lint model.keras` just works.

    Commands with heavier modules are imported only when they are run (or listed).
    """

    default_command = "lint"
    lazy_commands = {"graph": ("cnnlstm_lint.picture", "graph_command")}

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *self.lazy_commands])

    def get_command(self, ctx: click.Context, name: str):
        if name in self.lazy_commands:
            import importlib

            module, attr = self.lazy_commands[name]
            return getattr(importlib.import_module(module), attr)
        return super().get_command(ctx, name)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in self.lazy_commands
                        and args[0] not in ("--help", "-h", "--version")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


class ByteSize(click.ParamType):
    """A size in bytes, with an optional K, M or G (binary) suffix: 512M, 2G."""

    name = "SIZE"
    _UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3}

    def convert(self, value, param, ctx):
        if isinstance(value, int):
            return value
        text = str(value).strip().upper().removesuffix("IB").removesuffix("B")
        unit = text[-1:] if text[-1:] in "KMG" else ""
        try:
            number = float(text[:-1] if unit else text)
        except ValueError:
            self.fail(f"{value!r} is not a size like 2G, 500M or 1048576", param, ctx)
        if number <= 0:
            self.fail("the size must be positive", param, ctx)
        return int(number * self._UNITS[unit])


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="cnnlstm-lint")
def main() -> None:
    """Static checks for CNN -> LSTM/GRU models ({suffixes}).

    `cnnlstm-lint PATH...` is short for `cnnlstm-lint lint PATH...`.
    """
    safe_streams()  # an unencodable character is written as an escape, never raises


def _formats() -> list[str]:
    from .report import FORMATS

    return list(FORMATS)


class _FormatOption(click.Option):
    """--format, whose help lists each format with its module's one-line description:
    read only when help is shown, so a lint run never parses the format modules."""

    def get_help_record(self, ctx):
        from .report import help_text

        self.help = "Output format: " + "; ".join(
            f"{name}: {help_text(name).rstrip('.')}" for name in self.type.choices) + "."
        return super().get_help_record(ctx)


@main.command("lint")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--select", multiple=True, metavar="CODES",
              help="Rules to run: codes or prefixes, comma-separated (default: all; replaces "
                   "the config's).")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Rules to add to the selection.")
@click.option("--ignore", multiple=True, metavar="CODES",
              help="Rules to skip: codes or prefixes, comma-separated.")
@click.option("--format", "fmt", type=click.Choice(_formats()), default="text", show_default=True,
              cls=_FormatOption)
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True),
              help="Write the report to FILE instead of standard output.")
@click.option("--statistics", is_flag=True, help="Print counts per rule instead of the findings.")
@click.option("--fail-on", type=click.Choice(["info", "warning", "error"]), default=None,
              help="Lowest severity that makes the exit status 1 (default: the config's, or info).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Use this config file instead of the nearest one to each model.")
@click.option("--isolated", is_flag=True, help="Ignore every config file.")
@click.option("--show-settings", is_flag=True, help="Print the resolved settings and exit.")
@click.option("--warn-unused-ignores", is_flag=True,
              help="Warn about per-file/per-layer ignores that matched no finding.")
@click.option("--baseline", "baseline_file", type=click.Path(dir_okay=False),
              help="Report only findings that are not in this baseline file.")
@click.option("--write-baseline", type=click.Path(dir_okay=False),
              help="Record the current findings in this file (then exit 0).")
@click.option("--jobs", "-j", type=click.IntRange(1), default=None,
              help="Worker processes for many files (default: one per core).")
@click.option("--follow-symlinks", is_flag=True,
              help="Lint the targets of symbolic links (by default a link is an error).")
@click.option("--max-file-size", type=ByteSize(), default="2G", show_default=True,
              help="Larger files are refused before they are read.")
@click.option("--verbose", "-v", is_flag=True,
              help="Also say what could not be judged, and why (opaque layers, unknown shapes).")
def lint_command(paths, select, extend_select, ignore, fmt, output, statistics, fail_on, exit_zero,
                 config_file, isolated, show_settings, warn_unused_ignores, baseline_file,
                 write_baseline, jobs, follow_symlinks, max_file_size, verbose) -> None:
    """Lint model files, or directories of them ({suffixes})."""
    from . import baseline
    from .config import ConfigError, Resolver, at_or_above, declared_ignores
    from .engine import SelectionError, Settings, lint_files
    from .files import collect
    from .report import RENDERERS

    if not paths and not show_settings:
        raise click.UsageError("give one or more model files or directories to lint")
    try:
        resolver = Resolver(config_file, isolated)
        targets = collect(list(paths))
        configs = [resolver.for_path(t.path) for t in targets]
        limits = {"follow_symlinks": follow_symlinks, "max_file_size": max_file_size}
        per_file = [Settings.build(c, _split(select), _split(ignore), _split(extend_select), **limits)
                    for c in configs]
        shown = Settings.build(resolver.for_path(paths[0] if paths else "."), _split(select),
                               _split(ignore), _split(extend_select))
        for s in [shown, *per_file]:
            s.rules()
        known = baseline.read(baseline_file) if baseline_file else None
    except (ConfigError, SelectionError, baseline.BaselineError) as exc:
        click.echo(f"error: {visible(exc)}", err=True)
        sys.exit(EXIT_ERROR)
    if show_settings:
        doc = {**shown.config.as_dict(), "select": list(shown.select), "ignore": list(shown.ignore),
               "rules-selected": [r.code for r in shown.rules()],
               "fail-on": fail_on or shown.config.fail_on}
        click.echo(json.dumps(doc, indent=2))
        sys.exit(EXIT_CLEAN)
    for notice in sorted({n for n in (s.unsafe_notice() for s in per_file) if n}):
        click.echo(f"warning: {visible(notice)}", err=True)
    results = lint_files(targets, per_file, jobs)
    for r in results:
        if r.status == "error":
            click.echo(f"error: {visible(r.path)}: {visible(r.error)}", err=True)
        for warning in r.warnings:
            click.echo(f"warning: {visible(r.path)}: {visible(warning)}", err=True)
    if warn_unused_ignores:
        for config in {c for c in configs if c.path}:
            used = set().union(*[r.used_ignores for r, c in zip(results, configs) if c == config])
            for table, pattern in sorted(declared_ignores(config) - used):
                click.echo(f"warning: {visible(config.path)}: {table} entry {pattern!r} matched no finding",
                           err=True)
    if write_baseline:
        count = baseline.write(results, write_baseline)
        click.echo(f"wrote {count} finding(s) to {write_baseline}", err=True)
        sys.exit(EXIT_ERROR if any(r.status == "error" for r in results) else EXIT_CLEAN)
    if known is not None:
        baseline.apply(results, known)
    renderer = RENDERERS["statistics" if statistics else fmt]
    report = renderer(results, verbose=verbose, color=output is None and sys.stdout.isatty())
    if output:
        with open(output, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(report)
    else:
        click.echo(report, nl=False)
    if any(r.status == "error" for r in results):
        sys.exit(EXIT_ERROR)
    failing = any(at_or_above(f, fail_on or s.config.fail_on)
                  for r, s in zip(results, per_file) for f in r.findings)
    sys.exit(EXIT_FINDINGS if failing and not exit_zero else EXIT_CLEAN)


def _name_the_formats(*commands: click.Command) -> None:
    """Help texts list the formats the front ends read (loaders/formats)."""
    from .loaders.formats import suffix_list

    for command in commands:
        command.help = command.help.replace("{suffixes}", suffix_list())


_name_the_formats(main, lint_command)


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

    width = max(len(rule.name) for rule in REGISTRY.values())  # the names in one column
    for code, rule in REGISTRY.items():
        summary = (rule.__doc__ or "").split("## What it does", 1)[-1].strip().split("\n\n")[0]
        summary = " ".join(summary.split())
        click.echo(f"{code}  {rule.name:<{width}} {rule.severity.value:<8} {summary}")


@main.command("axes")
@click.argument("path", type=click.Path())
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Use this config file instead of the nearest one to the model.")
@click.option("--isolated", is_flag=True, help="Ignore every config file.")
def axes_command(path: str, config_file, isolated) -> None:
    """Show every layer's output axes and where each came from."""
    from .engine import inspect_file
    from .loaders import LoadError

    settings = _file_settings(path, config_file, isolated)
    try:
        text = inspect_file(path, settings, lambda graph, findings: axes_table(graph))
    except LoadError as exc:
        click.echo(f"error: {visible(path)}: {visible(exc.reason)}", err=True)
        sys.exit(EXIT_ERROR)
    click.echo(text, nl=False)


def _file_settings(path: str, config_file: str | None, isolated: bool, select=(), ignore=()):
    """The settings `lint` would use for this one file (its nearest config), or exit 2."""
    from .config import ConfigError, Resolver
    from .engine import SelectionError, Settings

    try:
        settings = Settings.build(Resolver(config_file, isolated).for_path(path),
                                  _split(select), _split(ignore))
        settings.rules()
    except (ConfigError, SelectionError) as exc:
        click.echo(f"error: {visible(exc)}", err=True)
        sys.exit(EXIT_ERROR)
    return settings


def axes_table(graph) -> str:
    from .axis_text import table_rows

    lines = []
    for node in graph.nodes():
        step = f"  (per step ×{node.per_step})" if node.per_step else ""
        lines.append(f"{visible(node.id)}  [{visible(node.op)}]{step}")
        for index, tensor in enumerate(node.outputs):
            label = f"out{index}" if len(node.outputs) > 1 else "out"
            lines += table_rows(label, tensor.axes, visible)
    return "".join(line + "\n" for line in lines)


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
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Use this config file instead of the nearest one to the model.")
@click.option("--isolated", is_flag=True, help="Ignore every config file.")
def probe_command(model: str, data, task, epochs, seeds, budget, device, rules, out_dir, fmt,
                  min_delta, val_split, batch_size, max_samples, tensorboard, mixed_precision,
                  config_file, isolated) -> None:
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
        report = run_probe(model, opts, progress=fmt == "text" and sys.stderr.isatty(),
                           settings=_file_settings(model, config_file, isolated))
    except LoadError as exc:
        click.echo(f"error: {visible(exc)}", err=True)
        sys.exit(EXIT_ERROR)
    except (DataError, ProbeError) as exc:
        click.echo(f"error: {visible(model)}: {visible(exc)}", err=True)
        sys.exit(EXIT_ERROR)
    write_outputs(report, out_dir)
    if fmt == "json":
        click.echo(json.dumps(report, indent=2))
    else:
        click.echo(render_text(report), nl=False)
    confirmed = any(f["verdict"]["verdict"] == "confirmed" for f in report["findings"])
    sys.exit(EXIT_FINDINGS if confirmed else EXIT_CLEAN)


def _input_shapes(ctx, param, values) -> tuple[tuple[int, ...], ...]:
    from .check import CheckError, parse_shape

    try:
        return tuple(parse_shape(v) for v in values)
    except CheckError as exc:
        raise click.BadParameter(str(exc)) from None


@main.command("check")
@click.argument("spec", metavar="MODULE:FUNCTION")
@click.option("--select", multiple=True, metavar="CODES", help="Rules to run (default: all).")
@click.option("--ignore", multiple=True, metavar="CODES", help="Rules to skip.")
@click.option("--format", "fmt", type=click.Choice(_formats()), default="text", show_default=True,
              cls=_FormatOption)
@click.option("--config", "config_file", type=click.Path(dir_okay=False),
              help="Use this config file instead of the nearest one to the module.")
@click.option("--isolated", is_flag=True, help="Ignore every config file.")
@click.option("--input-shape", "input_shapes", multiple=True, metavar="SHAPE",
              callback=_input_shapes,
              help="For a function returning a torch.nn.Module: trace it with a float32 "
                   "input of this shape, e.g. 1,3,32,32 (repeat it for each forward() "
                   "argument; axis 0 is dynamic). Replaces an example the function returns.")
def check_command(spec: str, select, ignore, fmt, config_file, isolated, input_shapes) -> None:
    """Build a model with your own code and lint it: `models.py:build_model` imports
    models.py and calls build_model() (THIS RUNS THAT CODE, unlike linting a file).

    The function returns a Keras model, an ONNX ModelProto, or a torch.nn.Module with
    the example input to trace it with: `return module, torch.randn(1, 3, 32, 32)` (a
    tensor or a tuple of tensors), or just the module and `--input-shape`. The module
    is exported to ONNX in memory, in eval mode, with axis 0 of each input dynamic; the
    batch is the axis a Conv or pooling reads as N, or the one input-roles in the config
    declares (e.g. seq = "BTF"). Findings name its submodules (`features.5`, `rnn`).

    The config nearest to the module file (or the working directory, for a module name)
    applies, as it does to a model file. If building fails with Keras' rank error (an
    LSTM given a 2-D or 4-D tensor), the error becomes a finding naming the layer, with
    the remedy.
    """
    import os

    from . import to_graph
    from .check import CheckError, build, rank_error_finding, with_example
    from .engine import FileResult, analyze_graph
    from .loaders import LoadError

    target = spec.rpartition(":")[0]
    where = target if target.endswith(".py") or os.sep in target else os.getcwd()
    settings = _file_settings(where, config_file, isolated, select, ignore)
    try:
        model = with_example(build(spec), spec, input_shapes)
        graph = to_graph(model, input_roles=dict(settings.config.input_roles))
        analysis = analyze_graph(graph, settings, where if where.endswith(".py") else spec)
        result = FileResult(spec, "ok", findings=analysis.findings, notes=analysis.notes,
                            skipped=analysis.skipped)
    except CheckError as exc:
        click.echo(f"error: {visible(exc)}", err=True)
        sys.exit(EXIT_ERROR)
    except LoadError as exc:  # the model could not be read or (a torch module) exported
        click.echo(f"error: {visible(spec)}: {visible(exc.reason)}", err=True)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # the user's function raised while building
        finding = rank_error_finding(exc, spec)
        if finding is None:
            first = str(exc).splitlines()[0] if str(exc) else ""
            click.echo(f"error: {visible(spec)}: building the model raised "
                       f"{type(exc).__name__}: {visible(first)}", err=True)
            sys.exit(EXIT_ERROR)
        result = FileResult(spec, "ok", findings=[finding])
    from .report import RENDERERS

    click.echo(RENDERERS[fmt]([result], color=sys.stdout.isatty()), nl=False)
    sys.exit(EXIT_FINDINGS if result.findings else EXIT_CLEAN)
