"""Training data for the probe: a user's ``.npz`` file, checked before anything trains,
or a built-in task shaped to the model's inputs.

Data files are data, possibly hostile: they are read with ``np.load(allow_pickle=False)``
only, so an object array (a pickle inside the archive) is refused, never unpickled.

Only numpy here; scikit-learn is imported inside :func:`builtin_task` (it ships the
digits images, no download). No Keras/TensorFlow.
"""

from __future__ import annotations

import math
import os
import zipfile
from dataclasses import dataclass

import numpy as np

__all__ = ["DataError", "InputSpec", "OutputSpec", "Dataset", "load_npz", "builtin_task",
           "BUILTIN_TASKS"]

BUILTIN_TASKS = ("digits",)

# Built-in data bigger than this is refused (pass max_samples) rather than exhausting memory.
_MAX_BUILTIN_BYTES = 2 * 1024 ** 3


class DataError(Exception):
    """Training data that cannot be used; the message is one line naming the problem
    (and the file when there is one)."""

    def __init__(self, message: str):
        super().__init__(" ".join(str(message).split()))


@dataclass(frozen=True)
class InputSpec:
    name: str
    shape: tuple            # without batch, e.g. (32, 32, 3); None for dynamic dims
    dtype: str = "float32"  # "int32"/"int64" for token inputs
    roles: str = ""         # one letter per axis incl. batch: "NHWC", "NTHWC", "NTF", "NF"
    vocab: int | None = None   # Embedding input_dim when this input feeds an Embedding


@dataclass(frozen=True)
class OutputSpec:
    width: int              # last-axis size of the model's (first) output
    activation: str = "linear"   # final activation: "softmax", "sigmoid", "linear", ...
    steps: int | None = None     # a per-step output (batch, steps, width), e.g. a CRNN reader


@dataclass
class Dataset:
    x_train: list            # list[np.ndarray], one per model input, in input order
    y_train: np.ndarray
    x_val: list
    y_val: np.ndarray
    task: str                # "classification" | "binary" | "regression"
    n_classes: int | None
    chance: float
    description: str
    builtin: bool

    def as_dict(self) -> dict:
        """JSON-friendly description (no array contents)."""
        def shape(a):
            return [int(d) for d in np.shape(a)]
        return {
            "task": self.task,
            "n_classes": None if self.n_classes is None else int(self.n_classes),
            "chance": float(self.chance),
            "description": self.description,
            "builtin": bool(self.builtin),
            "counts": {"train": int(len(self.y_train)), "val": int(len(self.y_val))},
            "shapes": {
                "x_train": [shape(a) for a in self.x_train],
                "y_train": shape(self.y_train),
                "x_val": [shape(a) for a in self.x_val],
                "y_val": shape(self.y_val),
            },
            "dtypes": {
                "x": [str(a.dtype) for a in self.x_train],
                "y": str(self.y_train.dtype),
            },
        }


# --------------------------------------------------------------------------- helpers

def _fmt_shape(shape) -> str:
    shape = tuple(shape)
    return str(tuple(None if d is None else int(d) for d in shape))


def _is_int_dtype(dtype: str) -> bool:
    try:
        return np.issubdtype(np.dtype(dtype), np.integer)
    except TypeError:
        return False


def _np_dtype(dtype: str) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError:           # e.g. "bfloat16": numpy has no such type; Keras casts
        return np.dtype("float32")


def _activation(output: OutputSpec) -> str:
    return (output.activation or "linear").lower()


def _check_common(inputs, output) -> None:
    if not inputs:
        raise DataError("the model has no inputs to feed")
    if not isinstance(output.width, (int, np.integer)) or output.width < 1:
        raise DataError(f"the model's output width {output.width!r} is not a positive size")


def _check_max_samples(max_samples) -> None:
    if max_samples is not None and (not isinstance(max_samples, (int, np.integer))
                                    or max_samples < 1):
        raise DataError(f"max_samples must be a positive integer (got {max_samples!r})")


def _n_val(n: int, frac: float) -> int:
    # like scikit-learn's train_test_split: the validation share is rounded up
    return int(math.ceil(n * frac - 1e-9))


def _chance(task: str, y_val: np.ndarray) -> float:
    if task == "regression" or len(y_val) == 0:
        return 0.0
    _, counts = np.unique(y_val, return_counts=True)
    return float(counts.max() / y_val.size)


# --------------------------------------------------------------------------- load_npz

def _sniff(path: str) -> None:
    """Refuse what is not a zip archive before numpy reads it (a .npy would be read
    whole; a pickle is never loaded)."""
    if not os.path.exists(path):
        raise DataError(f"{path}: no such file")
    if os.path.isdir(path):
        raise DataError(f"{path}: is a directory, not an .npz file")
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError as exc:
        raise DataError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not head:
        raise DataError(f"{path}: is empty, not an .npz archive")
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return
    if head.startswith(b"\x93NUMPY"):
        raise DataError(f"{path}: is a single .npy array, not an .npz archive; save the "
                        f"arrays with np.savez(path, x_train=..., y_train=..., x_val=..., y_val=...)")
    if head[:1] == b"\x80":
        raise DataError(f"{path}: is a pickle, not an .npz archive; pickles are not loaded")
    raise DataError(f"{path}: not an .npz archive (no zip header)")


def _key_candidates(prefix: str, index: int, spec: InputSpec, single: bool) -> list[str]:
    keys = [prefix] if single else []
    keys += [f"{prefix}_{spec.name}", f"{prefix}_{index}"]
    return keys


def _expected_names(prefix: str, inputs) -> list[str]:
    if len(inputs) == 1:
        return [prefix]
    return [f"{prefix}_{spec.name}" for spec in inputs]


def _resolve_keys(path: str, files: list[str], inputs) -> tuple[str, dict]:
    """Which arrays to read: ("explicit", {role: key}) or ("split", {...})."""
    single = len(inputs) == 1
    present = set(files)

    def pick(prefix, i, spec):
        for k in _key_candidates(prefix, i, spec, single):
            if k in present:
                return k
        return None

    modes = {}
    for mode, xs, ys in (("explicit", ("x_train", "x_val"), ("y_train", "y_val")),
                         ("split", ("x",), ("y",))):
        found, missing = {}, []
        for prefix in xs:
            for i, spec in enumerate(inputs):
                k = pick(prefix, i, spec)
                role = (prefix, i)
                if k is None:
                    missing.append(_key_candidates(prefix, i, spec, single)[0])
                else:
                    found[role] = k
        for yk in ys:
            if yk in present:
                found[(yk, None)] = yk
            else:
                missing.append(yk)
        modes[mode] = (found, missing)

    for mode in ("explicit", "split"):
        found, missing = modes[mode]
        if not missing:
            return mode, found

    exp_found, exp_missing = modes["explicit"]
    spl_found, spl_missing = modes["split"]
    expected = ", ".join(_expected_names("x_train", inputs) + ["y_train"]
                         + _expected_names("x_val", inputs) + ["y_val"])
    expected_split = ", ".join(_expected_names("x", inputs) + ["y"])
    if len(inputs) > 1:
        expected_split += "; index suffixes _0, _1, ... also work"
    has = ", ".join(sorted(files)) if files else "no arrays"
    if exp_found or spl_found:
        missing = exp_missing if len(exp_found) >= len(spl_found) else spl_missing
        raise DataError(f"{path}: missing array(s) {', '.join(missing)}; expected {expected} "
                        f"(or {expected_split}); the file has {has}")
    raise DataError(f"{path}: missing arrays: expected {expected} (or {expected_split}); "
                    f"the file has {has}")


def _read(path: str, npz, key: str) -> np.ndarray:
    try:
        arr = npz[key]
    except ValueError as exc:
        if "pickle" in str(exc).lower() or "object" in str(exc).lower():
            raise DataError(f"{path}: {key} contains pickled objects, which are not loaded") from None
        raise DataError(f"{path}: {key} could not be read ({exc})") from None
    except (OSError, EOFError, zipfile.BadZipFile, KeyError) as exc:
        raise DataError(f"{path}: {key} could not be read ({exc})") from None
    if not isinstance(arr, np.ndarray):
        raise DataError(f"{path}: {key} is not a numpy array")
    if arr.dtype.hasobject:     # defensive: allow_pickle=False already refuses these
        raise DataError(f"{path}: {key} contains pickled objects, which are not loaded")
    if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == np.bool_) \
            or np.issubdtype(arr.dtype, np.complexfloating):
        raise DataError(f"{path}: {key} has dtype {arr.dtype}; expected real numbers")
    if arr.ndim == 0:
        raise DataError(f"{path}: {key} is a single number, not an array of samples")
    return arr


def _check_finite(path: str, key: str, arr: np.ndarray) -> None:
    if not np.issubdtype(arr.dtype, np.floating):
        return
    bad = ~np.isfinite(arr)
    if bad.any():
        n_nan = int(np.isnan(arr).sum())
        n_inf = int(bad.sum()) - n_nan
        parts = [p for p in (f"{n_nan} NaN" if n_nan else "", f"{n_inf} inf" if n_inf else "") if p]
        raise DataError(f"{path}: {key} contains {int(bad.sum())} non-finite values "
                        f"({', '.join(parts)})")


def _check_x(path: str, key: str, arr: np.ndarray, spec: InputSpec) -> np.ndarray:
    expected = tuple(spec.shape)
    given = arr.shape[1:]
    if len(given) != len(expected) or any(e is not None and int(e) != g
                                          for e, g in zip(expected, given)):
        raise DataError(f"{path}: {key} has shape {_fmt_shape(arr.shape)} per sample "
                        f"{_fmt_shape(given)}; the model input '{spec.name}' expects "
                        f"{_fmt_shape(expected)}")
    if len(arr) == 0:
        raise DataError(f"{path}: {key} has no samples")
    _check_finite(path, key, arr)
    target = _np_dtype(spec.dtype)
    if np.issubdtype(target, np.integer):
        if np.issubdtype(arr.dtype, np.floating):
            frac = arr != np.round(arr)
            if frac.any():
                example = arr[frac].flat[0]
                raise DataError(f"{path}: {key} holds non-integer values (e.g. {example:g}) but "
                                f"the model input '{spec.name}' takes integer token ids")
        if arr.size:
            lo, hi = arr.min(), arr.max()
            if spec.vocab is not None:
                bad = lo if lo < 0 else (hi if hi >= spec.vocab else None)
                if bad is not None:
                    raise DataError(f"{path}: token id {int(bad)} in {key} is outside the "
                                    f"vocabulary of {int(spec.vocab)} of the model input "
                                    f"'{spec.name}' (ids must be in [0, {int(spec.vocab)}))")
            info = np.iinfo(target)
            if lo < info.min or hi > info.max:
                raise DataError(f"{path}: {key} has values outside the range of {target} "
                                f"(the dtype of the model input '{spec.name}')")
        return arr.astype(target)
    with np.errstate(over="ignore"):
        out = arr.astype(target)
    if np.issubdtype(out.dtype, np.floating) and not np.isfinite(out).all():
        raise DataError(f"{path}: {key} has values too large for {target} "
                        f"(the dtype of the model input '{spec.name}')")
    return out


def _label_array(path: str, key: str, y: np.ndarray, width: int) -> np.ndarray:
    if len(y) == 0:
        raise DataError(f"{path}: {key} has no samples")
    if y.ndim > 2 or (y.ndim == 2 and y.shape[1] != 1 and y.shape[1] != width):
        per = _fmt_shape(y.shape[1:])
        raise DataError(f"{path}: {key} has shape {_fmt_shape(y.shape)}, {per} per sample; "
                        f"the model's output has {width} value(s) per sample (give integer "
                        f"labels, one-hot rows of {width}, or {width} target(s) per sample)")
    _check_finite(path, key, y)
    if y.dtype == np.bool_:
        y = y.astype(np.int64)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y.reshape(len(y))
    return y


def _is_integral(a: np.ndarray) -> bool:
    if not np.issubdtype(a.dtype, np.floating):
        return True
    return bool(np.all(a == np.round(a)))


def _is_one_hot(a: np.ndarray) -> bool:
    return bool(np.isin(a, (0, 1)).all() and np.all(a.sum(axis=1) == 1))


def _range_check(path: str, ys: dict, act: str) -> None:
    limits = {"sigmoid": (0.0, 1.0), "hard_sigmoid": (0.0, 1.0), "tanh": (-1.0, 1.0),
              "relu": (0.0, None), "softplus": (0.0, None), "relu6": (0.0, 6.0),
              "exponential": (0.0, None)}
    if act not in limits:
        return
    lo, hi = limits[act]
    for key, y in ys.items():
        below = y[y < lo]
        above = y[y > hi] if hi is not None else y[:0]
        if not (below.size or above.size):
            continue
        value = below.flat[0] if below.size else above.flat[0]
        if hi is None:
            raise DataError(f"{path}: target {value:g} in {key} is below {lo:g}, which the "
                            f"model's {act} output never gives")
        raise DataError(f"{path}: target {value:g} in {key} is outside [{lo:g}, {hi:g}], the "
                        f"range of the model's {act} output")


def _labels(path: str, y_train: np.ndarray, y_val: np.ndarray, output: OutputSpec):
    """(task, n_classes, y_train, y_val) from the raw target arrays."""
    if output.steps:
        return _step_labels(path, y_train, y_val, output)
    width = int(output.width)
    act = _activation(output)
    ys = {"y_train": _label_array(path, "y_train", y_train, width),
          "y_val": _label_array(path, "y_val", y_val, width)}
    if ys["y_train"].ndim != ys["y_val"].ndim or \
            ys["y_train"].shape[1:] != ys["y_val"].shape[1:]:
        raise DataError(f"{path}: y_train has shape {_fmt_shape(ys['y_train'].shape)} but y_val "
                        f"has {_fmt_shape(ys['y_val'].shape)}; both need the same label format")

    # one-hot (or multi-column) targets
    if width >= 2 and ys["y_train"].ndim == 2 and ys["y_train"].shape[1] == width:
        if all(_is_one_hot(y) for y in ys.values()):
            return ("classification", width,
                    ys["y_train"].argmax(axis=1).astype(np.int64),
                    ys["y_val"].argmax(axis=1).astype(np.int64))
        if act == "softmax":
            for key, y in ys.items():
                if not _is_one_hot(y):
                    row = int(np.flatnonzero(~(np.isin(y, (0, 1)).all(axis=1)
                                               & (y.sum(axis=1) == 1)))[0])
                    raise DataError(f"{path}: {key} row {row} is not one-hot; the model's "
                                    f"softmax output needs one class per sample (integer labels "
                                    f"or one-hot rows of {width})")
        _range_check(path, ys, act)
        return ("regression", None, ys["y_train"].astype(np.float32),
                ys["y_val"].astype(np.float32))

    ys = {k: y.reshape(len(y)) for k, y in ys.items()}
    integral = all(_is_integral(y) for y in ys.values())

    if integral:
        if width >= 2:
            for key, y in ys.items():
                bad = y[(y < 0) | (y >= width)]
                if bad.size:
                    raise DataError(f"{path}: label {int(bad.flat[0])} in {key} is outside "
                                    f"the model's {width} outputs (labels must be 0..{width - 1})")
            return ("classification", width, ys["y_train"].astype(np.int64),
                    ys["y_val"].astype(np.int64))
        if all(np.isin(y, (0, 1)).all() for y in ys.values()):
            return ("binary", 2, ys["y_train"].astype(np.float32), ys["y_val"].astype(np.float32))
        if act in ("sigmoid", "softmax"):
            for key, y in ys.items():
                bad = y[~np.isin(y, (0, 1))]
                if bad.size:
                    what = ("a single softmax output always gives 1.0" if act == "softmax"
                            else "the model's single sigmoid output gives 0..1")
                    raise DataError(f"{path}: label {int(bad.flat[0])} in {key} is not 0 or 1, "
                                    f"but {what}")
        # integer targets with one linear-ish output: a regression (counts, scores)
        _range_check(path, ys, act)
        return ("regression", None, ys["y_train"].astype(np.float32),
                ys["y_val"].astype(np.float32))

    # non-integral scalar targets: a regression
    example = next(y[y != np.round(y)].flat[0] for y in ys.values()
                   if (y != np.round(y)).any())
    if act == "softmax":
        raise DataError(f"{path}: the targets are non-integer numbers (e.g. {example:g}), a "
                        f"regression, but the model's output is a softmax over {width} classes")
    if width != 1:
        raise DataError(f"{path}: the targets are one non-integer number per sample (e.g. "
                        f"{example:g}), a regression, but the model has {width} outputs")
    _range_check(path, ys, act)
    return ("regression", None, ys["y_train"].astype(np.float32), ys["y_val"].astype(np.float32))


def _step_labels(path: str, y_train: np.ndarray, y_val: np.ndarray, output: OutputSpec):
    """Per-step class labels (n, steps), or one-hot (n, steps, width), for a per-step output."""
    steps, width = int(output.steps), int(output.width)
    out = []
    for key, y in (("y_train", y_train), ("y_val", y_val)):
        y = np.asarray(y)
        if y.ndim == 3 and y.shape[1:] == (steps, width) and _is_one_hot(y.reshape(-1, width)):
            y = y.argmax(axis=2)
        if y.ndim != 2 or y.shape[1] != steps or not _is_integral(y):
            raise DataError(f"{path}: {key} has shape {_fmt_shape(y.shape)}; the model outputs "
                            f"{steps} steps × {width} classes, so it needs integer labels of shape "
                            f"(n, {steps}) or one-hot labels of shape (n, {steps}, {width})")
        bad = y[(y < 0) | (y >= width)]
        if bad.size:
            raise DataError(f"{path}: label {int(bad.flat[0])} in {key} is outside the model's "
                            f"{width} outputs (labels must be 0..{width - 1})")
        out.append(y.astype(np.int64))
    return ("classification", width, out[0], out[1])


def _digit_strips(inputs: list, output: OutputSpec, seed: int, max_samples: int | None) -> Dataset:
    """Per-step outputs (a CRNN reader): k digits side by side, one label per output step.

    Output step t reads the t-th slice of the image width, so its label is the digit under
    that slice: a model that reads the columns left to right can learn it.
    """
    from sklearn.datasets import load_digits

    specs = [spec for spec in inputs if _input_kind(spec)[0] == "image"]
    if len(inputs) != 1 or not specs:
        raise DataError("the built-in task for a per-step output needs one image input")
    spec = specs[0]
    kind, per = _input_kind(spec)
    size = dict(zip(per, _dims(spec, kind, per)))
    h, w, channels, steps = size["H"], size["W"], size.get("C", 1), int(output.steps)
    k = max((c for c in range(1, 9) if steps % c == 0 and w % c == 0),
            key=lambda c: (-abs(w / c - h), c))
    digits = load_digits()
    keep = np.flatnonzero(digits.target < min(int(output.width), 10))
    images, target = digits.images[keep] / 16.0, digits.target[keep].astype(np.int64)
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(keep))
    n_val = _n_val(len(keep), 0.2)
    splits = {"val": perm[:n_val], "train": perm[n_val:]}
    if max_samples is not None:
        splits = {name: idx[:max_samples] for name, idx in splits.items()}
    cells = _resize2d(images, h, w // k)  # (n, h, w/k)
    arrays = {}
    for name, idx in splits.items():
        others = rng.choice(idx, size=(len(idx), k - 1)) if k > 1 else np.zeros((len(idx), 0), int)
        order = np.concatenate([idx[:, None], others], axis=1)          # (n, k) digits
        strip = np.concatenate([cells[order[:, j]] for j in range(k)], axis=2)  # (n, h, w)
        x = np.repeat(strip[..., None], channels, axis=-1)
        x = _arrange(x, "HWC", per) if "C" in per else x[..., 0]
        y = target[order][:, np.arange(steps) * k // steps]          # (n, steps)
        arrays[name] = (x.astype(_np_dtype(spec.dtype)), y)
    desc = (f"built-in task 'digits' (strips): {k} scikit-learn digits side by side in "
            f"{h}×{w}×{channels} images, one label per output step for the digit under that "
            f"slice of the width, {len(arrays['train'][1])} train / {len(arrays['val'][1])} "
            f"validation (a built-in task: it tests the architecture, not your data)")
    y_val = arrays["val"][1]
    return Dataset([arrays["train"][0]], arrays["train"][1], [arrays["val"][0]], y_val,
                   "classification", int(min(output.width, 10)), _chance("classification", y_val),
                   desc, True)


def load_npz(path, inputs: list, output: OutputSpec, *, val_split: float = 0.2, seed: int = 0,
             max_samples: int | None = None) -> Dataset:
    """Load and check a user's ``.npz`` training data against the model's inputs and output.

    Keys: ``x_train, y_train, x_val, y_val``, or ``x, y`` (``val_split`` of it is held out
    after a shuffle with ``seed``). Several inputs: ``x_train_<name>`` / ``x_val_<name>`` /
    ``x_<name>`` (or ``_0``, ``_1`` ... by input order). Every problem is a :class:`DataError`.
    """
    path = os.fspath(path)
    inputs = list(inputs)
    _check_common(inputs, output)
    _check_max_samples(max_samples)
    if not (0.0 < float(val_split) < 1.0):
        raise DataError(f"val_split must be between 0 and 1 (got {val_split!r})")

    _sniff(path)
    try:
        npz = np.load(path, allow_pickle=False)
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a readable .npz archive ({exc})") from None
    if not isinstance(npz, np.lib.npyio.NpzFile):   # cannot happen after _sniff; be sure
        raise DataError(f"{path}: not an .npz archive")

    with npz:
        mode, keys = _resolve_keys(path, list(npz.files), inputs)
        arrays = {role: _read(path, npz, key) for role, key in keys.items()}

    names = dict(keys)  # role -> key, for messages
    rng = np.random.default_rng(seed)
    if mode == "explicit":
        parts = {}
        for split in ("train", "val"):
            xs = [arrays[(f"x_{split}", i)] for i in range(len(inputs))]
            y = arrays[(f"y_{split}", None)]
            _check_lengths(path, [names[(f"x_{split}", i)] for i in range(len(inputs))], xs,
                           f"y_{split}", y)
            xs = [_check_x(path, names[(f"x_{split}", i)], a, spec)
                  for i, (a, spec) in enumerate(zip(xs, inputs))]
            parts[split] = (xs, y)
        (xt, yt), (xv, yv) = parts["train"], parts["val"]
        task, n_classes, yt, yv = _labels(path, yt, yv, output)
        pt, pv = rng.permutation(len(yt)), rng.permutation(len(yv))
        how = "x_train/x_val as given"
    else:
        xs = [arrays[("x", i)] for i in range(len(inputs))]
        y = arrays[("y", None)]
        _check_lengths(path, [names[("x", i)] for i in range(len(inputs))], xs, "y", y)
        xs = [_check_x(path, names[("x", i)], a, spec) for i, (a, spec) in enumerate(zip(xs, inputs))]
        n = len(y)
        n_val = _n_val(n, float(val_split))
        if n_val < 1 or n - n_val < 1:
            raise DataError(f"{path}: x has {n} sample(s), too few to split {float(val_split):.0%} "
                            f"off for validation (each split needs at least one)")
        perm = rng.permutation(n)
        iv, it = perm[:n_val], perm[n_val:]
        xt, xv = [a[it] for a in xs], [a[iv] for a in xs]
        task, n_classes, yt, yv = _labels(path, y[it], y[iv], output)
        pt, pv = np.arange(len(yt)), np.arange(len(yv))   # already shuffled
        how = f"{float(val_split):.0%} of x, y held out with seed {seed}"

    if max_samples is not None:
        pt, pv = pt[:max_samples], pv[:max_samples]
    xt, xv = [a[pt] for a in xt], [a[pv] for a in xv]
    yt, yv = yt[pt], yv[pv]

    kind = {"classification": f"{n_classes} classes", "binary": "binary labels",
            "regression": "regression targets"}[task]
    cap = f", capped at {max_samples} per split" if max_samples is not None else ""
    desc = (f"{path}: {len(yt)} train / {len(yv)} validation samples ({how}{cap}), {kind}")
    return Dataset(x_train=xt, y_train=yt, x_val=xv, y_val=yv, task=task, n_classes=n_classes,
                   chance=_chance(task, yv), description=desc, builtin=False)


def _check_lengths(path: str, xkeys: list[str], xs: list, ykey: str, y: np.ndarray) -> None:
    for key, a in zip(xkeys, xs):
        if len(a) != len(y):
            raise DataError(f"{path}: {key} has {len(a)} samples but {ykey} has {len(y)}")


# --------------------------------------------------------------------------- built-in task

_ALLOWED = {"image": ({"H", "W", "C"}, {"H", "W"}), "clip": ({"T", "H", "W", "C"}, {"T", "H", "W"}),
            "sequence": ({"T", "F"},), "vector": ({"F"},)}


def _input_kind(spec: InputSpec) -> tuple[str, str]:
    """(kind, per-sample role letters) for generating built-in data for one input.

    Roles (with the batch letter first) decide when they fit the shape; else the rank does:
    1 vector, 2 sequence, 3 image (H, W, C), 4 clip (T, H, W, C). Integer inputs are tokens.
    """
    shape = tuple(spec.shape)
    rank = len(shape)
    if _is_int_dtype(spec.dtype) or spec.vocab is not None:
        return "token", ""
    roles = (spec.roles or "").upper()
    per = roles[1:] if len(roles) == rank + 1 and roles[:1] == "N" else ""
    if per and len(set(per)) == len(per):
        if {"H", "W"} <= set(per):
            kind = "clip" if "T" in per else "image"
            per = per.replace("F", "C")
        elif rank == 2:
            kind, per = "sequence", per.replace("C", "F")
        elif rank == 1:
            kind, per = "vector", "F"
        else:
            kind = ""
        if kind and set(per) in _ALLOWED[kind]:
            return kind, per
    fallback = {1: ("vector", "F"), 2: ("sequence", "TF"), 3: ("image", "HWC"),
                4: ("clip", "THWC")}
    if rank not in fallback:
        raise DataError(f"the built-in task cannot feed the model input '{spec.name}' of shape "
                        f"{_fmt_shape(shape)} (rank {rank}); give your own data")
    return fallback[rank]


def _dims(spec: InputSpec, kind: str, per: str) -> list[int]:
    """Concrete per-sample shape; None dims get the native digit size: 8 rows/columns/
    features, 1 channel, 4 clip frames, 8 sequence steps (the 8 rows), 64 tokens."""
    defaults = {"H": 8, "W": 8, "F": 8, "C": 1, "T": 4 if kind == "clip" else 8}
    out = []
    for i, dim in enumerate(tuple(spec.shape)):
        if dim is None:
            out.append((64 if i == 0 else 1) if kind == "token" else defaults[per[i]])
        elif int(dim) < 1:
            raise DataError(f"the model input '{spec.name}' has a dimension of size {dim}")
        else:
            out.append(int(dim))
    return out


def _resize_matrix(n_out: int, n_in: int) -> np.ndarray:
    """Rows of weights resizing a length-n_in axis to n_out: bilinear (half-pixel centres)
    when enlarging, area averaging when shrinking."""
    if n_out == n_in:
        return np.eye(n_in)
    m = np.zeros((n_out, n_in))
    if n_out > n_in:
        pos = np.clip((np.arange(n_out) + 0.5) * n_in / n_out - 0.5, 0, n_in - 1)
        lo = np.floor(pos).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        frac = pos - lo
        rows = np.arange(n_out)
        np.add.at(m, (rows, lo), 1 - frac)
        np.add.at(m, (rows, hi), frac)
        return m
    scale = n_in / n_out
    for i in range(n_out):
        a, b = i * scale, (i + 1) * scale
        for j in range(int(math.floor(a)), min(int(math.ceil(b)), n_in)):
            overlap = min(b, j + 1) - max(a, j)
            if overlap > 0:
                m[i, j] = overlap / scale
    return m


def _resize2d(imgs: np.ndarray, h: int, w: int) -> np.ndarray:
    """(n, 8, 8) -> (n, h, w)."""
    return _resize_matrix(h, imgs.shape[1]) @ imgs @ _resize_matrix(w, imgs.shape[2]).T


def _arrange(canon_arr: np.ndarray, canon: str, per: str) -> np.ndarray:
    """(n, *canon axes) -> (n, *per axes)."""
    return np.transpose(canon_arr, [0] + [1 + canon.index(letter) for letter in per])


def _fmt_dims(*dims) -> str:
    return "×".join(str(d) for d in dims)


def builtin_task(inputs: list, output: OutputSpec, *, name: str = "digits", seed: int = 0,
                 max_samples: int | None = None) -> Dataset:
    """A small labelled task shaped to the model's inputs, to test the architecture.

    ``digits``: scikit-learn's 1797 8×8 digit images (no download), resized to each input;
    a clip input gets sequences of digit frames labelled by the *last* frame; several
    inputs all show the same underlying digit.
    """
    inputs = list(inputs)
    _check_common(inputs, output)
    _check_max_samples(max_samples)
    if name not in BUILTIN_TASKS:
        raise DataError(f"unknown built-in task '{name}'; available: {', '.join(BUILTIN_TASKS)}")
    try:
        from sklearn.datasets import load_digits
    except ImportError:
        raise DataError("the built-in task needs scikit-learn: pip install scikit-learn") from None

    if output.steps:
        return _digit_strips(inputs, output, seed, max_samples)
    digits = load_digits()
    raw = np.asarray(digits.images, dtype=np.float64)      # (1797, 8, 8), 0..16
    target = np.asarray(digits.target, dtype=np.int64)
    width = int(output.width)

    if width >= 10:
        keep = np.arange(len(target))
        task, n_classes = "classification", 10
        labels = target
        classes = "10 classes"
    elif width >= 2:
        keep = np.flatnonzero(target < width)
        task, n_classes = "classification", width
        labels = target[keep]
        classes = f"digits 0–{width - 1} only ({width} classes, one per model output)"
    else:
        keep = np.arange(len(target))
        task, n_classes = "binary", 2
        labels = (target >= 5).astype(np.float32)
        classes = "binary label 'is the digit ≥ 5'"
    raw = raw[keep]
    n = len(raw)

    rng = np.random.default_rng(seed)
    perm = rng.permutation(n)
    n_val = _n_val(n, 0.2)
    idx_val, idx_train = perm[:n_val], perm[n_val:]
    if max_samples is not None:
        idx_train, idx_val = idx_train[:max_samples], idx_val[:max_samples]

    kinds = [_input_kind(spec) for spec in inputs]
    dims = [_dims(spec, kind, per) for spec, (kind, per) in zip(inputs, kinds)]
    sizes = [dict(zip(per, d)) for (kind, per), d in zip(kinds, dims)]   # letter -> size

    # memory guard before rendering
    total = 0
    for spec, d in zip(inputs, dims):
        total += int(np.prod(d or [1])) * _np_dtype(spec.dtype).itemsize
    total *= len(idx_train) + len(idx_val)
    if total > _MAX_BUILTIN_BYTES:
        raise DataError(f"the built-in data for these inputs would take {total / 1024 ** 3:.1f} GiB; "
                        f"pass a smaller max_samples")

    # distractor frames for clip inputs: random digits from the same split
    n_frames = max([s["T"] for (k, _), s in zip(kinds, sizes) if k == "clip"] or [1])
    distract = {}
    for split, idx in (("train", idx_train), ("val", idx_val)):
        distract[split] = rng.choice(idx, size=(len(idx), n_frames - 1)) if n_frames > 1 \
            else np.zeros((len(idx), 0), dtype=np.int64)

    scaled = raw / 16.0
    resized_cache: dict = {}

    def frames(h, w):
        if (h, w) not in resized_cache:
            resized_cache[(h, w)] = _resize2d(scaled, h, w)
        return resized_cache[(h, w)]

    def render(spec, kind, per, shape, idx, dis):
        dtype = _np_dtype(spec.dtype)
        size = dict(zip(per, shape))
        if kind == "token":
            length = int(np.prod(shape or [1]))
            flat = raw.reshape(n, 64)
            tok = np.rint(flat @ _resize_matrix(length, 64).T)
            if spec.vocab is not None:
                tok = np.clip(tok, 0, int(spec.vocab) - 1)
            return tok[idx].reshape([len(idx)] + list(shape)).astype(dtype)
        if kind == "vector":
            flat = scaled.reshape(n, 64) @ _resize_matrix(size["F"], 64).T
            return flat[idx].astype(dtype)
        if kind == "sequence":
            seq = frames(size["T"], size["F"])[idx]
            return _arrange(seq, "TF", per).astype(dtype)
        channels = size.get("C", 1)
        img = frames(size["H"], size["W"])
        if kind == "image":
            arr = np.repeat(img[idx][..., None], channels, axis=-1)
            canon = "HWC" if "C" in per else "HW"
            if canon == "HW":
                arr = arr[..., 0]
            return _arrange(arr, canon, per).astype(dtype)
        # clip: T-1 random digits, then the sample's own digit last
        t = size["T"]
        order = np.concatenate([dis[:, dis.shape[1] - (t - 1):] if t > 1 else dis[:, :0],
                                idx[:, None]], axis=1)            # (n, T)
        arr = np.repeat(img[order][..., None], channels, axis=-1)  # (n, T, H, W, C)
        canon = "THWC" if "C" in per else "THW"
        if canon == "THW":
            arr = arr[..., 0]
        return _arrange(arr, canon, per).astype(dtype)

    x_train, x_val = [], []
    for spec, (kind, per), shape in zip(inputs, kinds, dims):
        x_train.append(render(spec, kind, per, shape, idx_train, distract["train"]))
        x_val.append(render(spec, kind, per, shape, idx_val, distract["val"]))
    y_train, y_val = labels[idx_train], labels[idx_val]

    phrases = []
    for spec, (kind, per), size, shape in zip(inputs, kinds, sizes, dims):
        if kind == "image":
            dims = _fmt_dims(size["H"], size["W"], size.get("C", 1))
            first = per.index("C") < per.index("H") if "C" in per else False
            phrases.append(f"resized to {dims}" + (" (channels first)" if first else ""))
        elif kind == "clip":
            t = size["T"]
            phrases.append(
                f"as clips of {t} frames of {_fmt_dims(size['H'], size['W'], size.get('C', 1))} "
                f"labelled by the digit in the last frame (the {t - 1} earlier frames are random "
                f"digits, so a model that ignores frame order cannot solve it)")
        elif kind == "sequence":
            phrases.append(f"as sequences of {size['T']} steps × {size['F']} features "
                           f"(image rows as time steps)")
        elif kind == "vector":
            phrases.append(f"flattened to {size['F']} values")
        else:
            length = int(np.prod(shape or [1]))
            vocab = (f", clipped to the vocabulary of {int(spec.vocab)}"
                     if spec.vocab is not None else "")
            phrases.append(f"as {length} integer tokens (pixel intensities 0–16{vocab})")
    if len(inputs) == 1:
        shown = phrases[0]
    else:
        shown = "given to every input as the same digit: " + "; ".join(
            f"input '{spec.name}' {p}" for spec, p in zip(inputs, phrases))
    cap = f", capped at {max_samples} per split" if max_samples is not None else ""
    desc = (f"built-in task '{name}': {n} scikit-learn digit images {shown}, {classes}, "
            f"{len(y_train)} train / {len(y_val)} validation{cap} "
            f"(a built-in task: it tests the architecture, not your data)")
    return Dataset(x_train=x_train, y_train=y_train, x_val=x_val, y_val=y_val, task=task,
                   n_classes=n_classes, chance=_chance(task, y_val), description=desc,
                   builtin=True)
