"""The bootstrap's percentile intervals cover the truth at their nominal rate.

Synthetic Chinchilla sweeps with known parameters (E=1.8, A=480, B=2100, alpha=0.35,
beta=0.37) are fitted and bootstrapped hundreds of times; a nominal 90% interval should hold
the true value in about 90% of repetitions. The quantities checked are the ones people read off
a fit: the loss extrapolated beyond the largest fitted N and D, and the compute-optimal exponent
a = beta/(alpha+beta) (N_opt grows as C**a), computed per bootstrap draw.

Design choices, all fixed so the figures below are reproducible bit for bit:

* Every fit starts from the truth (one start, no 4,500-start grid). That is legitimate here:
  the subject is interval coverage, not the multi-start search; every fit must still converge.
* ``loss="squared"``. With lognormal noise, least squares on log residuals is the maximum
  likelihood estimate and smooth in the data, the case the percentile bootstrap is meant for.
  The default Huber (delta=1e-3 on log residuals) puts nearly every point of 1% noise on its
  linear branch, i.e. it is least absolute deviations. Measured on the sweep design below with
  200 resamples: Huber's intervals covered 94% (loss) and 94% (a) of 200 repetitions (97% and
  96% of 100 on a 6 x 7 grid), conservative and at the top of the band; up to 3 of 200 refits
  did not converge; and a repetition took 0.26 s against 0.025 s, so 200 repetitions alone
  would take about 50 s.
* Every repetition has the same number of points and resamples, so after the first repetition
  nothing recompiles (``scalefit.core.compilations()`` is checked).

With R repetitions the Monte Carlo standard error of a coverage near 90% is sqrt(0.09/R):
1.7 points at R = 300, 2.1 at R = 200. The asserted figures are single fixed-seed samples; the
long-run figures quoted in the docstrings come from 1,400-5,500 repetitions of the same designs
with other seeds (200 resamples each), to show how far the asserted bounds sit from the truth.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import scalefit
from scalefit.core import compilations

TRUTH = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}
A_TRUE = TRUTH["beta"] / (TRUTH["alpha"] + TRUTH["beta"])    # 0.5139
LEVEL = 0.9
N_BOOT = 192                  # 12 chunks of 16 lanes (200 would pad to 208)
# Fitted N span 1e7..1e9 and D 2e8..2e10; the held-out point is 10x beyond in N, 5x in D.
N_TARGET, D_TARGET = 1e10, 1e11


def true_loss(N, D):
    p = TRUTH
    return p["E"] + p["A"] / np.asarray(N) ** p["alpha"] + p["B"] / np.asarray(D) ** p["beta"]


def percentile_interval(draws: np.ndarray, level: float = LEVEL) -> tuple[float, float]:
    """The central percentile interval, the same convention as ``Fit.intervals``."""
    lower, upper = np.percentile(draws, [50 * (1 - level), 50 * (1 + level)])
    return float(lower), float(upper)


def intervals_at_truth(fit) -> dict[str, tuple[float, float]]:
    """The 90% intervals of the extrapolated loss and of the exponent a, from one bootstrap."""
    band = fit.predict(N_TARGET, D_TARGET, level=LEVEL)
    draws = fit.resamples.draws(fit.law.param_names)
    a = draws["beta"] / (draws["alpha"] + draws["beta"])
    return {"loss": (float(band["lower"][0]), float(band["upper"][0])),
            "a": percentile_interval(a)}


TRUE_VALUES = {"loss": float(true_loss(N_TARGET, D_TARGET)), "a": A_TRUE}


def covers(interval: tuple[float, float], name: str) -> bool:
    lower, upper = interval
    return lower <= TRUE_VALUES[name] <= upper


# ---- 1. independent noise on a grid sweep, resampled by row ----

SWEEP_REPS = 300
SWEEP_N = np.geomspace(1e7, 1e9, 6)
SWEEP_D = np.geomspace(2e8, 2e10, 8)          # 6 x 8 = 48 points
SWEEP_NOISE = 0.01                            # sd of log loss: 1% lognormal noise


@pytest.fixture(scope="module")
def sweep():
    """SWEEP_REPS repetitions of: noisy grid sweep, fit from the truth, bootstrap by row."""
    rng = np.random.default_rng(20250101)
    N, D = (a.ravel() for a in np.meshgrid(SWEEP_N, SWEEP_D))
    out = {"loss": [], "a": [], "refits": [], "fits_ok": []}
    after_first = None
    for rep in range(SWEEP_REPS):
        loss = true_loss(N, D) * np.exp(rng.normal(0.0, SWEEP_NOISE, N.size))
        fit = scalefit.fit(pd.DataFrame({"N": N, "D": D, "loss": loss}), law="chinchilla",
                           start=TRUTH, loss="squared")
        out["fits_ok"].append(fit.convergence.ok)
        boot = fit.bootstrap(n=N_BOOT, seed=rep, by="row")
        got = intervals_at_truth(boot)
        out["loss"].append(covers(got["loss"], "loss"))
        out["a"].append(covers(got["a"], "a"))
        out["refits"].append(boot.resamples.n_converged)
        if rep == 0:
            after_first = compilations()
            # The per-draw percentiles above follow the same convention as intervals().
            draws = boot.resamples.draws(boot.law.param_names)
            table = boot.intervals(level=LEVEL)
            assert (table.loc["alpha", "lower"], table.loc["alpha", "upper"]) == \
                pytest.approx(percentile_interval(draws["alpha"]), rel=1e-12)
    out = {k: np.array(v) for k, v in out.items()}
    out["compilations"] = (after_first, compilations())
    return out


def test_sweep_fits_converge_and_nothing_recompiles(sweep):
    """Every one of the 300 fits converged, every refit of every bootstrap converged (192 of
    192 in each repetition), and no kernel compiled after the first repetition."""
    assert sweep["fits_ok"].all()
    assert sweep["refits"].min() >= 0.98 * N_BOOT
    first, last = sweep["compilations"]
    assert last == first


def test_extrapolated_loss_interval_covers_at_nominal_rate(sweep):
    """The 90% band of the loss at N=1e10, D=1e11 (10x and 5x beyond the fitted sweep)
    covers the true loss 2.1305 in 86.0% of 300 repetitions (seed 20250101).

    Long run (5,500 repetitions, three other seeds): 87.7%. The shortfall from 90% is the
    usual small-sample one of a percentile bootstrap, not a bias: the bootstrap standard
    deviation matched the spread of the estimates within 1%, but varies by about 17% from
    sample to sample (a 12 x 12 grid of 144 points gave 86.7%, no better)."""
    coverage = sweep["loss"].mean()
    assert 0.85 <= coverage <= 0.95, coverage


def test_compute_optimal_exponent_interval_covers_at_nominal_rate(sweep):
    """The 90% percentile interval of a = beta/(alpha+beta), one a per bootstrap draw, covers
    the true a = 0.5139 in 93.0% of 300 repetitions (seed 20250101); long run (5,500
    repetitions, three other seeds): 88.2%."""
    coverage = sweep["a"].mean()
    assert 0.85 <= coverage <= 0.95, coverage


# ---- 2. training curves: checkpoints of one run share that run's offset ----

RUN_REPS = 200
RUN_N = np.geomspace(1e7, 1e9, 12)            # 12 runs, one model size each
RUN_D = np.geomspace(2e8, 2e10, 4)            # 4 checkpoints per run: 48 points, as above
RUN_OFFSET = 0.01                             # sd of each run's shared offset in log loss
RUN_NOISE = 0.005                             # sd of each checkpoint's own noise in log loss


@pytest.fixture(scope="module")
def runs():
    """RUN_REPS repetitions of: correlated training curves, one fit, bootstraps by run and by
    row from the same seed."""
    rng = np.random.default_rng(20250202)
    N, D = np.repeat(RUN_N, len(RUN_D)), np.tile(RUN_D, len(RUN_N))
    run = np.repeat(np.arange(len(RUN_N)), len(RUN_D))
    out = {(by, q): [] for by in ("group", "row") for q in ("loss", "a")}
    width = {(by, q): [] for by in ("group", "row") for q in ("loss", "a")}
    refits, fits_ok = {"group": [], "row": []}, []
    after_first = None
    for rep in range(RUN_REPS):
        offset = rng.normal(0.0, RUN_OFFSET, len(RUN_N))[run]
        loss = true_loss(N, D) * np.exp(offset + rng.normal(0.0, RUN_NOISE, N.size))
        fit = scalefit.fit(pd.DataFrame({"N": N, "D": D, "loss": loss, "run": run}),
                           law="chinchilla", start=TRUTH, loss="squared")
        fits_ok.append(fit.convergence.ok)
        for by in ("group", "row"):
            with warnings.catch_warnings():       # a few refits by run may not converge
                warnings.simplefilter("ignore", scalefit.ConvergenceWarning)
                boot = fit.bootstrap(n=N_BOOT, seed=rep, by=by)
            refits[by].append(boot.resamples.n_converged)
            for q, interval in intervals_at_truth(boot).items():
                out[by, q].append(covers(interval, q))
                width[by, q].append(interval[1] - interval[0])
        if rep == 0:
            after_first = compilations()
    result = {k: np.array(v).mean() for k, v in out.items()}
    ratio = {q: float(np.median(np.array(width["group", q]) / np.array(width["row", q])))
             for q in ("loss", "a")}
    return {"coverage": result, "ratio": ratio,
            "refits": {by: np.array(v) for by, v in refits.items()},
            "fits_ok": np.array(fits_ok), "compilations": (after_first, compilations())}


def test_run_fits_converge_and_nothing_recompiles(runs):
    """Every one of the 200 fits converged; at worst 183 of 192 refits of a bootstrap
    converged (95%; every row bootstrap: 192 of 192). The refits that fail are resamples by run
    that drew only 5-7 distinct runs: their optimum runs off to E -> 0 (log E unbounded below)
    with a gradient already below tolerance, and the solver stops at max_steps. Intervals leave
    them out. No kernel compiled after the first repetition."""
    assert runs["fits_ok"].all()
    assert runs["refits"]["group"].min() >= 0.9 * N_BOOT
    assert runs["refits"]["row"].min() >= 0.98 * N_BOOT
    first, last = runs["compilations"]
    assert last == first


def test_intervals_by_run_are_wider_than_by_row(runs):
    """Resampling whole runs sees the shared run offsets that resampling rows averages away:
    the median ratio of the by-run to the by-row 90% width, over 200 repetitions, is 1.86 for
    the extrapolated loss and 1.90 for a (long run, 1,400 repetitions: 1.87 and 1.92)."""
    assert runs["ratio"]["loss"] > 1.4, runs["ratio"]
    assert runs["ratio"]["a"] > 1.4, runs["ratio"]


def test_intervals_by_run_cover_and_by_row_undercover(runs):
    """Over 200 repetitions of 12 correlated training curves (seed 20250202), the nominal 90%
    intervals by run cover the truth in 89.5% (extrapolated loss) and 88.0% (a) of
    repetitions; by row, only in 61.5% and 64.0%. Long run (1,400 repetitions, other seeds):
    88.4% and 89.8% by run, 64.6% and 65.6% by row."""
    cov = runs["coverage"]
    for q in ("loss", "a"):
        assert cov["group", q] >= 0.85, cov
        assert cov["row", q] <= cov["group", q] - 0.15, cov
        assert cov["row", q] <= 0.8, cov
