"""`ztc --help` start-up: the median wall time of 15 runs, each a fresh interpreter.

Run:  .venv/bin/python bench/bench_cli.py
It runs the CLI of the checkout the script is in (so a copy of the script in an older checkout
measures that one, for a before/after in one session). bench/RESULTS.md keeps the results.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RUNS = 15
CODE = (
    "import sys; sys.path.insert(0, sys.argv.pop(1)); sys.argv[0] = 'ztc'; "
    "from bot.cli import main; main()"
)


def main() -> None:
    """Time `ztc ARGS` (default: --help) RUNS times; print the median and the spread."""
    args = sys.argv[1:] or ["--help"]
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-c", CODE, str(ROOT), *args], check=True, capture_output=True
        )
        times.append(time.perf_counter() - started)
    times.sort()
    print(
        f"ztc {' '.join(args)}: median {statistics.median(times):.3f} s "
        f"(min {times[0]:.3f}, max {times[-1]:.3f}, {RUNS} runs) — {ROOT}"
    )


if __name__ == "__main__":
    main()
