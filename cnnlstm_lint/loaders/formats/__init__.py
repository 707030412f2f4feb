"""The front ends: one module per file format, one line each in REGISTRY.

A front end says what it reads (name, title, suffixes), how to recognise a file (its
magic bytes; a format without any is recognised by suffix alone), whether its parser is
native code that must run in an isolated child, and how to read a file — or an
in-memory object — into a ModelGraph. Directory collection, sniffing, the isolation of
native parsers, the Python API's dispatch, the CLI help and the pre-commit `files`
pattern all derive from this list.

Readers are imported when a file of their format is read, so that linting a `.keras`
never imports h5py or onnx.
"""

from __future__ import annotations

import os
import re

from ._frontend import FrontEnd
from .keras_archive import FRONT_END as KERAS_ARCHIVE
from .keras_hdf5 import FRONT_END as KERAS_HDF5
from .keras_json import FRONT_END as KERAS_JSON
from .onnx_model import FRONT_END as ONNX_MODEL
from .saved_model import FRONT_END as SAVED_MODEL
from .torch_export import FRONT_END as TORCH_EXPORT
from .torch_module import FRONT_END as TORCH_MODULE

# Sniffing asks them in this order: magic bytes first, suffix-only formats last.
REGISTRY: tuple[FrontEnd, ...] = (
    TORCH_EXPORT,  # a zip too: asked before the .keras zip
    KERAS_ARCHIVE,
    KERAS_HDF5,
    KERAS_JSON,
    ONNX_MODEL,
    SAVED_MODEL,  # a directory: recognised by its marker file, never sniffed as a file
    TORCH_MODULE,  # in-memory modules only: no suffix, never sniffed
)

BY_NAME = {fe.name: fe for fe in REGISTRY}
SUFFIXES = tuple(s for fe in REGISTRY for s in fe.suffixes)  # what a directory walk collects
DIRECTORY_FORMATS = tuple(fe for fe in REGISTRY if fe.directory_files)  # and these folders


def directory_format(path: str) -> FrontEnd | None:
    """The format of the directory `path` (a SavedModel), if it is one's."""
    return next((fe for fe in DIRECTORY_FORMATS if fe.marks_directory(path)), None)


def member_directory(path: str) -> str | None:
    """The directory that the file `path` is a member of (`m/saved_model.pb` -> `m`), if
    its name is one of a directory format's files."""
    if any(os.path.basename(path) in fe.directory_files for fe in DIRECTORY_FORMATS):
        return os.path.dirname(path) or "."
    return None


def suffix_list() -> str:
    """For help texts: `.keras .h5 .hdf5 .json .onnx, TensorFlow SavedModel directories`."""
    return ", ".join([" ".join(SUFFIXES)] + [f"{fe.title} directories" for fe in DIRECTORY_FORMATS])


def precommit_pattern() -> str:
    """The pre-commit hook's `files` regex: the formats whose every file is a model
    (a `.json` in a repository is usually something else)."""
    suffixes = [s.lstrip(".") for fe in REGISTRY if fe.in_hook for s in fe.suffixes]
    pattern = r"\.(" + "|".join(suffixes) + ")$"
    members = [re.escape(n) for fe in REGISTRY if fe.in_hook for n in fe.directory_files]
    if members:  # a SavedModel's files, which stand for their directory
        pattern += r"|(^|/)(" + "|".join(members) + ")$"
    return pattern


def for_object(obj: object) -> FrontEnd | None:
    """The front end that reads this in-memory object, if any."""
    return next((fe for fe in REGISTRY if fe.accepts is not None and fe.accepts(obj)), None)


__all__ = ["BY_NAME", "DIRECTORY_FORMATS", "FrontEnd", "REGISTRY", "SUFFIXES", "directory_format",
           "for_object", "member_directory", "precommit_pattern", "suffix_list"]
