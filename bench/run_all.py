"""Every benchmark, one after another, and one table of what each found.

Runs each ``bench/perf_*.py``, then the training and accuracy benchmarks, as subprocesses of this Python, one at a
time (they would only slow each other down). Each one's output goes to a log file; its last ``SUMMARY ...`` line
goes into the table printed at the end, with its exit status and how long it ran. ``--quick`` is passed on to
every benchmark that has it (a quick run is for trying things out: the figures the documents quote come from full
runs, five rounds or more each).

    .venv/bin/python bench/run_all.py                      # full runs (about an hour on 2 quiet cores)
    .venv/bin/python bench/run_all.py --quick              # a few minutes
    .venv/bin/python bench/run_all.py --only first_minute startup
    .venv/bin/python bench/run_all.py --skip own_samples --logs bench-logs
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _perf_common import REPO, machine

BENCH = Path(__file__).resolve().parent
TRAINING_AND_ACCURACY = ["sample_digits_accuracy.py", "train_sign_mnist.py", "train_callback_overhead.py",
                         "own_samples.py"]


def benchmarks() -> list[Path]:
    found = sorted(BENCH.glob("perf_*.py")) + [BENCH / name for name in TRAINING_AND_ACCURACY]
    return [path for path in found if path.is_file()]


def short(path: Path) -> str:
    return path.stem.removeprefix("perf_")


def last_summary(text: str) -> str | None:
    lines = [line.strip() for line in text.splitlines() if line.startswith("SUMMARY")]
    return lines[-1].removeprefix("SUMMARY").strip() if lines else None


def run(script: Path, quick: bool, log: Path) -> tuple[int, float, str | None]:
    """Runs one benchmark; (exit status, seconds, its last SUMMARY line without the word)."""
    command = [sys.executable, str(script)]
    if quick and "--quick" in script.read_text():
        command.append("--quick")
    began = time.perf_counter()
    with open(log, "w") as out:
        out.write(" ".join(command) + "\n")
        out.flush()
        code = subprocess.call(command, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)
    return code, time.perf_counter() - began, last_summary(log.read_text())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark that has it")
    parser.add_argument("--only", nargs="+", default=None, help="these benchmarks only (names without perf_)")
    parser.add_argument("--skip", nargs="+", default=[], help="leave these out")
    parser.add_argument("--logs", type=Path, default=None, help="folder for the logs (default: a temporary one)")
    args = parser.parse_args()
    chosen = [path for path in benchmarks()
              if (args.only is None or short(path) in args.only) and short(path) not in args.skip]
    logs = args.logs or Path(tempfile.mkdtemp(prefix="bench-logs-"))
    logs.mkdir(parents=True, exist_ok=True)
    print(f"machine at the start: {machine()}; logs in {logs}", flush=True)
    rows = []
    for number, script in enumerate(chosen, 1):
        print(f"[{number}/{len(chosen)}] {script.name} ...", end=" ", flush=True)
        log = logs / f"{script.stem}.log"
        code, seconds, summary = run(script, args.quick, log)
        print(f"{seconds:.0f} s, exit status {code}", flush=True)
        rows.append((short(script), code, seconds, summary or f"(no SUMMARY line; see {log})"))
    print(f"machine at the end: {machine()}")
    width = max(len(name) for name, *_ in rows) if rows else 10
    print(f"\n{'benchmark':{width}s}  status  seconds  summary")
    for name, code, seconds, summary in rows:
        print(f"{name:{width}s}  {'ok' if code == 0 else f'exit {code}':6s}  {seconds:7.0f}  {summary}")
    return 0 if all(code == 0 for _, code, _, _ in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
