from __future__ import annotations

from ..findings import Finding, Severity
from ..graph import Location
from .base import Rule, is_pytorch, shown


class UnsafeContent(Rule):
    """
    ## What it does
    Flags content of a model file that a loader would import, run or read from
    elsewhere: Lambda bytecode, references to Python functions or to modules such as
    `os` or `subprocess`, `TFSMLayer` paths, pickled weights, archive members that are
    symbolic links or not what they claim, HDF5 external and soft links, external
    storage and virtual datasets, and ONNX external-data paths that leave the model's
    folder. The linter itself never runs or follows any of it; the rest of the model is
    still linted.

    ## Why is this bad?
    `cnnlstm-lint` often runs in CI on files from pull requests. Opening such a file
    with `keras.saving.load_model(..., safe_mode=False)`, `pickle`, or an ONNX runtime
    that follows external data can execute the author's code or read files outside the
    repository. Custom layer classes are not reported here: they are linted as opaque
    layers (`--verbose` names them).

    ## Example
    A `.keras` archive whose `config.json` holds a `Lambda` layer with marshalled
    bytecode, or whose `model.weights.h5` member is in fact a pickle.

    ## Use instead
    Replace Lambda layers with built-in layers or registered custom layers, save
    weights with Keras (`model.save("model.keras")`), and keep ONNX external data next
    to the model with relative paths.
    """

    code = "CL900"
    name = "unsafe-content"
    severity = Severity.ERROR

    def check(self, graph, options):
        remedy = self.torch_remedy_text if is_pytorch(graph) else self.remedy_text
        for node in graph.nodes():
            for what in node.attrs.get("unsafe", []):
                yield self.finding(node, f"Layer `{shown(graph, node)}` ({node.op}) holds {what}.",
                                   related=[], evidence={"unsafe": what,
                                                         "provenance": f"{node.op} config"},
                                   remedy=remedy)
        for where, what in graph.meta.get("unsafe", []):
            yield Finding(self.code, self.name, self.severity,
                          f"`{where}` {what}." if where != "<model>" else f"The model config holds {what}.",
                          where, [], {"unsafe": what, "provenance": f"{where} in {graph.file}"},
                          remedy, "", Location(graph.file, where))

    remedy_text = ("Do not open this file with a loader that runs code or follows links "
                   "(keras.saving.load_model(safe_mode=False), pickle); rebuild the model from "
                   "built-in layers and save it again.")
    # a PyTorch export: the unsafe part is external data; the weights belong in the file
    torch_remedy_text = ("Do not run this file with a runtime that follows its external data "
                         "(onnxruntime, onnx.load); export it again with the weights inside, "
                         "torch.onnx.export(..., external_data=False), or keep the data file "
                         "next to the model with a relative path.")
