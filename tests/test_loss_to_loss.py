"""Loss-to-loss prediction (Brandfonbrener et al. 2024, "Loss-to-Loss Prediction: Scaling Laws
for All Datasets"): the kaplan_e law, the shifted power-law map between losses, and translating
a law from one training set to another.

On the paper's sweep (6 training sets, 529 runs) and its 6 held-out 3.3B-parameter / 1e21-FLOP
runs: kaplan_e fitted per training set lands on the fits stored beside the data; the 30
train-to-train maps predict the held-out runs with a mean relative error of 0.92% (the paper's
figure), against 3-5% for each set's direct extrapolation; a law translated to y from 8 runs of
y is within about 0.4% of y's own fit and keeps N*(C).
"""

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalefit
from conftest import requires_dataset
from scalefit import loss_to_loss as l2l
from scalefit.laws._kaplan_e import kaplan_e
from scalefit.predict import optimal_allocation, predict_loss

ROOT = "KempnerInstitute/loss-to-loss-notebooks/457ce81a019019bc3981937c20a70c52f5fad436/data/"
requires_sweep = requires_dataset(ROOT + "sweep.csv")
SETS = list(l2l.TRAIN_EVAL)
TRUE = {"E": 1.8, "A": 6e7, "B": 9e8, "alpha": 0.42, "beta": 0.46}


def kaplan_e_loss(p, N, D):
    """The law written out plainly, to check the log-sum-exp form against."""
    return ((p["A"] / N) ** (p["alpha"] / p["beta"]) + p["B"] / D) ** p["beta"] + p["E"]


def grid_optimal_n(p, C):
    """N minimising the loss at C = 6ND, by a fine grid over log N (no closed form used)."""
    N = np.exp(np.linspace(np.log(1e5), np.log(1e14), 200_001))
    return float(N[np.argmin(kaplan_e_loss(p, N, C / (6.0 * N)))])


# --- without data ---------------------------------------------------------------------------

def test_kaplan_e_recovers_known_parameters_on_a_synthetic_grid():
    N, D = (a.ravel() for a in np.meshgrid(np.geomspace(2e7, 2e9, 6), np.geomspace(4e8, 6e10, 6)))
    loss = kaplan_e_loss(TRUE, N, D)
    assert predict_loss(kaplan_e, TRUE, {"N": N, "D": D}) == pytest.approx(loss, rel=1e-13)
    fit = scalefit.fit(pd.DataFrame({"N": N, "D": D, "loss": loss}), kaplan_e)
    assert fit.convergence.ok
    for name, value in TRUE.items():
        assert fit.params[name] == pytest.approx(value, rel=1e-4), name
    for C in (1e18, 1e21, 1e24):          # the closed form N*(C) is the loss's minimum
        assert kaplan_e.optimal(TRUE, C)[0] == pytest.approx(grid_optimal_n(TRUE, C), rel=1e-3)
    assert kaplan_e.floor(TRUE, 1e9) == pytest.approx(kaplan_e_loss(TRUE, 1e9, 1e30), rel=1e-12)


def test_fit_map_recovers_a_known_map():
    K, kappa, Ex, Ey = 0.6, 1.1, 2.0, 0.8
    lx = np.geomspace(2.3, 3.6, 24)
    ly = K * (lx - Ex) ** kappa + Ey
    given = l2l.fit_map(lx, ly, Ex, Ey)                 # the paper's fit, shifts given
    assert given.space == "shifted" and given.searched == ()
    assert (given.K, given.kappa) == pytest.approx((K, kappa), rel=1e-7)
    assert given.predict(2.2) == pytest.approx(K * 0.2 ** kappa + Ey, rel=1e-7)
    searched = l2l.fit_map(lx, ly)                      # both shifts searched too
    assert searched.space == "loss" and searched.searched == ("E_x", "E_y")
    assert searched.fit.convergence.ok
    got = (searched.K, searched.kappa, searched.E_x, searched.E_y)
    assert got == pytest.approx((K, kappa, Ex, Ey), rel=1e-3)


def _synthetic_map():
    """A map from x (the law TRUE) to y fitted on 8 exact pairs, and its law for y."""
    N = np.geomspace(3e7, 2e9, 8)
    lx = kaplan_e_loss(TRUE, N, 20 * N)
    ly = 0.55 * (lx - TRUE["E"]) ** 1.25 + 0.9
    return l2l.fit_map(lx, ly, TRUE["E"], None, x="x", y="y")


def test_translate_is_the_map_applied_to_the_law_and_keeps_the_optimal_allocation():
    m = _synthetic_map()
    assert m.E_y == pytest.approx(0.9, rel=1e-4) and m.kappa == pytest.approx(1.25, rel=1e-4)
    y = l2l.translate(TRUE, m)
    assert y["alpha"] / y["beta"] == pytest.approx(TRUE["alpha"] / TRUE["beta"], rel=1e-12)
    N, D = (a.ravel() for a in np.meshgrid(np.geomspace(1e6, 1e12, 7), np.geomspace(1e8, 1e14, 7)))
    carried = m.predict(kaplan_e_loss(TRUE, N, D))
    assert predict_loss(kaplan_e, y, {"N": N, "D": D}) == pytest.approx(carried, rel=1e-12)
    budgets = np.array([1e18, 1e20, 1e21, 1e23, 1e25])
    assert optimal_allocation(kaplan_e, y, budgets).N == pytest.approx(
        optimal_allocation(kaplan_e, TRUE, budgets).N, rel=1e-12)
    for C in (1e19, 1e22):                              # numerically, not by the closed form
        assert grid_optimal_n(y, C) == pytest.approx(grid_optimal_n(TRUE, C), rel=1e-4)


def test_errors_name_the_bad_input():
    lx, ly = np.geomspace(2.3, 3.6, 10), np.geomspace(1.0, 1.5, 10)
    with pytest.raises(ValueError, match="x_loss has 10 values but y_loss 9"):
        l2l.fit_map(lx, ly[:9], 2.0, 0.5)
    with pytest.raises(ValueError, match=r"y_loss\[3\] = nan"):
        l2l.fit_map(lx, np.where(np.arange(10) == 3, np.nan, ly), 2.0, 0.5)
    with pytest.raises(ValueError, match="E_x=2.5 must be at least 0 and below the smallest x"):
        l2l.fit_map(lx, ly, 2.5, 0.5)
    with pytest.raises(ValueError, match="space='shifted' needs both shifts"):
        l2l.fit_map(lx, ly, 2.0, None, space="shifted")
    with pytest.raises(ValueError, match="3 pairs cannot fit"):
        l2l.fit_map(lx[:3], ly[:3])
    m = _synthetic_map()
    with pytest.raises(ValueError, match="above E_x"):
        m.predict(TRUE["E"] - 0.1)
    with pytest.raises(ValueError, match="is not the law's E"):
        l2l.translate({**TRUE, "E": 1.7}, m)
    with pytest.raises(ValueError, match="lacks kaplan_e parameters beta"):
        l2l.translate({k: v for k, v in TRUE.items() if k != "beta"}, m)
    with pytest.raises(ValueError, match="unknown training set 'c4'"):
        l2l.train_metric("c4")


# --- on the paper's sweep --------------------------------------------------------------------

@pytest.fixture(scope="module")
def runs():
    return scalefit.data.load("loss-to-loss")


@pytest.fixture(scope="module")
def laws(runs):
    """kaplan_e fitted to each training set's sweep runs (never the held-out ones)."""
    return {s: l2l.fit_train(runs, s) for s in SETS}


@pytest.fixture(scope="module")
def stored():
    root = Path(os.environ["SCALEFIT_DATA_DIR"]) / ROOT
    return pd.read_csv(root / "opt_params_data.csv").query(
        "kaplan and loss_name == 'val_loss'").set_index("data")


@requires_sweep
def test_pairs_by_model_size_and_tokens(runs):
    sweep = pd.read_csv(Path(os.environ["SCALEFIT_DATA_DIR"]) / ROOT / "sweep.csv")
    for s in SETS:                      # a run's train loss is its own validation set's loss
        own = runs[(runs["data"] == s) & (runs["metric"] == l2l.train_metric(s)) & ~runs["heldout"]]
        assert np.sort(own["loss"].to_numpy()) == pytest.approx(
            np.sort(sweep.loc[sweep["data"] == s, "val_loss"].to_numpy()), rel=1e-12)
    tt = l2l.pairs(runs, "fineweb-100b", "starcoder")          # train-to-train
    assert len(tt) == 81 and tt["heldout"].sum() == 1          # 80 sweep (N, D) + the 3.3B run
    assert (tt["run_x"] != tt["run_y"]).all()
    ttest = l2l.pairs(runs, "starcoder", ("starcoder", "c4"))  # train-to-test: one run, two losses
    assert len(ttest) == 85 and (ttest["run_x"] == ttest["run_y"]).all()
    test2 = l2l.pairs(runs, ("smollm-corpus", "c4"), ("proof-pile-2", "validation/c4 cross-entropy"))
    assert test2.attrs["y"] == "proof-pile-2: validation/c4 cross-entropy" and len(test2) > 70
    with pytest.raises(ValueError, match="test set 'fineweb' names 3 metrics"):
        l2l.pairs(runs, "starcoder", ("starcoder", "fineweb"))
    with pytest.raises(ValueError, match="no runs trained on 'c4-only'"):
        l2l.pairs(runs, ("c4-only", "c4"), "starcoder")
    with pytest.raises(ValueError, match="runs lacks columns"):
        l2l.pairs(sweep, "starcoder", "smollm-corpus")


@requires_sweep
def test_kaplan_e_fits_match_the_stored_upstream_fits(laws, runs, stored):
    """Our fits are the authors' (opt_params_data.csv, kaplan rows), and extrapolate to the
    held-out 3.3B runs with 3-5% error, as the paper reports for direct fits."""
    errors = []
    for s, fit in laws.items():
        assert fit.convergence.ok
        for name in ("E", "alpha", "beta"):
            assert fit.params[name] == pytest.approx(stored.loc[s, name], rel=1e-5), (s, name)
        for name in ("A", "B"):
            assert fit.params[name] == pytest.approx(stored.loc[s, name], rel=1e-4), (s, name)
        held = l2l.pairs(runs, s, s).query("heldout").iloc[0]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scalefit.ExtrapolationWarning)
            predicted = float(fit.predict(held["N"], held["D"]))
        assert predicted == pytest.approx(stored.loc[s, "extrap_pred"], rel=1e-6)
        errors.append(predicted / held["y"] - 1)
    assert all(0.03 < e < 0.05 for e in errors), errors          # 3.2% to 4.8%, all too high


@requires_sweep
def test_train_to_train_predicts_the_held_out_runs_within_one_percent(laws, runs):
    """The paper's recipe on the 30 ordered pairs of training sets: 0.92% mean relative error
    (0.9202% here, the paper's figure), against 4.0% for the direct fits."""
    paper = l2l.train_to_train(runs, laws=laws)
    assert len(paper) == 30 and paper["converged"].all()
    assert set(zip(paper["x"], paper["y"])) == {(a, b) for a in SETS for b in SETS if a != b}
    error = paper["rel_error"].abs()
    assert error.mean() <= 0.01
    assert error.mean() == pytest.approx(0.0092, abs=5e-5)
    assert error.max() < 0.021                                    # starcoder is hardest
    row = paper.iloc[0]                                           # the fit is log-log OLS
    sweep = l2l.pairs(runs, row["x"], row["y"]).query("not heldout")
    kappa, log_k = np.polyfit(np.log(sweep["x"] - row["E_x"]), np.log(sweep["y"] - row["E_y"]), 1)
    assert (row["K"], row["kappa"]) == pytest.approx((np.exp(log_k), kappa), rel=1e-8)
    huber = l2l.train_to_train(runs, laws=laws, space="loss")    # Huber on log L_y instead
    assert huber["converged"].all() and huber["rel_error"].abs().mean() <= 0.01  # 0.959%


def _pick_8(paired, law_x):
    """Per compute budget of the sweep, the pair whose N is nearest x's compute-optimal N."""
    sweep = paired[~paired["heldout"]]
    budget = np.round(np.log10(6 * sweep["N"] * sweep["D"]), 3)
    picked = []
    for c in np.unique(budget):
        at = sweep[budget == c]
        best = np.argmin(np.abs(np.log(at["N"] / kaplan_e.optimal(law_x.params, 10 ** c)[0])))
        picked.append(at.iloc[best])
    return pd.DataFrame(picked)


@requires_sweep
def test_translate_from_8_runs_reproduces_the_direct_fit(laws, runs):
    """For all 30 pairs: map x's law to y from 8 runs of y (E_y searched): over y's sweep the
    translated law is within 0.37% of y's direct fit on all its runs on average (0.11-1.0% per
    pair; worst point 4.0%, onto starcoder), and N*(C) is x's."""
    diffs, worst = [], []
    budgets = np.array([1e19, 1e21, 1e23])
    for a in SETS:
        for b in SETS:
            if a == b:
                continue
            paired = l2l.pairs(runs, a, b)
            eight = _pick_8(paired, laws[a])
            assert len(eight) == 8
            m = l2l.fit_map(eight["x"], eight["y"], laws[a].params["E"], None, x=a, y=b)
            assert m.fit.convergence.ok and m.searched == ("E_y",)
            y = l2l.translate(laws[a], m)
            sweep = paired[~paired["heldout"]]
            at = {"N": sweep["N"].to_numpy(), "D": sweep["D"].to_numpy()}
            rel = predict_loss(kaplan_e, y, at) / predict_loss(kaplan_e, laws[b].params, at) - 1
            diffs.append(np.mean(np.abs(rel)))
            worst.append(np.max(np.abs(rel)))
            assert optimal_allocation(kaplan_e, y, budgets).N == pytest.approx(
                optimal_allocation(kaplan_e, laws[a].params, budgets).N, rel=1e-10)
    assert np.mean(diffs) < 0.005 and max(diffs) < 0.012
    assert max(worst) < 0.05
