"""The over-training and downstream-error laws of Gadre et al. 2024 ("Language models scale
reliably with over-training and on downstream tasks", arXiv:2403.08540).

**Over-training** (the paper's eq. 4). Chinchilla's L(N, D) = E + A·N**(-alpha) + B·D**(-beta)
with one shared exponent alpha = beta, rewritten in the compute C = 6ND and the token
multiplier M = D/N (so N = sqrt(C/(6M)) and D = sqrt(C·M/6)):

    L(C, M) = E + (a·M**eta + b·M**(-eta)) · C**(-eta),
    eta = alpha/2,   a = A·6**eta,   b = B·6**eta    (the paper's a = A·(1/6)**(-eta)).

At a fixed multiplier the reducible loss is a power law in C with the same exponent eta for
every M: over-training only scales it by a·M**eta + b·M**(-eta). ``scalefit.overtraining``
has the conversions, the loss-optimal multiplier M* = (b/a)**(1/(2·eta)) and the over-training
tax.

**Downstream error** (the paper's eq. 5). Top-1 error averaged over tasks, as a function of
the validation loss L:

    Err(L) = epsilon - k·exp(-gamma·L),

epsilon being the error as L grows (chance, roughly), and the error falling exponentially as
the loss falls. The law's input column is ``L`` (the validation loss, in the units of the loss
law it is chained with); its output, the data's ``loss`` column, is the error as a fraction in
(0, 1]. scalefit fits log residuals, so the error must be positive at every fitted point: the
law is NaN where epsilon <= k·exp(-gamma·L), and the fit's solver steps around that region.
"""

from ._chinchilla import lse3
from ._spec import Law, Param, exp_steps
from ._xp import xp_of

_ETA = ("keeps the exponent positive: the optimal multiplier M* = (b/a)**(1/(2·eta)) divides "
        "by eta, and a loss that does not fall with compute is no scaling law")
_EPSILON = ("top-1 error is a fraction, at most 1: give the error column as a fraction, not a "
            "percentage")
_GAMMA = ("keeps the decay rate positive and finite: the error must fall as the loss falls; "
          "a rate outside these bounds means the data barely constrain it")


def _log_loss(p, x):
    """log L for L = E + (a·M**eta + b·M**(-eta))·C**(-eta), as a log-sum-exp of three terms."""
    xp = xp_of(p, x)
    log_c, log_m = xp.log(x["C"]), xp.log(x["M"])
    t1 = xp.log(p["a"]) + p["eta"] * (log_m - log_c)
    t2 = xp.log(p["b"]) - p["eta"] * (log_m + log_c)
    return lse3(xp, t1, t2, xp.log(p["E"]) + xp.zeros_like(t1))


overtraining = Law(
    name="overtraining",
    inputs=("C", "M"),
    params=(
        Param("E", log=True, grid=exp_steps(-1, 1, 0.5)),
        Param("a", log=True, grid=exp_steps(0, 20, 5)),
        Param("b", log=True, grid=exp_steps(0, 20, 5)),
        Param("eta", lower=0.005, upper=2.0, grid=(0.05, 0.15, 0.3, 0.6), why=_ETA),
    ),
    log_loss=_log_loss,
    reference=("Gadre et al. 2024, Language models scale reliably with over-training and on "
               "downstream tasks, eq. 4: L(C, M) = E + (a*M**eta + b*M**-eta) * C**-eta, "
               "C = 6ND FLOPs and M = D/N tokens per parameter"),
    array_api=True,
)


def _error_log_loss(p, x):
    """log Err for Err = epsilon - k·exp(-gamma·L) = epsilon·(1 - exp(t)),
    t = log(k/epsilon) - gamma·L: log epsilon + log(-expm1(t)), exact for small |t|;
    NaN where t >= 0 (the error would not be positive)."""
    xp = xp_of(p, x)
    log_eps = xp.log(p["epsilon"])
    t = xp.log(p["k"]) - log_eps - p["gamma"] * x["L"]
    return log_eps + xp.log(-xp.expm1(t))


downstream_error = Law(
    name="downstream_error",
    inputs=("L",),
    params=(
        Param("epsilon", log=True, lower=1e-3, upper=1.0, grid=(0.5, 0.75, 0.95),
              why=_EPSILON),
        Param("k", log=True, grid=exp_steps(-1, 7, 2)),
        Param("gamma", log=True, lower=1e-3, upper=100.0, grid=(0.25, 0.5, 1.0, 2.0, 4.0),
              why=_GAMMA),
    ),
    log_loss=_error_log_loss,
    reference=("Gadre et al. 2024, Language models scale reliably with over-training and on "
               "downstream tasks, eq. 5: top-1 error averaged over tasks "
               "Err(L) = epsilon - k*exp(-gamma*L) of the validation loss L (input column L; "
               "the fitted loss column is the error, a fraction)"),
    array_api=True,
)
