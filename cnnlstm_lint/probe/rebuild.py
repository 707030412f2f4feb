"""ModelGraph -> a fresh keras.Model (new weights), for the probe's baseline and variants.

Every node is rebuilt from its own layer config with `keras.saving.deserialize_keras_object`
in safe mode, TimeDistributed wrappers are re-applied per node, and nested models come
out flattened. Opaque layers (Lambda, custom classes) are refused, never deserialised.
"""

from __future__ import annotations

from ..graph import ModelGraph, Node
from ..loaders.keras_layers import NotRebuildable, has_keras_form, safe_name, to_keras_layer


class BudgetExhausted(Exception):
    """The deadline came before a run finished a single epoch (not an error of the model)."""


class ProbeError(Exception):
    """The probe cannot go on; the message is one line saying why."""


def make_layer(node: Node):
    import keras

    if node.attrs.get("unsafe"):  # never hand such a config to Keras, safe_mode or not
        raise ProbeError(f"layer `{node.id}` ({node.op}) holds unsafe content (CL900): "
                         f"{node.attrs['unsafe'][0]}; the probe does not rebuild it")
    if node.kind == "opaque" or not has_keras_form(node):
        raise ProbeError(f"layer `{node.id}` ({node.op}) is not rebuilt: its code is never run, "
                         "so the probe cannot train this model")
    try:
        layer_dict = to_keras_layer(node)
    except NotRebuildable as exc:
        raise ProbeError(str(exc)) from None
    try:
        layer = keras.saving.deserialize_keras_object(layer_dict, safe_mode=True)
    except Exception as exc:  # Keras raises many types for configs it rejects
        reason = str(exc).splitlines()[0].split(". ")[0][:200] if str(exc) else type(exc).__name__
        raise ProbeError(f"Keras cannot rebuild layer `{node.id}` ({node.op}): {reason}") from None
    for depth in range(node.per_step):
        layer = keras.layers.TimeDistributed(layer, name=f"{safe_name(node.id)}_td{depth}")
    return layer


def keras_model(graph: ModelGraph, name: str = "probe"):
    """Build a keras.Model with fresh weights from the graph's nodes."""
    import keras

    tensors: dict[tuple[str, int], object] = {}
    inputs = []
    for node in graph.nodes():
        if node.kind == "input":
            shape = node.attrs.get("shape")
            if not shape:
                raise ProbeError(f"input `{node.id}` has no recorded shape")
            tensor = keras.Input(shape=tuple(shape[1:]), dtype=node.attrs.get("dtype", "float32"),
                                 name=safe_name(node.id))
            inputs.append(tensor)
            tensors[(node.id, 0)] = tensor
            continue
        if graph.input_edges(node.id, aux=True) != graph.input_edges(node.id):
            raise ProbeError(f"layer `{node.id}` takes extra tensors (states or masks), "
                             "which the probe does not rebuild")
        args = [tensors[(u, out)] for u, out, _ in graph.input_edges(node.id)]
        layer = make_layer(node)
        result = layer(args if node.kind in ("concat", "merge") else args[0])
        for index, tensor in enumerate(result if isinstance(result, (list, tuple)) else [result]):
            tensors[(node.id, index)] = tensor
    outputs = [tensors[ref] for ref in graph.outputs]
    return keras.Model(inputs if len(inputs) > 1 else inputs[0],
                       outputs if len(outputs) > 1 else outputs[0], name=name)
