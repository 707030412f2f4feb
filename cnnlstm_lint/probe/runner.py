"""`cnnlstm-lint probe`: lint, build remedy variants, train them side by side, judge.

Order of work: static findings -> variants (rewrites of the ModelGraph) -> data (user npz
or built-in task) -> seeds × variants training under one deadline -> a verdict per
finding -> probe.json, curves.png and a text summary.
"""

from __future__ import annotations

import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field

from ..graph import ModelGraph
from .builtin_task import BUILTIN_TASKS, builtin_task
from .dataset import DataError, Dataset, InputSpec, OutputSpec
from .rebuild import BudgetExhausted, ProbeError
from .results import RunResult
from .user_data import load_npz
from .variants import Variant, variants_for
from .verdict import generalization_gap, judge, summarize

__all__ = ["ProbeOptions", "ProbeError", "DataError", "run_probe"]


@dataclass
class ProbeOptions:
    data: str | None = None
    task: str = "digits"
    epochs: int = 15
    seeds: int = 3
    budget: float | None = None  # seconds for all training together
    device: str = "auto"
    rules: tuple[str, ...] = ()
    out_dir: str = "probe_out"
    min_delta: float = 0.02
    val_split: float = 0.2
    batch_size: int = 64
    max_samples: int | None = None
    patience: int = 3
    tensorboard: bool = False
    mixed_precision: bool = False


@dataclass
class Progress:
    """A one-line progress bar on stderr (only when it is a terminal)."""

    total: int
    enabled: bool = True
    done: int = 0
    started: float = field(default_factory=time.monotonic)

    def show(self, variant: str, seed: int, epoch: int, epochs: int, logs: dict) -> None:
        if not self.enabled:
            return
        width = 24
        filled = int(width * (self.done + epoch / max(epochs, 1)) / max(self.total, 1))
        metric = logs.get("val_metric")
        shown = "" if metric is None else f" val {float(metric):.3f}"
        line = (f"\r[{'#' * filled}{'.' * (width - filled)}] run {self.done + 1}/{self.total} "
                f"{variant} seed {seed} epoch {epoch}/{epochs}{shown} "
                f"{time.monotonic() - self.started:5.0f}s")
        sys.stderr.write(line[:150].ljust(150))
        sys.stderr.flush()

    def finish(self) -> None:
        if self.enabled:
            sys.stderr.write("\r" + " " * 150 + "\r")
            sys.stderr.flush()


# -- model facts the data needs ----------------------------------------------------------


def input_specs(graph: ModelGraph) -> list[InputSpec]:
    specs = []
    for node_id in graph.inputs:
        node = graph.node(node_id)
        axes = node.outputs[0].axes if node.outputs else None
        roles = "".join(src.label for a in axes for src in a.sources[:1]) if axes else ""
        vocab = None
        for dst, _, _ in graph.consumers(node_id):
            consumer = graph.node(dst)
            if consumer.kind == "embedding":
                vocab = consumer.attrs.get("vocab")
        specs.append(InputSpec(node_id, tuple(node.attrs["shape"][1:]),
                               node.attrs.get("dtype", "float32"), roles, vocab))
    return specs


def output_spec(graph: ModelGraph) -> tuple[OutputSpec, str]:
    if len(graph.outputs) != 1:
        raise ProbeError(f"the probe trains models with one output; this one has {len(graph.outputs)}")
    node_id, out = graph.outputs[0]
    node = graph.node(node_id)
    axes = node.outputs[out].axes
    if axes is None or axes[-1].size is None:
        raise ProbeError(f"the output width of `{node_id}` is unknown")
    activation = node.attrs.get("activation", "linear")
    steps = axes[1].size if len(axes) == 3 else None
    if len(axes) > 3 or (len(axes) == 3 and steps is None):
        raise ProbeError(f"the probe trains models whose output is (batch, classes) or "
                         f"(batch, steps, classes); `{node_id}` gives rank {len(axes)}")
    return OutputSpec(axes[-1].size, activation, steps), activation


# -- the run -----------------------------------------------------------------------------


def plan(graph: ModelGraph, findings) -> tuple[list[Variant], list[dict]]:
    """Variants for every finding with remedies, and the per-finding bookkeeping."""
    variants: list[Variant] = []
    entries = []
    for finding in findings:
        made, skipped = variants_for(graph, finding)
        names = []
        for variant in made:
            if variant.name not in {v.name for v in variants}:
                variants.append(variant)
            names.append(variant.name)
        entries.append({"finding": finding, "variants": names, "skipped": skipped})
    return variants, entries


def run_probe(model_path: str, opts: ProbeOptions, *, progress: bool = False,
              settings=None) -> dict:
    """`settings`: what the lint would use for this file (its nearest config); the
    findings probed are those it reports, narrowed to `opts.rules`."""
    from ..engine import Settings, inspect_file, select_rules
    from ..rules.cl900_unsafe_content import UnsafeContent

    settings = settings or Settings()
    # Read where the parser runs isolated, like every lint; the graph comes back as data.
    graph, findings = inspect_file(model_path, settings, lambda graph, found: (graph, found))
    # whatever the rule selection, CL900's own walk: never hand Keras a config that names
    # code or outside data
    unsafe = next(iter(UnsafeContent().check(graph, {})), None)
    if unsafe:
        where, what = unsafe.node, unsafe.evidence["unsafe"]
        raise ProbeError(f"the model holds unsafe content (CL900 at `{where}`: {what}); the "
                         "probe never rebuilds such a model. Run `cnnlstm-lint` on it for "
                         "the details")
    if opts.rules:
        wanted = {r.code for r in select_rules(opts.rules)}
        findings = [f for f in findings if f.code in wanted]
    if any(n.kind == "opaque" for n in graph.nodes()):
        opaque = next(n for n in graph.nodes() if n.kind == "opaque")
        raise ProbeError(f"layer `{opaque.id}` ({opaque.op}) is opaque: its code is never run, "
                         "so the probe cannot rebuild and train this model")
    variants, entries = plan(graph, findings)
    if not variants:  # nothing to train: no Keras, no data
        return _report(model_path, opts, None, None, graph, [], entries, [], 0.0, False, 0)
    output, activation = output_spec(graph)
    inputs = input_specs(graph)
    if opts.data:
        dataset = load_npz(opts.data, inputs, output, val_split=opts.val_split,
                           max_samples=opts.max_samples)
    else:
        if opts.task not in BUILTIN_TASKS:
            raise DataError(f"unknown built-in task {opts.task!r} (choose from {', '.join(BUILTIN_TASKS)})")
        dataset = builtin_task(inputs, output, name=opts.task, max_samples=opts.max_samples)

    from .train import prepare_backend, train_run  # imports Keras

    info = prepare_backend(opts.device, opts.mixed_precision)
    os.makedirs(opts.out_dir, exist_ok=True)
    runs: list[RunResult] = []
    models = [("baseline", graph)] + [(v.name, v.graph) for v in variants]
    total = len(models) * opts.seeds
    bar = Progress(total, enabled=progress)
    started = time.monotonic()
    deadline = started + opts.budget if opts.budget else math.inf
    exhausted = False
    for seed in range(opts.seeds):
        for name, model_graph in models:
            if time.monotonic() > deadline:
                exhausted = True
                break
            extra = []
            if opts.tensorboard and info["backend"] == "tensorflow":
                import keras

                extra.append(keras.callbacks.TensorBoard(
                    log_dir=os.path.join(opts.out_dir, "tensorboard", name.replace(":", "_"),
                                         f"seed{seed}")))
            try:
                result = train_run(
                    model_graph, name, dataset, seed, info=info, epochs=opts.epochs,
                    batch_size=opts.batch_size, deadline=deadline, activation=activation,
                    compile_config=graph.meta.get("compile_config"), patience=opts.patience,
                    on_epoch=lambda e, logs, n=name, s=seed: bar.show(n, s, e + 1, opts.epochs, logs),
                    extra_callbacks=extra)
            except BudgetExhausted:
                exhausted = True  # the deadline came before a single epoch
                break
            runs.append(result)
            exhausted = exhausted or result.stopped_by_budget
            bar.done += 1
        if exhausted:
            break
    bar.finish()
    elapsed = time.monotonic() - started
    return _report(model_path, opts, info, dataset, graph, variants, entries, runs, elapsed,
                   exhausted, total)


def _scores(runs: list[RunResult], name: str) -> list[float]:
    return [r.val_metric for r in runs if r.variant == name]


def _report(model_path, opts, info, dataset: Dataset | None, graph, variants, entries, runs,
            elapsed, exhausted, total) -> dict:
    """probe.json's content. Without variants there is no data, environment or training."""
    by_name = {v.name: v for v in variants}
    findings_out = []
    for entry in entries:
        finding = entry["finding"]
        names = entry["variants"]
        item = {**finding.as_dict(), "variants": names, "skipped_remedies": entry["skipped"]}
        if not names:
            item["verdict"] = {"verdict": "not probed",
                               "reason": "no remedy of this finding fits the model: " +
                                         "; ".join(f"{k}: {v}" for k, v in entry["skipped"].items())}
        else:
            cut = exhausted and any(len(_scores(runs, n)) < opts.seeds
                                    for n in ["baseline", *names])
            item["verdict"] = judge(_scores(runs, "baseline"),
                                    {n: _scores(runs, n) for n in names},
                                    chance=dataset.chance if dataset else 0.0,
                                    min_delta=opts.min_delta,
                                    budget_cut=cut)
        if finding.code == "CL006" and names:
            item["generalization_gap"] = {
                name: generalization_gap([r for r in runs if r.variant == name])
                for name in ["baseline", *names]}
        findings_out.append(item)
    variants_out = {}
    for name in ["baseline", *by_name] if variants else []:
        v = by_name.get(name)
        variants_out[name] = {
            "code": v.code if v else None, "remedy_id": v.remedy_id if v else None,
            "description": v.description if v else "the model as it is",
            "summary": summarize(_scores(runs, name)),
            "runs": [r.as_dict() for r in runs if r.variant == name],
        }
    return {
        "version": 1,
        "model": model_path,
        "environment": info,
        "settings": {k: v for k, v in asdict(opts).items()},
        "data": dataset.as_dict() if dataset else None,
        "metric": {"classification": "accuracy", "binary": "accuracy", None: None}.get(
            dataset.task if dataset else None, "r2"),
        "findings": findings_out,
        "variants": variants_out,
        "budget": {"seconds": opts.budget, "used_seconds": round(elapsed, 2),
                   "exhausted": exhausted, "runs_planned": total, "runs_done": len(runs)},
    }


def write_outputs(report: dict, out_dir: str) -> dict:
    from .plots import plot_curves

    os.makedirs(out_dir, exist_ok=True)
    files = {"json": os.path.join(out_dir, "probe.json")}
    runs = [RunResult.from_dict(r) for v in report["variants"].values() for r in v["runs"]]
    if runs:
        files["curves"] = plot_curves(runs, os.path.join(out_dir, "curves.png"),
                                      metric_label=f"validation {report['metric']}",
                                      title=os.path.basename(report["model"]))
    report["files"] = files
    with open(files["json"], "w", encoding="utf-8") as fh:
        json.dump(report, fh, indent=2)
        fh.write("\n")
    return files


def render_text(report: dict) -> str:
    if report["environment"] is None:
        what = ("no findings" if not report["findings"] else
                "no finding has a remedy that fits this model")
        lines = [f"cnnlstm-lint probe: {report['model']}: {what}, so nothing to train."]
        lines += [f"{f['code']} at `{f['node']}`: {f['verdict']['reason']}" for f in report["findings"]]
        return _shown(lines)
    metric = report["metric"]
    env = report["environment"]
    lines = [f"cnnlstm-lint probe: {report['model']}",
             f"data:   {report['data']['description']}",
             f"device: {env['device']} ({env['backend']} {env.get(env['backend'], '?')}, "
             f"keras {env['keras']})", ""]
    head = f"{'variant':<34} {'val ' + metric + ' (mean ± sd)':<26} {'seeds':>5} {'epochs':>6} {'s/epoch':>8}"
    lines += [head, "-" * len(head)]
    for name, v in report["variants"].items():
        s = v["summary"]
        score = "not run" if not s["n"] else f"{s['mean']:.3f} ± {s['std']:.3f}"
        epochs = [r["epochs_run"] for r in v["runs"]]
        per_epoch = sum(r["seconds"] for r in v["runs"]) / max(sum(epochs), 1)
        lines.append(f"{name:<34} {score:<26} {s['n']:>5} "
                     f"{(sum(epochs) / len(epochs)) if epochs else 0:>6.1f} {per_epoch:>8.2f}")
    lines.append("")
    for item in report["findings"]:
        verdict = item["verdict"]
        lines.append(f"{item['code']} {item['name']} at `{item['node']}`: "
                     f"{verdict['verdict'].upper()} — {verdict['reason']}")
        if verdict.get("effect_size", {}).get("cohens_d") is not None:
            lines.append(f"  effect size: Cohen's d = {verdict['effect_size']['cohens_d']:.2f}")
        for remedy, why in item["skipped_remedies"].items():
            lines.append(f"  not tried: {remedy} ({why})")
        for name, gap in (item.get("generalization_gap") or {}).items():
            if gap["n"]:
                lines.append(f"  generalization gap (train − val) {name}: "
                             f"{gap['mean']:.3f} ± {gap['std']:.3f}")
    budget = report["budget"]
    if budget["exhausted"]:
        lines.append(f"budget: stopped after {budget['used_seconds']:.0f} s with "
                     f"{budget['runs_done']} of {budget['runs_planned']} runs done")
    if report["data"].get("builtin"):
        lines.append("note: a built-in task tests the architecture, not your data; "
                     "pass --data FILE.npz to probe with yours.")
    if report.get("files"):
        lines.append("wrote " + ", ".join(report["files"].values()))
    return _shown(lines)


def _shown(lines: list[str]) -> str:
    """Lines carry layer and file names from the model: no control character reaches the
    terminal (each line is escaped; the newlines between them are ours)."""
    from ..report.escape import visible

    return "".join(visible(line) + "\n" for line in lines)
