"""The code on every rule page runs, as pylint runs its good/bad examples and ESLint its
docs: each ```python block of a rule's `## Example` must give the rule's code, each of
its `## Use instead` must not.

A block is run with `keras` and `layers` (`from keras import layers`) in scope. It makes
its inputs with `keras.Input(...)` and ends in a tensor `y`; the test builds
`keras.Model(<every keras.Input of the block>, layers.Dense(2)(y))` and lints it with
`cnnlstm_lint.lint(model)`. The small Dense head lets a block end anywhere (a recurrent
state, a sequence, a concatenation); other rules' findings (a head without dropout is
CL006) do not count.

A block whose first line is `# PyTorch` shows the PyTorch form of the mistake; it is
not run here (torch is not a test dependency): the rule's own tests lint real exports
of those models. A rule whose mistake has no Keras 3 form says why in KERAS_LESS.
"""

from __future__ import annotations

import re

import pytest

import cnnlstm_lint
from cnnlstm_lint.rules import REGISTRY
from cnnlstm_lint.report.formats.sarif import doc_sections

NOT_RUNNABLE = {
    "CL900": "its example is a crafted file (Lambda bytecode, a pickle posing as weights), "
             "not Keras code; tests/test_hostile_keras.py builds such files",
}

KERAS_LESS = {
    "CL009": "a batch-first tensor fed to a time-major layer: PyTorch's batch_first=False "
             "or tf.keras 2's time_major=True; Keras 3 layers are batch-first only. "
             "tests/test_cl009.py lints the exports",
}

BLOCK = re.compile(r"```python\n(.*?)```", re.S)
PYTORCH = "# PyTorch\n"


def all_blocks(code: str, section: str) -> list[str]:
    return BLOCK.findall(doc_sections(REGISTRY[code]).get(section, ""))


def python_blocks(code: str, section: str) -> list[str]:
    """The Keras blocks of a section, which the tests run."""
    return [b for b in all_blocks(code, section) if not b.startswith(PYTORCH)]


def build(source: str):
    import keras
    from keras import layers

    scope = {"keras": keras, "layers": layers}
    exec(compile(source, "<rule example>", "exec"), scope)
    inputs = [v for v in scope.values() if isinstance(v, keras.KerasTensor)
              and type(v._keras_history.operation).__name__ == "InputLayer"]
    assert inputs and "y" in scope, "a block makes its inputs with keras.Input and ends in y"
    return keras.Model(inputs, layers.Dense(2)(scope["y"]))


def params(section: str) -> list:
    out = []
    for code in REGISTRY:
        why = NOT_RUNNABLE.get(code) or KERAS_LESS.get(code)
        marks = [pytest.mark.skip(reason=f"{code} not runnable: {why}")] if why else []
        blocks = python_blocks(code, section) or [""]
        out += [pytest.param(code, block, id=f"{code}-{i}", marks=marks)
                for i, block in enumerate(blocks)]
    return out


def codes_of(source: str) -> list[tuple[str, str]]:
    return [(f.code, f.node) for f in cnnlstm_lint.lint(build(source))]


@pytest.mark.tf
@pytest.mark.parametrize("code, source", params("Example"))
def test_example_gives_the_rule(code, source):
    assert source, f"{code}: `## Example` has no ```python block"
    found = codes_of(source)
    assert code in {c for c, _ in found}, found


@pytest.mark.tf
@pytest.mark.parametrize("code, source", params("Use instead"))
def test_use_instead_does_not_give_the_rule(code, source):
    assert source, f"{code}: `## Use instead` has no ```python block"
    found = codes_of(source)
    assert code not in {c for c, _ in found}, found


def test_not_runnable_examples_really_have_no_code():
    for code in NOT_RUNNABLE:
        assert python_blocks(code, "Example") == [] == python_blocks(code, "Use instead")


def test_keras_less_pages_show_the_mistake_in_pytorch_only():
    for code in KERAS_LESS:
        for section in ("Example", "Use instead"):
            blocks = all_blocks(code, section)
            assert blocks and all(b.startswith(PYTORCH) for b in blocks), (code, section)
