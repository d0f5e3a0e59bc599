"""Over-training and downstream error, after Gadre et al. 2024 ("Language models scale reliably
with over-training and on downstream tasks", arXiv:2403.08540): pure functions of the laws
``overtraining`` (eq. 4) and ``downstream_error`` (eq. 5) in ``scalefit.laws``.

With C = 6ND the compute and M = D/N the token multiplier (tokens per parameter),

    L(C, M) = E + (a·M**eta + b·M**(-eta)) · C**(-eta)

is Chinchilla's E + A·N**(-alpha) + B·D**(-alpha) (one shared exponent) with eta = alpha/2,
a = A·6**eta and b = B·6**eta. At a fixed budget C the reducible loss L - E is lowest at

    M* = (b/a)**(1/(2·eta))        (the same for every C),

where a·(M*)**eta = b·(M*)**(-eta) = sqrt(a·b). Training at another multiplier M costs

    loss tax     (L(C, M) - E) / (L(C, M*) - E) = cosh(eta·ln(M/M*)) >= 1,
    compute tax  k(M) with L(k·C, M) = L(C, M*):  k = cosh(eta·ln(M/M*))**(1/eta),

the first the factor by which over-training (or under-training) multiplies the reducible loss
at the same compute, the second the compute multiplier that buys the loss back at multiplier
M. Both depend on M only through M/M*.

``chain`` predicts downstream error at (N, D) by feeding a loss law's prediction into an
error law, with a bootstrap band carried through both fits.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from .errors import FitError
from .predict import LEVEL, _positive, band, evaluate, far, loss_draws

__all__ = ["to_cm", "to_nd", "coefficients_cm", "coefficients_nd", "from_chinchilla",
           "to_chinchilla", "optimal_multiplier", "loss_tax", "compute_tax", "chain"]

# ---- (N, D) <-> (C, M) ----


def to_cm(N, D) -> tuple[np.ndarray, np.ndarray]:
    """Returns the compute C = 6·N·D (FLOPs) and token multiplier M = D/N of N parameters
    trained on D tokens.

    Raises:
        ValueError: N or D not positive and finite.
    """
    N, D = _positive("N", N), _positive("D", D)
    return 6.0 * N * D, D / N


def to_nd(C, M) -> tuple[np.ndarray, np.ndarray]:
    """Returns the parameters N = sqrt(C/(6M)) and tokens D = sqrt(C·M/6) of a run of compute
    C (FLOPs) at token multiplier M = D/N; inverse of ``to_cm``.

    Raises:
        ValueError: C or M not positive and finite.
    """
    C, M = _positive("C (compute)", C), _positive("M (tokens per parameter)", M)
    return np.sqrt(C / (6.0 * M)), np.sqrt(C * M / 6.0)


# ---- coefficients: Chinchilla's (A, B, alpha) <-> the paper's (a, b, eta) ----


def coefficients_cm(A, B, alpha) -> tuple:
    """Returns the over-training law's (a, b, eta) of Chinchilla's coefficients A, B and the
    exponent alpha shared by N and D (Gadre et al. 2024, eq. 4): eta = alpha/2, a = A·6**eta,
    b = B·6**eta. Arrays (bootstrap draws, say) broadcast.

    Raises:
        ValueError: A, B or alpha not positive and finite.
    """
    A, B = _positive("A", A), _positive("B", B)
    eta = _positive("alpha", alpha) / 2.0
    scale = 6.0 ** eta
    return _out(A * scale), _out(B * scale), _out(eta)


def coefficients_nd(a, b, eta) -> tuple:
    """Returns Chinchilla's (A, B, alpha) of the over-training law's a, b, eta: the inverse of
    ``coefficients_cm`` (alpha = beta = 2·eta, A = a·6**(-eta), B = b·6**(-eta)).

    Raises:
        ValueError: a, b or eta not positive and finite.
    """
    a, b = _positive("a", a), _positive("b", b)
    eta = _positive("eta", eta)
    scale = 6.0 ** -eta
    return _out(a * scale), _out(b * scale), _out(2.0 * eta)


def from_chinchilla(params: Mapping[str, float], rtol: float = 1e-9) -> dict:
    """Returns the ``overtraining`` law's parameters (E, a, b, eta) of a Chinchilla fit's
    (E, A, B, alpha, beta) whose exponents are equal (fit Chinchilla with
    ``tie={"beta": "alpha"}``).

    Raises:
        ValueError: a parameter is missing, or beta differs from alpha by more than ``rtol``
            (the rewrite in C and M needs one shared exponent).
    """
    missing = [k for k in ("E", "A", "B", "alpha") if k not in params]
    if missing:
        raise ValueError(f"params lacks {', '.join(missing)}; give Chinchilla's E, A, B, alpha "
                         "(and beta equal to alpha).")
    alpha = params["alpha"]
    beta = params.get("beta", alpha)
    if not np.allclose(beta, alpha, rtol=rtol, atol=0.0):
        raise ValueError(f"beta = {beta} differs from alpha = {alpha}: the over-training law "
                         "needs one shared exponent. Refit Chinchilla with "
                         "tie={'beta': 'alpha'}.")
    a, b, eta = coefficients_cm(params["A"], params["B"], alpha)
    return {"E": _out(_positive("E", params["E"])), "a": a, "b": b, "eta": eta}


def to_chinchilla(params: Mapping[str, float]) -> dict:
    """Returns Chinchilla's (E, A, B, alpha, beta), beta = alpha, of the ``overtraining`` law's
    (E, a, b, eta): the same loss surface written in N and D.

    Raises:
        ValueError: a parameter is missing or not positive.
    """
    _needs(params, "overtraining law's")
    if "E" not in params:
        raise ValueError("params lacks E; give the overtraining law's E, a, b, eta "
                         "(e.g. fit.params of an overtraining fit).")
    A, B, alpha = coefficients_nd(params["a"], params["b"], params["eta"])
    return {"E": _out(_positive("E", params["E"])), "A": A, "B": B, "alpha": alpha,
            "beta": alpha}


# ---- the loss-optimal multiplier and the over-training tax ----


def optimal_multiplier(params: Mapping[str, float]):
    """Returns M* = (b/a)**(1/(2·eta)), the token multiplier D/N of lowest loss at any fixed
    compute under the ``overtraining`` law (the same for every C). Arrays of draws broadcast.

    Raises:
        ValueError: a, b or eta missing or not positive.
    """
    a, b, eta = _needs(params, "overtraining law's")
    return _out(np.exp((np.log(b) - np.log(a)) / (2.0 * eta)))


def loss_tax(params: Mapping[str, float], M):
    """Returns the over-training loss tax at multiplier M: the reducible loss L - E at M over
    that at M*, at the same compute, (a·M**eta + b·M**(-eta)) / (2·sqrt(a·b))
    = cosh(eta·ln(M/M*)); 1 at M*, above 1 on either side, independent of C.

    Raises:
        ValueError: a parameter missing or not positive; M not positive and finite.
    """
    _, _, eta = _needs(params, "overtraining law's")
    log_ratio = np.log(_positive("M (tokens per parameter)", M)) - np.log(
        optimal_multiplier(params))
    return _out(np.cosh(eta * log_ratio))


def compute_tax(params: Mapping[str, float], M):
    """Returns the over-training compute tax at multiplier M: the factor k by which compute
    must grow at M to reach the loss of M* at compute C, L(k·C, M) = L(C, M*):
    k = cosh(eta·ln(M/M*))**(1/eta) = loss_tax**(1/eta); independent of C.

    Raises:
        ValueError: a parameter missing or not positive; M not positive and finite.
    """
    _, _, eta = _needs(params, "overtraining law's")
    return _out(loss_tax(params, M) ** (1.0 / eta))


# ---- chaining: (N, D) -> loss -> downstream error ----


def chain(loss_fit, error_fit, N, D, level: float = LEVEL):
    """Returns the downstream error predicted at N parameters trained on D tokens, by feeding
    the loss that ``loss_fit`` predicts there into ``error_fit`` (Gadre et al. 2024, sec. 2:
    (N, D) -> validation loss by eq. 4 -> average top-1 error by eq. 5).

    Args:
        loss_fit: a fit (``scalefit.Fit``, fresh or loaded) of a loss law whose inputs are
            among N, D, C = 6ND and M = D/N (``overtraining``, ``chinchilla``, ``power_C``...).
        error_fit: a fit of a law with one input, the loss (``downstream_error``), fitted to
            losses in the units ``loss_fit`` predicts.
        N, D: parameters and tokens, positive; arrays broadcast.
        level: the band's level, between 0 and 1.

    Returns:
        A pandas DataFrame, one row per point, with columns N, D, loss (predicted validation
        loss) and error (predicted error; NaN where the error law gives no positive error,
        i.e. for downstream_error a loss below ln(k/epsilon)/gamma). When both fits have a bootstrap, also loss_lower,
        loss_upper, lower and upper: the ``level`` percentile bands of the loss and of the
        error over paired draws (draw i of one fit with draw i of the other, cut to the
        shorter); a draw whose error is not positive (the error law is undefined there) is
        left out of the error band. A point more than ``scalefit.predict.FAR`` decades beyond
        either fit's data raises an ``ExtrapolationWarning``.

    Raises:
        ValueError: N or D not positive; a loss law with an input other than N, D, C, M; an
            error law with more than one input; ``level`` not in (0, 1).
        FitError: exactly one of the fits has a bootstrap (a band needs both).
    """
    import pandas as pd

    N, D = np.broadcast_arrays(_positive("N", N), _positive("D", D))
    C, M = to_cm(N, D)
    have = {"N": N, "D": D, "C": C, "M": M}
    loss_law, error_law = loss_fit.law, error_fit.law
    other = [n for n in loss_law.inputs if n not in have]
    if other:
        raise ValueError(f"loss_fit's law {loss_law.name} reads {', '.join(loss_law.inputs)}; "
                         "chain feeds it only N, D, C = 6ND and M = D/N. Give a fit of a loss "
                         "law of those (overtraining, chinchilla, power_C, ...).")
    if len(error_law.inputs) != 1:
        raise ValueError(f"error_fit's law {error_law.name} reads "
                         f"{', '.join(error_law.inputs)}; chain needs a law of the loss alone "
                         "(downstream_error).")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level}.")
    boots = [f.resamples is not None for f in (loss_fit, error_fit)]
    if boots[0] != boots[1]:
        lacking = "loss_fit" if not boots[0] else "error_fit"
        raise FitError(f"{lacking} has no bootstrap, so the band would carry only the other "
                       f"fit's uncertainty; call {lacking}.bootstrap(n) (or fit with "
                       "bootstrap=n) first, or chain two fits without one for the point "
                       "prediction alone.")
    x = {n: have[n] for n in loss_law.inputs}
    loss = evaluate(loss_law, loss_fit.params, x)
    (l_in,) = error_law.inputs
    far(loss_fit, x, "a chained prediction's (N, D)")
    far(error_fit, {l_in: loss}, "a chained prediction's loss")
    err = evaluate(error_law, error_fit.params, {l_in: loss})
    out = {"N": np.ravel(N), "D": np.ravel(D), "loss": np.ravel(loss), "error": np.ravel(err)}
    if boots[0]:
        draws = [f.resamples.draws(f.law.param_names) for f in (loss_fit, error_fit)]
        n = min(len(next(iter(d.values()))) for d in draws)
        if n < 2:
            raise FitError(f"only {n} converged bootstrap draw(s) to pair; refit with a larger "
                           "bootstrap.")
        draws = [{k: v[:n] for k, v in d.items()} for d in draws]
        loss_d = loss_draws(loss_law, draws[0], x)
        err_d = loss_draws(error_law, draws[1], {l_in: loss_d}, per_draw=True)
        lo, hi = band(loss_d, level)
        elo, ehi = band(np.where(err_d > 0, err_d, np.nan), level)
        out.update({"loss_lower": np.ravel(lo), "loss_upper": np.ravel(hi),
                    "lower": np.ravel(elo), "upper": np.ravel(ehi)})
    return pd.DataFrame(out)


# ---- helpers ----


def _needs(params: Mapping[str, float], whose: str):
    missing = [k for k in ("a", "b", "eta") if k not in params]
    if missing:
        raise ValueError(f"params lacks {', '.join(missing)}; give the {whose} E, a, b, eta "
                         "(e.g. fit.params of an overtraining fit).")
    return (_positive("a", params["a"]), _positive("b", params["b"]),
            _positive("eta", params["eta"]))


def _out(a):
    """A 0-d array as a float, other arrays as they are."""
    a = np.asarray(a, np.float64)
    return float(a) if a.ndim == 0 else a
