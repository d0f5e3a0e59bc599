"""Fitting recipes that work outside the general fitting engine (pure numpy / scipy).

``farseer_piecewise`` implements the "differential piecewise fitting" of Li et al. (2025),
"Farseer: A Refined Scaling Law in Large Language Models". The Farseer law has nine parameters,

    L(N, D) = exp(a3 * N**gamma + b3) + exp(a2 * N**beta + b2) * D**(-exp(a1 * N**alpha + b1)),

i.e. ``L = G(N) + B(N) * D**(-A(N))`` with ``log A``, ``log B`` and ``log G`` each a stretched
power of N. Rather than fitting all nine parameters at once, the paper fits them in stages:

1. For each model size N, the difference ``R_N(D) = L(N, D) - L(N, sqrt(2) * D)`` cancels the
   D-free term G(N), and ``R_N(D) = B_N * (1 - sqrt(2)**(-A_N)) * D**(-A_N)``. An ordinary least
   squares line ``log R_N = log B_hat_N - A_N * log D`` gives A_N, and
   ``B_N = B_hat_N / (1 - sqrt(2)**(-A_N))``.
2. ``log A_N = a1 * N**alpha + b1`` and ``log B_N = a2 * N**beta + b2`` are fitted across sizes:
   for a fixed exponent the rest is a linear least squares problem, so the exponent is found by a
   fine 1-D grid search over the profiled residual, then refined by a bounded scalar minimisation.
3. The remainder ``G_N = mean_D [L - B(N) * D**(-A(N))]`` is fitted the same way as
   ``log G_N = a3 * N**gamma + b3``.

The paper's printed fit (rounded) is ``FARSEER_PUBLISHED``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize_scalar

__all__ = [
    "FARSEER_PARAMS",
    "FARSEER_PUBLISHED",
    "PerSize",
    "PiecewiseResult",
    "farseer_loss",
    "farseer_piecewise",
]

#: Parameter names of the Farseer law, in the order of Li et al. (2025).
FARSEER_PARAMS = ("a3", "gamma", "b3", "a2", "beta", "b2", "a1", "alpha", "b1")

#: The fit printed by Li et al. (2025), rounded as printed (loss in bits per character).
FARSEER_PUBLISHED = {"a3": -0.021, "gamma": 0.169, "b3": -0.091, "a2": 88.01, "beta": -0.1,
                     "b2": -6.287, "a1": -0.124, "alpha": 0.123, "b1": 0.424}

SQRT2 = np.sqrt(2.0)


def farseer_loss(params, N, D):
    """The Farseer law of Li et al. (2025) evaluated with numpy (broadcasting N against D).

    ``L = exp(a3 N^gamma + b3) + exp(a2 N^beta + b2) * D^(-exp(a1 N^alpha + b1))``; ``params``
    maps each name in ``FARSEER_PARAMS`` to a float.
    """
    missing = [k for k in FARSEER_PARAMS if k not in params]
    if missing:
        raise ValueError(f"farseer_loss: missing parameters {missing}; need {list(FARSEER_PARAMS)}")
    p = {k: float(params[k]) for k in FARSEER_PARAMS}
    N = np.asarray(N, dtype=np.float64)
    D = np.asarray(D, dtype=np.float64)
    log_n = np.log(N)
    g = np.exp(p["a3"] * np.exp(p["gamma"] * log_n) + p["b3"])
    log_b = p["a2"] * np.exp(p["beta"] * log_n) + p["b2"]
    a = np.exp(p["a1"] * np.exp(p["alpha"] * log_n) + p["b1"])
    return g + np.exp(log_b - a * np.log(D))


@dataclass(frozen=True)
class PerSize:
    """Stage results for each model size kept by the recipe (sorted by N).

    ``A`` and ``B`` are the per-size estimates of stage 1, ``G`` the remainders of stage 3 and
    ``n_pairs`` the number of (D, sqrt(2) D) differences used in each size's regression.
    """

    N: np.ndarray
    A: np.ndarray
    B: np.ndarray
    G: np.ndarray
    n_pairs: np.ndarray


@dataclass(frozen=True)
class PiecewiseResult:
    """Outcome of ``farseer_piecewise``: the nine parameters, the per-size stages and notes."""

    params: dict[str, float]
    per_size: PerSize
    notes: tuple[str, ...]

    def predict(self, N, D):
        """The fitted law at (N, D); see ``farseer_loss``."""
        return farseer_loss(self.params, N, D)


def _clusters(values: np.ndarray, rtol: float) -> np.ndarray:
    """Labels 0..k-1 grouping sorted-adjacent values that agree within a relative tolerance."""
    order = np.argsort(values, kind="stable")
    v = values[order]
    new = np.empty(len(v), dtype=bool)
    new[0] = True
    new[1:] = v[1:] > v[:-1] * (1.0 + rtol)
    labels = np.empty(len(v), dtype=np.int64)
    labels[order] = np.cumsum(new) - 1
    return labels


def _stretched_power_fit(log_n: np.ndarray, y: np.ndarray, bounds: tuple[float, float],
                         grid_size: int) -> tuple[float, float, float, bool]:
    """Least squares fit of ``y = a * exp(e * log_n) + b``: exponent by profile search.

    For fixed e the problem is linear in (a, b); the profiled residual sum of squares is scanned
    on a grid over ``bounds`` (e = 0, where the regressor is constant, is left out), and the best
    grid point is refined by a bounded scalar minimisation between its neighbours. Returns
    (a, e, b, at_edge), at_edge telling whether the optimum sits on a bound of the search.
    """

    def solve(e: float) -> tuple[float, float, float]:
        x = np.exp(e * log_n)
        mu, sd = x.mean(), x.std()
        if not np.isfinite(sd) or sd <= 1e-12 * max(abs(mu), 1e-300):
            return np.inf, np.nan, np.nan
        z = (x - mu) / sd
        slope = float(z @ (y - y.mean()) / (z @ z))
        intercept = float(y.mean())
        sse = float(np.sum((y - intercept - slope * z) ** 2))
        return sse, slope / sd, intercept - slope * mu / sd

    lo, hi = bounds
    grid = np.linspace(lo, hi, grid_size)
    step = grid[1] - grid[0]
    grid = grid[np.abs(grid) > 1e-3 * step]
    sse = np.array([solve(e)[0] for e in grid])
    if not np.any(np.isfinite(sse)):
        raise ValueError("farseer_piecewise: the exponent search found no usable fit")
    i = int(np.nanargmin(sse))
    left, right = max(grid[i] - step, lo), min(grid[i] + step, hi)
    res = minimize_scalar(lambda e: solve(e)[0], bounds=(left, right), method="bounded",
                          options={"xatol": 1e-10})
    e = float(res.x) if res.fun <= sse[i] else float(grid[i])
    if abs(e) < 1e-9:  # the degenerate point; stay on the grid
        e = float(grid[i])
    _, a, b = solve(e)
    at_edge = min(e - lo, hi - e) < step
    return float(a), e, float(b), bool(at_edge)


def farseer_piecewise(N, D, L, *, pair_rtol: float = 1e-3, exponent_bounds=(-1.0, 1.0),
                      grid_size: int = 2001) -> PiecewiseResult:
    """Fit the Farseer law by the differential piecewise recipe of Li et al. (2025).

    ``N`` (model sizes), ``D`` (tokens) and ``L`` (losses) are 1-D arrays of positive values of
    equal length. Runs with the same (N, D) are averaged first. Within each size, pairs
    (D, sqrt(2) D) are matched to a relative tolerance ``pair_rtol``; a difference
    ``L(D) - L(sqrt(2) D)`` that is not positive (noise) is left out, and a size with fewer than
    3 usable pairs is skipped. Exponents are searched on ``grid_size`` points over
    ``exponent_bounds`` and then refined. Every such event is reported in ``notes``.

    Stage 3 takes the remainder against the *smoothed* A(N), B(N) of stage 2, so that the
    returned law reproduces the per-size means exactly where G is fitted exactly.

    Raises ValueError for malformed input or when fewer than 3 sizes have enough pairs.
    """
    arrays = []
    for name, x in (("N", N), ("D", D), ("L", L)):
        a = np.asarray(x, dtype=np.float64)
        if a.ndim != 1:
            raise ValueError(f"farseer_piecewise: {name} must be 1-D, got shape {a.shape}")
        if not np.all(np.isfinite(a)) or not np.all(a > 0):
            raise ValueError(f"farseer_piecewise: {name} must be finite and positive")
        arrays.append(a)
    N, D, L = arrays
    if not (len(N) == len(D) == len(L)):
        raise ValueError(f"farseer_piecewise: N, D, L lengths differ ({len(N)}, {len(D)}, {len(L)})")
    if len(N) == 0:
        raise ValueError("farseer_piecewise: no data")

    notes: list[str] = []
    size_of = _clusters(N, 1e-9)
    n_sizes_in = int(size_of.max()) + 1
    n_duplicates = 0
    n_nonpositive = 0
    kept = []  # (N, A, B, n_pairs, D values, mean L values)
    for s in range(n_sizes_in):
        rows = size_of == s
        n_val = float(N[rows].mean())
        d_of = _clusters(D[rows], 1e-9)
        k = int(d_of.max()) + 1
        n_duplicates += int(rows.sum()) - k
        d = np.bincount(d_of, weights=D[rows]) / np.bincount(d_of)
        loss = np.bincount(d_of, weights=L[rows]) / np.bincount(d_of)
        order = np.argsort(d)
        d, loss = d[order], loss[order]

        # pairs (D, sqrt(2) D): nearest larger neighbour on the log scale
        target = SQRT2 * d
        j = np.clip(np.searchsorted(d, target), 0, len(d) - 1)
        j_lo = np.clip(j - 1, 0, len(d) - 1)
        j = np.where(np.abs(d[j_lo] / target - 1) < np.abs(d[j] / target - 1), j_lo, j)
        paired = np.abs(d[j] / target - 1) <= pair_rtol
        r = loss[paired] - loss[j[paired]]
        d_pair = d[paired]
        positive = r > 0
        dropped = int((~positive).sum())
        n_nonpositive += dropped
        r, d_pair = r[positive], d_pair[positive]
        if len(r) < 3:
            notes.append(f"size N={n_val:.4g} skipped: {len(r)} usable (D, sqrt(2)*D) pairs "
                         f"(of {int(paired.sum())} matched, {dropped} non-positive), need 3")
            continue
        slope, log_b_hat = np.polyfit(np.log(d_pair), np.log(r), 1)
        a_n = -float(slope)
        if not a_n > 0:
            notes.append(f"size N={n_val:.4g} skipped: differences do not decay with D "
                         f"(fitted A_N = {a_n:.3g})")
            continue
        b_n = float(np.exp(log_b_hat) / (1.0 - SQRT2 ** (-a_n)))
        kept.append((n_val, a_n, b_n, len(r), d, loss))

    if n_duplicates:
        notes.append(f"averaged {n_duplicates} duplicate (N, D) runs")
    if n_nonpositive:
        notes.append(f"dropped {n_nonpositive} non-positive differences L(D) - L(sqrt(2)*D)")
    if len(kept) < 3:
        raise ValueError(
            f"farseer_piecewise: only {len(kept)} model size(s) have at least 3 usable "
            f"(D, sqrt(2)*D) pairs; the recipe of Li et al. (2025) needs at least 3 sizes, each "
            f"trained on token counts a factor sqrt(2) apart")

    n_k = np.array([k[0] for k in kept])
    a_k = np.array([k[1] for k in kept])
    b_k = np.array([k[2] for k in kept])
    pairs_k = np.array([k[3] for k in kept], dtype=np.int64)
    log_n = np.log(n_k)

    params: dict[str, float] = {}
    a1, alpha, b1, edge_a = _stretched_power_fit(log_n, np.log(a_k), exponent_bounds, grid_size)
    a2, beta, b2, edge_b = _stretched_power_fit(log_n, np.log(b_k), exponent_bounds, grid_size)
    params.update(a1=a1, alpha=alpha, b1=b1, a2=a2, beta=beta, b2=b2)

    # stage 3: remainder against the smoothed A(N), B(N)
    a_s = np.exp(a1 * np.exp(alpha * log_n) + b1)
    b_s = np.exp(a2 * np.exp(beta * log_n) + b2)
    g_k = np.array([np.mean(k[5] - b * k[4] ** (-a)) for k, a, b in zip(kept, a_s, b_s)])
    good = g_k > 0
    if not np.all(good):
        for n_val, g in zip(n_k[~good], g_k[~good]):
            notes.append(f"size N={n_val:.4g} left out of the G(N) fit: remainder {g:.3g} <= 0")
    if good.sum() < 3:
        raise ValueError(f"farseer_piecewise: only {int(good.sum())} size(s) have a positive "
                         "remainder G(N); cannot fit log G = a3 N^gamma + b3")
    a3, gamma, b3, edge_g = _stretched_power_fit(log_n[good], np.log(g_k[good]), exponent_bounds,
                                                 grid_size)
    params.update(a3=a3, gamma=gamma, b3=b3)
    for edge, name in ((edge_a, "alpha"), (edge_b, "beta"), (edge_g, "gamma")):
        if edge:
            notes.append(f"exponent {name} = {params[name]:.4g} lies at the edge of the search "
                         f"interval {tuple(exponent_bounds)}")

    per_size = PerSize(N=n_k, A=a_k, B=b_k, G=g_k, n_pairs=pairs_k)
    return PiecewiseResult(params={k: float(params[k]) for k in FARSEER_PARAMS},
                           per_size=per_size, notes=tuple(notes))
