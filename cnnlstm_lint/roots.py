"""The stable root a linted file is named against, so that its name does not depend on
how the path was typed or where the command ran.

The root is the file's repository root (the nearest folder above it holding `.git`: a
directory, or a file for worktrees and submodules), else the folder of the config file
that applies to it, else the working directory. Fingerprints and baselines use the
file's path relative to that root, with forward slashes.
"""

from __future__ import annotations

import os


def repo_root(path: str) -> str | None:
    """The nearest directory above `path` holding `.git`, or None."""
    here = os.path.dirname(os.path.abspath(path))
    while True:
        if os.path.exists(os.path.join(here, ".git")):
            return here
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def stable_root(path: str, config_path: str | None = None) -> str:
    if (root := repo_root(path)) is not None:
        return root
    if config_path:
        return os.path.dirname(os.path.abspath(config_path))
    return os.getcwd()


def stable_path(path: str, config_path: str | None = None) -> str:
    """`path` relative to its stable root, normalised (`./m.keras`, `m.keras`, the absolute
    path and `sub/../m.keras` all give `m.keras`); absolute when outside the root."""
    absolute = os.path.abspath(path)
    try:
        rel = os.path.relpath(absolute, stable_root(path, config_path))
    except ValueError:  # another drive (Windows)
        rel = absolute
    if rel == os.pardir or rel.startswith(os.pardir + os.sep):
        rel = absolute
    return rel.replace(os.sep, "/")
