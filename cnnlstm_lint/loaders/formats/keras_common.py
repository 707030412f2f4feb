"""What the three Keras front ends share: a config and its unsafe content -> a graph."""

from __future__ import annotations


def keras_graph(config: dict, unsafe: list, path: str):
    from ..keras_config import graph_from_config

    graph = graph_from_config(config, path)
    graph.meta.setdefault("unsafe", []).extend(unsafe)
    return graph
