"""The text a user reads for every committed sample model, checked in.

`cnnlstm-lint --isolated --format concise FILE` for each sample (Keras .keras/.h5/.json,
tf2onnx and PyTorch ONNX exports), compared with tests/snapshots/sample_models.json.
After a reviewed change of wording, refresh it and look at `git diff tests/snapshots/`:

    UPDATE_SNAPSHOTS=1 pytest tests/test_sample_snapshots.py
"""

from __future__ import annotations

import glob
import os

from click.testing import CliRunner

from cnnlstm_lint.cli import main
from conftest import ROOT
from snapshot import compare

PATTERNS = ["sample_models/*.keras", "sample_models/*.h5", "sample_models/*.json",
            "sample_models/onnx/*.onnx", "sample_models/torch/*.onnx"]


def sample_paths() -> list[str]:
    """Every sample, relative to the repository root (as typed in a checkout)."""
    return sorted(os.path.relpath(path, ROOT).replace(os.sep, "/") for pattern in PATTERNS
                  for path in glob.glob(os.path.join(ROOT, pattern)))


def test_sample_text_output_matches_the_snapshot(monkeypatch):
    monkeypatch.chdir(ROOT)
    runner = CliRunner()
    current = {}
    for path in sample_paths():
        result = runner.invoke(main, ["--isolated", "--format", "concise", path])
        assert result.exit_code in (0, 1), (path, result.output)
        current[path] = result.output.splitlines()
    compare("sample_models.json", current)
