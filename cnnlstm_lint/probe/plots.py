"""Learning curves of the probe: validation metric per epoch, one line per variant.

matplotlib is imported lazily, with the non-interactive Agg backend.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .results import RunResult

# Colours for the remedies; the baseline is always black.
_PALETTE = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
            "#17becf", "#bcbd22", "#7f7f7f"]


def _curve(histories: list[list[float]]) -> tuple[list[int], list[float], list[float], list[float]]:
    """Per epoch: the mean, min and max over the seeds that reached it (NaN values skipped)."""
    epochs, mean, lo, hi = [], [], [], []
    for i in range(max((len(h) for h in histories), default=0)):
        vals = [float(h[i]) for h in histories if i < len(h) and math.isfinite(float(h[i]))]
        if not vals:
            continue
        epochs.append(i + 1)
        mean.append(math.fsum(vals) / len(vals))
        lo.append(min(vals))
        hi.append(max(vals))
    return epochs, mean, lo, hi


def plot_curves(runs: list["RunResult"], path: str, *, metric_label: str = "validation accuracy",
                title: str = "") -> str:
    """Save a PNG of the mean validation metric per epoch of each variant, with a min-max band
    over its seeds; the baseline is drawn thick and black. Returns path."""
    if not runs:
        raise ValueError("plot_curves: no runs to plot")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    by_variant: dict[str, list["RunResult"]] = {}
    for r in runs:
        by_variant.setdefault(r.variant, []).append(r)
    # The baseline first, so it heads the legend; the remedies in the order they came.
    order = sorted(by_variant, key=lambda v: v != "baseline")

    fig, ax = plt.subplots(figsize=(8, 5))
    try:
        colour = iter(_PALETTE * (len(order) // len(_PALETTE) + 1))
        last_epoch = 1
        for variant in order:
            group = by_variant[variant]
            epochs, mean, lo, hi = _curve([r.history.get("val_metric", []) for r in group])
            if not epochs:
                continue
            last_epoch = max(last_epoch, epochs[-1])
            base = variant == "baseline"
            c = "black" if base else next(colour)
            label = f"{variant} (n={len(group)} seed{'s' if len(group) != 1 else ''})"
            ax.fill_between(epochs, lo, hi, color=c, alpha=0.12 if base else 0.18, linewidth=0,
                            zorder=3 if base else 2)
            ax.plot(epochs, mean, color=c, linewidth=2.8 if base else 1.8, label=label,
                    marker="o" if len(epochs) <= 30 else None, markersize=3.5 if base else 3,
                    zorder=5 if base else 4)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric_label)
        ax.set_title(title or f"{metric_label} per epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlim(0.8, last_epoch + 0.2)
        ax.grid(True, alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            legend = ax.legend(loc="best", fontsize=9, framealpha=0.9,
                               title="mean over seeds, band = min–max", title_fontsize=8)
            legend.get_title().set_color("#555555")
        directory = os.path.dirname(os.path.abspath(path))
        os.makedirs(directory, exist_ok=True)
        fig.savefig(path, dpi=110, bbox_inches="tight")
    finally:
        plt.close(fig)
    return path
