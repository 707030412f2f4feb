"""SVG through Graphviz' `dot` program (found on PATH, run on our DOT text)."""

from __future__ import annotations

import shutil
import subprocess


INSTALL_HINT = ("install Graphviz (apt-get install graphviz, brew install graphviz or "
                "conda install graphviz), or use --format dot or --format html")


class GraphvizError(RuntimeError):
    """Graphviz is missing or `dot` failed; the message is one line."""


def dot_path() -> str | None:
    return shutil.which("dot")


def to_svg(dot_text: str) -> str:
    """Render DOT to SVG with Graphviz' `dot`; GraphvizError if it is missing or fails."""
    exe = dot_path()
    if exe is None:
        raise GraphvizError(f"Graphviz `dot` was not found on PATH: {INSTALL_HINT}")
    try:
        proc = subprocess.run([exe, "-Tsvg"], input=dot_text.encode("utf-8", "backslashreplace"),
                              capture_output=True)
    except OSError as exc:
        raise GraphvizError(f"could not run {exe}: {exc}") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GraphvizError(f"dot failed (exit {proc.returncode}): {err[0] if err else 'no message'}")
    return proc.stdout.decode("utf-8", "replace")
