"""torch.export archives (`.pt2`) -> ModelGraph, without torch and without unpickling.

`torch.export.save` writes a zip whose members sit under one root folder (the file's
stem): `<root>/models/<name>.json` is the exported program's graph as JSON (nodes with
their aten op, named arguments, output tensors and `nn_module_stack`; every tensor's
sizes, ints or symbolic expressions), next to raw weight bytes, configs naming them,
and `data/sample_inputs/<name>.pt`, a torch.save pickle of the example inputs. Only the
graph JSON and the two small weight/constant configs are parsed; the weights are never
read and no pickle is ever loaded. What `torch.export.load` *would* unpickle with
`weights_only=False` (tensor-subclass weights, custom objects, sample inputs naming
globals that torch's safe unpickler refuses) or load as native code (AOTInductor
libraries) is reported as unsafe content (CL900), judged from configs, member names and
the pickle's opcodes alone.

Each aten op becomes the canonical node the ONNX front end makes of the matching ONNX
op (`aten.conv2d` as `Conv`, `aten.reshape` as `Reshape`, `aten.permute` as
`Transpose`, ...), so axes.py and every rule read it the same. Run-time sizes (a
dynamic batch) arrive as SymInts computed by `aten.sym_size.int` and `operator.mul`;
they are compiled into ShapeExprs as the ONNX front end compiles `Shape -> Gather`.
An `aten.lstm/gru` is one recurrent node with ONNX's outputs, followed by the
transpose/reshape that turns them into what aten returns (`output (N, T, D*H)`, `h_n
(D*L, N, H)`), as PyTorch's ONNX exporter writes them.
"""

from __future__ import annotations

import io
import posixpath
import re
import stat
import zipfile

from ..axis_types import MAX_SIZE
from ..graph import Location, ModelGraph, Node
from ..shape_expr import MAX_SHAPE_RANK, UNKNOWN, ShapeExpr, const_step
from .errors import LoadError
from .frames import common_frames
from .keras_file import (MAX_CONFIG_BYTES, _check_members, _Inflated, _open_zip,
                         _OverBudget, parse_json, zip_errors)

MAX_SYM_DEPTH = 64  # nested SymInt arithmetic in one size (an exporter's are shallow)
MAX_SYM_NODES = 256  # SymInt values walked for one shape argument
MAX_PICKLE_BYTES = 16 * 1024**2  # the sample inputs' pickle stream (tensors are separate)
MAX_PICKLE_OPS = 1_000_000
MAX_FRAME_CHAIN = 64  # nodes walked back from a joined frame to the piece it was cut from
_NATIVE = (".so", ".dll", ".dylib", ".pyd")

# -- aten ops by canonical kind ----------------------------------------------------------

_ACTIVATIONS = {"relu", "relu_", "relu6", "leaky_relu", "leaky_relu_", "prelu", "_prelu_kernel",
                "rrelu", "sigmoid", "sigmoid_", "tanh", "tanh_", "elu", "elu_", "selu", "celu",
                "gelu", "silu", "silu_", "mish", "softplus", "softsign", "hardtanh", "hardtanh_",
                "hardsigmoid", "hardswish", "hardshrink", "softshrink", "tanhshrink", "exp",
                "log", "sqrt", "rsqrt", "neg", "abs", "clamp", "clamp_min", "clamp_max", "clip",
                "reciprocal", "sign", "round", "floor", "ceil", "erf", "logical_not", "square",
                "threshold", "glu", "logsigmoid", "log_sigmoid", "sin", "cos", "pow"}
_NORMS = {"batch_norm", "_native_batch_norm_legit_no_training", "_native_batch_norm_legit",
          "native_batch_norm", "_batch_norm_with_update", "_batch_norm_no_update",
          "layer_norm", "native_layer_norm", "group_norm", "native_group_norm",
          "instance_norm", "rms_norm", "_fused_rms_norm", "local_response_norm"}
_ELEMENTWISE = {"add", "add_", "sub", "sub_", "mul", "mul_", "div", "div_", "maximum",
                "minimum", "where", "remainder", "fmod", "eq", "ne", "lt", "gt", "le", "ge",
                "logical_and", "logical_or", "logical_xor", "bitwise_and", "bitwise_or",
                "masked_fill", "masked_fill_", "rsub", "true_divide", "floor_divide",
                "addcmul", "addcdiv", "lerp", "hypot", "atan2", "copysign", "xlogy"}
# ops whose output has the input's axes with the same meaning (flip reverses the steps
# along an axis: still that axis, as ONNX's ReverseSequence)
_KEEPS_AXES = {"clone", "contiguous", "alias", "detach", "detach_", "_to_copy", "to",
               "type_as", "lift_fresh_copy", "flip", "dropout_", "zero_", "fill_",
               "nan_to_num", "expand_as", "_assert_tensor_metadata", "copy", "copy_",
               "float", "half", "double", "int", "long", "bool", "_conj", "roll"}
_RESHAPES = {"view", "reshape", "_unsafe_view", "view_copy", "_reshape_alias", "reshape_as",
             "view_as"}
_REDUCES = {"mean", "sum", "amax", "amin", "prod", "max", "min", "logsumexp", "std", "var",
            "norm", "linalg_vector_norm", "nansum", "nanmean", "any", "all"}
_DROPOUTS = {"dropout", "native_dropout", "feature_dropout", "alpha_dropout",
             "feature_alpha_dropout"}
_RECURRENT = {"lstm": "LSTM", "gru": "GRU", "rnn_tanh": "SimpleRNN", "rnn_relu": "SimpleRNN"}
# tensor-free ops on SymInts that the serialiser writes as Python operators
_SYM_ARITH = {"_operator.mul": "mul", "_operator.add": "add", "_operator.sub": "sub",
              "_operator.floordiv": "div", "torch.sym_int": None, "torch.sym_ite": None}
_UNKNOWN = object()  # an argument value of a type the schema does not have here


class _T(str):
    """A tensor argument: the tensor's name."""


class _S(str):
    """A SymInt argument: the name of the value."""


class _Unreadable(Exception):
    """An op's arguments are not what its schema says: the op becomes opaque."""


# -- reading the archive -----------------------------------------------------------------

def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int, what: str,
                 inflated: _Inflated) -> bytes:
    if info.file_size > limit:
        raise LoadError(f"{what} declares {info.file_size} bytes, over the {limit}-byte limit")
    inflated.spend(info.file_size)  # zipfile inflates no more than the declared size
    with zf.open(info) as fh:
        data = fh.read(limit + 1)
    if len(data) > limit:
        raise LoadError(f"{what} is larger than it declares")
    return data


def read_pt2(path: str) -> tuple[dict, str, list[tuple[str, str]], list[str]]:
    """(graph JSON, its member name, unsafe content, notes) of a torch.export archive."""
    notes: list[str] = []
    inflated = _Inflated()  # one bound on all that is inflated, whatever the members say
    with zip_errors():
        with open(path, "rb") as raw, _open_zip(raw) as zf:
            members = zf.infolist()
            for m in members:  # before _check_members, whose words are about Keras
                if m.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                    raise LoadError(f"member {m.filename!r} uses compression method "
                                    f"{m.compress_type}, not stored or deflate as torch writes")
            _check_members(members)
            if not members:
                raise LoadError("not a torch.export archive: the zip is empty")
            if min(m.header_offset for m in members) != 0:
                # torch writes its first member at 0: a directory found elsewhere is a
                # nested zip's (the stored sample inputs) in a file whose end is missing
                raise LoadError("corrupt zip archive (its directory is not the one of the "
                                "members it starts with: truncated?)")
            root = members[0].filename.split("/")[0]
            by_name = {m.filename: m for m in members}
            models = sorted(n for n in by_name if n.startswith(f"{root}/models/")
                            and n.endswith(".json") and n.count("/") == 2)
            if not models:
                raise LoadError(f"not a torch.export archive: no {root}/models/<name>.json member")
            member = f"{root}/models/model.json" if f"{root}/models/model.json" in by_name \
                else models[0]
            if len(models) > 1:
                notes.append(f"the archive holds {len(models)} exported programs; linted {member}")
            data = _read_member(zf, by_name[member], MAX_CONFIG_BYTES, member, inflated)
            doc = parse_json(data, member)
            del data
            model = posixpath.basename(member)[:-len(".json")]
            unsafe = _unsafe_content(zf, root, model, by_name, inflated)
    return doc, member, unsafe, notes


def _unsafe_content(zf, root: str, model: str, by_name: dict,
                    inflated: _Inflated) -> list[tuple[str, str]]:
    """What torch.export.load (or AOTInductor) would unpickle or run: judged from the
    configs, the member names and the sample inputs' pickle opcodes; nothing is loaded."""
    unsafe = []
    for name, m in by_name.items():
        if stat.S_ISLNK(m.external_attr >> 16):
            unsafe.append((name, "is a symbolic link inside the archive; an extractor would "
                                 "follow it"))
        elif name.lower().endswith(_NATIVE):
            unsafe.append((name, "is a compiled library, which torch._inductor."
                                 "aoti_load_package would load and run"))
    for kind, config in (("weights", f"{root}/data/weights/{model}_weights_config.json"),
                         ("constants", f"{root}/data/constants/{model}_constants_config.json")):
        info = by_name.get(config)
        if info is None:
            continue
        entries = parse_json(_read_member(zf, info, MAX_CONFIG_BYTES, config, inflated),
                             config).get("config")
        if not isinstance(entries, dict):
            continue
        for fqn, meta in entries.items():
            if not isinstance(meta, dict):
                continue
            file = meta.get("path_name")
            where = f"{root}/data/{kind}/{file}" if isinstance(file, str) else config
            if isinstance(file, str) and file.startswith(("custom_obj_", "opaque_obj_")):
                unsafe.append((where, f"holds the object {fqn!r}, which torch.export.load "
                                      "unpickles (pickle.loads), so it can run code"))
            elif meta.get("use_pickle") is True:
                unsafe.append((where, f"holds {fqn!r} pickled, which torch.export.load "
                                      "unpickles with weights_only=False, so it can run code"))
    inputs = by_name.get(f"{root}/data/sample_inputs/{model}.pt")
    if inputs is not None:
        unsafe += _sample_inputs_unsafe(zf, inputs, inflated)
    return unsafe


# Globals torch.load(weights_only=True) accepts (torch._weights_only_unpickler); any
# other makes it fail, and torch.export.load then retries with weights_only=False.
_SAFE_GLOBALS = re.compile(
    r"torch\.(cuda\.|sparse\.|cuda\.sparse\.)?[A-Z][A-Za-z0-9]*(Storage|Tensor)"
    r"|torch\.(u?int[1-7]|u?int(8|16|32|64)|float(16|32|64)|bfloat16|bool|complex(32|64|128)"
    r"|float8_\w+|float4_e2m1fn_x2|bits\w+|q(u)?int\w+|per_\w+|Size|device|Tensor)"
    r"|torch\._utils\._rebuild_(tensor|tensor_v2|tensor_v3|parameter|parameter_with_state|"
    r"qtensor|sparse_tensor|nested_tensor|wrapper_subclass|meta_tensor_no_storage|"
    r"device_tensor_from_cpu_tensor|device_tensor_from_numpy)"
    r"|torch\._tensor\._rebuild_from_type_v2|torch\.serialization\._get_layout"
    r"|torch\.storage\.(Typed|Untyped)Storage|torch\.nn\.parameter\.Parameter"
    r"|collections\.(OrderedDict|Counter)|builtins\.(set|complex|bytearray)|_codecs\.encode")


def _sample_inputs_unsafe(zf, info, inflated: _Inflated) -> list[tuple[str, str]]:
    name = info.filename
    try:
        stream = _sample_pickle(zf, info, inflated)
        if stream is None:
            return [(name, "is too large to inspect; torch.export.load unpickles it")]
        bad = _unsafe_globals(stream)
    except _OverBudget:
        raise
    except Exception:  # whatever the scan cannot read, torch's safe unpickler cannot either
        return [(name, "is not a pickle torch.load(weights_only=True) reads; torch.export."
                       "load would then unpickle it with weights_only=False")]
    if bad:
        return [(name, f"is a pickle naming {', '.join(bad)}, which torch.load(weights_only=True) "
                       "refuses; torch.export.load then unpickles it with "
                       "weights_only=False, which would run it")]
    return []


class _Window:
    """A read-only file over bytes [start, start + size) of another: a stored member
    read in place, without inflating (or reading) what the directory does not need."""

    def __init__(self, fh, start: int, size: int):
        self._fh, self._start, self._size, self._at = fh, start, size, 0

    def read(self, n: int | None = -1) -> bytes:
        left = self._size - self._at
        n = left if n is None or n < 0 else min(n, left)
        self._fh.seek(self._start + self._at)
        data = self._fh.read(max(n, 0))
        self._at += len(data)
        return data

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._at, 2: self._size}[whence]
        self._at = max(base + offset, 0)
        return self._at

    def tell(self) -> int:
        return self._at

    def seekable(self) -> bool:
        return True


def _sample_pickle(zf, info, inflated: _Inflated) -> bytes | None:
    """The pickle stream of a torch.save file: its `*/data.pkl` when it is torch's zip
    format (read from the stored member in place), else the member itself."""
    if info.compress_type == zipfile.ZIP_STORED:
        fp = zf.fp
        fp.seek(info.header_offset)
        local = fp.read(30)
        if len(local) < 30 or local[:4] != b"PK\x03\x04":
            raise LoadError("bad local header")
        start = info.header_offset + 30 + int.from_bytes(local[26:28], "little") \
            + int.from_bytes(local[28:30], "little")
        body = _Window(fp, start, info.compress_size)
    else:
        if info.file_size > MAX_CONFIG_BYTES:
            return None
        body = io.BytesIO(_read_member(zf, info, MAX_CONFIG_BYTES, info.filename, inflated))
    if body.read(4) != b"PK\x03\x04":
        body.seek(0)
        if info.file_size > MAX_PICKLE_BYTES:
            return None
        inflated.spend(info.file_size)
        return body.read(MAX_PICKLE_BYTES)
    body.seek(0)
    with _open_zip(body) as inner:
        members = inner.infolist()
        _check_members(members)
        pkl = [m for m in members if m.filename.endswith("data.pkl")]
        if len(pkl) != 1:
            raise LoadError("no data.pkl")
        if pkl[0].file_size > MAX_PICKLE_BYTES:
            return None
        return _read_member(inner, pkl[0], MAX_PICKLE_BYTES, "data.pkl", inflated)


def _unsafe_globals(stream: bytes) -> list[str]:
    """The globals a pickle stream names that torch's safe unpickler refuses, read from
    its opcodes (pickletools parses, it never unpickles). A STACK_GLOBAL whose names are
    not plain strings pushed before it counts as refused."""
    import _compat_pickle
    import pickletools

    found: list[str] = []
    strings: list = []  # the last values pushed, as far as they are strings
    memo: dict = {}
    ops = 0
    data = io.BytesIO(stream)
    while data.tell() < len(stream):
        for op, arg, _ in pickletools.genops(data):
            ops += 1
            if ops > MAX_PICKLE_OPS:
                raise ValueError("too many opcodes")
            name = op.name
            if name in ("GLOBAL", "INST"):
                module, _, attr = str(arg).partition(" ")
                # Python 2 names, as unpickling resolves them (`__builtin__` is builtins)
                module, attr = _compat_pickle.NAME_MAPPING.get(
                    (module, attr), (_compat_pickle.IMPORT_MAPPING.get(module, module), attr))
                found.append(f"{module}.{attr}")
                strings = (strings + [None])[-2:]
            elif name == "STACK_GLOBAL":
                pair = strings[-2:]
                found.append(".".join(pair) if len(pair) == 2 and all(
                    isinstance(s, str) for s in pair) else "<computed name>")
                strings = [None, None]
            elif name in ("EXT1", "EXT2", "EXT4"):
                found.append(f"<extension {arg}>")
                strings = (strings + [None])[-2:]
            elif name.endswith("UNICODE") or name in ("STRING", "BINSTRING", "SHORT_BINSTRING"):
                strings = (strings + [str(arg)])[-2:]
            elif name in ("BINPUT", "LONG_BINPUT", "PUT", "MEMOIZE"):  # the stack stays
                memo[arg if name != "MEMOIZE" else len(memo)] = strings[-1] if strings else None
            elif name in ("BINGET", "LONG_BINGET", "GET"):
                strings = (strings + [memo.get(arg)])[-2:]
            elif name not in ("FRAME", "PROTO"):  # the stack changed: its top is no name
                strings = (strings + [None])[-2:]
    return sorted({g for g in found if not _SAFE_GLOBALS.fullmatch(g)})[:5]


# -- the graph ---------------------------------------------------------------------------

def _value(arg):
    """A serialised Argument as a Python value: _T / [_T] for tensors, _S for SymInts,
    ints, floats, bools, strings, lists of them, None; _UNKNOWN for anything else."""
    if not isinstance(arg, dict) or len(arg) != 1:
        return _UNKNOWN
    ((tag, v),) = arg.items()
    if tag == "as_tensor":
        return _tensor(v)
    if tag in ("as_tensors", "as_optional_tensors"):
        if not isinstance(v, list):
            return _UNKNOWN
        out = [_tensor(t) if tag == "as_tensors" else _optional(t) for t in v]
        return _UNKNOWN if any(t is _UNKNOWN for t in out) else out
    if tag == "as_optional_tensor":
        return _optional(v)
    if tag == "as_none":
        return None
    if tag in ("as_int", "as_float", "as_bool", "as_string"):
        want = {"as_int": int, "as_float": (int, float), "as_bool": bool, "as_string": str}[tag]
        return v if isinstance(v, want) and (tag == "as_bool" or not isinstance(v, bool)) \
            else _UNKNOWN
    if tag in ("as_ints", "as_floats", "as_bools"):
        if not isinstance(v, list) or len(v) > MAX_SHAPE_RANK:
            return _UNKNOWN
        out = [_value({tag[:-1]: x}) for x in v]
        return _UNKNOWN if any(x is _UNKNOWN for x in out) else out
    if tag == "as_sym_int":
        return _sym(v)
    if tag == "as_sym_ints":
        if not isinstance(v, list) or len(v) > MAX_SHAPE_RANK:
            return _UNKNOWN
        out = [_sym(x) for x in v]
        return _UNKNOWN if any(x is _UNKNOWN for x in out) else out
    return _UNKNOWN


def _tensor(v):
    return _T(v["name"]) if isinstance(v, dict) and isinstance(v.get("name"), str) else _UNKNOWN


def _optional(v):
    if isinstance(v, dict) and "as_none" in v:
        return None
    return _tensor(v.get("as_tensor")) if isinstance(v, dict) else _UNKNOWN


def _sym(v):
    if isinstance(v, dict) and len(v) == 1:
        ((tag, x),) = v.items()
        if tag == "as_name" and isinstance(x, str):
            return _S(x)
        if tag == "as_int" and isinstance(x, int) and not isinstance(x, bool):
            return x
    return _UNKNOWN


def _size(v) -> int | None:
    """One entry of a tensor's recorded sizes: an int, or None for a symbolic one."""
    if isinstance(v, dict) and _is_int(v.get("as_int")):
        return v["as_int"] if 0 <= v["as_int"] <= MAX_SIZE else None
    return None


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _pieces(n: int | None, size: int | None) -> list[int] | None:
    """The sizes torch.split(x, size) cuts an axis of n into."""
    if n is None or not size or size < 0:
        return None
    return [size] * (n // size) + ([n % size] if n % size else [])


def _expr(v):
    """A recorded size as a comparable value: its int, or the text of torch's symbolic
    expression (`Symbol('s77', positive=True, integer=True)`); None when neither."""
    if isinstance(v, dict):
        if _is_int(v.get("as_int")):
            return v["as_int"]
        inner = v.get("as_expr")
        if isinstance(inner, dict) and isinstance(inner.get("expr_str"), str):
            return inner["expr_str"]
    return None


def _tensors_in(value) -> list[str]:
    if isinstance(value, _T):
        return [value]
    if isinstance(value, list):
        return [t for t in value if isinstance(t, _T)]
    return []


def _module_path(meta) -> str:
    """The innermost module of a node's `nn_module_stack` ("key,path,type;...")."""
    stack = meta.get("nn_module_stack") if isinstance(meta, dict) else None
    if not isinstance(stack, str) or not stack:
        return ""
    parts = stack.split(";")[-1].split(",")
    path = ",".join(parts[1:-1]) if len(parts) >= 3 else ""
    return "" if path.startswith("_empty_nn_module_stack") else path


def _input_roles(rank: int) -> str | None:
    """An input's role letters, read as the ONNX front end reads a PyTorch export whose
    dims have no names (onnx_graph._named_roles): torch.export.save keeps no Dim names,
    only symbols (s77). Rank 4 and 5 are N C H W and N T C H W (a Conv or pooling reading
    them makes axis 0 the batch); axis 0 of rank <= 3 is unknown until such an op reads
    it, since batch is a fact, never a default."""
    if rank in (4, 5):
        return {4: "NCHW", 5: "NTCHW"}[rank]
    return ("?", "?F", "?TF")[rank - 1] if 1 <= rank <= 3 else None


class _Args:
    """A node's named arguments, read against the op's schema defaults."""

    def __init__(self, values: dict, order: list):
        self.values, self.order = values, order

    def get(self, key: str, default=None, *, pos: int | None = None):
        if key in self.values:
            v = self.values[key]
        elif pos is not None and pos < len(self.order):
            v = self.order[pos]
        else:
            return default
        if v is _UNKNOWN:
            raise _Unreadable(key)
        return v

    def int(self, key: str, default: int | None = None) -> int | None:
        v = self.get(key, default)
        if v is not None and (not isinstance(v, int) or isinstance(v, bool)):
            raise _Unreadable(key)
        return v

    def ints(self, key: str, default, rank: int | None = None) -> list:
        v = self.get(key, default)
        v = [v] if isinstance(v, int) and not isinstance(v, bool) else v
        if not isinstance(v, list) or not all(_is_int(x) for x in v):
            raise _Unreadable(key)
        if rank is not None:
            if len(v) == 1:
                v = v * rank
            elif len(v) != rank:
                raise _Unreadable(key)
        return list(v)

    def bool(self, key: str, default: bool) -> bool:
        v = self.get(key, default)
        if not isinstance(v, bool):
            raise _Unreadable(key)
        return v

    def float(self, key: str, default: float) -> float:
        v = self.get(key, default)
        if not isinstance(v, (int, float)) or isinstance(v, bool):
            raise _Unreadable(key)
        return float(v)


def _dict(value, what: str) -> dict:
    if not isinstance(value, dict):
        raise LoadError(f"{what} is not a JSON object")
    return value


def _list(value, what: str) -> list:
    if not isinstance(value, list):
        raise LoadError(f"{what} is not a JSON list")
    return value


class _Pt2Builder:
    def __init__(self, doc: dict, file: str, member: str):
        self.file, self.member = file, member
        self.graph = ModelGraph(file, "pt2")
        self.graph.meta["source_framework"] = "pytorch"
        module = _dict(doc.get("graph_module"), f"{member}: graph_module")
        self.fx = _dict(module.get("graph"), f"{member}: graph_module.graph")
        self.signature = _dict(module.get("signature", {}), f"{member}: graph_module.signature")
        values = _dict(self.fx.get("tensor_values", {}), f"{member}: tensor_values")
        self.sizes: dict[str, tuple | None] = {}
        self.exprs: dict[str, tuple] = {}  # each dim as recorded: an int or torch's expression
        for name, meta in values.items():
            sizes = meta.get("sizes") if isinstance(meta, dict) else None
            if isinstance(sizes, list) and len(sizes) <= MAX_SHAPE_RANK:
                self.sizes[name] = tuple(_size(v) for v in sizes)
                self.exprs[name] = tuple(_expr(v) for v in sizes)
            else:
                self.sizes[name] = None
        syms = self.fx.get("sym_int_values")
        self.sym_exprs = {k: _expr(v) for k, v in syms.items()} if isinstance(syms, dict) else {}
        self.data: dict[str, tuple[str, int]] = {}  # data tensor -> (node id, output index)
        self.consts: set[str] = set()  # tensors that do not depend on the inputs
        self.syms: dict[str, tuple] = {}  # SymInt name -> how it is computed
        # node id -> (its data inputs, the piece of its input it takes, if one): how
        # frames cut from a clip are followed back from the concat that joins them
        self.chains: dict[str, tuple[list[str], tuple | None]] = {}
        self.training = False

    # -- building -------------------------------------------------------------------
    def build(self) -> ModelGraph:
        user_inputs = self._user_inputs()
        inputs = _list(self.fx.get("inputs"), f"{self.member}: graph inputs")
        for index, arg in enumerate(inputs):
            value = _value(arg)
            if isinstance(value, _T) and value in user_inputs:
                self._input(value, index)
            elif isinstance(value, _T):
                self.consts.add(value)  # parameters, buffers, lifted constants
            elif isinstance(value, _S):
                self.syms[value] = ("unknown",)
        if not self.graph.inputs:
            raise LoadError(f"{self.member}: the exported program has no tensor inputs")
        nodes = _list(self.fx.get("nodes"), f"{self.member}: graph nodes")
        for index, node in enumerate(nodes):
            if not isinstance(node, dict):
                raise LoadError(f"{self.member}: node {index} is not a JSON object")
            self._node(node, index)
        for arg in _list(self.fx.get("outputs", []), f"{self.member}: graph outputs"):
            for name in _tensors_in(_value(arg)):
                if name in self.data:
                    self.graph.outputs.append(self.data[name])
        # as ONNX: dropout is judged only where the graph runs it in training mode
        self.graph.meta["inference_only"] = not self.training
        return self.graph

    def _user_inputs(self) -> set[str]:
        specs = self.signature.get("input_specs")
        if not isinstance(specs, list):  # no signature: every tensor input is data
            return {v for v in map(_value, self.fx.get("inputs") or []) if isinstance(v, _T)}
        names = set()
        for spec in specs:
            user = spec.get("user_input") if isinstance(spec, dict) else None
            value = _value(user.get("arg")) if isinstance(user, dict) else None
            if isinstance(value, _T):
                names.add(value)
        return names

    def _input(self, name: str, index: int) -> None:
        dims = self.sizes.get(name) or ()
        roles = _input_roles(len(dims))
        node = self._add(name, "input", "Input", {"shape": dims, "roles": roles},
                         f"{self.member} input {name}")
        self.graph.inputs.append(node.id)
        self.data[name] = (node.id, 0)

    def _add(self, name: str, kind: str, op: str, attrs: dict, pointer: str,
             layer: str = "") -> Node:
        node_id = self.graph.free_id(name)
        if layer:
            attrs["layer"] = layer
        return self.graph.add_node(Node(node_id, kind, op, attrs,
                                        Location(self.file, layer or node_id, pointer)))

    def _node(self, node: dict, index: int) -> None:
        target = node.get("target")
        name = node.get("name") if isinstance(node.get("name"), str) else f"node_{index}"
        if not isinstance(target, str):
            raise LoadError(f"{self.member}: node {name!r} has no target op")
        raw_inputs, raw_outputs = node.get("inputs", []), node.get("outputs", [])
        for what, value in (("inputs", raw_inputs), ("outputs", raw_outputs)):
            if not isinstance(value, list):
                raise LoadError(f"{self.member}: {what} of node {name!r} is not a JSON list")
        values, order = {}, []
        for arg in raw_inputs:
            if not isinstance(arg, dict):
                raise LoadError(f"{self.member}: an input of node {name!r} is not a JSON object")
            if not isinstance(arg.get("name"), str):  # its meaning is its name (batch_first)
                raise LoadError(f"{self.member}: an input of node {name!r} has no name")
            value = _value(arg.get("arg"))
            order.append(value)
            values[arg["name"]] = value
        args = _Args(values, order)
        outputs = [_value(o) for o in raw_outputs]
        tensors = [t for v in order for t in _tensors_in(v)]
        for t in tensors:
            if t not in self.data and t not in self.consts:
                raise LoadError(f"{self.member}: node {name!r} reads tensor {t!r}, which no "
                                "node or input produces")
        op = target[len("torch.ops."):] if target.startswith("torch.ops.") else target
        if op in ("aten.sym_size.int", "aten.sym_size") or op in _SYM_ARITH:
            self._sym_node(op, args, outputs)
            return
        made = [t for o in outputs for t in _tensors_in(o)]
        for t in made:
            if t in self.data or t in self.consts:
                raise LoadError(f"{self.member}: tensor {t!r} is produced twice")
        data_in = [t for t in tensors if t in self.data]
        if not data_in:  # computed from weights and constants only (hx zeros, a t(weight))
            self.consts.update(made)
            return
        base = op.split(".")[1] if op.startswith("aten.") and op.count(".") >= 1 else ""
        layer = _module_path(node.get("metadata"))
        where = f"{self.member} node {name}"
        try:
            if base in _RECURRENT and op.endswith(".input"):
                self._recurrent(op, base, args, outputs, layer or name, where, layer)
                return
            if base == "unbind":
                self._unbind(op, args, outputs, layer or name, where, layer)
                return
            if base == "stack":
                self._stack(op, args, outputs, layer or name, where, layer)
                return
            kind, attrs, feeds = self._canonical(op, base, args, data_in)
            if any(t not in self.data for t in feeds):  # what it reads is not data after all
                kind, attrs, feeds = "opaque", {}, data_in
        except (_Unreadable, TypeError, ValueError, IndexError, KeyError, ZeroDivisionError):
            kind, attrs, feeds = "opaque", {}, data_in
            note = f"the arguments of {op} are not what its schema says; treated as opaque"
        else:
            note = f"operator {op} is not understood; treated as opaque"
        if kind == "opaque":
            attrs["axis0_role"] = "unknown"
        deps = attrs.pop("_shape_deps", [])
        created = self._add(layer or name, kind, op, attrs, where, layer)
        if kind == "opaque":
            created.notes.append(note)
        for slot, tensor in enumerate(feeds):
            self.graph.connect(*self.data[tensor], created.id, slot)
        for slot, tensor in enumerate(deps, start=len(feeds)):
            self.graph.connect(*self.data[tensor], created.id, slot, aux=True)
        self._outputs(created.id, outputs)
        self.chains[created.id] = (feeds, _piece_of(kind, created.attrs, feeds))

    def _outputs(self, node_id: str, outputs: list) -> None:
        flat = [t for o in outputs for t in (o if isinstance(o, list) else [o])]
        for i, t in enumerate(flat):
            if isinstance(t, _T):
                self.data[t] = (node_id, i)
                self.graph.tensor(node_id, i).recorded = self.sizes.get(t)
        self.graph.tensor(node_id, max(len(flat) - 1, 0))

    def _sym_node(self, op: str, args: _Args, outputs: list) -> None:
        out = outputs[0] if len(outputs) == 1 else None
        if not isinstance(out, _S):
            return
        if op.startswith("aten.sym_size"):
            tensor, dim = args.values.get("self"), args.values.get("dim")
            ok = isinstance(tensor, _T) and isinstance(dim, int) and not isinstance(dim, bool)
            self.syms[out] = ("dim", tensor, dim) if ok and tensor in self.data else ("unknown",)
        elif _SYM_ARITH.get(op):
            a, b = args.values.get("a", _UNKNOWN), args.values.get("b", _UNKNOWN)
            self.syms[out] = ("arith", _SYM_ARITH[op], a, b)
        else:
            self.syms[out] = ("unknown",)

    # -- shapes computed at run time ------------------------------------------------
    def _target(self, entries: list, reshaped: str) -> tuple[ShapeExpr | list, list[str]]:
        """A size argument as a reshape target: a plain list when every entry is an int,
        else a ShapeExpr over the tensors whose sizes its SymInts read (the reshaped one
        is slot 0, the others aux inputs 1, 2, ...). An entry ("dim", i) is dim i of the
        reshaped tensor."""
        if all(isinstance(e, int) and not isinstance(e, bool) for e in entries):
            return list(entries), []
        steps: list[tuple] = []
        deps: list[str] = []
        budget = [MAX_SYM_NODES]

        def emit(step: tuple) -> int:
            steps.append(step)
            return len(steps) - 1

        def compile_entry(e, depth: int) -> int:
            budget[0] -= 1
            if isinstance(e, bool) or depth > MAX_SYM_DEPTH or budget[0] < 0:
                return emit(UNKNOWN)
            if isinstance(e, tuple):
                return emit(("shape", 0, e[1], e[1] + 1))
            if isinstance(e, int):
                return emit(const_step([e]))
            # a value torch records as the same expression as a dim of the reshaped tensor
            # is that dim (torch unifies equal sizes: a second input's batch is the first's)
            expr = self.sym_exprs.get(e)
            if expr is not None and expr in self.exprs.get(reshaped, ()):
                at = self.exprs[reshaped].index(expr)
                return emit(("shape", 0, at, at + 1))
            how = self.syms.get(e, ("unknown",))
            if how[0] == "dim":
                tensor, dim = how[1], how[2]
                if tensor == reshaped:
                    slot = 0
                else:
                    if tensor not in deps:
                        deps.append(tensor)
                    slot = 1 + deps.index(tensor)
                return emit(("shape", slot, dim, dim + 1 if dim != -1 else None))
            if how[0] == "arith" and all(isinstance(v, (int, _S)) for v in how[2:]):
                a, b = compile_entry(how[2], depth + 1), compile_entry(how[3], depth + 1)
                return emit((how[1], a, b))
            return emit(UNKNOWN)

        refs = tuple(compile_entry(e, 0) for e in entries)
        emit(("concat", refs))
        return ShapeExpr(tuple(steps), allowzero=True), deps

    def _rank(self, tensor: str) -> int | None:
        sizes = self.sizes.get(tensor)
        return None if sizes is None else len(sizes)

    def _shape_of(self, tensor) -> tuple | None:
        return self.sizes.get(tensor) if isinstance(tensor, str) else None

    # -- aten ops -> canonical kinds --------------------------------------------------
    def _canonical(self, op: str, base: str, a: _Args, data_in: list[str]):
        x = a.get("self", pos=0) if base not in ("convolution", "linear", "embedding") \
            and not base.startswith(("conv", "cat", "concat")) else None
        if base.startswith("conv") and base != "convolution_backward":
            return self._conv(base, a)
        if base in ("max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices",
                    "max_pool2d_with_indices", "max_pool3d_with_indices", "avg_pool1d",
                    "avg_pool2d", "avg_pool3d", "lp_pool1d", "lp_pool2d"):
            rank = int(base.split("_pool")[1][0])
            kernel = a.ints("kernel_size", None, rank)
            stride = a.get("stride", [])
            strides = kernel if stride in ([], None) else a.ints("stride", None, rank)
            padding = a.ints("padding", 0, rank)
            dilation = a.ints("dilation", 1, rank) if base.startswith("max") else [1] * rank
            return "pool", {"rank": rank, "kernel": kernel, "strides": strides,
                            "dilation": dilation, "padding": [(p, p) for p in padding],
                            "ceil": a.bool("ceil_mode", False), "channels_first": True}, [x]
        if base.startswith(("adaptive_avg_pool", "adaptive_max_pool", "_adaptive_avg_pool")):
            rank = int(base.rstrip("d")[-1])
            out = a.ints("output_size", None, rank)
            if all(v == 1 for v in out):  # to one value per channel: a global pooling
                return "reduce", {"from_axis": 2, "keepdims": True}, [x]
            sizes = self._shape_of(x)
            if sizes is None or len(sizes) != rank + 2:
                return "opaque", {}, [x]
            kernel, strides = [], []
            for n, o in zip(sizes[2:], out):
                s = max(n // o, 1) if n is not None and o else 1  # windows giving `o` outputs
                strides.append(s)
                kernel.append(n - (o - 1) * s if n is not None else 1)
            return "pool", {"rank": rank, "kernel": kernel, "strides": strides,
                            "dilation": [1] * rank, "padding": [(0, 0)] * rank, "ceil": False,
                            "channels_first": True}, [x]
        if base in _REDUCES and not op.endswith((".other", ".binary")):
            dim = a.get("dim", None)
            dim = [dim] if _is_int(dim) else dim
            if dim is not None and not (isinstance(dim, list) and all(_is_int(d) for d in dim)):
                raise _Unreadable("dim")
            return "reduce", {"axes": list(dim) if dim else None,
                              "keepdims": a.bool("keepdim", False)}, [x]
        if base == "flatten":
            rank = self._rank(x)
            start, end = a.int("start_dim", 0), a.int("end_dim", -1)
            if rank is None:
                return "opaque", {}, [x]
            start, end = start % max(rank, 1), end % max(rank, 1)
            if start >= end:
                return "identity", {}, [x]
            steps = (("shape", 0, 0, start), ("const", (-1,)), ("shape", 0, end + 1, None),
                     ("concat", (0, 1, 2)))
            return "reshape", {"full": True, "target": ShapeExpr(steps, allowzero=True)}, [x]
        if base == "unflatten":
            rank = self._rank(x)
            dim, sizes = a.int("dim"), a.get("sizes", pos=2)
            if rank is None or not isinstance(sizes, list):
                return "opaque", {}, [x]
            dim %= rank
            head = [("dim", i) for i in range(dim)]
            tail = [("dim", i) for i in range(dim + 1, rank)]
            target, deps = self._target(head + list(sizes) + tail, x)
            return "reshape", {"full": True, "target": target, "_shape_deps": deps}, [x]
        if base in _RESHAPES:
            if base in ("reshape_as", "view_as"):
                other = a.get("other", pos=1)
                sizes = self._shape_of(other)
                if sizes is None or None in sizes:
                    return "opaque", {}, [x]
                return "reshape", {"full": True, "target": list(sizes)}, [x]
            entries = a.get("shape", None) if "shape" in a.values else a.get("size", pos=1)
            if not isinstance(entries, list):
                raise _Unreadable("shape")
            target, deps = self._target(entries, x)
            return "reshape", {"full": True, "target": target, "_shape_deps": deps}, [x]
        if base in ("permute", "permute_copy"):
            rank = self._rank(x)
            dims = a.ints("dims", None)
            return "transpose", {"perm": [d % rank for d in dims] if rank else dims}, [x]
        if base in ("transpose", "swapaxes", "swapdims", "t", "transpose_copy", "numpy_T"):
            rank = self._rank(x)
            if rank is None:
                return "opaque", {}, [x]
            if base in ("t", "numpy_T"):
                perm = list(reversed(range(rank)))
            else:
                d0 = a.int("dim0", None) if "dim0" in a.values else a.int("axis0", None)
                d1 = a.int("dim1", None) if "dim1" in a.values else a.int("axis1", None)
                perm = list(range(rank))
                perm[d0 % rank], perm[d1 % rank] = perm[d1 % rank], perm[d0 % rank]
            return "transpose", {"perm": perm}, [x]
        if base in ("movedim", "moveaxis"):
            rank = self._rank(x)
            src, dst = a.ints("source", None), a.ints("destination", None)
            if rank is None or len(src) != len(dst):
                return "opaque", {}, [x]
            src, dst = [s % rank for s in src], [d % rank for d in dst]
            rest = iter([i for i in range(rank) if i not in src])
            moved = dict(zip(dst, src))
            return "transpose", {"perm": [moved[i] if i in moved else next(rest)
                                          for i in range(rank)]}, [x]
        if base in ("unsqueeze", "unsqueeze_copy"):
            return "unsqueeze", {"axes": [a.int("dim")]}, [x]
        if base in ("squeeze", "squeeze_copy"):
            dim = a.get("dim", None)
            dims = None if dim is None else [dim] if isinstance(dim, int) else dim
            if dims is not None and not all(isinstance(d, int) for d in dims):
                raise _Unreadable("dim")
            sizes = self._shape_of(x)
            if dims is not None and sizes is not None:  # aten leaves a dim other than 1 alone
                dims = [d for d in dims if -len(sizes) <= d < len(sizes)
                        and self.exprs[x][d] == 1]
                if not dims:
                    return "identity", {}, [x]
            return "squeeze", {"axes": dims}, [x]
        if base in ("select", "select_copy"):
            return "select", {"axis": a.int("dim"), "count": None, "index": a.int("index"),
                              "indices": None}, [x]
        if base in ("slice", "slice_copy"):
            start, end, step = a.get("start", None), a.get("end", None), a.int("step", 1)
            if not all(v is None or (isinstance(v, int) and not isinstance(v, bool))
                       for v in (start, end)):
                return "opaque", {}, [x]  # a SymInt bound
            return "slice", {"slices": [(a.int("dim", 0), start, end, step)]}, [x]
        if base == "narrow":
            start, length = a.get("start", pos=2), a.get("length", pos=3)
            if not isinstance(start, int) or not isinstance(length, int):
                return "opaque", {}, [x]
            return "slice", {"slices": [(a.int("dim"), start, start + length, 1)]}, [x]
        if base == "index_select":
            index = a.get("index", pos=2)
            sizes = self._shape_of(index) if index in self.consts else None
            if not sizes or len(sizes) != 1:
                return "opaque", {}, [x]
            return "select", {"axis": a.int("dim"), "count": sizes[0], "index": None,
                              "indices": None}, [x]
        if base in ("split", "split_with_sizes", "chunk", "tensor_split", "split_copy"):
            return self._split(base, a, x)
        if base in ("cat", "concat", "concatenate"):
            tensors = a.get("tensors", pos=0)
            if not isinstance(tensors, list) or any(t not in self.data for t in tensors):
                return "opaque", {}, data_in  # joins data with constants (a learned token)
            attrs = {"axis": a.int("dim", 0)}
            self._mark_unrolled(attrs, list(tensors))
            return "concat", attrs, list(tensors)
        if base == "linear":
            w = self._shape_of(a.get("weight", pos=1))
            inp = a.get("input", pos=0)
            if inp not in self.data or not w or len(w) != 2 or a.get("weight", pos=1) in self.data:
                return "opaque", {}, data_in
            return "dense", {"units": w[0]}, [inp]
        if base in ("addmm", "mm", "matmul", "bmm"):
            mat1 = a.get("mat1", pos=1) if base == "addmm" else x
            mat2 = a.get("mat2", pos=2) if base == "addmm" else \
                a.get("mat2", pos=1) if "mat2" in a.values else a.get("other", pos=1)
            w = self._shape_of(mat2) if mat2 in self.consts else None
            if mat1 not in self.data or not w or len(w) < 2:
                return "opaque", {}, data_in
            return "dense", {"units": w[-1]}, [mat1]
        if base == "embedding":
            table = self._shape_of(a.get("weight", pos=0))
            indices = a.get("indices", pos=1)
            if indices not in self.data or not table or len(table) != 2:
                return "opaque", {}, data_in
            return "embedding", {"units": table[1]}, [indices]
        if base in _DROPOUTS:
            train = a.get("train", None)
            train = bool(train) if isinstance(train, bool) else False
            self.training |= train
            return "dropout", {"rate": a.float("p", 0.5), "training": train}, [x]
        if base in ("softmax", "_softmax", "log_softmax", "_log_softmax", "special_softmax"):
            return "activation", {"activation": "log_softmax" if "log" in base else "softmax",
                                  "axis": [a.int("dim")], "axis_to_end": False}, [x]
        if base in _NORMS:
            return "norm", {}, [a.get("input", pos=0) if "input" in a.values else x]
        if base in _ACTIVATIONS:
            return "activation", {}, [x]
        if base in _KEEPS_AXES:
            return "identity", {}, [x]
        if base in _ELEMENTWISE or base in ("max", "min"):
            if len(set(data_in)) > 1:
                return "merge", {}, data_in
            return "identity", {}, data_in[:1]
        if base == "expand":
            entries = a.get("size", pos=1)
            if not isinstance(entries, list):
                raise _Unreadable("size")
            # aten's -1 keeps a dim; ONNX Expand broadcasts it from 1
            target, deps = self._target([1 if e == -1 else e for e in entries], x)
            return "expand", {"target": target, "_shape_deps": deps}, [x]
        if base == "repeat":
            return "tile", {"target": a.ints("repeats", None)}, [x]
        return "opaque", {}, data_in

    def _conv(self, base: str, a: _Args):
        x = a.get("input", pos=0)
        weight = a.get("weight", pos=1)
        w = self._shape_of(weight)
        if x not in self.data or not w or len(w) < 3 or weight in self.data:
            return "opaque", {}, [t for t in (x,) if t in self.data]
        rank = len(w) - 2
        transpose = base.startswith("conv_transpose") or (
            base == "convolution" and a.bool("transposed", False))
        groups = a.int("groups", 1)
        padding = a.get("padding", 0)
        if isinstance(padding, str):  # the conv2d.padding overload: "same" / "valid"
            pad = padding if padding in ("same", "valid") else None
            if pad is None:
                raise _Unreadable("padding")
        else:
            pad = [(p, p) for p in a.ints("padding", 0, rank)]
        return "conv", {"rank": rank, "filters": w[1] * groups if transpose else w[0],
                        "kernel": list(w[2:]), "strides": a.ints("stride", 1, rank),
                        "dilation": a.ints("dilation", 1, rank), "padding": pad,
                        "channels_first": True, "transpose": transpose,
                        "output_padding": a.ints("output_padding", 0, rank)}, [x]

    def _split(self, base: str, a: _Args, x):
        dim = a.int("dim", 0)
        sizes = self._shape_of(x)
        n = sizes[dim] if sizes and -len(sizes) <= dim < len(sizes) else None
        listed = base == "split" and isinstance(a.get("split_size", None), list)
        if base == "split_with_sizes" or listed:
            parts = a.ints("split_sizes" if "split_sizes" in a.values else "split_size", None)
        elif base == "split":
            parts = _pieces(n, a.int("split_size"))
        elif base == "chunk":
            chunks = a.int("chunks")
            parts = _pieces(n, -(-n // chunks) if n is not None and chunks and chunks > 0 else None)
        else:
            return "opaque", {}, [x]
        return "split", {"axis": dim, "sizes": parts,
                         "count": len(parts) if parts else None}, [x]

    # -- per-frame loops: `torch.stack([cnn(x[:, t]) for t in range(T)], 1)` ----------
    # The joined axis is new, so its origin would be lost and every rule about the time
    # axis silent. As in the ONNX front end, when each joined tensor is a chain of
    # single-input ops back to a piece of one common tensor along one axis, the pieces
    # are recorded; axes.py gives the joined axis that axis' provenance if they cover it.

    def _mark_unrolled(self, attrs: dict, tensors: list[str]) -> None:
        if len(tensors) < 2:
            return
        found = common_frames(self.graph, [self._frame_chain(t) for t in tensors])
        if found is not None:
            source, unrolled = found
            attrs["unrolled"] = {**unrolled, "source_slot": len(tensors)}
            attrs["_shape_deps"] = [source]  # an aux input after the joined tensors

    def _frame_chain(self, tensor: str) -> tuple[list[str], list[tuple]] | None:
        """The nodes from `tensor` back along single-input nodes (nearest first), and the
        frame pieces among them: (sliced tensor, axis, piece, node id)."""
        ops: list[str] = []
        pieces: list[tuple] = []
        for _ in range(MAX_FRAME_CHAIN):
            if tensor not in self.data:
                break
            node_id, out = self.data[tensor]
            info = self.chains.get(node_id)
            if info is None:
                break
            feeds, piece = info
            ops.append(node_id)
            if piece is not None:
                source, axis, cut = piece
                if cut[0] == "split":  # which of the split's outputs this frame is
                    cut = (*cut[:3], out)
                pieces.append((self._unaliased(source), axis, cut, node_id))
            if len(feeds) != 1:
                break
            tensor = feeds[0]
        return (ops, pieces) if pieces else None

    def _unaliased(self, tensor: str) -> str:
        """The tensor that `tensor` is a whole view of: `x[:, t]` is exported as a slice
        of all of axis 0 (a new tensor per frame), then the select of frame t."""
        for _ in range(MAX_FRAME_CHAIN):
            node_id = self.data[tensor][0] if tensor in self.data else None
            info = self.chains.get(node_id) if node_id is not None else None
            if info is None or len(info[0]) != 1:
                break
            node = self.graph.node(node_id)
            whole = node.kind == "slice" and all(
                start in (0, None) and (end is None or end >= 2**31 - 1) and step in (1, None)
                for _, start, end, step in node.attrs.get("slices") or [(0, 1, 1, 1)])
            if not whole and node.kind != "identity":
                break
            tensor = info[0][0]
        return tensor

    # -- ops that become several nodes ----------------------------------------------
    def _unbind(self, op: str, a: _Args, outputs: list, name: str, where: str, layer: str) -> None:
        """x.unbind(dim): one `select` of each index, as x[:, 0], x[:, 1], ..."""
        x, dim = a.get("self", pos=0), a.int("dim", 0)
        flat = outputs[0] if len(outputs) == 1 and isinstance(outputs[0], list) else outputs
        for i, t in enumerate(flat):
            node = self._add(name, "select", op, {"axis": dim, "count": None, "index": i,
                                                  "indices": None}, where, layer)
            self.graph.connect(*self.data[x], node.id, 0)
            self._outputs(node.id, [t])
            self.chains[node.id] = ([x], (x, dim, ("index", i)))

    def _stack(self, op: str, a: _Args, outputs: list, name: str, where: str, layer: str) -> None:
        """torch.stack: an unsqueeze of each tensor, then their concat (as ONNX exports it)."""
        tensors, dim = a.get("tensors", pos=0), a.int("dim", 0)
        if not isinstance(tensors, list) or any(t not in self.data for t in tensors):
            node = self._add(name, "opaque", op, {"axis0_role": "unknown"}, where, layer)
            node.notes.append(f"{op} joins data with constants; treated as opaque")
            for slot, t in enumerate(t for t in (tensors or []) if t in self.data):
                self.graph.connect(*self.data[t], node.id, slot)
            self._outputs(node.id, outputs)
            return
        pieces = []
        for t in tensors:
            piece = self._add(f"{name}:unsqueeze", "unsqueeze", op, {"axes": [dim]}, where, layer)
            self.graph.connect(*self.data[t], piece.id, 0)
            pieces.append(piece.id)
        attrs = {"axis": dim}
        self._mark_unrolled(attrs, list(tensors))
        deps = attrs.pop("_shape_deps", [])
        joined = self._add(name, "concat", op, attrs, where, layer)
        for slot, piece in enumerate(pieces):
            self.graph.connect(piece, 0, joined.id, slot)
        for slot, tensor in enumerate(deps, start=len(pieces)):
            self.graph.connect(*self.data[tensor], joined.id, slot, aux=True)
        self._outputs(joined.id, outputs)

    def _recurrent(self, op: str, base: str, a: _Args, outputs: list, name: str, where: str,
                   layer: str) -> None:
        """aten.lstm/gru/rnn_*.input: the recurrent node with ONNX LSTM's outputs (Y, Y_h,
        Y_c, laid out by batch_first), then what aten returns of them: output (N, T, D*H)
        or (T, N, D*H), h_n and c_n (D*L, N, H)."""
        x = a.get("input", pos=0)
        params = a.get("params", pos=2)
        batch_first, bidirectional = a.bool("batch_first", False), a.bool("bidirectional", False)
        layers, train = a.int("num_layers", 1), a.bool("train", False)
        dropout = a.float("dropout", 0.0)
        if not isinstance(params, list) or len(params) < 2 or not layers or layers < 1:
            raise _Unreadable("params")
        w_hh = self._shape_of(params[1])  # weight_hh_l0: (gates * H, H)
        units = w_hh[1] if w_hh and len(w_hh) == 2 else None
        self.training |= train and dropout > 0
        attrs = {"cell": _RECURRENT[base], "units": units, "bidirectional": bidirectional,
                 "time_major": not batch_first, "onnx_outputs": True, "return_sequences": True,
                 "activations": ["Relu"] if base == "rnn_relu" else None,
                 "dropout": dropout, "num_layers": layers, "batch_first": batch_first}
        # op: the layer's own name (what messages call it: "LSTM `lstm` ..."), as ONNX's is
        attrs["aten_op"] = op
        rec = self._add(name, "recurrent", {"lstm": "LSTM", "gru": "GRU"}.get(base, "RNN"),
                        attrs, where, layer)
        self.graph.connect(*self.data[x], rec.id, 0)
        self.graph.tensor(rec.id, 2)
        flat = [o for o in outputs if isinstance(o, _T) or o is None]
        seq = ShapeExpr((("shape", 0, 0, 2), ("const", (-1,)), ("concat", (0, 1))), allowzero=True)
        for k, tensor in enumerate(flat[:3]):
            if not isinstance(tensor, _T):
                continue
            state = ("output", "h_n", "c_n")[k]
            steps: list[tuple[str, dict]] = []
            if k == 0:  # Y: (N, T, D, H) or (T, D, N, H)
                if not batch_first:
                    steps.append(("transpose", {"perm": [0, 2, 1, 3]}))
                steps.append(("reshape", {"full": True, "target": seq}))
            else:  # Y_h: (N, D, H) or (D, N, H)
                if layers > 1:  # every layer's final states, one after another
                    steps.append(("concat", {"axis": 1 if batch_first else 0, "_copies": layers}))
                if batch_first:
                    steps.append(("transpose", {"perm": [1, 0, 2]}))
            source = (rec.id, k)
            for i, (kind, step_attrs) in enumerate(steps):
                last = i == len(steps) - 1
                copies = step_attrs.pop("_copies", 1)
                node = self._add(f"{rec.id}:{state}" if last else f"{rec.id}:{state}.{i}",
                                 kind, op, step_attrs, where, layer)
                for slot in range(copies):
                    self.graph.connect(*source, node.id, slot)
                source = (node.id, 0)
            self.data[tensor] = source
            self.graph.tensor(*source).recorded = self.sizes.get(tensor)


def _piece_of(kind: str, attrs: dict, feeds: list[str]) -> tuple | None:
    """(tensor, axis, piece) when a node takes one piece of its input along one axis:
    ("index", i), ("range", start, end) or ("split", sizes, count, k) as the ONNX front
    end records them (k filled in per output)."""
    if len(feeds) != 1:
        return None
    if kind == "select" and _is_int(attrs.get("index")) and attrs.get("count") is None:
        return feeds[0], attrs["axis"], ("index", attrs["index"])
    if kind == "slice" and len(attrs.get("slices") or ()) == 1:
        axis, start, end, step = attrs["slices"][0]
        if step == 1 and (start is None or _is_int(start)) and (end is None or _is_int(end)):
            return feeds[0], axis, ("range", start or 0, 2**63 - 1 if end is None else end)
    if kind == "split" and attrs.get("count"):
        return feeds[0], attrs["axis"], ("split", attrs.get("sizes"), attrs["count"], 0)
    return None


def graph_from_pt2(path: str) -> ModelGraph:
    doc, member, unsafe, notes = read_pt2(path)
    try:
        graph = _Pt2Builder(doc, path, member).build()
    except RecursionError:
        raise LoadError(f"{member} is nested too deeply") from None
    graph.meta.setdefault("unsafe", []).extend(unsafe)
    graph.notes.extend(notes)
    return graph
