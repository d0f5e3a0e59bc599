"""Speed benchmark: scalefit's 4,000-refit bootstrap against a scipy BFGS loop (Epoch's method).

Problem (Hoffmann et al. 2022; Besiroglu et al. 2024): Chinchilla Approach 3 on Epoch AI's points
(245 rows, the 5 highest losses dropped -> 240), solved in (a, b, e, alpha, beta):

    f_w = sum_i w_i * Huber_delta( LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i ),  delta = 1e-3

A = e^a, B = e^b, E = e^e. A bootstrap resample draws the 240 rows with replacement; w_i is how
often row i was drawn (multinomial weights, the same objective as refitting the drawn rows).

Methods, all timed in this one process:

* scalefit     ``fit = scalefit.fit(runs)``; then ``fit.bootstrap(n=4000, seed=0)``: the first call
               (includes compilation, no persistent compile cache), then the best of 3 further calls.
* scipy BFGS   Epoch's method: ``scipy.optimize.minimize(method="BFGS")`` with the analytic numpy
               gradient (``jac=True``) and default options, each resample refitted from the full-data
               optimum. Only the first ``--resamples`` (default 300) resamples are run; their wall time
               is scaled to 4,000. The resamples are the same draws as scalefit's (numpy PCG64 seeded
               by ``--seed``, multinomial rows in blocks of 256), so refit i is compared with refit i.

Run from the repository root:

    .venv/bin/python benchmarks/bootstrap_speed.py                   # everything (~20 s on 2 cores)
    .venv/bin/python benchmarks/bootstrap_speed.py --resamples 1000  # a longer reference loop
    .venv/bin/python benchmarks/bootstrap_speed.py --scalefit-only   # skip the reference
    .venv/bin/python benchmarks/bootstrap_speed.py --gtol 1e-9       # the reference with a tight gtol

The last line is ``ratio: <scaled BFGS wall / scalefit compiled wall> (4000 refits: ...)``.
"""

from __future__ import annotations

import os

import _blas  # noqa: F401  (single-threaded BLAS, before numpy loads)
# No persistent compilation cache: the first bootstrap call pays its full compile cost.
os.environ.pop("JAX_COMPILATION_CACHE_DIR", None)

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from scipy.optimize import minimize  # noqa: E402

from _reference import (REPO, Objective, check_gradient, data_dir, print_environment,  # noqa: E402
                        read_epoch_points)

N_BOOT = 4000
LEVEL = 0.95
BLOCK = 256  # scalefit draws its multinomial weights in blocks of this many rows
NAMES = ("E", "A", "B", "alpha", "beta")
SHORT_F, SHORT_P = 1e-6, 1e-3  # a reference refit this far (relative) above scalefit's objective / from
                               # its parameters stopped short
# Epoch AI's published bootstrap 95% intervals (4,000 resamples of the 240 rows; Besiroglu et al. 2024).
EPOCH_INTERVALS = {"E": (1.769, 1.871), "A": (285.2, 743.6), "B": (1042.4, 5810.3),
                   "alpha": (0.317, 0.373), "beta": (0.331, 0.415)}
# Hoffmann et al.'s published (unrounded) estimate in (a, b, e, alpha, beta): the reference's start
# for its own full-data fit, so the reference does not depend on scalefit's answer.
HOFFMANN_X = np.array([np.log(406.401), np.log(410.723), np.log(1.693374), 0.33917084, 0.2849083])


# --------------------------------------------------------------------------------------------
# data
# --------------------------------------------------------------------------------------------
def resample_weights(n_draws: int, n_rows: int, seed: int) -> np.ndarray:
    """(n_draws, n_rows) multinomial row counts: numpy PCG64 seeded by ``seed``, blocks of 256.

    The same draws as scalefit's row bootstrap, written out here so the reference does not call
    the package.
    """
    rng = np.random.default_rng(seed)
    p = np.full(n_rows, 1.0 / n_rows)
    blocks = [rng.multinomial(n_rows, p, size=min(BLOCK, n_draws - s)) for s in range(0, n_draws, BLOCK)]
    return np.concatenate(blocks).astype(np.float64)


def natural(x: np.ndarray) -> np.ndarray:
    """(..., 5) (a, b, e, alpha, beta) -> (..., 5) (E, A, B, alpha, beta)."""
    x = np.asarray(x, np.float64)
    return np.stack([np.exp(x[..., 2]), np.exp(x[..., 0]), np.exp(x[..., 1]), x[..., 3], x[..., 4]], axis=-1)


def search(p: np.ndarray) -> np.ndarray:
    """(..., 5) (E, A, B, alpha, beta) -> (..., 5) (a, b, e, alpha, beta)."""
    p = np.asarray(p, np.float64)
    return np.stack([np.log(p[..., 1]), np.log(p[..., 2]), np.log(p[..., 0]), p[..., 3], p[..., 4]], axis=-1)


def fmt_p(p: np.ndarray) -> str:
    return "  ".join(f"{n}={v:.6g}" for n, v in zip(NAMES, p))


def percentile_interval(draws: np.ndarray, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    q = 100 * np.array([(1 - level) / 2, (1 + level) / 2])
    lo, hi = np.nanpercentile(draws, q, axis=0)
    return lo, hi


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--scalefit-only", action="store_true", help="skip the scipy reference")
    g.add_argument("--references-only", action="store_true", help="skip scalefit")
    p.add_argument("--resamples", type=int, default=300,
                   help="resamples the scipy reference refits; its time is scaled to 4,000 (default 300)")
    p.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    p.add_argument("--gtol", type=float, default=None,
                   help="BFGS gtol for the reference (default: scipy's, 1e-5, as in Epoch's method)")
    args = p.parse_args(argv)
    if not 2 <= args.resamples <= N_BOOT:
        p.error(f"--resamples must be in 2..{N_BOOT}")

    print_environment()

    df_ref = read_epoch_points()
    full = Objective(df_ref)
    R = args.resamples
    W = resample_weights(N_BOOT, len(df_ref), args.seed)

    # ---------------------------------------------------------------- scalefit
    sf = None  # (compiled wall, params (4000, 5) in NAMES order, converged (4000,))
    if not args.references_only:
        import jax

        sys.path.insert(0, str(REPO))  # benchmark the checkout's scalefit
        os.environ.setdefault("SCALEFIT_DATA_DIR", str(data_dir()))  # the same mirror as above
        import scalefit

        runs = scalefit.data.read_chinchilla(epoch_filter=True)
        if len(runs) != 240:
            raise SystemExit(f"scalefit.data.read_chinchilla(epoch_filter=True) gave {len(runs)} rows, expected 240")
        print(f"\n== scalefit {getattr(scalefit, '__version__', '?')} (jax {jax.__version__}, backend "
              f"{jax.default_backend()}, {jax.device_count()} device(s), persistent compile cache: "
              f"{jax.config.jax_compilation_cache_dir or 'off'}): fit(runs).bootstrap(n={N_BOOT}, seed={args.seed})")
        w0 = time.perf_counter()
        fit = scalefit.fit(runs)
        print(f"scalefit.fit(runs) (first call, includes compile): {time.perf_counter() - w0:.3f} s   "
              f"objective {fit.objective:.10e}   stop={getattr(fit.convergence.stop, 'name', fit.convergence.stop)}")
        print(f"params: {fmt_p(np.array([fit.params[n] for n in NAMES]))}")

        w0, c0 = time.perf_counter(), time.process_time()
        boot = fit.bootstrap(n=N_BOOT, seed=args.seed)
        first_wall, first_cpu = time.perf_counter() - w0, time.process_time() - c0
        walls = []
        for _ in range(3):
            w0, c0 = time.perf_counter(), time.process_time()
            boot = fit.bootstrap(n=N_BOOT, seed=args.seed)
            walls.append((time.perf_counter() - w0, time.process_time() - c0))
        best_wall, best_cpu = min(walls)
        res = boot.resamples
        order = [list(fit.law.param_names).index(n) for n in NAMES]
        params = np.asarray(res.params)[:, order]
        conv = np.asarray(res.converged)
        print(f"bootstrap first call (includes compile): wall {first_wall:.3f} s   cpu {first_cpu:.3f} s")
        print(f"bootstrap compiled, best of 3: wall {best_wall:.3f} s   cpu {best_cpu:.3f} s   "
              f"(all walls: {', '.join(f'{w:.3f}' for w, _ in walls)})")
        print(f"n_converged: {res.n_converged} / {res.n}")
        print(f"intervals ({LEVEL:.0%}, boot.intervals()):")
        print(boot.intervals().to_string(float_format=lambda v: f"{v:.6g}"))
        same = True
        try:  # do the reference's draws equal scalefit's? (then refit i is comparable with refit i)
            from scalefit.core.resample import resample_weights as sf_weights

            mine = np.concatenate(list(sf_weights(R, args.seed, np.ones(len(df_ref)), np.arange(len(df_ref)),
                                                  len(df_ref))))
            same = bool(np.array_equal(mine, W[:R]))
        except (ImportError, TypeError) as err:
            print(f"(could not check the draws against scalefit's: {err})")
        print(f"reference's draws identical to scalefit's first {R}: {same}")
        sf = (best_wall, params, conv, same, fit)

    # ---------------------------------------------------------------- reference
    ref = None
    if not args.scalefit_only:
        worst = check_gradient(Objective(df_ref, W[0]), (np.array([10.0, 10.0, 0.5, 0.5, 0.5]),
                                                         np.array([6.0, 7.5, 0.6, 0.30, 0.40]), HOFFMANN_X))
        print(f"\nanalytic gradient vs central differences (weighted): worst rel err {worst:.1e} (< 1e-5 required)")
        # the reference's own full-data optimum (not timed): tight BFGS from Hoffmann's estimate
        opt = minimize(full.value_and_grad, HOFFMANN_X, jac=True, method="BFGS", options={"gtol": 1e-9})
        x_opt = opt.x
        print(f"\n== scipy BFGS reference: full-data optimum (BFGS gtol=1e-9 from Hoffmann's estimate, not timed): "
              f"objective {opt.fun:.10e}   max|grad| {np.max(np.abs(opt.jac)):.2e}   ({opt.message})")
        print(f"params: {fmt_p(natural(x_opt))}")
        if sf is not None:
            print(f"full-data objective, scipy minus scalefit: {opt.fun - sf[4].objective:+.3e}")
        opts = {} if args.gtol is None else {"gtol": args.gtol}
        xs = np.empty((R, 5))
        fun = np.empty(R)
        gmax = np.empty(R)
        nit = np.empty(R, dtype=np.int64)
        success = np.empty(R, dtype=bool)
        objs = [Objective(df_ref, W[i]) for i in range(R)]
        w0, c0 = time.perf_counter(), time.process_time()
        with np.errstate(all="ignore"):
            for i in range(R):
                r = minimize(objs[i].value_and_grad, x_opt, jac=True, method="BFGS", options=opts)
                xs[i], fun[i], gmax[i], nit[i], success[i] = r.x, r.fun, np.max(np.abs(r.jac)), r.nit, r.success
        wall, cpu = time.perf_counter() - w0, time.process_time() - c0
        scaled = wall * N_BOOT / R
        gtol_txt = f"gtol={args.gtol:g}" if args.gtol is not None else "default options (gtol=1e-5)"
        print(f"\n== scipy BFGS, analytic gradient, {gtol_txt}, {R} resamples refitted from the full-data optimum")
        print(f"wall: {wall:.3f} s   cpu: {cpu:.3f} s   ({1e3 * wall / R:.2f} ms per refit)   "
              f"scaled to {N_BOOT}: {scaled:.1f} s wall")
        print(f"success flags: {int(success.sum())}/{R}   median nit: {np.median(nit):.0f}   "
              f"max|grad| at the end: median {np.median(gmax):.1e}, max {np.max(gmax):.1e}   "
              f"(max|grad| <= 1e-8*f: {int(np.sum(gmax <= 1e-8 * fun))}/{R})")
        ref = (scaled, wall, natural(xs), fun, success)

    # ---------------------------------------------------------------- comparison
    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if sf is not None and ref is not None:
        best_wall, params, conv, same, _ = sf
        scaled, wall, p_ref, f_ref, _ = ref
        lo_sf, hi_sf = percentile_interval(params[conv])
        c_R = conv[:R]
        lo_sfR, hi_sfR = percentile_interval(params[:R][c_R])
        lo_ref, hi_ref = percentile_interval(p_ref)
        print(f"\n== {LEVEL:.0%} percentile intervals")
        print(f"{'param':>6} | {'scalefit, ' + str(int(conv.sum())) + ' refits':>26} | "
              f"{'scalefit, first ' + str(R):>26} | {'scipy BFGS, ' + str(R):>26} | {'Epoch AI published (4000)':>26}")
        for k, n in enumerate(NAMES):
            cells = [(lo_sf[k], hi_sf[k]), (lo_sfR[k], hi_sfR[k]), (lo_ref[k], hi_ref[k]), EPOCH_INTERVALS[n]]
            print(f"{n:>6} | " + " | ".join(f"{f'({a:.4g}, {b:.4g})':>26}" for a, b in cells))
        if same:
            rel = np.abs(p_ref - params[:R]) / np.abs(params[:R])
            f_sf = np.array([Objective(df_ref, W[i]).value(search(params[i])) for i in range(R)])
            df_ = f_ref - f_sf
            print(f"\n== refit by refit, first {R} resamples (same draws)")
            print("max |scipy - scalefit| / |scalefit| per parameter: "
                  + "  ".join(f"{n}={v:.1e}" for n, v in zip(NAMES, rel.max(axis=0))))
            print("median                                           : "
                  + "  ".join(f"{n}={v:.1e}" for n, v in zip(NAMES, np.median(rel, axis=0))))
            print(f"objective, scipy minus scalefit (numpy objective at both): median {np.median(df_):+.2e}, "
                  f"min {df_.min():+.2e}, max {df_.max():+.2e}; scalefit lower or equal (within 1e-12 rel) on "
                  f"{int(np.sum(df_ >= -1e-12 * f_sf))}/{R}; scalefit not converged on {int(np.sum(~c_R))}")
            print(f"scipy refits whose objective is > {SHORT_F:g} rel above scalefit's: "
                  f"{int(np.sum(df_ > SHORT_F * f_sf))}/{R}; with a parameter > {SHORT_P:g} rel away: "
                  f"{int(np.sum(rel.max(axis=1) > SHORT_P))}/{R}")
        print(f"ratio: {scaled / best_wall:.1f} ({N_BOOT} refits: scalefit {best_wall:.2f} s, "
              f"scipy BFGS {scaled:.1f} s scaled from {R})")
    else:
        print(f"ratio: n/a ({'--references-only' if args.references_only else '--scalefit-only'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
