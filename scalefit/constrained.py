"""The data-constrained scaling law of Muennighoff et al. 2023 ("Scaling Data-Constrained
Language Models"), as the paper fits and uses it: pure functions of parameters and arrays.

The law itself is ``scalefit.laws._data_constrained.data_constrained`` (inputs N, D and U, the
unique tokens; parameters E, A, B, alpha, beta, R_D, R_N, where R_D and R_N are the paper's
R_D* and R_N*). Fit it jointly with ``scalefit.fit(df, law=data_constrained,
columns={"U": "unique_tokens"}, tie={"beta": "alpha"})``. Here:

- ``paper_objective``: the authors' objective, sum_i Huber_delta(LSE_i - log L_i) with
  delta = 1e-3, LSE the log-sum-exp of the law's three terms; a sum over points, not a mean
  (torch's ``huber_loss(..., reduction='none').sum()``). This is the same sum scalefit's
  engine minimises with ``loss="huber", delta=1e-3`` and unit weights.
- ``two_stage_fit``: the paper's procedure. Stage 1 fits Chinchilla's law with beta tied to
  alpha to single-epoch runs (the paper used Chinchilla-style isoFLOP curves on C4, giving
  ``PUBLISHED``'s E, A, B, alpha = beta); stage 2 holds those fixed and fits R_D* and R_N* to
  the repeated-data runs from a 4 x 4 grid on [0, 20] (``PAPER_GRID``; the grid's 0 gives the
  paper's code NaN, so three values remain). Both stages run on scalefit's engine.
- ``stage_one``: stage 1 with scalefit's engine and the paper's grid of starts.
- ``optimal_allocation``: compute-optimal (N, D) under C = 6ND when at most U unique tokens
  exist, by a numeric search over N (the paper has no closed form).
- ``ridge_profile``: the objective profiled over R_D* (R_N* refitted at each value), which
  shows how loosely the runs pin R_D*.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .laws._data_constrained import data_constrained
from .predict import Allocation, evaluate

__all__ = ["PUBLISHED", "PAPER_COEFFICIENTS", "PAPER_DELTA", "PAPER_GRID", "STAGE_ONE",
           "from_paper", "to_paper", "predict", "paper_objective", "stage_one", "stage_two",
           "two_stage_fit", "TwoStageFit", "optimal_allocation", "ridge_profile"]

#: The paper's fit as printed (a, b, e, alpha, beta, R_D*, R_N*), with A = e**a, B = e**b,
#: E = e**e: stage 1 on C4 isoFLOP curves, stage 2 on the 182 runs.
PAPER_COEFFICIENTS = (6.255414, 7.3049974, 0.6254804, 0.3526596, 0.3526596, 15.387756, 5.309743)
PAPER_DELTA = 1e-3
#: Stage 2's starts for each of R_D* and R_N*: numpy.linspace(0, 20, 4) without the 0, which
#: makes the paper's objective NaN (0/0 in R/R*) and so never wins its grid.
PAPER_GRID = (20.0 / 3.0, 40.0 / 3.0, 20.0)
#: Stage 1's grid (the paper's cell fitting the C4 isoFLOP points, beta tied to alpha):
#: a, b in linspace(0, 25, 5), e in linspace(-1, 1, 4), alpha in linspace(0, 2, 4).
STAGE_ONE = {"a": tuple(np.linspace(0, 25, 5)), "b": tuple(np.linspace(0, 25, 5)),
             "e": tuple(np.linspace(-1, 1, 4)), "alpha": tuple(np.linspace(0, 2, 4))}

_STAGE_ONE_NAMES = ("E", "A", "B", "alpha", "beta")


def from_paper(a: float, b: float, e: float, alpha: float, beta: float, R_D: float,
               R_N: float) -> dict[str, float]:
    """Returns the law's parameters from the paper's (a, b, e, alpha, beta, R_D*, R_N*):
    A = exp(a), B = exp(b), E = exp(e)."""
    return {"E": math.exp(e), "A": math.exp(a), "B": math.exp(b), "alpha": float(alpha),
            "beta": float(beta), "R_D": float(R_D), "R_N": float(R_N)}


def to_paper(params: Mapping[str, float]) -> dict[str, float]:
    """Returns the paper's (a, b, e, alpha, beta, R_D*, R_N*) from the law's parameters."""
    _check_params(params)
    return {"a": math.log(params["A"]), "b": math.log(params["B"]), "e": math.log(params["E"]),
            "alpha": float(params["alpha"]), "beta": float(params["beta"]),
            "R_D": float(params["R_D"]), "R_N": float(params["R_N"])}


PUBLISHED = from_paper(*PAPER_COEFFICIENTS)


def _check_params(params: Mapping[str, float], names=data_constrained.param_names) -> None:
    missing = [n for n in names if n not in params]
    if missing:
        raise ValueError(f"params lacks {', '.join(missing)}; give every parameter of the "
                         f"data-constrained law ({', '.join(names)}), e.g. "
                         "scalefit.constrained.PUBLISHED.")
    for name in names:
        p = data_constrained.param(name)
        if not p.admits(float(params[name])):
            raise ValueError(f"params[{name!r}] = {params[name]} is outside its domain "
                             f"(positive: {p.log}, bounds [{p.lower}, {p.upper}]).")


def _arrays(**named) -> dict[str, np.ndarray]:
    """The named inputs as 1-D float64 arrays of one length, positive and finite;
    ValueError naming the first that is not."""
    out = {k: np.atleast_1d(np.asarray(v, dtype=np.float64)) for k, v in named.items()}
    sizes = {k: a.shape for k, a in out.items()}
    if len(set(sizes.values())) != 1 or any(len(s) != 1 for s in sizes.values()):
        raise ValueError("inputs must be 1-D arrays of one length; got shapes "
                         + ", ".join(f"{k} {s}" for k, s in sizes.items()) + ".")
    for name, a in out.items():
        bad = ~(np.isfinite(a) & (a > 0))
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise ValueError(f"{name}[{i}] = {a[i]} must be positive and finite; drop or fix "
                             "that run.")
    if "U" in out and "D" in out:
        over = out["U"] > out["D"] * (1 + 1e-12)
        if over.any():
            i = int(np.flatnonzero(over)[0])
            raise ValueError(f"U[{i}] = {out['U'][i]:.6g} unique tokens exceed D[{i}] = "
                             f"{out['D'][i]:.6g} trained tokens; U is the unique tokens the run "
                             "saw, at most D (the law reads min(U, D) when predicting).")
    return out


def predict(params: Mapping[str, float], N, D, U) -> np.ndarray:
    """The law's loss at (N, D, U): U the unique tokens available (a run sees min(U, D))."""
    _check_params(params)
    x = {k: np.asarray(v, dtype=np.float64) for k, v in (("N", N), ("D", D), ("U", U))}
    for name, a in x.items():
        if not np.all(np.isfinite(a) & (a > 0)):
            raise ValueError(f"{name} must be positive and finite; got "
                             f"{a[~(np.isfinite(a) & (a > 0))].ravel()[0]}.")
    x = dict(zip(x, np.broadcast_arrays(*x.values())))
    return evaluate(data_constrained, params, x)


def paper_objective(params: Mapping[str, float], N, D, U, loss,
                    delta: float = PAPER_DELTA) -> float:
    """The paper's objective: sum_i Huber_delta(log L_pred_i - log L_i), summed (not
    averaged), Huber_delta(r) = r**2/2 for |r| < delta, else delta·(|r| - delta/2).

    Raises:
        ValueError: a missing parameter, or an input not positive and finite, arrays of
            different lengths, or U above D.
    """
    _check_params(params)
    x = _arrays(N=N, D=D, U=U, loss=loss)
    log_pred = np.log(evaluate(data_constrained, params, {k: x[k] for k in ("N", "D", "U")}))
    return _huber_sum(log_pred - np.log(x["loss"]), delta)


def _huber_sum(r: np.ndarray, delta: float) -> float:
    if not (math.isfinite(delta) and delta > 0):
        raise ValueError(f"delta must be positive and finite, got {delta}.")
    a = np.abs(r)
    return float(np.sum(np.where(a < delta, 0.5 * r * r, delta * (a - 0.5 * delta))))


@dataclass(frozen=True)
class TwoStageFit:
    """The paper's two-stage fit.

    Attributes:
        params: every parameter of the law (stage 1's five, stage 2's R_D and R_N).
        objective: the paper's objective at ``params`` (stage 2's summed Huber objective).
        fit: stage 2 as a ``scalefit.Fit`` of the data-constrained law with E, A, B, alpha
            and beta fixed (``fit.bootstrap(n)`` gives intervals for R_D* and R_N*).
        stage1: stage 1 as a ``scalefit.Fit`` of Chinchilla's law, or None when its
            coefficients were given.
    """

    params: Mapping[str, float]
    objective: float
    fit: object
    stage1: object = None

    @property
    def paper(self) -> dict[str, float]:
        """The fit in the paper's coordinates (a, b, e, alpha, beta, R_D*, R_N*)."""
        return to_paper(self.params)


def stage_one(N, D, loss, *, delta: float = PAPER_DELTA, n_solve: int | str = 32):
    """Stage 1 of the paper's fit: Chinchilla's law with beta tied to alpha, Huber (delta
    1e-3) on log residuals, from the paper's grid of starts (``STAGE_ONE``; alpha = 0 is left
    out, a flat law), solved by scalefit's engine. Give single-epoch runs without excess
    parameters (the paper used Chinchilla-style isoFLOP curves on C4).

    Returns:
        The ``scalefit.Fit`` (its params hold E, A, B, alpha and beta = alpha).
    """
    import pandas as pd

    from .api import fit

    x = _arrays(N=N, D=D, loss=loss)
    starts = [{"E": math.exp(e), "A": math.exp(a), "B": math.exp(b), "alpha": al}
              for a in STAGE_ONE["a"] for b in STAGE_ONE["b"] for e in STAGE_ONE["e"]
              for al in STAGE_ONE["alpha"] if al > 0]
    return fit(pd.DataFrame(x), law="chinchilla", tie={"beta": "alpha"}, start=starts,
               delta=delta, n_solve=n_solve)


def stage_two(stage1: Mapping[str, float], N, D, U, loss, *,
              grid: Sequence[float] = PAPER_GRID, delta: float = PAPER_DELTA) -> TwoStageFit:
    """Stage 2 of the paper's fit: E, A, B, alpha, beta held at ``stage1``; R_D* and R_N*
    minimise the paper's objective from every pair of ``grid`` values, each start solved to
    convergence by scalefit's engine (a gradient method, as the paper's L-BFGS), best wins.

    Raises:
        ValueError: ``stage1`` lacks a parameter, a grid value not positive, or bad inputs.
    """
    import pandas as pd

    from .api import fit

    _check_params(stage1, _STAGE_ONE_NAMES)
    grid = [float(g) for g in grid]
    if not grid or not all(data_constrained.param("R_D").admits(g) for g in grid):
        raise ValueError(f"grid must hold R* starts within [0.01, 1e4], got {grid}.")
    x = _arrays(N=N, D=D, U=U, loss=loss)
    fixed = {k: float(stage1[k]) for k in _STAGE_ONE_NAMES}
    result = fit(pd.DataFrame(x), law=data_constrained, fix=fixed, delta=delta,
                 start=[{"R_D": a, "R_N": b} for a in grid for b in grid], n_solve="all")
    return TwoStageFit(params=dict(result.params), objective=float(result.objective),
                       fit=result)


def two_stage_fit(N, D, U, loss, *, stage1: Mapping[str, float] | None = None,
                  single_epoch=None, grid: Sequence[float] = PAPER_GRID,
                  delta: float = PAPER_DELTA) -> TwoStageFit:
    """The paper's two-stage fit (Muennighoff et al. 2023, App. A): stage 1 gives E, A, B and
    alpha = beta, stage 2 fits R_D* and R_N* with those held (``stage_two``).

    Args:
        N, D, U, loss: the runs of stage 2 (parameters, tokens, unique tokens, loss in nats).
        stage1: stage 1's E, A, B, alpha, beta; default ``PUBLISHED``'s (the paper's fit to
            C4 isoFLOP curves, which scalefit does not mirror).
        single_epoch: instead of ``stage1``, (N, D, loss) arrays of single-epoch runs that
            ``stage_one`` fits.
        grid, delta: stage 2's starts and Huber's delta.

    Raises:
        ValueError: both ``stage1`` and ``single_epoch`` given, or bad inputs.
    """
    if stage1 is not None and single_epoch is not None:
        raise ValueError("give stage1 (fixed coefficients) or single_epoch (runs to fit them "
                         "to), not both.")
    first = None
    if single_epoch is not None:
        first = stage_one(*single_epoch, delta=delta)
        stage1 = first.params
    elif stage1 is None:
        stage1 = {k: PUBLISHED[k] for k in _STAGE_ONE_NAMES}
    out = stage_two(stage1, N, D, U, loss, grid=grid, delta=delta)
    return TwoStageFit(params=out.params, objective=out.objective, fit=out.fit, stage1=first)


def _profile_objective(fixed: Mapping[str, float], x: Mapping[str, np.ndarray], delta: float):
    """The paper's objective as a function of log(R_D*), log(R_N*) (missing from ``fixed``)."""
    inputs = {k: x[k] for k in ("N", "D", "U")}
    log_y = np.log(x["loss"])

    def f(u):
        free = [n for n in ("R_D", "R_N") if n not in fixed]
        p = {**fixed, **{n: float(np.exp(v)) for n, v in zip(free, np.atleast_1d(u))}}
        r = np.log(evaluate(data_constrained, p, inputs)) - log_y
        return _huber_sum(r, delta) if np.all(np.isfinite(r)) else np.inf
    return f


def ridge_profile(N, D, U, loss, R_D: Sequence[float], *,
                  params: Mapping[str, float] | None = None,
                  delta: float = PAPER_DELTA):
    """The paper's objective profiled over R_D*: at each value, E, A, B, alpha, beta held at
    ``params`` (default ``PUBLISHED``) and R_N* refitted (bounded scalar search on log R_N*
    from 1e-2 to 1e4). A flat profile means the runs do not pin R_D*.

    Returns:
        A DataFrame with columns R_D, R_N (refitted), objective and rise (objective over the
        profile's minimum, minus 1).
    """
    import pandas as pd
    from scipy.optimize import minimize_scalar

    params = dict(PUBLISHED if params is None else params)
    _check_params(params)
    x = _arrays(N=N, D=D, U=U, loss=loss)
    values = np.atleast_1d(np.asarray(R_D, dtype=np.float64))
    if values.size == 0 or not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f"R_D must hold positive, finite values of R_D*; got {values}.")
    grid = np.log(np.geomspace(1e-2, 1e4, 61))
    rows = []
    for rd in values:
        fixed = {k: params[k] for k in _STAGE_ONE_NAMES} | {"R_D": float(rd)}
        f = _profile_objective(fixed, x, delta)
        coarse = np.array([f(g) for g in grid])
        i = int(np.argmin(coarse))
        lo, hi = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        res = minimize_scalar(f, bounds=(lo, hi), method="bounded", options={"xatol": 1e-10})
        best = (res.x, res.fun) if res.fun <= coarse[i] else (grid[i], coarse[i])
        rows.append({"R_D": float(rd), "R_N": float(np.exp(best[0])),
                     "objective": float(best[1])})
    out = pd.DataFrame(rows)
    out["rise"] = out["objective"] / out["objective"].min() - 1.0
    return out


def optimal_allocation(params: Mapping[str, float], compute, unique_tokens, *,
                       n_range: tuple[float, float] = (1e6, 1e15)) -> Allocation:
    """Compute-optimal model size and tokens for budgets C = 6ND (FLOPs) when at most
    ``unique_tokens`` unique tokens exist (repeated as needed): the N minimising
    L(N, C/(6N), U) (Muennighoff et al. 2023, §5), by a grid of 1,201 sizes over ``n_range``
    refined by a bounded scalar search. The README of the paper's repository searches the
    same loss on a grid around a given (N, D).

    Args:
        params: the law's parameters, e.g. ``PUBLISHED``.
        compute: budgets C (FLOPs), scalar or array.
        unique_tokens: the unique tokens available, scalar or array (broadcast with compute).
        n_range: the model sizes searched.

    Returns:
        ``scalefit.predict.Allocation`` (C, N, D, loss; ``at_bound`` where the best N is an end
        of ``n_range``); D / min(U, D) is the number of epochs.
    """
    from scipy.optimize import minimize_scalar

    _check_params(params)
    C = np.asarray(compute, dtype=np.float64)
    U = np.asarray(unique_tokens, dtype=np.float64)
    for name, a in (("compute", C), ("unique_tokens", U)):
        if not np.all(np.isfinite(a) & (a > 0)):
            raise ValueError(f"{name} must be positive and finite; got "
                             f"{a[~(np.isfinite(a) & (a > 0))].ravel()[0]}.")
    lo, hi = (float(v) for v in n_range)
    if not (0 < lo < hi and math.isfinite(hi)):
        raise ValueError(f"n_range must be (low, high) with 0 < low < high, got {n_range}.")
    C, U = np.broadcast_arrays(C, U)
    grid = np.linspace(math.log(lo), math.log(hi), 1201)
    N = np.empty(C.shape)
    at_bound = np.zeros(C.shape, dtype=bool)
    for idx in np.ndindex(C.shape):
        c, u = float(C[idx]), float(U[idx])

        def f(log_n, c=c, u=u):
            n = np.exp(log_n)
            return evaluate(data_constrained, params,
                            {"N": n, "D": c / (6.0 * n), "U": np.full_like(n, u)})
        losses = f(grid)
        i = int(np.argmin(losses))
        at_bound[idx] = i in (0, len(grid) - 1)
        a, b = grid[max(i - 1, 0)], grid[min(i + 1, len(grid) - 1)]
        res = minimize_scalar(lambda v: float(f(np.array([v]))[0]), bounds=(a, b),
                              method="bounded", options={"xatol": 1e-10})
        N[idx] = math.exp(res.x) if res.fun <= losses[i] else math.exp(grid[i])
    D = C / (6.0 * N)
    loss = evaluate(data_constrained, params, {"N": N, "D": D, "U": U})
    scalar = np.ndim(compute) == 0 and np.ndim(unique_tokens) == 0
    pick = (lambda a: float(a)) if scalar else (lambda a: a)  # noqa: E731
    return Allocation(C=pick(C), N=pick(N), D=pick(D), loss=pick(loss),
                      at_bound=bool(at_bound) if scalar else at_bound)
