"""The Keras round trip: a canonical node back to a Keras 3 layer config.

The Keras front end keeps each layer's own config on its node (`attrs["keras_layer"]`),
and only this module reads it back. A node a remedy made has no such config: it is
built from its canonical kind and attributes (the kinds the remedies create), which is
also how a node from another front end would be rebuilt. Canonical edits a remedy makes
(`dropout`/`recurrent_dropout` on a recurrent node) are written into the config here.
"""

from __future__ import annotations

import copy
import re

from ..graph import Node
from .keras_config import _activation, is_builtin_layer

# keys that tf.keras 2.x configs carry and Keras 3 layers no longer accept
_LEGACY_KEYS = ("batch_input_shape", "batch_shape", "input_shape", "time_major")
# recurrent configs sit in the layer itself or in the layer a wrapper holds
_WRAPPED = ("layer", "backward_layer", "cell")


class NotRebuildable(ValueError):
    """The node has no Keras form (no config kept, and not a kind built from attributes)."""


def safe_name(node_id: str) -> str:
    """A Keras layer name for a node id (paths and `#`/`~` suffixes are not allowed)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", node_id)


def to_keras_layer(node: Node) -> dict:
    """A Keras 3 layer dict for `node`, named after it, ready for
    keras.saving.deserialize_keras_object."""
    source = node.attrs.get("keras_layer")
    if source is not None and node.is_recurrent and node.attrs.get("time_major"):
        # Keras 3 layers have no time_major: dropping it would train another model
        raise NotRebuildable(f"layer `{node.id}` ({node.op}) is time_major=True, which Keras 3 "
                             "layers do not have; rebuilt, it would read (batch, time, features)")
    layer = _clean(source) if source is not None else _from_attrs(node)
    if source is not None:
        _write_back(node, layer)
    layer["config"]["name"] = safe_name(node.id)
    return layer


# Canonical attributes that mean the same config key, per kind: a remedy that edits one
# (units, dropout, activation, rate) has it written back into the kept config.
_EDITABLE = {"recurrent": ("units", "dropout", "recurrent_dropout", "return_sequences",
                           "activation"),
             "conv_recurrent": ("dropout", "recurrent_dropout", "activation"),
             "dense": ("units", "activation"), "dropout": ("rate",)}
_ALWAYS = ("dropout", "recurrent_dropout")  # recurrent configs may leave these out


def _write_back(node: Node, layer: dict) -> None:
    keys = _EDITABLE.get(node.kind, ())
    confs = _recurrent_configs(layer) if node.is_recurrent else [layer["config"]]
    for conf in confs:
        for key in keys:
            value = node.attrs.get(key)
            if value is None or conf.get(key) == value:
                continue
            if key == "activation" and _activation(conf.get(key, "tanh")) == value:
                continue  # the same function, saved another way (e.g. a serialised object)
            if key in conf or (node.is_recurrent and key in _ALWAYS and value):
                conf[key] = value


def has_keras_form(node: Node) -> bool:
    return "keras_layer" in node.attrs or node.kind in _BUILDERS


def _recurrent_configs(layer: dict) -> list[dict]:
    confs = [layer["config"]]
    confs += [layer["config"][k].get("config", {}) for k in _WRAPPED
              if isinstance(layer["config"].get(k), dict)]
    return [c for c in confs if "units" in c or "filters" in c]


def _clean(layer: dict) -> dict:
    """A copy without call history, without keys Keras 3 rejects, and with the module of
    built-in classes filled in (HDF5 and tf.keras 2.x configs leave it out)."""
    layer = copy.deepcopy(layer)
    layer.pop("inbound_nodes", None)
    layer.pop("build_config", None)
    stack = [layer]
    while stack:
        item = stack.pop()
        if not item.get("module") and is_builtin_layer(str(item.get("class_name"))):
            item["module"] = "keras.layers"
        conf = item.get("config")
        if isinstance(conf, dict):
            for key in _LEGACY_KEYS:
                conf.pop(key, None)
            stack += [v for v in conf.values() if isinstance(v, dict) and "class_name" in v]
    return layer


def _layer(class_name: str, **config) -> dict:
    return {"module": "keras.layers", "class_name": class_name, "registered_name": None,
            "config": {"name": class_name.lower(), **config}}


def _data_format(node: Node) -> dict:
    return {"data_format": "channels_first" if node.attrs.get("channels_first") else "channels_last"}


_BUILDERS = {
    "global_pool": lambda n: _layer(f"GlobalAveragePooling{n.attrs.get('rank', 2)}D",
                                    **_data_format(n)),
    "flatten": lambda n: _layer("Flatten", **_data_format(n)),
    "dense": lambda n: _layer("Dense", units=n.attrs["units"],
                              activation=n.attrs.get("activation", "linear")),
    "dropout": lambda n: _layer("Dropout", rate=n.attrs.get("rate", 0.0)),
    "permute": lambda n: _layer("Permute", dims=list(n.attrs["dims"])),
}


def _from_attrs(node: Node) -> dict:
    build = _BUILDERS.get(node.kind)
    if build is None:
        raise NotRebuildable(f"layer `{node.id}` ({node.op}) has no Keras config to rebuild it from")
    return build(node)
