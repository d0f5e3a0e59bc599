"""The asymptote law in one input: L(x) = L_inf + (x0 / x)**alpha, x = C, D, N or steps.

Henighan et al. 2020 ("Scaling Laws for Autoregressive Generative Modeling") write the loss
against compute, data or parameters as an irreducible loss plus a reducible power law,
L(x) = L_inf + (x0 / x)**alpha_x; Kim et al. 2025 ("Pre-training under infinite compute")
estimate the asymptote L_inf of such fits (loss against parameters at a fixed data budget)
to compare recipes by the loss they reach with unbounded compute. The law is the power law
plus constant of ``_power`` written with a scale x0 in the units of x instead of a coefficient
A = x0**alpha, so x0 reads as "the x at which the reducible loss is 1 nat" and the inverse
x = x0 * (L - L_inf)**(-1/alpha) is closed form. Pin the asymptote with
``scalefit.fit(..., fix={"L_inf": value})``.
"""

from dataclasses import dataclass

import numpy as np

from ._spec import Law, Param, exp_steps
from ._xp import lse2, xp_of

__all__ = ["asymptote_law", "asymptote_C", "asymptote_D", "asymptote_N", "is_asymptote",
           "inverse"]

PARAMS = ("L_inf", "x0", "alpha")


@dataclass(frozen=True)
class _AsymptoteLogLoss:
    """log(L_inf + (x0/x)**alpha) as a log-sum-exp; equal for equal variables, so
    ``asymptote_law("steps")`` built twice gives equal laws that share one compilation."""

    variable: str

    def __call__(self, p, x):
        xp = xp_of(p, x)
        t1 = p["alpha"] * (xp.log(p["x0"]) - xp.log(x[self.variable]))
        return lse2(xp, t1, xp.log(p["L_inf"]) + xp.zeros_like(t1))


def asymptote_law(variable: str, name: str | None = None) -> Law:
    """Returns the law L = L_inf + (x0 / variable)**alpha over the input column ``variable``.

    Henighan et al. 2020, eq. 1.1 (L(x) = L_inf + (x0/x)**alpha_x); the asymptote L_inf is
    the loss as ``variable`` grows without bound (Kim et al. 2025).

    Args:
        variable: input column, e.g. ``"C"`` (compute), ``"D"`` (tokens), ``"N"``
            (parameters) or ``"step"``.
        name: law name; defaults to ``"asymptote_<variable>"``.
    """
    if not isinstance(variable, str) or not variable.isidentifier():
        raise ValueError(f"asymptote_law: variable must be a column name such as 'D' or 'C', "
                         f"got {variable!r}.")
    return Law(
        name=name or f"asymptote_{variable}",
        inputs=(variable,),
        params=(
            Param("L_inf", log=True, grid=exp_steps(-1, 1, 0.5)),
            Param("x0", log=True, grid=exp_steps(0, 55, 5)),
            Param("alpha", grid=(0.1, 0.25, 0.5, 1, 2)),
        ),
        log_loss=_AsymptoteLogLoss(variable),
        reference=(f"Henighan et al. 2020, asymptote law in {variable}: "
                   f"L = L_inf + (x0/{variable})**alpha"),
        array_api=True,
    )


def is_asymptote(law: Law) -> bool:
    """True for a law built by ``asymptote_law`` (any variable, any name)."""
    return isinstance(law.log_loss, _AsymptoteLogLoss)


def inverse(params, loss) -> np.ndarray:
    """The x at which L_inf + (x0/x)**alpha equals ``loss``: x0 * (loss - L_inf)**(-1/alpha).

    Broadcasts ``params`` values (scalars or arrays of draws) against ``loss``; a loss at or
    below L_inf is never reached, so its x is inf.
    """
    loss = np.asarray(loss, np.float64)
    gap = loss - np.asarray(params["L_inf"], np.float64)
    alpha = np.asarray(params["alpha"], np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        x = np.asarray(params["x0"], np.float64) * np.where(gap > 0, gap, np.nan) ** (-1.0 / alpha)
    return np.where(gap > 0, x, np.inf)


asymptote_C = asymptote_law("C")
asymptote_D = asymptote_law("D")
asymptote_N = asymptote_law("N")
