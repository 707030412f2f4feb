"""Probe statistics, verdicts, RunResult serialisation and the learning-curve plot (no TensorFlow)."""

import json
import math
import subprocess
import sys

import pytest

from conftest import ROOT
from cnnlstm_lint.probe.results import RunResult
from cnnlstm_lint.probe.verdict import (
    TEST_NAME,
    cohens_d,
    generalization_gap,
    judge,
    summarize,
    welch_one_sided,
)

BASELINE = [0.76, 0.78, 0.77]
REMEDIES = {"gap": [0.34, 0.36, 0.35], "flatten": [0.97, 0.98, 0.985]}


def run(variant="baseline", seed=0, val=(0.5, 0.6, 0.7), train_metric=0.9, val_metric=0.7,
        **kw) -> RunResult:
    n = len(val)
    fields = dict(
        variant=variant, seed=seed,
        history={"loss": [1.0 / (i + 1) for i in range(n)], "val_loss": [1.2 / (i + 1) for i in range(n)],
                 "metric": [min(1.0, v + 0.1) for v in val], "val_metric": list(val)},
        best_epoch=n - 1, val_metric=val_metric, train_metric=train_metric, epochs_run=n,
        stopped_by_budget=False, seconds=1.5,
    )
    fields.update(kw)
    return RunResult(**fields)


def welch_by_hand(a, b):
    ma, mb = sum(a) / len(a), sum(b) / len(b)
    va = sum((x - ma) ** 2 for x in a) / (len(a) - 1)
    vb = sum((x - mb) ** 2 for x in b) / (len(b) - 1)
    sa, sb = va / len(a), vb / len(b)
    t = (ma - mb) / math.sqrt(sa + sb)
    df = (sa + sb) ** 2 / (sa ** 2 / (len(a) - 1) + sb ** 2 / (len(b) - 1))
    return t, df


# --- summarize --------------------------------------------------------------------------------

def test_summarize_values():
    s = summarize([0.76, 0.78, 0.77])
    assert s["n"] == 3
    assert s["mean"] == pytest.approx(0.77)
    assert s["std"] == pytest.approx(0.01)  # sample sd: sqrt((0.0001 + 0.0001 + 0) / 2)
    assert s["min"] == 0.76 and s["max"] == 0.78
    assert s["values"] == [0.76, 0.78, 0.77]
    json.dumps(s)


def test_summarize_single_and_empty():
    one = summarize([0.5])
    assert one == {"n": 1, "mean": 0.5, "std": 0.0, "min": 0.5, "max": 0.5, "values": [0.5]}
    empty = summarize([])
    assert empty["n"] == 0 and empty["values"] == [] and empty["std"] == 0.0
    assert empty["mean"] is None
    json.dumps(empty)


def test_summarize_converts_numpy_scalars():
    np = pytest.importorskip("numpy")
    s = summarize(list(np.array([0.25, 0.75], dtype=np.float32)))
    assert type(s["mean"]) is float and type(s["values"][0]) is float
    assert s["std"] == pytest.approx(math.sqrt(0.125))
    json.dumps(s)


# --- Welch test -------------------------------------------------------------------------------

@pytest.mark.probe
def test_welch_matches_hand_computation():
    a, b = REMEDIES["flatten"], BASELINE
    res = welch_one_sided(a, b)
    t, df = welch_by_hand(a, b)
    assert res["name"] == TEST_NAME == "Welch t-test, one-sided (remedy > baseline)"
    assert res["t"] == pytest.approx(t)
    assert res["df"] == pytest.approx(df)
    assert 0 < res["p"] < 0.001
    # the one-sided p of the reversed question is the complement
    assert welch_one_sided(b, a)["p"] == pytest.approx(1 - res["p"])
    json.dumps(res)


def test_welch_against_scipy():
    stats = pytest.importorskip("scipy.stats")
    a, b = [0.80, 0.75, 0.85, 0.70], [0.72, 0.74, 0.69]
    res = welch_one_sided(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False, alternative="greater")
    assert res["p"] == pytest.approx(float(ref.pvalue))
    assert res["t"] == pytest.approx(float(ref.statistic))


def test_welch_equal_values_count_as_zero_variance():
    # mean(0.9, 0.9, 0.9) carries float residue; equal values must still take the degenerate path
    assert welch_one_sided([0.9, 0.9, 0.9], [0.1, 0.1, 0.1]) == {
        "name": TEST_NAME, "t": None, "df": None, "p": 0.0}
    assert cohens_d([0.3, 0.3, 0.3], [0.1, 0.1, 0.1]) is None


def test_welch_both_zero_variance():
    up = welch_one_sided([0.9, 0.9, 0.9], [0.5, 0.5])
    assert up == {"name": TEST_NAME, "t": None, "df": None, "p": 0.0}
    down = welch_one_sided([0.5, 0.5], [0.9, 0.9, 0.9])
    assert down["p"] == 1.0 and down["t"] is None
    equal = welch_one_sided([0.7, 0.7], [0.7, 0.7])
    assert equal["p"] == 1.0


@pytest.mark.probe
def test_welch_one_group_zero_variance_is_finite():
    res = welch_one_sided([0.9, 0.9, 0.9], [0.5, 0.6, 0.55])
    assert all(math.isfinite(res[k]) for k in ("t", "df", "p"))
    assert res["p"] < 0.05


def test_welch_too_few_values():
    for a, b in (([0.9], [0.5, 0.6]), ([0.9, 0.8], [0.5]), ([], [0.5, 0.6]), ([], [])):
        assert welch_one_sided(a, b) == {"name": TEST_NAME, "t": None, "df": None, "p": 1.0}


# --- Cohen's d --------------------------------------------------------------------------------

def test_cohens_d_hand_computation():
    # means 2 and 4, both sample variances 1 -> pooled sd 1 -> d = -2
    assert cohens_d([1, 2, 3], [3, 4, 5]) == pytest.approx(-2.0)
    # means 0.9 and 0.6; variances 0.01 (n=3) and 0.02 (n=2):
    # pooled sd = sqrt((2 * 0.01 + 1 * 0.02) / 3) = sqrt(0.04 / 3); d = 0.3 / 0.11547 = 2.598
    assert cohens_d([0.9, 0.8, 1.0], [0.5, 0.7]) == pytest.approx(0.3 / math.sqrt(0.04 / 3))
    assert cohens_d([0.9, 0.8, 1.0], [0.5, 0.7]) == pytest.approx(2.598, abs=1e-3)
    # the real case: pooled sd = sqrt((2 * var(flatten) + 2 * 0.0001) / 4)
    flat = REMEDIES["flatten"]
    m = sum(flat) / 3
    var_flat = sum((x - m) ** 2 for x in flat) / 2
    expected = (m - 0.77) / math.sqrt((2 * var_flat + 2 * 0.0001) / 4)
    assert cohens_d(flat, BASELINE) == pytest.approx(expected)


def test_cohens_d_degenerate():
    assert cohens_d([0.5, 0.5], [0.4, 0.4]) is None  # pooled sd 0
    assert cohens_d([0.5], [0.4, 0.3]) is None
    assert cohens_d([0.5, 0.6], []) is None


# --- judge ------------------------------------------------------------------------------------

@pytest.mark.probe
def test_judge_confirmed_real_case():
    v = judge(BASELINE, REMEDIES, chance=0.1)
    assert v["verdict"] == "confirmed"
    assert v["best_remedy"] == "flatten"
    assert v["delta"] == pytest.approx(0.9783333 - 0.77, abs=1e-6)
    assert v["delta"] == pytest.approx(0.21, abs=0.01)
    assert v["test"]["p"] < 0.05
    assert v["test"]["name"] == TEST_NAME
    assert v["baseline"]["mean"] == pytest.approx(0.77)
    assert v["remedy"]["values"] == REMEDIES["flatten"]
    assert set(v["all_remedies"]) == {"gap", "flatten"}
    assert v["all_remedies"]["gap"]["mean"] == pytest.approx(0.35)
    assert v["effect_size"]["cohens_d"] == pytest.approx(cohens_d(REMEDIES["flatten"], BASELINE))
    assert v["effect_size"]["cohens_d"] > 10
    r = v["reason"]
    assert r.startswith("remedy 'flatten' beats the baseline by 0.21 (0.98 ± 0.01 vs 0.77 ± 0.01)")
    assert "Welch t = " in r and "p = " in r
    json.loads(json.dumps(v))


@pytest.mark.probe
def test_judge_confirmed_reason_format():
    v = judge([0.74, 0.77, 0.80], {"CL001:flatten_dense_head": [0.97, 0.98, 0.99]}, chance=0.1)
    t, _ = welch_by_hand([0.97, 0.98, 0.99], [0.74, 0.77, 0.80])
    assert v["verdict"] == "confirmed"
    assert v["reason"].startswith(
        "remedy 'CL001:flatten_dense_head' beats the baseline by 0.21 (0.98 ± 0.01 vs 0.77 ± 0.03), "
        f"Welch t = {t:.1f}, p = ")


@pytest.mark.probe
def test_judge_refuted_baseline_better():
    v = judge([0.90, 0.91, 0.92], {"gap": [0.80, 0.82, 0.81]}, chance=0.1)
    assert v["verdict"] == "refuted"
    assert v["delta"] == pytest.approx(-0.10)
    assert "as good or better" in v["reason"]
    assert "0.91" in v["reason"] and "0.81" in v["reason"]


@pytest.mark.probe
def test_judge_refuted_when_gain_below_min_delta_even_if_significant():
    base, rem = [0.800, 0.801, 0.802], [0.810, 0.811, 0.812]  # +0.01, tiny spread -> p tiny
    v = judge(base, {"r": rem}, chance=0.1)
    assert v["test"]["p"] < 0.001
    assert v["verdict"] == "refuted"
    # but with a smaller min_delta the same numbers confirm
    assert judge(base, {"r": rem}, chance=0.1, min_delta=0.005)["verdict"] == "confirmed"


@pytest.mark.probe
def test_judge_not_significant():
    base, rem = [0.70, 0.80, 0.75], [0.65, 0.95, 0.85]  # +0.067 but noisy
    v = judge(base, {"r": rem}, chance=0.1)
    assert v["delta"] == pytest.approx(0.8166667 - 0.75, abs=1e-6)
    assert v["test"]["p"] > 0.05
    assert v["verdict"] == "inconclusive"
    assert "not significant" in v["reason"]
    assert f"p = {v['test']['p']:.2g}" in v["reason"]


@pytest.mark.probe
def test_judge_alpha_is_respected():
    base, rem = [0.70, 0.80, 0.75], [0.65, 0.95, 0.85]
    p = judge(base, {"r": rem}, chance=0.1)["test"]["p"]
    assert judge(base, {"r": rem}, chance=0.1, alpha=p)["verdict"] == "confirmed"


@pytest.mark.probe
def test_judge_below_chance():
    v = judge([0.10, 0.11, 0.09], {"a": [0.12, 0.13, 0.12], "b": [0.08, 0.1, 0.09]}, chance=0.1)
    assert v["verdict"] == "inconclusive"
    assert v["reason"] == "neither the model nor any remedy learned above chance (chance 0.10)."
    # a remedy above chance + margin lifts the chance rule (0.16 > 0.10 + 0.05)
    v2 = judge([0.10, 0.11, 0.09], {"a": [0.16, 0.16, 0.17]}, chance=0.1)
    assert v2["verdict"] == "confirmed"


@pytest.mark.probe
def test_judge_chance_rule_uses_baseline_too():
    # a baseline well above chance with every remedy at chance is a refutation, not "nothing learned"
    v = judge([0.6, 0.62, 0.61], {"gap": [0.1, 0.1, 0.11]}, chance=0.1)
    assert v["verdict"] == "refuted"


@pytest.mark.probe
def test_judge_budget_cut():
    v = judge(BASELINE, REMEDIES, chance=0.1, budget_cut=True)
    assert v["verdict"] == "inconclusive"
    assert "budget" in v["reason"] and "too small" in v["reason"]
    assert v["best_remedy"] == "flatten"  # the numbers are still reported
    json.dumps(v)


def test_judge_too_few_seeds():
    v = judge([0.77], REMEDIES, chance=0.1)
    assert v["verdict"] == "inconclusive" and "too few seeds" in v["reason"]
    assert v["test"]["p"] == 1.0 and v["test"]["t"] is None
    assert v["effect_size"]["cohens_d"] is None
    v = judge(BASELINE, {"flatten": [0.98], "gap": [0.35, 0.36]}, chance=0.1)
    assert v["best_remedy"] == "flatten"
    assert v["verdict"] == "inconclusive" and "too few seeds" in v["reason"]


def test_judge_no_remedy_values():
    for remedies in ({}, {"gap": []}):
        v = judge(BASELINE, remedies, chance=0.1)
        assert v["verdict"] == "inconclusive"
        assert "too few seeds" in v["reason"]
        assert v["best_remedy"] is None and v["delta"] is None
        assert v["remedy"]["n"] == 0
        json.dumps(v)
    v = judge([], {}, chance=0.1, budget_cut=True)
    assert v["verdict"] == "inconclusive" and "budget" in v["reason"]


def test_judge_zero_variance_groups():
    v = judge([0.5, 0.5, 0.5], {"r": [0.9, 0.9, 0.9]}, chance=0.1)
    assert v["verdict"] == "confirmed"
    assert v["test"] == {"name": TEST_NAME, "t": None, "df": None, "p": 0.0}
    assert v["effect_size"]["cohens_d"] is None
    assert "Welch p = 0" in v["reason"]
    v = judge([0.9, 0.9], {"r": [0.9, 0.9]}, chance=0.1)
    assert v["verdict"] == "refuted" and v["test"]["p"] == 1.0
    json.dumps(v)


@pytest.mark.probe
def test_judge_best_remedy_tie_takes_first():
    v = judge(BASELINE, {"first": [0.9, 0.92], "second": [0.92, 0.9]}, chance=0.1)
    assert v["best_remedy"] == "first"


@pytest.mark.probe
def test_judge_regression_scale():
    # -mse style metric (no meaningful chance level): small numbers get more decimals
    v = judge([-0.050, -0.052, -0.051], {"r": [-0.004, -0.005, -0.0045]}, chance=-1.0, min_delta=0.01)
    assert v["verdict"] == "confirmed"
    assert v["reason"].startswith(
        "remedy 'r' beats the baseline by 0.0465 (-0.0045 ± 0.0005 vs -0.0510 ± 0.0010)")


# --- generalization gap, RunResult ------------------------------------------------------------

def test_generalization_gap():
    runs = [run(seed=0, train_metric=0.95, val_metric=0.75),
            run(seed=1, train_metric=0.97, val_metric=0.77),
            run(seed=2, train_metric=0.99, val_metric=0.76)]
    g = generalization_gap(runs)
    assert g["n"] == 3
    assert g["values"] == pytest.approx([0.20, 0.20, 0.23])
    assert g["mean"] == pytest.approx(0.21)
    assert g["std"] == pytest.approx(math.sqrt((0.01 ** 2 * 2 + 0.02 ** 2) / 2))
    assert generalization_gap([])["n"] == 0


def test_run_result_json_round_trip():
    r = run(variant="CL001:gap_dense_head", seed=3, stopped_by_budget=True)
    d = r.as_dict()
    assert set(d) == {"variant", "seed", "history", "best_epoch", "val_metric", "train_metric",
                      "epochs_run", "stopped_by_budget", "seconds"}
    back = json.loads(json.dumps(d))
    assert back == d
    assert RunResult(**back) == r
    assert RunResult.from_dict(back) == r


def test_run_result_as_dict_plain_types_from_numpy():
    np = pytest.importorskip("numpy")
    r = run(val=list(np.array([0.5, 0.6], dtype=np.float32)), val_metric=np.float32(0.6),
            train_metric=np.float64(0.7), seed=np.int64(2), best_epoch=np.int64(1))
    d = r.as_dict()
    text = json.dumps(d)
    assert type(d["val_metric"]) is float and type(d["seed"]) is int
    assert type(d["history"]["val_metric"][0]) is float
    assert json.loads(text)["best_epoch"] == 1


# --- plot -------------------------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_plot_curves_writes_png_with_unequal_seeds(tmp_path):
    pytest.importorskip("matplotlib")
    from cnnlstm_lint.probe.plots import plot_curves

    runs = [
        run("baseline", 0, val=[0.3, 0.5, 0.6, 0.7, 0.72]),
        run("baseline", 1, val=[0.35, 0.55, 0.65]),  # stopped early
        run("baseline", 2, val=[0.32, 0.52, 0.62, 0.71]),
        run("CL001:flatten_dense_head", 0, val=[0.5, 0.8, 0.9, 0.95, 0.97, 0.98]),
        run("CL001:flatten_dense_head", 1, val=[0.55, 0.85, 0.93]),
        run("CL001:gap_dense_head", 0, val=[0.2, 0.3]),
    ]
    out = tmp_path / "sub" / "curves.png"
    got = plot_curves(runs, str(out), title="probe")
    assert got == str(out)
    data = out.read_bytes()
    assert data[:8] == PNG_SIGNATURE
    assert len(data) > 10_000
    assert b"IEND" in data[-12:]


def test_plot_curves_single_run_and_empty(tmp_path):
    pytest.importorskip("matplotlib")
    from cnnlstm_lint.probe.plots import _curve, plot_curves

    out = plot_curves([run("baseline", 0, val=[0.4])], str(tmp_path / "one.png"),
                      metric_label="validation R²")
    with open(out, "rb") as fh:
        assert fh.read(8) == PNG_SIGNATURE
    with pytest.raises(ValueError):
        plot_curves([], str(tmp_path / "none.png"))
    # the averaging: epoch 3 only has the seed that got there
    epochs, mean, lo, hi = _curve([[0.2, 0.4, 0.9], [0.4, 0.6]])
    assert epochs == [1, 2, 3]
    assert mean == pytest.approx([0.3, 0.5, 0.9])
    assert lo == pytest.approx([0.2, 0.4, 0.9]) and hi == pytest.approx([0.4, 0.6, 0.9])


def test_probe_modules_import_no_heavy_libraries():
    code = ("import sys\n"
            "import cnnlstm_lint.probe.results, cnnlstm_lint.probe.verdict, cnnlstm_lint.probe.plots\n"
            "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
            "('tensorflow', 'keras', 'scipy', 'matplotlib'))\n"
            "print('HEAVY', heavy)\n")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert proc.stdout.strip() == "HEAVY []", proc.stderr
