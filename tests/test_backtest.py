"""Backtests on synthetic sweeps: splits as weight batches, the boundary sweep, bad splits."""

import numpy as np
import pandas as pd
import pytest

import scalefit


def sweep(seed=0):
    rng = np.random.default_rng(seed)
    N = np.repeat(np.geomspace(3e7, 3e9, 5), 6)
    D = np.tile(np.geomspace(1e9, 3e11, 6), 5)
    loss = (1.8 + 480 / N ** 0.35 + 2100 / D ** 0.37) * np.exp(rng.normal(0, 0.01, N.size))
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def test_a_backtest_fits_the_training_side_and_scores_the_held_out_side(example_path):
    """The split's fit is the fit with the held-out rows at weight 0 (same padded shape as the
    example fit, so nothing new compiles)."""
    runs = pd.read_csv(example_path)
    bt = scalefit.backtest(runs, "chinchilla", "largest")
    held = runs["N"] == runs["N"].max()
    assert bt.summary["n_train"].tolist() == [84] and bt.summary["n_test"].tolist() == [12]
    alone = scalefit.fit(runs.assign(w=(~held).astype(float)), weight="w")
    for name, value in bt.summary["params"].iloc[0].items():
        assert value == pytest.approx(alone.params[name], rel=1e-8)
    rel = alone.predict(runs[held]) / runs.loc[held, "loss"].to_numpy() - 1
    assert bt.summary["are"].iloc[0] == pytest.approx(np.mean(np.abs(rel)), rel=1e-8)
    assert bt.summary["bias"].iloc[0] == pytest.approx(np.mean(rel), rel=1e-8)
    assert bt.summary["max_are"].iloc[0] == pytest.approx(np.max(np.abs(rel)), rel=1e-8)
    assert list(bt.points.columns) == ["law", "split", "line", "row", "N", "D", "observed",
                                       "predicted", "rel_error"]
    assert len(bt.points) == 12 and "Backtest" in repr(bt)


def test_the_boundary_sweep_fits_each_size_in_turn(example_path):
    bt = scalefit.boundary_sweep(example_path, "chinchilla")
    # 8 sizes of 12 runs: training on the smallest alone (one N) cannot fit a law of N, so
    # the sweep starts at the 2 smallest sizes.
    assert bt.summary["n_train"].tolist() == [24, 36, 48, 60, 72, 84]
    assert (bt.summary["n_test"] == 12).all() and bt.summary["converged"].all()
    sizes = np.unique(pd.read_csv(example_path)["N"])
    assert bt.summary["train_max_N"].tolist() == pytest.approx(sizes[1:7])
    assert bt.points["line"].min() > 1                    # file lines of the held-out rows


def test_splits_that_cannot_be_fitted_are_refused():
    runs = sweep()
    with pytest.raises(scalefit.DataError, match=r"holdout 'N>=1e12' leaves no test points"):
        scalefit.backtest(runs, "chinchilla", "N>=1e12")
    with pytest.raises(scalefit.DataError, match=r"holdout 'largest:4' leaves 6 training points "
                                                 r"but the law has 9 free parameters"):
        scalefit.backtest(runs, "farseer", "largest:4")
    with pytest.raises(ValueError, match="a candidate given as a mapping needs 'law'"):
        scalefit.backtest(runs, [{"loss": "squared"}])


def test_objectives_can_be_compared_as_candidates(example_path):
    bt = scalefit.backtest(example_path, [{"law": "chinchilla"},
                                          {"law": "chinchilla", "loss": "squared"}], "largest")
    assert list(bt.summary["law"]) == ["chinchilla", "chinchilla (loss=squared)"]
    assert bt.summary["are"].iloc[0] != bt.summary["are"].iloc[1]


def test_the_cli_backtests_and_sweeps(example_path):
    from typer.testing import CliRunner

    from scalefit.cli import app

    runner = CliRunner()
    out = runner.invoke(app, ["backtest", str(example_path), "--holdout", "largest"])
    assert out.exit_code == 0, out.output
    assert "test: the largest N, 3e+09 (12 points); train: the other 84 points:" in out.stdout
    sweep = runner.invoke(app, ["backtest", str(example_path), "--sweep", "N"])
    assert sweep.exit_code == 0 and "boundary sweep: fit on N up to train_max_N" in sweep.stdout
    bad = runner.invoke(app, ["backtest", str(example_path), "--holdout", "N>=1e12"])
    assert bad.exit_code == 2 and "leaves no test points" in bad.stderr
