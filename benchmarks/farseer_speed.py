"""Speed benchmark: scalefit's end-to-end Farseer fit against a scipy L-BFGS-B reference.

Problem (Li et al. 2025, "Farseer: A Refined Scaling Law in Large Language Models"): the Farseer
grid, ``scalefit.data.read_farseer()`` (341 runs with N >= 2e8, target L in bits per character),
fitted with the 9-parameter law x = (c3, s3, gamma, c2, s2, beta, c1, s1, alpha), the paper's
form with each stretched power a·N^e + b written as c + s·u_e, u_e = (n^e - 1)/e, n = N / 1e9:

    L = exp(c3 + s3 u_gamma) + exp(c2 + s2 u_beta) D^(-exp(c1 + s1 u_alpha))
    f = 0.5 * sum_i (log L_pred_i - log L_i)^2       (summed, never a mean)

with gamma, alpha in [0.02, 1], beta in [-1, -0.02], the rest unbounded.

Methods, all timed in this one process:

* scalefit     ``scalefit.fit(df, law="farseer")``: 4,096 scrambled Sobol starts (seed 0) screened,
               the best 32 solved. First call with a fresh (cold) JAX persistent compilation
               cache, then the best of 5 further calls.
* reference    the same 4,096 starts (``Spec.build(farseer, loss="squared").starts()``), the
               objective evaluated at all of them in numpy (float64), the 32 lowest solved with
               ``scipy.optimize.minimize(method="L-BFGS-B")`` and an analytic numpy gradient,
               tight tolerances (``REF_OPTIONS``), the same bounds; the best result is kept. The
               screen and the 32 solves are timed together; the best wall of 3 runs is kept.
* auto on S1   ``scalefit.fit(train, law="auto")`` on split S1's training runs (N below the
               largest N: 329 runs), first call and best of 3; its held-out mean absolute relative
               error on the 12 test runs (N = 6.37e9) and the law it chose.

Run from the repository root:

    .venv/bin/python benchmarks/farseer_speed.py                   # everything (about 45 s on 2 cores)
    .venv/bin/python benchmarks/farseer_speed.py --scalefit-only   # skip the reference
    .venv/bin/python benchmarks/farseer_speed.py --references-only # skip scalefit (and auto)
    .venv/bin/python benchmarks/farseer_speed.py --no-auto         # skip the law="auto" timing

The last line is ``ratio: <reference wall s / scalefit compiled wall s> (auto on S1: <s> s)``.
"""

from __future__ import annotations

import os

import _blas  # noqa: F401  (single-threaded BLAS, before numpy loads)

import argparse  # noqa: E402
import atexit  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from pathlib import Path  # noqa: E402

# A fresh, empty persistent compilation cache, so scalefit's first call pays its compile cost.
# Set before jax can be imported (by us or by scalefit).
_JAX_CACHE_DIR = tempfile.mkdtemp(prefix="scalefit-bench-jax-cache-")
atexit.register(shutil.rmtree, _JAX_CACHE_DIR, ignore_errors=True)
os.environ["JAX_COMPILATION_CACHE_DIR"] = _JAX_CACHE_DIR

import numpy as np  # noqa: E402

from _reference import REPO, check_gradient, data_dir, print_environment, screen_and_solve  # noqa: E402

FARSEER_CSV = Path("Farseer-Scaling-Law/Farseer/main/ipynb/data/1222_full.csv")
N_RUNS = 341          # read_farseer()'s default: the runs with N >= 2e8
N_UNIT = 1e9          # n = N / 1e9 inside the law
NAMES = ("c3", "s3", "gamma", "c2", "s2", "beta", "c1", "s1", "alpha")
BOUNDS = [(None, None), (None, None), (0.02, 1.0), (None, None), (None, None), (-1.0, -0.02),
          (None, None), (None, None), (0.02, 1.0)]
N_SOLVE = 32          # scalefit's default n_solve: the best 32 screened starts are solved
REF_OPTIONS = {"ftol": 1e-15, "gtol": 1e-10, "maxiter": 3000, "maxfun": 100_000}
SF_REPEATS = 5
REF_REPEATS = 3       # the reference is deterministic; its best wall of 3 is kept (at its best)
AUTO_REPEATS = 3
NEAR_REL = 1e-6       # a start "reaches" the best if within this relative objective gap
BETTER_REL = 1e-12    # scalefit's objective must be <= reference best * (1 + this)


# --------------------------------------------------------------------------------------------
# the numpy objective and its analytic gradient
# --------------------------------------------------------------------------------------------
class FarseerObjective:
    """0.5 * sum_i (log L_pred_i - log L_i)^2 of the Farseer law, vectorised over the points."""

    def __init__(self, N: np.ndarray, D: np.ndarray, loss: np.ndarray):
        self.ln_n = np.log(np.asarray(N, np.float64) / N_UNIT)
        self.ln_d = np.log(np.asarray(D, np.float64))
        self.log_l = np.log(np.asarray(loss, np.float64))

    def _stretch(self, e):
        """u = (n^e - 1)/e and du/de (the exponents stay 0.02 or more from 0: no series)."""
        ne = np.exp(e * self.ln_n)
        u = (ne - 1.0) / e
        return u, (self.ln_n * ne - u) / e

    def _terms(self, x: np.ndarray):
        c3, s3, gamma, c2, s2, beta, c1, s1, alpha = x
        (ug, dg), (ub, db), (ua, da) = self._stretch(gamma), self._stretch(beta), self._stretch(alpha)
        t3 = c3 + s3 * ug                      # log of the D-free term
        A = np.exp(c1 + s1 * ua)               # the D exponent
        t2 = c2 + s2 * ub - A * self.ln_d      # log of the D term
        m = np.maximum(t2, t3)                 # stable log-sum-exp
        e2, e3 = np.exp(t2 - m), np.exp(t3 - m)
        tot = e2 + e3
        r = m + np.log(tot) - self.log_l
        return r, e2 / tot, e3 / tot, (ug, dg), (ub, db), (ua, da), A

    def value(self, x: np.ndarray) -> float:
        r = self._terms(x)[0]
        return float(0.5 * (r @ r))

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        s3, s2, s1 = x[1], x[4], x[7]
        r, p2, p3, (ug, dg), (ub, db), (ua, da), A = self._terms(x)
        q3, q2 = r * p3, r * p2                # df/dt3_i, df/dt2_i
        q1 = -q2 * A * self.ln_d               # df/d(log A)_i
        grad = np.array([q3.sum(), q3 @ ug, s3 * (q3 @ dg),
                         q2.sum(), q2 @ ub, s2 * (q2 @ db),
                         q1.sum(), q1 @ ua, s1 * (q1 @ da)])
        return float(0.5 * (r @ r)), grad

    def values(self, X: np.ndarray) -> np.ndarray:
        """The objective at each row of X (n_starts, 9), non-finite -> inf (ranks last)."""
        c3, s3, gamma, c2, s2, beta, c1, s1, alpha = (X[:, [k]] for k in range(9))
        ln_n, ln_d = self.ln_n[None, :], self.ln_d[None, :]

        def u(e):
            return np.expm1(e * ln_n) / e

        t3 = c3 + s3 * u(gamma)
        t2 = c2 + s2 * u(beta) - np.exp(c1 + s1 * u(alpha)) * ln_d
        m = np.maximum(t2, t3)
        r = m + np.log(np.exp(t2 - m) + np.exp(t3 - m)) - self.log_l[None, :]
        f = 0.5 * np.einsum("sn,sn->s", r, r)
        return np.where(np.isfinite(f), f, np.inf)


def read_points() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """N, D, L of the runs with N >= 2e8, read from the CSV directly (not through scalefit)."""
    import pandas as pd

    raw = pd.read_csv(data_dir() / FARSEER_CSV)
    kept = raw[raw["N"] >= 2e8]
    if len(kept) != N_RUNS:
        raise SystemExit(f"expected {N_RUNS} runs with N >= 2e8 in {FARSEER_CSV}, got {len(kept)}")
    return (kept["N"].to_numpy(np.float64), kept["D"].to_numpy(np.float64),
            kept["L"].to_numpy(np.float64))


# --------------------------------------------------------------------------------------------
# the reference
# --------------------------------------------------------------------------------------------
def run_reference(obj: FarseerObjective, starts: np.ndarray, k: int = N_SOLVE):
    return screen_and_solve(obj, starts, k, BOUNDS, REF_OPTIONS)


def fmt_params(x) -> str:
    return "  ".join(f"{n}={v:.6g}" for n, v in zip(NAMES, x))


def load_str() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--references-only", action="store_true", help="skip scalefit (and law='auto')")
    g.add_argument("--scalefit-only", action="store_true", help="skip the scipy reference")
    p.add_argument("--no-auto", action="store_true", help="skip the law='auto' timing on split S1")
    args = p.parse_args(argv)

    os.environ.setdefault("SCALEFIT_DATA_DIR", str(data_dir()))
    csv = data_dir() / FARSEER_CSV
    if not csv.is_file():
        raise SystemExit(f"the Farseer grid is missing: no file {csv}. Set SCALEFIT_DATA_DIR to a "
                         f"mirror holding <dir>/{FARSEER_CSV} (default <repo>/../shared/datasets).")

    print_environment()
    N, D, L = read_points()
    obj = FarseerObjective(N, D, L)

    sys.path.insert(0, str(REPO))  # benchmark the checkout's scalefit (and take its starts)
    import jax

    jax.config.update("jax_compilation_cache_dir", _JAX_CACHE_DIR)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    w0 = time.perf_counter()
    import scalefit
    import scalefit.core
    import scalefit.data
    import scalefit.laws

    t_import = time.perf_counter() - w0
    spec = scalefit.core.Spec.build(scalefit.laws.farseer, loss="squared")
    assert spec.free == NAMES, spec.free
    starts = spec.starts()       # 4,096 scrambled Sobol starts, seed 0, natural scale
    lo, hi = spec.bounds()
    assert [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b)
            for a, b in zip(lo, hi)] == BOUNDS, (lo, hi)

    # ---------------------------------------------------------------- scalefit
    sf_obj = sf_wall_best = auto_wall_best = None
    df = None
    if not args.references_only:
        df = scalefit.data.read_farseer()
        if len(df) != N_RUNS:
            raise SystemExit(f"scalefit.data.read_farseer() gave {len(df)} rows, expected {N_RUNS}")
        assert np.array_equal(df["N"].to_numpy(), N) and np.array_equal(df["loss"].to_numpy(), L)
        print(f"\n== scalefit {getattr(scalefit, '__version__', '?')} (jax {jax.__version__}, "
              f"backend {jax.default_backend()}, {jax.device_count()} device): "
              f"scalefit.fit(df, law='farseer'), {len(df)} runs")
        print(f"import: {t_import:.2f} s   JAX cache: {_JAX_CACHE_DIR} (fresh)")
        w0, c0 = time.perf_counter(), time.process_time()
        fit = scalefit.fit(df, law="farseer")
        sf_wall_first, sf_cpu_first = time.perf_counter() - w0, time.process_time() - c0
        runs = []
        for _ in range(SF_REPEATS):
            w0, c0 = time.perf_counter(), time.process_time()
            fit = scalefit.fit(df, law="farseer")
            runs.append((time.perf_counter() - w0, time.process_time() - c0))
        sf_wall_best, sf_cpu_best = min(runs)
        n_cached = sum(len(files) for _, _, files in os.walk(_JAX_CACHE_DIR))
        print(f"first call (cold compile cache): wall {sf_wall_first:.3f} s   cpu {sf_cpu_first:.3f} s   "
              f"(cache files written: {n_cached})")
        print(f"compiled, best of {SF_REPEATS}: wall {sf_wall_best:.4f} s   cpu {sf_cpu_best:.4f} s   "
              f"(all walls: {', '.join(f'{w:.4f}' for w, _ in runs)})")
        sf_obj = float(fit.objective)
        c = fit.convergence
        x_sf = np.array([fit.params[n] for n in NAMES], np.float64)
        print(f"objective: {sf_obj:.10e}")
        print(f"params: {fmt_params(x_sf)}")
        print(f"convergence: stop={c.stop.name}  steps={c.n_steps}  grad_norm={c.grad_norm:.3e} "
              f"(tol {c.grad_tol:.3e})  starts {c.n_starts} screened, {c.n_solved} solved, "
              f"{c.n_best_basin} in the best basin  at_bound={c.at_bound}")
        f_np, g_np = obj.value_and_grad(x_sf)
        held = np.array([(b[0] is not None and np.isclose(v, b[0], rtol=0, atol=1e-9) and gk > 0)
                         or (b[1] is not None and np.isclose(v, b[1], rtol=0, atol=1e-9) and gk < 0)
                         for v, gk, b in zip(x_sf, g_np, BOUNDS)])
        print(f"numpy objective at scalefit's params: {f_np:.10e} (diff {sf_obj - f_np:+.3e})   "
              f"numpy max|projected grad| there: {np.max(np.abs(np.where(held, 0.0, g_np))):.3e}")

    # ---------------------------------------------------------------- reference
    ref = None
    if not args.scalefit_only:
        grad_points = (starts[0], starts[1234],
                       [-0.81, -0.11, 0.08, 4.6, -0.88, -0.17, -1.22, -0.17, 0.03])  # near the optimum
        worst = check_gradient(obj, grad_points)
        print(f"\nanalytic gradient vs central differences: worst rel err {worst:.1e} (< 1e-5 required)")
        tries = [run_reference(obj, starts) for _ in range(REF_REPEATS)]
        ref = min(tries, key=lambda t: t.wall)
        assert all(np.array_equal(t.fun, ref.fun) for t in tries)  # deterministic
        n_near = int(np.sum(ref.fun - ref.best_fun <= NEAR_REL * abs(ref.best_fun)))
        msgs = sorted(set(ref.messages), key=ref.messages.count, reverse=True)
        print(f"\n== reference: numpy screen of {len(starts)} starts (float64), the {N_SOLVE} lowest "
              f"solved with scipy L-BFGS-B, analytic numpy gradient, bounds as the law's, "
              f"options {REF_OPTIONS}")
        print(f"best of {REF_REPEATS}: wall {ref.wall:.3f} s   cpu {ref.cpu:.3f} s   (of which the screen: "
              f"{ref.screen_wall:.3f} s; all walls: {', '.join(f'{t.wall:.3f}' for t in tries)})")
        print(f"objective: {ref.best_fun:.10e}")
        print(f"params: {fmt_params(ref.best_x)}")
        print(f"found from start #{ref.picked[ref.best]} (screen rank {ref.best})   "
              f"solves within {NEAR_REL:g} rel of best: {n_near}/{N_SOLVE}   "
              f"success flags: {int(ref.success.sum())}/{N_SOLVE}   "
              f"non-finite ends: {int(np.sum(~np.isfinite(ref.fun)))}")
        print(f"iterations: median {float(np.median(ref.nit)):.0f}, max {int(ref.nit.max())}   "
              f"nfev total: {int(ref.nfev.sum())}   messages: "
              + "; ".join(f"{ref.messages.count(m)}x {m}" for m in msgs))
        if sf_obj is not None:
            rel = np.abs(ref.best_x - x_sf) / np.maximum(np.abs(x_sf), 1e-12)
            print(f"params vs scalefit's: max rel diff {rel.max():.2e} ({NAMES[int(np.argmax(rel))]})")

    # ---------------------------------------------------------------- auto on S1
    auto_line = "auto on S1: skipped"
    if df is not None and not args.no_auto:
        top = df["N"].max()
        train, test = df[df["N"] < top], df[df["N"] == top]
        print(f"\n== scalefit.fit(train, law='auto') on split S1: train {len(train)} runs (N < {top:.0f}), "
              f"test {len(test)} runs (N = {top:.0f})")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            w0, c0 = time.perf_counter(), time.process_time()
            auto = scalefit.fit(train, law="auto")
            a_first, a_cpu_first = time.perf_counter() - w0, time.process_time() - c0
            runs = []
            for _ in range(AUTO_REPEATS):
                w0, c0 = time.perf_counter(), time.process_time()
                auto = scalefit.fit(train, law="auto")
                runs.append((time.perf_counter() - w0, time.process_time() - c0))
        auto_wall_best, auto_cpu_best = min(runs)
        y = test["loss"].to_numpy(np.float64)
        are = np.abs(np.asarray(auto.predict(test), np.float64) - y) / y
        print(f"first call (after the farseer fits above, same process): wall {a_first:.3f} s   "
              f"cpu {a_cpu_first:.3f} s")
        print(f"compiled, best of {AUTO_REPEATS}: wall {auto_wall_best:.3f} s   cpu {auto_cpu_best:.3f} s   "
              f"(all walls: {', '.join(f'{w:.3f}' for w, _ in runs)})")
        print(f"chosen law: {auto.law.name}   convergence: {auto.convergence.stop.name}   "
              f"objective {auto.objective:.10e}")
        print(f"held-out mean |pred - L| / L on the {len(test)} test runs: {are.mean():.4e} "
              f"(max {are.max():.4e})")
        sel = auto.data.get("selection") or {}
        for row in sel.get("candidates", []):
            are_c = "n/a" if row.get("are") is None else f"{row['are']:.4e}"
            print(f"  candidate {row['law']}: eligible={row['eligible']}  internal backtest "
                  f"are={are_c}" + (f"  ({row['why']})" if row.get("why") else ""))
        if sel.get("reason"):
            print(f"  reason: {sel['reason']}")
        if caught:
            print("warnings: " + "; ".join(sorted({f"{w.category.__name__}: {w.message}" for w in caught})))
        auto_line = f"auto on S1: {auto_wall_best:.3f} s"

    # ---------------------------------------------------------------- comparison
    print(f"\nload average at end: {load_str()}")
    if sf_obj is not None and ref is not None:
        d = sf_obj - ref.best_fun
        ok = sf_obj <= ref.best_fun * (1 + BETTER_REL)
        print(f"\n== scalefit objective minus reference best: {d:+.3e} ({d / ref.best_fun:+.3e} rel)  "
              f"{'ok (<= reference + 1e-12 relative)' if ok else 'HIGHER'}")
        print(f"ratio: {ref.wall / sf_wall_best:.1f} ({auto_line})")
    else:
        print(f"ratio: n/a ({'--references-only' if args.references_only else '--scalefit-only'}; "
              f"{auto_line})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
