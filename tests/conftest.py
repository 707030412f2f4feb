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
    if has_module("tensorflow") and has_module("keras"):
        return
    skip = pytest.mark.skip(reason="needs the TensorFlow extra: pip install -e '.[tf]'")
    for item in items:
        if "tf" in item.keywords:
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
