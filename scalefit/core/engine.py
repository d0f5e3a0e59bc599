"""The one engine that fits any law: fix and tie, screen a start grid, solve the best K.

Nothing here knows a named law: a ``Law`` supplies parameter names, transforms, bounds, a
grid and log L(params, inputs); the engine minimises sum_i w_i * rho(log L_i - log y_i).
No I/O, no pandas: inputs are numpy arrays, the answer is a ``CoreResult``.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from ..laws._spec import Law
from .objective import LOSSES, point_terms
from .result import Convergence, CoreResult, Stop
from .solver import EPS, Settings, grad_tol, held, solve_one

CHUNK = 16          # starts per vmapped while-loop; chunks run one after another, so a
                    # slow start holds up only its own chunk (16: 54 ms vs 70 ms at 32)


@dataclass(frozen=True)
class Spec:
    """The static shape of a fit: which parameters are free, fixed or tied, and the loss."""

    law: Law
    free: tuple[str, ...]
    fixed: tuple[str, ...]
    tied: tuple[tuple[str, str], ...]      # (name, the free or fixed name it copies)
    loss: str

    @classmethod
    def build(cls, law: Law, fix: Mapping[str, float] | None = None,
              tie: Mapping[str, str] | None = None, loss: str = "huber") -> Spec:
        """Checks fix/tie against the law and returns the spec.

        Raises:
            ValueError: an unknown parameter or loss, a tie to itself or in a cycle, a name
                both fixed and tied, a non-finite fixed value, or no parameter left free.
        """
        fix, tie = dict(fix or {}), dict(tie or {})
        if loss not in LOSSES:
            raise ValueError(f"Unknown loss {loss!r}; use one of {', '.join(LOSSES)}.")
        for name in [*fix, *tie, *tie.values()]:
            law.param(name)
        both = sorted(set(fix) & set(tie))
        if both:
            raise ValueError(f"{both} are both fixed and tied; choose one.")
        for name, value in fix.items():
            if not math.isfinite(float(value)) or (law.param(name).log and value <= 0):
                raise ValueError(f"fix={{{name!r}: {value}}} must be finite"
                                 + (" and positive (log-scale parameter)." if law.param(name).log else "."))
        roots = {}
        for name in tie:
            root, seen = name, {name}
            while root in tie:
                root = tie[root]
                if root in seen:
                    raise ValueError(f"tie={tie} has a cycle through {name!r}.")
                seen.add(root)
            roots[name] = root
        free = tuple(n for n in law.param_names if n not in fix and n not in tie)
        if not free:
            raise ValueError(f"{law.name}: every parameter is fixed or tied; nothing to fit.")
        fixed = tuple(n for n in law.param_names if n in fix)
        return cls(law, free, fixed, tuple((n, roots[n]) for n in law.param_names if n in tie), loss)

    def params(self, u, fixed) -> dict:
        """Maps a search vector (and fixed values) to every parameter on its natural scale."""
        out = {}
        for i, name in enumerate(self.free):
            out[name] = jnp.exp(u[i]) if self.law.param(name).log else u[i]
        for j, name in enumerate(self.fixed):
            out[name] = fixed[j]
        for name, root in self.tied:
            out[name] = out[root]
        return out

    def to_search(self, values: np.ndarray) -> np.ndarray:
        """Natural-scale values of the free parameters (..., n_free) -> search scale."""
        values = np.asarray(values, dtype=np.float64)
        logs = np.array([self.law.param(n).log for n in self.free])
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(logs, np.log(np.where(logs, values, 1.0)), values)

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Search-scale (lower, upper) bounds of the free parameters."""
        lo, hi = zip(*(self.law.param(n).search_bounds() for n in self.free))
        return np.array(lo, dtype=np.float64), np.array(hi, dtype=np.float64)

    def grid(self) -> np.ndarray:
        """The default starts: the Cartesian product of the free parameters' grids, natural scale."""
        grids = [self.law.param(n).grid for n in self.free]
        return np.array(list(itertools.product(*grids)), dtype=np.float64)


@functools.lru_cache(maxsize=64)
def _compiled(spec: Spec, n_solve: int):
    """Returns the jitted screen-and-solve for this spec; cached so fits share compilations."""
    log_fn = spec.law.log_fn()

    def make_objective(fixed, x, logy, w, delta):
        def residuals(u):
            return log_fn(spec.params(u, fixed), x) - logy

        def objective(u):
            return jnp.sum(w * point_terms(residuals(u), delta, spec.loss)[0])

        return residuals, objective

    def run(U, fixed, x, logy, w, delta, lo, hi, settings):
        residuals, objective = make_objective(fixed, x, logy, w, delta)

        def evaluate(u):
            r, J = residuals(u), jax.jacfwd(residuals)(u)
            rho, psi, irls, exact = point_terms(r, delta, spec.loss)
            wpsi = jax.lax.stop_gradient(w * psi)
            second = jax.hessian(lambda v: jnp.dot(wpsi, residuals(v)))(u)
            # f's round-off: each residual carries an error of about eps * |log y|.
            noise = 8 * EPS * jnp.sum(jnp.abs(w * psi) * (jnp.abs(logy) + jnp.abs(r) + 1.0))
            return (jnp.sum(w * rho), J.T @ (w * psi), (J * (w * irls)[:, None]).T @ J,
                    (J * (w * exact)[:, None]).T @ J + second, noise)

        # Screening only ranks the starts, so it runs in float32 (4x faster here); every
        # solve below is float64. A start that overflows float32 ranks last.
        f32 = jax.tree.map(lambda a: jnp.asarray(a, jnp.float32), (fixed, x, logy, w, delta))
        f0 = jax.vmap(make_objective(*f32)[1])(U.astype(jnp.float32))
        f0 = jnp.where(jnp.isfinite(f0), f0, jnp.inf)
        _, idx = jax.lax.top_k(-f0, n_solve)
        chunk = min(CHUNK, n_solve)
        n_chunks = -(-n_solve // chunk)
        idx = jnp.concatenate([idx, jnp.repeat(idx[-1:], n_chunks * chunk - n_solve)])
        starts = U[idx].reshape(n_chunks, chunk, U.shape[1])
        solve = jax.vmap(lambda u0: solve_one(evaluate, objective, u0, lo, hi, settings))
        st = jax.tree.map(lambda a: a.reshape((n_chunks * chunk,) + a.shape[2:])[:n_solve],
                          jax.lax.map(solve, starts))

        def final(u):
            f, g, _, He, noise = evaluate(u)
            gnorm = jnp.max(jnp.abs(jnp.where(held(u, g, lo, hi), 0.0, g)))
            return f, gnorm, grad_tol(f, He, u, settings), noise

        f, gnorm, gtol, noise = jax.vmap(final)(st.u)
        return dict(u=st.u, f=f, gnorm=gnorm, gtol=gtol, noise=noise, stop=st.stop,
                    steps=st.steps, snorm=st.snorm, residuals=jax.vmap(residuals)(st.u))

    return jax.jit(run)


@dataclass(frozen=True)
class Options:
    """Engine options, checked when built. ``n_solve=None`` solves every start (no screening).

    Raises:
        ValueError: a non-positive delta, n_solve or max_steps, or a negative tolerance.
    """

    delta: float = 1e-3
    n_solve: int | None = 32
    max_steps: int = 500
    gtol: float = 1e-8
    xtol: float = 1e-6
    polish: float = 1e3
    basin_rtol: float = 1e-6

    def __post_init__(self) -> None:
        if not (math.isfinite(self.delta) and self.delta > 0):
            raise ValueError(f"delta must be positive and finite, got {self.delta}.")
        if self.n_solve is not None and (int(self.n_solve) != self.n_solve or self.n_solve < 1):
            raise ValueError(f"n_solve must be a positive integer or None (solve all), "
                             f"got {self.n_solve}.")
        if int(self.max_steps) != self.max_steps or self.max_steps < 1:
            raise ValueError(f"max_steps must be a positive integer, got {self.max_steps}.")
        if not all(v >= 0 for v in (self.gtol, self.xtol, self.polish, self.basin_rtol)):
            raise ValueError(f"tolerances must be non-negative, got gtol={self.gtol}, "
                             f"xtol={self.xtol}, polish={self.polish}, basin_rtol={self.basin_rtol}.")


def bucket(n: int) -> int:
    """Rounds n up to one of 8 sizes per octave (at least 16): nearby sizes share a compilation."""
    step = 1 << max(n.bit_length() - 4, 0)
    return max(16, -(-n // step) * step)


def _padded(x, y, w):
    """Pads the points to ``bucket(n)`` with copies of the first point at weight 0."""
    n = len(y)
    pad = bucket(n) - n
    grow = lambda a, fill: np.concatenate([np.asarray(a, np.float64), np.full(pad, fill)])  # noqa: E731
    return ({k: grow(v, v[0]) for k, v in x.items()}, grow(y, y[0]), grow(w, 0.0))


_CHECKED: set = set()      # (spec, input names) whose law already evaluated cleanly


def check_law(spec: Spec, x: Mapping[str, np.ndarray], fixed: Mapping[str, float] | None = None,
              start: np.ndarray | None = None) -> None:
    """Evaluates the law once on two points at the first start, outside any compilation.

    A law that passed once for these input names is not evaluated again: the errors caught
    here (an undeclared input, a wrong shape) come from the law's code, not the values.

    Raises:
        ValueError: the law's function fails, or does not return one value per point.
    """
    key = (spec, tuple(sorted(x)))
    if key in _CHECKED:
        return
    law = spec.law
    u = _grid_search_scale(spec)[0] if start is None else spec.to_search(start)
    two = {k: np.asarray(v[:2], np.float64) for k, v in x.items() if k in law.inputs}
    hint = (f"Check that it reads only its inputs ({', '.join(law.inputs)}) and parameters "
            f"({', '.join(law.param_names)}) and returns one value per point.")
    try:
        with jax.enable_x64(True):
            fixed_values = jnp.asarray([dict(fixed or {})[n] for n in spec.fixed], jnp.float64)
            out = np.asarray(law.log_fn()(spec.params(jnp.asarray(u), fixed_values), two))
    except Exception as err:  # a user's function can fail in any way; say where it failed
        raise ValueError(f"law {law.name!r} failed on two points of the data at its first "
                         f"start ({type(err).__name__}: {err}). {hint}") from None
    if out.shape != (len(next(iter(two.values()))),):
        raise ValueError(f"law {law.name!r} returned shape {out.shape} for 2 points. {hint}")
    _CHECKED.add(key)


@functools.lru_cache(maxsize=64)
def _grid_search_scale(spec: Spec) -> np.ndarray:
    """The law's default starts on the search scale, built once per spec (read-only)."""
    U = spec.to_search(spec.grid())
    U.flags.writeable = False
    return U


def solve(spec: Spec, x: Mapping[str, np.ndarray], y: np.ndarray, w: np.ndarray,
          fixed: Mapping[str, float] | None = None, starts: np.ndarray | None = None,
          options: Options = Options()) -> CoreResult:
    """Fits ``spec`` to (x, y, w) from many starts; returns the best start's result.

    Args:
        spec: the law with its free, fixed and tied parameters and the loss.
        x: input arrays by name (float64, same length n).
        y: observed losses (positive), length n.
        w: per-point weights (non-negative), length n.
        fixed: values of the fixed parameters, natural scale.
        starts: (n_starts, n_free) natural-scale starts; default the law's grid.
        options: tolerances and screening.
    """
    fixed = dict(fixed or {})
    n = len(y)
    x, y, w = _padded(x, y, w)
    U = _grid_search_scale(spec) if starts is None else spec.to_search(starts)
    lo, hi = spec.bounds()
    n_solve = U.shape[0] if options.n_solve is None else min(options.n_solve, U.shape[0])
    settings = Settings(*(np.float64(v) for v in (options.gtol, 1e-15 * float(np.sum(w)),
                                                   options.xtol, options.polish)),
                        np.int64(options.max_steps))
    with jax.enable_x64(True):
        out = _compiled(spec, n_solve)(
            jnp.asarray(U), jnp.asarray([fixed[n] for n in spec.fixed], dtype=jnp.float64),
            {k: jnp.asarray(v, dtype=jnp.float64) for k, v in x.items() if k in spec.law.inputs},
            jnp.log(jnp.asarray(y, dtype=jnp.float64)), jnp.asarray(w, dtype=jnp.float64),
            np.float64(options.delta), jnp.asarray(lo), jnp.asarray(hi), settings)
        out = jax.tree.map(np.asarray, out)
    out["residuals"] = out["residuals"][:, :n]
    return _result(spec, fixed, out, U.shape[0], lo, hi, options, settings)


def _result(spec, fixed, out, n_starts, lo, hi, options, settings) -> CoreResult:
    f = np.where(np.isfinite(out["f"]), out["f"], np.inf)
    order = np.argsort(f, kind="stable")
    # Starts whose objectives differ by less than f's round-off are tied: among them, prefer
    # one that converged, then the smallest gradient.
    tied = f <= f[order[0]] + out["noise"][order[0]]
    rank = np.lexsort((out["gnorm"], out["stop"] != Stop.CONVERGED, ~tied))
    best = int(rank[0])
    u, fbest = out["u"][best], float(f[best])
    stops = {Stop(s): int(n) for s, n in zip(*np.unique(out["stop"], return_counts=True))}
    near = lambda v, b: math.isfinite(b) and abs(v - b) <= 1e-9 * (1 + abs(b))  # noqa: E731
    at_bound = tuple(n for n, v, a, b in zip(spec.free, u, lo, hi) if near(v, a) or near(v, b))
    conv = Convergence(
        stop=Stop(int(out["stop"][best])), n_steps=int(out["steps"][best]),
        grad_norm=float(out["gnorm"][best]),
        grad_tol=float(out["gtol"][best]),
        step_norm=float(out["snorm"][best]), n_starts=int(n_starts), n_solved=len(f),
        n_best_basin=int(np.sum(f <= fbest + options.basin_rtol * abs(fbest))),
        stops=stops, at_bound=at_bound)
    with jax.enable_x64(True):
        params = {k: float(v) for k, v in spec.params(u, [fixed[n] for n in spec.fixed]).items()}
    params = {n: params[n] for n in spec.law.param_names}
    return CoreResult(params=params, objective=fbest, convergence=conv,
                      residuals=out["residuals"][best], free=spec.free, objectives=f[order])
