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

from ._frontend import FrontEnd
from .keras_archive import FRONT_END as KERAS_ARCHIVE
from .keras_hdf5 import FRONT_END as KERAS_HDF5
from .keras_json import FRONT_END as KERAS_JSON
from .onnx_model import FRONT_END as ONNX_MODEL

# Sniffing asks them in this order: magic bytes first, suffix-only formats last.
REGISTRY: tuple[FrontEnd, ...] = (
    KERAS_ARCHIVE,
    KERAS_HDF5,
    KERAS_JSON,
    ONNX_MODEL,
)

BY_NAME = {fe.name: fe for fe in REGISTRY}
SUFFIXES = tuple(s for fe in REGISTRY for s in fe.suffixes)  # what a directory walk collects


def suffix_list() -> str:
    """For help texts: `.keras .h5 .hdf5 .json .onnx`."""
    return " ".join(SUFFIXES)


def precommit_pattern() -> str:
    """The pre-commit hook's `files` regex: the formats whose every file is a model
    (a `.json` in a repository is usually something else)."""
    suffixes = [s.lstrip(".") for fe in REGISTRY if fe.in_hook for s in fe.suffixes]
    return r"\.(" + "|".join(suffixes) + ")$"


def for_object(obj: object) -> FrontEnd | None:
    """The front end that reads this in-memory object, if any."""
    return next((fe for fe in REGISTRY if fe.accepts is not None and fe.accepts(obj)), None)


__all__ = ["BY_NAME", "FrontEnd", "REGISTRY", "SUFFIXES", "for_object", "precommit_pattern",
           "suffix_list"]
