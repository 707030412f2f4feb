"""Export small PyTorch CNN -> LSTM/GRU models to ONNX for the cnnlstm_lint tests.

Run from the repository root (needs torch, onnx, onnxscript and onnxruntime)::

    python sample_models/export_torch.py              # writes sample_models/torch/
    python sample_models/export_torch.py --out DIR    # writes somewhere else

Every model is exported twice, once per PyTorch exporter, so the linter sees the
graphs both of them build:

* ``<name>.ts.onnx`` -- the TorchScript exporter (``dynamo=False``, opset 17,
  ``dynamic_axes`` for the batch): shapes arrive as ``Shape -> Gather -> Concat``
  chains feeding each ``Reshape``, nodes are named after the module path
  (``/lstm/LSTM``).
* ``<name>.dynamo.onnx`` -- the ``torch.export`` based exporter (``dynamo=True``,
  opset 18, the batch a ``torch.export.Dim``): symbolic shapes, different node
  names and, after its optimiser, a different way of spelling the same reshape.
  The per-node Python stack traces it records (absolute paths of the machine that
  ran the export) are stripped; the module name scopes are kept.

The models are never trained; they exist so the linter has real exporter output
to read. Channel and unit counts are tiny, so every file stays far below 200 KB.
Weights come from ``torch.manual_seed(0)`` and the models are exported in
``eval()`` mode (a Dropout would not appear in an inference graph anyway, which
is why the no-dropout rule is never judged on these files).

What each model shows:

* ``crnn_width_time`` (clean) -- a text-line CRNN done right: a 32x128 image goes
  through two conv/pool blocks to a 16x8x32 map, the width is moved to the front
  with ``permute(0, 3, 1, 2)`` and channels x rows are folded into 128 features,
  so the LSTM reads 32 left-to-right columns.
* ``spatial_reshape`` (CL001) -- a classifier that flattens the 15x15 pooled map
  into 225 "time steps" (``permute(0, 2, 3, 1).reshape(b, h * w, c)``): the LSTM
  scans pixel positions instead of a real sequence. ``spatial_reshape_gru`` is
  the same mistake with a GRU (TorchScript exporter only).
* ``video_fold_batch`` (clean) -- the usual way to run a CNN over a clip in
  PyTorch: the 6 frames are folded into the batch (``reshape(b * t, ...)``), each
  frame is pooled to a feature vector, and the vectors are unfolded back into
  (batch, time, features) before the LSTM. Time never mixes with pixels.
* ``single_step`` (CL005) -- an image summarised to one vector and given a
  length-1 time axis with ``unsqueeze(1)``: the LSTM runs a single step, so it is
  just an expensive dense layer.
* ``channels_as_time`` (CL002) -- the pooled 16-channel vector is turned into 16
  "steps" of one value each with ``unsqueeze(-1)``: channel order is not time.
* ``missing_permute`` (CL007) -- the CRNN above without its permute: the
  channel-major 16x8x32 map is reshaped straight into 32 steps of 128, so each
  "step" is a slice of channel/row memory, not a column of the image.

After writing each file the script runs ``onnx.checker.check_model`` on it and
runs it once with onnxruntime on a random batch of 2 (a size the export never
saw), comparing against PyTorch's own output. A failing export is reported and
the script goes on with the rest; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_OUT = os.path.join(HERE, "torch")
TS_OPSET = 17
DYNAMO_OPSET = 18

try:
    import torch
    from torch import nn
except ImportError:  # the module still imports (e.g. for --help) without torch
    torch = None
    nn = None


def _define_models() -> dict:
    """name -> (factory, example input shape without the batch, exporters)."""

    def crnn_stack() -> "nn.Sequential":
        # (N, 1, 32, 128) -> (N, 16, 8, 32)
        return nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )

    class CrnnReader(nn.Module):
        """A CRNN head on the conv stack: with `permute`, the 32 columns become the time
        steps (C*H features each); without it, the reshape cuts C,H,W memory into 32 x 128."""

        def __init__(self, permute):
            super().__init__()
            self.permute = permute
            self.cnn = crnn_stack()
            self.lstm = nn.LSTM(16 * 8, 16, batch_first=True)
            self.head = nn.Linear(16, 20)

        def forward(self, x):
            n = x.shape[0]
            y = self.cnn(x)                      # (N, C=16, H=8, W=32)
            if self.permute:
                y = y.permute(0, 3, 1, 2)        # (N, W=32, C=16, H=8)
            y = y.reshape(n, 32, 16 * 8)
            o, _ = self.lstm(y)
            return self.head(o)                  # one prediction per step

    class SpatialReshape(nn.Module):
        def __init__(self, rnn: str = "lstm"):
            super().__init__()
            self.conv = nn.Conv2d(3, 8, 3)
            self.act = nn.ReLU()
            self.pool = nn.MaxPool2d(2)
            cls = nn.GRU if rnn == "gru" else nn.LSTM
            # named after its kind, so the exported node is /lstm/LSTM or /gru/GRU
            setattr(self, rnn, cls(8, 16, batch_first=True))
            self.rnn_name = rnn
            self.head = nn.Linear(16, 10)

        def forward(self, x):
            y = self.pool(self.act(self.conv(x)))   # (N, 8, 15, 15)
            b, c, h, w = y.shape
            y = y.permute(0, 2, 3, 1).reshape(b, h * w, c)   # 225 pixel "steps"
            o, _ = getattr(self, self.rnn_name)(y)
            return self.head(o[:, -1])

    class VideoFoldBatch(nn.Module):
        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.lstm = nn.LSTM(8, 16, batch_first=True)
            self.head = nn.Linear(16, 5)

        def forward(self, x):
            b, t, c, h, w = x.shape
            y = x.reshape(b * t, c, h, w)            # frames into the batch
            y = self.gap(self.cnn(y)).flatten(1)     # (N*T, 8)
            y = y.reshape(b, t, -1)                  # back to (N, T, 8)
            o, _ = self.lstm(y)
            return self.head(o[:, -1])

    class SingleStep(nn.Module):
        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
            self.lstm = nn.LSTM(8, 16, batch_first=True)
            self.head = nn.Linear(16, 10)

        def forward(self, x):
            y = self.cnn(x).mean(dim=(2, 3))         # (N, 8)
            y = y.unsqueeze(1)                       # (N, 1, 8): one step
            o, _ = self.lstm(y)
            return self.head(o[:, -1])

    class ChannelsAsTime(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 16, 3, padding=1)
            self.act = nn.ReLU()
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.lstm = nn.LSTM(1, 8, batch_first=True)
            self.head = nn.Linear(8, 10)

        def forward(self, x):
            y = self.gap(self.act(self.conv(x))).flatten(1)   # (N, 16)
            y = y.unsqueeze(-1)                                # (N, 16, 1): channels as steps
            o, _ = self.lstm(y)
            return self.head(o[:, -1])

    both = ("ts", "dynamo")
    return {
        "crnn_width_time": (lambda: CrnnReader(permute=True), (1, 32, 128), both),
        "spatial_reshape": (SpatialReshape, (3, 32, 32), both),
        "spatial_reshape_gru": (lambda: SpatialReshape("gru"), (3, 32, 32), ("ts",)),
        "video_fold_batch": (VideoFoldBatch, (6, 1, 16, 16), both),
        "single_step": (SingleStep, (3, 32, 32), both),
        "channels_as_time": (ChannelsAsTime, (3, 32, 32), both),
        "missing_permute": (lambda: CrnnReader(permute=False), (1, 32, 128), both),
    }


def _export_ts(model, x, path: str) -> None:
    torch.onnx.export(model, (x,), path, dynamo=False, opset_version=TS_OPSET,
                      input_names=["x"], output_names=["y"],
                      dynamic_axes={"x": {0: "batch"}, "y": {0: "batch"}})


def _export_dynamo(model, x, path: str) -> None:
    batch = torch.export.Dim("batch")
    torch.onnx.export(model, (x,), path, dynamo=True, opset_version=DYNAMO_OPSET,
                      input_names=["x"], output_names=["y"],
                      dynamic_shapes={"x": {0: batch}}, external_data=False,
                      verbose=False)
    _strip_stack_traces(path)


def _strip_stack_traces(path: str) -> None:
    """Drop the per-node Python stack traces the dynamo exporter records.

    They hold absolute paths of this machine and source lines; the other node metadata
    (``pkg.torch.onnx.name_scopes``, the module path the linter reports) is kept.
    """
    import onnx

    model = onnx.load(path)
    nodes = list(model.graph.node) + [n for f in model.functions for n in f.node]
    for node in nodes:
        keep = [p for p in node.metadata_props if p.key != "pkg.torch.onnx.stack_trace"]
        if len(keep) != len(node.metadata_props):
            del node.metadata_props[:]
            node.metadata_props.extend(keep)
    onnx.save(model, path)


EXPORTERS = {"ts": _export_ts, "dynamo": _export_dynamo}


def _verify(path: str, model, shape: tuple) -> str:
    """Check the file and run it once on a batch of 2; return a short note."""
    try:
        import numpy as np
        import onnx
        import onnxruntime as ort
    except ImportError as exc:
        return f"not verified ({exc.name} missing)"
    onnx.checker.check_model(path, full_check=True)
    x = torch.randn(2, *shape)
    with torch.no_grad():
        expected = model(x).numpy()
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    if got.shape != expected.shape:
        raise AssertionError(f"onnxruntime output {got.shape} != torch {expected.shape}")
    if not np.allclose(got, expected, atol=1e-4, rtol=1e-3):
        raise AssertionError(f"onnxruntime output differs from torch by "
                             f"{float(np.abs(got - expected).max()):.2e}")
    return f"checked, runs on batch 2 -> {tuple(got.shape)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=DEFAULT_OUT,
                        help="folder for the .onnx files (default: %(default)s)")
    args = parser.parse_args(argv)
    if torch is None:
        print("note: torch is not installed; nothing exported (pip install torch onnx "
              "onnxscript onnxruntime)")
        return 0

    import logging
    import warnings

    warnings.filterwarnings("ignore")
    logging.getLogger("torch.onnx").setLevel(logging.ERROR)  # "torchvision is not installed" notes
    os.makedirs(args.out, exist_ok=True)
    failures = []
    for name, (factory, shape, exporters) in _define_models().items():
        for kind in exporters:
            path = os.path.join(args.out, f"{name}.{kind}.onnx")
            torch.manual_seed(0)
            model = factory().eval()
            x = torch.randn(2, *shape)
            try:
                with torch.no_grad():
                    EXPORTERS[kind](model, x, path)
                note = _verify(path, model, shape)
            except Exception as exc:  # report, keep going with the other models
                failures.append(f"{name}.{kind}")
                print(f"FAILED {name}.{kind}.onnx: {type(exc).__name__}: {exc}", file=sys.stderr)
                traceback.print_exc(limit=3, file=sys.stderr)
                continue
            print(f"wrote {os.path.relpath(path)} ({os.path.getsize(path) / 1024:.1f} KB): {note}")
    if failures:
        print(f"{len(failures)} export(s) failed: {', '.join(failures)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
