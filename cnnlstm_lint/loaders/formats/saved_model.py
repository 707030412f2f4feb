"""TensorFlow SavedModel directories (`model.save("dir")` in tf.keras 2.x): the Keras config
in keras_metadata.pb. A format that is a directory: saved_model.pb marks one (and is never
read); a path to it or to keras_metadata.pb stands for the whole directory. The protobuf
is decoded in pure Python, so nothing runs in the isolated child."""

from __future__ import annotations

from ._frontend import FrontEnd
from .keras_common import keras_graph


def _read(path: str):
    from ..saved_model import read_saved_model

    return keras_graph(*read_saved_model(path), path)


FRONT_END = FrontEnd(
    name="saved_model", title="TensorFlow SavedModel", suffixes=(), detect=None,
    read=_read, directory_files=("saved_model.pb", "keras_metadata.pb"))
