"""Asymptote laws (Henighan et al. 2020; Kim et al. 2025): L = L_inf + (x0/x)**alpha with the
asymptote free or pinned, the compute frontier of the official multi-power-law curves,
tiered asymptotes, and inverting fitted laws ("worth X times more data", speedups).

Every asymptote_D fit here has 24 points, so all of them (recovery, tiers, speedup) share
one compilation; the pinned fit and the outer law in N compile once more each.
"""

import os
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

import scalefit
from scalefit.asymptote import equivalent, frontier, speedup, tiered, worth
from scalefit.laws import Law, Param, power_law
from scalefit.laws._asymptote import asymptote_C, asymptote_D, asymptote_law, asymptote_N, inverse
from scalefit.predict import evaluate
from conftest import requires_dataset

TRUTH = {"L_inf": 1.9, "x0": 3.9e8, "alpha": 0.3}
D = np.geomspace(1e8, 1e11, 24)
NOISE = 0.005                       # multiplicative, lognormal
BOOT = 200
MPL = "thu-yao-01-luo/MultiPowerLaw/8da9f1902602f3391b971a811e3cc51604541769/loss_curve_repo"


def synthetic(params, seed, x=D, name="D"):
    rng = np.random.default_rng(seed)
    loss = params["L_inf"] + (params["x0"] / x) ** params["alpha"]
    return pd.DataFrame({name: x, "loss": loss * np.exp(rng.normal(0.0, NOISE, x.size))})


@pytest.fixture(scope="module")
def free_fit():
    return scalefit.fit(synthetic(TRUTH, 0), law=asymptote_D, bootstrap=BOOT)


@pytest.fixture(scope="module")
def pinned_fit():
    return scalefit.fit(synthetic(TRUTH, 0), law=asymptote_D, fix={"L_inf": TRUTH["L_inf"]})


# ---- the law ----


def test_equal_laws_compare_equal_and_the_law_is_the_formula():
    assert asymptote_law("D") == asymptote_D and hash(asymptote_law("D")) == hash(asymptote_D)
    assert asymptote_law("C") == asymptote_C and asymptote_law("N") == asymptote_N
    assert asymptote_D != asymptote_C
    assert asymptote_D.param_names == ("L_inf", "x0", "alpha") and asymptote_D.inputs == ("D",)
    assert asymptote_law("step").name == "asymptote_step"
    x = np.geomspace(1e6, 1e14, 9)
    expected = TRUTH["L_inf"] + (TRUTH["x0"] / x) ** TRUTH["alpha"]
    np.testing.assert_allclose(evaluate(asymptote_D, TRUTH, {"D": x}), expected, rtol=1e-13)
    np.testing.assert_allclose(inverse(TRUTH, expected), x, rtol=1e-10)
    assert inverse(TRUTH, 1.9) == np.inf and inverse(TRUTH, 1.5) == np.inf
    with pytest.raises(ValueError, match="column name"):
        asymptote_law("6ND")


# ---- recovery, asymptote free and pinned ----


def test_recovers_the_law_with_the_asymptote_free(free_fit):
    p = free_fit.params
    assert free_fit.convergence.ok
    assert p["L_inf"] == pytest.approx(TRUTH["L_inf"], abs=0.05)
    assert p["alpha"] == pytest.approx(TRUTH["alpha"], abs=0.03)
    assert p["x0"] == pytest.approx(TRUTH["x0"], rel=0.2)
    iv = free_fit.intervals()
    for name, truth in TRUTH.items():
        assert iv.loc[name, "lower"] <= truth <= iv.loc[name, "upper"], name


def test_recovers_the_law_with_the_asymptote_pinned(pinned_fit):
    p = pinned_fit.params
    assert pinned_fit.convergence.ok and p["L_inf"] == TRUTH["L_inf"]
    assert p["alpha"] == pytest.approx(TRUTH["alpha"], abs=0.01)
    assert p["x0"] == pytest.approx(TRUTH["x0"], rel=0.05)


# ---- inverting a fitted law ----


def test_equivalent_and_worth_invert_the_fit_with_bands_that_cover_the_truth(free_fit):
    loss = 2.2
    truth = inverse(TRUTH, loss)                        # x0 * 0.3**(-1/0.3) = 2.16e10 tokens
    x = equivalent(free_fit, loss)
    assert x.value == pytest.approx(truth, rel=0.1) and x.covers(truth)
    assert x.lower < x.value < x.upper and x.draws.shape == (free_fit.resamples.n_converged,)
    w = worth(free_fit, loss, used=truth / 4)           # reached with a quarter: worth 4x
    assert w.value == pytest.approx(4.0, rel=0.1) and w.covers(4.0)
    both = equivalent(free_fit, [2.2, 1.0])             # arrays; below the asymptote: inf
    assert both.value[1] == np.inf and both.lower[1] == np.inf and np.isfinite(both.value[0])


def test_speedup_recovers_a_constant_data_multiplier(free_fit):
    """Same asymptote and exponent, x0 three times larger: law b needs 3x the tokens of law a
    at every budget, x_b(L_a(at)) / at = x0_b / x0_a = 3."""
    fit_b = scalefit.fit(synthetic({**TRUTH, "x0": 3 * TRUTH["x0"]}, 1), law=asymptote_D,
                         bootstrap=BOOT)
    s = speedup(free_fit, fit_b, at=[1e9, 1e10])
    np.testing.assert_allclose(s.value, 3.0, rtol=0.15)
    assert s.covers(3.0).all()
    back = speedup(fit_b, free_fit, at=1e10)            # the other way round: a third
    assert back.value == pytest.approx(1 / 3, rel=0.15) and back.covers(1 / 3)


def test_inversion_of_other_one_input_laws_and_bad_inputs(free_fit):
    """power_law in closed form, any other decreasing law by bisection; no fitting needed."""
    p = {"E": 1.9, "A": TRUTH["x0"] ** 0.3, "alpha": 0.3}
    stub = SimpleNamespace(law=power_law("D"), params=p, resamples=None)
    x = equivalent(stub, 2.2)
    assert x.value == pytest.approx(inverse(TRUTH, 2.2), rel=1e-10) and np.isnan(x.lower)
    toy = Law(name="toy", inputs=("D",), params=(Param("E"), Param("B")),
              loss=lambda p, x: p["E"] + p["B"] / np.log1p(x["D"]), array_api=True)
    y = equivalent(SimpleNamespace(law=toy, params={"E": 1.0, "B": 20.0}, resamples=None), 2.0)
    assert y.value == pytest.approx(np.expm1(20.0), rel=1e-9)
    with pytest.raises(ValueError, match="one input"):
        equivalent(SimpleNamespace(law=scalefit.laws.chinchilla, params={}), 2.0)
    with pytest.raises(ValueError, match="positive"):
        equivalent(free_fit, -1.0)
    with pytest.raises(ValueError, match="same input"):
        speedup(free_fit, SimpleNamespace(law=asymptote_C, params=TRUTH), 1e9)


# ---- tiered asymptotes ----

SIZES = np.geomspace(1e7, 1e10, 7)
OUTER = {"L_inf": 1.7, "x0": 3.2e7, "alpha": 0.35}     # L_inf(N) from 3.20 down to 1.83


@pytest.fixture(scope="module")
def tiers():
    members = []
    for i, n in enumerate(SIZES):
        inner = {"L_inf": OUTER["L_inf"] + (OUTER["x0"] / n) ** OUTER["alpha"],
                 "x0": 3.9e8 * (n / 1e8) ** 0.2, "alpha": 0.3}
        members.append(synthetic(inner, 10 + i).assign(N=n))
    return tiered(pd.concat(members, ignore_index=True), inner="D", outer="N", bootstrap=BOOT)


def test_tiered_asymptotes_recover_both_levels(tiers):
    truth = OUTER["L_inf"] + (OUTER["x0"] / SIZES) ** OUTER["alpha"]
    table = tiers.table
    assert list(table["N"]) == list(SIZES) and table["converged"].all()
    np.testing.assert_allclose(table["L_inf"], truth, atol=0.06)
    covered = (table["L_inf_lower"] <= truth) & (truth <= table["L_inf_upper"])
    assert covered.sum() >= 6                            # 95% bands, 7 members (all 7 cover)
    p = tiers.outer_fit.params
    assert tiers.outer_fit.law == asymptote_N
    assert p["L_inf"] == pytest.approx(OUTER["L_inf"], abs=0.05)    # 1.693
    assert p["alpha"] == pytest.approx(OUTER["alpha"], abs=0.05)    # 0.334
    assert p["x0"] == pytest.approx(OUTER["x0"], rel=0.3)           # 3.14e7
    assert set(tiers.members) == set(SIZES)


def test_tiered_refuses_too_few_members():
    rows = synthetic(TRUTH, 0).assign(N=1e8)
    with pytest.raises(ValueError, match="too few"):
        tiered(rows, inner="D", outer="N")
    with pytest.raises(ValueError, match="no column 'T'"):
        tiered(rows, inner="T", outer="N")


# ---- the compute frontier ----


def test_frontier_of_synthetic_runs():
    """Three sizes: the envelope follows the smallest, then the middle, then the largest
    (a crossing may interleave the two runs' points for a stretch), and N_opt grows with C."""
    rows = []
    for n in (1e7, 1e8, 1e9):
        D_ = np.geomspace(1e8, 1e11, 60)
        loss = 1.7 + (3e7 / n) ** 0.35 + (1e8 / D_) ** 0.3
        rows.append(pd.DataFrame({"run": f"{n:g}", "N": n, "D": D_, "loss": loss}))
    f = frontier(pd.concat(rows, ignore_index=True))
    assert list(f.runs["run"]) == ["1e+07", "1e+08", "1e+09"]
    assert (f.runs["stretches"] <= 2).all() and np.all(np.diff(f.points["loss"]) < 0)
    assert 0 < f.a < 1 and f.n_opt(1e18) > f.n_opt(1e16)
    assert list(f.holder([6e15, 1e30])) == ["1e+07", "1e+09"]
    with pytest.raises(ValueError, match="tokens_per_step"):
        frontier(pd.DataFrame({"run": ["a"], "N": [1e8], "step": [10], "loss": [3.0]}))
    with pytest.raises(ValueError, match="no column 'T'"):
        frontier(rows[0], x="T")


def _mpl(schedule):
    root = Path(os.environ["SCALEFIT_DATA_DIR"]) / MPL
    return pd.concat([pd.read_csv(root / f"csv_{size}" / f"{schedule}.csv")
                      .assign(run=f"{size}M", N=size * 1e6) for size in (25, 100, 400)],
                     ignore_index=True)


@pytest.mark.parametrize("schedule, first, second", [
    pytest.param(name, first, second, marks=requires_dataset(f"{MPL}/csv_400/{name}.csv"))
    for name, first, second in (("constant_24000", 4.48e11, 2.87e12),
                                ("cosine_24000", 5.49e11, 3.37e12))])
def test_frontier_of_the_official_multi_power_curves(schedule, first, second):
    """The 24,000-step runs of 25M, 100M and 400M (Luo et al. 2025). The repository does not
    say the tokens per step, so C = 6·N·step (tokens per step 1): a constant scales every C
    alike and leaves the envelope's runs and the N_opt exponent unchanged. Each size holds the
    envelope in one stretch, smallest first; the handovers, in N·step: 25M -> 100M at
    4.48e11 (constant) / 5.49e11 (cosine, whose decay keeps 25M ahead longer), inside the
    25M run (which ends at 6.0e11); 100M -> 400M at 2.87e12 / 3.37e12, only after the 100M
    run's last step (2.39e12): within equal compute 400M never beats 100M in these runs."""
    f = frontier(_mpl(schedule), tokens_per_step=1.0)
    runs = f.runs.set_index("run")
    assert list(runs.index) == ["25M", "100M", "400M"] and (runs["stretches"] == 1).all()
    assert runs.loc["25M", "C_from"] == f.points["C"].iloc[0]
    assert runs.loc["25M", "C_to"] / 6 == pytest.approx(first, rel=0.02)
    assert runs.loc["100M", "C_to"] / 6 == pytest.approx(second, rel=0.02)
    assert runs.loc["25M", "C_to"] / 6 < 25e6 * 24000 and runs.loc["100M", "C_to"] / 6 > 100e6 * 24000
    assert 0.6 < f.a < 0.7                               # N_opt ~ C**0.67 / C**0.65
