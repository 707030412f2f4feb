"""The Keras round trip (loaders/keras_layers.py): canonical nodes back to Keras layer
configs. The probe builds and edits canonical nodes only; the Keras JSON stays in the
loaders."""

from __future__ import annotations

import glob
import os

import pytest

import cnnlstm_lint
from cnnlstm_lint.graph import Node
from cnnlstm_lint.loaders.keras_layers import NotRebuildable, to_keras_layer

from conftest import ROOT, SAMPLES


def test_a_loaded_layer_comes_back_as_its_own_config_without_call_history():
    graph = cnnlstm_lint.load_graph(os.path.join(SAMPLES, "legacy_tfkeras_cl001.h5"))
    lstm = next(n for n in graph.nodes() if n.kind == "recurrent")
    layer = to_keras_layer(lstm)
    assert layer["class_name"] == "LSTM" and layer["module"] == "keras.layers"
    assert layer["config"]["name"] == lstm.id
    assert "inbound_nodes" not in layer and "batch_input_shape" not in layer["config"]
    assert layer["config"]["units"] == lstm.attrs["units"]


def test_canonical_nodes_a_remedy_makes_become_layers():
    dense = Node("head", "dense", "Dense", {"units": 64, "activation": "relu"})
    assert to_keras_layer(dense) == {
        "module": "keras.layers", "class_name": "Dense", "registered_name": None,
        "config": {"name": "head", "units": 64, "activation": "relu"}}
    gap = Node("pool#1", "global_pool", "GlobalAveragePooling2D", {"rank": 2, "channels_first": True})
    assert to_keras_layer(gap)["class_name"] == "GlobalAveragePooling2D"
    assert to_keras_layer(gap)["config"] == {"name": "pool_1", "data_format": "channels_first"}
    assert to_keras_layer(Node("p", "permute", "Permute", {"dims": (2, 1, 3)}))["config"]["dims"] == [2, 1, 3]
    with pytest.raises(NotRebuildable, match=r"layer `x` \(Mystery\) has no Keras config"):
        to_keras_layer(Node("x", "opaque", "Mystery", {}))


def test_canonical_dropout_is_written_into_wrapped_recurrent_configs():
    graph = cnnlstm_lint.load_graph(os.path.join(SAMPLES, "cl007_crnn_no_permute.keras"))
    rec = next(n for n in graph.nodes() if n.is_recurrent)
    rec.attrs.update(dropout=0.2, recurrent_dropout=0.25)
    layer = to_keras_layer(rec)
    confs = [layer["config"]] + [layer["config"][k]["config"] for k in ("layer", "backward_layer")
                                 if isinstance(layer["config"].get(k), dict)]
    recurrent = [c for c in confs if "units" in c]
    assert recurrent and all(c["dropout"] == 0.2 and c["recurrent_dropout"] == 0.25
                             for c in recurrent)


def test_the_probe_never_reads_keras_json():
    for path in glob.glob(os.path.join(ROOT, "cnnlstm_lint", "probe", "*.py")):
        with open(path) as fh:
            assert '"keras_layer"' not in fh.read(), path  # the attribute the loader keeps


@pytest.mark.tf
@pytest.mark.parametrize("name", sorted(os.path.basename(p) for p in
                                        glob.glob(os.path.join(SAMPLES, "*.keras"))
                                        if "lambda" not in p))
def test_every_layer_of_every_keras_sample_rebuilds(name):
    import keras

    graph = cnnlstm_lint.load_graph(os.path.join(SAMPLES, name))
    for node in graph.nodes():
        if node.kind in ("input", "opaque"):
            continue
        layer = keras.saving.deserialize_keras_object(to_keras_layer(node), safe_mode=True)
        assert layer.name == node.id.replace("/", "_").replace("#", "_").replace("~", "_")


def test_canonical_edits_of_units_activation_and_rate_are_written_back():
    graph = cnnlstm_lint.load_graph(os.path.join(SAMPLES, "cl006_no_dropout.keras"))
    dense = next(n for n in graph.nodes() if n.kind == "dense")
    rec = next(n for n in graph.nodes() if n.kind == "recurrent")
    dense.attrs.update(units=7, activation="tanh")
    rec.attrs["units"] = 33
    assert to_keras_layer(dense)["config"]["units"] == 7
    assert to_keras_layer(dense)["config"]["activation"] == "tanh"
    assert to_keras_layer(rec)["config"]["units"] == 33
    untouched = next(n for n in cnnlstm_lint.load_graph(
        os.path.join(SAMPLES, "cl006_no_dropout.keras")).nodes() if n.kind == "recurrent")
    assert "dropout" not in to_keras_layer(untouched)["config"] or \
        to_keras_layer(untouched)["config"]["dropout"] == untouched.attrs["keras_layer"]["config"].get("dropout")
