"""The probe's built-in task: scikit-learn's digit images shaped to the model's inputs
(images, clips, sequences, vectors, tokens, or strips for a per-step output), to test the
architecture when the user gives no data.

scikit-learn is imported inside :func:`builtin_task` (it ships the digits images, no
download), never at import time. No Keras/TensorFlow.
"""

from __future__ import annotations

import math

import numpy as np

from .dataset import (DataError, Dataset, InputSpec, OutputSpec, chance_level, check_inputs_output,
                      check_max_samples, fmt_shape, np_dtype, val_count)

__all__ = ["BUILTIN_TASKS", "builtin_task"]

BUILTIN_TASKS = ("digits",)

# Built-in data bigger than this is refused (pass max_samples) rather than exhausting memory.
_MAX_BUILTIN_BYTES = 2 * 1024 ** 3


def _is_int_dtype(dtype: str) -> bool:
    try:
        return np.issubdtype(np.dtype(dtype), np.integer)
    except TypeError:
        return False


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
                        f"{fmt_shape(shape)} (rank {rank}); give your own data")
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
    n_val = val_count(len(keep), 0.2)
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
        arrays[name] = (x.astype(np_dtype(spec.dtype)), y)
    desc = (f"built-in task 'digits' (strips): {k} scikit-learn digits side by side in "
            f"{h}×{w}×{channels} images, one label per output step for the digit under that "
            f"slice of the width, {len(arrays['train'][1])} train / {len(arrays['val'][1])} "
            f"validation (a built-in task: it tests the architecture, not your data)")
    y_val = arrays["val"][1]
    return Dataset([arrays["train"][0]], arrays["train"][1], [arrays["val"][0]], y_val,
                   "classification", int(min(output.width, 10)), chance_level("classification", y_val),
                   desc, True)


def builtin_task(inputs: list, output: OutputSpec, *, name: str = "digits", seed: int = 0,
                 max_samples: int | None = None) -> Dataset:
    """A small labelled task shaped to the model's inputs, to test the architecture.

    ``digits``: scikit-learn's 1797 8×8 digit images (no download), resized to each input;
    a clip input gets sequences of digit frames labelled by the *last* frame; several
    inputs all show the same underlying digit.
    """
    inputs = list(inputs)
    check_inputs_output(inputs, output)
    check_max_samples(max_samples)
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
    n_val = val_count(n, 0.2)
    idx_val, idx_train = perm[:n_val], perm[n_val:]
    if max_samples is not None:
        idx_train, idx_val = idx_train[:max_samples], idx_val[:max_samples]

    kinds = [_input_kind(spec) for spec in inputs]
    dims = [_dims(spec, kind, per) for spec, (kind, per) in zip(inputs, kinds)]
    sizes = [dict(zip(per, d)) for (kind, per), d in zip(kinds, dims)]   # letter -> size

    # memory guard before rendering
    total = 0
    for spec, d in zip(inputs, dims):
        total += int(np.prod(d or [1])) * np_dtype(spec.dtype).itemsize
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
        dtype = np_dtype(spec.dtype)
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
                   n_classes=n_classes, chance=chance_level(task, y_val), description=desc,
                   builtin=True)
