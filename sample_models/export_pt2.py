"""Save small PyTorch CNN -> LSTM/GRU models as torch.export archives (.pt2).

Run from the repository root (needs torch)::

    python sample_models/export_pt2.py              # writes sample_models/pt2/
    python sample_models/export_pt2.py --out DIR    # writes somewhere else

The modules are the very ones whose ONNX exports the other scripts write, imported from
them (never copied), so each ``<name>.pt2`` has an ONNX twin that must lint the same:

* export_torch.py -> ``sample_models/torch/<name>.dynamo.onnx`` (``spatial_reshape_gru``:
  ``.ts.onnx``, the only export of it): the CRNN, the spatial reshape (CL001), the
  folded video clip, the single step (CL005), channels as time (CL002) and the missing
  permute (CL007);
* export_batch_as_time.py -> ``sample_models/batch_as_time/``: a Conv1d feeding a GRU
  left at ``batch_first=False`` (CL009), and the same with ``batch_first=True`` (clean);
* export_cl010_cl013.py -> ``sample_models/cl010_cl013/``: ``out[:, -1, :]`` and
  ``out[-1]`` of a bidirectional LSTM (CL010), the unidirectional, halves-joined and
  ``h_n`` near-misses (clean), softmax over the batch (CL013) and over the classes;
* export_unrolled.py -> ``sample_models/onnx_unrolled/``: the CNN run on each frame in a
  Python loop (``x[:, t]``, ``x.unbind(1)``) and the features stacked back (clean), and
  the stacked maps' time merged with their rows (CL003).

Every module is exported with ``torch.export.export`` in ``eval()`` mode, the axes its
ONNX twin makes dynamic marked ``Dim.AUTO`` (dynamic unless the module pins the size: the
GRU left at ``batch_first=False`` reads the batch as its steps, so that export comes out
static, and the time-first LSTM keeps only its batch dynamic), and saved with
``torch.export.save``. The archive keeps no Dim names, only symbols (``s77``). The
per-node Python stack traces (absolute paths of the machine that ran the export, and
source lines) are dropped before saving; the module stacks the linter names nodes by
are kept. Each file is then loaded back with ``torch.export.load`` and run on a batch of
3 (a size the export never saw) against the module's own output; a failing export is
reported and the script goes on with the others (exit status 1).

All the modules above export with ``torch.export`` as they are; none needed a change.
"""

from __future__ import annotations

import argparse
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "pt2")
sys.path.insert(0, HERE)


def models() -> dict:
    """name -> (factory, example input shape, dynamic axes {index: name})."""
    import export_batch_as_time
    import export_cl010_cl013
    import export_torch
    import export_unrolled

    batch = {0: "batch"}
    out = {}
    for name, (factory, shape, _exporters) in export_torch._define_models().items():
        out[name] = (factory, (2, *shape), batch)
    bat = export_batch_as_time.torch_models()
    for name in ("t_conv1d_gru_no_batch_first", "t_conv1d_gru_batch_first"):
        factory, shape, dynamic, _exporters = bat[name]
        out[name] = (factory, shape, dynamic)
    cl010 = export_cl010_cl013.torch_models()
    for name in ("t_bilstm_last", "t_bilstm_last_time_first", "good_t_lstm_last",
                 "good_t_bilstm_halves", "good_t_bilstm_hn", "t_softmax_batch",
                 "good_t_softmax_classes"):
        factory, shape, dynamic = cl010[name]
        out[name] = (factory, shape, dynamic)
    unrolled = export_unrolled.torch_models()
    for name in ("t_loop_stack", "t_loop_unbind", "t_loop_merge"):
        factory, shape, _exporters = unrolled[name]
        out[name] = (factory, shape, batch)
    return out


def export(model, x, dynamic: dict, path: str) -> list[int]:
    """Export and save; the axes of `dynamic` that stayed dynamic."""
    import torch

    # Dim.AUTO: dynamic unless the module pins the size (a GRU left at batch_first=False
    # reads the batch as its steps, and the time-first LSTM's steps are checked against
    # its initial state), where a named Dim would fail the export
    dims = {i: torch.export.Dim.AUTO for i in dynamic}
    ep = torch.export.export(model, (x,), dynamic_shapes={"x": dims})
    for node in ep.graph.nodes:
        node.meta.pop("stack_trace", None)
    torch.export.save(ep, path)
    placeholder = [n for n in ep.graph.nodes if n.op == "placeholder"][-1]
    sizes = placeholder.meta["val"].shape
    # a size the module pinned is still a SymInt here, but a constant one
    return [i for i in dynamic if not str(sizes[i]).isdigit()]


def verify(path: str, model, x, dynamic: list[int]) -> str:
    """Load the archive back and run it against the module, on a batch of 3 (and one
    step more) where those axes stayed dynamic."""
    import torch

    shape = list(x.shape)
    for i in dynamic:
        shape[i] = 3 if shape[i] == 2 else shape[i] + 1
    y = torch.randn(*shape)
    with torch.no_grad():
        expected = model(y)
        got = torch.export.load(path).module()(y)
    if got.shape != expected.shape or not torch.allclose(got, expected, atol=1e-5):
        raise AssertionError(f"the loaded archive computes {tuple(got.shape)}, "
                             f"the module {tuple(expected.shape)}")
    return f"loads and runs on {tuple(shape)} -> {tuple(got.shape)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help="folder for the .pt2 files (default: %(default)s)")
    args = parser.parse_args(argv)
    try:
        import torch
    except ImportError:
        print("note: torch is not installed; nothing exported (pip install torch)")
        return 0
    import logging
    import warnings

    warnings.filterwarnings("ignore")  # "tensor attributes ... assigned during export"
    logging.getLogger("torch").setLevel(logging.ERROR)
    os.makedirs(args.out, exist_ok=True)
    failures = []
    for name, (factory, shape, dynamic) in models().items():
        path = os.path.join(args.out, f"{name}.pt2")
        torch.manual_seed(0)
        model = factory().eval()
        x = torch.randn(*shape)
        try:
            with torch.no_grad():
                kept = export(model, x, dynamic, path)
            note = f"{f'dynamic axes {kept}' if kept else 'static'}: {verify(path, model, x, kept)}"
        except Exception as exc:  # report it, go on with the others
            failures.append(name)
            print(f"FAILED {name}.pt2: {type(exc).__name__}: {str(exc)[:300]}", file=sys.stderr)
            continue
        print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path) / 1024:.1f} KB): {note}")
    if failures:
        print(f"{len(failures)} export(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
