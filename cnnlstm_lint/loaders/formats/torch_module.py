"""In-memory torch.nn.Module objects, given with the example input to trace them with:
`(module, example_input)`. Exported to ONNX in memory (loaders/torch_module.py) and read
as a PyTorch ONNX export. There is no file format: a `.pt` pickle is code, never loaded."""

from __future__ import annotations

from ._frontend import FrontEnd


def _read(path: str):
    from ..errors import LoadError

    raise LoadError("a PyTorch module is linted from memory, not read from a file")


def _accepts(obj) -> bool:
    from ..torch_module import is_module_with_example, is_torch_module

    return is_torch_module(obj) or is_module_with_example(obj)


def _from_object(obj):
    from ..torch_module import ExportError, graph_from_module, is_torch_module

    if is_torch_module(obj):
        raise ExportError("a torch.nn.Module needs an example input to be traced with: "
                          "pass (module, example_input), or example_input=")
    module, example = obj
    return graph_from_module(module, example)


FRONT_END = FrontEnd(
    name="torch_module", title="PyTorch module", suffixes=(), detect=None, read=_read,
    accepts=_accepts, from_object=_from_object,
    in_hook=False)  # no files: nothing for the pre-commit pattern
