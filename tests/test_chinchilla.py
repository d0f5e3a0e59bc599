"""Chinchilla Approach 3 against the published refit figures (laws.md section 1)."""

import numpy as np
import pytest

import scalefit
from conftest import EPOCH_PATH, requires_dataset

pytestmark = requires_dataset(EPOCH_PATH)

OPTIMUM = 1.0182740e-3            # converged optimum on Epoch's 240 points (solvers.md)
HOFFMANN = {"E": 1.693374, "A": 406.401, "B": 410.723, "alpha": 0.33917084, "beta": 0.2849083}


def huber_sum(r, delta=1e-3):
    a = np.abs(r)
    return float(np.sum(np.where(a <= delta, 0.5 * r * r, delta * (a - 0.5 * delta))))


def test_hoffmann_recipe_reaches_the_epoch_optimum(epoch_fit):
    """Besiroglu et al. 2024: Hoffmann's recipe on Epoch's 240 points (laws.md section 1)."""
    fit = epoch_fit
    assert fit.n_points == 240 and len(fit.dropped) == 5
    assert fit.convergence.stop is scalefit.Stop.CONVERGED
    assert fit.convergence.grad_norm <= fit.convergence.grad_tol
    assert fit.convergence.grad_tol <= 1e-8 * fit.objective + 1e-10
    assert fit.objective <= 1.01828e-3
    assert fit.objective == pytest.approx(OPTIMUM, rel=1e-7)
    assert fit.params["A"] == pytest.approx(477.8, rel=0.01)
    assert fit.params["B"] == pytest.approx(2143, rel=0.02)
    assert fit.params["E"] == pytest.approx(1.8172, abs=1e-3)
    assert fit.params["alpha"] == pytest.approx(0.3473, abs=1e-3)
    assert fit.params["beta"] == pytest.approx(0.3672, abs=1e-3)
    assert fit.convergence.n_starts == 4500 and fit.convergence.n_solved == 32
    assert fit.convergence.n_best_basin >= 16


def test_objective_is_the_sum_of_huber_terms_not_the_mean(epoch_fit):
    """The 'mean instead of sum' trap (laws.md): the objective is a sum over 240 points."""
    assert epoch_fit.objective == pytest.approx(huber_sum(epoch_fit.residuals), rel=1e-12)
    observed = scalefit.data.read_chinchilla(epoch_filter=True)["loss"].to_numpy()
    predicted = epoch_fit.predict(scalefit.data.read_chinchilla(epoch_filter=True))
    np.testing.assert_allclose(np.log(predicted) - np.log(observed), epoch_fit.residuals,
                               atol=1e-12)


def test_solving_every_start_reaches_the_same_optimum(epoch_240, epoch_fit):
    """Screening keeps the optimum: all 4,500 starts solved give the same answer."""
    full = scalefit.fit(epoch_240, law="chinchilla", n_solve="all")
    assert full.convergence.n_solved == 4500
    assert full.convergence.ok
    assert full.objective == pytest.approx(epoch_fit.objective, rel=1e-10)
    assert full.objective >= epoch_fit.objective - 1e-15
    for name, value in epoch_fit.params.items():
        assert full.params[name] == pytest.approx(value, rel=1e-5), name
    # Many grid starts walk to degenerate endpoints; the best basin is still well populated.
    assert full.convergence.n_best_basin > 1000


def test_hoffmanns_published_values_are_left_for_the_optimum(epoch_240):
    """Started at Hoffmann's published values, the fit moves to the optimum, not stays put."""
    fit = scalefit.fit(epoch_240, law="chinchilla", start=HOFFMANN)
    assert fit.convergence.n_starts == 1 and fit.convergence.ok
    assert fit.objective == pytest.approx(OPTIMUM, rel=1e-7)
    assert fit.params["beta"] == pytest.approx(0.3672, abs=1e-3)      # not 0.285
    assert fit.params["B"] == pytest.approx(2143, rel=0.02)           # not 410.7


def test_epoch_mle_implies_about_20_tokens_per_parameter():
    """Epoch AI's estimate implies ~20 tokens per parameter at Chinchilla's 5.88e23 FLOPs.

    By hand from the rounded MLE: G = (alpha A / (beta B))**(1/(alpha+beta)) = 0.1196 and
    D/N = G**-2 * (C/6)**((alpha-beta)/(alpha+beta)) = 18.38, within 10% of Epoch's "~20".
    """
    from scalefit.laws import chinchilla
    from scalefit.predict import optimal_allocation

    mle = {"E": 1.817, "A": 482.01, "B": 2085.43, "alpha": 0.3478, "beta": 0.3658}
    alloc = optimal_allocation(chinchilla, mle, 5.88e23)
    assert alloc.tokens_per_param == pytest.approx(18.38, abs=0.01)
    assert alloc.tokens_per_param == pytest.approx(20, rel=0.1)
    assert 6 * alloc.N * alloc.D == pytest.approx(5.88e23, rel=1e-12)


def test_shared_exponent_fit_ties_beta_to_alpha(epoch_240, epoch_fit):
    """alpha = beta (laws.md section 4): one exponent, four free parameters, worse objective."""
    fit = scalefit.fit(epoch_240, law="chinchilla", tie={"beta": "alpha"})
    assert fit.convergence.ok
    assert fit.params["beta"] == fit.params["alpha"]
    assert fit.convergence.n_starts == 5 * 5 * 6 * 6
    assert fit.objective >= epoch_fit.objective
    assert 0.3 < fit.params["alpha"] < 0.4
