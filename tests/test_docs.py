"""Rule pages are generated from docstrings and `options`, and must not go stale."""

import os

from click.testing import CliRunner

from cnnlstm_lint.cli import main
from cnnlstm_lint.docs import pages, render_rule, stale_pages
from cnnlstm_lint.rules import REGISTRY, Option
from conftest import ROOT

DOCSTRING_SECTIONS = ["## What it does", "## Why is this bad?", "## Example", "## Use instead"]
SECTIONS = DOCSTRING_SECTIONS + ["## Options"]  # Options: generated from `rule.options`


def test_rule_pages_are_up_to_date():
    stale = stale_pages(os.path.join(ROOT, "rules"))
    assert stale == [], "run: python -m cnnlstm_lint.docs"


def test_every_rule_documents_every_section_in_order():
    for code, rule in REGISTRY.items():
        doc = rule.__doc__ or ""
        positions = [doc.find(s) for s in DOCSTRING_SECTIONS]
        assert all(p >= 0 for p in positions), f"{code} lacks a section"
        assert positions == sorted(positions), f"{code} sections out of order"
        assert "## Options" not in doc, f"{code}: the Options section is generated, not written"
        page = render_rule(rule)
        positions = [page.find(s) for s in SECTIONS]
        assert all(p >= 0 for p in positions) and positions == sorted(positions), code


def test_options_section_comes_from_the_rule_options():
    page = pages()["CL004.md"]
    options = page[page.index("## Options"):]
    assert "- `max-features` (int, default `4096`): largest per-step input width accepted." \
        in options
    assert "[tool.cnnlstm-lint.rules.oversized-recurrent-input]\nmax-features = 4096\n" in options
    assert "- `max-ratio` (float, default `16.0`)" in pages()["CL008.md"]
    assert pages()["CL001.md"].endswith("## Options\nNone.\n")


def test_changing_a_default_in_code_changes_the_page():
    base = REGISTRY["CL004"]

    class Wider(base):
        __doc__ = base.__doc__
        options = {"max-features": Option(8192, int, "largest per-step input width accepted"),
                   "min-steps": Option(2, int, "fewest steps judged")}

    page = render_rule(Wider)
    assert page != render_rule(base)
    assert "- `max-features` (int, default `8192`)" in page and "default `4096`" not in page
    assert "- `min-steps` (int, default `2`): fewest steps judged." in page
    assert "max-features = 8192\nmin-steps = 2\n```\n" in page


def test_registry_is_sorted_and_codes_match():
    assert list(REGISTRY) == sorted(REGISTRY)
    assert [r.code for r in REGISTRY.values()] == list(REGISTRY)
    assert len({r.name for r in REGISTRY.values()}) == len(REGISTRY)


def test_rule_command_shows_the_options():
    result = CliRunner().invoke(main, ["rule", "CL004"])
    assert result.exit_code == 0
    assert "## Options\n- `max-features` (int, default `4096`)" in result.output
    with open(os.path.join(ROOT, "rules", "CL004.md"), encoding="utf-8") as fh:
        assert fh.read() == result.output


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


def test_the_readme_rule_table_has_every_rule_with_its_severity():
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as fh:
        rows = [line for line in fh if line.startswith("| [CL")]
    by_code = {row.split("]")[0][3:]: [cell.strip() for cell in row.strip().strip("|").split("|")]
               for row in rows}
    assert sorted(by_code) == sorted(REGISTRY)
    for code, rule in REGISTRY.items():
        cells = by_code[code]
        assert cells[0] == f"[{code}](rules/{code}.md)" and cells[1] == rule.name, cells
        assert cells[-1] == rule.severity.value, cells
