"""Keras model JSON (`model.to_json()`), and in-memory configs and keras.Model objects."""

from __future__ import annotations

import json

from ._frontend import FrontEnd
from .keras_common import keras_graph


def _json_object(fh, head: bytes, size: int) -> bool:
    """Whether the text starts with `{`, in the encoding json.loads would read it in
    (UTF-8, or UTF-16/32 told by its first bytes)."""
    text = head.decode(json.detect_encoding(head), "replace")  # the cut may split a character
    return text.lstrip("\ufeff \t\r\n").startswith("{")


def _read(path: str):
    from ..keras_file import read_json

    return keras_graph(*read_json(path), path)


def _is_keras_model(obj) -> bool:
    return (type(obj).__module__ or "").startswith("keras") and hasattr(obj, "get_config")


def _from_object(obj):
    from ..keras_config import graph_from_config

    if isinstance(obj, dict):
        return graph_from_config(obj, "<config>")
    import keras  # the caller already has Keras: it built the model

    # Through JSON text, as model.save() writes config.json: the config then holds what
    # a saved file holds (lists, not the tuples of a slice key), so both read alike.
    config = json.loads(json.dumps(keras.saving.serialize_keras_object(obj)))
    return graph_from_config(config, f"<keras model {obj.name}>")


FRONT_END = FrontEnd(
    name="json", title="Keras JSON", suffixes=(".json",),
    detect=_json_object, read=_read,
    accepts=lambda obj: isinstance(obj, dict) or _is_keras_model(obj),
    from_object=_from_object,
    in_hook=False)  # most .json files in a repository are not models
