"""Kaplan's law with an entropy term (Brandfonbrener et al. 2024, eq. 1):
L(N, D) = [(A/N)**(alpha/beta) + B/D]**beta + E.

Brandfonbrener, Anand, Vyas, Malach, Kakade 2024, "Loss-to-Loss Prediction: Scaling Laws for
All Datasets", fit this form per training set: it is the form whose irreducible E and reducible
part ``L - E`` the loss-to-loss maps (``scalefit.loss_to_loss``) relate. A/N**... is written as
Kaplan et al. 2020 write it (A ~ N_c, B ~ D_c, alpha ~ alpha_N, beta ~ alpha_D), plus E.
"""

import numpy as np

from ._spec import Law, Param, exp_steps
from ._xp import lse2, xp_of


def _log_loss(p, x):
    """log L = log(exp(beta * log((A/N)**(alpha/beta) + B/D)) + E), two nested log-sum-exps."""
    xp = xp_of(p, x)
    t1 = p["alpha"] / p["beta"] * (xp.log(p["A"]) - xp.log(x["N"]))
    t2 = xp.log(p["B"]) - xp.log(x["D"])
    reducible = p["beta"] * lse2(xp, t1, t2)
    return lse2(xp, reducible, xp.log(p["E"]) + xp.zeros_like(reducible))


def _optimal(p, C):
    """Compute-optimal (N, D) under C = 6ND, closed form: minimising (A/N)**(a/b) + 6BN/C over
    N gives N* = [(a/b) A**(a/b) C / (6B)]**(b/(a+b)); E does not move it."""
    a, b = p["alpha"], p["beta"]
    C = np.asarray(C, dtype=float)
    N = ((a / b) * p["A"] ** (a / b) * C / (6.0 * p["B"])) ** (b / (a + b))
    return N, C / (6.0 * N)


def _floor(p, N):
    """Loss as D grows without bound: E + (A/N)**alpha."""
    return p["E"] + (p["A"] / np.asarray(N, dtype=float)) ** p["alpha"]


kaplan_e = Law(
    name="kaplan_e",
    inputs=("N", "D"),
    params=(
        Param("E", log=True, grid=exp_steps(-1, 1, 0.5)),
        Param("A", log=True, grid=exp_steps(10, 40, 5)),
        Param("B", log=True, grid=exp_steps(10, 40, 5)),
        Param("alpha", lower=1e-4, grid=(0.05, 0.15, 0.4, 0.8),
              why="alpha/beta is the exponent of A/N; alpha = 0 would make the N term a "
                  "constant that trades off against B and E without end"),
        Param("beta", lower=1e-4, grid=(0.05, 0.15, 0.4, 0.8),
              why="beta divides alpha in the exponent alpha/beta, so it must stay away from 0"),
    ),
    log_loss=_log_loss,
    reference="Brandfonbrener et al. 2024, Loss-to-Loss Prediction, eq. 1 (Kaplan et al. 2020 "
              "eq. 1.5 plus an irreducible E)",
    optimal=_optimal,
    floor=_floor,
    array_api=True,
)
