"""Chinchilla fits of the loss-to-loss sweep match the upstream fits stored beside the data.

Brandfonbrener et al. 2024 (KempnerInstitute/loss-to-loss-notebooks) fitted L = E + A/N**alpha +
B/D**beta to each training set's own validation loss (N = params, D = tokens) by mean Huber
(delta 1e-3) on log residuals, and stored the parameters and the 3.3B-run extrapolation in
opt_params_data.csv (datasets README). scalefit's default fit must land on the same optimum
(our objective is the sum, theirs the mean) and be no worse at it.
"""

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalefit
from conftest import requires_dataset

ROOT = "KempnerInstitute/loss-to-loss-notebooks/457ce81a019019bc3981937c20a70c52f5fad436/data/"
SETS = ["fineweb-100b", "fineweb-edu-100b", "proof-pile-2", "slimpajama-chunk1",
        "smollm-corpus", "starcoder"]


def huber_sum(r, delta=1e-3):
    a = np.abs(r)
    return float(np.sum(np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))))


@requires_dataset(ROOT + "opt_params_data.csv")
@pytest.mark.parametrize("data", SETS)
def test_chinchilla_fit_matches_the_stored_upstream_fit(data):
    root = Path(os.environ["SCALEFIT_DATA_DIR"]) / ROOT
    sweep = pd.read_csv(root / "sweep.csv")
    runs = sweep[sweep["data"] == data]
    stored = pd.read_csv(root / "opt_params_data.csv").query(
        "data == @data and not kaplan and loss_name == 'val_loss'").iloc[0]
    held_out = pd.read_csv(root / "extrapolation.csv").query("data == @data").iloc[0]

    fit = scalefit.fit(runs, columns={"N": "params", "D": "tokens", "loss": "val_loss"})
    assert fit.convergence.ok
    theirs = {k: float(stored[k]) for k in ("E", "A", "B", "alpha", "beta")}
    for name in ("E", "alpha", "beta"):
        assert fit.params[name] == pytest.approx(theirs[name], rel=5e-5), name
    for name in ("A", "B"):                                    # the flat A/B direction
        assert fit.params[name] == pytest.approx(theirs[name], rel=5e-4), name
    at_theirs = huber_sum(np.log(scalefit.predict.predict_loss(
        fit.law, theirs, {"N": runs["params"], "D": runs["tokens"]})) - np.log(runs["val_loss"]))
    assert fit.objective <= at_theirs + 1e-15
    assert fit.objective / fit.n_points == pytest.approx(float(stored["loss"]), rel=1e-5)
    prediction = float(fit.predict(held_out["params"], held_out["tokens"]))
    assert prediction == pytest.approx(float(stored["extrap_pred"]), rel=1e-5)
