import importlib.util
import os
import shutil
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SAMPLES = os.path.join(ROOT, "sample_models")


def has_module(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def pytest_collection_modifyitems(config, items):
    """`tf` tests need TensorFlow and Keras; `probe` tests the probe's statistics and data
    libraries (scipy, scikit-learn), which come with the same extra."""
    missing = {"tf": not (has_module("tensorflow") and has_module("keras")),
               "probe": not (has_module("scipy") and has_module("sklearn"))}
    skip = pytest.mark.skip(reason="needs the TensorFlow extra: pip install -e '.[tf]'")
    for item in items:
        if any(missing[mark] and mark in item.keywords for mark in missing):
            item.add_marker(skip)


def cli_path() -> list[str]:
    """The installed console script, as a user runs it; else the module."""
    script = shutil.which("cnnlstm-lint", path=os.path.dirname(sys.executable))
    return [script] if script else [sys.executable, "-m", "cnnlstm_lint"]


def run_cli(*args: str, cwd: str = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([*cli_path(), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def samples() -> str:
    return SAMPLES
