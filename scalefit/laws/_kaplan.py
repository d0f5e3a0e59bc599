"""Kaplan et al. 2020: L(N, D) = [(N_c/N)**(alpha_N/alpha_D) + D_c/D]**alpha_D."""

import numpy as np

from ._spec import Law, Param, exp_steps
from ._xp import lse2, xp_of


def _log_loss(p, x):
    """log L = alpha_D * log((N_c/N)**(alpha_N/alpha_D) + D_c/D), as a log-sum-exp."""
    xp = xp_of(p, x)
    t1 = p["alpha_N"] / p["alpha_D"] * (xp.log(p["N_c"]) - xp.log(x["N"]))
    t2 = xp.log(p["D_c"]) - xp.log(x["D"])
    return p["alpha_D"] * lse2(xp, t1, t2)


def _floor(p, N):
    """Loss as D grows without bound: (N_c/N)**alpha_N."""
    return (p["N_c"] / np.asarray(N, dtype=float)) ** p["alpha_N"]


kaplan = Law(
    name="kaplan",
    inputs=("N", "D"),
    params=(
        Param("N_c", log=True, grid=exp_steps(20, 40, 5)),
        Param("D_c", log=True, grid=exp_steps(20, 40, 5)),
        Param("alpha_N", lower=0.0, grid=(0.03, 0.08, 0.2, 0.5)),
        Param("alpha_D", lower=1e-4, grid=(0.03, 0.1, 0.3, 0.6)),
    ),
    log_loss=_log_loss,
    reference="Kaplan et al. 2020, eq. 1.5 (N_c ~ 8.8e13, D_c ~ 5.4e13, alpha_N 0.076, alpha_D 0.095)",
    floor=_floor,
    array_api=True,
)
