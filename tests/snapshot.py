"""Checked-in snapshots of what a user reads, so that a change of wording is reviewed.

A snapshot is a JSON file under tests/snapshots/: one entry per case (or file), keys
sorted. `compare` fails with the entries that differ; when the change is intended,
refresh the files and review `git diff tests/snapshots/`:

    UPDATE_SNAPSHOTS=1 pytest tests/test_rules.py tests/test_sample_snapshots.py
"""

from __future__ import annotations

import difflib
import json
import os

import pytest

SNAPSHOTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "snapshots")
REFRESH = "UPDATE_SNAPSHOTS=1 pytest tests/test_rules.py tests/test_sample_snapshots.py"


def dump(value) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def compare(filename: str, current: dict) -> None:
    """Compare `current` with the snapshot `filename`, or rewrite it under UPDATE_SNAPSHOTS."""
    path = os.path.join(SNAPSHOTS, filename)
    if os.environ.get("UPDATE_SNAPSHOTS"):
        os.makedirs(SNAPSHOTS, exist_ok=True)
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(dump(current))
        return
    try:
        with open(path, encoding="utf-8") as fh:
            stored = json.load(fh)
    except FileNotFoundError:
        pytest.fail(f"no snapshot tests/snapshots/{filename}; write it with: {REFRESH}",
                    pytrace=False)
    if stored != current:
        pytest.fail(f"tests/snapshots/{filename} differs from the current output "
                    f"(- stored, + current):\n{diff(stored, current)}\n"
                    f"If the change is intended, refresh it with: {REFRESH}", pytrace=False)


def diff(stored: dict, current: dict) -> str:
    """The entries that differ, each with a line diff of its JSON."""
    out = []
    for key in sorted(stored.keys() | current.keys()):
        if stored.get(key) == current.get(key) and (key in stored) == (key in current):
            continue
        if key not in current:
            out.append(f"- {key}: no longer exists")
            continue
        if key not in stored:
            out.append(f"+ {key}: new entry")
        else:
            out.append(f"~ {key}:")
        old = dump(stored[key]).splitlines() if key in stored else []
        lines = difflib.unified_diff(old, dump(current[key]).splitlines(), lineterm="", n=1)
        out += ["    " + line for line in list(lines)[2:]]  # without the ---/+++ header
    return "\n".join(out)
