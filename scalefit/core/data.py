"""The data a fit reads, as a JAX pytree: point leaves (padded) and context leaves (never).

Point leaves hold one value per point: each input column, log loss, the base weight and the
integer group (the run a point belongs to). They are padded to ``bucket(n)`` so nearby data sizes
share one compilation; padding copies the first point at weight 0, so it adds nothing to any
objective. Context leaves belong to the whole dataset or to a group (a learning-rate schedule,
say): never padded, sliced or cast to float32.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np


class Data(NamedTuple):
    """Point and context leaves; ``jit``, ``vmap`` and sharding see every array."""

    x: dict            # input name -> (n_pad,) float64
    log_y: np.ndarray  # (n_pad,) float64
    weight: np.ndarray  # (n_pad,) float64, 0 on padding
    group: np.ndarray  # (n_pad,) int32, the run of each point (0 when there are no runs)
    context: dict      # name -> array of any shape, float64

    @property
    def n_pad(self) -> int:
        return len(self.log_y)


SMALL = 256     # up to this, sizes round up to a power of two


def bucket(n: int) -> int:
    """Rounds n up to a power of two up to ``SMALL`` (at least 16), to one of 8 sizes per octave
    above it: nearby sizes share a compilation. Small data waste at most half their points on
    padding, which costs little next to compiling once more (1.5-3 s a program on a CPU); larger
    data waste at most 1/8 (Farseer's 341 runs padded to 512 took 0.99 s a fit, to 352 0.70 s)."""
    if n <= SMALL:
        return max(16, 1 << (n - 1).bit_length())
    step = 1 << max(n.bit_length() - 4, 0)
    return -(-n // step) * step


def pad(a: np.ndarray, size: int, fill) -> np.ndarray:
    """Returns ``a`` padded along its first axis to ``size`` with ``fill``."""
    a = np.asarray(a)
    extra = np.full((size - len(a),) + a.shape[1:], fill, dtype=a.dtype)
    return np.concatenate([a, extra])


def make_data(x: Mapping[str, np.ndarray], y: np.ndarray, weight: np.ndarray | None = None,
              group: np.ndarray | None = None,
              context: Mapping[str, np.ndarray] | None = None) -> Data:
    """Returns the padded data pytree of n points (numpy arrays; the engine moves them to JAX).

    Args:
        x: input arrays by name, each of length n.
        y: observed losses, positive, length n.
        weight: non-negative base weights (default 1).
        group: integer group of each point, 0..G-1 (default all 0).
        context: arrays for the whole dataset or per group, passed to the law untouched.
    """
    y = np.asarray(y, dtype=np.float64)
    n = len(y)
    size = bucket(n)
    w = np.ones(n) if weight is None else np.asarray(weight, dtype=np.float64)
    g = np.zeros(n, np.int32) if group is None else np.asarray(group, dtype=np.int32)
    xs = {k: pad(np.asarray(v, dtype=np.float64), size, np.float64(v[0])) for k, v in x.items()}
    return Data(x=xs, log_y=pad(np.log(y), size, np.log(y[0])), weight=pad(w, size, 0.0),
                group=pad(g, size, g[0]),
                context={k: np.asarray(v, dtype=np.float64) for k, v in (context or {}).items()})
