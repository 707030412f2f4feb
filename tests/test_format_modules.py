"""An output format is one module of cnnlstm_lint/report/formats/: the list of formats,
the CLI's --format choices and the help texts are found from the package's module names,
without importing the modules."""

from __future__ import annotations

import importlib
import inspect
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

import cnnlstm_lint
from cnnlstm_lint import report
from cnnlstm_lint.engine import Settings, lint_file
from cnnlstm_lint.files import Target
from cnnlstm_lint.report import formats

from conftest import ROOT

SAMPLE = os.path.join(ROOT, "sample_models", "cl001_spatial_reshape.keras")
FORMATS_DIR = os.path.dirname(formats.__file__)

# A whole new format: the number of findings.
COUNT = textwrap.dedent('''\
    """The number of findings, alone on a line."""


    def render(results, *, verbose=False, color=False) -> str:
        return f"{sum(len(r.findings) for r in results)}\\n"
''')


def module_names() -> list[str]:
    return sorted(name[:-3] for name in os.listdir(FORMATS_DIR)
                  if name.endswith(".py") and not name.startswith("_"))


def test_the_formats_are_the_modules_of_the_package():
    assert set(report.RENDERERS) == set(module_names())
    assert list(report.RENDERERS) == ["text", *sorted(set(module_names()) - {"text"})]
    assert report.FORMATS == tuple(n for n in report.RENDERERS if n != "statistics")
    assert report.FORMATS[0] == report.DEFAULT == "text"
    assert "statistics" in report.RENDERERS and "statistics" not in report.FORMATS


@pytest.mark.parametrize("name", module_names())
def test_a_format_module_renders_and_has_a_one_line_help(name):
    module = importlib.import_module(f"cnnlstm_lint.report.formats.{name}")
    assert report.RENDERERS[name] is module.render
    params = inspect.signature(module.render).parameters
    assert list(params)[:1] == ["results"]
    for flag in ("verbose", "color"):
        assert params[flag].kind is inspect.Parameter.KEYWORD_ONLY and params[flag].default is False
    first, _, rest = inspect.cleandoc(module.__doc__ or "").partition("\n")
    assert first.strip() and first.rstrip().endswith((".", ")")), name
    assert not rest or rest.startswith("\n"), f"{name}: the help text is the first line alone"
    assert report.help_text(name) == first
    out = module.render([lint_file(Target(SAMPLE, True), Settings())])
    assert isinstance(out, str)


def test_finding_the_formats_and_their_help_imports_no_format_module():
    code = ("import sys; from cnnlstm_lint import report; "
            "names = list(report.RENDERERS); [report.help_text(n) for n in names]; "
            "print(sorted(m for m in sys.modules if m.startswith('cnnlstm_lint.report.formats.')))")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.stdout.strip() == "[]", proc.stderr


def test_a_text_lint_imports_only_the_text_format():
    code = ("import sys\nfrom cnnlstm_lint.cli import main\n"
            "try:\n    main(args=sys.argv[1:], prog_name='cnnlstm-lint')\n"
            "except SystemExit:\n    pass\n"
            "print(sorted(m for m in sys.modules if m.startswith('cnnlstm_lint.report.formats.')"
            " or m == 'cnnlstm_lint.docs'), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, SAMPLE], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)
    assert proc.stderr.strip().splitlines()[-1] == "['cnnlstm_lint.report.formats.text']"


@pytest.fixture
def count_on_path(tmp_path):
    """formats/ with a count.py beside it (the package's __path__ extended), report/
    reloaded so that FORMATS and RENDERERS are found again; both undone after."""
    (tmp_path / "count.py").write_text(COUNT, encoding="utf-8")
    saved = list(formats.__path__)
    formats.__path__.append(str(tmp_path))
    try:
        yield importlib.reload(report)
    finally:
        formats.__path__[:] = saved
        sys.modules.pop("cnnlstm_lint.report.formats.count", None)
        importlib.reload(report)


def test_a_module_dropped_into_the_package_is_a_format(count_on_path):
    assert "count" in count_on_path.FORMATS
    assert count_on_path.help_text("count") == "The number of findings, alone on a line."
    results = [lint_file(Target(SAMPLE, True), Settings())]
    assert count_on_path.RENDERERS["count"](results) == f"{len(results[0].findings)}\n"


def test_a_module_dropped_into_a_copy_of_the_package_is_a_cli_format(tmp_path):
    """No other file changes: a copy of the package plus formats/count.py, run as a user
    runs the CLI, offers and prints the new format."""
    package = os.path.dirname(cnnlstm_lint.__file__)
    copy = tmp_path / "cnnlstm_lint"
    shutil.copytree(package, copy, ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "report" / "formats" / "count.py").write_text(COUNT, encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(tmp_path)}

    def cli(*args: str) -> subprocess.CompletedProcess:
        # run from tmp_path: the copy, not the checkout, is first on sys.path (Python 3.10
        # has no -P to keep the working directory off it)
        return subprocess.run([sys.executable, "-m", "cnnlstm_lint", *args], cwd=tmp_path,
                              env=env, capture_output=True, text=True, timeout=120)

    where = subprocess.run([sys.executable, "-c", "import cnnlstm_lint; print(cnnlstm_lint.__file__)"],
                           cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert where.stdout.strip() == str(copy / "__init__.py")
    expected = len(lint_file(Target(SAMPLE, True), Settings()).findings)
    proc = cli(SAMPLE, "--format", "count")
    assert (proc.stdout, proc.returncode) == (f"{expected}\n", 1), proc.stderr
    assert "|count|" in cli("lint", "--help").stdout.replace("\n", "").replace(" ", "")
    assert cli("lint", "--help").returncode == 0


@pytest.mark.parametrize("command", ["lint", "check"])
def test_format_help_describes_each_format(command):
    """`--help` gives each format's one-line description, so a user can choose one."""
    from click.testing import CliRunner

    from cnnlstm_lint.cli import main

    out = CliRunner().invoke(main, [command, "--help"], terminal_width=10_000).output
    line = " ".join(out.partition("--format")[2].split())
    for name in report.FORMATS:
        assert f"{name}: {report.help_text(name).rstrip('.')}" in line, name
