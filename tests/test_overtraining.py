"""The over-training and downstream-error laws of Gadre et al. 2024 ("Language models scale
reliably with over-training and on downstream tasks", eqs. 4 and 5): the rewrite of Chinchilla
in compute and token multiplier, the optimal multiplier and the over-training tax against their
definitions, recovery of known parameters on synthetic sweeps, and a chained (N, D) -> loss ->
error prediction whose bootstrap band covers the truth at a held-out run."""

import dataclasses
import math
import types
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import brentq, minimize_scalar

import scalefit
from scalefit import overtraining as ot
from scalefit.errors import ExtrapolationWarning, FitError
from scalefit.laws._chinchilla import chinchilla
from scalefit.laws._overtraining import downstream_error, overtraining
from scalefit.predict import evaluate

# Chinchilla-like truth with one shared exponent: alpha = beta = 0.3, so eta = 0.15 and
# M* = (B/A)**(1/alpha) = 2.5**(1/0.3) = 21.2 tokens per parameter.
CHIN = {"E": 1.8, "A": 400.0, "B": 1000.0, "alpha": 0.3, "beta": 0.3}
TRUE = ot.from_chinchilla(CHIN)
M_STAR = 2.5 ** (1 / 0.3)
ERR_TRUE = {"epsilon": 0.85, "k": 3.0, "gamma": 0.7}
HELD_OUT = (5e21, 100.0)        # (C, M): half a decade above the sweep's compute, over-trained
BOOT = 100
REPLICATES = 10


def _loss(params, C, M):
    return evaluate(overtraining, params, {"C": np.asarray(C, float), "M": np.asarray(M, float)})


def _sweeps(seed):
    """A synthetic over-training sweep, 6 x 6 runs over C = 1e18..1e21 FLOPs and M = 5..160
    with 0.2% log-normal noise, and a loss -> error sweep, 30 losses 2.6..5.0 with 0.5%."""
    rng = np.random.default_rng(seed)
    C, M = (a.ravel() for a in np.meshgrid(np.logspace(18, 21, 6), [5, 10, 20, 40, 80, 160.0]))
    runs = pd.DataFrame({"C": C, "M": M,
                         "loss": _loss(TRUE, C, M) * np.exp(rng.normal(0, 0.002, C.size))})
    L = np.linspace(2.6, 5.0, 30)
    err = evaluate(downstream_error, ERR_TRUE, {"L": L})
    assert np.all((err > 0) & (err < 1))            # a positive error fraction everywhere
    evals = pd.DataFrame({"L": L, "loss": err * np.exp(rng.normal(0, 0.005, L.size))})
    return runs, evals


@pytest.fixture(scope="module")
def replicates():
    """Both laws fitted, with 100 bootstrap refits each, to REPLICATES independent noisy
    sweeps (one compilation per law: the sweeps share their shapes)."""
    out = []
    for seed in range(REPLICATES):
        runs, evals = _sweeps(seed)
        out.append((scalefit.fit(runs, law=overtraining, bootstrap=BOOT),
                    scalefit.fit(evals, law=downstream_error, bootstrap=BOOT)))
    return out


@pytest.fixture(scope="module")
def loss_fit(replicates):
    return replicates[0][0]


@pytest.fixture(scope="module")
def error_fit(replicates):
    return replicates[0][1]


# ---- the laws and the rewrite (no fitting) ----

def test_the_law_is_chinchilla_with_a_shared_exponent_in_c_and_m():
    assert TRUE["eta"] == pytest.approx(0.15)
    assert TRUE["a"] == pytest.approx(400 * 6 ** 0.15) and TRUE["b"] == pytest.approx(1000 * 6 ** 0.15)
    N, D = np.array([1e8, 4e8, 7e9, 7e9]), np.array([2e9, 1e11, 1.4e11, 9e11])
    C, M = ot.to_cm(N, D)
    np.testing.assert_allclose(C, 6 * N * D)
    np.testing.assert_allclose(M, D / N)
    np.testing.assert_allclose(ot.to_nd(C, M), (N, D), rtol=1e-14)
    written = TRUE["E"] + (TRUE["a"] * M ** 0.15 + TRUE["b"] * M ** -0.15) * C ** -0.15
    np.testing.assert_allclose(_loss(TRUE, C, M), written, rtol=1e-13)
    np.testing.assert_allclose(_loss(TRUE, C, M), evaluate(chinchilla, CHIN, {"N": N, "D": D}),
                               rtol=1e-13)
    back = ot.to_chinchilla(TRUE)
    assert back == pytest.approx(CHIN, rel=1e-14)
    A, B, alpha = ot.coefficients_nd(*ot.coefficients_cm(CHIN["A"], CHIN["B"], CHIN["alpha"]))
    assert (A, B, alpha) == pytest.approx((CHIN["A"], CHIN["B"], CHIN["alpha"]), rel=1e-14)


def test_the_error_law_is_eq5_and_undefined_where_not_positive():
    L = np.array([2.0, 3.0, 4.0, 6.0])
    want = 0.85 - 3.0 * np.exp(-0.7 * L)
    np.testing.assert_allclose(evaluate(downstream_error, ERR_TRUE, {"L": L}), want, rtol=1e-13)
    # epsilon - k exp(-gamma L) <= 0 below L = ln(k/epsilon)/gamma = 1.80: no positive error.
    assert np.isnan(evaluate(downstream_error, ERR_TRUE, {"L": np.array(1.5)}))


def test_the_optimal_multiplier_minimises_the_law_at_every_budget():
    assert ot.optimal_multiplier(TRUE) == pytest.approx(M_STAR, rel=1e-13)
    for C in (1e18, 1e21, 1e25):
        best = minimize_scalar(lambda u: float(_loss(TRUE, C, math.exp(u))), bounds=(0, 10),
                               method="bounded", options={"xatol": 1e-10})
        assert math.exp(best.x) == pytest.approx(M_STAR, rel=1e-4)
    # Chinchilla's closed-form compute-optimal allocation has the same D/N when beta = alpha.
    N, D = chinchilla.optimal(CHIN, np.array([1e20, 1e24]))
    np.testing.assert_allclose(D / N, M_STAR, rtol=1e-12)


def test_the_over_training_tax_matches_direct_evaluation():
    E, C = TRUE["E"], 3e20
    M = np.array([1.0, 5.0, M_STAR, 100.0, 640.0, 5000.0])
    direct = (_loss(TRUE, C, M) - E) / (_loss(TRUE, C, M_STAR) - E)
    np.testing.assert_allclose(ot.loss_tax(TRUE, M), direct, rtol=1e-12)
    np.testing.assert_allclose(ot.loss_tax(TRUE, M), np.cosh(0.15 * np.log(M / M_STAR)),
                               rtol=1e-12)
    target = _loss(TRUE, C, M_STAR)
    solved = [math.exp(brentq(lambda u: float(_loss(TRUE, C * math.exp(u), m) - target),
                              -1e-9, 50, xtol=1e-13)) for m in M]
    np.testing.assert_allclose(ot.compute_tax(TRUE, M), solved, rtol=1e-9)
    # The paper's most over-trained runs, M = 640 (30x past M*): 13% more reducible loss at
    # the same compute, or 2.3x the compute for the same loss.
    assert ot.loss_tax(TRUE, 640.0) == pytest.approx(1.133, abs=1e-3)
    assert ot.compute_tax(TRUE, 640.0) == pytest.approx(2.30, abs=0.01)
    assert ot.loss_tax(TRUE, M_STAR) == pytest.approx(1.0) == ot.compute_tax(TRUE, M_STAR)


def test_bad_inputs_are_named():
    with pytest.raises(ValueError, match="beta .* differs from alpha"):
        ot.from_chinchilla({**CHIN, "beta": 0.28})
    with pytest.raises(ValueError, match="N must be positive"):
        ot.to_cm(-1.0, 1e9)
    with pytest.raises(ValueError, match=r"M \(tokens per parameter\) must be positive"):
        ot.loss_tax(TRUE, 0.0)
    with pytest.raises(ValueError, match="params lacks eta"):
        ot.optimal_multiplier({"a": 1.0, "b": 2.0})


# ---- fits on synthetic sweeps ----

def test_recovers_the_over_training_law(loss_fit):
    p = loss_fit.params
    assert loss_fit.convergence.ok
    assert p["E"] == pytest.approx(TRUE["E"], rel=0.04)
    assert p["eta"] == pytest.approx(TRUE["eta"], rel=0.04)
    assert p["a"] == pytest.approx(TRUE["a"], rel=0.25) and p["b"] == pytest.approx(TRUE["b"], rel=0.25)
    assert ot.optimal_multiplier(p) == pytest.approx(M_STAR, rel=0.08)
    iv = loss_fit.intervals()
    for name, value in TRUE.items():
        assert iv.loc[name, "lower"] <= value <= iv.loc[name, "upper"], name
    Mstar = ot.optimal_multiplier(loss_fit.resamples.draws(overtraining.param_names))
    lo, hi = np.percentile(Mstar, [2.5, 97.5])
    assert lo <= M_STAR <= hi and hi / lo < 1.5


def test_recovers_the_downstream_error_law(error_fit):
    p = error_fit.params
    assert error_fit.convergence.ok
    assert p["epsilon"] == pytest.approx(ERR_TRUE["epsilon"], rel=0.03)
    assert p["k"] == pytest.approx(ERR_TRUE["k"], rel=0.2)
    assert p["gamma"] == pytest.approx(ERR_TRUE["gamma"], rel=0.12)
    L = np.linspace(2.6, 5.0, 7)
    np.testing.assert_allclose(evaluate(downstream_error, p, {"L": L}),
                               evaluate(downstream_error, ERR_TRUE, {"L": L}), rtol=0.01)


def test_chained_band_covers_the_held_out_truth(replicates):
    N, D = ot.to_nd(*HELD_OUT)
    true_loss = float(_loss(TRUE, *HELD_OUT))
    true_err = float(evaluate(downstream_error, ERR_TRUE, {"L": np.array(true_loss)}))
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", ExtrapolationWarning)     # within a decade of the data
        for loss_fit, error_fit in replicates:
            rows.append(ot.chain(loss_fit, error_fit, N, D).iloc[0])
    table = pd.DataFrame(rows)
    assert np.allclose(table.N, N) and np.allclose(table.D, D)
    assert np.all((table.lower <= table.error) & (table.error <= table.upper))
    np.testing.assert_allclose(table.error, true_err, rtol=0.02)
    width = (table.upper - table.lower) / true_err
    assert np.all((0.001 < width) & (width < 0.1))              # a band, not a shrug
    # A 95% band should cover the truth in about 95% of replicates: here the error band and the
    # loss band both cover it in all 10 (relative widths of the error band 0.9-2.2%).
    covers = (table.lower <= true_err) & (true_err <= table.upper)
    assert covers.sum() >= 8, table
    assert np.all((table.loss_lower <= true_loss) & (true_loss <= table.loss_upper))
    # a wider level gives a wider band
    wide = ot.chain(*replicates[0], N, D, level=0.99).iloc[0]
    assert wide.lower <= rows[0].lower and wide.upper >= rows[0].upper


def test_chain_reads_laws_of_n_and_d_and_wants_both_bootstraps(loss_fit, error_fit):
    N, D = ot.to_nd(np.array([1e20, 5e21]), np.array([20.0, 100.0]))
    plain = dataclasses.replace(error_fit, resamples=None)
    ours = ot.chain(dataclasses.replace(loss_fit, resamples=None), plain, N, D)
    assert list(ours.columns) == ["N", "D", "loss", "error"]
    # the same surface as a Chinchilla fit of N and D gives the same chain
    as_nd = types.SimpleNamespace(law=chinchilla, params=ot.to_chinchilla(loss_fit.params),
                                  resamples=None, data={})
    np.testing.assert_allclose(ot.chain(as_nd, plain, N, D)[["loss", "error"]],
                               ours[["loss", "error"]], rtol=1e-12)
    with pytest.raises(FitError, match="error_fit has no bootstrap"):
        ot.chain(loss_fit, plain, N, D)
    with pytest.raises(ValueError, match="D must be positive"):
        ot.chain(loss_fit, error_fit, N, -D)
    with pytest.raises(ValueError, match="chain needs a law of the loss alone"):
        ot.chain(loss_fit, loss_fit, N, D)

