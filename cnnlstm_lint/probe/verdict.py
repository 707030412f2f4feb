"""Statistics and the verdict: is the validation shortfall a linter finding predicts real?

Every function returns plain JSON-friendly values (floats, ints, strings, None, lists, dicts).
scipy is imported lazily, only by the Welch test.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .results import RunResult

TEST_NAME = "Welch t-test, one-sided (remedy > baseline)"


def _mean(values: list[float]) -> float:
    return math.fsum(values) / len(values)


def _var(values: list[float]) -> float:
    """Sample variance (ddof=1); 0.0 when n < 2 or all values are equal (no rounding residue)."""
    n = len(values)
    if n < 2 or min(values) == max(values):
        return 0.0
    m = _mean(values)
    return math.fsum((v - m) ** 2 for v in values) / (n - 1)


def summarize(values: list[float]) -> dict:
    """{"n", "mean", "std" (sample, ddof=1; 0.0 when n < 2), "min", "max", "values"}.

    An empty list gives n = 0 and None for mean, min and max.
    """
    vals = [float(v) for v in values]
    if not vals:
        return {"n": 0, "mean": None, "std": 0.0, "min": None, "max": None, "values": []}
    return {
        "n": len(vals),
        "mean": _mean(vals),
        "std": math.sqrt(_var(vals)),
        "min": min(vals),
        "max": max(vals),
        "values": vals,
    }


def welch_one_sided(better: list[float], worse: list[float]) -> dict:
    """Welch's t-test of H1: mean(better) > mean(worse).

    Degenerate cases give no NaN: fewer than 2 values in a group -> p = 1.0, t and df None;
    both groups without variance -> p = 0.0 if mean(better) > mean(worse) else 1.0, t and df None.
    """
    a = [float(v) for v in better]
    b = [float(v) for v in worse]
    if len(a) < 2 or len(b) < 2:
        return {"name": TEST_NAME, "t": None, "df": None, "p": 1.0}
    va, vb = _var(a), _var(b)
    if va == 0.0 and vb == 0.0:
        p = 0.0 if _mean(a) > _mean(b) else 1.0
        return {"name": TEST_NAME, "t": None, "df": None, "p": p}

    import warnings

    from scipy import stats

    with warnings.catch_warnings():  # near-identical seeds make scipy warn about precision
        warnings.simplefilter("ignore", RuntimeWarning)
        res = stats.ttest_ind(a, b, equal_var=False, alternative="greater")
    t = float(res.statistic)
    df = getattr(res, "df", None)
    if df is None:  # scipy < 1.11 does not report df: Welch-Satterthwaite by hand
        sa, sb = va / len(a), vb / len(b)
        df = (sa + sb) ** 2 / (sa**2 / (len(a) - 1) + sb**2 / (len(b) - 1))
    return {"name": TEST_NAME, "t": t, "df": float(df), "p": float(res.pvalue)}


def cohens_d(a: list[float], b: list[float]) -> float | None:
    """(mean a - mean b) / pooled standard deviation; None when n < 2 in a group or the pooled sd is 0."""
    a = [float(v) for v in a]
    b = [float(v) for v in b]
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return None
    pooled = math.sqrt(((na - 1) * _var(a) + (nb - 1) * _var(b)) / (na + nb - 2))
    if pooled == 0.0:
        return None
    return (_mean(a) - _mean(b)) / pooled


def _decimals(*xs: float | None) -> int:
    """Decimals for one reason sentence: 2, or up to 4 so the smallest non-zero number keeps
    two significant digits (regression metrics such as -mse can be small)."""
    d = 2
    for x in xs:
        if x is not None and x != 0 and math.isfinite(x):
            d = max(d, 1 - math.floor(math.log10(abs(x))))
    return min(d, 4)


def _fp(p: float) -> str:
    if p == 0:
        return "0"
    if p < 1e-4:
        return f"{p:.1e}"
    return f"{p:.2g}"


def _test_text(test: dict) -> str:
    if test["t"] is None:
        return f"Welch p = {_fp(test['p'])}"
    return f"Welch t = {test['t']:.1f}, p = {_fp(test['p'])}"


def judge(baseline: list[float], remedies: dict[str, list[float]], *, chance: float,
          min_delta: float = 0.02, budget_cut: bool = False, alpha: float = 0.05,
          above_chance: float = 0.05) -> dict:
    """Compare the baseline's per-seed validation metric with each remedy's (higher is better).

    The best remedy (highest mean; ties: the first) is tested against the baseline:
      * no remedy values, fewer than 2 seeds on either side, or budget_cut -> "inconclusive";
      * neither side learned above chance + above_chance -> "inconclusive";
      * delta > min_delta and Welch p <= alpha -> "confirmed";
      * delta <= min_delta -> "refuted" (the baseline is as good or better);
      * otherwise -> "inconclusive" (not significant).
    """
    base = summarize(baseline)
    all_remedies = {str(name): summarize(vals) for name, vals in remedies.items()}

    best_name = None
    for name, s in all_remedies.items():
        if s["n"] and (best_name is None or s["mean"] > all_remedies[best_name]["mean"]):
            best_name = name
    best = all_remedies[best_name] if best_name is not None else summarize([])

    if best_name is not None and base["n"]:
        delta = best["mean"] - base["mean"]
    else:
        delta = None
    test = welch_one_sided(best["values"], base["values"])
    result = {
        "verdict": "inconclusive",
        "reason": "",
        "best_remedy": best_name,
        "baseline": base,
        "remedy": best,
        "delta": delta,
        "test": test,
        "effect_size": {"cohens_d": cohens_d(best["values"], base["values"])},
        "all_remedies": all_remedies,
        "alpha": alpha,
        "min_delta": min_delta,
        "chance": chance,
    }

    def done(verdict: str, reason: str) -> dict:
        result["verdict"] = verdict
        result["reason"] = reason
        return result

    counts = (f"baseline {base['n']} seed(s), "
              + (f"best remedy '{best_name}' {best['n']}" if best_name is not None
                 else "no remedy run"))
    if budget_cut:
        return done("inconclusive",
                    f"the time budget was too small to finish enough runs ({counts}).")
    if best_name is None or base["n"] < 2 or best["n"] < 2:
        return done("inconclusive",
                    f"too few seeds to judge ({counts}; at least 2 each are needed).")

    learned = max([base["mean"]] + [s["mean"] for s in all_remedies.values() if s["n"]])
    if not learned > chance + above_chance:
        return done("inconclusive",
                    f"neither the model nor any remedy learned above chance (chance {chance:.2f}).")

    d = _decimals(delta, base["mean"], best["mean"])

    def f(x: float) -> str:
        return f"{x:.{d}f}"

    def ms(s: dict) -> str:
        return f"{f(s['mean'])} ± {f(s['std'])}"

    p = test["p"]
    if delta > min_delta and p <= alpha:
        return done("confirmed",
                    f"remedy '{best_name}' beats the baseline by {f(delta)} "
                    f"({ms(best)} vs {ms(base)}), {_test_text(test)}.")
    if delta <= min_delta:
        return done("refuted",
                    f"the baseline is as good or better: {ms(base)} vs {ms(best)} for the best "
                    f"remedy '{best_name}' (difference {f(delta)}, not more than {f(min_delta)}).")
    return done("inconclusive",
                f"remedy '{best_name}' is ahead by {f(delta)} ({ms(best)} vs {ms(base)}) but the "
                f"difference is not significant ({_test_text(test)} > {_fp(alpha)}).")


def generalization_gap(runs: list["RunResult"]) -> dict:
    """summarize(train_metric - val_metric) over the runs."""
    return summarize([r.train_metric - r.val_metric for r in runs])
