"""Speed benchmark: scalefit's Chinchilla fit against two scipy references.

Problem (Hoffmann et al. 2022; Besiroglu et al. 2024): Chinchilla Approach 3 on Epoch AI's points
(245 rows, the 5 highest losses dropped -> 240), solved in (a, b, e, alpha, beta):

    f = sum_i Huber_delta( LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i ),  delta = 1e-3

(the SUM of the Huber terms, never the mean), A = e^a, B = e^b, E = e^e.

Methods, all timed in this one process:

* scalefit            ``scalefit.fit(df, law="chinchilla")``: first call with a fresh (cold) JAX
                      persistent compilation cache, then the best of 10 further calls.
* Epoch recipe        scipy L-BFGS-B, default options, no ``jac`` (numeric 2-point gradient), from
                      each of Hoffmann's 4,500 grid starts; keep the best.
* analytic            the same with an analytic numpy gradient (``jac=True``), default options.

Run from the repository root:

    .venv/bin/python benchmarks/fit_speed.py                   # everything (~2 min on 2 cores)
    .venv/bin/python benchmarks/fit_speed.py --references-only # skip scalefit
    .venv/bin/python benchmarks/fit_speed.py --scalefit-only   # skip the slow references
    .venv/bin/python benchmarks/fit_speed.py --starts 100      # references on the first 100 starts

The last line is ``ratio: <Epoch-recipe wall s / scalefit compiled wall s> (analytic: ...)``.
"""

from __future__ import annotations

import os

import _blas  # noqa: F401  (single-threaded BLAS, before numpy loads)

import argparse  # noqa: E402
import atexit  # noqa: E402
import itertools  # noqa: E402
import shutil  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import dataclass  # noqa: E402

# A fresh, empty persistent compilation cache, so scalefit's first call pays its compile cost.
# Set before jax can be imported (by us or by scalefit).
_JAX_CACHE_DIR = tempfile.mkdtemp(prefix="scalefit-bench-jax-cache-")
atexit.register(shutil.rmtree, _JAX_CACHE_DIR, ignore_errors=True)
os.environ["JAX_COMPILATION_CACHE_DIR"] = _JAX_CACHE_DIR

import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

from _reference import (REPO, BestOf, Objective, check_gradient, data_dir, print_environment,  # noqa: E402
                        read_epoch_points)

N_GRID = 4500
GRADIENT_POINTS = (np.array([10.0, 10.0, 0.5, 0.5, 0.5]),   # a grid start: linear Huber branch
                   np.array([6.0, 7.5, 0.6, 0.30, 0.40]),   # near the optimum, some quadratic
                   np.array([20.0, 5.0, -1.0, 1.5, 0.0]))   # another grid start
NEAR_REL = 1e-6  # a start "reaches" a method's best if within this relative objective gap
BETTER_TOL = 1e-12  # scalefit objective must be <= reference best + this


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def hoffmann_grid() -> np.ndarray:
    """Hoffmann's 4,500 starts as rows (a, b, e, alpha, beta); a varies slowest, beta fastest."""
    alphas = betas = np.arange(0.0, 2.01, 0.5)  # 0, 0.5, ..., 2
    es = np.arange(-1.0, 1.01, 0.5)  # -1, -0.5, ..., 1
    abs_ = bs = np.arange(0.0, 25.01, 5.0)  # 0, 5, ..., 25
    grid = np.array(list(itertools.product(abs_, bs, es, alphas, betas)), dtype=np.float64)
    assert grid.shape == (N_GRID, 5)
    return grid


# --------------------------------------------------------------------------------------------
# reference runs
# --------------------------------------------------------------------------------------------
@dataclass
class RefResult(BestOf):
    name: str
    wall: float
    cpu: float
    fun: np.ndarray  # objective reached from each start (inf where not finite)
    x: np.ndarray  # end point from each start
    nfev: np.ndarray
    nit: np.ndarray
    success: np.ndarray
    start: np.ndarray  # the starts, rows (a, b, e, alpha, beta)

    def n_near_best(self, rel: float = NEAR_REL) -> int:
        return int(np.sum(self.fun - self.best_fun <= rel * abs(self.best_fun)))


def run_reference(name: str, obj: Objective, starts: np.ndarray, analytic: bool) -> RefResult:
    k = len(starts)
    fun = np.full(k, np.inf)
    xs = np.full((k, 5), np.nan)
    nfev = np.zeros(k, dtype=np.int64)
    nit = np.zeros(k, dtype=np.int64)
    success = np.zeros(k, dtype=bool)
    fn, jac = (obj.value_and_grad, True) if analytic else (obj.value, None)
    w0, c0 = time.perf_counter(), time.process_time()
    with np.errstate(all="ignore"):  # far-off iterates may overflow; they lose the comparison anyway
        for i, x0 in enumerate(starts):
            res = minimize(fn, x0, jac=jac, method="L-BFGS-B")
            if np.isfinite(res.fun):
                fun[i] = res.fun
            xs[i] = res.x
            nfev[i], nit[i], success[i] = res.nfev, res.nit, res.success
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return RefResult(name, wall, cpu, fun, xs, nfev, nit, success, starts)


# --------------------------------------------------------------------------------------------
# printing
# --------------------------------------------------------------------------------------------
def fmt_params(A: float, B: float, E: float, alpha: float, beta: float) -> str:
    return f"A={A:.6g}  B={B:.6g}  E={E:.6g}  alpha={alpha:.6g}  beta={beta:.6g}"


def fmt_x(x: np.ndarray) -> str:
    a, b, e, alpha, beta = x
    return fmt_params(np.exp(a), np.exp(b), np.exp(e), alpha, beta)


def report_reference(r: RefResult, n_starts: int) -> None:
    print(f"\n== {r.name}: scipy L-BFGS-B, default options, "
          f"{'analytic numpy gradient (jac=True)' if r.name == 'analytic' else 'numeric 2-point gradient (no jac)'}, "
          f"{n_starts} starts")
    print(f"wall: {r.wall:.2f} s   cpu: {r.cpu:.2f} s")
    print(f"objective: {r.best_fun:.10e}")
    print(f"params: {fmt_x(r.best_x)}")
    print(f"found from start #{r.best} (a, b, e, alpha, beta) = {tuple(float(v) for v in r.start[r.best])}")
    print(
        f"starts within {NEAR_REL:g} rel of best: {r.n_near_best()}/{n_starts}   "
        f"success flags: {int(r.success.sum())}/{n_starts}   "
        f"non-finite ends: {int(np.sum(~np.isfinite(r.fun)))}   "
        f"nfev total: {int(r.nfev.sum())}   median nit: {float(np.median(r.nit)):.0f}"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--references-only", action="store_true", help="skip scalefit (run only the scipy references)")
    g.add_argument("--scalefit-only", action="store_true", help="skip the slow scipy references")
    p.add_argument("--starts", type=int, default=N_GRID,
                   help=f"use only the first N of Hoffmann's {N_GRID} grid starts for the references (default all)")
    args = p.parse_args(argv)
    if not 1 <= args.starts <= N_GRID:
        p.error(f"--starts must be in 1..{N_GRID}")

    print_environment()

    df_ref = read_epoch_points()
    obj = Objective(df_ref)

    # ---------------------------------------------------------------- scalefit
    sf_obj = sf_wall_first = sf_wall_best = None
    if not args.references_only:
        import jax

        jax.config.update("jax_compilation_cache_dir", _JAX_CACHE_DIR)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
        jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)

        sys.path.insert(0, str(REPO))  # benchmark the checkout's scalefit
        os.environ.setdefault("SCALEFIT_DATA_DIR", str(data_dir()))  # the same mirror as above
        w0 = time.perf_counter()
        try:
            import scalefit

            t_import = time.perf_counter() - w0
            df = scalefit.data.read_chinchilla(epoch_filter=True)
        except (ImportError, AttributeError):
            print("scalefit.data.read_chinchilla is not available in this checkout; "
                  "run with --references-only to time the references alone", file=sys.stderr)
            raise
        if len(df) != 240:
            raise SystemExit(f"scalefit.data.read_chinchilla(epoch_filter=True) gave {len(df)} rows, expected 240")

        print(f"\n== scalefit {getattr(scalefit, '__version__', '?')} (jax {jax.__version__}, "
              f"backend {jax.default_backend()}): scalefit.fit(df, law='chinchilla')")
        print(f"import: {t_import:.2f} s   JAX cache: {_JAX_CACHE_DIR} (fresh)")
        w0, c0 = time.perf_counter(), time.process_time()
        fit = scalefit.fit(df, law="chinchilla")
        sf_wall_first, sf_cpu_first = time.perf_counter() - w0, time.process_time() - c0
        runs = []
        for _ in range(10):
            w0, c0 = time.perf_counter(), time.process_time()
            fit = scalefit.fit(df, law="chinchilla")
            runs.append((time.perf_counter() - w0, time.process_time() - c0))
        sf_wall_best, sf_cpu_best = min(runs)
        n_cached = sum(len(files) for _, _, files in os.walk(_JAX_CACHE_DIR))
        print(f"first call (cold compile cache): wall {sf_wall_first:.3f} s   cpu {sf_cpu_first:.3f} s   "
              f"(cache files written: {n_cached})")
        print(f"compiled, best of 10: wall {sf_wall_best:.4f} s   cpu {sf_cpu_best:.4f} s   "
              f"(all walls: {', '.join(f'{w:.4f}' for w, _ in runs)})")
        sf_obj = float(fit.objective)
        prm = fit.params
        print(f"objective: {sf_obj:.10e}")
        print(f"params: {fmt_params(prm['A'], prm['B'], prm['E'], prm['alpha'], prm['beta'])}")
        print(f"convergence: stop={fit.convergence.stop}   grad_norm={float(fit.convergence.grad_norm):.3e}")
        x_sf = np.array([np.log(prm["A"]), np.log(prm["B"]), np.log(prm["E"]), prm["alpha"], prm["beta"]], float)
        f_np, g_np = obj.value_and_grad(x_sf)
        print(f"numpy objective at scalefit's params: {f_np:.10e} (diff {sf_obj - f_np:+.3e})   "
              f"numpy max|grad| there: {np.max(np.abs(g_np)):.3e}")

    # ---------------------------------------------------------------- references
    refs: list[RefResult] = []
    if not args.scalefit_only:
        worst = check_gradient(obj, GRADIENT_POINTS)
        print(f"\nanalytic gradient vs central differences: worst rel err {worst:.1e} (< 1e-5 required)")
        starts = hoffmann_grid()[: args.starts]
        for name, analytic in (("Epoch recipe", False), ("analytic", True)):
            r = run_reference(name, obj, starts, analytic)
            refs.append(r)
            report_reference(r, len(starts))

    # ---------------------------------------------------------------- comparison
    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if sf_obj is not None and refs:
        print("\n== scalefit objective minus reference best (<= %g means equal or lower)" % BETTER_TOL)
        for r in refs:
            d = sf_obj - r.best_fun
            print(f"{r.name}: {d:+.3e}  {'ok' if d <= BETTER_TOL else 'HIGHER'}")
        if args.starts != N_GRID:
            print(f"note: references ran {args.starts} of {N_GRID} starts; the ratio is not the benchmark figure")
        epoch, analytic = refs
        print(f"ratio: {epoch.wall / sf_wall_best:.0f} (analytic: {analytic.wall / sf_wall_best:.0f})")
    else:
        print(f"ratio: n/a ({'--references-only' if args.references_only else '--scalefit-only'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
