"""Farseer, Li et al. 2025 ("Farseer: A Refined Scaling Law in Large Language Models"):

    L(N, D) = exp(a3·n^γ + b3) + exp(a2·n^β + b2) · D^(−exp(a1·n^α + b1)),   n = N / 1e9

with N the non-embedding parameters. The paper writes the law in N itself; scalefit measures N
in billions inside the law, which gives the same family of curves (a_paper = a · 1e9^(−exponent),
see ``to_paper``) but centres log n on the data, so the 9-parameter fit is far better
conditioned: the same solver converges from quasi-random starts where the raw-N form stalls.
"""

import jax
import jax.numpy as jnp
import numpy as np

from ._spec import Law, Param

N_UNIT = 1e9   # N is measured in billions of parameters inside the law

_VALLEY = ("bounds the known runaway valley of Farseer (Li et al. 2025): as the exponent goes "
           "to 0 its coefficient and offset run to ±infinity, the term becoming a pure power "
           "law in N; a fit on this bound prefers that limit")


def _log_loss(p, x):
    """log L as a log-sum-exp of the two terms (the D-free term and the D term)."""
    ln_n = jnp.log(x["N"] / N_UNIT)
    t3 = p["a3"] * jnp.exp(p["gamma"] * ln_n) + p["b3"]
    slope = jnp.exp(p["a1"] * jnp.exp(p["alpha"] * ln_n) + p["b1"])
    t2 = p["a2"] * jnp.exp(p["beta"] * ln_n) + p["b2"] - slope * jnp.log(x["D"])
    m = jax.lax.stop_gradient(jnp.maximum(t2, t3))
    return m + jnp.log(jnp.exp(t2 - m) + jnp.exp(t3 - m))


def to_paper(params) -> dict:
    """Returns the parameters in the paper's convention (N in parameters, not billions):
    a_paper = a / 1e9**exponent for each of (a3, γ), (a2, β), (a1, α); b's unchanged."""
    p = dict(params)
    for a, e in (("a3", "gamma"), ("a2", "beta"), ("a1", "alpha")):
        p[a] = p[a] * N_UNIT ** (-np.asarray(p[e]))
    return p


def from_paper(params) -> dict:
    """Returns paper-convention parameters (N in parameters) in scalefit's (N in billions)."""
    p = dict(params)
    for a, e in (("a3", "gamma"), ("a2", "beta"), ("a1", "alpha")):
        p[a] = p[a] * N_UNIT ** np.asarray(p[e])
    return p


farseer = Law(
    name="farseer",
    inputs=("N", "D"),
    params=(
        Param("a3", grid=(-3.0, 3.0)),
        Param("gamma", lower=0.02, upper=1.0, grid=(0.02, 0.5), why=_VALLEY),
        Param("b3", grid=(-3.0, 3.0)),
        Param("a2", grid=(-5.0, 15.0)),
        Param("beta", lower=-1.0, upper=-0.02, grid=(-0.5, -0.02), why=_VALLEY),
        Param("b2", grid=(-10.0, 10.0)),
        Param("a1", grid=(-3.0, 3.0)),
        Param("alpha", lower=0.02, upper=1.0, grid=(0.02, 0.5), why=_VALLEY),
        Param("b1", grid=(-3.0, 3.0)),
    ),
    log_loss=_log_loss,
    reference=("Li et al. 2025, Farseer (N = non-embedding parameters, in billions inside the "
               "law; scalefit.laws.farseer_to_paper gives the paper's convention); squared log "
               "residuals from 4,096 Sobol starts"),
    start="sobol:4096",
    fit_defaults=(("loss", "squared"), ("max_steps", 3000)),
)
