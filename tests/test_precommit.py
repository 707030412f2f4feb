"""The pre-commit hook, with real `pre-commit try-repo` on a temporary git repository."""

import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, SAMPLES


def _run(*args, cwd, env):
    return subprocess.run(list(args), cwd=cwd, env=env, capture_output=True, text=True, timeout=900)


@pytest.fixture
def repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    work = tmp_path / "models-repo"
    work.mkdir()
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache"),
           "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"}
    _run("git", "init", "-q", cwd=work, env=env)
    shutil.copy(os.path.join(SAMPLES, "cl001_spatial_reshape.keras"), work / "bad.keras")
    shutil.copy(os.path.join(SAMPLES, "good_lrcn.keras"), work / "good.keras")
    (work / "notes.txt").write_text("not a model\n")
    _run("git", "add", ".", cwd=work, env=env)
    _run("git", "commit", "-q", "-m", "models", cwd=work, env=env)
    return work, env


def test_hook_blocks_a_bad_model_and_passes_without_it(repo):
    work, env = repo
    pre_commit = [sys.executable, "-m", "pre_commit"]
    if subprocess.run([*pre_commit, "--version"], capture_output=True).returncode:
        pytest.skip("pre-commit is not installed (pip install -e '.[test]')")
    first = _run(*pre_commit, "try-repo", ROOT, "cnnlstm-lint", "--all-files", cwd=work, env=env)
    assert first.returncode == 1, first.stdout + first.stderr
    assert "bad.keras:lstm: CL001 [warning] spatial-sequence" in first.stdout
    assert "notes.txt" not in first.stdout  # only model files are passed to the hook
    removed = _run("git", "rm", "-q", "bad.keras", cwd=work, env=env)
    assert removed.returncode == 0, removed.stderr
    _run("git", "commit", "-q", "-m", "drop the bad model", cwd=work, env=env)
    assert not (work / "bad.keras").exists()
    second = _run(*pre_commit, "try-repo", ROOT, "cnnlstm-lint", "--all-files", cwd=work, env=env)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "Passed" in second.stdout
