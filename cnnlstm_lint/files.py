"""Which files a run lints: explicit paths as given, directories recursively."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .loaders.formats import SUFFIXES as MODEL_SUFFIXES

# Directories nobody keeps models in that are expensive to walk.
_SKIP_DIRS = {"__pycache__", "node_modules", "site-packages"}


@dataclass(frozen=True)
class Target:
    path: str
    explicit: bool  # named on the command line (errors always reported)


def collect(paths: list[str]) -> list[Target]:
    targets: list[Target] = []
    seen: set[str] = set()
    for path in paths:
        if os.path.isdir(path) and not path.rstrip("/").lower().endswith(MODEL_SUFFIXES):
            found = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
                found += [os.path.join(root, f) for f in files
                          if f.lower().endswith(MODEL_SUFFIXES) and not f.startswith(".")]
            new = [Target(p, False) for p in sorted(found)]
        else:
            new = [Target(path, True)]
        for t in new:
            if t.path not in seen:
                seen.add(t.path)
                targets.append(t)
    return targets
