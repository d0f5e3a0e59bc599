"""Robust per-point losses on log residuals: value, first derivative and two curvatures.

For the summed objective f(u) = sum_i w_i * rho(r_i(u)) the solver needs, per point,
rho(r), rho'(r), an IRLS (Gauss-Newton) curvature rho'(r)/r and the exact rho''(r).
"""

import jax.numpy as jnp

LOSSES = ("huber", "squared")


def point_terms(r, delta, loss: str):
    """Returns (rho, psi, irls, exact): loss, its slope, IRLS and exact curvature per point.

    Huber_delta(r) = r**2/2 for |r| <= delta, else delta*(|r| - delta/2); "squared" is r**2/2.
    The IRLS curvature psi(r)/r = min(1, delta/|r|) keeps the Gauss-Newton model positive where
    the exact curvature (0 on Huber's linear branch) would not.
    """
    if loss == "squared":
        one = jnp.ones_like(r)
        return 0.5 * r * r, r, one, one
    a = jnp.abs(r)
    inner = a <= delta
    rho = jnp.where(inner, 0.5 * r * r, delta * (a - 0.5 * delta))
    psi = jnp.clip(r, -delta, delta)
    irls = jnp.where(inner, 1.0, delta / jnp.where(inner, 1.0, a))
    exact = jnp.where(inner, 1.0, 0.0)
    return rho, psi, irls, exact
