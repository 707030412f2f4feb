"""Select rules, run them over an annotated graph, sort the findings."""

from __future__ import annotations

from typing import Any, Iterable

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
