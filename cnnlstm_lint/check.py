"""`cnnlstm-lint check models.py:build_model`: lint the model a user's function builds.

This runs the user's own code (it imports the module and calls the function). Keras'
classic rank error — a recurrent layer given a 2-D or 4-D tensor — is turned into a
finding naming the layer, with the remedy, instead of a traceback. A function that
returns a torch.nn.Module gives the example input to trace it with, as
`(module, example_input)` or through `--input-shape`.
"""

from __future__ import annotations

import importlib.util
import os
import re
import sys
from typing import Any

from .findings import Finding
from .graph import Location
from .rules import REGISTRY

RANK_ERROR = re.compile(
    r"Input (?P<index>\d+)(?: with name [\"'][^\"']*[\"'])? of layer [\"'](?P<layer>[^\"']+)[\"'] is incompatible with the layer: "
    r"expected ndim=(?P<expected>\d+), found ndim=(?P<found>\d+)"
    r"(?:\. Full shape received: (?P<shape>\([^)]*\)))?")


class CheckError(Exception):
    """The module or function could not be loaded or run; one line saying why."""


def build(spec: str) -> Any:
    """Import `path/to/file.py:function` (or `package.module:function`) and call it."""
    target, sep, func_name = spec.rpartition(":")
    if not sep or not target or not func_name:
        raise CheckError(f"{spec}: expected MODULE_OR_FILE.py:FUNCTION")
    if target.endswith(".py") or os.sep in target:
        if not os.path.isfile(target):
            raise CheckError(f"{target}: no such file")
        name = f"_cnnlstm_check_{os.path.splitext(os.path.basename(target))[0]}"
        module_spec = importlib.util.spec_from_file_location(name, target)
        module = importlib.util.module_from_spec(module_spec)
        sys.path.insert(0, os.path.dirname(os.path.abspath(target)))
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:  # the user's module failed to import
            raise CheckError(f"{target}: importing it raised {type(exc).__name__}: {exc}") from None
        finally:
            sys.path.pop(0)
    else:
        try:
            module = importlib.import_module(target)
        except Exception as exc:
            raise CheckError(f"{target}: cannot import ({type(exc).__name__}: {exc})") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise CheckError(f"{spec}: {func_name!r} is not a function of {target}")
    return func()


def parse_shape(text: str) -> tuple[int, ...]:
    """`1,3,32,32` (or `(1, 3, 32, 32)`) as a shape of positive sizes."""
    parts = [p.strip() for p in text.strip().strip("()[]").split(",") if p.strip()]
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if not shape or any(n <= 0 for n in shape):
        raise CheckError(f"{text!r} is not a shape: give sizes separated by commas, e.g. 1,3,32,32")
    return shape


def with_example(model: Any, spec: str, shapes: tuple[tuple[int, ...], ...] = ()) -> Any:
    """What to lint: a torch.nn.Module becomes `(module, example_input)`, the example from
    `--input-shape` (which replaces one the function returned) or from the function; other
    models pass through. torch is imported only for a torch module."""
    from .loaders.torch_module import example_of_shapes, is_module_with_example, is_torch_module

    func = spec.rpartition(":")[2]
    if is_module_with_example(model):
        return (model[0], example_of_shapes(list(shapes))) if shapes else model
    if is_torch_module(model):
        if shapes:
            return model, example_of_shapes(list(shapes))
        raise CheckError(f"{spec}: {func}() returned a torch.nn.Module without an example input "
                         "to trace it with: return (module, example_input), or pass "
                         "--input-shape (e.g. --input-shape 1,3,32,32)")
    if shapes:
        raise CheckError(f"{spec}: --input-shape is for a function that returns a "
                         f"torch.nn.Module; {func}() returned {type(model).__name__}")
    return model


def rank_error_finding(exc: BaseException, spec: str) -> Finding | None:
    match = RANK_ERROR.search(str(exc))
    if match is None:
        return None
    layer, found = match["layer"], int(match["found"])
    shape = match["shape"] or f"a {found}-D tensor"
    if found >= 4:
        message = (f"Layer `{layer}` expects (batch, time, features) but receives {shape}: a conv "
                   "feature map (or a clip) reaches the recurrent layer without a time axis of its own.")
        remedy = ("For clips, give the input a time axis and wrap the CNN in TimeDistributed(...) "
                  "so the recurrent layer gets one feature vector per frame; for single images, "
                  "pool the map (GlobalAveragePooling2D() or Flatten() then Dense) instead of a "
                  "recurrent layer. A Reshape((H*W, C)) silences the error but makes the pixels the "
                  "time steps (CL001).")
    else:
        message = (f"Layer `{layer}` expects (batch, time, features) but receives {shape}: flat "
                   "features with no time axis.")
        remedy = ("Feed a sequence: give the input a time axis and run the CNN per step with "
                  "TimeDistributed(...); or drop the recurrent layer for a Dense head. A "
                  "Reshape((1, F)) silences the error but leaves a single step (CL005).")
    rule = REGISTRY["CL003"]  # missing-timedistributed: its code, name and severity
    return Finding(rule.code, rule.name, rule.severity, message, layer, [],
                   {"expected_ndim": int(match["expected"]), "found_ndim": found,
                    "error": str(exc).splitlines()[0][:300],
                    "provenance": f"Keras raised while building: expected ndim={match['expected']}, "
                                  f"found ndim={found}"},
                   remedy, "timedistributed_cnn", Location(spec, layer))
