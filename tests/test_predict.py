"""Predictions as pure functions of a fit: allocation, tokens to a target, and their errors."""

import dataclasses

import numpy as np
import pytest

import scalefit
from scalefit.predict import optimal_allocation, tokens_for_loss

P = {"E": 1.8172, "A": 477.83, "B": 2143.4, "alpha": 0.34731, "beta": 0.36717}


def test_closed_form_allocation_matches_the_numeric_search():
    """Hoffmann et al.'s closed form (laws.md section 1) against a search over N."""
    law = scalefit.laws.chinchilla
    numeric = dataclasses.replace(law, name="chinchilla_numeric", optimal=None)
    C = np.array([1e19, 1e21, 5.88e23, 1e26])
    exact, found = optimal_allocation(law, P, C), optimal_allocation(numeric, P, C)
    np.testing.assert_allclose(found.N, exact.N, rtol=1e-6)
    np.testing.assert_allclose(found.D, exact.D, rtol=1e-6)
    np.testing.assert_allclose(6 * exact.N * exact.D, C, rtol=1e-12)
    # The optimum is a minimum along the budget: 1% off in N either way costs loss.
    for k in (0.99, 1.01):
        off = scalefit.predict.predict_loss(law, P, {"N": exact.N * k, "D": C / (6 * exact.N * k)})
        assert np.all(off > exact.loss)


def test_allocation_exponents_are_beta_and_alpha_over_their_sum():
    a = optimal_allocation(scalefit.laws.chinchilla, P, np.array([1e20, 1e24]))
    slope = np.log(a.N[1] / a.N[0]) / np.log(1e4)
    assert slope == pytest.approx(P["beta"] / (P["alpha"] + P["beta"]), rel=1e-12)


def test_tokens_to_reach_a_target_round_trips(epoch_fit):
    N = np.array([5e9, 7e10])
    D = epoch_fit.tokens(2.1, N)
    np.testing.assert_allclose(epoch_fit.predict(N, D), 2.1, rtol=1e-12)
    # Closed form: D = (B / (L - E - A/N**alpha))**(1/beta).
    p = epoch_fit.params
    closed = (p["B"] / (2.1 - p["E"] - p["A"] / N ** p["alpha"])) ** (1 / p["beta"])
    np.testing.assert_allclose(D, closed, rtol=1e-10)
    assert isinstance(epoch_fit.tokens(2.0, 7e10), float)


def test_a_target_at_or_below_the_floor_is_refused(epoch_fit):
    floor = epoch_fit.params["E"] + epoch_fit.params["A"] / 7e10 ** epoch_fit.params["alpha"]
    with pytest.raises(ValueError, match=r"at or below chinchilla's floor 1\.8\d* at N = 7e\+10"):
        epoch_fit.tokens(floor, 7e10)
    with pytest.raises(ValueError, match="floor"):
        epoch_fit.tokens(1.5, 7e10)


def test_one_input_laws_refuse_allocation(example_path):
    import pandas as pd

    runs = pd.read_csv(example_path).assign(C=lambda d: 6 * d.N * d.D)
    fit = scalefit.fit(runs, law="power_C")
    assert fit.convergence.ok
    with pytest.raises(ValueError, match="power_C is a law of C; compute-optimal allocation "
                                         "needs a law of exactly N and D"):
        fit.optimal(1e22)
    with pytest.raises(ValueError, match="tokens query needs a law with a D input"):
        fit.tokens(2.0, 1e9)


def test_numeric_allocation_says_when_the_optimum_leaves_the_range():
    numeric = dataclasses.replace(scalefit.laws.chinchilla, name="c2", optimal=None)
    alloc = optimal_allocation(numeric, P, [1e16, 1e24], n_range=(1e6, 1e8))
    assert alloc.at_bound.tolist() == [False, True]
    assert alloc.N[1] == pytest.approx(1e8) and alloc.D[1] == pytest.approx(1e24 / 6e8)
    assert alloc.to_frame()["at_N_bound"].tolist() == [False, True]
    assert not np.any(optimal_allocation(scalefit.laws.chinchilla, P, 1e24).at_bound)


def test_predictions_refuse_bad_inputs(epoch_fit):
    with pytest.raises(ValueError, match="input 'N' must be positive and finite"):
        epoch_fit.predict(np.array([-1.0]), np.array([1e9]))
    with pytest.raises(ValueError, match="compute must be positive"):
        epoch_fit.optimal(0.0)
    with pytest.raises(ValueError, match="missing D"):
        epoch_fit.predict(N=1e9)


def test_tokens_for_a_law_without_a_closed_floor():
    law = dataclasses.replace(scalefit.laws.chinchilla, name="c3", floor=None)
    D = tokens_for_loss(law, P, 2.2, 1e9)
    assert scalefit.predict.predict_loss(law, P, {"N": 1e9, "D": D}) == pytest.approx(2.2, rel=1e-12)
