"""Optimal learning rate and batch size (Step Law): the refit of the released dense grid, the
paper's preset, the diverged filter, the near-best selection, units, bands and the errors."""

import os
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalefit.errors import DataError, ExtrapolationWarning
from scalefit.hyper import STEP_LAW, HyperFit, SparseGridWarning, fit_hyper
from conftest import requires_dataset

DENSE = "step-law/steplaw/32a8f4cc50247695fb56cc6c9117abdf67c97763/data/dense_lr_bs_loss.csv"
SEQ_LEN = 2048     # the dense grid's sequence length (bs × 2048 × ti = D; scalefit.data.public)


def dense_path() -> Path:
    return Path(os.environ.get("SCALEFIT_DATA_DIR", "")) / DENSE


@pytest.fixture(scope="module")
def dense():
    return pd.read_csv(dense_path())


def fit_quiet(data, **kwargs) -> HyperFit:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", SparseGridWarning)
        return fit_hyper(data, **kwargs)


@pytest.fixture(scope="module")
def dense_fit(dense):
    return fit_quiet(dense, bootstrap=300, seed=0)


def grid(N_values, D_values, seed=0, lr_exp=(-0.7, 0.3), batch_exp=0.6):
    """A synthetic lr × batch grid whose best lr and batch follow known power laws: loss is
    quadratic in log lr and log batch around the optimum, so the cell minimum sits on it."""
    rng = np.random.default_rng(seed)
    rows = []
    for N in N_values:
        for D in D_values:
            lr_opt = 2.0 * N ** lr_exp[0] * D ** lr_exp[1]
            b_opt = 0.5 * D ** batch_exp
            for dl in np.linspace(-1, 1, 5):
                for db in np.linspace(-1, 1, 5):
                    base = 2.0 + 50 / N ** 0.3
                    loss = base * (1 + 0.02 * dl ** 2 + 0.02 * db ** 2) + rng.normal(0, 1e-5)
                    rows.append({"N": N, "D": D, "lr": lr_opt * np.exp(dl),
                                 "batch_size": b_opt * np.exp(db), "loss": loss})
    return pd.DataFrame(rows)


# --- the released Step Law grid -----------------------------------------------------------------

@requires_dataset(DENSE)
def test_refit_reproduces_upstream_report(dense_fit):
    """Smoothed loss, the paper's 0.25%: 129 near-best runs, η ∝ N^-0.766·D^0.197, B ∝ D^0.613."""
    fit = dense_fit
    assert (fit.n_runs, fit.n_diverged, fit.n_cells, fit.n_near) == (1911, 181, 17, 129)
    assert fit.loss == "smooth loss"
    assert fit.lr.a == pytest.approx(-0.766, abs=0.01)
    assert fit.lr.b == pytest.approx(0.197, abs=0.01)
    assert fit.batch.b == pytest.approx(0.613, abs=0.01)
    assert fit.batch_unit == "sequences"
    assert fit.runs["excess"].max() <= 0.0025 + 1e-12
    assert len(fit.runs.drop_duplicates(["N", "D"])) == 17     # every cell keeps its best


@requires_dataset(DENSE)
def test_choices_behind_the_129_runs(dense):
    """Which choices give 129: the diverged filter (before or not at all) does not change the
    near-best set; the raw final loss gives 71 runs and other exponents; the batch unit moves
    the constant (by 2048) and not the exponent."""
    unfiltered = fit_quiet(dense, diverged=None, bootstrap=0)
    assert unfiltered.n_near == 129 and unfiltered.n_diverged == 0
    assert unfiltered.lr.a == pytest.approx(-0.7662, abs=1e-4)
    raw = fit_quiet(dense, columns={"loss": "loss"}, bootstrap=0)
    assert raw.n_near == 71
    assert raw.lr.a == pytest.approx(-0.793, abs=0.01)
    assert raw.batch.b == pytest.approx(0.719, abs=0.01)
    tokens = fit_quiet(dense, seq_len=SEQ_LEN, bootstrap=0)
    assert tokens.batch_unit == "tokens"
    assert tokens.batch.b == pytest.approx(unfiltered.batch.b, abs=1e-9)
    assert tokens.batch.c == pytest.approx(unfiltered.batch.c * SEQ_LEN, rel=1e-9)


@requires_dataset(DENSE)
def test_tidy_table_uses_smoothed_loss_and_tokens():
    import scalefit

    table = scalefit.data.load("steplaw-dense")
    fit = fit_quiet(table, bootstrap=0)
    assert fit.loss == "smoothed train loss" and fit.batch_unit == "tokens"
    assert fit.n_near == 129
    assert (fit.lr.a, fit.lr.b, fit.batch.b) == pytest.approx((-0.7662, 0.1970, 0.6125), abs=1e-4)
    assert fit.batch.c == pytest.approx(0.2085, rel=1e-3)       # B = 0.2085·D^0.6125 tokens
    assert fit.runs["run"].str.startswith("step2v2").all()


@requires_dataset(DENSE)
def test_diverged_runs_are_listed_with_reasons(dense_fit, dense):
    dropped = dense_fit.diverged
    assert len(dropped) == 181
    assert list(dropped.columns) == ["row", "run", "N", "D", "lr", "batch_size", "loss", "ratio",
                                     "reason"]
    assert (dropped["ratio"] > 1.5).all()
    assert dropped["reason"].str.contains("the lowest loss").all()
    first = dropped.iloc[0]
    assert first["row"] == 355 and first["run"] == dense.loc[355, "exp_name"]
    assert "diverged runs dropped (181)" in dense_fit.report()


@requires_dataset(DENSE)
def test_sparse_grid_warning_fires_on_five_sizes(dense):
    with pytest.warns(SparseGridWarning, match=r"only 5 distinct N"):
        fit = fit_hyper(dense, bootstrap=50)
    assert len(fit.distinct["N"]) == 5 and len(fit.distinct["D"]) == 15
    assert not any("distinct D" in w for w in fit.warnings)      # 15 distinct D: no warning


@requires_dataset(DENSE)
def test_bootstrap_band_contains_estimate_and_is_reproducible(dense, dense_fit):
    again = fit_quiet(dense, bootstrap=300, seed=0)
    other = fit_quiet(dense, bootstrap=300, seed=1)
    np.testing.assert_array_equal(again.draws["lr"], dense_fit.draws["lr"])
    np.testing.assert_array_equal(again.draws["batch"], dense_fit.draws["batch"])
    assert not np.array_equal(other.draws["lr"], dense_fit.draws["lr"])
    ivals = dense_fit.intervals()
    assert ((ivals["lower"] <= ivals["value"]) & (ivals["value"] <= ivals["upper"])).all()
    with pytest.warns(ExtrapolationWarning):                   # D = 1.4e12 is 1.1 decades out
        pred = dense_fit.predict(7e9, 1.4e12)
    row = pred.iloc[0]
    assert row["lr_lower"] <= row["lr"] <= row["lr_upper"]
    assert row["batch_size_lower"] <= row["batch_size"] <= row["batch_size_upper"]
    assert row["batch_unit"] == "sequences"
    inside = dense_fit.predict([3e8, 1e9], [2e10, 1e11])       # no warning inside the grid
    assert (inside["lr_lower"] < inside["lr_upper"]).all()


@requires_dataset(DENSE)
def test_report_sets_preset_beside_refit(dense_fit):
    text = dense_fit.report()
    for part in ("-0.7662", "0.197", "0.6125", "-0.713", "0.307", "0.571", "129",
                 "resampling cells, seed 0", "only 5 distinct N", "Step Law (Li et al. 2025)"):
        assert part in text, part


# --- the preset ---------------------------------------------------------------------------------

def test_step_law_preset():
    """η = 1.79·7e9^-0.713·1.4e12^0.307 = 9.17e-4 (the brief's "≈ 9.3e-4" is 1.4% off the
    formula) and B = 0.58·1.4e12^0.571 = 5.0M tokens."""
    pred = STEP_LAW.predict(7e9, 1.4e12).iloc[0]
    assert pred["lr"] == pytest.approx(1.79 * 7e9 ** -0.713 * 1.4e12 ** 0.307, rel=1e-12)
    assert pred["lr"] == pytest.approx(9.17e-4, rel=1e-3)
    assert pred["batch_size"] == pytest.approx(5.0e6, rel=1e-3)
    assert pred["batch_unit"] == "tokens"
    assert np.isnan(pred["lr_lower"])                          # the paper gives no band


# --- synthetic grids: recovery and errors ------------------------------------------------------

def test_recovers_known_exponents_without_warning():
    data = grid(np.geomspace(1e8, 3e9, 6), np.geomspace(2e9, 2e11, 6))
    with warnings.catch_warnings():
        warnings.simplefilter("error", SparseGridWarning)
        fit = fit_hyper(data, bootstrap=100)
    assert (fit.lr.a, fit.lr.b, fit.batch.b) == pytest.approx((-0.7, 0.3, 0.6), abs=1e-9)
    assert fit.lr.c == pytest.approx(2.0, rel=1e-6) and fit.batch.c == pytest.approx(0.5, rel=1e-6)
    assert fit.n_near == 36 and fit.batch_unit == "tokens" and fit.warnings == ()


def test_one_size_is_an_error_naming_the_column():
    data = grid([4e8], np.geomspace(2e9, 2e11, 6)).rename(columns={"N": "params"})
    with pytest.raises(DataError, match=r"'params' \(N\) has one value.*4e\+08.*Add runs"):
        fit_hyper(data, columns={"N": "params"}, bootstrap=0)


def test_fewer_than_three_near_best_runs_is_an_error():
    data = grid([1e8, 1e9], [1e10], seed=1).groupby("N").head(3)
    with pytest.raises(DataError, match=r"only 2 near-best runs"):
        fit_hyper(data, bootstrap=0)


def test_bad_inputs_are_named():
    data = grid([1e8, 1e9], [1e10, 1e11])
    with pytest.raises(DataError, match=r"no column 'lr'"):
        fit_hyper(data.drop(columns="lr"))
    bad = data.copy()
    bad.loc[7, "lr"] = -1.0
    with pytest.raises(DataError, match=r"column 'lr' is -1.0 in row 7"):
        fit_hyper(bad)
    with pytest.raises(ValueError, match="near must be"):
        fit_hyper(data, near=-0.1)
    with pytest.raises(ValueError, match="resample must be"):
        fit_hyper(data, resample="points")
