"""Keras model config (dict) -> ModelGraph, without Keras.

Reads both layouts: Keras 3 (`module`/`class_name`/`registered_name`, inbound nodes as
`{"args": [__keras_tensor__ ...]}`) and tf.keras 2.x (`batch_input_shape`, inbound nodes
as `[[name, node_index, tensor_index, kwargs]]`). Class names are looked up in the tables
below and nothing else: a config never leads to an import or to running code. Unknown
and Lambda layers become opaque nodes.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

from ..graph import Location, ModelGraph, Node
from .errors import LoadError, NotAModelError

MODEL_CLASSES = {"Sequential", "Functional", "Model"}

_RANKED = {
    # class name -> (kind, spatial rank)
    **{f"Conv{r}D": ("conv", r) for r in (1, 2, 3)},
    **{f"Convolution{r}D": ("conv", r) for r in (1, 2, 3)},
    **{f"SeparableConv{r}D": ("conv", r) for r in (1, 2)},
    **{f"SeparableConvolution{r}D": ("conv", r) for r in (1, 2)},
    **{f"DepthwiseConv{r}D": ("conv", r) for r in (1, 2)},
    **{f"Conv{r}DTranspose": ("conv", r) for r in (1, 2, 3)},
    **{f"Convolution{r}DTranspose": ("conv", r) for r in (1, 2, 3)},
    **{f"{p}{r}D": ("pool", r) for r in (1, 2, 3)
       for p in ("MaxPooling", "AveragePooling", "MaxPool", "AvgPool")},
    **{f"{p}{r}D": ("global_pool", r) for r in (1, 2, 3)
       for p in ("GlobalAveragePooling", "GlobalMaxPooling", "GlobalAvgPool", "GlobalMaxPool")},
    **{f"{p}{r}D": ("resize", r) for r in (1, 2, 3)
       for p in ("UpSampling", "ZeroPadding", "Cropping")},
    **{f"ConvLSTM{r}D": ("conv_recurrent", r) for r in (1, 2, 3)},
}

_SIMPLE = {
    "InputLayer": "input",
    "Flatten": "flatten",
    "Reshape": "reshape",
    "Permute": "permute",
    "Dense": "dense",
    "LSTM": "recurrent", "GRU": "recurrent", "SimpleRNN": "recurrent",
    "CuDNNLSTM": "recurrent", "CuDNNGRU": "recurrent",
    "Embedding": "embedding",
    "RepeatVector": "repeat",
    "Concatenate": "concat",
    **{k: "merge" for k in ("Add", "Multiply", "Average", "Maximum", "Minimum", "Subtract")},
    **{k: "dropout" for k in ("Dropout", "SpatialDropout1D", "SpatialDropout2D",
                              "SpatialDropout3D", "GaussianDropout", "AlphaDropout",
                              "GaussianNoise")},
    **{k: "norm" for k in ("BatchNormalization", "LayerNormalization", "GroupNormalization",
                           "UnitNormalization", "SyncBatchNormalization")},
    **{k: "activation" for k in ("Activation", "ReLU", "LeakyReLU", "PReLU", "ELU",
                                 "Softmax", "ThresholdedReLU")},
    **{k: "identity" for k in ("Masking", "Rescaling", "Normalization",
                               "ActivityRegularization", "Identity")},
}

_REGULARIZER_KEYS = ("kernel_regularizer", "bias_regularizer", "activity_regularizer",
                     "recurrent_regularizer", "depthwise_regularizer", "pointwise_regularizer")

_CELL_CLASSES = {"LSTMCell": "LSTM", "GRUCell": "GRU", "SimpleRNNCell": "SimpleRNN"}


_WRAPPERS = {"TimeDistributed", "Bidirectional", "RNN"}


def is_builtin_layer(class_name: str) -> bool:
    """A Keras layer class this linter knows by name (and so may be rebuilt by name)."""
    return class_name in _RANKED or class_name in _SIMPLE or class_name in _WRAPPERS \
        or class_name in _CELL_CLASSES


def _int(value: Any) -> int | None:
    """An integer attribute, or None: configs are data and may hold anything."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _rate(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def _tuple(value: Any, rank: int) -> list[int] | None:
    if _int(value) is not None:
        return [value] * rank
    if isinstance(value, (list, tuple)) and value and all(_int(v) is not None for v in value):
        return list(value)
    return None


def _ints(value: Any) -> list[int] | None:
    if isinstance(value, (list, tuple)) and all(_int(v) is not None for v in value):
        return list(value)
    return None


def _pad_total(value: Any, rank: int) -> list[int]:
    """Total ZeroPadding/Cropping per axis: an int, (begin, end), or one entry per axis."""
    if isinstance(value, int):
        return [2 * value] * rank
    if rank == 1:
        return [sum(value)]
    return [2 * v if isinstance(v, int) else sum(v) for v in value]


def _shape(value: Any) -> tuple | None:
    if isinstance(value, (list, tuple)) and all(v is None or isinstance(v, int) for v in value):
        return tuple(value)
    return None


def canonical(class_name: str, conf: dict) -> tuple[str, dict]:
    """The canonical kind and framework-neutral attributes of a Keras layer."""
    attrs: dict[str, Any] = {}
    if any(conf.get(k) for k in _REGULARIZER_KEYS):
        attrs["regularized"] = True
    if class_name in _RANKED:
        kind, rank = _RANKED[class_name]
        attrs["rank"] = rank
        attrs["channels_first"] = conf.get("data_format") == "channels_first"
        if kind in ("conv", "conv_recurrent"):
            attrs.update(filters=_int(conf.get("filters")), kernel=_tuple(conf.get("kernel_size"), rank),
                         strides=_tuple(conf.get("strides"), rank),
                         dilation=_tuple(conf.get("dilation_rate"), rank),
                         padding=str(conf.get("padding", "valid")).lower(),
                         transpose=class_name.endswith("Transpose"),
                         output_padding=_tuple(conf.get("output_padding"), rank),
                         depth_multiplier=_int(conf.get("depth_multiplier", 1)) or 1)
        if kind == "pool":
            attrs.update(kernel=_tuple(conf.get("pool_size"), rank),
                         strides=_tuple(conf.get("strides"), rank),
                         padding=str(conf.get("padding", "valid")).lower())
        if kind == "global_pool":
            attrs["keepdims"] = bool(conf.get("keepdims", False))
        if kind == "resize":
            if class_name.startswith("UpSampling"):
                attrs["scale"] = _tuple(conf.get("size", 2), rank)
            elif class_name.startswith("ZeroPadding"):
                attrs["add"] = _pad_total(conf.get("padding", 1), rank)
            else:
                attrs["add"] = [-v for v in _pad_total(conf.get("cropping", 1), rank)]
        if kind == "conv_recurrent":
            attrs.update(_recurrent_attrs(class_name, conf))
        return kind, attrs
    kind = _SIMPLE.get(class_name, "opaque")
    if kind == "input":
        attrs["shape"] = _shape(conf.get("batch_shape") or conf.get("batch_input_shape"))
    elif kind == "reshape":
        attrs["target"] = _ints(conf.get("target_shape"))
    elif kind == "permute":
        attrs["dims"] = _ints(conf.get("dims")) or []
    elif kind == "dense":
        attrs["units"] = _int(conf.get("units"))
        attrs["activation"] = _activation(conf.get("activation"))
    elif kind == "recurrent":
        attrs.update(_recurrent_attrs(class_name, conf))
    elif kind == "embedding":
        attrs["units"] = _int(conf.get("output_dim"))
        attrs["vocab"] = _int(conf.get("input_dim"))
        attrs["mask_zero"] = conf.get("mask_zero") is True
    elif kind == "repeat":
        attrs["n"] = _int(conf.get("n"))
    elif kind == "concat":
        attrs["axis"] = _int(conf.get("axis", -1)) if _int(conf.get("axis", -1)) is not None else -1
    elif kind == "dropout":
        attrs["rate"] = _rate(conf.get("rate", conf.get("stddev", 0.0)))
    elif kind == "activation":
        attrs["activation"] = _activation(conf.get("activation")) if class_name == "Activation" \
            else class_name.lower()  # Softmax, ReLU, ...
        if attrs["activation"] in ("softmax", "log_softmax"):  # Activation: the last axis
            attrs["axis"] = _axis_list(conf.get("axis", -1)) if class_name == "Softmax" else [-1]
    elif kind == "flatten":
        attrs["channels_first"] = conf.get("data_format") == "channels_first"
    elif class_name == "Masking":
        value = conf.get("mask_value", 0.0)
        attrs["mask_value"] = value if isinstance(value, (int, float)) and not isinstance(value, bool) \
            else None
    return kind, attrs


# How a layer treats a Keras mask (its supports_masking / compute_mask, checked layer by
# layer in Keras 3.15 and tf.keras 2.21): "makes" one (Embedding(mask_zero=True),
# Masking), "carries" it on, "drops" it (no mask support: Keras 3 warns that the layer
# "will destroy the mask information" and layers downstream see none), "consumes" it
# (global pooling; a recurrent layer, which carries it on when it returns sequences),
# "merges" the masks of its inputs. None: not known — opaque and op layers, and the
# identity layers whose answer differs between Keras 3 (carries) and tf.keras 2 (drops):
# Rescaling, Normalization, Identity.
_MASK_BY_KIND = {
    "dense": "carries", "dropout": "carries", "norm": "carries", "activation": "carries",
    "conv": "drops", "pool": "drops", "flatten": "drops", "reshape": "drops",
    "permute": "drops", "resize": "drops", "repeat": "drops",
    "recurrent": "consumes", "conv_recurrent": "consumes", "global_pool": "consumes",
    "concat": "merges", "merge": "merges",
}


def mask_behaviour(kind: str, op: str, attrs: dict, per_step: int, op_layer: bool) -> str | None:
    """What a layer does with a mask on its input (see _MASK_BY_KIND)."""
    if op_layer or kind == "opaque":
        return None
    if kind == "embedding":
        return "makes" if attrs.get("mask_zero") else "drops"
    if kind == "identity":
        return {"Masking": "makes", "ActivityRegularization": "carries"}.get(op)
    if per_step and _MASK_BY_KIND.get(kind) != "consumes":
        # TimeDistributed supports masking whatever it wraps (tf.keras 2 refuses to build
        # a non-masking layer under it when a mask arrives, so a saved one carries)
        return "carries"
    return _MASK_BY_KIND.get(kind)


def _activation(value: Any) -> str:
    """An activation's name: a string, or a serialised activation object."""
    if isinstance(value, dict):
        value = (value.get("config") or {}).get("name") if isinstance(value.get("config"), dict) \
            else value.get("class_name")
    return str(value) if isinstance(value, str) and value else "linear"


def _recurrent_attrs(class_name: str, conf: dict) -> dict:
    return {
        "cell": class_name.replace("CuDNN", ""),
        "units": _int(conf.get("units", conf.get("filters"))),
        "return_sequences": bool(conf.get("return_sequences", False)),
        "return_state": bool(conf.get("return_state", False)),
        "time_major": bool(conf.get("time_major", False)),
        "dropout": _rate(conf.get("dropout")),
        "recurrent_dropout": _rate(conf.get("recurrent_dropout")),
        # the cell's activation (candidate and output) and its gates' (CL011)
        "activation": _activation(conf.get("activation", "tanh")),
        "recurrent_activation": _activation(conf.get("recurrent_activation", "sigmoid")),
    }


# ---------------------------------------------------------------------------------
# Op layers: a `keras.ops.*` call in a Keras 3 functional model is saved as a layer whose
# module is `keras.src.ops.<area>`; a `tf.*` call or a slice in a tf.keras 2 model as a
# `TFOpLambda` / `SlicingOpLambda` whose config names the function. They are read here as
# data, for a few shape ops only: the function they name is never imported or called, and
# any other function stays opaque.

_OP_KINDS = {
    **{name: "reshape" for name in ("keras.ops.reshape", "tf.reshape", "tf.compat.v1.reshape")},
    **{name: "transpose" for name in ("keras.ops.transpose", "tf.transpose",
                                      "tf.compat.v1.transpose")},
    **{name: "squeeze" for name in ("keras.ops.squeeze", "tf.squeeze", "tf.compat.v1.squeeze")},
    **{name: "unsqueeze" for name in ("keras.ops.expand_dims", "tf.expand_dims",
                                      "tf.compat.v1.expand_dims")},
    **{name: "concat" for name in ("keras.ops.concatenate", "tf.concat", "tf.compat.v1.concat")},
    **{name: "getitem" for name in ("keras.ops.get_item", "tf.__operators__.getitem")},
    # softmax over a saved axis (CL013 reads which axis it normalises over)
    **{name: "softmax" for name in ("keras.ops.softmax", "keras.ops.log_softmax",
                                    "tf.nn.softmax", "tf.nn.log_softmax", "tf.math.softmax",
                                    "tf.math.log_softmax", "tf.compat.v1.nn.softmax")},
    # every axis stays what it was (reversing a spatial axis or the steps leaves its
    # meaning; an activation is per element), whatever the arguments
    **{name: "identity" for name in ("keras.ops.flip", "tf.reverse", "tf.compat.v1.reverse",
                                     "tf.reverse_v2", "keras.ops.relu", "keras.ops.sigmoid",
                                     "keras.ops.tanh", "tf.nn.relu", "tf.math.sigmoid",
                                     "tf.math.tanh", "tf.nn.relu6")},
}

_TF_OP_CLASSES = {"TFOpLambda", "SlicingOpLambda"}
# Keras 3 op classes a module-less (.h5) config may hold -> an argument key their config has
_MODULELESS_OPS = {"Reshape": "newshape", "Transpose": "axes", "Squeeze": "axis",
                   "ExpandDims": "axis", "Concatenate": "axis", "GetItem": "name", "Flip": "axis",
                   "Softmax": "axis", "LogSoftmax": "axis"}


def _snake(name: str) -> str:
    import re

    return re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name).lower()


def op_layer_function(layer: dict) -> str | None:
    """The function an op layer stands for (`keras.ops.reshape`, `tf.reshape`), or None
    for an ordinary layer. Only strings are read; nothing is looked up."""
    cls, module = layer.get("class_name"), layer.get("module")
    conf = layer.get("config") if isinstance(layer.get("config"), dict) else {}
    if isinstance(module, str) and module.startswith(("keras.src.ops.", "keras.ops.")) \
            and isinstance(cls, str) and cls.isidentifier():
        return "keras.ops." + _snake(cls)
    if cls in _TF_OP_CLASSES and isinstance(conf.get("function"), str):
        return "tf." + conf["function"][:200]
    if module is None and cls in _MODULELESS_OPS and _MODULELESS_OPS[cls] in conf \
            and not {"trainable", "dtype", "target_shape", "dims"} & set(conf):
        # a Keras 3 legacy .h5 drops `module`: an op layer's config is its name and its
        # arguments only (a layer's has trainable/dtype), e.g. {"name", "newshape"}
        return "keras.ops." + _snake(cls)
    return None


def _dims(value: Any) -> list[int] | None:
    """A saved target shape: ints, with a dynamic entry (None, or a tensor the file refers
    to) read as -1 when it is the only unknown one (the product then fixes its value)."""
    if _int(value) is not None:
        value = [value]
    if not isinstance(value, (list, tuple)):
        return None
    dims = [v if _int(v) is not None else None for v in value]
    unknown = sum(1 for d in dims if d is None or d == -1)
    if unknown > 1:
        return None
    return [-1 if d is None else d for d in dims]


def _axis_list(value: Any) -> list[int] | None:
    if _int(value) is not None:
        return [value]
    return _ints(value) if isinstance(value, (list, tuple)) and value else None


def _slice_item(item: Any) -> tuple | None:
    """('index', i) or ('slice', start, stop, step) from a saved slice key item."""
    if _int(item) is not None:
        return ("index", item)
    if isinstance(item, dict):
        conf = item.get("config") if item.get("class_name") == "__slice__" else item
        if isinstance(conf, dict) and set(conf) <= {"start", "stop", "step"}:
            parts = [conf.get(k) for k in ("start", "stop", "step")]
            if all(p is None or _int(p) is not None for p in parts) and parts[2] != 0:
                return ("slice", *parts)
    return None


def _getitem(key: Any) -> tuple[str, dict] | str:
    """A basic slice key -> (kind, attrs); a reason string when it is not basic."""
    items = list(key) if isinstance(key, (list, tuple)) else [key]
    parsed = [_slice_item(item) for item in items]
    if not parsed or None in parsed:
        return "the key holds more than integers and slices"
    indices = [(axis, p[1]) for axis, p in enumerate(parsed) if p[0] == "index"]
    slices = [(axis, *p[1:]) for axis, p in enumerate(parsed)
              if p[0] == "slice" and p[1:] not in ((None, None, None), (None, None, 1))]
    if len(indices) == 1 and not slices:
        return "select", {"axis": indices[0][0], "index": indices[0][1]}
    if not indices and slices:
        return "slice", {"slices": [list(s) for s in slices]}
    if not indices and not slices:
        return "identity", {}
    return "the key mixes several indices or indices with slices"


def canonical_op(function: str, conf: dict, call: "_Call") -> tuple[str, dict]:
    """The canonical kind and attributes of an op layer, from its saved arguments."""
    kind = _OP_KINDS.get(function)
    if kind is None:
        return "opaque", {"op_reason": "not in its list"}
    keras3 = function.startswith("keras.ops.")
    args = conf if keras3 else call.kwargs

    def opaque(reason: str) -> tuple[str, dict]:
        return "opaque", {"op_reason": reason}

    if kind == "identity":
        return "identity", {}
    if kind == "softmax":
        name = "log_softmax" if "log_softmax" in function else "softmax"
        axis = args.get("axis", -1)
        if not keras3 and "axis" not in args and len(call.args) + len(call.raw_args) > 1:
            axis = None  # passed positionally: not read
        axes = _axis_list(axis) if axis is not None else None
        return "activation", {"activation": name, "axis": axes}
    if kind == "reshape":
        target = _dims(args.get("newshape", args.get("new_shape")) if keras3 else args.get("shape"))
        if target is None:
            return opaque("its target shape is not saved as data")
        return "reshape", {"target": target, "full": True}
    if kind == "transpose":
        perm = args.get("axes" if keras3 else "perm")
        if perm is not None and _ints(perm) is None:
            return opaque("its permutation is not saved as data")
        return "transpose", {"perm": _ints(perm) if perm is not None else None}
    if kind == "squeeze":
        axes = args.get("axis")
        if axes is not None and _axis_list(axes) is None:
            return opaque("its axes are not saved as data")
        return "squeeze", {"axes": _axis_list(axes) if axes is not None else None}
    if kind == "unsqueeze":
        axes = _axis_list(args.get("axis"))
        if axes is None:
            return opaque("its axis is not saved as data")
        return "unsqueeze", {"axes": axes}
    if kind == "concat":
        axis = _int(args.get("axis", 0 if keras3 else None))
        if axis is None:
            return opaque("its axis is not saved as data")
        return "concat", {"axis": axis}
    key = (call.raw_args[1] if len(call.raw_args) > 1 else None) if keras3 \
        else args.get("slice_spec")
    result = _getitem(key)
    if isinstance(result, str):
        return opaque(result)
    return result


def _rnn_cell(conf: dict) -> tuple[str, dict, dict]:
    """`RNN(cell)`: the recurrent layer its cell makes (op, merged config, extra attrs).

    `RNN(LSTMCell(...))` is an LSTM; `RNN(StackedRNNCells([...]))` a stack of cells run
    per step, read as one recurrent layer whose width is the last cell's, with the
    dropout and regularizers of any cell. An unknown cell class leaves op "RNN" (opaque).
    """
    cell = conf["cell"]
    rnn_conf = {k: v for k, v in conf.items() if k != "cell"}
    cells = [cell]
    extra: dict[str, Any] = {}
    cell_conf = cell.get("config") if isinstance(cell.get("config"), dict) else {}
    if cell.get("class_name") == "StackedRNNCells" and isinstance(cell_conf.get("cells"), list):
        cells = [c for c in cell_conf["cells"] if isinstance(c, dict)]
        if not cells or len(cells) != len(cell_conf["cells"]):
            return "RNN", conf, {}
        extra["stacked_cells"] = len(cells)
    ops = [_CELL_CLASSES.get(str(c.get("class_name"))) for c in cells]
    if None in ops:
        return "RNN", conf, {}
    confs = [c.get("config") if isinstance(c.get("config"), dict) else {} for c in cells]
    merged = {**confs[-1], **rnn_conf}
    merged["dropout"] = max(_rate(c.get("dropout")) for c in confs)
    merged["recurrent_dropout"] = max(_rate(c.get("recurrent_dropout")) for c in confs)
    if any(c.get(k) for c in confs for k in _REGULARIZER_KEYS):
        extra["regularized"] = True
    if len(cells) > 1:
        extra["cells"] = ops
        extra["cell_activations"] = [_activation(c.get("activation", "tanh")) for c in confs]
    return ops[-1], merged, extra


# Modules whose names in a config are gadgets: load_model would import and call into them.
_GADGET_MODULES = {"os", "posix", "nt", "subprocess", "sys", "builtins", "__builtin__", "shutil",
                   "importlib", "pickle", "marshal", "socket", "ctypes", "runpy", "code", "pty",
                   "eval", "exec", "io", "pathlib", "tempfile", "urllib", "requests", "http"}


# tf.* functions a TFOpLambda can name (tf_keras resolves the name inside the `tf` API on
# load) that touch files or run Python: the saved model would do that on every call.
_TF_IO_PREFIXES = ("io.gfile.", "compat.v1.io.gfile.", "gfile.", "compat.v1.gfile.",
                   "saved_model.", "compat.v1.saved_model.", "summary.", "compat.v1.summary.")
_TF_IO_FUNCTIONS = {f"{ns}{name}" for ns in ("", "compat.v1.", "io.", "compat.v1.io.")
                    for name in ("read_file", "write_file", "matching_files")} | {
    "py_function", "numpy_function", "compat.v1.py_func", "compat.v1.py_function",
    "compat.v1.numpy_function", "train.load_variable", "train.load_checkpoint",
    "compat.v1.train.load_variable", "compat.v1.train.load_checkpoint"}
_TF_IO_RAW_OPS = ("File", "PyFunc", "Save", "Restore", "Matching", "Writer", "Reader")


def _tf_io_function(function: Any) -> bool:
    if not isinstance(function, str):
        return False
    if function.startswith("raw_ops."):
        return any(word in function for word in _TF_IO_RAW_OPS)
    return function in _TF_IO_FUNCTIONS or function.startswith(_TF_IO_PREFIXES)


def unsafe_content(obj: Any) -> tuple[list[str], list[str]]:
    """(what the config would make load_model import, unmarshal or load; custom classes).

    Walks all of `obj`, at any depth (iteratively): a Bidirectional's layers, an RNN's
    cells and the like are read here, with the layer that holds them. Callers leave out
    only the sub-layers that become nodes of their own (`_without`), which are scanned
    when they do. Nothing found here is imported or run: these are strings.
    """
    unsafe: list[str] = []
    custom: list[str] = []
    stack = [obj]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        cls, module = item.get("class_name"), item.get("module")
        conf = item.get("config")
        if cls == "__lambda__":
            unsafe.append("Lambda bytecode that keras.saving.load_model(safe_mode=False) would "
                          "unmarshal and run")
        elif item.get("function_type") == "lambda":
            unsafe.append("Lambda bytecode (tf.keras 2.x) that load_model would unmarshal and run")
        elif cls in _TF_OP_CLASSES and isinstance(conf, dict) \
                and _tf_io_function(conf.get("function")):
            unsafe.append(f"a TFOpLambda calling tf.{str(conf['function'])[:200]}, which reads or "
                          "writes files or runs Python when the model runs")
        elif cls == "TFSMLayer":
            where = conf.get("filepath") if isinstance(conf, dict) else None
            unsafe.append(f"a TFSMLayer that would load the TensorFlow SavedModel at {where!r}")
        elif isinstance(module, str) and not module.startswith("keras"):
            top = module.split(".")[0]
            if cls == "function" or top in _GADGET_MODULES:
                target = conf if isinstance(conf, str) else cls
                unsafe.append(f"a reference to Python function {module}.{target}, which load_model "
                              "would import and call")
            elif isinstance(cls, str):
                custom.append(f"{module}.{cls}")
        elif item.get("function_type") == "raw" and isinstance(item.get("module"), str):
            unsafe.append(f"a reference to Python function {item['module']}.{item.get('function')}")
        stack.extend(item.values())
    return unsafe, custom


def _without(layer: dict, key: str) -> dict:
    """`layer` without its config's `key` (a model's `layers`, TimeDistributed's `layer`):
    the sub-layers there become nodes, scanned as such; all else is the layer's own."""
    conf = layer.get("config")
    if isinstance(conf, list) and key == "layers":  # Keras 2.0 Sequential: the layer list
        return {k: v for k, v in layer.items() if k != "config"}
    if not isinstance(conf, dict):
        return layer
    return {**layer, "config": {k: v for k, v in conf.items() if k != key}}


class _Call:
    """One call of a layer: its input tensors (refs into `produced`) and recorded shapes."""

    def __init__(self, args: list[tuple[str, int, int, tuple | None]],
                 aux: list[tuple[str, int, int, tuple | None]], raw_args: Any = None,
                 kwargs: Any = None):
        self.args, self.aux = args, aux
        # the call's own arguments, as data (read only by op layers: a slice key, a shape)
        self.raw_args = raw_args if isinstance(raw_args, list) else []
        self.kwargs = kwargs if isinstance(kwargs, dict) else {}


def _calls(layer: dict) -> list[_Call]:
    calls = []
    for node in layer.get("inbound_nodes") or []:
        if isinstance(node, dict):  # Keras 3
            calls.append(_Call(_tensors(node.get("args", [])), _tensors(node.get("kwargs", {})),
                               node.get("args"), node.get("kwargs")))
        elif isinstance(node, list):  # tf.keras 2.x: [[name, node_index, tensor_index, kwargs]]
            if len(node) >= 3 and isinstance(node[0], str):  # a TFOpLambda of one tensor:
                node = [node]  # the node is its only entry, one level less nested
            entries = [t for t in node if isinstance(t, list) and len(t) >= 3]
            refs = [(str(t[0]), int(t[1]), int(t[2]), None) for t in entries]
            # TFOpLambda / SlicingOpLambda: the op's other arguments, in the first entry
            kwargs = entries[0][3] if entries and len(entries[0]) > 3 else None
            calls.append(_Call(refs, [], None, kwargs))
    return calls


def _has_own_node(layer: dict, legacy: bool) -> bool:
    """A nested model built on its own Input starts with a node of its own (linking its
    inputs to its outputs) that the outer config does not save. tf.keras 2: a Functional,
    or a Sequential whose first layer is an InputLayer; Keras 3: a Functional only (its
    Sequential is no Functional subclass)."""
    if not _is_model(layer):
        return False
    if layer.get("class_name") in ("Functional", "Model"):
        return True
    conf = layer.get("config")
    first = conf.get("layers")[0] if legacy and isinstance(conf, dict) \
        and isinstance(conf.get("layers"), list) and conf["layers"] else None
    return isinstance(first, dict) and first.get("class_name") == "InputLayer"


def _first_node(layer: dict, legacy: bool) -> int:
    """The node index by which a config's inbound nodes refer to a layer's first saved
    call. That unsaved own node of a nested model still counts in tf.keras 2 configs
    (`["backbone", 1, 0]` is its first call); Keras 3 drops it from inbound-node
    references (0-based) but keeps it in `input_layers`/`output_layers`."""
    return 1 if legacy and _has_own_node(layer, legacy) else 0


def _tensors(value: Any) -> list[tuple[str, int, int, tuple | None]]:
    """Every __keras_tensor__ in a nested args structure, in order (iteratively)."""
    found = []
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("class_name") == "__keras_tensor__":
                conf = item.get("config") or {}
                hist = conf.get("keras_history") or []
                if len(hist) >= 3:
                    found.append((str(hist[0]), int(hist[1]), int(hist[2]), _shape(conf.get("shape"))))
            else:
                stack.extend(reversed(list(item.values())))
        elif isinstance(item, (list, tuple)):
            stack.extend(reversed(item))
    return found


def _refs(spec: Any) -> list[tuple[str, int, int]]:
    """input_layers / output_layers: one [name, node, index] or a list / dict of them."""
    if isinstance(spec, dict):
        spec = list(spec.values())
    if isinstance(spec, list) and spec and isinstance(spec[0], str):
        spec = [spec]
    return [(str(s[0]), int(s[1]), int(s[2])) for s in spec or [] if isinstance(s, list) and len(s) >= 3]


def _recorded_input(layer: dict) -> list[tuple | None]:
    shape = (layer.get("build_config") or {}).get("input_shape")
    if isinstance(shape, list) and shape and isinstance(shape[0], list):
        return [_shape(s) for s in shape]
    if isinstance(shape, dict):
        return [_shape(s) for s in shape.values()]
    return [_shape(shape)]


def _is_model(layer: dict) -> bool:
    conf = layer.get("config")
    return layer.get("class_name") in MODEL_CLASSES or (isinstance(conf, dict) and "layers" in conf)


Ref = tuple[str, int]


class KerasGraphBuilder:
    def __init__(self, file: str):
        self.graph = ModelGraph(file, "keras")
        self.file = file
        self._reported: list[str] = []  # every unsafe finding so far, wherever reported

    def build(self, config: dict) -> ModelGraph:
        if not isinstance(config, dict) or not _is_model(config):
            raise NotAModelError("not a Keras model config (no Sequential/Functional model with layers)")
        self.graph.outputs = self.model(config, "", (), 0, None, "")
        # A safety net: whatever the whole config holds that no place above reported (a
        # place this builder never looks at) is reported on the model.
        missed = Counter(unsafe_content(config)[0]) - Counter(self._reported)
        self.graph.meta.setdefault("unsafe", []).extend(("<model>", u) for u in missed.elements())
        if isinstance(config.get("compile_config"), dict):
            self.graph.meta["compile_config"] = config["compile_config"]
        if not self.graph.inputs:
            raise LoadError("the model config has no inputs")
        return self.graph

    # -- models -------------------------------------------------------------------
    def model(self, layer: dict, prefix: str, scope: tuple, per_step: int,
              inputs: list[Ref] | None, pointer: str) -> list[Ref]:
        conf = layer.get("config")
        if isinstance(conf, list):  # Keras 2.0 Sequential: the config is the layer list
            conf = {"layers": conf}
        if not isinstance(conf, dict) or not isinstance(conf.get("layers"), list):
            raise LoadError(f"model {layer.get('class_name')!r} has no layer list")
        self.scan(_without(layer, "layers"), None, prefix.rstrip("/") or "<model>")
        pointer = f"{pointer}/config"
        if "input_layers" in conf or any("inbound_nodes" in l for l in conf["layers"] if isinstance(l, dict)):
            return self.functional(conf, prefix, scope, per_step, inputs, pointer)
        return self.sequential(layer, conf, prefix, scope, per_step, inputs, pointer)

    def sequential(self, layer: dict, conf: dict, prefix: str, scope: tuple, per_step: int,
                   inputs: list[Ref] | None, pointer: str) -> list[Ref]:
        ref = inputs[0] if inputs else None
        shape = _shape(conf.get("build_input_shape")) or _shape((layer.get("build_config") or {}).get("input_shape"))
        for i, item in enumerate(conf["layers"]):
            if not isinstance(item, dict):
                raise LoadError(f"layer {i} of a Sequential model is not an object")
            item_conf = item.get("config") if isinstance(item.get("config"), dict) else {}
            if item.get("class_name") == "InputLayer":
                if ref is None:
                    ref = self.input_node(item, prefix, scope, f"{pointer}/layers/{i}")
                else:  # no node, but load_model still reads it
                    self.scan(item, None, prefix + self.name(item))
                continue
            if ref is None:
                first = _shape(item_conf.get("batch_input_shape") or item_conf.get("batch_shape"))
                first = first or shape or _recorded_input(item)[0]
                ref = self.input_node({"class_name": "InputLayer", "config": {
                    "name": "input", "batch_shape": first}}, prefix, scope, f"{pointer}/layers/{i}")
            recorded = _recorded_input(item) if not _is_model(item) else [None]
            refs = self.layer(item, prefix, scope, per_step, [ref], recorded[:1], [], 0,
                              f"{pointer}/layers/{i}")
            if not refs:
                raise LoadError(f"layer {self.name(item)!r} produced no output")
            ref = refs[0]
        if ref is None:
            raise LoadError("a Sequential model has no layers")
        return [ref]

    def functional(self, conf: dict, prefix: str, scope: tuple, per_step: int,
                   inputs: list[Ref] | None, pointer: str) -> list[Ref]:
        layers = [l for l in conf["layers"] if isinstance(l, dict)]
        input_names = [name for name, _, _ in _refs(conf.get("input_layers"))]
        produced: dict[tuple[str, int], list[Ref]] = {}
        pending = []
        legacy = any(isinstance(n, list) for l in layers for n in l.get("inbound_nodes") or [])
        first_node = {}  # layer name -> the node index its first saved call is referred to by
        for i, layer in enumerate(layers):
            name, at = self.name(layer), f"{pointer}/layers/{i}"
            if layer.get("class_name") == "InputLayer":
                if inputs is not None and name in input_names and input_names.index(name) < len(inputs):
                    produced[(name, 0)] = [inputs[input_names.index(name)]]
                    self.scan(layer, None, prefix + name)  # fed from outside: no node
                else:
                    produced[(name, 0)] = [self.input_node(layer, prefix, scope, at)]
                continue
            calls = _calls(layer)
            if not calls:  # never called, so no node, but load_model still builds it
                self.scan(layer, None, prefix + name)
            first_node[name] = _first_node(layer, legacy)
            pending += [(layer, k, call, at) for k, call in enumerate(calls)]
        # Configs list layers in call order, but any order must work, in linear time: each
        # call waits for the calls it reads; the lowest ready index goes first (file order).
        import heapq

        missing_count, dependents, ready = [], defaultdict(list), []
        for index, (_, _, call, _) in enumerate(pending):
            needed = {(n, ni) for n, ni, _, _ in call.args + call.aux} - produced.keys()
            missing_count.append(len(needed))
            for key in needed:
                dependents[key].append(index)
            if not needed:
                ready.append(index)
        heapq.heapify(ready)
        done = 0
        while ready:
            layer, k, call, at = pending[heapq.heappop(ready)]
            args = [produced[(n, ni)][ti] for n, ni, ti, _ in call.args
                    if ti < len(produced[(n, ni)])]
            aux = [produced[(n, ni)][ti] for n, ni, ti, _ in call.aux
                   if ti < len(produced[(n, ni)])]
            recorded = [rec for _, _, _, rec in call.args]
            key = (self.name(layer), first_node[self.name(layer)] + k)
            if key in produced:
                raise LoadError(f"layer {key[0]!r} is defined twice")
            produced[key] = self.layer(layer, prefix, scope, per_step, args, recorded, aux, k, at,
                                       op_call=call)
            done += 1
            for waiting in dependents.pop(key, []):
                missing_count[waiting] -= 1
                if missing_count[waiting] == 0:
                    heapq.heappush(ready, waiting)
        if done < len(pending):
            stuck = [pending[i] for i, left in enumerate(missing_count) if left]
            names = {self.name(l) for l in layers}
            wanted = {n for _, _, c, _ in stuck for n, _, _, _ in c.args + c.aux}
            if wanted - names:
                raise LoadError(f"layer inputs never defined: {', '.join(sorted(wanted - names)[:5])}")
            raise LoadError("layer connections form a cycle or a missing call: "
                            f"{', '.join(sorted({self.name(l) for l, _, _, _ in stuck})[:5])}")
        outputs = []
        by_name = {self.name(l): l for l in layers}
        for name, ni, ti in _refs(conf.get("output_layers")):
            if not legacy and _has_own_node(by_name.get(name, {}), legacy):
                ni -= 1  # Keras 3 counts a nested model's own node here only (see _first_node)
            if (name, ni) not in produced or ti >= len(produced[(name, ni)]):
                raise LoadError(f"model output {name!r} is not produced by any layer")
            outputs.append(produced[(name, ni)][ti])
        return outputs

    # -- layers -------------------------------------------------------------------
    @staticmethod
    def name(layer: dict) -> str:
        conf = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        return str(layer.get("name") or conf.get("name") or layer.get("class_name") or "layer")

    def input_node(self, layer: dict, prefix: str, scope: tuple, pointer: str) -> Ref:
        conf = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        kind, attrs = canonical("InputLayer", conf)
        attrs["dtype"] = conf.get("dtype") if isinstance(conf.get("dtype"), str) else "float32"
        node = self.add(prefix + self.name(layer), kind, "InputLayer", attrs, scope, 0, pointer)
        self.scan(layer, node, node.id)
        self.graph.inputs.append(node.id)
        return (node.id, 0)

    def add(self, node_id: str, kind: str, op: str, attrs: dict, scope: tuple, per_step: int,
            pointer: str) -> Node:
        node_id = self.graph.free_id(node_id)  # a name reused (or no name): base~1, base~2, ...
        node = Node(node_id, kind, op, attrs, Location(self.file, node_id, pointer), scope, per_step)
        return self.graph.add_node(node)

    def layer(self, layer: dict, prefix: str, scope: tuple, per_step: int, args: list[Ref],
              recorded: list, aux: list[Ref], call: int, pointer: str,
              op_call: _Call | None = None) -> list[Ref]:
        class_name = str(layer.get("class_name"))
        conf = layer.get("config") if isinstance(layer.get("config"), dict) else {}
        node_id = prefix + self.name(layer) + (f"#{call}" if call else "")
        if _is_model(layer):
            return self.model(layer, node_id + "/", scope + (node_id,), per_step, args, pointer)
        if class_name == "TimeDistributed" and isinstance(conf.get("layer"), dict):
            inner = conf["layer"]
            inner_rec = [None if r is None else (r[0],) + r[2:] for r in recorded]
            refs = self.layer(inner, node_id + "/", scope + (node_id,), per_step + 1, args,
                              inner_rec, aux, 0, pointer + "/config/layer")
            # The wrapper's own config is reported on the node it wraps, if it made one.
            wrapped = self.graph.node(refs[0][0]) if refs else None
            self.scan(_without(layer, "layer"), wrapped if wrapped and node_id in wrapped.scope
                      else None, node_id)
            return refs
        op, attrs_conf = class_name, conf
        extra: dict[str, Any] = {}
        if class_name == "Bidirectional" and isinstance(conf.get("layer"), dict):
            inner = conf["layer"]
            op = str(inner.get("class_name"))
            attrs_conf = inner.get("config") if isinstance(inner.get("config"), dict) else {}
            extra = {"bidirectional": True, "merge_mode": conf.get("merge_mode", "concat")}
        if op == "RNN" and isinstance(attrs_conf.get("cell"), dict):
            op, attrs_conf, stacked = _rnn_cell(attrs_conf)
            extra.update(stacked)
        op_layer = op_layer_function(layer)
        if op_layer is not None:  # keras.ops / tf.* call saved as a layer: read as data
            op = op_layer
            kind, attrs = canonical_op(op_layer, conf, op_call or _Call([], []))
        else:
            kind, attrs = canonical(op, attrs_conf)
        attrs.update(extra)
        attrs["mask"] = mask_behaviour(kind, op, attrs, per_step, op_layer is not None)
        attrs["keras_layer"] = layer  # the layer's own config, for the probe to rebuild it
        if kind == "opaque":
            attrs["module"] = layer.get("module")
        if kind == "input":  # an InputLayer reached as a plain layer: pass through
            self.scan(layer, None, node_id)
            return args[:1]
        node = self.add(node_id, kind, op, attrs, scope, per_step, pointer)
        self.scan(layer, node, node_id)  # all of it: wrapped layers and cells make no nodes
        if kind == "opaque":
            what = "Lambda layer: its code is not run" if op == "Lambda" else \
                f"op layer {op!r} is not one of the shape ops this linter reads " \
                f"({attrs.pop('op_reason', 'not in its list')}); its function is never " \
                "imported or called" if op_layer is not None else \
                f"layer class {op!r} is not a built-in Keras layer this linter knows"
            node.notes.append(what + "; shapes after it come only from what the file records")
        for slot, ref in enumerate(args):
            rec = recorded[slot] if slot < len(recorded) else None
            self.graph.connect(ref[0], ref[1], node.id, slot, recorded=self._same_frame(ref, node, rec))
        for slot, ref in enumerate(aux, start=len(args)):
            self.graph.connect(ref[0], ref[1], node.id, slot, aux=True)
        outputs = 1
        if kind == "recurrent" and attrs.get("return_state"):
            per_direction = sum(2 if c == "LSTM" else 1 for c in attrs.get("cells") or [attrs.get("cell")])
            outputs += per_direction * (2 if attrs.get("bidirectional") else 1)
        if attrs.get("bidirectional") and attrs.get("merge_mode", "concat") is None:
            outputs += 1
        self.graph.tensor(node.id, outputs - 1)
        return [(node.id, i) for i in range(outputs)]

    def scan(self, obj: Any, node: Node | None, where: str) -> None:
        """CL900 for what `obj` holds: on `node`, or (no node stands for it) on the graph
        under the layer's path `where` ("<model>" for the model's own config)."""
        unsafe, custom = unsafe_content(obj)
        self._reported.extend(unsafe)
        if node is not None:
            if unsafe:
                node.attrs.setdefault("unsafe", []).extend(unsafe)
            node.notes.extend(f"custom class {name}: kept as data, never imported" for name in custom)
            return
        self.graph.meta.setdefault("unsafe", []).extend(
            (where, u if where == "<model>" else f"holds {u}") for u in unsafe)
        self.graph.notes.extend(f"custom class {name} in {where}: kept as data, never imported"
                                for name in custom)

    def _same_frame(self, ref: Ref, consumer: Node, shape: tuple | None) -> tuple | None:
        """A consumer's recorded input shape, in the producer's own (per-step) frame."""
        if shape is None:
            return None
        extra = consumer.per_step - self.graph.node(ref[0]).per_step
        if extra == 0:
            return shape
        if extra < 0 and len(shape) > -extra:  # consumer outside the TimeDistributed scope
            return (shape[0],) + shape[1 - extra:]
        return None


def graph_from_config(config: dict, file: str) -> ModelGraph:
    return KerasGraphBuilder(file).build(config)
