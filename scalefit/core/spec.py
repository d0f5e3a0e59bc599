"""The static shape of a fit: a law with its free, fixed and tied parameters, and the loss.

A ``Spec`` is hashable and compares by value (the law's definition included), so it keys
compilations: equal specs built afresh share one.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Mapping
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from .._options import DEFAULTS, LOSSES
from ..laws._spec import Law, parse_start


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
                tie: Mapping[str, str] | None = None, loss: str = DEFAULTS.loss) -> Spec:
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
            p = law.param(name)
            if not math.isfinite(float(value)) or (p.log and value <= 0):
                raise ValueError(f"fix={{{name!r}: {value}}} must be finite"
                                 + (" and positive (log-scale parameter)." if p.log else "."))
            if not p.admits(float(value)):
                raise ValueError(f"fix={{{name!r}: {value}}} lies outside {name}'s bounds "
                                 f"[{p.lower}, {p.upper}]; fix it inside them, or widen the "
                                 f"bounds of the law.")
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

    def params(self, u, fixed, exp=jnp.exp) -> dict:
        """Maps a search vector (and fixed values) to every parameter on its natural scale.

        ``u[i]`` may be a scalar or an array of draws; ``exp`` is ``jnp.exp`` inside kernels,
        ``np.exp`` for float64 arrays on the host.
        """
        out = {}
        for i, name in enumerate(self.free):
            out[name] = exp(u[i]) if self.law.param(name).log else u[i]
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
        """The Cartesian product of the free parameters' grids, natural scale."""
        grids = [self.law.param(n).grid for n in self.free]
        return np.array(list(itertools.product(*grids)), dtype=np.float64)

    def sobol(self, n: int, seed: int = 0) -> np.ndarray:
        """``n`` scrambled Sobol points in the box spanned by each free parameter's grid
        (smallest to largest value, on the search scale), returned on the natural scale."""
        import warnings

        from scipy.stats import qmc

        box = self.to_search(np.array([[min(self.law.param(p).grid) for p in self.free],
                                       [max(self.law.param(p).grid) for p in self.free]]))
        with warnings.catch_warnings():     # n need not be a power of 2 here
            warnings.simplefilter("ignore", UserWarning)
            S = qmc.Sobol(len(self.free), scramble=True, seed=seed).random(n)
        U = box[0] + S * (box[1] - box[0])
        logs = np.array([self.law.param(p).log for p in self.free])
        return np.where(logs, np.exp(U), U)

    def starts(self, start: str | None = None) -> np.ndarray:
        """The starts ``start`` names (``"grid"`` or ``"sobol:n"``; default the law's own),
        natural scale."""
        n = parse_start(start or self.law.start)
        return self.grid() if n is None else self.sobol(n)


@functools.lru_cache(maxsize=64)
def grid_search_scale(spec: Spec, start: str | None = None) -> np.ndarray:
    """The starts ``start`` names (default the law's) on the search scale, built once per
    spec value (read-only)."""
    U = spec.to_search(spec.starts(start))
    U.flags.writeable = False
    return U
