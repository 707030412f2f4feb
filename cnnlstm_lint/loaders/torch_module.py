"""An in-memory torch.nn.Module, exported to ONNX in memory and read by the ONNX front end.

The export traces the module with an example input, so the graph shows what forward()
really does with the tensors (permutes, reshapes, batch_first) as a PyTorch ONNX export
shows it. Axis 0 of every example input is exported dynamic under a neutral name: which
axis is the batch is a fact the graph must show (a Conv or pooling reading it), or the
user declares it (`input-roles`), never a default - a time-major nn.LSTM fed (T, N, F) is
correct. torch is imported here only when a module is actually given.

The TorchScript exporter (`dynamo=False`) goes first: in torch 2.13 it keeps the batch
dynamic for every LSTM/GRU layout and takes a fraction of a second, where the
torch.export one specialises the batch to its example size whenever a recurrent layer
reads it as time (the very mistake CL009 is about) or the example has one sample, and
takes seconds. The torch.export exporter (needs onnxscript) is the fallback, for a
torch without the TorchScript one or a module it cannot trace.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import os
import sys
import warnings
from typing import Any

from .errors import LoadError

TS_OPSET = 17
DYNAMO_OPSET = 18
AXIS0 = "axis0"  # dynamic, and named neither batch nor time (onnx_graph's dim-name rules)


class ExportError(LoadError):
    """The module could not be traced or exported; the message is one line."""


def is_torch_module(obj: Any) -> bool:
    """Whether `obj` is a torch.nn.Module, judged by its class' MRO without importing torch."""
    return any(cls.__name__ == "Module" and (cls.__module__ or "") == "torch.nn.modules.module"
               for cls in type(obj).__mro__)


def is_torch_tensor(obj: Any) -> bool:
    return any(cls.__name__ == "Tensor" and (cls.__module__ or "").startswith("torch")
               for cls in type(obj).__mro__)


def is_module_with_example(obj: Any) -> bool:
    """`(module, example_input)`: how a factory or the API hands over a module to trace."""
    return isinstance(obj, tuple) and len(obj) == 2 and is_torch_module(obj[0])


def example_tuple(example: Any) -> tuple:
    """The example as forward()'s positional arguments: a tensor, or a tuple/list of them."""
    items = tuple(example) if isinstance(example, (tuple, list)) else (example,)
    if not items or not all(is_torch_tensor(t) for t in items):
        raise ExportError("the example input must be a torch.Tensor or a tuple of tensors, "
                          f"not {_kind(example)}")
    return items


def example_of_shapes(shapes: list[tuple[int, ...]]) -> tuple:
    """Example inputs of these shapes (float32, fixed random values: a trace of zeros can
    take branches real data never takes)."""
    import torch

    generator = torch.Generator().manual_seed(0)
    return tuple(torch.randn(*shape, generator=generator) for shape in shapes)


def graph_from_module(module: Any, example: Any):
    """The (not yet annotated) ModelGraph of `module` traced with `example`."""
    from .onnx_graph import graph_from_onnx

    proto = export(module, example)
    return graph_from_onnx(proto, f"<torch module {type(module).__name__}>")


def export(module: Any, example: Any):
    """`module` as an onnx.ModelProto, exported in memory in eval mode (its own mode is
    restored afterwards), or ExportError naming the first exporter's reason."""
    import torch

    args = example_tuple(example)
    names = _input_names(module, len(args))
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), _quiet():
            try:
                module(*args)
            except Exception as exc:  # the user's forward() fails on this example
                raise ExportError(f"exporting the module to ONNX failed (forward() on the example "
                                  f"input raised {_reason(exc)})") from None
            first = None
            for exporter in (_export_torchscript, _export_dynamo):
                try:
                    return exporter(torch, module, args, names)
                except Exception as exc:  # try the other exporter; report the first reason
                    first = first or exc
            raise ExportError(f"exporting the module to ONNX failed ({_reason(first)})")
    finally:
        module.train(was_training)


def _export_torchscript(torch, module, args, names):
    import onnx

    buffer = io.BytesIO()
    torch.onnx.export(module, args, buffer, dynamo=False, opset_version=TS_OPSET,
                      input_names=names, dynamic_axes={n: {0: AXIS0} for n in names})
    return onnx.load_from_string(buffer.getvalue())


def _export_dynamo(torch, module, args, names):
    batch = torch.export.Dim(AXIS0)
    program = torch.onnx.export(module, args, dynamo=True, opset_version=DYNAMO_OPSET,
                                input_names=names, dynamic_shapes=tuple({0: batch} for _ in args),
                                verbose=False)
    return program.model_proto


def _input_names(module, count: int) -> list[str]:
    """forward()'s parameter names (what `input-roles` and the messages call the inputs),
    else input_0, input_1, ..."""
    try:
        params = [p.name for p in inspect.signature(module.forward).parameters.values()
                  if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        params = []
    return params[:count] if len(params) >= count else [f"input_{i}" for i in range(count)]


@contextlib.contextmanager
def _quiet():
    """The exporters' deprecation warnings and progress notes, and the TorchScript graph
    the exporter's C++ prints to stdout when it fails, are not the user's business here
    (and would break --format json on stdout)."""
    logger = logging.getLogger("torch.onnx")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()), _fd_to_null(1):
            warnings.simplefilter("ignore")
            yield
    finally:
        logger.setLevel(level)


@contextlib.contextmanager
def _fd_to_null(fd: int):
    """File descriptor `fd` to /dev/null for the duration (where there is one: not in
    every notebook)."""
    try:
        sys.__stdout__.flush()
        saved = os.dup(fd)
    except (AttributeError, OSError, ValueError):
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), fd)
        yield
    finally:
        os.dup2(saved, fd)
        os.close(saved)


def _reason(exc: BaseException | None) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    text = text if len(text) <= 300 else text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _kind(obj: Any) -> str:
    return f"{type(obj).__module__}.{type(obj).__qualname__}" if type(obj).__module__ not in (
        "builtins", None) else type(obj).__name__
