"""Keras 3 `.keras` archives: a zip whose config.json is the model config."""

from __future__ import annotations

from ._frontend import FrontEnd
from .keras_common import keras_graph
from .torch_export import looks_like_pt2

ZIP_MAGIC = b"PK\x03\x04"


def _read(path: str):
    from ..keras_file import read_keras_zip

    return keras_graph(*read_keras_zip(path), path)


FRONT_END = FrontEnd(
    name="keras_zip", title=".keras zip", suffixes=(".keras",),
    # every zip but a torch.export archive (its first member is under a root folder)
    detect=lambda fh, head, size: head.startswith(ZIP_MAGIC) and not looks_like_pt2(head),
    read=_read)
