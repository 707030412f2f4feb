"""Where a linted file lives for CI tools: a path relative to its repository root.

Code-scanning services (GitHub, GitLab) match findings to files by a path relative to the
checkout, so the machine-readable renderers share one notion of that root: the nearest
parent directory of the file that contains `.git` (a directory, or a file for worktrees and
submodules), else the current working directory.
"""

from __future__ import annotations

import os
import pathlib
from urllib.parse import quote, quote_from_bytes

from ..findings import Finding
from ..roots import repo_root


def common_root(paths: list[str]) -> str:
    """One root for a run: the files' repository root (their common ancestor when they sit
    in different repositories), else the current working directory."""
    cwd = os.getcwd()
    roots = sorted({repo_root(p) or cwd for p in paths})
    if not roots:
        return cwd
    if len(roots) == 1:
        return roots[0]
    try:
        return os.path.commonpath(roots)
    except ValueError:  # different drives on Windows
        return roots[0]


def relative_path(path: str, root: str) -> str | None:
    """`path` relative to `root` with forward slashes, or None when it lies outside."""
    try:
        rel = os.path.relpath(os.path.abspath(path), root)
    except ValueError:
        return None
    if rel == os.pardir or rel.startswith(os.pardir + os.sep) or os.path.isabs(rel):
        return None
    return rel.replace(os.sep, "/")


def display_path(path: str, root: str) -> str:
    """Relative to the root when inside it, else absolute; always forward slashes."""
    rel = relative_path(path, root)
    return rel if rel is not None else os.path.abspath(path).replace(os.sep, "/")


def _path_bytes(path: str) -> bytes:
    """A path's bytes as the file system has them: a name that is not UTF-8 was decoded
    with surrogate escapes ('\\udcff'), which give its bytes back; any other lone
    surrogate is kept as surrogatepass would write it, so the URI stays lossless."""
    try:
        return path.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return b"".join(ch.encode("utf-8", "surrogateescape" if "\udc80" <= ch <= "\udcff"
                                  else "surrogatepass") for ch in path)


def artifact_location(path: str, root: str, base_id: str = "%SRCROOT%") -> dict:
    """A SARIF artifactLocation: a percent-encoded relative URI against `base_id`, or an
    absolute file: URI for a file outside the root."""
    rel = relative_path(path, root)
    if rel is None:
        absolute = pathlib.Path(os.path.abspath(path))
        try:
            return {"uri": absolute.as_uri()}
        except UnicodeEncodeError:  # a lone surrogate the file system encoding refuses
            posix = absolute.as_posix()
            lead = "" if posix.startswith("/") else "/"  # file:///C:/... on Windows
            return {"uri": "file://" + lead + quote_from_bytes(_path_bytes(posix), safe="/:")}
    return {"uri": quote(_path_bytes(rel), safe="/"), "uriBaseId": base_id}


def root_uri(root: str) -> str:
    uri = pathlib.Path(root).as_uri()
    return uri if uri.endswith("/") else uri + "/"


def layer_of(finding: Finding) -> str:
    """The layer path a user knows: what the exporter recorded, else the node id."""
    return str(finding.evidence.get("layer") or finding.node)


def finding_text(finding: Finding) -> str:
    """One self-contained sentence block for tools that show a single message."""
    text = f"`{layer_of(finding)}`: {finding.message}"
    if finding.remedy:
        text += f" Remedy: {finding.remedy}"
    return text
