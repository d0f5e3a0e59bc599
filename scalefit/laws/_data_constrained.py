"""The data-constrained scaling law, Muennighoff et al. 2023 ("Scaling Data-Constrained Language
Models", eq. 5 and App. A):

    L(N, D, U) = E + A / N'**alpha + B / D'**beta

where repeated tokens and excess parameters are worth less than new ones. With U_D the unique
tokens seen, R_D = D/U_D - 1 the repetitions, and R_D* the repetitions at which repeated data
has lost 1 - 1/e of its value,

    D' = U_D + U_D · R_D* · (1 - exp(-R_D / R_D*));

and likewise for parameters, with U_N the parameters that are still "unique": the
compute-optimal model size (Chinchilla's rule under the law's own A, B, alpha, beta) for U_D
tokens, or N if smaller,

    U_N = min(N, G · (G · U_D)**(beta/alpha)),   G = (alpha·A / (beta·B))**(1/(alpha+beta)),
    R_N = N/U_N - 1,   N' = U_N + U_N · R_N* · (1 - exp(-R_N / R_N*)).

This is the authors' definition as published with their fit (``scaling_law`` in the
datablations repository's README and ``utils/parametric_fit.ipynb``). The input ``U`` is the
unique tokens available; a run of D < U tokens sees only D of them, so U_D = min(U, D) (the
README's allocation search passes the same ``min(U, D)``; its runs all have U <= D).
``scalefit.constrained`` has the paper's objective, two-stage fit and the capped
compute-optimal allocation.
"""

from ._chinchilla import lse3
from ._spec import Law, Param, exp_steps
from ._xp import xp_of

_EXPONENT = ("keeps the exponent positive: U_N divides by alpha, and a loss that does not fall "
             "with N or D is no scaling law")
_RIDGE = ("keeps R* positive and finite: as R* grows, repeated tokens (or excess parameters) "
          "count as new ones, as R* shrinks they count for nothing; the data pin R_D* and "
          "R_N* only loosely (a flat ridge of the objective), and outside these bounds the "
          "fit is reaching a limit rather than a value")


def unique_params(xp, p, N, U_D):
    """U_N = min(N, G·(G·U_D)**(beta/alpha)): the compute-optimal model size for U_D tokens
    under the law's own Chinchilla coefficients (Muennighoff et al. 2023, eq. 5), capped at N."""
    a, b = p["alpha"], p["beta"]
    log_g = (xp.log(a * p["A"]) - xp.log(b * p["B"])) / (a + b)
    return xp.minimum(N, xp.exp(log_g + (b / a) * (log_g + xp.log(U_D))))


def log_effective(xp, U, R, R_star):
    """log(U + U·R*·(1 - exp(-R/R*))), written with log1p and expm1 so small R stay exact."""
    return xp.log(U) + xp.log1p(-R_star * xp.expm1(-R / R_star))


def _log_loss(p, x):
    """log L as a log-sum-exp of A/N'**alpha, B/D'**beta and E."""
    xp = xp_of(p, x)
    N, D = x["N"], x["D"]
    U_D = xp.minimum(x["U"], D)
    U_N = unique_params(xp, p, N, U_D)
    R_D = xp.maximum(D / U_D - 1.0, 0.0)
    R_N = xp.maximum(N / U_N - 1.0, 0.0)
    t1 = xp.log(p["A"]) - p["alpha"] * log_effective(xp, U_N, R_N, p["R_N"])
    t2 = xp.log(p["B"]) - p["beta"] * log_effective(xp, U_D, R_D, p["R_D"])
    return lse3(xp, t1, t2, xp.log(p["E"]) + xp.zeros_like(t1))


data_constrained = Law(
    name="data_constrained",
    inputs=("N", "D", "U"),
    params=(
        Param("E", log=True, grid=exp_steps(-1, 1, 0.5)),
        Param("A", log=True, grid=exp_steps(0, 25, 5)),
        Param("B", log=True, grid=exp_steps(0, 25, 5)),
        Param("alpha", lower=0.01, grid=(0.05, 1.0), why=_EXPONENT),
        Param("beta", lower=0.01, grid=(0.05, 1.0), why=_EXPONENT),
        Param("R_D", log=True, lower=0.01, upper=1e4, grid=(1.0, 100.0), why=_RIDGE),
        Param("R_N", log=True, lower=0.01, upper=1e4, grid=(1.0, 100.0), why=_RIDGE),
    ),
    log_loss=_log_loss,
    reference=("Muennighoff et al. 2023, Scaling Data-Constrained Language Models: "
               "E + A/N'**alpha + B/D'**beta with effective data D' and parameters N' under "
               "repetition (inputs N, D and U, the unique tokens); Huber (delta 1e-3) on log "
               "residuals"),
    start="sobol:4096",
    array_api=True,
)
