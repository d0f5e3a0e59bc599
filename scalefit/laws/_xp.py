"""The array module a law computes with: numpy for a quick prediction, jax.numpy inside a fit.

A law that takes its functions from ``xp_of(p, x)`` instead of importing ``jax.numpy`` runs on
numpy arrays as well as on JAX's (both follow the Python array API standard, which names the
module through ``__array_namespace__``), so one function serves the compiled fit and a
prediction from a saved fit that never imports JAX. Such a law says so with
``Law(..., array_api=True)``.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np


def _values(obj):
    if isinstance(obj, Mapping):
        for v in obj.values():
            yield from _values(v)
    else:
        yield obj


def xp_of(*trees):
    """The array module of the arrays in ``trees`` (mappings of arrays, or arrays): jax.numpy
    when any is a JAX array or tracer, numpy otherwise (plain floats included)."""
    for tree in trees:
        for v in _values(tree):
            get = getattr(v, "__array_namespace__", None)
            if get is not None and type(v).__module__.split(".")[0] in ("jax", "jaxlib"):
                return get()
    return np


def stop_gradient(xp, value):
    """``jax.lax.stop_gradient(value)`` under JAX; ``value`` itself under numpy."""
    if xp is np:
        return value
    import jax

    return jax.lax.stop_gradient(value)


def lse2(xp, t1, t2):
    """log(e**t1 + e**t2), shifted by the larger term (its gradient stopped) for stability."""
    m = stop_gradient(xp, xp.maximum(t1, t2))
    return m + xp.log(xp.exp(t1 - m) + xp.exp(t2 - m))
