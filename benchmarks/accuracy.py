"""Precision and recall of the rules on labelled models, per format and per rule.

    python benchmarks/accuracy.py [--labels FILE] [--cases]

Labels (benchmarks/accuracy_labels.json, or --labels FILE with the same shape) give, per
model file, the codes a correct linter reports: written from what each model is, not
from the linter's output. A file's findings are compared as sets of codes: a reported
code the labels do not list is a false positive, a listed code not reported a miss.
A rule is scored only where it is judged (CL006 is skipped on inference-only ONNX
exports, CL012 on ONNX exports, which carry no masks); a code no rule of this version
has is listed as not scored. The held-aside set of public architectures the rules were
not tuned on has its own labels:
`--labels benchmarks/held_out/labels.json`.
--cases adds the rule cases of tests/rule_cases.py (Keras configs with exact expected
findings) as the format "config". Prints two tables; exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import cnnlstm_lint  # noqa: E402


def format_of(path: str) -> str:
    name = path.replace(os.sep, "/")
    if name.endswith(".onnx"):
        if ".dynamo." in name:
            return "torch-dynamo"
        if ".ts." in name or "/torch" in name:
            return "torch-ts"
        return "tf2onnx"
    return {".keras": "keras", ".h5": "h5", ".hdf5": "h5", ".json": "json"}.get(
        os.path.splitext(name)[1], "other")


def scored(labels: dict[str, list[str]], unscored: Counter):
    """(format, expected codes, found codes, file) per labelled file. A labelled code no
    rule of this version has (a rule still to come) is counted in `unscored`."""
    from cnnlstm_lint.rules import REGISTRY

    for rel, expected in sorted(labels.items()):
        if rel.startswith("_"):
            continue
        findings = cnnlstm_lint.lint(os.path.join(ROOT, rel), isolated=True)
        found = {f.code for f in findings}
        expected = set(expected)
        unscored.update(code for code in expected if code not in REGISTRY)
        expected = {code for code in expected if code in REGISTRY}
        for skipped in findings.skipped:  # "CL006 (no-dropout) not judged: ..."
            expected.discard(skipped.split()[0])
        yield format_of(rel), expected, found, rel


def rule_cases():
    sys.path.insert(0, os.path.join(ROOT, "tests"))
    from rule_cases import CASES

    from cnnlstm_lint.engine import Settings, lint_graph

    for case in CASES:
        options = tuple((code, tuple(sorted(opts.items()))) for code, opts in case.options.items())
        graph = cnnlstm_lint.to_graph(case.config, input_roles=case.input_roles)
        found = {f.code for f in lint_graph(graph, Settings(options=options))}
        yield "config", {code for code, _ in case.expected}, found, f"rule case {case.name}"


def table(title: str, counts: dict[str, Counter], what: str) -> str:
    lines = [title, f"{'':<14} {what:>6} {'TP':>4} {'FP':>4} {'FN':>4} {'precision':>9} {'recall':>7}"]
    for key in sorted(counts):
        c = counts[key]
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else float("nan")
        r = c["tp"] / (c["tp"] + c["fn"]) if c["tp"] + c["fn"] else float("nan")
        lines.append(f"{key:<14} {c['files']:>6} {c['tp']:>4} {c['fp']:>4} {c['fn']:>4} "
                     f"{p:>9.2f} {r:>7.2f}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labels", default=os.path.join(ROOT, "benchmarks", "accuracy_labels.json"))
    parser.add_argument("--cases", action="store_true", help="add tests/rule_cases.py")
    args = parser.parse_args(argv)
    with open(args.labels) as fh:
        labels = json.load(fh)
    unscored: Counter = Counter()
    rows = list(scored(labels, unscored)) + (list(rule_cases()) if args.cases else [])
    by_format: dict[str, Counter] = {}
    by_rule: dict[str, Counter] = {}
    mistakes = []
    for fmt, expected, found, name in rows:
        c = by_format.setdefault(fmt, Counter())
        c["files"] += 1
        for code in expected | found:
            hit = "tp" if code in expected and code in found else ("fp" if code in found else "fn")
            c[hit] += 1
            r = by_rule.setdefault(code, Counter())
            r[hit] += 1
            r["files"] += 1
        if expected != found:
            mistakes.append((name, sorted(expected), sorted(found)))
    print(table("per format", by_format, "models"))
    print()
    print(table("per rule (models where the code was expected or reported)", by_rule, "models"))
    total = sum(by_format.values(), Counter())
    print(f"\n{len(rows)} models; {total['fp']} false positive(s), {total['fn']} miss(es)")
    for name, expected, found in mistakes:
        print(f"  {name}: expected {', '.join(expected) or 'nothing'}, "
              f"found {', '.join(found) or 'nothing'}")
    if unscored:
        print("not scored (labelled for rules this version does not have): " +
              ", ".join(f"{code} on {n} model(s)" for code, n in sorted(unscored.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
