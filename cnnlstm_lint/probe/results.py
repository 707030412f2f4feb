"""RunResult: what one short training run of one model variant and one seed produced."""

from __future__ import annotations

from dataclasses import dataclass

HISTORY_KEYS = ("loss", "val_loss", "metric", "val_metric")


def _num(x) -> float:
    """A plain Python float (Keras hands back numpy scalars, which json cannot write)."""
    return float(x)


@dataclass
class RunResult:
    variant: str  # "baseline" or a variant name like "CL001:gap_dense_head"
    seed: int
    # per epoch: "loss", "val_loss", "metric", "val_metric"
    # (metric = accuracy for classification, R² or -mse for regression; higher is better)
    history: dict[str, list[float]]
    best_epoch: int  # 0-based epoch with the lowest val_loss (weights restored from it)
    val_metric: float  # validation metric of the restored best weights
    train_metric: float  # training metric at best_epoch
    epochs_run: int
    stopped_by_budget: bool  # the time budget cut this run short
    seconds: float

    @property
    def is_baseline(self) -> bool:
        return self.variant == "baseline"

    def as_dict(self) -> dict:
        """JSON-ready: plain ints, floats, bools, strings and lists only."""
        return {
            "variant": str(self.variant),
            "seed": int(self.seed),
            "history": {str(k): [_num(v) for v in vals] for k, vals in self.history.items()},
            "best_epoch": int(self.best_epoch),
            "val_metric": _num(self.val_metric),
            "train_metric": _num(self.train_metric),
            "epochs_run": int(self.epochs_run),
            "stopped_by_budget": bool(self.stopped_by_budget),
            "seconds": _num(self.seconds),
        }

    @classmethod
    def from_dict(cls, data: dict) -> "RunResult":
        return cls(
            variant=str(data["variant"]),
            seed=int(data["seed"]),
            history={str(k): [float(v) for v in vals] for k, vals in data.get("history", {}).items()},
            best_epoch=int(data.get("best_epoch", 0)),
            val_metric=float(data["val_metric"]),
            train_metric=float(data["train_metric"]),
            epochs_run=int(data.get("epochs_run", 0)),
            stopped_by_budget=bool(data.get("stopped_by_budget", False)),
            seconds=float(data.get("seconds", 0.0)),
        )
