"""Latency of `cnnlstm-lint PATH` next to its format's own library loading the same model,
each in a fresh process, the two alternating run by run (so a busy spell hits both).

    python benchmarks/lint_latency.py                      # one sample model per format, 9 runs
    python benchmarks/lint_latency.py --runs 15 a.keras b.h5 m.onnx saved_model_dir/
    python benchmarks/lint_latency.py --imports            # also: top import costs of the lint command
    python benchmarks/lint_latency.py --no-load-model      # lint column only (quick)

The library column is what a user would otherwise run to open the file: for `.keras` and
`.h5` keras.saving.load_model, for `.onnx` onnx.load + onnx.checker.check_model, for a
SavedModel directory tf_keras.models.load_model (tf.keras 2) or tf.saved_model.load, for
`.pt2` torch.export.load. Every measurement starts a new interpreter, so the numbers include
interpreter start-up and all imports: that is what a user (or a pre-commit hook) waits for.
The lint command is the `cnnlstm-lint` console script next to sys.executable; when there is
none, `python -c "from cnnlstm_lint.cli import main; main()"` is used instead.

Another fresh process reads and lints each file in-process (the parse included, which the
CLI does in an isolated child) and reports which heavy modules ended up in sys.modules:
the linter is meant to read model files without tensorflow, keras or torch, and without
onnx, h5py or numpy for the common files.

Standard library only.  Exit status is 0 whatever the numbers are (a benchmark reports, it
does not judge); 2 for bad arguments.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
SAMPLES = REPO_ROOT / "sample_models"
DEFAULT_FILES = [SAMPLES / "cl001_spatial_reshape.keras", SAMPLES / "cl001_spatial_reshape.h5",
                 SAMPLES / "onnx" / "cl001_spatial_reshape.onnx",
                 SAMPLES / "torch" / "spatial_reshape.ts.onnx"]
DEFAULT_GLOBS = ["saved_model/*/keras_metadata.pb", "pt2/*.pt2"]  # one of each, if shipped

BUDGET_S = 0.35          # lint wall time budget ...
BUDGET_CORES = 2         # ... stated for a machine with this many cores
ONNX_RATIO = 0.35        # and an ONNX lint within this share of onnx.load + check_model
TIMEOUT_S = 600          # per subprocess
HEAVY_ROOTS = ("tensorflow", "keras", "tf_keras", "torch", "onnx", "h5py", "numpy")
CHECK_MARKER = "__CNNLSTM_IMPORTCHECK__"


# --------------------------------------------------------------------------- commands

def lint_command() -> tuple[list[str], str]:
    """The argv prefix that runs the linter, and a short description of it."""
    script = Path(sys.executable).with_name("cnnlstm-lint")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)], f"console script {script}"
    return ([sys.executable, "-c", "from cnnlstm_lint.cli import main; main()"],
            f"{Path(sys.executable).name} -c 'from cnnlstm_lint.cli import main; main()' "
            "(no cnnlstm-lint script next to sys.executable)")


def lint_importtime_command(file: Path) -> list[str]:
    """The lint command under `python -X importtime` (the console script is a Python file)."""
    script = Path(sys.executable).with_name("cnnlstm-lint")
    if script.is_file():
        return [sys.executable, "-X", "importtime", str(script), str(file)]
    return [sys.executable, "-X", "importtime", "-c",
            "from cnnlstm_lint.cli import main; main()", str(file)]


def load_model_command(file: Path) -> tuple[list[str], str] | None:
    """The library's own load of this model, and its name; None if its library is missing."""
    name = file.name.lower()
    if file.is_dir():
        code = ("import sys, os\n"
                "if os.path.exists(os.path.join(sys.argv[1], 'keras_metadata.pb')):\n"
                "    import tf_keras; tf_keras.models.load_model(sys.argv[1])\n"
                "else:\n"
                "    import tensorflow as tf; tf.saved_model.load(sys.argv[1])\n")
        keras2 = (file / "keras_metadata.pb").exists()
        what = "tf_keras.models.load_model" if keras2 else "tf.saved_model.load"
        return ([sys.executable, "-c", code, str(file)], what) if _have("tensorflow") else None
    if name.endswith(".onnx"):
        code = "import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]))"
        return ([sys.executable, "-c", code, str(file)], "onnx.load + check_model") if _have("onnx") else None
    if name.endswith(".pt2"):
        code = "import sys, torch; torch.export.load(sys.argv[1])"
        return ([sys.executable, "-c", code, str(file)], "torch.export.load") if _have("torch") else None
    code = "import sys, keras; keras.saving.load_model(sys.argv[1])"
    return ([sys.executable, "-c", code, str(file)], "keras.saving.load_model") if _have("keras") else None


def import_check_command(file: Path) -> list[str]:
    code = f"""
import sys
status = "ok"
try:
    import cnnlstm_lint
    from cnnlstm_lint.loaders import load_graph  # in this process: the parse's imports count
    cnnlstm_lint.lint(load_graph(sys.argv[1]))
except Exception as exc:
    status = "error: " + type(exc).__name__
mods = sorted({{m.split(".")[0] for m in sys.modules}} & set({HEAVY_ROOTS!r}))
print({CHECK_MARKER!r}, ",".join(mods) or "-", status, flush=True)
"""
    return [sys.executable, "-c", code, str(file)]


def _have(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# --------------------------------------------------------------------------- measuring

class Timing:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.returncodes: list[int] = []
        self.last_stderr = ""

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def _run(argv: list[str], timing: Timing, record: bool) -> None:
    start = time.perf_counter()
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=TIMEOUT_S, cwd=REPO_ROOT)
    elapsed = time.perf_counter() - start
    timing.last_stderr = proc.stderr.decode("utf-8", "replace")
    if record:
        timing.times.append(elapsed)
        timing.returncodes.append(proc.returncode)


def time_alternating(commands: list[list[str]], runs: int, warmup: int) -> list[Timing]:
    """Wall times of each command, run in turn `runs` times (after `warmup` untimed rounds)."""
    timings = [Timing() for _ in commands]
    for i in range(warmup + runs):
        for argv, timing in zip(commands, timings):
            _run(argv, timing, i >= warmup)
    return timings


def import_check(file: Path) -> str:
    proc = subprocess.run(import_check_command(file), capture_output=True, timeout=TIMEOUT_S,
                          stdin=subprocess.DEVNULL, cwd=REPO_ROOT)
    out = proc.stdout.decode("utf-8", "replace")
    for line in out.splitlines():
        if line.startswith(CHECK_MARKER):
            _, mods, status = line.split(" ", 2)
            if status != "ok":
                return f"? (lint raised {status.removeprefix('error: ')}; imported: {mods})"
            return "none" if mods == "-" else mods
    return f"? (check failed, rc {proc.returncode}: {last_line(proc.stderr.decode('utf-8', 'replace'))})"


def parse_importtime(stderr: str) -> list[tuple[int, int, str]]:
    """(self_us, cumulative_us, name) for each `import time:` line.

    The name keeps its nesting indent: two spaces per level below a top-level import.
    """
    rows = []
    for line in stderr.splitlines():
        if not line.startswith("import time:"):
            continue
        fields = line[len("import time:"):].split("|")
        if len(fields) != 3:
            continue
        try:
            self_us, cum_us = int(fields[0]), int(fields[1])
        except ValueError:  # the header line
            continue
        name = fields[2].rstrip()
        rows.append((self_us, cum_us, name[1:] if name.startswith(" ") else name))
    return rows


# --------------------------------------------------------------------------- output

def last_line(text: str, limit: int = 160) -> str:
    lines = text.strip().splitlines()
    line = lines[-1] if lines else "(no output)"
    return line if len(line) <= limit else line[:limit - 3] + "..."


def display_name(file: Path) -> str:
    try:
        return str(file.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(file)


def fmt_s(seconds: float) -> str:
    return f"{seconds:.3f} s"


def print_table(headers: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    for line in [headers, *rows]:
        print("   ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())


def print_imports(file: Path, top: int) -> None:
    argv = lint_importtime_command(file)
    proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          stdin=subprocess.DEVNULL, timeout=TIMEOUT_S, cwd=REPO_ROOT)
    rows = parse_importtime(proc.stderr.decode("utf-8", "replace"))
    print()
    print(f"imports of the lint command ({display_name(file)}), python -X importtime, one run:")
    if not rows:
        print(f"  no importtime output (rc {proc.returncode})")
        return
    # Top-level imports (no indent) do not overlap, so their cumulative times add up.
    total = sum(cum for _, cum, name in rows if not name.startswith(" "))
    print(f"  {len(rows)} modules imported, {total / 1e6:.3f} s cumulative over top-level imports")
    ranked = sorted(rows, key=lambda r: r[1], reverse=True)[:top]
    print_table(["cumulative", "self", "module   [import depth, 0 = imported by the script itself]"],
                [[f"{cum / 1e3:8.1f} ms", f"{s / 1e3:7.1f} ms", name.lstrip()
                  + f"   [depth {(len(name) - len(name.lstrip())) // 2}]"]
                 for s, cum, name in ranked])


def default_files() -> list[Path]:
    found = [f for f in DEFAULT_FILES if f.exists()]
    for pattern in DEFAULT_GLOBS:
        match = sorted(SAMPLES.glob(pattern))[:1]
        found += [m.parent if m.name == "keras_metadata.pb" else m for m in match]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Median wall time of `cnnlstm-lint PATH` vs its format's library loading "
                    "it, each in a fresh process, alternating.")
    parser.add_argument("files", nargs="*", type=Path, metavar="PATH",
                        help="model files or SavedModel directories (default: one sample per format)")
    parser.add_argument("--runs", type=int, default=9, help="timed runs per command (default 9)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed rounds first, to warm the file cache (default 1)")
    parser.add_argument("--imports", action="store_true",
                        help="also print the top 10 cumulative import costs of the lint command "
                             "(one -X importtime run per file)")
    parser.add_argument("--no-load-model", action="store_true",
                        help="skip the library column")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    files = args.files or default_files()
    for f in files:
        if not f.exists():
            parser.error(f"no such file: {f}")
    files = [f.resolve() for f in files]

    lint_prefix, lint_desc = lint_command()
    cores = os.cpu_count() or 0
    print(f"python {sys.version.split()[0]} ({sys.executable}), {cores} cores, "
          f"{args.runs} runs + {args.warmup} warm-up per command, each in a fresh process, "
          "lint and library alternating")
    print(f"lint: {lint_desc}")
    print()

    main_rows, spread_rows, notes, verdicts = [], [], [], []
    for f in files:
        name = display_name(f)
        reference = None if args.no_load_model else load_model_command(f)
        commands = [[*lint_prefix, str(f)]] + ([reference[0]] if reference else [])
        timings = time_alternating(commands, args.runs, args.warmup)
        lint = timings[0]
        rcs = sorted(set(lint.returncodes))
        if any(rc not in (0, 1) for rc in rcs):
            notes.append(f"note: lint of {name} exited {rcs}: {last_line(lint.last_stderr)}")
        ok = lint.median <= BUDGET_S
        if reference is None:
            lib, load_cell, ratio, load_spread = "-", "n/a", "-", ["-", "-"]
        elif any(timings[1].returncodes):
            lib, load_cell, ratio, load_spread = reference[1], "n/a (failed)", "-", ["-", "-"]
            notes.append(f"note: {reference[1]} of {name} failed: {last_line(timings[1].last_stderr)}")
        else:
            load = timings[1]
            lib, load_cell = reference[1], fmt_s(load.median)
            ratio = f"{lint.median / load.median:.2f}"
            load_spread = [fmt_s(min(load.times)), fmt_s(max(load.times))]
            if name.endswith(".onnx"):
                ok = ok and lint.median <= ONNX_RATIO * load.median
        verdicts.append((name, ok))
        main_rows.append([name, fmt_s(lint.median), lib, load_cell, ratio, import_check(f)])
        spread_rows.append([name, fmt_s(min(lint.times)), fmt_s(max(lint.times)),
                            fmt_s(statistics.pstdev(lint.times)), *load_spread])

    print_table(["path", "lint median", "library", "library median", "lint/library",
                 "heavy modules the lint imports"], main_rows)
    where = ("this machine" if cores == BUDGET_CORES
             else f"this machine has {cores} cores, so only indicative")
    over = [name for name, ok in verdicts if not ok]
    print(f"budget: lint <= {BUDGET_S} s on a {BUDGET_CORES}-core machine, and an .onnx lint <= "
          f"{ONNX_RATIO} x its library's time -> "
          f"{'all within budget' if not over else 'OVER budget: ' + ', '.join(over)} ({where})")
    print()
    print_table(["path", "lint min", "lint max", "lint stdev", "library min", "library max"],
                spread_rows)
    for note in notes:
        print(note)

    if args.imports:
        for f in files:
            print_imports(f, top=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
