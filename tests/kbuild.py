"""Build Keras model configs (the dicts of a `.keras` file's config.json) without Keras.

Tests describe models in a few lines and get the same layout Keras 3 writes::

    m = sequential((32, 32, 3), conv2d(8, 3), maxpool2d(2), reshape((225, 8)), lstm(16))

    f = Functional("fusion")
    image = f.input((32, 32, 3), name="image")
    y = flatten()(conv2d(16, 3, padding="same")(image))
    z = concatenate(name="concat")([y, lstm(16)(f.input((20, 8)))])
    m = f.model(outputs=dense(2)(z))

Layer names are generated the way Keras does (`conv2d`, `conv2d_1`, `max_pooling2d`,
...), per model and in order of use, unless a name is given. `legacy(model)` rewrites a
config into the tf.keras 2.x layout (`batch_input_shape`, `[[name, 0, 0, {}]]` inbound
nodes, no `module` keys).

Only the keys the linter (or a reader of the file) needs are written; no shape inference
happens here: a tensor's recorded shape is known for inputs, and for a layer's output
only when the test states it (`layer(x, shape=...)`, or `lambda_layer(output_shape=...)`).
"""

from __future__ import annotations

import copy
import re
from typing import Any, Iterable, Sequence

__all__ = [
    "Functional", "Layer", "Tensor", "sequential", "legacy",
    "conv1d", "conv2d", "conv3d", "conv2d_transpose", "depthwise_conv2d", "upsampling2d",
    "zeropadding2d", "cropping2d", "maxpool1d", "maxpool2d", "maxpool3d", "avgpool2d",
    "gap1d", "gap2d", "flatten", "reshape", "permute", "dense", "dropout",
    "spatial_dropout2d", "batchnorm", "lstm", "gru", "simple_rnn", "bidirectional",
    "time_distributed", "embedding", "convlstm2d", "repeat_vector", "concatenate", "add",
    "lambda_layer", "custom_layer", "input_layer",
]


def snake_case(class_name: str) -> str:
    """Keras' auto-name of a layer class: Conv2D -> conv2d, MaxPooling2D -> max_pooling2d."""
    name = re.sub(r"(.)([A-Z][a-z]+)", r"\1_\2", re.sub(r"\W+", "", class_name))
    return re.sub(r"([a-z])([A-Z])", r"\1_\2", name).lower()


class Layer(dict):
    """A layer (or model) config dict, callable on Tensors like a Keras layer."""

    def __init__(self, class_name: str, config: dict, *, module: str = "keras.layers",
                 name: str | None = None, registered_name: str | None = None,
                 out_shape: Sequence | None = None):
        super().__init__(module=module, class_name=class_name,
                         config={"name": name, **config}, registered_name=registered_name)
        self.auto_name = name is None  # Keras picks the name when the user did not
        self.out_shape = None if out_shape is None else (None, *out_shape)

    @property
    def name(self) -> str | None:
        return self["config"]["name"]

    def inner(self) -> list["Layer"]:
        """Wrapped layers (TimeDistributed / Bidirectional) that need names too."""
        conf = self["config"]
        return [conf[k] for k in ("layer", "backward_layer") if isinstance(conf.get(k), Layer)]

    @property
    def is_model(self) -> bool:
        return "layers" in self["config"]

    def __call__(self, inputs: "Tensor | Sequence[Tensor]", *, shape: Sequence | None = None,
                 outputs: int = 1) -> "Tensor | list[Tensor]":
        tensors = [inputs] if isinstance(inputs, Tensor) else list(inputs)
        if not tensors:
            raise ValueError("a layer needs at least one input tensor")
        return tensors[0].model.call(self, tensors, shape=shape, outputs=outputs)

    def __deepcopy__(self, memo):
        new = Layer.__new__(Layer)
        memo[id(self)] = new
        dict.__init__(new, {k: copy.deepcopy(v, memo) for k, v in self.items()})
        new.auto_name, new.out_shape = self.auto_name, self.out_shape
        return new


class _Namer:
    """Deterministic Keras-style names within one model: conv2d, conv2d_1, ..."""

    def __init__(self):
        self.counts: dict[str, int] = {}
        self.used: set[str] = set()
        self.done: set[int] = set()

    def take(self, base: str) -> str:
        n = self.counts.get(base, 0)
        while True:
            name = base if n == 0 else f"{base}_{n}"
            n += 1
            if name not in self.used:
                break
        self.counts[base] = n
        self.used.add(name)
        return name

    def assign(self, layer: Layer) -> None:
        if id(layer) in self.done:  # a shared layer keeps its name
            return
        self.done.add(id(layer))
        if layer["class_name"] == "Bidirectional":
            conf = layer["config"]
            self.assign(conf["layer"])  # the wrapped layer takes its name, as in Keras
            base = conf["layer"].name
            conf["layer"]["config"]["name"] = f"forward_{base}"
            conf["backward_layer"]["config"]["name"] = f"backward_{base}"
            self.done.add(id(conf["backward_layer"]))
        elif not layer.is_model:
            for inner in layer.inner():
                self.assign(inner)
        if layer.auto_name and (layer.name is None or layer.name in self.used):
            base = snake_case(layer["class_name"]) if not layer.is_model else \
                re.sub(r"_\d+$", "", layer.name or "sequential")
            layer["config"]["name"] = self.take(base)
        else:
            self.used.add(layer.name)


# ---------------------------------------------------------------------------------
# models


def input_layer(shape: Sequence | None, name: str | None = None, batch_size=None) -> Layer:
    conf = {"batch_shape": None if shape is None else [batch_size, *shape], "dtype": "float32",
            "sparse": False, "ragged": False, "optional": False}
    return Layer("InputLayer", conf, name=name)


def sequential(input_shape: Sequence | None, *layers: Layer, name: str | None = None) -> Layer:
    """A Keras 3 Sequential config. `input_shape` excludes the batch (None: no InputLayer,
    as in a nested Sequential that gets its input from the enclosing model)."""
    namer = _Namer()
    items: list[Layer] = []
    if input_shape is not None:
        items.append(input_layer(input_shape))
    for layer in layers:
        item = copy.deepcopy(layer)
        item.pop("inbound_nodes", None)  # a layer reused from a Functional build
        item.pop("name", None)
        items.append(item)
    prev_out = None
    for item in items:
        namer.assign(item)
        if prev_out is not None and not item.is_model:
            item["build_config"] = {"input_shape": list(prev_out)}
        prev_out = item.out_shape
    model = Layer("Sequential", {"trainable": True, "layers": items}, module="keras",
                  name=name or "sequential")
    model.auto_name = name is None
    if input_shape is not None:
        model["config"]["build_input_shape"] = [None, *input_shape]
        model["build_config"] = {"input_shape": [None, *input_shape]}
    return model


class Tensor:
    """The output `index` of the `node_index`-th call of a layer in a Functional model."""

    def __init__(self, model: "Functional", layer: Layer, node_index: int, index: int,
                 shape: tuple | None):
        self.model, self.layer, self.node_index, self.index = model, layer, node_index, index
        self.shape = shape

    def ref(self) -> dict:
        return {"class_name": "__keras_tensor__",
                "config": {"shape": None if self.shape is None else list(self.shape),
                           "dtype": "float32",
                           "keras_history": [self.layer.name, self.node_index, self.index]}}


class Functional:
    """Build a Keras 3 functional model: inputs, layer calls, then `model(...)`."""

    def __init__(self, name: str = "functional"):
        self.name = name
        self.namer = _Namer()
        self.layers: list[Layer] = []
        self.inputs: list[Tensor] = []

    def input(self, shape: Sequence, name: str | None = None, batch_size=None) -> Tensor:
        layer = input_layer(shape, name, batch_size)
        self._register(layer)
        tensor = Tensor(self, layer, 0, 0, (batch_size, *shape))
        self.inputs.append(tensor)
        return tensor

    def _register(self, layer: Layer) -> None:
        if id(layer) not in self.namer.done:
            self.namer.assign(layer)
            layer["name"] = layer.name
            layer["inbound_nodes"] = []
            self.layers.append(layer)

    def call(self, layer: Layer, inputs: list[Tensor], *, shape=None, outputs=1):
        if any(t.model is not self for t in inputs):
            raise ValueError("tensors from another Functional builder")
        self._register(layer)
        args: Any = inputs[0].ref() if len(inputs) == 1 and layer["class_name"] != "Concatenate" \
            else [t.ref() for t in inputs]
        layer["inbound_nodes"].append({"args": [args], "kwargs": {}})
        node_index = len(layer["inbound_nodes"]) - 1
        # `shape`: the output shape the file records, without the batch (as keras.Input)
        recorded = (None, *shape) if shape is not None else layer.out_shape
        made = [Tensor(self, layer, node_index, i, recorded) for i in range(outputs)]
        return made[0] if outputs == 1 else made

    def model(self, inputs: Iterable[Tensor] | Tensor | None = None,
              outputs: Iterable[Tensor] | Tensor | None = None) -> Layer:
        ins = self.inputs if inputs is None else \
            ([inputs] if isinstance(inputs, Tensor) else list(inputs))
        outs = [outputs] if isinstance(outputs, Tensor) else list(outputs or [])
        if not outs:
            raise ValueError("a functional model needs outputs")

        def refs(tensors):
            items = [[t.layer.name, t.node_index, t.index] for t in tensors]
            return items[0] if len(items) == 1 else items  # as Keras 3 writes them

        model = Layer("Functional", {"trainable": True, "layers": self.layers,
                                     "input_layers": refs(ins), "output_layers": refs(outs)},
                      module="keras.src.models.functional", name=self.name)
        model.auto_name = False
        return model


# ---------------------------------------------------------------------------------
# layers


def _n(value, rank: int) -> list:
    return [value] * rank if isinstance(value, int) else list(value)


def _conv(rank: int, filters: int, kernel, padding: str, strides, name, dilation=1,
          data_format="channels_last", **extra) -> Layer:
    conf = {"filters": filters, "kernel_size": _n(kernel, rank), "strides": _n(strides, rank),
            "padding": padding, "data_format": data_format,
            "dilation_rate": _n(dilation, rank), "groups": 1, "activation": "linear",
            "use_bias": True, "kernel_regularizer": None, "bias_regularizer": None,
            "activity_regularizer": None, **extra}
    return Layer(f"Conv{rank}D", conf, name=name)


def conv1d(filters: int, kernel, padding="valid", strides=1, name=None, **kw) -> Layer:
    return _conv(1, filters, kernel, padding, strides, name, **kw)


def conv2d(filters: int, kernel, padding="valid", strides=1, name=None, **kw) -> Layer:
    return _conv(2, filters, kernel, padding, strides, name, **kw)


def conv3d(filters: int, kernel, padding="valid", strides=1, name=None, **kw) -> Layer:
    return _conv(3, filters, kernel, padding, strides, name, **kw)


def conv2d_transpose(filters: int, kernel, padding="valid", strides=1, name=None,
                     output_padding=None) -> Layer:
    conf = {"filters": filters, "kernel_size": _n(kernel, 2), "strides": _n(strides, 2),
            "padding": padding, "data_format": "channels_last", "dilation_rate": [1, 1],
            "output_padding": None if output_padding is None else _n(output_padding, 2)}
    return Layer("Conv2DTranspose", conf, name=name)


def depthwise_conv2d(kernel, depth_multiplier=1, padding="valid", strides=1, name=None) -> Layer:
    conf = {"kernel_size": _n(kernel, 2), "strides": _n(strides, 2), "padding": padding,
            "depth_multiplier": depth_multiplier, "data_format": "channels_last",
            "dilation_rate": [1, 1]}
    return Layer("DepthwiseConv2D", conf, name=name)


def upsampling2d(size=2, name=None) -> Layer:
    return Layer("UpSampling2D", {"size": _n(size, 2), "data_format": "channels_last",
                                  "interpolation": "nearest"}, name=name)


def zeropadding2d(padding=1, name=None) -> Layer:
    return Layer("ZeroPadding2D", {"padding": padding, "data_format": "channels_last"}, name=name)


def cropping2d(cropping=1, name=None) -> Layer:
    return Layer("Cropping2D", {"cropping": cropping, "data_format": "channels_last"}, name=name)


def _pool(kind: str, rank: int, size, strides, padding, name, data_format="channels_last"):
    size = _n(size, rank)
    conf = {"pool_size": size, "padding": padding,
            "strides": size if strides is None else _n(strides, rank),
            "data_format": data_format}
    return Layer(f"{kind}Pooling{rank}D", conf, name=name)


def maxpool1d(size=2, strides=None, padding="valid", name=None) -> Layer:
    return _pool("Max", 1, size, strides, padding, name)


def maxpool2d(size=2, strides=None, padding="valid", name=None, **kw) -> Layer:
    return _pool("Max", 2, size, strides, padding, name, **kw)


def maxpool3d(size=2, strides=None, padding="valid", name=None) -> Layer:
    return _pool("Max", 3, size, strides, padding, name)


def avgpool2d(size=2, strides=None, padding="valid", name=None) -> Layer:
    return _pool("Average", 2, size, strides, padding, name)


def gap1d(name=None) -> Layer:
    return Layer("GlobalAveragePooling1D", {"data_format": "channels_last", "keepdims": False},
                 name=name)


def gap2d(name=None, keepdims=False) -> Layer:
    return Layer("GlobalAveragePooling2D", {"data_format": "channels_last", "keepdims": keepdims},
                 name=name)


def flatten(name=None, data_format="channels_last") -> Layer:
    return Layer("Flatten", {"data_format": data_format}, name=name)


def reshape(target: Sequence[int], name=None) -> Layer:
    return Layer("Reshape", {"target_shape": list(target)}, name=name)


def permute(dims: Sequence[int], name=None) -> Layer:
    return Layer("Permute", {"dims": list(dims)}, name=name)


def dense(units: int, name=None, activation="linear", kernel_regularizer=None) -> Layer:
    return Layer("Dense", {"units": units, "activation": activation, "use_bias": True,
                           "kernel_regularizer": kernel_regularizer, "bias_regularizer": None,
                           "activity_regularizer": None}, name=name)


def dropout(rate: float, name=None) -> Layer:
    return Layer("Dropout", {"rate": rate, "seed": None, "noise_shape": None}, name=name)


def spatial_dropout2d(rate: float, name=None) -> Layer:
    return Layer("SpatialDropout2D", {"rate": rate, "seed": None}, name=name)


def batchnorm(name=None) -> Layer:
    return Layer("BatchNormalization", {"axis": -1, "momentum": 0.99, "epsilon": 0.001},
                 name=name)


def _rnn(class_name: str, units: int, return_sequences: bool, dropout: float,
         recurrent_dropout: float, name, **extra) -> Layer:
    conf = {"return_sequences": return_sequences, "return_state": False,
            "go_backwards": False, "stateful": False, "unroll": False, "units": units,
            "activation": "tanh", "use_bias": True, "dropout": dropout,
            "recurrent_dropout": recurrent_dropout, "kernel_regularizer": None,
            "recurrent_regularizer": None, "bias_regularizer": None, **extra}
    return Layer(class_name, conf, name=name)


def lstm(units: int, return_sequences=False, dropout=0.0, recurrent_dropout=0.0, name=None,
         **kw) -> Layer:
    return _rnn("LSTM", units, return_sequences, dropout, recurrent_dropout, name, **kw)


def gru(units: int, return_sequences=False, dropout=0.0, recurrent_dropout=0.0, name=None,
        **kw) -> Layer:
    return _rnn("GRU", units, return_sequences, dropout, recurrent_dropout, name, **kw)


def simple_rnn(units: int, return_sequences=False, dropout=0.0, recurrent_dropout=0.0,
               name=None, **kw) -> Layer:
    return _rnn("SimpleRNN", units, return_sequences, dropout, recurrent_dropout, name, **kw)


def convlstm2d(filters: int, kernel, padding="valid", strides=1, return_sequences=False,
               dropout=0.0, recurrent_dropout=0.0, name=None) -> Layer:
    conf = {"filters": filters, "kernel_size": _n(kernel, 2), "strides": _n(strides, 2),
            "padding": padding, "data_format": "channels_last", "dilation_rate": [1, 1],
            "return_sequences": return_sequences, "return_state": False,
            "go_backwards": False, "stateful": False, "dropout": dropout,
            "recurrent_dropout": recurrent_dropout}
    return Layer("ConvLSTM2D", conf, name=name)


def bidirectional(layer: Layer, merge_mode="concat", name=None) -> Layer:
    """Keras 3 stores the forward layer under `layer` and a mirrored `backward_layer`."""
    forward = copy.deepcopy(layer)
    backward = copy.deepcopy(layer)
    backward["config"]["go_backwards"] = True
    return Layer("Bidirectional", {"merge_mode": merge_mode, "layer": forward,
                                   "backward_layer": backward}, name=name)


def time_distributed(layer: Layer, name=None) -> Layer:
    return Layer("TimeDistributed", {"layer": copy.deepcopy(layer)}, name=name)


def embedding(input_dim: int, output_dim: int, name=None, mask_zero=False) -> Layer:
    return Layer("Embedding", {"input_dim": input_dim, "output_dim": output_dim,
                               "mask_zero": mask_zero}, name=name)


def repeat_vector(n: int, name=None) -> Layer:
    return Layer("RepeatVector", {"n": n}, name=name)


def concatenate(axis: int = -1, name=None) -> Layer:
    return Layer("Concatenate", {"axis": axis}, name=name)


def add(name=None) -> Layer:
    return Layer("Add", {}, name=name)


def lambda_layer(output_shape: Sequence | None = None, name=None) -> Layer:
    """A Lambda whose code is a (meaningless) marshalled blob: never to be run.

    `output_shape` (no batch) is what the file records for the tensor it produces."""
    conf = {"function": {"class_name": "__lambda__",
                         "config": {"code": "4wEAAAAAAAAAAAAAAAEAAAADAAAA8wgAAACXAHwAZAF6BQAAUwApAk7p",
                                    "defaults": None, "closure": None}},
            "arguments": {}, "output_shape": None if output_shape is None else list(output_shape)}
    return Layer("Lambda", conf, name=name, out_shape=output_shape)


def custom_layer(class_name: str, module: str, name=None, output_shape: Sequence | None = None,
                 **config) -> Layer:
    """A user's own layer class: only its name and module are known to a reader."""
    package = module.split(".")[0]
    return Layer(class_name, dict(config), module=module, name=name,
                 registered_name=f"{package}>{class_name}", out_shape=output_shape)


# ---------------------------------------------------------------------------------
# tf.keras 2.x layout


def legacy(model: dict, *, input_on_first_layer: bool = False) -> dict:
    """The same model in the tf.keras 2.x layout.

    `input_on_first_layer`: for a Sequential, drop the InputLayer and give the first layer
    `batch_input_shape`, as old Keras saved it.
    """
    out = _legacy(copy.deepcopy(dict(model)))
    if input_on_first_layer:
        layers = out["config"]["layers"]
        if layers and layers[0]["class_name"] == "InputLayer":
            shape = layers.pop(0)["config"]["batch_input_shape"]
            layers[0]["config"]["batch_input_shape"] = shape
    return out


def _legacy(item: Any) -> Any:
    if isinstance(item, list):
        return [_legacy(v) for v in item]
    if not isinstance(item, dict):
        return item
    out = {k: _legacy(v) for k, v in item.items()
           if k not in ("module", "registered_name", "build_config")}
    conf = out.get("config")
    if out.get("class_name") == "InputLayer" and isinstance(conf, dict):
        conf["batch_input_shape"] = conf.pop("batch_shape", None)
    if isinstance(conf, dict):
        conf.pop("build_input_shape", None)
        for key in ("input_layers", "output_layers"):
            refs = conf.get(key)
            if isinstance(refs, list) and refs and isinstance(refs[0], str):
                conf[key] = [refs]
    if "inbound_nodes" in item:
        out["inbound_nodes"] = [_legacy_node(node) for node in item["inbound_nodes"]]
    return out


def _legacy_node(node: dict) -> list:
    refs = []
    stack = [node.get("args", [])]
    while stack:
        value = stack.pop(0)
        if isinstance(value, dict) and value.get("class_name") == "__keras_tensor__":
            name, node_index, index = value["config"]["keras_history"]
            refs.append([name, node_index, index, {}])
        elif isinstance(value, list):
            stack[0:0] = value
    return refs
