"""Baselines: record today's findings by fingerprint; later runs report only new ones.

The file is JSON, sorted and indented, one finding per entry, so that it diffs and
merges cleanly.
"""

from __future__ import annotations

import json

from .engine import FileResult


class BaselineError(ValueError):
    """A baseline file that cannot be read."""


def write(results: list[FileResult], path: str) -> int:
    entries = sorted(({"fingerprint": f.fingerprint, "code": f.code, "file": r.path, "node": f.node}
                      for r in results for f in r.findings),
                     key=lambda e: (e["file"], e["code"], e["node"], e["fingerprint"]))
    with open(path, "w", encoding="utf-8") as fh:
        json.dump({"version": 1, "findings": entries}, fh, indent=2, sort_keys=True)
        fh.write("\n")
    return len(entries)


def read(path: str) -> set[str]:
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
        return {str(e["fingerprint"]) for e in data["findings"]}
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such baseline file") from None
    except (ValueError, KeyError, TypeError):
        raise BaselineError(f"{path}: not a cnnlstm-lint baseline (JSON with a findings list)") from None


def apply(results: list[FileResult], fingerprints: set[str]) -> int:
    """Drop the findings the baseline knows; return how many were dropped."""
    dropped = 0
    for result in results:
        kept = [f for f in result.findings if f.fingerprint not in fingerprints]
        dropped += len(result.findings) - len(kept)
        result.findings = kept
    return dropped
