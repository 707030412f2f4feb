"""What a front end declares (see formats/__init__.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import IO, Any, Callable

from ...graph import ModelGraph


@dataclass(frozen=True)
class FrontEnd:
    name: str  # the format's id, e.g. "keras_zip" (what sniff returns)
    title: str  # for messages, e.g. ".keras zip"
    suffixes: tuple[str, ...]  # lower case, with the dot
    # (file opened for reading, its first 1024 bytes, its size) -> is it this format?
    # None: recognised by suffix alone.
    detect: Callable[[IO[bytes], bytes, int], bool] | None
    read: Callable[[str], ModelGraph]  # path -> graph (axes not yet propagated)
    isolate: bool = False  # the parser is native code: read in a child process
    preload: str | None = None  # the parser's module, imported before forking children
    accepts: Callable[[Any], bool] | None = None  # an in-memory object it can read
    from_object: Callable[[Any], ModelGraph] | None = None
    in_hook: bool = True  # pre-commit runs on every file with these suffixes
    # A format stored as a directory (a SavedModel): the file whose presence marks one,
    # never read, then the member files that are read. A path to any of them stands for
    # the directory (pre-commit passes the files that changed).
    directory_files: tuple[str, ...] = ()

    def matches_suffix(self, path: str) -> bool:
        return path.lower().endswith(self.suffixes)

    def marks_directory(self, path: str) -> bool:
        """Whether the directory `path` is one of this format's: its marker is there, as
        a file or as a link (sniff judges links)."""
        return bool(self.directory_files) and os.path.lexists(
            os.path.join(path, self.directory_files[0]))
