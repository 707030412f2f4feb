"""Latency of `cnnlstm-lint FILE` next to `keras.saving.load_model(FILE)`, each in a fresh process.

    python benchmarks/lint_latency.py                      # default sample model, 9 runs
    python benchmarks/lint_latency.py --runs 15 a.keras b.h5
    python benchmarks/lint_latency.py --imports            # also: top import costs of the lint command
    python benchmarks/lint_latency.py --no-load-model      # lint column only (quick)

Every measurement starts a new interpreter, so the numbers include interpreter start-up and
all imports: that is what a user (or a pre-commit hook) waits for.  The lint command is the
`cnnlstm-lint` console script next to sys.executable, run as a user would run it; when there
is none, `python -c "from cnnlstm_lint.cli import main; main()"` is used instead.

A third fresh process lints the file in-process and reports whether any tensorflow/keras module
ended up in sys.modules: the linter is meant to read model files without either.

Standard library only.  Exit status is 0 whatever the numbers are (a benchmark reports, it does
not judge); 2 for bad arguments.
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
DEFAULT_FILE = REPO_ROOT / "sample_models" / "cl001_spatial_reshape.keras"

BUDGET_S = 0.35          # lint wall time budget ...
BUDGET_CORES = 2         # ... stated for a machine with this many cores
TIMEOUT_S = 600          # per subprocess
TF_ROOTS = ("tensorflow", "keras")
CHECK_MARKER = "__CNNLSTM_TFCHECK__"


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


def load_model_command(file: Path) -> list[str]:
    return [sys.executable, "-c",
            "import sys, keras; keras.saving.load_model(sys.argv[1])", str(file)]


def tf_check_command(file: Path) -> list[str]:
    code = f"""
import sys
from cnnlstm_lint.cli import main
status = "ok"
try:
    main(standalone_mode=False, args=[sys.argv[1]])
except SystemExit:
    pass
except Exception as exc:  # a click usage error etc.: still worth knowing what got imported
    status = "error: " + type(exc).__name__
mods = sorted(m for m in sys.modules if m.split(".")[0] in {TF_ROOTS!r})
print({CHECK_MARKER!r}, any(mods), ",".join(mods[:5]) or "-", status, flush=True)
"""
    return [sys.executable, "-c", code, str(file)]


def keras_available() -> bool:
    try:
        return importlib.util.find_spec("keras") is not None
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


def time_runs(argv: list[str], runs: int, warmup: int) -> Timing:
    """Wall time of `argv` run to completion `runs` times (after `warmup` untimed runs)."""
    t = Timing()
    for i in range(warmup + runs):
        start = time.perf_counter()
        proc = subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                              stdin=subprocess.DEVNULL, timeout=TIMEOUT_S, cwd=REPO_ROOT)
        elapsed = time.perf_counter() - start
        t.last_stderr = proc.stderr.decode("utf-8", "replace")
        if i >= warmup:
            t.times.append(elapsed)
            t.returncodes.append(proc.returncode)
    return t


def tf_check(file: Path) -> str:
    proc = subprocess.run(tf_check_command(file), capture_output=True, timeout=TIMEOUT_S,
                          stdin=subprocess.DEVNULL, cwd=REPO_ROOT)
    out = proc.stdout.decode("utf-8", "replace")
    for line in out.splitlines():
        if line.startswith(CHECK_MARKER):
            _, imported, mods, status = line.split(" ", 3)
            if status != "ok":
                return f"? (lint raised {status.removeprefix('error: ')}; imported: {mods})"
            return f"YES ({mods})" if imported == "True" else "no"
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Median wall time of `cnnlstm-lint FILE` vs keras.saving.load_model(FILE), "
                    "each in a fresh process.")
    parser.add_argument("files", nargs="*", type=Path, metavar="FILE",
                        help=f"model files (default: {display_name(DEFAULT_FILE)})")
    parser.add_argument("--runs", type=int, default=9, help="timed runs per command (default 9)")
    parser.add_argument("--warmup", type=int, default=1,
                        help="untimed runs first, to warm the file cache (default 1)")
    parser.add_argument("--imports", action="store_true",
                        help="also print the top 10 cumulative import costs of the lint command "
                             "(one -X importtime run per file)")
    parser.add_argument("--no-load-model", action="store_true",
                        help="skip the keras.saving.load_model column")
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.warmup < 0:
        parser.error("--warmup must be 0 or more")
    files = args.files or [DEFAULT_FILE]
    for f in files:
        if not f.is_file():
            parser.error(f"no such file: {f}")
    files = [f.resolve() for f in files]

    lint_prefix, lint_desc = lint_command()
    have_keras = keras_available() and not args.no_load_model
    cores = os.cpu_count() or 0
    print(f"python {sys.version.split()[0]} ({sys.executable}), {cores} cores, "
          f"{args.runs} runs + {args.warmup} warm-up per command, each in a fresh process")
    print(f"lint: {lint_desc}")
    print()

    main_rows, spread_rows, notes = [], [], []
    lint_medians = []
    for f in files:
        name = display_name(f)
        lint = time_runs([*lint_prefix, str(f)], args.runs, args.warmup)
        lint_medians.append(lint.median)
        rcs = sorted(set(lint.returncodes))
        if any(rc not in (0, 1) for rc in rcs):
            notes.append(f"note: lint of {name} exited {rcs}: {last_line(lint.last_stderr)}")
        if args.no_load_model:
            load_cell, ratio, load_spread = "n/a (skipped)", "-", ["-", "-"]
        elif not have_keras:
            load_cell, ratio, load_spread = "n/a (keras not installed)", "-", ["-", "-"]
        else:
            load = time_runs(load_model_command(f), args.runs, args.warmup)
            if any(load.returncodes):
                load_cell, ratio, load_spread = "n/a (load_model failed)", "-", ["-", "-"]
                notes.append(f"note: load_model({name}) failed: {last_line(load.last_stderr)}")
            else:
                load_cell = fmt_s(load.median)
                ratio = f"{load.median / lint.median:.1f}x"
                load_spread = [fmt_s(min(load.times)), fmt_s(max(load.times))]
        main_rows.append([name, fmt_s(lint.median), load_cell, ratio, tf_check(f)])
        spread_rows.append([name, fmt_s(min(lint.times)), fmt_s(max(lint.times)),
                            fmt_s(statistics.pstdev(lint.times)), *load_spread])

    print_table(["file", "lint median", "load_model median", "ratio",
                 "tf/keras imported by lint"], main_rows)
    worst = max(lint_medians)
    verdict = "within budget" if worst <= BUDGET_S else "OVER budget"
    where = ("this machine" if cores == BUDGET_CORES
             else f"this machine has {cores} cores, so only indicative")
    what = "lint" if len(files) == 1 else "slowest lint median"
    print(f"budget: lint <= {BUDGET_S} s on a {BUDGET_CORES}-core machine -> "
          f"{what} {fmt_s(worst)} {verdict} ({where})")
    print()
    print_table(["file", "lint min", "lint max", "lint stdev", "load_model min",
                 "load_model max"], spread_rows)
    for note in notes:
        print(note)

    if args.imports:
        for f in files:
            print_imports(f, top=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
