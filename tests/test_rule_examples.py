"""The code on every rule page runs, as pylint runs its good/bad examples and ESLint its
docs: each ```python block of a rule's `## Example` must give the rule's code, each of
its `## Use instead` must not.

A block is run with `keras` and `layers` (`from keras import layers`) in scope. It makes
its inputs with `keras.Input(...)` and ends in a tensor `y`; the test builds
`keras.Model(<every keras.Input of the block>, layers.Dense(2)(y))` and lints it with
`cnnlstm_lint.lint(model)`. The small Dense head lets a block end anywhere (a recurrent
state, a sequence, a concatenation); other rules' findings (a head without dropout is
CL006) do not count.
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

BLOCK = re.compile(r"```python\n(.*?)```", re.S)


def python_blocks(code: str, section: str) -> list[str]:
    return BLOCK.findall(doc_sections(REGISTRY[code]).get(section, ""))


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
        marks = [pytest.mark.skip(reason=f"{code} not runnable: {NOT_RUNNABLE[code]}")] \
            if code in NOT_RUNNABLE else []
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
