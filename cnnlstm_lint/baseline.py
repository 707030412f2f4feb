"""Baselines: record today's findings by fingerprint; later runs report only new ones.

The file is JSON, sorted and indented, one finding per entry, so that it diffs and
merges cleanly. Version 2 names each file by its path relative to the stable root
(`roots.py`), as the fingerprint does, so a baseline written from one folder or path
spelling matches a run from another. Version 1 files (fingerprints of the path as
typed) are still read: their entries are re-keyed from their path taken relative to the
working directory; `--write-baseline` rewrites them as version 2.
"""

from __future__ import annotations

import json

from .findings import fingerprint
from .results import FileResult
from .roots import stable_path

VERSION = 2


class BaselineError(ValueError):
    """A baseline file that cannot be read."""


def write(results: list[FileResult], path: str) -> int:
    entries = sorted(({"fingerprint": f.fingerprint, "code": f.code,
                       "file": f.file_key if f.file_key is not None else r.path, "node": f.node}
                      for r in results for f in r.findings),
                     key=lambda e: (e["file"], e["code"], e["node"], e["fingerprint"]))
    with open(path, "w", encoding="utf-8", errors="surrogatepass") as fh:
        json.dump({"version": VERSION, "findings": entries}, fh, indent=2, sort_keys=True)
        fh.write("\n")
    return len(entries)


def read(path: str) -> set[str]:
    try:
        with open(path, encoding="utf-8", errors="surrogatepass") as fh:
            data = json.load(fh)
        if data.get("version", 1) == 1:
            return {fingerprint(str(e["code"]), stable_path(str(e["file"])), str(e["node"]))
                    for e in data["findings"]}
        return {str(e["fingerprint"]) for e in data["findings"]}
    except FileNotFoundError:
        raise BaselineError(f"{path}: no such baseline file") from None
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        raise BaselineError(f"{path}: not a cnnlstm-lint baseline (JSON with a findings list)") from None
    except OSError as exc:
        raise BaselineError(f"{path}: cannot read ({exc.strerror})") from None


def apply(results: list[FileResult], fingerprints: set[str]) -> int:
    """Drop the findings the baseline knows; return how many were dropped."""
    dropped = 0
    for result in results:
        kept = [f for f in result.findings if f.fingerprint not in fingerprints]
        dropped += len(result.findings) - len(kept)
        result.findings = kept
    return dropped
