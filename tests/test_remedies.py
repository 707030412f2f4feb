"""Remedies are a contract between the rules and the probe: a rule declares the remedy
ids its findings may carry, and each has a rewrite the probe applies, unless the rule
declares it static-only (advice the probe cannot try)."""

from __future__ import annotations

import pytest

import cnnlstm_lint
from cnnlstm_lint.graph import Node
from cnnlstm_lint.probe.variants import REWRITES, variants_for
from cnnlstm_lint.rules import REGISTRY, Rule

from conftest import SAMPLES


@pytest.mark.parametrize("code", sorted(REGISTRY))
def test_every_declared_remedy_has_a_rewrite_or_is_static(code):
    rule = REGISTRY[code]
    assert set(rule.static_remedies) <= set(rule.remedies), rule.static_remedies
    missing = [r for r in rule.remedies if r not in REWRITES and r not in rule.static_remedies]
    assert missing == [], f"{code} declares remedies without a rewrite: {missing}"


def test_every_rewrite_serves_a_rule():
    used = {r for rule in REGISTRY.values() for r in rule.remedies}
    assert set(REWRITES) - used == set()


def test_a_rule_cannot_give_an_undeclared_remedy():
    class Sloppy(Rule):
        code, name, remedies = "CL999", "sloppy", ("insert_permute",)

    node = Node("lstm", "recurrent", "LSTM", {})
    with pytest.raises(ValueError, match=r"CL999 gives undeclared remedies \['made_up'\]"):
        Sloppy().finding(node, "m", related=[], evidence={}, remedy="r",
                         remedy_ids=("made_up",))
    (default,) = [Sloppy().finding(node, "m", related=[], evidence={}, remedy="r")]
    assert default.remedies == ("insert_permute",) and default.remedy_id == "insert_permute"


def test_findings_carry_their_rules_remedies_as_a_typed_field():
    (finding,) = cnnlstm_lint.lint(f"{SAMPLES}/cl001_spatial_reshape.keras", isolated=True)
    assert finding.remedies == ("gap_dense_head", "flatten_dense_head", "timedistributed_cnn")
    assert "remedy_ids" not in finding.evidence  # a field, not a string in the evidence
    assert finding.as_dict()["evidence"]["remedy_ids"] == list(finding.remedies)  # JSON as before


def test_a_static_remedy_is_reported_as_not_tried(monkeypatch):
    graph = cnnlstm_lint.load_graph(f"{SAMPLES}/cl007_crnn_no_permute.keras")
    (finding,) = [f for f in cnnlstm_lint.lint(graph) if f.code == "CL007"]
    monkeypatch.setattr(REGISTRY["CL007"], "static_remedies", ("insert_permute",))
    made, skipped = variants_for(graph, finding)
    assert made == []
    assert skipped == {"insert_permute": "advice the probe does not apply (static-only remedy)"}
