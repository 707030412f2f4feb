"""Keras HDF5 files (`model.save("m.h5")`, Keras 3 and tf.keras 2): the model_config
attribute. Read by hdf5_lite (pure Python, preloaded before forking) or, for files beyond
its subset, by h5py, which is native code and imported only then: either way in the
isolated child."""

from __future__ import annotations

from ._frontend import FrontEnd
from .keras_common import keras_graph

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"


def _superblock(fh, head: bytes, size: int) -> bool:
    """The HDF5 signature at 0 or, after a user block, at 512, 1024, 2048, ...: where the
    HDF5 library itself looks. Eight bytes at each, 23 reads at most for 2 GiB."""
    offset = 0
    while offset + len(HDF5_MAGIC) <= size:
        fh.seek(offset)
        if fh.read(len(HDF5_MAGIC)) == HDF5_MAGIC:
            return True
        offset = offset * 2 or 512
    return False


def _read(path: str):
    from ..keras_file import read_hdf5

    return keras_graph(*read_hdf5(path), path)


FRONT_END = FrontEnd(
    name="hdf5", title="HDF5", suffixes=(".h5", ".hdf5"),
    detect=_superblock, read=_read, isolate=True,
    preload="cnnlstm_lint.loaders.hdf5_lite")
