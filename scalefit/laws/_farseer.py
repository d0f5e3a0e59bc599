"""Farseer, Li et al. 2025 ("Farseer: A Refined Scaling Law in Large Language Models"):

    L(N, D) = exp(a3·N^γ + b3) + exp(a2·N^β + b2) · D^(−exp(a1·N^α + b1))

with N the non-embedding parameters. Each exponent of the paper's form is a "stretched power"
a·N^e + b of N. scalefit fits the same curves in better coordinates: with n = N / 1e9,

    a·N^e + b = c + s·(n^e − 1)/e,

so c is the term's value at N = 1e9 and s its slope in ln N there. The paper's coordinates have a
runaway valley (as e → 0 the term tends to a pure power law in N only while a and b run to
±infinity), which makes the solver crawl; in these coordinates the same limit is an ordinary
point (s·ln n), and ``to_paper`` / ``from_paper`` convert between the two.
"""

import numpy as np

from ._spec import Law, Param
from ._xp import lse2, xp_of

N_UNIT = 1e9   # n = N / N_UNIT inside the law
TERMS = (("c3", "s3", "gamma", "a3", "b3"), ("c2", "s2", "beta", "a2", "b2"),
         ("c1", "s1", "alpha", "a1", "b1"))
_SMALL = 1e-8  # |exponent| below which (n^e - 1)/e is taken from its series

_BOUND = ("keeps the exponent at the paper's sign and 0.02 or more from 0, where the term "
          "would become a pure power law in N; Li et al.'s form reaches that limit only as its "
          "coefficient and offset run to ±infinity (a runaway valley), and on small models "
          "alone the limit extrapolates worse")


def _stretch(xp, e, ln_n):
    """(n^e − 1)/e, continuous through e = 0 (where it is ln n)."""
    small = xp.abs(e) < _SMALL
    safe = xp.where(small, 1.0, e)
    return xp.where(small, ln_n * (1.0 + 0.5 * e * ln_n), xp.expm1(safe * ln_n) / safe)


def _log_loss(p, x):
    """log L as a log-sum-exp of the D-free term and the D term."""
    xp = xp_of(p, x)
    ln_n = xp.log(x["N"] / N_UNIT)
    t3 = p["c3"] + p["s3"] * _stretch(xp, p["gamma"], ln_n)
    slope = xp.exp(p["c1"] + p["s1"] * _stretch(xp, p["alpha"], ln_n))
    t2 = p["c2"] + p["s2"] * _stretch(xp, p["beta"], ln_n) - slope * xp.log(x["D"])
    return lse2(xp, t2, t3)


def to_paper(params) -> dict:
    """Returns the 9 parameters in Li et al.'s form (a3, gamma, b3, a2, beta, b2, a1, alpha, b1;
    N in parameters): a = s / e · 1e9^(−e), b = c − s / e."""
    out = {}
    for c, s, e, a, b in TERMS:
        ev = np.asarray(params[e], dtype=float)
        out[a] = params[s] / ev * N_UNIT ** (-ev)
        out[b] = params[c] - params[s] / ev
        out[e] = params[e]
    return {k: out[k] for k in ("a3", "gamma", "b3", "a2", "beta", "b2", "a1", "alpha", "b1")}


def from_paper(params) -> dict:
    """Returns Li et al.'s parameters (a3, gamma, b3, ...) in scalefit's: s = a·e·1e9^e and
    c = b + a·1e9^e."""
    out = {}
    for c, s, e, a, b in TERMS:
        scaled = params[a] * N_UNIT ** np.asarray(params[e], dtype=float)
        out[c] = params[b] + scaled
        out[s] = scaled * params[e]
        out[e] = params[e]
    return {k: out[k] for k in ("c3", "s3", "gamma", "c2", "s2", "beta", "c1", "s1", "alpha")}


farseer = Law(
    name="farseer",
    inputs=("N", "D"),
    params=(
        Param("c3", grid=(-3.0, 1.0)),
        Param("s3", grid=(-1.0, 1.0)),
        Param("gamma", lower=0.02, upper=1.0, grid=(0.02, 0.5), why=_BOUND),
        Param("c2", grid=(-5.0, 10.0)),
        Param("s2", grid=(-3.0, 3.0)),
        Param("beta", lower=-1.0, upper=-0.02, grid=(-0.5, -0.02), why=_BOUND),
        Param("c1", grid=(-3.0, 1.0)),
        Param("s1", grid=(-1.0, 1.0)),
        Param("alpha", lower=0.02, upper=1.0, grid=(0.02, 0.5), why=_BOUND),
    ),
    log_loss=_log_loss,
    reference=("Li et al. 2025, Farseer: log G, log B and log A each c + s·((N/1e9)^e − 1)/e "
               "(scalefit.laws.farseer_to_paper gives the paper's a, b); N = non-embedding "
               "parameters; squared log residuals from 4,096 Sobol starts"),
    start="sobol:4096",
    fit_defaults=(("loss", "squared"), ("max_steps", 3000)),
    array_api=True,
)
