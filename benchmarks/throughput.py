"""Files per second when linting a directory of many models, with 1 and N workers.

    python benchmarks/throughput.py [--files 200]

Copies the sample models (Keras and ONNX) round-robin into a temporary folder until it
holds --files models, then times `cnnlstm-lint --format json DIR --jobs K` in a fresh
process for K = 1 and K = the number of cores, checking that both give identical output.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    samples = sorted(p for p in (ROOT / "sample_models").rglob("*")
                     if p.suffix in (".keras", ".h5", ".onnx"))
    script = Path(sys.executable).with_name("cnnlstm-lint")
    cli = [str(script)] if script.exists() else [sys.executable, "-m", "cnnlstm_lint"]
    cores = os.cpu_count() or 1
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.files):
            src = samples[i % len(samples)]
            shutil.copy(src, Path(tmp) / f"{i:04d}_{src.name}")
        rows, outputs = [], {}
        for jobs in sorted({1, cores}):
            times = []
            for _ in range(args.runs):
                started = time.perf_counter()
                proc = subprocess.run([*cli, "--format", "json", "--jobs", str(jobs), tmp],
                                      capture_output=True, text=True)
                times.append(time.perf_counter() - started)
            outputs[jobs] = proc.stdout
            best = min(times)
            rows.append((jobs, best, args.files / best))
    print(f"{args.files} model files ({len(samples)} distinct samples), {cores} cores, best of {args.runs}")
    print(f"{'workers':>7} {'seconds':>8} {'files/s':>8}")
    for jobs, seconds, rate in rows:
        print(f"{jobs:>7} {seconds:>8.2f} {rate:>8.1f}")
    if len(rows) > 1:
        print(f"speed-up with {rows[-1][0]} workers: {rows[0][1] / rows[-1][1]:.2f}x; "
              f"identical output: {'yes' if len(set(outputs.values())) == 1 else 'NO'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
