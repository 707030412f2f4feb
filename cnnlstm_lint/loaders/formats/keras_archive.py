"""Keras 3 `.keras` archives: a zip whose config.json is the model config."""

from __future__ import annotations

from ._frontend import FrontEnd
from .keras_common import keras_graph

ZIP_MAGIC = b"PK\x03\x04"


def _read(path: str):
    from ..keras_file import read_keras_zip

    return keras_graph(*read_keras_zip(path), path)


FRONT_END = FrontEnd(
    name="keras_zip", title=".keras zip", suffixes=(".keras",),
    detect=lambda fh, head, size: head.startswith(ZIP_MAGIC),
    read=_read)
