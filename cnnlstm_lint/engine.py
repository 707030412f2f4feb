"""Select rules, run them over an annotated graph, sort the findings."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any, Iterable

from .config import Config, suppress
from .loaders.sniff import MAX_FILE_SIZE
from .files import Target
from .findings import Finding
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
    return sort_findings(findings)


def sort_findings(findings: list[Finding]) -> list[Finding]:
    return sorted(findings, key=lambda f: (f.location.file if f.location else "", f.code, f.node))


# -- whole files ------------------------------------------------------------------------


@dataclass
class FileResult:
    path: str
    status: str  # "ok", "error" or "skipped"
    error: str | None = None
    findings: list[Finding] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # rules that could not judge the model
    used_ignores: set = field(default_factory=set)  # config suppressions that matched


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

    @classmethod
    def build(cls, config: Config, select: tuple[str, ...] = (), ignore: tuple[str, ...] = (),
              extend_select: tuple[str, ...] = (), **limits: Any) -> "Settings":
        """CLI --select replaces the config's; --ignore and --extend-select add to it."""
        chosen = tuple(select) or config.select or ("ALL",)
        chosen += config.extend_select + tuple(extend_select)
        return cls(chosen, config.ignore + tuple(ignore), config.rule_options, config, **limits)

    def rules(self) -> list[Rule]:
        return select_rules(self.select, self.ignore)

    def rule_options(self) -> dict[str, dict[str, Any]]:
        return {code: dict(values) for code, values in self.options}


def lint_graph(graph: ModelGraph, settings: Settings = Settings()) -> list[Finding]:
    return run_rules(graph, settings.rules(), settings.rule_options())


def lint_file(target: Target, settings: Settings) -> FileResult:
    """Lint one file. HDF5 and ONNX files, whose parsers are native code, are read in a
    child process so that a crafted file can only fail itself."""
    from .loaders import LoadError, sniff
    from .loaders.isolate import run_isolated

    try:
        fmt = sniff(target.path, settings.max_file_size, settings.follow_symlinks)
        if fmt in ("hdf5", "onnx"):
            _import_parser(fmt)  # once, here: every forked child then has it
            return run_isolated(_lint_file, target, settings, fmt, what=f"{fmt.upper()} parser")
    except LoadError as exc:
        return FileResult(target.path, "error", exc.reason)
    return _lint_file(target, settings, fmt)


def _import_parser(fmt: str) -> None:
    if fmt == "onnx":
        from .loaders import onnx_graph  # noqa: F401
    else:
        import h5py  # noqa: F401


def _lint_file(target: Target, settings: Settings, fmt: str) -> FileResult:
    from .loaders import LoadError, NotAModelError, load_graph

    try:
        graph = load_graph(target.path, input_roles=dict(settings.config.input_roles),
                           follow_symlinks=settings.follow_symlinks,
                           max_file_size=settings.max_file_size, fmt=fmt)
        findings, used = suppress(lint_graph(graph, settings), target.path, settings.config)
    except NotAModelError as exc:
        if not target.explicit:  # some other JSON met while walking a directory
            return FileResult(target.path, "skipped", notes=[f"skipped: {exc.reason}"])
        return FileResult(target.path, "error", exc.reason)
    except LoadError as exc:
        return FileResult(target.path, "error", exc.reason)
    except Exception as exc:  # a bug must not hide the other files' results
        return FileResult(target.path, "error",
                          f"internal error ({type(exc).__name__}: {exc}); please report it")
    notes = [f"{n.id}: {note}" for n in graph.nodes() for note in n.notes] + graph.notes
    return FileResult(target.path, "ok", None, findings, notes, list(graph.skipped), used)


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

    suffixes = {os.path.splitext(t.path)[1].lower() for t in targets}
    if ".onnx" in suffixes:  # import once here rather than once per forked worker
        _import_parser("onnx")
    if suffixes & {".h5", ".hdf5"}:
        _import_parser("hdf5")
    ctx = multiprocessing.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ProcessPoolExecutor(max_workers=min(jobs, len(targets)), mp_context=ctx) as pool:
        chunk = max(1, len(targets) // (jobs * 4))  # few, large chunks: less pickling
        return list(pool.map(lint_file, targets, per_file, chunksize=chunk))


_PARALLEL_FROM = 8  # below this, starting workers costs more than it saves
