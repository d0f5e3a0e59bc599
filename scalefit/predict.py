"""Predictions as pure functions of a law and its parameters: loss, allocation, tokens.

``Fit.predict``, ``Fit.optimal`` and ``Fit.tokens`` delegate here; nothing here fits.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from .laws._spec import Law

N_RANGE = (1e6, 1e15)        # default search range of N for a numeric compute-optimal allocation
D_MAX = 1e40                 # tokens searched up to in the tokens-to-target query


@functools.lru_cache(maxsize=32)
def _loss_fn(law: Law):
    import jax

    return jax.jit(law.loss_fn())


def predict_loss(law: Law, params: Mapping[str, float], inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """Returns the predicted loss (the law's units, e.g. nats/token) at each point of ``inputs``.

    Raises:
        ValueError: an input the law needs is missing, or an input is not positive and finite.
    """
    missing = [n for n in law.inputs if n not in inputs]
    if missing:
        raise ValueError(f"{law.name} needs inputs {', '.join(law.inputs)}; missing "
                         f"{', '.join(missing)}.")
    arrays = np.broadcast_arrays(*(_positive(f"input {n!r}", inputs[n]) for n in law.inputs))
    import jax

    with jax.enable_x64(True):
        p = {k: np.float64(v) for k, v in params.items()}
        out = _loss_fn(law)(p, dict(zip(law.inputs, arrays)))
        return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class Allocation:
    """Compute-optimal model size and tokens for budgets C (FLOPs) under C = 6ND.

    Attributes are floats for a scalar budget, arrays otherwise: C (FLOPs), N (parameters),
    D (tokens), loss (predicted at (N, D)).
    """

    C: np.ndarray | float
    N: np.ndarray | float
    D: np.ndarray | float
    loss: np.ndarray | float

    @property
    def tokens_per_param(self):
        return self.D / self.N

    def to_frame(self):
        """Returns a pandas DataFrame with columns C, N, D, D/N, loss."""
        import pandas as pd

        return pd.DataFrame({"C": np.atleast_1d(self.C), "N": np.atleast_1d(self.N),
                             "D": np.atleast_1d(self.D),
                             "D/N": np.atleast_1d(self.tokens_per_param),
                             "loss": np.atleast_1d(self.loss)})


def _needs_nd(law: Law, what: str) -> None:
    if not {"N", "D"} <= set(law.inputs) or len(law.inputs) != 2:
        raise ValueError(f"{law.name} is a law of {', '.join(law.inputs)}; {what} needs a law "
                         "of exactly N and D (e.g. chinchilla or kaplan).")


def _positive(name: str, values) -> np.ndarray:
    """Returns ``values`` as float64; ValueError naming the first value not positive and finite."""
    a = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(a) & (a > 0)
    if not np.all(ok):
        raise ValueError(f"{name} must be positive and finite; got {a[~ok].ravel()[0]}.")
    return a


def optimal_allocation(law: Law, params: Mapping[str, float], compute,
                       n_range: tuple[float, float] = N_RANGE) -> Allocation:
    """Returns the (N, D) minimising the predicted loss for each budget C = 6ND (FLOPs).

    Closed form where the law gives one (Chinchilla); otherwise a search over log N within
    ``n_range``: a 2,001-point grid, then golden-section refinement around the best point.

    Raises:
        ValueError: the law is not a law of N and D; a budget is not positive; or the numeric
            optimum sits on an end of ``n_range`` (widen it).
    """
    _needs_nd(law, "compute-optimal allocation")
    C = _positive("compute", compute)
    if law.optimal is not None:
        N, D = law.optimal(dict(params), C)
    else:
        N = _search_n(law, params, np.atleast_1d(C), n_range).reshape(C.shape)
        D = C / (6.0 * N)
    loss = predict_loss(law, params, {"N": N, "D": D})
    scalar = np.ndim(compute) == 0
    as_out = (lambda a: float(np.asarray(a))) if scalar else np.asarray
    return Allocation(as_out(C), as_out(N), as_out(D), as_out(loss))


def _search_n(law, params, C, n_range):
    lo, hi = np.log(n_range[0]), np.log(n_range[1])
    grid = np.linspace(lo, hi, 2001)
    logn = np.broadcast_to(grid, (len(C), len(grid)))
    L = predict_loss(law, params, {"N": np.exp(logn), "D": C[:, None] / (6 * np.exp(logn))})
    k = np.nanargmin(L, axis=1)
    if np.any((k == 0) | (k == len(grid) - 1)):
        bad = C[(k == 0) | (k == len(grid) - 1)][0]
        raise ValueError(f"At C = {bad:.3g} the loss of {law.name} is lowest at an end of the "
                         f"N range {n_range[0]:.3g}..{n_range[1]:.3g}; pass a wider n_range.")
    a, b = grid[k - 1], grid[k + 1]
    g = (np.sqrt(5) - 1) / 2

    def loss_at(x):
        return predict_loss(law, params, {"N": np.exp(x), "D": C / (6 * np.exp(x))})

    for _ in range(80):                     # golden section: bracket shrinks to 1e-16 of its size
        x1, x2 = b - g * (b - a), a + g * (b - a)
        left = loss_at(x1) <= loss_at(x2)
        a, b = np.where(left, a, x1), np.where(left, x2, b)
    return np.exp(0.5 * (a + b))


def tokens_for_loss(law: Law, params: Mapping[str, float], target, N):
    """Returns the tokens D at which a model of N parameters reaches loss ``target``.

    Solves L(N, D) = target for D by bisection on log D (L falls as D grows).

    Raises:
        ValueError: the law has no D input; N or target not positive; the target is at or
            below the law's floor at that N (it is never reached); or L(N, D) = target has no
            solution with D >= 1.
    """
    if "D" not in law.inputs:
        raise ValueError(f"{law.name} is a law of {', '.join(law.inputs)}; the tokens query "
                         "needs a law with a D input.")
    target, N = np.broadcast_arrays(_positive("target loss", target), _positive("N", N))
    inputs = {"N": N} if "N" in law.inputs else {}
    floor = np.broadcast_to(law.floor(dict(params), N) if law.floor is not None
                            else predict_loss(law, params, {**inputs, "D": np.full(N.shape, D_MAX)}),
                            N.shape)
    if np.any(target <= floor):
        i = np.flatnonzero(target.ravel() <= floor.ravel())[0]
        raise ValueError(f"Target loss {target.ravel()[i]:.6g} is at or below {law.name}'s floor "
                         f"{floor.ravel()[i]:.6g} at N = {N.ravel()[i]:.4g}: "
                         "no amount of data reaches it. Raise the target or use a larger N.")
    lo, hi = np.zeros(N.shape), np.full(N.shape, np.log(D_MAX))
    if np.any(predict_loss(law, params, {**inputs, "D": np.ones(N.shape)}) < target):
        raise ValueError(f"Target loss is above the predicted loss at D = 1 token: "
                         f"{law.name} reaches it with less than one token.")
    for _ in range(100):                    # log D bracket of 92 shrinks below 1e-14
        mid = 0.5 * (lo + hi)
        above = predict_loss(law, params, {**inputs, "D": np.exp(mid)}) > target
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    D = np.exp(0.5 * (lo + hi))
    return float(D) if D.ndim == 0 else D
