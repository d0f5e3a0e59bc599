"""Large-data benchmark: the default Chinchilla fit on 10k, 50k and 200k synthetic points.

Data (seeded): N log-uniform in [1e7, 1e10], D log-uniform in [1e9, 1e12], and

    loss = (E + A / N^alpha + B / D^beta) * exp(0.01 * z),   z ~ Normal(0, 1)   (1% lognormal noise)

with the truth E = 1.8, A = 480, B = 2100, alpha = 0.35, beta = 0.37.

Each size is fitted with ``scalefit.fit(df)`` (the default law, chinchilla, and its 4,500-start grid)
in its OWN child process, so the peak resident memory (``resource.getrusage(RUSAGE_SELF).ru_maxrss``,
KiB on Linux) belongs to that size alone. The child times the first call (includes compilation:
no persistent compile cache, ``JAX_COMPILATION_CACHE_DIR`` and ``JAX_ENABLE_X64`` are removed from its
environment; scalefit switches float64 on itself) and a second call of the same shape (compiled).
The parent prints a table and the growth per point between sizes.

Run from the repository root:

    .venv/bin/python benchmarks/large_data.py                        # 10k, 50k, 200k (~1-2 min on 2 cores)
    .venv/bin/python benchmarks/large_data.py --sizes 10000 200000   # other sizes
    .venv/bin/python benchmarks/large_data.py --child 50000          # one size, in this process

Targets: 200k points fitted in <= 15 s (first call) and <= 1.5 GiB peak RSS, time and memory growing
linearly with the points. The last line is ``ratio: <200k first-call s / 15 s target> ...``.
"""

from __future__ import annotations

import os

import _blas  # noqa: F401  (single-threaded BLAS, before numpy loads)
# No persistent compilation cache (first-call times include compilation honestly) and no global x64.
for _var in ("JAX_COMPILATION_CACHE_DIR", "JAX_ENABLE_X64"):
    os.environ.pop(_var, None)

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SIZES = (10_000, 50_000, 200_000)
TRUTH = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}
NOISE = 0.01
TARGET_S = 15.0
TARGET_RSS_GIB = 1.5
RESULT = "RESULT "  # prefix of the child's JSON line


def make_data(n: int, seed: int) -> pd.DataFrame:
    """n synthetic Chinchilla points (N, D, loss), 1% lognormal noise, seeded."""
    rng = np.random.default_rng(seed)
    N = 10.0 ** rng.uniform(7.0, 10.0, n)
    D = 10.0 ** rng.uniform(9.0, 12.0, n)
    t = TRUTH
    loss = (t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"]) * np.exp(NOISE * rng.standard_normal(n))
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB on Linux


def child(n: int, seed: int) -> dict:
    """Fits one size in this process; returns the figures (and prints them)."""
    df = make_data(n, seed)
    sys.path.insert(0, str(REPO))  # benchmark the checkout's scalefit
    import jax

    import scalefit

    cache = jax.config.jax_compilation_cache_dir
    rss_base = rss_mib()  # after imports and the data, before any fit
    w0, c0 = time.perf_counter(), time.process_time()
    fit = scalefit.fit(df)
    first, first_cpu = time.perf_counter() - w0, time.process_time() - c0
    rss_first = rss_mib()
    w0, c0 = time.perf_counter(), time.process_time()
    fit = scalefit.fit(df)
    second, second_cpu = time.perf_counter() - w0, time.process_time() - c0
    rss_peak = rss_mib()
    c = fit.convergence
    out = {
        "n": n, "first_s": first, "first_cpu_s": first_cpu, "second_s": second, "second_cpu_s": second_cpu,
        "rss_base_mib": rss_base, "rss_after_first_mib": rss_first, "rss_peak_mib": rss_peak,
        "params": {k: float(v) for k, v in fit.params.items()}, "objective": float(fit.objective),
        "stop": getattr(c.stop, "name", str(c.stop)), "grad_norm": float(c.grad_norm),
        "grad_tol": float(c.grad_tol), "n_starts": int(c.n_starts), "n_solved": int(c.n_solved),
        "n_best_basin": int(c.n_best_basin), "subsample": int(getattr(c, "subsample", 0)),
        "n_refined": int(getattr(c, "n_refined", 0)), "jax": jax.__version__,
        "x64_flag": bool(jax.config.jax_enable_x64), "compile_cache": cache or None,
        "scalefit": getattr(scalefit, "__version__", "?"),
    }
    print(f"n={n}: first call {first:.2f} s (cpu {first_cpu:.2f}), second {second:.2f} s (cpu {second_cpu:.2f}), "
          f"peak RSS {rss_peak:.0f} MiB (before fitting {rss_base:.0f} MiB), stop={out['stop']}, "
          f"grad_norm {c.grad_norm:.2e} (tol {c.grad_tol:.2e}), subsample {out['subsample']}, "
          f"refined {out['n_refined']}", file=sys.stderr)
    return out


def fmt_params(p: dict) -> str:
    return "  ".join(f"{k}={p[k]:.5g}" for k in ("E", "A", "B", "alpha", "beta"))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", type=int, nargs="+", default=list(SIZES), help="points per fit (default 10k 50k 200k)")
    p.add_argument("--seed", type=int, default=0, help="data seed (default 0)")
    p.add_argument("--child", type=int, default=None, metavar="N",
                   help="fit N points in this process and print one JSON result line")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds allowed per size (default 600)")
    args = p.parse_args(argv)

    if args.child is not None:
        print(RESULT + json.dumps(child(args.child, args.seed)), flush=True)
        return 0

    print(f"python {platform.python_version()}  numpy {np.__version__}  pandas {pd.__version__}  "
          f"cpus {os.cpu_count()}  OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']}")
    print(f"truth: {fmt_params(TRUTH)}   noise {NOISE:.0%} lognormal   seed {args.seed}")
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    results = []
    for n in sorted(args.sizes):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--child", str(n), "--seed", str(args.seed)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout, env=os.environ.copy())
        except subprocess.TimeoutExpired:
            print(f"\nn={n}: TIMED OUT after {args.timeout:.0f} s")
            continue
        lines = [ln for ln in proc.stdout.splitlines() if ln.startswith(RESULT)]
        if proc.returncode != 0 or not lines:
            print(f"\nn={n}: child failed (exit {proc.returncode})\n{proc.stderr[-3000:]}")
            continue
        r = json.loads(lines[-1][len(RESULT):])
        warn = [ln for ln in proc.stderr.splitlines() if "Warning" in ln]
        results.append(r)
        print(f"\n== n = {n:,} (own process; jax {r['jax']}, jax_enable_x64 flag {r['x64_flag']}, "
              f"persistent compile cache: {r['compile_cache'] or 'off'})")
        print(f"first call: {r['first_s']:.2f} s (cpu {r['first_cpu_s']:.2f} s)   second call: {r['second_s']:.2f} s "
              f"(cpu {r['second_cpu_s']:.2f} s)")
        print(f"peak RSS: {r['rss_peak_mib']:.0f} MiB   (after imports and data, before fitting: "
              f"{r['rss_base_mib']:.0f} MiB; after the first call: {r['rss_after_first_mib']:.0f} MiB)")
        print(f"params: {fmt_params(r['params'])}   objective {r['objective']:.6e}")
        rel = {k: r["params"][k] / TRUTH[k] - 1 for k in TRUTH}
        print("vs truth: " + "  ".join(f"{k} {v:+.2%}" for k, v in rel.items()))
        print(f"convergence: stop={r['stop']}   grad_norm {r['grad_norm']:.2e} (tol {r['grad_tol']:.2e})   "
              f"starts {r['n_starts']}, solved {r['n_solved']}, in best basin {r['n_best_basin']}   "
              f"subsample {r['subsample']}, refined on all points {r['n_refined']}")
        for ln in warn:
            print(f"child stderr: {ln.strip()}")

    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if not results:
        print("ratio: n/a (no size finished)")
        return 1
    print("\n| points | first call s | second call s | peak RSS MiB | RSS above pre-fit MiB | second-call µs/point "
          "| RSS above pre-fit bytes/point | stop |")
    print("|---|---|---|---|---|---|---|---|")
    for r in results:
        extra = r["rss_peak_mib"] - r["rss_base_mib"]
        print(f"| {r['n']:,} | {r['first_s']:.2f} | {r['second_s']:.2f} | {r['rss_peak_mib']:.0f} | {extra:.0f} | "
              f"{1e6 * r['second_s'] / r['n']:.1f} | {extra * 2**20 / r['n']:.0f} | {r['stop']} |")
    if len(results) > 1:
        print("\ngrowth between consecutive sizes (marginal cost of the added points):")
        for a, b in zip(results, results[1:]):
            dn = b["n"] - a["n"]
            print(f"{a['n']:,} -> {b['n']:,} ({b['n'] / a['n']:.3g}x points): "
                  f"first call x{b['first_s'] / a['first_s']:.2f}, second call x{b['second_s'] / a['second_s']:.2f} "
                  f"({1e6 * (b['second_s'] - a['second_s']) / dn:+.1f} µs per added point), "
                  f"peak RSS x{b['rss_peak_mib'] / a['rss_peak_mib']:.2f} "
                  f"({(b['rss_peak_mib'] - a['rss_peak_mib']) * 2**20 / dn:+.0f} bytes per added point)")
    big = max(results, key=lambda r: r["n"])
    ok_t = big["first_s"] <= TARGET_S
    ok_m = big["rss_peak_mib"] <= TARGET_RSS_GIB * 1024
    print(f"\ntargets at n = {big['n']:,}: first call {big['first_s']:.2f} s <= {TARGET_S:.0f} s: "
          f"{'ok' if ok_t else 'MISSED'};  peak RSS {big['rss_peak_mib'] / 1024:.2f} GiB <= {TARGET_RSS_GIB} GiB: "
          f"{'ok' if ok_m else 'MISSED'}"
          + ("" if big["n"] == 200_000 else "   (the targets are set for 200,000 points)"))
    print(f"ratio: {big['first_s'] / TARGET_S:.2f} of the {TARGET_S:.0f} s target, "
          f"{big['rss_peak_mib'] / 1024 / TARGET_RSS_GIB:.2f} of the {TARGET_RSS_GIB} GiB target "
          f"({big['n']:,} points: first call {big['first_s']:.2f} s, second {big['second_s']:.2f} s, "
          f"peak RSS {big['rss_peak_mib']:.0f} MiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
