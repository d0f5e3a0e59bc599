"""The one objective over the data pytree, as module-level pure functions.

For f(u) = sum_i w_i * rho(r_i(u)), r_i = log L_pred(theta(u), x_i) - log y_i, the solver needs
per point rho(r), rho'(r), an IRLS (Gauss-Newton) curvature rho'(r)/r and the exact rho''(r).
``static`` is a hashable description of the fit (spec and loss): compilations are keyed on it
by value, never on object identity.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from .._options import LOSSES

__all__ = ["LOSSES", "point_terms", "residuals", "objective", "evaluate"]

EPS = float(jnp.finfo(jnp.float64).eps)


def point_terms(r, shape, loss: str):
    """Returns (rho, psi, irls, exact): loss, its slope, IRLS and exact curvature per point.

    ``shape`` is (delta, quantile) (``Options.loss_shape``). Huber_delta(r) = r**2/2 for
    |r| <= delta, else delta*(|r| - delta/2); "squared" is r**2/2. The IRLS curvature
    psi(r)/r = min(1, delta/|r|) keeps the Gauss-Newton model positive where the exact
    curvature (0 on Huber's linear branch) would not. Each point's terms are then weighted
    2*quantile where the law under-predicts (r < 0: the point lies above the curve) and
    2*(1 - quantile) where it over-predicts: 1 and 1 at the default 0.5. The loss and its slope
    stay continuous at r = 0 (both are 0 there).
    """
    delta, q = shape[0], shape[1]
    side = jnp.where(r < 0, 2.0 * q, 2.0 * (1.0 - q))
    if loss == "squared":
        return 0.5 * r * r * side, r * side, side, side
    a = jnp.abs(r)
    inner = a <= delta
    rho = jnp.where(inner, 0.5 * r * r, delta * (a - 0.5 * delta))
    psi = jnp.clip(r, -delta, delta)
    irls = jnp.where(inner, 1.0, delta / jnp.where(inner, 1.0, a))
    exact = jnp.where(inner, 1.0, 0.0)
    return rho * side, psi * side, irls * side, exact * side


def law_inputs(spec, data):
    """The arrays a law's function reads as ``x``: its inputs, and ``group`` for a context law."""
    x = {k: data.x[k] for k in spec.law.inputs}
    if spec.law.context:
        x["group"] = data.group
    return x


def residuals(spec, u, data, fixed):
    """log L_pred - log y at every point, for search vector u."""
    return spec.law.log_fn()(spec.params(u, fixed), law_inputs(spec, data), data.context) - data.log_y


def objective(spec, u, data, w, fixed, shape):
    """The summed objective sum_i w_i rho(r_i) (never a mean)."""
    return jnp.sum(w * point_terms(residuals(spec, u, data, fixed), shape, spec.loss)[0])


def evaluate(spec, u, data, w, fixed, shape):
    """Returns (f, gradient, IRLS Hessian, exact Hessian, round-off of f, covariance meat) at u.

    The meat is sum_i (w_i psi_i)^2 g_i g_i^T, g_i the gradient of residual i: the middle of the
    sandwich covariance H^-1 (meat) H^-1 of an M-estimator (for the squared loss, the
    heteroskedasticity-robust covariance).
    """
    res = lambda v: residuals(spec, v, data, fixed)  # noqa: E731
    r, J = res(u), jax.jacfwd(res)(u)
    rho, psi, irls, exact = point_terms(r, shape, spec.loss)
    wpsi = jax.lax.stop_gradient(w * psi)
    second = jax.hessian(lambda v: jnp.dot(wpsi, res(v)))(u)
    # f's round-off: each residual carries an error of about eps * |log y|.
    noise = 8 * EPS * jnp.sum(jnp.abs(w * psi) * (jnp.abs(data.log_y) + jnp.abs(r) + 1.0))
    G = J * wpsi[:, None]
    return (jnp.sum(w * rho), J.T @ (w * psi), (J * (w * irls)[:, None]).T @ J,
            (J * (w * exact)[:, None]).T @ J + second, noise, G.T @ G)
