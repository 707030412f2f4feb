"""SARIF 2.1.0 for code-scanning services (GitHub code scanning accepts it as is).

One run; the driver lists every rule with its documentation; each result points at the
model file (relative to the repository root, line 1: model files have no useful lines) and
names the layer as a logical location. Unreadable files make the invocation unsuccessful
and each get a tool execution notification.
"""

from __future__ import annotations

import inspect
import re

from ... import __version__
from ...docs import render_rule
from ...engine import FileResult
from ...findings import Finding, Severity
from ...rules import REGISTRY, Rule
from ..escape import json_text
from ..paths import artifact_location, common_root, finding_text, layer_of, root_uri

SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/cnnlstm-lint/"
FINGERPRINT_KEY = "cnnlstmLint/v1"
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def doc_sections(rule: type[Rule]) -> dict[str, str]:
    """The `## Heading` sections of a rule docstring, heading -> body."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in inspect.cleandoc(rule.__doc__ or "").splitlines():
        match = re.match(r"##\s+(.*\S)\s*$", line)
        if match:
            current = match.group(1)
            sections[current] = []
        elif current is not None:
            sections[current].append(line)
    return {name: "\n".join(body).strip() for name, body in sections.items()}


def _paragraphs(text: str) -> list[str]:
    """Paragraphs with their line breaks joined, as plain text wants them."""
    return [" ".join(line.strip() for line in block.splitlines())
            for block in re.split(r"\n\s*\n", text.strip()) if block.strip()]


def rule_descriptor(rule: type[Rule]) -> dict:
    sections = doc_sections(rule)
    what = _paragraphs(sections.get("What it does", ""))
    short = what[0] if what else rule.name
    full = what + _paragraphs(sections.get("Why is this bad?", ""))
    page = render_rule(rule)
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": short},
        "fullDescription": {"text": "\n\n".join(full) if full else short},
        "help": {"text": page, "markdown": page},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
    }


def _result(f: Finding, path: str, root: str, rule_index: dict[str, int]) -> dict:
    result: dict = {"ruleId": f.code}
    if f.code in rule_index:
        result["ruleIndex"] = rule_index[f.code]
    result.update({
        "level": LEVELS[f.severity],
        "message": {"text": finding_text(f)},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": artifact_location(path, root),
                "region": {"startLine": 1},
            },
            "logicalLocations": [{"name": f.node, "fullyQualifiedName": layer_of(f),
                                  "kind": "module"}],
        }],
        "partialFingerprints": {FINGERPRINT_KEY: f.fingerprint},
    })
    properties = {}
    if f.evidence.get("provenance"):
        properties["provenance"] = str(f.evidence["provenance"])
    if f.related:
        properties["related"] = list(f.related)
    if properties:
        result["properties"] = properties
    return result


def _notification(level: str, text: str, path: str, root: str) -> dict:
    return {"level": level, "message": {"text": text},
            "locations": [{"physicalLocation": {"artifactLocation": artifact_location(path, root)}}]}


def build_sarif(results: list[FileResult], *, verbose: bool = False) -> dict:
    shown = sorted((r for r in results if r.status != "skipped"), key=lambda r: r.path)
    root = common_root([r.path for r in shown])
    rules = [REGISTRY[code] for code in sorted(REGISTRY)]
    rule_index = {rule.code: i for i, rule in enumerate(rules)}

    sarif_results = [_result(f, r.path, root, rule_index)
                     for r in shown if r.status == "ok" for f in r.findings]
    sarif_results.sort(key=lambda s: (s["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                                      s["ruleId"], s["locations"][0]["logicalLocations"][0]["name"],
                                      s["message"]["text"]))

    notifications = [_notification("error", f"{r.path}: could not read the model: {r.error}",
                                   r.path, root)
                     for r in shown if r.status == "error"]
    if verbose:
        notifications += [_notification("note", f"{r.path}: {note}", r.path, root)
                          for r in shown if r.status == "ok" for note in r.skipped]
    invocation: dict = {"executionSuccessful": not any(r.status == "error" for r in shown)}
    if notifications:
        invocation["toolExecutionNotifications"] = notifications

    return {
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "cnnlstm-lint",
                "informationUri": INFORMATION_URI,
                "version": __version__,
                "rules": [rule_descriptor(rule) for rule in rules],
            }},
            "invocations": [invocation],
            "originalUriBaseIds": {"%SRCROOT%": {"uri": root_uri(root)}},
            "results": sarif_results,
        }],
    }


def render(results: list[FileResult], *, verbose: bool = False, color: bool = False) -> str:
    return json_text(build_sarif(results, verbose=verbose), indent=2) + "\n"
