"""Rule pages are generated from docstrings and must not go stale."""

import os

from click.testing import CliRunner

from cnnlstm_lint.cli import main
from cnnlstm_lint.docs import pages, stale_pages
from cnnlstm_lint.rules import REGISTRY
from conftest import ROOT

SECTIONS = ["## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Options"]


def test_rule_pages_are_up_to_date():
    stale = stale_pages(os.path.join(ROOT, "rules"))
    assert stale == [], "run: python -m cnnlstm_lint.docs"


def test_every_rule_documents_every_section_in_order():
    for code, rule in REGISTRY.items():
        doc = rule.__doc__ or ""
        positions = [doc.find(s) for s in SECTIONS]
        assert all(p >= 0 for p in positions), f"{code} lacks a section"
        assert positions == sorted(positions), f"{code} sections out of order"
        for name in rule.options:
            assert f"`{name}`" in doc, f"{code} does not document option {name}"


def test_registry_is_sorted_and_codes_match():
    assert list(REGISTRY) == sorted(REGISTRY)
    assert [r.code for r in REGISTRY.values()] == list(REGISTRY)
    assert len({r.name for r in REGISTRY.values()}) == len(REGISTRY)


def test_rule_command_prints_the_page():
    result = CliRunner().invoke(main, ["rule", "CL007"])
    assert result.exit_code == 0
    assert result.output == pages()["CL007.md"]
    assert result.output.startswith("# CL007 scrambled-reshape")
    by_name = CliRunner().invoke(main, ["rule", "scrambled-reshape"])
    assert by_name.output == result.output


def test_rule_command_unknown_code():
    result = CliRunner().invoke(main, ["rule", "CL123"])
    assert result.exit_code == 2
    assert "no rule 'CL123'" in result.output


def test_rules_command_lists_all_codes_with_severity():
    result = CliRunner().invoke(main, ["rules"])
    lines = result.output.strip().splitlines()
    assert [line.split()[0] for line in lines] == list(REGISTRY)
    assert lines[6].split()[1:3] == ["scrambled-reshape", "error"]
