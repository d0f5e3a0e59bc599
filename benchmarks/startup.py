"""Start-up of the `scalefit` command: whole processes, median of 5 runs, against the targets.

    python benchmarks/startup.py [--runs 5]

Times `scalefit --help`; `predict`, `optimal` and `tokens` from a saved fit (with 200 bootstrap
draws, so the bands are computed too); `scalefit fit` of the built-in example with a warm cache
(JAX's compilation cache and scalefit's exported solver programs, in a folder made here) and
fresh (an empty cache folder each run, as on a new install). The installed `scalefit` beside
this Python is used. Each figure is the median wall time of whole processes, one warm-up run
not counted; the targets are the start-up issue's.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "data" / "example_runs.csv"
COMMAND = str(Path(sys.executable).with_name("scalefit"))


def wall(args: list[str], env: dict, runs: int, fresh: Path | None = None) -> list[float]:
    times = []
    for i in range(runs + 1):
        if fresh is not None:
            env = {**env, "SCALEFIT_JAX_CACHE": tempfile.mkdtemp(dir=fresh)}
        start = time.perf_counter()
        done = subprocess.run([COMMAND, *args], env=env, capture_output=True, text=True)
        elapsed = time.perf_counter() - start
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(args)} failed ({done.returncode}): {done.stderr}")
        if i:                                       # the first run is a warm-up
            times.append(elapsed)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = {**os.environ, "SCALEFIT_JAX_CACHE": str(tmp / "cache")}
        fit = tmp / "fit.json"
        subprocess.run([COMMAND, "fit", str(EXAMPLE), "--bootstrap", "200", "--out", str(fit)],
                       env=env, capture_output=True, check=True)
        cases = [
            ("scalefit --help", ["--help"], 0.25, None),
            ("scalefit predict (saved fit, band)", ["predict", str(fit), "--at", "N=7e10,D=1.4e12"],
             0.3, None),
            ("scalefit optimal (saved fit, band)", ["optimal", str(fit), "--budget", "1e22"], 0.3,
             None),
            ("scalefit tokens (saved fit, band)", ["tokens", str(fit), "--loss", "2.0", "--N",
                                                   "7e10"], 0.3, None),
            ("scalefit fit example, warm cache", ["fit", str(EXAMPLE)], 2.0, None),
            ("scalefit fit example, fresh cache", ["fit", str(EXAMPLE)], 6.0, tmp),
        ]
        print(f"{'command':<38} {'median':>8} {'min':>7} {'max':>7} {'target':>7}")
        for name, args, target, fresh in cases:
            t = wall(args, env, runs, fresh)
            print(f"{name:<38} {statistics.median(t):7.2f}s {min(t):6.2f}s {max(t):6.2f}s "
                  f"{target:6.2f}s  ratio to target: {statistics.median(t) / target:.2f}")


if __name__ == "__main__":
    main()
