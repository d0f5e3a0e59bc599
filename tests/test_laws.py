"""The other built-in laws recover known parameters from synthetic runs."""

import numpy as np
import pandas as pd
import pytest

import scalefit


def test_kaplan_recovers_its_exponents():
    """Kaplan et al. 2020 form, with their published constants as truth (laws.md section 4)."""
    truth = {"N_c": 8.8e13, "D_c": 5.4e13, "alpha_N": 0.076, "alpha_D": 0.095}
    N = np.repeat(np.geomspace(1e6, 1e10, 7), 8)
    D = N * np.tile(np.geomspace(1, 1000, 8), 7)
    loss = ((truth["N_c"] / N) ** (truth["alpha_N"] / truth["alpha_D"])
            + truth["D_c"] / D) ** truth["alpha_D"]
    loss *= np.exp(np.random.default_rng(1).normal(0, 0.003, loss.size))
    fit = scalefit.fit(pd.DataFrame({"N": N, "D": D, "loss": loss}), law="kaplan")
    assert fit.convergence.ok
    assert fit.params["alpha_N"] == pytest.approx(0.076, abs=0.01)
    assert fit.params["alpha_D"] == pytest.approx(0.095, abs=0.01)
    np.testing.assert_allclose(fit.predict(N, D), loss, rtol=0.015)
    alloc = fit.optimal(1e22)                                     # numeric search over N
    assert 6 * alloc.N * alloc.D == pytest.approx(1e22, rel=1e-9)


@pytest.mark.parametrize("variable, x", [("C", np.geomspace(1e17, 1e23, 12)),
                                         ("D", np.geomspace(1e8, 1e14, 12)),
                                         ("N", np.geomspace(1e6, 1e12, 12))])
def test_power_law_plus_constant_recovers_its_parameters(variable, x):
    truth = {"E": 1.7, "A": 2.0 * (x[0] ** 0.3), "alpha": 0.3}     # L from 3.7 down to ~1.75
    loss = truth["E"] + truth["A"] * x ** -truth["alpha"]
    loss *= np.exp(np.random.default_rng(2).normal(0, 0.002, x.size))
    fit = scalefit.fit(pd.DataFrame({variable: x, "loss": loss}), law=f"power_{variable}")
    assert fit.convergence.ok
    assert fit.params["E"] == pytest.approx(1.7, abs=0.08)
    assert fit.params["alpha"] == pytest.approx(0.3, abs=0.03)


def test_power_law_in_any_named_variable():
    law = scalefit.laws.power_law("steps")
    x = np.geomspace(100, 1e5, 10)
    fit = scalefit.fit(pd.DataFrame({"steps": x, "loss": 2.0 + 5.0 * x ** -0.3}), law=law)
    assert fit.law.inputs == ("steps",)
    assert fit.params["alpha"] == pytest.approx(0.3, rel=1e-6)
    assert fit.params["E"] == pytest.approx(2.0, rel=1e-6)


def test_every_registered_law_resolves_by_name():
    for name in scalefit.laws.LAW_NAMES:
        law = scalefit.laws.get_law(name)
        assert law.name == name
        assert all(p.grid for p in law.params)
