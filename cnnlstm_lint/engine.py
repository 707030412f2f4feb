"""Select rules, run them over an annotated graph, sort the findings."""

from __future__ import annotations

import dataclasses
import importlib
import os
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from .config import UNSUPPRESSIBLE, Config, suppress
from .loaders.sniff import MAX_FILE_SIZE
from .files import Target
from .findings import Finding
from .results import FileResult  # noqa: F401  (re-exported: engine.FileResult)
from .graph import ModelGraph
from .rules import REGISTRY, Rule


class SelectionError(ValueError):
    """A --select/--ignore entry that names no rule."""


def _matches(code: str, selector: str) -> bool:
    return selector == "ALL" or code.startswith(selector)


def _check_selectors(selectors: Iterable[str]) -> list[str]:
    out = []
    for raw in selectors:
        sel = raw.strip().upper()
        if not sel:
            continue
        if sel != "ALL" and not any(code.startswith(sel) for code in REGISTRY):
            raise SelectionError(f"unknown rule selector {raw!r} (see `cnnlstm-lint rules`)")
        out.append(sel)
    return out


def select_rules(select: Iterable[str] | None = None,
                 ignore: Iterable[str] | None = None) -> list[Rule]:
    """Rules chosen by code or prefix; as in ruff, the more specific selector wins."""
    chosen = _check_selectors(select or ["ALL"])
    dropped = _check_selectors(ignore or [])
    rules = []
    for code, rule_cls in REGISTRY.items():
        best_select = max((len(s) for s in chosen if _matches(code, s)), default=-1)
        best_ignore = max((len(s) for s in dropped if _matches(code, s)), default=-1)
        if best_select >= 0 and best_select > best_ignore:
            rules.append(rule_cls())
    return rules


def run_rules(graph: ModelGraph, rules: list[Rule],
              options: dict[str, dict[str, Any]] | None = None) -> list[Finding]:
    options = options or {}
    findings: list[Finding] = []
    for rule in rules:
        opts = {name: opt.default for name, opt in rule.options.items()}
        opts.update(options.get(rule.code, {}))
        findings.extend(rule.check(graph, opts))
    return sort_findings(one_per_layer(graph, findings))


def one_per_layer(graph: ModelGraph, findings: list[Finding]) -> list[Finding]:
    """Drop a finding on the backward half of a split bidirectional layer when its
    forward half has the same code: the user wrote one layer and fixes it once."""
    from .rules.base import backward_directions

    pairs = backward_directions(graph)
    on = {(f.code, f.node) for f in findings}
    return [f for f in findings if (f.code, pairs.get(f.node)) not in on]


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.location.file if f.location else "", f.code, f.node))


# -- whole files ------------------------------------------------------------------------


@dataclass(frozen=True)
class Settings:
    """Everything one file is linted with: its config merged with the command line.
    Frozen and made of tuples, so it travels to worker processes."""

    select: tuple[str, ...] = ("ALL",)
    ignore: tuple[str, ...] = ()
    options: tuple = ()  # ((code, ((name, value), ...)), ...)
    config: Config = Config()
    follow_symlinks: bool = False
    max_file_size: int = MAX_FILE_SIZE
    # The unsafe-content rules always run. `forced`: a config found next to the model tried
    # to switch them off (it may come from the model's author), so they stay on.
    # `unsafe_off`: an explicit choice (--config, the command line) did; their findings
    # are dropped, and the run says how many.
    forced: tuple[str, ...] = ()
    unsafe_off: tuple[str, ...] = ()

    @classmethod
    def build(cls, config: Config, select: tuple[str, ...] = (), ignore: tuple[str, ...] = (),
              extend_select: tuple[str, ...] = (), **limits: Any) -> "Settings":
        """CLI --select replaces the config's; --ignore and --extend-select add to it."""
        chosen = tuple(select) or config.select or ("ALL",)
        chosen += config.extend_select + tuple(extend_select)
        settings = cls(chosen, config.ignore + tuple(ignore), config.rule_options, config, **limits)
        on = {r.code for r in select_rules(settings.select, settings.ignore)}
        by_cli = {r.code for r in select_rules(tuple(select) or ("ALL",), ignore)}
        off = [c for c in UNSUPPRESSIBLE if c not in on]
        forced = tuple(c for c in off if c in by_cli and not config.explicit)
        return dataclasses.replace(settings, forced=forced,
                                   unsafe_off=tuple(c for c in off if c not in forced))

    def rules(self) -> list[Rule]:
        rules = select_rules(self.select, self.ignore)
        return rules + [REGISTRY[code]() for code in self.forced + self.unsafe_off]

    def unsafe_notice(self) -> str | None:
        """One line when a config found next to a model tried to switch off unsafe-content."""
        if self.forced:
            return (f"{self.config.path}: cannot switch off {', '.join(self.forced)} "
                    "(unsafe-content); only --config or the command line can")
        return None

    def unsafe_off_by(self) -> str:
        config_off = {r.code for r in select_rules(self.config.select or ("ALL",),
                                                   self.config.ignore)}
        if self.config.explicit and any(c not in config_off for c in self.unsafe_off):
            return f"--config {self.config.path}"
        return "the command line"

    def rule_options(self) -> dict[str, dict[str, Any]]:
        return {code: dict(values) for code, values in self.options}


def lint_graph(graph: ModelGraph, settings: Settings = Settings()) -> list[Finding]:
    return run_rules(graph, settings.rules(), settings.rule_options())


def lint_file(target: Target, settings: Settings) -> FileResult:
    """Lint one file; whatever goes wrong becomes that file's error, never a traceback."""
    from .loaders import LoadError

    try:
        return with_parser(target.path, settings,
                           lambda fmt: _lint_file(target, settings, fmt))
    except LoadError as exc:
        return FileResult(target.path, "error", exc.reason)
    except Exception as exc:  # a bug must not hide the other files' results
        return FileResult(target.path, "error", _internal(exc))


def with_parser(path: str, settings: Settings, work: Callable[[str], Any]) -> Any:
    """Sniff `path` and call `work(fmt)`. HDF5 and ONNX files, whose parsers are native
    code, are worked on in a child process, so a crafted file can only fail itself; the
    result (not the graph) comes back. Every entry point that reads a file goes here."""
    from .loaders import sniff
    from .loaders.formats import BY_NAME
    from .loaders.isolate import run_isolated

    fmt = sniff(path, settings.max_file_size, settings.follow_symlinks)
    front_end = BY_NAME[fmt]
    if front_end.isolate:
        if front_end.preload:
            importlib.import_module(front_end.preload)  # once: every forked child has it
        return run_isolated(work, fmt, what=f"{fmt.upper()} parser")
    return work(fmt)


def _internal(exc: BaseException) -> str:
    return f"internal error ({type(exc).__name__}: {exc}); please report it"


@dataclass
class Analysis:
    """What the pipeline makes of one model."""

    graph: ModelGraph
    findings: list[Finding]
    notes: list[str]  # what could not be judged and why, opaque layers (--verbose)
    skipped: list[str]  # rules that could not judge the whole model (always said)
    used_ignores: set  # the config's per-file/per-layer entries that matched
    warnings: list[str]  # said on standard error whatever the format


def analyze(path: str, settings: Settings, fmt: str | None = None) -> Analysis:
    """Load (with the config's input roles), propagate axes, run the selected rules and
    apply the config's suppressions. Raises LoadError. Call it through `with_parser`
    (or `inspect_file`) so that native parsers run isolated."""
    from .loaders import load_graph

    graph = load_graph(path, input_roles=dict(settings.config.input_roles),
                       follow_symlinks=settings.follow_symlinks,
                       max_file_size=settings.max_file_size, fmt=fmt)
    return analyze_graph(graph, settings, path)


def analyze_graph(graph: ModelGraph, settings: Settings, path: str) -> Analysis:
    """The rules and suppressions over an annotated graph; `path` is the file it came
    from (or the file that defines it), for per-file ignores and fingerprints."""
    from .roots import stable_path

    findings, used = suppress(lint_graph(graph, settings), path, settings.config)
    key = stable_path(path, settings.config.path)
    for finding in findings:
        finding.file_key = key
    warnings = []
    hidden = [f for f in findings if f.code in settings.unsafe_off]
    if hidden:
        codes = ", ".join(sorted({f.code for f in hidden}))
        warnings.append(f"{len(hidden)} {codes} (unsafe-content) finding(s) not reported: "
                        f"switched off by {settings.unsafe_off_by()}")
        findings = [f for f in findings if f.code not in settings.unsafe_off]
    notes = [f"{n.id}: {note}" for n in graph.nodes() for note in n.notes] + graph.notes
    if not graph.recurrent_nodes():
        notes.append(NO_RECURRENCE)
    return Analysis(graph, findings, notes + warnings, list(graph.skipped), used, warnings)


NO_RECURRENCE = (
    "no recurrent layer (LSTM, GRU, SimpleRNN, ConvLSTM, RNN(cell); in ONNX an LSTM, GRU "
    "or RNN op or a Loop/Scan recurrence), so the rules that judge what a recurrent layer "
    "reads had nothing to judge; a cell called step by step in Python (nn.LSTMCell, "
    "nn.GRUCell) is exported as plain MatMul/Sigmoid/Tanh ops, not as a recurrence")


def inspect_file(path: str, settings: Settings,
                 view: Callable[[ModelGraph, list[Finding]], Any]) -> Any:
    """`view(graph, findings)` of one file, computed where the file was parsed (in the
    child for native formats); the view's result must pickle. Raises LoadError."""

    def work(fmt: str) -> Any:
        def viewed():
            analysis = analyze(path, settings, fmt)
            return view(analysis.graph, analysis.findings)
        return _as_load_error(viewed)

    return with_parser(path, settings, work)


def _as_load_error(work: Callable[[], Any]) -> Any:
    """`work()`, with whatever goes wrong in it as a LoadError: the file's one error line."""
    from .loaders import LoadError

    try:
        return work()
    except LoadError:
        raise
    except RecursionError:
        raise LoadError("the model is nested too deeply to read") from None
    except Exception as exc:  # a bug must not hide the other files' results
        raise LoadError(_internal(exc)) from None


def _lint_file(target: Target, settings: Settings, fmt: str) -> FileResult:
    from .loaders import LoadError, NotAModelError

    try:
        a = _as_load_error(lambda: analyze(target.path, settings, fmt))
    except NotAModelError as exc:
        if not target.explicit:  # some other JSON met while walking a directory
            return FileResult(target.path, "skipped", notes=[f"skipped: {exc.reason}"])
        return FileResult(target.path, "error", exc.reason)
    except LoadError as exc:
        return FileResult(target.path, "error", exc.reason)
    return FileResult(target.path, "ok", None, a.findings, a.notes, a.skipped, a.used_ignores,
                      a.warnings)


def lint_files(targets: list[Target], settings: "Settings | list[Settings]",
               jobs: int | None = None) -> list[FileResult]:
    """Lint files (one Settings each, or one for all), in parallel across cores when there
    are enough to be worth it; results come back in the order of `targets`."""
    per_file = settings if isinstance(settings, list) else [settings] * len(targets)
    jobs = jobs or os.cpu_count() or 1
    if jobs < 2 or len(targets) < _PARALLEL_FROM:
        return [lint_file(t, s) for t, s in zip(targets, per_file)]
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing

    ctx = multiprocessing.get_context(pool_start_method())
    if ctx.get_start_method() == "forkserver":  # the parsers, imported once in the server
        from .loaders.formats import REGISTRY as FRONT_ENDS

        ctx.set_forkserver_preload(["cnnlstm_lint.engine"] + [
            fe.preload for fe in FRONT_ENDS
            if fe.preload and any(fe.matches_suffix(t.path) for t in targets)])
    with ProcessPoolExecutor(max_workers=min(jobs, len(targets)), mp_context=ctx) as pool:
        chunk = max(1, len(targets) // (jobs * 4))  # few, large chunks: less pickling
        return list(pool.map(lint_file, targets, per_file, chunksize=chunk))


_PARALLEL_FROM = 8  # below this, starting workers costs more than it saves


def pool_start_method() -> str:
    """Workers start from a fork server on Linux, never by forking the caller: a process
    with other threads (numpy's BLAS pool once h5py or onnx is imported, TensorFlow's in a
    notebook or a test run) can hand a forked child a lock that another thread held, and
    that worker then hangs for ever. The server is a fresh process; forking from it is
    safe, and it imports the parsers once for all workers."""
    return "forkserver" if sys.platform.startswith("linux") else "spawn"
