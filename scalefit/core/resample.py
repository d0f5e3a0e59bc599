"""Bootstrap refits: resampled weight vectors, each solved from the full-data optimum.

A resample draws n units with replacement (rows, or whole groups when points are checkpoints
of the same run); a point's weight is its base weight times how often its unit was drawn. All
resamples are lanes of one batch solve, so they run in one compiled call (sharded over devices
when there are several) and a seed gives bit-identical draws wherever they run.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from .._options import DEFAULTS, Options
from .data import Data
from .engine import CHUNK, LANE_CELLS, solve_lanes
from .result import Lanes
from .spec import Spec


@dataclass(frozen=True)
class Resampled:
    """Every bootstrap refit.

    Attributes:
        params: (n_draws, n_params) natural-scale parameters of each refit, in law order.
        objective: (n_draws,) objective of each refit on its own resample.
        stop: (n_draws,) ``Stop`` code of each refit.
        converged: (n_draws,) whether each refit converged.
    """

    params: np.ndarray
    objective: np.ndarray
    stop: np.ndarray
    converged: np.ndarray


def resample_weights(n_draws: int, seed: int, base: np.ndarray, units: np.ndarray,
                     n_units: int, block: int = 256) -> Iterator[np.ndarray]:
    """Yields blocks of resampled weights, (<= block, n) each, n_draws rows in all, in order.

    Each row draws ``n_units`` units uniformly with replacement (numpy's PCG64 seeded by
    ``seed``) and gives point i the weight ``base[i] * count[units[i]]``. The rows are the same
    whatever the block size.
    """
    rng = np.random.default_rng(seed)
    p = np.full(n_units, 1.0 / n_units)
    for start in range(0, n_draws, block):
        counts = rng.multinomial(n_units, p, size=min(block, n_draws - start))
        yield base[None, :] * counts[:, units]


def natural(spec: Spec, U: np.ndarray, fixed: Mapping[str, float]) -> np.ndarray:
    """Returns (B, n_params) natural-scale parameters, in law order, from search-scale U."""
    p = spec.params(U.T, [float(fixed[n]) for n in spec.fixed], exp=np.exp)
    return np.stack([np.broadcast_to(p[name], len(U)) for name in spec.law.param_names], axis=1)


def bootstrap(spec: Spec, data: Data, n: int, fixed: Mapping[str, float], u_opt: np.ndarray,
              n_draws: int, seed: int, units: np.ndarray, n_units: int,
              options: Options = DEFAULTS, box=None) -> Resampled:
    """Refits ``n_draws`` resamples from the optimum ``u_opt`` (search scale); returns them all.

    Args:
        spec, data, n, fixed: the fit, as given to ``engine.solve``.
        u_opt: the full-data optimum on the search scale.
        n_draws: number of resamples.
        seed: seed of the resampling; the same seed gives bit-identical draws.
        units: (n,) integer unit of each point: ``arange(n)`` for rows, the group for groups.
        n_units: number of units.
        options: tolerances.
        box: the fit's search-scale bounds when the data tightened them (``engine.solve``).
    """
    base = np.asarray(data.weight[:n], np.float64)
    u0 = np.asarray(u_opt, np.float64)[None, :]
    # Blocks of resamples bound the weights held at once (numpy's multinomial draws row after
    # row, so the draws do not depend on the block size).
    block = max(CHUNK, LANE_CELLS // max(n, 1))
    lanes = Lanes.concat([solve_lanes(spec, data, fixed, np.repeat(u0, len(W), axis=0), W, options,
                                      box=box)
                          for W in resample_weights(n_draws, seed, base, units, n_units, block)])
    params = natural(spec, lanes.u, fixed)
    params.setflags(write=False)
    return Resampled(params=params, objective=lanes.f, stop=lanes.stop,
                     converged=lanes.converged)
