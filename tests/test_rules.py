"""Rules CL001-CL008 on configs built in Python (no TensorFlow).

`test_case` runs every case of rule_cases.CASES, with the case's rule options and input
roles, and compares the (code, node) pairs exactly; `test_case_findings_match_the_snapshot`
compares every case's code, node and message to tests/snapshots/rule_cases.json (refresh
it after a reviewed change of wording: `UPDATE_SNAPSHOTS=1 pytest tests/test_rules.py`).
The other tests look at what a user reads: messages with sizes, related layers,
evidence, remedies, severities, options and rule selection.
"""

from __future__ import annotations

import pytest

import cnnlstm_lint
from cnnlstm_lint.axes import propagate
from cnnlstm_lint.engine import SelectionError, Settings, lint_graph, run_rules, select_rules
from cnnlstm_lint.findings import Severity, fingerprint
from cnnlstm_lint.loaders import graph_from_config
from cnnlstm_lint.rules import REGISTRY
from kbuild import Functional, concatenate, dense, dropout, lstm, sequential
from rule_cases import CASES, Case
from snapshot import compare

BY_NAME = {c.name: c.config for c in CASES}
CASE = {c.name: c for c in CASES}


def lint_case(case: Case):
    """A case linted as the CLI lints it with the case's config: its rule options and
    input roles, every rule selected."""
    settings = Settings(options=tuple((code, tuple(sorted(opts.items())))
                                      for code, opts in sorted(case.options.items())))
    return lint_graph(cnnlstm_lint.to_graph(case.config, input_roles=case.input_roles), settings)


def findings_of(case_name: str, **kw):
    if kw:
        return cnnlstm_lint.lint(BY_NAME[case_name], **kw)
    return lint_case(CASE[case_name])


def only(case_name: str, code: str):
    found = [f for f in findings_of(case_name) if f.code == code]
    assert len(found) == 1, [(f.code, f.node) for f in findings_of(case_name)]
    return found[0]


def annotated(case_name: str):
    graph = graph_from_config(BY_NAME[case_name], "<config>")
    propagate(graph)
    return graph


# ---------------------------------------------------------------------------------
# the cases


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(case):
    found = {(f.code, f.node) for f in lint_case(case)}
    assert found == case.expected


def test_case_names_are_unique():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


def test_case_findings_match_the_snapshot():
    """Every case's findings as a user reads them; a change of wording shows as a diff."""
    compare("rule_cases.json", {
        case.name: [{"code": f.code, "node": f.node, "message": f.message}
                    for f in lint_case(case)]
        for case in CASES})


def test_case_options_and_input_roles_change_the_findings():
    """The per-case configs are applied: the same model, judged with other settings."""
    pairs = [("cl004/qa_timedistributed_flatten_of_large_map",
              "cl004/options_larger_max_features_accepts_it"),
             ("cl004/near_miss_pooled_before_flatten",
              "cl004/options_smaller_max_features_flags_it"),
             ("cl008/flattened_map_next_to_lstm", "cl008/options_max_ratio_2000_accepts_1024x"),
             ("cl008/near_miss_ratio_exactly_16", "cl008/options_max_ratio_8_flags_16x"),
             ("input_roles/clip_without_channel_axis_undeclared",
              "input_roles/clip_without_channel_axis_declared_NTHW")]
    for plain, configured in pairs:
        assert BY_NAME[plain] == BY_NAME[configured]
        assert CASE[configured].options or CASE[configured].input_roles
        assert CASE[plain].expected != CASE[configured].expected


# ---------------------------------------------------------------------------------
# severities (DESIGN.md catalogue)

SEVERITY = {
    "CL001": (Severity.WARNING, "cl001/reshape_pixels_to_steps"),
    "CL002": (Severity.WARNING, "cl002/gap_reshape_channels_to_steps"),
    "CL003": (Severity.ERROR, "cl003/reshape_clip_into_tall_image"),
    "CL004": (Severity.WARNING, "cl004/qa_timedistributed_flatten_of_large_map"),
    "CL005": (Severity.WARNING, "cl005/qa_gap_reshape_one_step"),
    "CL006": (Severity.WARNING, "cl006/lrcn_without_dropout"),
    "CL007": (Severity.ERROR, "cl007/crnn_reshape_without_permute"),
    "CL008": (Severity.INFO, "cl008/flattened_map_next_to_lstm"),
    "CL009": (Severity.ERROR, "cl009/tfkeras2_time_major_lstm_fed_batch_first"),
    "CL011": (Severity.WARNING, "cl011/lstm_relu"),
    "CL012": (Severity.WARNING, "cl012/embedding_conv1d_lstm"),
}

NAMES = {"CL001": "spatial-sequence", "CL002": "channels-as-time",
         "CL003": "missing-timedistributed", "CL004": "oversized-recurrent-input",
         "CL005": "single-step-recurrence", "CL006": "no-dropout", "CL007": "scrambled-reshape",
         "CL008": "concat-imbalance", "CL009": "batch-as-time",
         "CL011": "unbounded-recurrent-activation", "CL012": "mask-lost",
         "CL900": "unsafe-content"}


@pytest.mark.parametrize("code", sorted(SEVERITY))
def test_severity_and_name_as_in_design(code):
    severity, case_name = SEVERITY[code]
    finding = only(case_name, code)
    assert finding.severity is severity
    assert finding.name == NAMES[code]
    assert REGISTRY[code].severity is severity
    assert finding.as_dict()["severity"] == severity.value


# issue 12 (their severities and cases: tests/test_cl010_cl013.py)
NAMES.update({"CL010": "bidirectional-last-step", "CL013": "softmax-over-batch"})


def test_registry_holds_exactly_the_catalogue_in_order():
    assert list(REGISTRY) == sorted(NAMES)


# ---------------------------------------------------------------------------------
# what a finding tells the user


def test_cl001_message_related_evidence_remedy():
    f = only("cl001/reshape_pixels_to_steps", "CL001")
    assert "225 steps" in f.message
    assert "15×15" in f.message
    assert "`max_pooling2d`" in f.message
    assert f.related == ["reshape", "max_pooling2d"]  # nearest first
    assert f.evidence["provenance"] == "time axis of 225 steps = H 15 × W 15 of max_pooling2d"
    assert f.evidence["input_shape"] == "(None, 225, 8)"
    assert {o["label"] for o in f.evidence["time_axis"]["origin"]} == {"H", "W"}
    assert "GlobalAveragePooling2D" in f.remedy
    assert "TimeDistributed" in f.remedy
    assert f.remedy_id == "gap_dense_head"
    assert f.location is not None and f.location.layer_path == "lstm"


def test_cl001_nested_models_name_the_inner_layers():
    f = only("cl001/qa_sequential_of_cnn_and_lstm_models", "CL001")
    assert f.node == "lstm_model/lstm"
    assert "`cnn_model/max_pooling2d`" in f.message
    assert "cnn_model/reshape" in f.related and "cnn_model/max_pooling2d" in f.related


def test_cl001_dynamic_sizes_are_shown_as_unknown():
    f = only("cl001/dynamic_image_size", "CL001")
    assert "? steps" in f.message and "?×?" in f.message


@pytest.mark.parametrize("case_name", [
    "cl001/near_miss_lambda_before_reshape_no_recorded_shape",
    "cl001/near_miss_lambda_before_reshape_recorded_shape",
])
def test_opaque_layer_makes_rules_silent_and_says_why(case_name):
    graph = annotated(case_name)
    findings = run_rules(graph, select_rules(["CL001", "CL002"]))
    assert findings == []
    assert any(note.startswith("CL001 not judged on lstm") and "opaque layer(s) scale" in note
               for note in graph.notes), graph.notes
    assert graph.node("scale").kind == "opaque"


def test_cl002_message_names_the_channels():
    f = only("cl002/gap_reshape_channels_to_steps", "CL002")
    assert "16 channels of `conv2d_1`" in f.message
    assert f.evidence["provenance"] == "time axis of 16 steps = C 16 of conv2d_1"
    assert f.related[:2] == ["reshape", "global_average_pooling2d"]
    assert "Dense" in f.remedy and "GlobalAveragePooling2D" in f.remedy
    f = only("cl002/dense_reshaped_into_steps", "CL002")
    assert "8 features of `dense`" in f.message


def test_cl003_message_and_remedy():
    f = only("cl003/reshape_clip_into_tall_image", "CL003")
    assert f.node == "reshape"
    assert "8-step time axis of `input_layer`" in f.message
    assert "H 16" in f.message
    assert "LSTM `lstm`" in f.message
    assert "lstm" in f.related
    assert f.evidence["provenance"] == "axis of 128 = T 8 × H 16 of input_layer"
    assert "TimeDistributed(" in f.remedy


def test_cl004_message_and_weight_count():
    f = only("cl004/qa_timedistributed_flatten_of_large_map", "CL004")
    assert "4608 values per step" in f.message
    assert "over the 4096 limit" in f.message
    assert f.evidence["input_kernel_weights"] == 4608 * 2 * 4  # features x units x LSTM gates
    assert "36,864 weights" in f.message
    assert f.evidence["provenance"] == ("features per step 4608 = H 24 × W 24 × C 8 of "
                                        "time_distributed/conv2d")
    assert "time_distributed_1/flatten" in f.related
    assert "TimeDistributed(GlobalAveragePooling2D())" in f.remedy
    g = only("cl004/bidirectional_gru_over_flattened_map", "CL004")
    assert g.evidence["input_kernel_weights"] == 32 * 32 * 16 * 8 * 3 * 2  # GRU, 2 directions
    assert "Bidirectional GRU `bidirectional`" in g.message


def test_cl005_message_and_remedy():
    f = only("cl005/qa_flatten_dense_reshape_one_step", "CL005")
    assert "single time step" in f.message
    assert f.evidence["time_axis"]["size"] == 1
    assert f.evidence["input_shape"] == "(None, 1, 64)"
    assert "reshape" in f.related and "dense" in f.related
    assert "GlobalAveragePooling2D" in f.remedy and "TimeDistributed" in f.remedy


def test_cl006_names_first_recurrent_layer_and_relates_the_others():
    f = only("cl006/zero_rates_do_not_count", "CL006")
    assert f.node == "lstm"
    assert f.related == ["gru"]
    assert f.evidence["recurrent_layers"] == ["lstm", "gru"]
    assert "no dropout" in f.message
    assert "Dropout(0.3)" in f.remedy and "recurrent_dropout=0.2" in f.remedy


def test_cl007_proposes_the_permute():
    f = only("cl007/crnn_reshape_without_permute", "CL007")
    assert "scrambled time axis of 32" in f.message
    assert "`reshape`" in f.message
    assert f.related[0] == "reshape"
    assert f.evidence["permute"] == [2, 1, 3]
    assert f.evidence["reshape"] == "reshape"
    assert f.evidence["provenance"] == "time axis of 32 = H 8 × 4 of W 32 of max_pooling2d_1"
    assert "Permute((2, 1, 3))" in f.remedy
    assert "Reshape((32, 128))" in f.remedy
    assert f.remedy_id == "insert_permute"


def test_cl007_inside_timedistributed_still_proposes_the_permute():
    f = only("cl007/inside_timedistributed", "CL007")
    assert f.evidence["reshape"] == "time_distributed_2/reshape"
    assert "Permute((2, 1, 3))" in f.remedy


def test_cl007_without_a_helpful_permutation_says_so():
    f = only("cl007/scrambled_map_into_conv", "CL007")
    assert "axis 1 of 64" in f.message
    assert f.evidence["permute"] is None
    assert "Permute(...)" in f.remedy


def test_cl008_message_and_evidence():
    f = only("cl008/flattened_map_next_to_lstm", "CL008")
    assert "16384 values from `flatten`" in f.message
    assert "16 from recurrent branch `lstm`" in f.message
    assert "1024×" in f.message
    assert f.evidence["ratio"] == 1024.0
    assert f.evidence["wide_branch"]["node"] == "flatten"
    assert "GlobalAveragePooling2D" in f.remedy


def test_cl008_wide_recurrent_branch_is_called_the_wide_one():
    f = Functional("fusion")
    a = dense(8, name="meta_dense")(f.input((10,), name="meta"))
    b = lstm(512, name="lstm")(f.input((20, 8), name="sequence"))
    model = f.model(outputs=dense(2)(dropout(0.3)(concatenate(name="concat")([a, b]))))
    (finding,) = cnnlstm_lint.lint(model)
    assert finding.evidence["wide_branch"]["node"] == "lstm"
    assert "Bring `meta_dense` down" not in finding.remedy


def test_as_dict_follows_the_json_contract():
    f = only("cl001/reshape_pixels_to_steps", "CL001")
    d = f.as_dict()
    assert list(d) == ["code", "name", "severity", "message", "node", "related", "remedy",
                       "evidence", "fingerprint"]
    assert d["code"] == "CL001" and d["node"] == "lstm"
    # sha256("CL001\0<config>\0lstm")[:16]: code + file (an in-memory config) + node
    assert d["fingerprint"] == fingerprint("CL001", "<config>", "lstm") == "e4bf99962058c771"
    other = only("cl001/qa_sequential_of_cnn_and_lstm_models", "CL001")
    assert other.fingerprint == "6312612fd68c7f6d"  # node lstm_model/lstm


def test_findings_are_sorted_by_code():
    found = findings_of("misc/all_problems_at_once")
    assert [f.code for f in found] == ["CL001", "CL006"]


# ---------------------------------------------------------------------------------
# options


def test_cl004_max_features_option():
    graph = annotated("cl004/qa_timedistributed_flatten_of_large_map")  # 4608 per step
    rules = select_rules(["CL004"])
    assert [f.code for f in run_rules(graph, rules)] == ["CL004"]
    assert run_rules(graph, rules, {"CL004": {"max-features": 8192}}) == []
    graph = annotated("cl004/near_miss_pooled_before_flatten")  # 512 per step
    assert run_rules(graph, rules) == []
    (f,) = run_rules(graph, rules, {"CL004": {"max-features": 256}})
    assert "512 values per step" in f.message and "over the 256 limit" in f.message
    assert f.evidence["max_features"] == 256


def test_cl008_max_ratio_option():
    rules = select_rules(["CL008"])
    graph = annotated("cl008/flattened_map_next_to_lstm")  # 1024x
    assert run_rules(graph, rules, {"CL008": {"max-ratio": 2000}}) == []
    graph = annotated("cl008/near_miss_ratio_exactly_16")  # 256 vs 16
    assert run_rules(graph, rules) == []
    (f,) = run_rules(graph, rules, {"CL008": {"max-ratio": 8}})
    assert "limit 8×" in f.message and f.evidence["max_ratio"] == 8.0


def test_options_of_one_rule_do_not_reach_another():
    graph = annotated("cl004/qa_timedistributed_flatten_of_large_map")
    found = run_rules(graph, select_rules(["CL004"]), {"CL008": {"max-features": 99999}})
    assert [f.code for f in found] == ["CL004"]


# ---------------------------------------------------------------------------------
# selecting rules


def codes(rules):
    return [r.code for r in rules]


def test_select_rules_by_code_prefix_and_all():
    assert codes(select_rules()) == sorted(NAMES)
    assert codes(select_rules(["ALL"])) == sorted(NAMES)
    assert codes(select_rules(["CL001"])) == ["CL001"]
    assert codes(select_rules(["cl00"])) == [c for c in sorted(NAMES) if c.startswith("CL00")]
    assert codes(select_rules(["CL001", "CL007"])) == ["CL001", "CL007"]


def test_ignore_and_the_more_specific_selector_wins():
    assert "CL006" not in codes(select_rules(ignore=["CL006"]))
    assert codes(select_rules(["CL001"], ignore=["CL00"])) == ["CL001"]
    assert codes(select_rules(["CL00"], ignore=["CL001"])) == [c for c in sorted(NAMES)
                                                              if c.startswith("CL00") and c != "CL001"]


def test_unknown_selector_is_an_error():
    with pytest.raises(SelectionError, match="CL999"):
        select_rules(["CL999"])
    with pytest.raises(SelectionError):
        select_rules(ignore=["XYZ"])


def test_lint_select_and_ignore():
    config = BY_NAME["misc/all_problems_at_once"]
    assert [f.code for f in cnnlstm_lint.lint(config, select=["CL006"])] == ["CL006"]
    assert [f.code for f in cnnlstm_lint.lint(config, ignore=["CL006"])] == ["CL001"]


def test_lint_accepts_an_annotated_graph():
    graph = annotated("cl007/crnn_reshape_without_permute")
    assert [(f.code, f.node) for f in cnnlstm_lint.lint(graph)] == [("CL007", "bilstm")]


# ---------------------------------------------------------------------------------
# the same model in two layouts gives the same findings


def test_legacy_layout_gives_the_same_message():
    keras3 = only("cl001/reshape_pixels_to_steps", "CL001")
    old = only("legacy/functional_tfkeras2_spatial_reshape", "CL001")
    assert old.message == keras3.message
    assert old.related == keras3.related
    assert "module" not in BY_NAME["legacy/functional_tfkeras2_spatial_reshape"]["config"]["layers"][1]


def test_sequential_with_input_on_first_layer_keeps_shapes():
    config = BY_NAME["legacy/sequential_first_layer_batch_input_shape"]
    assert config["config"]["layers"][0]["config"]["batch_input_shape"] == [None, 32, 32, 3]
    f = only("legacy/sequential_first_layer_batch_input_shape", "CL001")
    assert "225 steps" in f.message


def test_a_model_without_recurrence_is_not_judged_by_cl006():
    model = sequential((32, 32, 3), dense(4))
    assert cnnlstm_lint.lint(model) == []


# ---------------------------------------------------------------------------------
# `cnnlstm-lint check`: Keras' rank error as a finding of the registry's CL003


def test_check_rank_error_is_a_cl003_finding_from_the_registry(monkeypatch):
    from cnnlstm_lint.check import rank_error_finding

    error = ValueError('Input 0 of layer "lstm" is incompatible with the layer: expected '
                       "ndim=3, found ndim=4. Full shape received: (None, 30, 30, 8)")
    f = rank_error_finding(error, "models.py:build")
    assert (f.code, f.name, f.severity, f.node) == ("CL003", "missing-timedistributed",
                                                    Severity.ERROR, "lstm")
    assert "(None, 30, 30, 8)" in f.message and "TimeDistributed" in f.remedy
    monkeypatch.setattr(REGISTRY["CL003"], "severity", Severity.WARNING)
    assert rank_error_finding(error, "models.py:build").severity is Severity.WARNING
