"""A user's ``.npz`` training data for the probe, checked against the model's inputs and
output before anything trains.

Data files are data, possibly hostile: they are read with ``np.load(allow_pickle=False)``
only, so an object array (a pickle inside the archive) is refused, never unpickled.

Only numpy here; no scikit-learn, no Keras/TensorFlow.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

from .dataset import (DataError, Dataset, InputSpec, OutputSpec, chance_level, check_inputs_output,
                      check_max_samples, fmt_shape, np_dtype, val_count)

__all__ = ["load_npz"]


def _activation(output: OutputSpec) -> str:
    return (output.activation or "linear").lower()


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
        raise DataError(f"{path}: {key} has shape {fmt_shape(arr.shape)} per sample "
                        f"{fmt_shape(given)}; the model input '{spec.name}' expects "
                        f"{fmt_shape(expected)}")
    if len(arr) == 0:
        raise DataError(f"{path}: {key} has no samples")
    _check_finite(path, key, arr)
    target = np_dtype(spec.dtype)
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
        per = fmt_shape(y.shape[1:])
        raise DataError(f"{path}: {key} has shape {fmt_shape(y.shape)}, {per} per sample; "
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
        raise DataError(f"{path}: y_train has shape {fmt_shape(ys['y_train'].shape)} but y_val "
                        f"has {fmt_shape(ys['y_val'].shape)}; both need the same label format")

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
            raise DataError(f"{path}: {key} has shape {fmt_shape(y.shape)}; the model outputs "
                            f"{steps} steps × {width} classes, so it needs integer labels of shape "
                            f"(n, {steps}) or one-hot labels of shape (n, {steps}, {width})")
        bad = y[(y < 0) | (y >= width)]
        if bad.size:
            raise DataError(f"{path}: label {int(bad.flat[0])} in {key} is outside the model's "
                            f"{width} outputs (labels must be 0..{width - 1})")
        out.append(y.astype(np.int64))
    return ("classification", width, out[0], out[1])


def load_npz(path, inputs: list, output: OutputSpec, *, val_split: float = 0.2, seed: int = 0,
             max_samples: int | None = None) -> Dataset:
    """Load and check a user's ``.npz`` training data against the model's inputs and output.

    Keys: ``x_train, y_train, x_val, y_val``, or ``x, y`` (``val_split`` of it is held out
    after a shuffle with ``seed``). Several inputs: ``x_train_<name>`` / ``x_val_<name>`` /
    ``x_<name>`` (or ``_0``, ``_1`` ... by input order). Every problem is a :class:`DataError`.
    """
    path = os.fspath(path)
    inputs = list(inputs)
    check_inputs_output(inputs, output)
    check_max_samples(max_samples)
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
        n_val = val_count(n, float(val_split))
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
                   chance=chance_level(task, yv), description=desc, builtin=False)


def _check_lengths(path: str, xkeys: list[str], xs: list, ykey: str, y: np.ndarray) -> None:
    for key, a in zip(xkeys, xs):
        if len(a) != len(y):
            raise DataError(f"{path}: {key} has {len(a)} samples but {ykey} has {len(y)}")
