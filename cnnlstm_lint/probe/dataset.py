"""What the probe trains on, shared by a user's data (user_data.py) and the built-in
task (builtin_task.py): the model's input and output specs, the checked `Dataset`,
`DataError`, and the small checks and numbers both need.

Only numpy here; no scikit-learn, no Keras/TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["DataError", "InputSpec", "OutputSpec", "Dataset", "fmt_shape", "np_dtype",
           "check_inputs_output", "check_max_samples", "val_count", "chance_level"]


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

def fmt_shape(shape) -> str:
    shape = tuple(shape)
    return str(tuple(None if d is None else int(d) for d in shape))


def np_dtype(dtype: str) -> np.dtype:
    try:
        return np.dtype(dtype)
    except TypeError:           # e.g. "bfloat16": numpy has no such type; Keras casts
        return np.dtype("float32")


def check_inputs_output(inputs, output) -> None:
    if not inputs:
        raise DataError("the model has no inputs to feed")
    if not isinstance(output.width, (int, np.integer)) or output.width < 1:
        raise DataError(f"the model's output width {output.width!r} is not a positive size")


def check_max_samples(max_samples) -> None:
    if max_samples is not None and (not isinstance(max_samples, (int, np.integer))
                                    or max_samples < 1):
        raise DataError(f"max_samples must be a positive integer (got {max_samples!r})")


def val_count(n: int, frac: float) -> int:
    # like scikit-learn's train_test_split: the validation share is rounded up
    return int(math.ceil(n * frac - 1e-9))


def chance_level(task: str, y_val: np.ndarray) -> float:
    if task == "regression" or len(y_val) == 0:
        return 0.0
    _, counts = np.unique(y_val, return_counts=True)
    return float(counts.max() / y_val.size)
