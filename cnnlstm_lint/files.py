"""Which files a run lints: explicit paths as given, directories recursively.

A directory that is a model (a SavedModel: saved_model.pb in it) is one target, named or
met in a walk, and is not walked into; a path to one of its member files stands for it."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .loaders.formats import SUFFIXES as MODEL_SUFFIXES
from .loaders.formats import directory_format, member_directory

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
        folder = member_directory(path) if os.path.lexists(path) else None
        if folder is not None:  # what pre-commit passes when a SavedModel's file changed
            new = [Target(folder, True)]
        elif os.path.isdir(path) and directory_format(path) is not None:
            new = [Target(path.rstrip(os.sep) or path, True)]
        elif os.path.isdir(path) and not path.rstrip("/").lower().endswith(MODEL_SUFFIXES):
            found = []
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIP_DIRS)
                models = [d for d in dirs if directory_format(os.path.join(root, d)) is not None]
                dirs[:] = [d for d in dirs if d not in models]  # one target, not walked into
                found += [os.path.join(root, d) for d in models]
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
