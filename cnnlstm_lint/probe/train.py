"""Train one variant for one seed, briefly, under a shared deadline (Keras 3 APIs only).

Everything that imports Keras is here or in rebuild.py; `prepare_backend` must run before
the first Keras import so that `--device cpu` can hide GPUs from the backend.
"""

from __future__ import annotations

import math
import os
import time
from typing import Callable

from ..graph import ModelGraph
from .dataset import Dataset
from .rebuild import BudgetExhausted, ProbeError, keras_model
from .results import RunResult


def prepare_backend(device: str, mixed_precision: bool = False) -> dict:
    """Choose the device; return what the report records about backend and versions."""
    backend = os.environ.get("KERAS_BACKEND", "tensorflow")
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras

    gpus = _gpu_count(backend)
    if device == "gpu" and gpus == 0:
        raise ProbeError(f"--device gpu, but the {backend} backend sees no GPU")
    info = {"backend": backend, "device": "gpu" if gpus and device != "cpu" else "cpu",
            "gpus": gpus if device != "cpu" else 0, "keras": keras.__version__,
            backend: _version(backend), "mixed_precision": False}
    if mixed_precision and info["device"] == "gpu":
        keras.mixed_precision.set_global_policy("mixed_float16")
        info["mixed_precision"] = True
    return info


def _version(module: str) -> str:
    try:
        return __import__(module).__version__
    except Exception:  # a backend without __version__ is still usable
        return "unknown"


def _gpu_count(backend: str) -> int:
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            return len(tf.config.list_physical_devices("GPU"))
        if backend == "jax":
            import jax

            return sum(d.platform == "gpu" for d in jax.devices())
        if backend == "torch":
            import torch

            return torch.cuda.device_count()
    except Exception:  # no usable accelerator stack: train on the CPU
        return 0
    return 0


def _distribution_scope(info: dict):
    """MirroredStrategy across several GPUs on TensorFlow; otherwise nothing."""
    import contextlib

    if info["backend"] == "tensorflow" and info["gpus"] > 1:
        import tensorflow as tf

        return tf.distribute.MirroredStrategy().scope()
    return contextlib.nullcontext()


def compile_model(model, dataset: Dataset, activation: str, compile_config: dict | None) -> None:
    import keras

    optimizer = keras.optimizers.Adam(1e-3)
    spec = (compile_config or {}).get("optimizer")
    if isinstance(spec, dict) and str(spec.get("module", "keras")).startswith("keras"):
        try:  # the model's own optimizer settings, fresh state
            optimizer = keras.optimizers.deserialize(spec)
        except Exception:  # an optimizer Keras cannot rebuild: fall back to Adam
            optimizer = keras.optimizers.Adam(1e-3)
    if dataset.task == "classification":
        loss = keras.losses.SparseCategoricalCrossentropy(from_logits=activation != "softmax")
        metric = keras.metrics.SparseCategoricalAccuracy(name="metric")
    elif dataset.task == "binary":
        logits = activation != "sigmoid"
        loss = keras.losses.BinaryCrossentropy(from_logits=logits)
        metric = keras.metrics.BinaryAccuracy(name="metric", threshold=0.0 if logits else 0.5)
    else:
        loss = keras.losses.MeanSquaredError()
        metric = keras.metrics.R2Score(name="metric")
    model.compile(optimizer=optimizer, loss=loss, metrics=[metric])


def _callbacks(deadline: float, on_epoch: Callable[[int, dict], None] | None, patience: int):
    import keras

    class Deadline(keras.callbacks.Callback):
        """Stop at the shared deadline, between batches, and remember that it did."""

        hit = False

        def _check(self):
            if time.monotonic() > deadline:
                self.hit = True
                self.model.stop_training = True

        def on_train_batch_end(self, batch, logs=None):
            self._check()

        def on_epoch_end(self, epoch, logs=None):
            if on_epoch:
                on_epoch(epoch, logs or {})
            self._check()

    stopper = Deadline()
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=patience,
                                          restore_best_weights=True)
    return stopper, [early, stopper]


def train_run(graph: ModelGraph, variant: str, dataset: Dataset, seed: int, *, info: dict,
              epochs: int, batch_size: int, deadline: float, activation: str,
              compile_config: dict | None = None, patience: int = 3,
              on_epoch: Callable[[int, dict], None] | None = None,
              extra_callbacks: list | None = None) -> RunResult:
    import keras

    keras.utils.set_random_seed(seed)  # same seed, same initial weights and batch order
    started = time.monotonic()
    with _distribution_scope(info):
        model = keras_model(graph, name=variant.replace(":", "_"))
        compile_model(model, dataset, activation, compile_config)
    stopper, callbacks = _callbacks(deadline, on_epoch, patience)
    x_train = dataset.x_train if len(dataset.x_train) > 1 else dataset.x_train[0]
    x_val = dataset.x_val if len(dataset.x_val) > 1 else dataset.x_val[0]
    history = model.fit(x_train, dataset.y_train, validation_data=(x_val, dataset.y_val),
                        epochs=epochs, batch_size=batch_size, verbose=0, shuffle=True,
                        callbacks=callbacks + list(extra_callbacks or [])).history
    curves = {key: [float(v) for v in history.get(key, [])]
              for key in ("loss", "val_loss", "metric", "val_metric")}
    if not curves["val_loss"]:
        raise BudgetExhausted(f"{variant}: no epoch finished within the budget")
    losses = [v if math.isfinite(v) else math.inf for v in curves["val_loss"]]
    best = losses.index(min(losses))
    return RunResult(variant=variant, seed=seed, history=curves, best_epoch=best,
                     val_metric=_finite(curves["val_metric"][best]),
                     train_metric=_finite(curves["metric"][best]),
                     epochs_run=len(curves["val_loss"]), stopped_by_budget=stopper.hit,
                     seconds=time.monotonic() - started)


def _finite(value: float) -> float:
    """A diverged run scores as badly as possible rather than poisoning the statistics."""
    return value if math.isfinite(value) else 0.0
