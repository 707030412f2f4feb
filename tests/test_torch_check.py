"""PyTorch without a manual export: `cnnlstm-lint check models.py:build` and
`cnnlstm_lint.lint(module, example_input=...)` trace a torch.nn.Module to ONNX in memory
and lint it; findings on PyTorch graphs name the module path, not the ONNX node."""

from __future__ import annotations

import json
import os
import sys
import textwrap

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("onnx")

from click.testing import CliRunner  # noqa: E402

import cnnlstm_lint  # noqa: E402
from cnnlstm_lint.cli import main  # noqa: E402
from cnnlstm_lint.loaders import torch_module  # noqa: E402

from conftest import ROOT, SAMPLES, run_cli  # noqa: E402

MODELS = textwrap.dedent('''
    import torch
    from torch import nn


    class Pixels(nn.Module):
        """CNN -> LSTM reading the 15x15 pooled map pixel by pixel (CL001)."""

        def __init__(self):
            super().__init__()
            self.features = nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.MaxPool2d(2))
            self.rnn = nn.LSTM(8, 16, batch_first=True)
            self.head = nn.Linear(16, 10)

        def forward(self, x):
            y = self.features(x)
            b, c, h, w = y.shape
            y = y.permute(0, 2, 3, 1).reshape(b, h * w, c)
            out, _ = self.rnn(y)
            return self.head(out[:, -1])


    class NoBatchFirst(nn.Module):
        """Conv1d -> GRU left at batch_first=False, fed (B, T, F) (CL009)."""

        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(6, 8, 3, padding=1)
            self.gru = nn.GRU(8, 16)

        def forward(self, x):
            y = self.conv(x).permute(0, 2, 1)
            out, _ = self.gru(y)
            return out[-1]


    class Crnn(nn.Module):
        """A text-line CRNN done right: columns are the steps (clean)."""

        def __init__(self):
            super().__init__()
            self.cnn = nn.Sequential(
                nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                nn.Sequential(nn.Conv2d(8, 16, 3, padding=1), nn.ReLU()), nn.MaxPool2d(2))
            self.rnn = nn.LSTM(16 * 8, 32, batch_first=True, bidirectional=True)
            self.head = nn.Linear(64, 20)

        def forward(self, x):
            y = self.cnn(x)                              # (N, 16, 8, 32)
            y = y.permute(0, 3, 1, 2).flatten(2)         # (N, 32 columns, 128)
            out, _ = self.rnn(y)
            return self.head(out)


    class Nested(nn.Module):
        """Pixels as steps, the last pooling two containers deep (CL001)."""

        def __init__(self):
            super().__init__()
            self.backbone = nn.Sequential(
                nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU()), nn.Sequential(nn.MaxPool2d(2)))
            self.rnn = nn.GRU(8, 16, batch_first=True)

        def forward(self, x):
            y = self.backbone(x)
            return self.rnn(y.flatten(2).transpose(1, 2))[0]


    class TwoInputs(nn.Module):
        def __init__(self):
            super().__init__()
            self.pixels = Pixels()

        def forward(self, image, bias):
            return self.pixels(image) + bias


    class TimeFirst(nn.Module):
        """A time-major LSTM given a time-first (T, N, F) input: correct."""

        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(8, 16)

        def forward(self, seq):
            return self.lstm(seq)[0][-1]


    class NoOnnx(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3)

        def forward(self, x):
            return torch.linalg.svd(self.conv(x))[0]


    def pixels():
        return Pixels(), torch.randn(1, 3, 32, 32)

    def no_batch_first():
        return NoBatchFirst(), torch.randn(2, 6, 40)

    def crnn():
        return Crnn(), torch.randn(2, 1, 32, 128)

    def nested():
        return Nested(), (torch.randn(1, 3, 32, 32),)

    def bare():
        return Pixels()

    def two_inputs():
        return TwoInputs()

    def time_first():
        return TimeFirst(), torch.randn(20, 4, 8)

    def no_onnx():
        return NoOnnx(), torch.randn(1, 3, 8, 8)
''')


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("factories")
    (folder / "models.py").write_text(MODELS)
    return str(folder / "models.py")


def check(models, function, *args):
    """`cnnlstm-lint check models.py:function ...`, in process."""
    result = CliRunner().invoke(main, ["check", f"{models}:{function}", "--isolated", *args])
    return result


def findings_json(result):
    (file,) = json.loads(result.stdout)["files"]
    return file["findings"]


def module_from(models, name):
    sys.path.insert(0, os.path.dirname(models))
    try:
        import importlib.util

        spec = importlib.util.spec_from_file_location("_torch_check_models", models)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.pop(0)
    return getattr(module, name)


# -- the check command ---------------------------------------------------------------


def test_pixels_as_steps_names_the_modules(models):
    result = check(models, "pixels", "--format", "json")
    assert result.exit_code == 1
    (f,) = findings_json(result)
    assert f["code"] == "CL001" and f["node"] == "/rnn/LSTM"
    assert f["message"].startswith("LSTM `rnn` runs over 225 steps")
    assert "of `features.2`'s feature map" in f["message"]
    assert "nn.AdaptiveAvgPool2d(1)" in f["remedy"] and "GlobalAveragePooling2D" not in f["remedy"]


def test_batch_first_forgotten_is_cl009_in_pytorch_terms(models):
    result = check(models, "no_batch_first", "--format", "json")
    assert result.exit_code == 1
    (f,) = findings_json(result)
    assert f["code"] == "CL009"
    assert f["message"].startswith("GRU `gru` reads axis 0 of its input")
    assert "batch axis of `conv`" in f["message"]  # the Conv1d reads axis 0 as N: a fact
    assert f["remedy"].startswith("Make `gru` batch-first: nn.GRU(..., batch_first=True)")


def test_a_correct_crnn_is_clean(models):
    result = check(models, "crnn")
    assert result.exit_code == 0, result.stdout
    assert "No findings" in result.stdout
    assert "CL006 (no-dropout) not judged: an inference-only export" in result.stdout


def test_module_paths_two_containers_deep(models):
    (f,) = findings_json(check(models, "nested", "--format", "json"))
    assert f["code"] == "CL001"
    assert f["message"].startswith("GRU `rnn` runs over 225 steps")
    assert "of `backbone.1.0`'s feature map" in f["message"]


def test_input_shape_gives_a_bare_module_its_example(models):
    result = check(models, "bare", "--input-shape", "1,3,32,32", "--format", "json")
    assert result.exit_code == 1
    assert [f["code"] for f in findings_json(result)] == ["CL001"]


def test_input_shape_once_per_forward_argument(models):
    result = check(models, "two_inputs", "--input-shape", "2,3,32,32", "--input-shape", "2,10",
                   "--format", "json")
    assert result.exit_code == 1
    (f,) = findings_json(result)
    assert f["code"] == "CL001" and "`pixels.rnn`" in f["message"]
    one = check(models, "two_inputs", "--input-shape", "2,3,32,32")
    assert one.exit_code == 2
    assert "forward() on the example input raised TypeError" in one.stderr


def test_a_time_first_input_is_not_taken_for_the_batch(models, tmp_path):
    # axis 0 of an example is not assumed to be the batch: a time-major LSTM fed (T, N, F)
    # directly is correct, and nothing in the graph says otherwise
    default = check(models, "time_first", "--format", "json")
    assert default.exit_code == 0, default.stdout
    assert findings_json(default) == []
    config = tmp_path / "cnnlstm-lint.toml"  # the user says axis 0 is the batch: then it is
    config.write_text('[input-roles]\nseq = "BTF"\n')
    result = CliRunner().invoke(main, ["check", f"{models}:time_first", "--config", str(config),
                                       "--format", "json"])
    assert result.exit_code == 1, result.stdout
    assert [f["code"] for f in findings_json(result)] == ["CL009"]


@pytest.mark.parametrize("function, args, words", [
    ("bare", (), ["bare() returned a torch.nn.Module without an example input",
                  "return (module, example_input)", "--input-shape"]),
    ("bare", ("--input-shape", "1,1,32,32"),
     ["exporting the module to ONNX failed (forward() on the example input raised "
      "RuntimeError: Given groups=1"]),
    ("no_onnx", (), ["exporting the module to ONNX failed (UnsupportedOperatorError:",
                     "aten::linalg_svd"]),
])
def test_what_cannot_be_traced_is_one_line_and_exit_2(models, function, args, words):
    run = run_cli("check", f"{models}:{function}", "--isolated", *args)
    assert run.returncode == 2
    assert run.stdout == ""
    (line,) = run.stderr.strip().splitlines()
    assert line.startswith(f"error: {models}:{function}: ")
    assert all(w in line for w in words), line
    assert "Traceback" not in run.stderr


def test_input_shape_must_be_sizes(models):
    result = check(models, "bare", "--input-shape", "1,three")
    assert result.exit_code == 2
    assert "'1,three' is not a shape" in result.stderr


def test_input_shape_is_only_for_torch_modules(tmp_path):
    (tmp_path / "graphs.py").write_text(
        "def config():\n    return {'class_name': 'Sequential', 'config': {'layers': []}}\n")
    result = check(str(tmp_path / "graphs.py"), "config", "--input-shape", "1,3")
    assert result.exit_code == 2
    assert "--input-shape is for a function that returns a torch.nn.Module" in result.stderr


# -- the Python API --------------------------------------------------------------------


def test_lint_a_module_as_the_cli_does(models):
    cli = findings_json(check(models, "no_batch_first", "--format", "json"))
    module, example = module_from(models, "no_batch_first")()
    by_keyword = cnnlstm_lint.lint(module, example_input=example, isolated=True)
    as_pair = cnnlstm_lint.lint((module, example), isolated=True)
    assert [f.code for f in by_keyword] == [f.code for f in as_pair] == [f["code"] for f in cli]
    assert [f.message for f in by_keyword] == [f["message"] for f in cli]
    assert module.training  # traced in eval mode, handed back as it came


def test_to_graph_of_a_module(models):
    module, example = module_from(models, "crnn")()
    graph = cnnlstm_lint.to_graph(module, example_input=example)
    assert graph.meta["source_framework"] == "pytorch"
    assert [n.attrs.get("layer") for n in graph.recurrent_nodes()] == ["rnn"]
    assert not cnnlstm_lint.lint(module, example_input=example, isolated=True)


def test_a_module_without_an_example_is_a_load_error(models):
    with pytest.raises(cnnlstm_lint.LoadError, match="needs an example input"):
        cnnlstm_lint.lint(module_from(models, "bare")(), isolated=True)
    with pytest.raises(TypeError, match="example_input= is for a torch.nn.Module"):
        cnnlstm_lint.lint({"class_name": "Sequential"}, example_input=torch.zeros(1))


def test_the_torch_export_exporter_is_the_fallback(models, monkeypatch):
    def unavailable(*args, **kwargs):
        raise RuntimeError("no TorchScript exporter")

    pytest.importorskip("onnxscript")
    monkeypatch.setattr(torch_module, "_export_torchscript", unavailable)
    module, example = module_from(models, "nested")()
    (f,) = cnnlstm_lint.lint(module, example_input=example, isolated=True)
    assert f.code == "CL001" and f.node.startswith("node_")  # the torch.export node names
    assert f.message.startswith("GRU `rnn` runs over 225 steps")
    assert "of `backbone.1.0`'s feature map" in f.message


# -- the same architectures, exported by hand --------------------------------------------


def _hand_exported():
    sys.path.insert(0, SAMPLES)
    try:
        import export_torch
    finally:
        sys.path.pop(0)
    return export_torch._define_models()


@pytest.mark.parametrize("name", ["crnn_width_time", "spatial_reshape", "spatial_reshape_gru",
                                  "video_fold_batch", "single_step", "channels_as_time",
                                  "missing_permute"])
def test_a_factory_reads_as_the_hand_export(name):
    factory, shape, exporters = _hand_exported()[name]
    torch.manual_seed(0)
    traced = cnnlstm_lint.lint(factory(), example_input=torch.randn(2, *shape), isolated=True)
    for kind in exporters:
        exported = cnnlstm_lint.lint(os.path.join(SAMPLES, "torch", f"{name}.{kind}.onnx"),
                                     isolated=True)
        assert [f.code for f in traced] == [f.code for f in exported], kind
        if kind == "ts":  # the same exporter: the same words, node for node
            assert [(f.node, f.message) for f in traced] == [(f.node, f.message) for f in exported]
        assert traced.skipped == exported.skipped


def test_linting_files_does_not_import_torch():
    sample = os.path.join(SAMPLES, "torch", "spatial_reshape.ts.onnx")
    code = ("import sys, onnx, cnnlstm_lint\n"  # a file, and an in-memory object of another kind
            f"assert [f.code for f in cnnlstm_lint.lint({sample!r})] == ['CL001']\n"
            f"assert [f.code for f in cnnlstm_lint.lint(onnx.load({sample!r}))] == ['CL001']\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'torch'))\n")
    import subprocess

    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


def test_the_module_front_end_reads_no_files(tmp_path):
    from cnnlstm_lint.files import collect
    from cnnlstm_lint.loaders import sniff
    from cnnlstm_lint.loaders.formats import BY_NAME, precommit_pattern, suffix_list

    assert BY_NAME["torch_module"].suffixes == ()
    (tmp_path / "model.pt").write_bytes(b"PK\x03\x04 a pickle, never loaded")
    (tmp_path / "m.bin").write_bytes(b"\x00\x01 not a model")
    assert collect([str(tmp_path)]) == []
    with pytest.raises(cnnlstm_lint.LoadError) as raised:
        sniff(str(tmp_path / "m.bin"))
    assert "unrecognised file format" in str(raised.value)
    assert "PyTorch module" not in str(raised.value)  # a file is never a module
    assert "PyTorch module" not in suffix_list() and "pt)" not in precommit_pattern()


def test_remedies_on_pytorch_exports_speak_pytorch():
    import onnx
    from onnx import helper

    proto = onnx.load(os.path.join(SAMPLES, "torch", "crnn_width_time.ts.onnx"))
    (lstm,) = [n for n in proto.graph.node if n.op_type == "LSTM"]
    lstm.attribute.append(helper.make_attribute("activations", ["Sigmoid", "Relu", "Relu"]))
    (f,) = cnnlstm_lint.lint(proto, isolated=True)
    assert f.code == "CL011" and f.node == "/lstm/LSTM"
    assert f.message.startswith("LSTM `lstm` has cell activation `Relu`")
    assert f.remedy.startswith("Use nn.LSTM for `lstm` (its cell is tanh)")
    assert "SimpleRNN" not in f.remedy and "recurrent_initializer" not in f.remedy

    (f,) = cnnlstm_lint.lint(os.path.join(SAMPLES, "torch", "missing_permute.ts.onnx"),
                             isolated=True)
    assert f.remedy == ("Insert x.permute(0, 3, 1, 2) before `/Reshape` (giving N, W, C, H), "
                        "then keep the reshape.")
    assert "C 16 of cnn.3 × 2 of H 8 of cnn.5" in f.message
