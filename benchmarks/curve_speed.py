"""Speed benchmark: the multi-power law's curve prediction and fit against straightforward numpy.

The law (Luo et al. 2025, "A Multi-Power Law for Loss Curve Prediction Across Learning Rate
Schedules"), in scalefit's coordinates (``scalefit.laws.multi_power``):

    L(s) = L0 + A·S1(s)^(-alpha) + D·sum_{k=1..s} w_k·h(u_k),   w_k = eta_k - eta_{k-1},
    u_k = eta_k^(-gamma)·S_k(s),   S_k(s) = sum_{tau=k..s} eta_tau,
    h(u) = (1 - (1 + C·u)^(-beta)) / (beta·C)

with S1(s) the whole area under the rate up to s (warmup included), and the warmup's rate
increases counted in the sum (the reference code's convention, scalefit's default).

Two targets, all timed in this one process:

(1) Prediction: every step of a 100,000-step schedule (a cosine and a geometric WSD), the Fit
    from (2). scalefit: ``fit.predict_curve(spec)`` (grouped schedule sums), first call and best
    of 5 warm calls, and separately ``scalefit.data.schedule_sums.blocks`` and
    ``scalefit.predict.evaluate_blocks``. Reference: the straightforward numpy loop, for each step s the
    vectorised sum over k = 1..s of the formula above with the per-step rates (O(T^2)), timed on
    every ``--every``-th step (default 100) and scaled to all 99,999 steps; the steps k whose
    rate change w_k is 0 are left out of its sums (exact: they add nothing). Its result is
    compared with scalefit's at those steps.
(2) Fitting: the official 100M curves cosine_24000, constant_24000 and wsdcon_9 (451 logged
    points). scalefit: ``scalefit.fit(runs, law="multi_power", schedules=...)`` (1,024 Sobol
    starts screened, the best 8 solved, sum of Huber_delta(log L_pred - log L), delta = 1e-3),
    first call with a fresh (cold) JAX persistent compilation cache, then the best of 3.
    Reference: the same objective in numpy on the same terms arrays
    (``scalefit.data.curves.prepare_curves``), with an analytic gradient, in the same search
    coordinates (log of L0, A, D, C, beta; alpha and gamma linear in [0, 3]): the 1,024 starts
    of ``Spec.build(multi_power, loss="huber").starts()`` screened in float64, the 8 lowest
    solved with ``scipy.optimize.minimize(method="L-BFGS-B")``, tight options (``REF_OPTIONS``);
    screen and solves timed together, best wall of ``REF_REPEATS``.

Run from the repository root:

    SCALEFIT_DATA_DIR=/work/shared/datasets .venv/bin/python benchmarks/curve_speed.py
    .venv/bin/python benchmarks/curve_speed.py --scalefit-only   # skip both references
    .venv/bin/python benchmarks/curve_speed.py --every 1000      # a quicker prediction reference

The last line is ``ratio: <reference predict s / scalefit warm predict s> (fit: <reference fit s
/ scalefit compiled fit s>)``, the prediction times summed over the two schedules.
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

# A fresh, empty persistent compilation cache, so scalefit's first calls pay their compile cost.
# Set before jax can be imported (by us or by scalefit).
_JAX_CACHE_DIR = tempfile.mkdtemp(prefix="scalefit-bench-jax-cache-")
atexit.register(shutil.rmtree, _JAX_CACHE_DIR, ignore_errors=True)
os.environ["JAX_COMPILATION_CACHE_DIR"] = _JAX_CACHE_DIR

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from _reference import REPO, check_gradient, data_dir, print_environment, screen_and_solve  # noqa: E402

CURVES = Path("thu-yao-01-luo/MultiPowerLaw/8da9f1902602f3391b971a811e3cc51604541769/"
              "loss_curve_repo/csv_100")
RUNS = {  # the official 100M runs (csv_100) and their schedules
    "cosine_24000": "cosine:peak=0.0003,floor=3e-5,warmup=2160,total=24000",
    "constant_24000": "constant:peak=0.0003,warmup=2160,total=24000",
    "wsdcon_9": "step:peak=0.0003,warmup=2160,total=16000,boundaries=8000,values=9e-5",
}
PREDICT = {  # 100,000-step schedules predicted at every step
    "cosine": "cosine:peak=0.0003,floor=3e-5,warmup=2160,total=100000",
    "wsd": "wsd:peak=0.0003,floor=3e-5,warmup=2160,decay_start=80000,total=100000,shape=geometric",
}
OFFICIAL = {"L0": 2.6514477, "A": 0.60115152, "alpha": 0.45295811, "B": 437.9464276,
            "C": 2.13245612, "beta": 0.59785199, "gamma": 0.65523644}  # Luo et al.'s 100M fit
NAMES = ("L0", "A", "alpha", "D", "C", "beta", "gamma")
LOG = np.array([True, True, False, True, True, True, False])   # searched on the log scale
BOUNDS = [(None, None), (None, None), (0.0, 3.0), (None, None), (None, None), (None, None),
          (0.0, 3.0)]
DELTA = 1e-3
N_SOLVE = 8            # the multi-power law's n_solve
REF_OPTIONS = {"ftol": 1e-15, "gtol": 1e-10, "maxiter": 20_000, "maxfun": 100_000}
SF_FIT_REPEATS = 3
SF_PRED_REPEATS = 5
REF_REPEATS = 3        # the reference fit is deterministic; its best wall is kept (at its best)
REF_PRED_REPEATS = 2
SCREEN_CHUNK = 16      # starts per vectorised block of the reference screen
NEAR_REL = 1e-6        # a solve "reaches" the best if within this relative objective gap
BETTER_REL = 1e-9      # scalefit's objective must be <= reference best * (1 + this)
PRED_TARGET = 0.2      # s, warm, every step of a 100,000-step schedule
FIT_TARGET = 5.0       # s, after compile, the three official curves
EXACT_STEPS = (1000, 2160, 24000, 50000, 80000, 90000, 99999)  # checked against exact_terms


# --------------------------------------------------------------------------------------------
# (2) the numpy objective and its analytic gradient, in the search coordinates
# --------------------------------------------------------------------------------------------
class MultiPowerObjective:
    """sum_i Huber_delta(log L_pred_i - log L_i) of the multi-power law on schedule terms.

    z = (log L0, log A, alpha, log D, log C, log beta, gamma): scalefit's search scale.
    """

    def __init__(self, inputs: dict, loss: np.ndarray, delta: float = DELTA):
        self.log_area = np.log(np.asarray(inputs["area"], np.float64))
        self.w = np.asarray(inputs["w"], np.float64)
        self.lr = np.asarray(inputs["log_rate"], np.float64)
        self.since = np.asarray(inputs["since"], np.float64)
        self.log_y = np.log(np.asarray(loss, np.float64))
        self.delta = float(delta)

    @staticmethod
    def natural(z: np.ndarray) -> np.ndarray:
        return np.where(LOG, np.exp(np.where(LOG, z, 0.0)), z)

    def _huber(self, r: np.ndarray, axis=None):
        a = np.abs(r)
        return np.sum(np.where(a <= self.delta, 0.5 * r * r, self.delta * (a - 0.5 * self.delta)),
                      axis=axis)

    def _parts(self, z):
        L0, A, alpha, D, C, beta, gamma = self.natural(np.asarray(z, np.float64))
        P = np.exp(-alpha * self.log_area)                 # S1^(-alpha)
        u = np.exp(-gamma * self.lr) * self.since
        g = np.log1p(C * u)
        E = np.exp(-beta * g)                              # (1 + C u)^(-beta)
        h = -np.expm1(-beta * g) / (beta * C)
        H = np.einsum("nm,nm->n", self.w, h)
        pred = L0 + A * P + D * H
        r = np.log(pred) - self.log_y
        return (L0, A, alpha, D, C, beta, gamma), P, u, g, E, h, H, pred, r

    def value(self, z: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            r = self._parts(z)[-1]
            f = float(self._huber(r))
        return f if np.isfinite(f) else np.inf

    def value_and_grad(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            (L0, A, _, D, C, _, _), P, u, g, E, h, H, pred, r = self._parts(z)
            f = float(self._huber(r))
            if not np.isfinite(f):
                return np.inf, np.zeros(7)
            q = np.clip(r, -self.delta, self.delta) / pred    # df/dpred_i
            hp = E / (1.0 + C * u)                            # h'(u)
            w = self.w
            dlogC = np.einsum("nm,nm->n", w, u * hp - h)      # C·dh/dC, summed with w
            dlogB = np.einsum("nm,nm->n", w, g * E / C - h)   # beta·dh/dbeta
            dgam = np.einsum("nm,nm->n", w, -self.lr * u * hp)  # dh/dgamma
            grad = np.array([L0 * q.sum(), A * (q @ P), -A * (q @ (P * self.log_area)),
                             D * (q @ H), D * (q @ dlogC), D * (q @ dlogB), D * (q @ dgam)])
        return f, grad

    def values(self, Z: np.ndarray) -> np.ndarray:
        """The objective at each row of Z (n_starts, 7), vectorised in blocks; non-finite -> inf."""
        out = np.empty(len(Z))
        with np.errstate(all="ignore"):
            for s in range(0, len(Z), SCREEN_CHUNK):
                X = self.natural(Z[s:s + SCREEN_CHUNK])
                L0, A, alpha, D, C, beta, gamma = (X[:, k] for k in range(7))
                P = np.exp(-alpha[:, None] * self.log_area[None, :])
                u = np.exp(-gamma[:, None, None] * self.lr[None]) * self.since[None]
                h = (-np.expm1(-beta[:, None, None] * np.log1p(C[:, None, None] * u))
                     / (beta * C)[:, None, None])
                pred = L0[:, None] + A[:, None] * P + D[:, None] * np.einsum("nm,snm->sn", self.w, h)
                out[s:s + SCREEN_CHUNK] = self._huber(np.log(pred) - self.log_y[None, :], axis=1)
        return np.where(np.isfinite(out), out, np.inf)


def reference_fit(obj: MultiPowerObjective, Z: np.ndarray, k: int = N_SOLVE):
    return screen_and_solve(obj, Z, k, BOUNDS, REF_OPTIONS)


# --------------------------------------------------------------------------------------------
# (1) the straightforward O(T^2) curve
# --------------------------------------------------------------------------------------------
def reference_curve(rates: np.ndarray, params: dict, steps: np.ndarray) -> np.ndarray:
    """The multi-power law's loss at each of ``steps``, every earlier step k a term of its own."""
    L0, A, alpha, D, C, beta, gamma = (params[n] for n in NAMES)
    cum = np.cumsum(rates)                     # S1(s) = cum[s]
    before = cum - rates                       # sum_{tau<k} eta_tau, so S_k(s) = cum[s] - before[k]
    gap = np.concatenate([[0.0], np.diff(rates)])
    K = np.flatnonzero(gap)                    # the steps whose rate change is not 0 (k >= 1)
    wK, eK, bK = gap[K], rates[K] ** (-gamma), before[K]
    ends = np.searchsorted(K, steps, side="right")
    out = np.empty(len(steps))
    for i, (s, m) in enumerate(zip(steps, ends)):
        u = eK[:m] * (cum[s] - bK[:m])
        h = -np.expm1(-beta * np.log1p(C * u)) / (beta * C)
        out[i] = L0 + A * cum[s] ** (-alpha) + D * (wK[:m] @ h)
    return out


def read_runs() -> pd.DataFrame:
    """The three official curves as one long table (run, step, lr, loss)."""
    parts = []
    for run in RUNS:
        path = data_dir() / CURVES / f"{run}.csv"
        if not path.is_file():
            raise SystemExit(f"the official curves are missing: no file {path}. Set "
                             f"SCALEFIT_DATA_DIR to a mirror holding <dir>/{CURVES}/ "
                             f"(default <repo>/../shared/datasets).")
        parts.append(pd.read_csv(path).assign(run=run))
    return pd.concat(parts, ignore_index=True)[["run", "step", "lr", "loss"]]


def fmt_params(p) -> str:
    return "  ".join(f"{n}={float(p[n]):.6g}" for n in NAMES)


def load_str() -> str:
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def timed(fn, *args, **kw):
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn(*args, **kw)
    return out, time.perf_counter() - w0, time.process_time() - c0


# --------------------------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------------------------
def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--scalefit-only", action="store_true", help="skip both numpy references")
    p.add_argument("--every", type=int, default=100,
                   help="time the O(T^2) prediction reference on every N-th step (default 100)")
    args = p.parse_args(argv)

    os.environ.setdefault("SCALEFIT_DATA_DIR", str(data_dir()))
    print_environment()
    runs = read_runs()

    sys.path.insert(0, str(REPO))  # benchmark the checkout's scalefit
    import jax

    jax.config.update("jax_compilation_cache_dir", _JAX_CACHE_DIR)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    w0 = time.perf_counter()
    import scalefit
    from scalefit.core import engine
    import scalefit.laws
    import scalefit.predict
    import scalefit.schedules
    from scalefit.core import Spec
    from scalefit.data.curves import prepare_curves
    from scalefit.data.schedule_sums import blocks, exact_terms

    t_import = time.perf_counter() - w0
    law = scalefit.laws.multi_power
    official = scalefit.laws.multi_power_from_paper(OFFICIAL)
    spec = Spec.build(law, loss="huber")
    assert spec.free == NAMES, spec.free
    lo, hi = spec.bounds()
    assert [(None if not np.isfinite(a) else a, None if not np.isfinite(b) else b)
            for a, b in zip(lo, hi)] == BOUNDS, (lo, hi)
    starts = spec.starts()                      # 1,024 scrambled Sobol starts, natural scale
    Z = spec.to_search(starts)
    curves = prepare_curves(runs, schedules=RUNS)
    obj = MultiPowerObjective(curves.inputs, curves.loss)
    print(f"official curves: {', '.join(f'{r} ({int((runs.run == r).sum())} points)' for r in RUNS)}"
          f" = {curves.n_points} points; schedule terms {curves.inputs['w'].shape}")

    # ================================================================ (2) fit: scalefit
    print(f"\n== (2) fit. scalefit {getattr(scalefit, '__version__', '?')} (jax {jax.__version__}, "
          f"backend {jax.default_backend()}, {jax.device_count()} device): "
          f"scalefit.fit(runs, law='multi_power', schedules=...)")
    print(f"import: {t_import:.2f} s   JAX cache: {_JAX_CACHE_DIR} (fresh)")
    fit_kw = {"law": "multi_power", "schedules": RUNS}
    fit, sf_fit_first, sf_fit_first_cpu = timed(scalefit.fit, runs, **fit_kw)
    fit_runs = []
    for _ in range(SF_FIT_REPEATS):
        fit, w, c = timed(scalefit.fit, runs, **fit_kw)
        fit_runs.append((w, c))
    sf_fit, sf_fit_cpu = min(fit_runs)
    n_cached = sum(len(files) for _, _, files in os.walk(_JAX_CACHE_DIR))
    print(f"first call (cold compile cache): wall {sf_fit_first:.3f} s   cpu {sf_fit_first_cpu:.3f} s   "
          f"(cache files written: {n_cached})")
    print(f"compiled, best of {SF_FIT_REPEATS}: wall {sf_fit:.3f} s   cpu {sf_fit_cpu:.3f} s   "
          f"(all walls: {', '.join(f'{w:.3f}' for w, _ in fit_runs)})")
    sf_obj = float(fit.objective)
    c = fit.convergence
    print(f"objective: {sf_obj:.10e}")
    print(f"params: {fmt_params(fit.params)}   (paper's B = "
          f"{scalefit.laws.multi_power_to_paper(fit.params)['B']:.6g})")
    print(f"convergence: stop={c.stop.name}  steps={c.n_steps}  grad_norm={c.grad_norm:.3e} "
          f"(tol {c.grad_tol:.3e})  starts {c.n_starts} screened, {c.n_solved} solved, "
          f"{c.n_best_basin} in the best basin  at_bound={c.at_bound}")
    x_sf = np.array([fit.params[n] for n in NAMES])
    z_sf = np.where(LOG, np.log(np.where(LOG, x_sf, 1.0)), x_sf)
    f_np, g_np = obj.value_and_grad(z_sf)
    print(f"numpy objective at scalefit's params: {f_np:.10e} (diff {sf_obj - f_np:+.3e})   "
          f"numpy max|grad| there (search scale): {np.max(np.abs(g_np)):.3e}")
    z_off = np.where(LOG, np.log(np.where(LOG, [official[n] for n in NAMES], 1.0)),
                     [official[n] for n in NAMES])
    print(f"numpy objective at the paper's parameters ({fmt_params(official)}): "
          f"{obj.value(z_off):.10e}")

    # where the time goes: the engine's screen and solve, timed inside one more call
    split = {"screen": 0.0, "solve": 0.0}
    seen = {}
    real_screen, real_solve = engine.screen, engine.solve_lanes

    def screen_timed(*a, **k):
        out, w, _ = timed(real_screen, *a, **k)
        split["screen"] += w
        seen["picked"] = np.asarray(out)[0]
        return out

    def solve_timed(*a, **k):
        out, w, _ = timed(real_solve, *a, **k)
        split["solve"] += w
        seen["lanes"] = out
        return out

    engine.screen, engine.solve_lanes = screen_timed, solve_timed
    try:
        _, w_inst, _ = timed(scalefit.fit, runs, **fit_kw)
    finally:
        engine.screen, engine.solve_lanes = real_screen, real_solve
    lanes = seen["lanes"]
    print(f"where the time goes (one more call, {w_inst:.3f} s): screen of {len(starts)} starts "
          f"{split['screen']:.3f} s, float64 solve of {N_SOLVE} starts {split['solve']:.3f} s, the "
          f"rest {w_inst - split['screen'] - split['solve']:.3f} s; solver steps per start: "
          f"{', '.join(str(int(s)) for s in lanes.steps)}; objectives: "
          f"{', '.join(f'{f:.6e}' for f in lanes.f)}")

    # the per-step costs of the solve: the same objective in jax (float64, jitted), one lane (as
    # the engine solves these heavy lanes) and vmapped over 4 lanes (its chunk for light ones)
    with jax.enable_x64(True):
        import jax.numpy as jnp

        jx = {k: jnp.asarray(v, jnp.float64) for k, v in curves.inputs.items()}
        jly = jnp.log(jnp.asarray(curves.loss, jnp.float64))
        loss_fn = law.loss_fn()

        def jf(u):
            r = jnp.log(loss_fn(spec.params(u, []), jx, {})) - jly
            a = jnp.abs(r)
            return jnp.sum(jnp.where(a <= DELTA, 0.5 * r * r, DELTA * (a - 0.5 * DELTA)))

        u1 = jnp.asarray(z_sf)
        u4 = jnp.stack([u1] * 4)
        per = {}
        for label, fn, arg in (("value", jf, u1), ("value+grad", jax.value_and_grad(jf), u1),
                               ("exact Hessian", jax.hessian(jf), u1),
                               ("value+grad x4 lanes", jax.vmap(jax.value_and_grad(jf)), u4),
                               ("exact Hessian x4 lanes", jax.vmap(jax.hessian(jf)), u4)):
            k = jax.jit(fn)
            jax.block_until_ready(k(arg))
            per[label] = min(timed(lambda k=k, arg=arg: jax.block_until_ready(k(arg)))[1]
                             for _ in range(20))
    print("jax on the same objective (float64, jitted, best of 20): "
          + ", ".join(f"{k} {v * 1e3:.2f} ms" for k, v in per.items()))

    # ================================================================ (2) fit: reference
    ref = None
    if not args.scalefit_only:
        grad_points = (Z[0], Z[517], z_off, z_sf + 0.01)
        worst = check_gradient(obj, grad_points)
        print(f"\nanalytic gradient vs central differences: worst rel err {worst:.1e} (< 1e-5 required)")
        tries = [reference_fit(obj, Z) for _ in range(REF_REPEATS)]
        ref = min(tries, key=lambda t: t.wall)
        assert all(np.array_equal(t.fun, ref.fun) for t in tries)  # deterministic
        n_near = int(np.sum(ref.fun - ref.best_fun <= NEAR_REL * abs(ref.best_fun)))
        msgs = sorted(set(ref.messages), key=ref.messages.count, reverse=True)
        same = len(set(ref.picked.tolist()) & set(seen["picked"].tolist()))
        print(f"\n== (2) fit. reference: numpy screen of {len(Z)} starts (float64), the {N_SOLVE} lowest "
              f"solved with scipy L-BFGS-B, analytic numpy gradient, the same search scale and "
              f"bounds, options {REF_OPTIONS}")
        print(f"best of {REF_REPEATS}: wall {ref.wall:.3f} s   cpu {ref.cpu:.3f} s   (of which the screen: "
              f"{ref.screen_wall:.3f} s; all walls: {', '.join(f'{t.wall:.3f}' for t in tries)})")
        rank = np.empty(len(Z), np.int64)
        rank[np.argsort(ref.screened, kind="stable")] = np.arange(len(Z))
        print(f"starts solved: {', '.join(map(str, ref.picked))} ({same} of {N_SOLVE} also among "
              f"scalefit's float32 screen's picks {', '.join(map(str, seen['picked']))}, whose "
              f"float64 screen ranks are {', '.join(str(rank[i]) for i in seen['picked'])})")
        x_ref = obj.natural(ref.best_x)
        print(f"objective: {ref.best_fun:.10e}")
        print(f"params: {fmt_params(dict(zip(NAMES, x_ref)))}")
        print(f"found from start #{ref.picked[ref.best]} (screen rank {ref.best})   "
              f"solves within {NEAR_REL:g} rel of best: {n_near}/{N_SOLVE}   "
              f"success flags: {int(ref.success.sum())}/{N_SOLVE}   "
              f"non-finite ends: {int(np.sum(~np.isfinite(ref.fun)))}")
        print(f"objectives: {', '.join(f'{f:.6e}' for f in ref.fun)}")
        print(f"iterations: {', '.join(map(str, ref.nit))}   nfev total: {int(ref.nfev.sum())}   "
              f"messages: " + "; ".join(f"{ref.messages.count(m)}x {m}" for m in msgs))
        rel = np.abs(x_ref - x_sf) / np.maximum(np.abs(x_sf), 1e-12)
        print(f"params vs scalefit's: max rel diff {rel.max():.2e} ({NAMES[int(np.argmax(rel))]})")

    # ================================================================ (1) prediction
    print(f"\n== (1) prediction at every step of 100,000-step schedules with the fit above "
          f"(fit.predict_curve); reference on every {args.every}th step, scaled")
    sf_pred, ref_pred = {}, {}
    for name, sched_spec in PREDICT.items():
        sched = scalefit.schedules.parse(sched_spec)
        rates = sched.rates()
        steps = np.arange(1, len(rates))
        curve, first, first_cpu = timed(fit.predict_curve, sched_spec)
        warm = []
        for _ in range(SF_PRED_REPEATS):
            curve, w, cw = timed(fit.predict_curve, sched_spec)
            warm.append((w, cw))
        best, best_cpu = min(warm)
        sf_pred[name] = best
        t_blocks = min(timed(blocks, rates, steps)[1] for _ in range(3))
        b = blocks(rates, steps)
        t_eval = min(timed(scalefit.predict.evaluate_blocks, law, fit.params, b)[1]
                     for _ in range(SF_PRED_REPEATS))
        t_rates = min(timed(sched.rates)[1] for _ in range(3))
        mib = (b.lo.nbytes + b.hi.nbytes) / 2**20
        print(f"\n{name}: {sched_spec}  ({len(steps):,} steps, {b.lo.shape[1]} groups = "
              f"{2 * b.lo.shape[1]} terms a step, {mib:.0f} MiB of group bounds)")
        print(f"  scalefit first call (compiles): wall {first:.3f} s   cpu {first_cpu:.3f} s")
        print(f"  scalefit warm, best of {SF_PRED_REPEATS}: wall {best:.3f} s   cpu {best_cpu:.3f} s   "
              f"(all walls: {', '.join(f'{w:.3f}' for w, _ in warm)})   target <= {PRED_TARGET} s: "
              f"{'met' if best <= PRED_TARGET else 'NOT met'}")
        print(f"  of which (each timed alone, best): rates() {t_rates:.4f} s, blocks() {t_blocks:.3f} s, "
              f"evaluate_blocks() {t_eval:.3f} s; the rest (DataFrame etc.) "
              f"{best - t_rates - t_blocks - t_eval:+.3f} s")
        print(f"  final loss (step {steps[-1]}): {curve.attrs['final_loss']:.6f}")
        if args.scalefit_only:
            continue
        sample = steps[::args.every]
        scale = len(steps) / len(sample)
        tries = [timed(reference_curve, rates, fit.params, sample) for _ in range(REF_PRED_REPEATS)]
        ref_loss, rw, rc = min(tries, key=lambda t: t[1])
        ref_pred[name] = rw * scale
        d = np.abs(curve["loss"].to_numpy()[sample - 1] - ref_loss)
        print(f"  reference on {len(sample):,} steps (every {args.every}th from step 1): wall "
              f"{rw:.3f} s   cpu {rc:.3f} s (best of {REF_PRED_REPEATS}: "
              f"{', '.join(f'{t[1]:.3f}' for t in tries)}); scaled x{scale:.2f} to every step: "
              f"{ref_pred[name]:.1f} s")
        print(f"  scalefit minus reference at those steps: max |diff| {d.max():.2e} in loss "
              f"(at step {sample[int(np.argmax(d))]}), mean {d.mean():.2e}")
        ex_steps = np.array(EXACT_STEPS)
        et = exact_terms(rates, ex_steps)
        ex = scalefit.predict.evaluate(law, fit.params,
                                       {k: getattr(et, k) for k in ("area", "w", "log_rate",
                                                                    "since", "age")})
        dx = np.abs(ex - reference_curve(rates, fit.params, ex_steps))
        print(f"  check: reference vs scalefit's law on exact_terms at steps "
              f"{', '.join(map(str, EXACT_STEPS))}: max |diff| {dx.max():.1e}")
        dp = np.abs(scalefit.predict.evaluate_blocks(law, official, b)[sample - 1]
                    - reference_curve(rates, official, sample))
        print(f"  with the paper's parameters instead of the fit's: grouped terms minus reference, "
              f"max |diff| {dp.max():.2e} in loss (mean {dp.mean():.2e})")

    # ================================================================ comparison
    print(f"\nload average at end: {load_str()}")
    sf_p = sum(sf_pred.values())
    print(f"\n== targets: prediction warm {', '.join(f'{k} {v:.3f} s' for k, v in sf_pred.items())} "
          f"(target <= {PRED_TARGET} s each: "
          f"{'met' if max(sf_pred.values()) <= PRED_TARGET else 'NOT met'}); fit compiled "
          f"{sf_fit:.3f} s (target <= {FIT_TARGET} s: {'met' if sf_fit <= FIT_TARGET else 'NOT met'})")
    if ref is None:
        print("ratio: n/a (--scalefit-only)")
        return 0
    d = sf_obj - ref.best_fun
    ok = sf_obj <= ref.best_fun * (1 + BETTER_REL)
    print(f"== scalefit objective minus reference best: {d:+.3e} ({d / ref.best_fun:+.3e} rel)  "
          f"{'ok (<= reference + 1e-9 relative)' if ok else 'HIGHER'}")
    r_p = sum(ref_pred.values())
    print("prediction, reference scaled / scalefit warm: "
          + ", ".join(f"{k} {ref_pred[k]:.1f} / {sf_pred[k]:.3f} s = {ref_pred[k] / sf_pred[k]:.0f}"
                      for k in PREDICT)
          + f"; both {r_p:.1f} / {sf_p:.3f} s")
    print(f"fit, reference / scalefit compiled: {ref.wall:.3f} / {sf_fit:.3f} s")
    print(f"ratio: {r_p / sf_p:.1f} (fit: {ref.wall / sf_fit:.2f})")
    return 0


if __name__ == "__main__":
    with warnings.catch_warnings():
        warnings.simplefilter("default")
        sys.exit(main())
