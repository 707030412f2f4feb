"""Wall time of the default probe of a sample model on the built-in task.

    python benchmarks/probe_speed.py [MODEL] [-- extra probe options]

Runs `cnnlstm-lint probe MODEL --format json` in a fresh process and prints, per variant,
the seconds per epoch and in total, then the whole command's wall time next to the
budget (<= 120 s for the default probe of a sample model on a 2-core CPU machine).
Needs the TensorFlow extra. Prints; judges nothing.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_S = 120.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", nargs="?", default=str(ROOT / "sample_models" / "cl001_spatial_reshape.keras"))
    parser.add_argument("extra", nargs=argparse.REMAINDER, help="options passed to the probe")
    args = parser.parse_args()
    script = Path(sys.executable).with_name("cnnlstm-lint")
    cmd = [str(script)] if script.exists() else [sys.executable, "-m", "cnnlstm_lint"]
    with tempfile.TemporaryDirectory() as out:
        full = [*cmd, "probe", args.model, "--format", "json", "--out", out,
                *[a for a in args.extra if a != "--"]]
        started = time.perf_counter()
        proc = subprocess.run(full, capture_output=True, text=True,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
        wall = time.perf_counter() - started
        if proc.returncode not in (0, 1):
            print(f"probe failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
            return 0
        report = json.loads(proc.stdout)
    env = report["environment"]
    print(f"probe of {args.model}: {env['device']}, {env['backend']} {env.get(env['backend'])}, "
          f"keras {env['keras']}, {os.cpu_count()} cores")
    print(f"settings: epochs {report['settings']['epochs']}, seeds {report['settings']['seeds']}, "
          f"batch {report['settings']['batch_size']}; data: {report['data']['counts']}")
    print()
    head = f"{'variant':<34} {'runs':>4} {'epochs':>6} {'train s':>8} {'s/epoch':>8} {'val metric':>11}"
    print(head)
    print("-" * len(head))
    train_total = 0.0
    for name, variant in report["variants"].items():
        runs = variant["runs"]
        epochs = sum(r["epochs_run"] for r in runs)
        seconds = sum(r["seconds"] for r in runs)
        train_total += seconds
        mean = variant["summary"]["mean"]
        print(f"{name:<34} {len(runs):>4} {epochs:>6} {seconds:>8.1f} "
              f"{seconds / max(epochs, 1):>8.2f} {'-' if mean is None else f'{mean:.3f}':>11}")
    print()
    print(f"training {train_total:.1f} s, whole command {wall:.1f} s "
          f"(start-up, data, lint and writing {wall - train_total:.1f} s)")
    verdicts = ", ".join(f"{f['code']} {f['verdict']['verdict']}" for f in report["findings"])
    print(f"verdicts: {verdicts}")
    state = "within" if wall <= BUDGET_S else "OVER"
    print(f"budget: default probe <= {BUDGET_S:.0f} s on a 2-core CPU machine -> {wall:.1f} s, {state} budget")
    return 0


if __name__ == "__main__":
    sys.exit(main())
