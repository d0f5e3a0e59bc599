"""One start's solve: Levenberg-Marquardt on IRLS curvature, exact-Newton polish, box bounds.

Far from the optimum the Gauss-Newton / IRLS model (curvature psi(r)/r per point) walks to the
good basin from nearly every start; near it, exact-Hessian Newton steps finish quadratically.
Each iteration builds five candidate steps from one Jacobian and Hessian (LM steps at three
dampings, the exact-Newton step and an LM-damped exact-Newton step, these two where the Hessian
allows), evaluates the objective at each and keeps the lowest: objective evaluations are cheap
next to derivatives, so a rejected step no longer costs an iteration.

A start stops when the projected gradient is below tolerance and the next step is negligible
(CONVERGED), when no damping lowers the objective (STALLED; CONVERGED if the gradient is
already small), when the objective is not finite at the start (NONFINITE), or after max_steps.
The gradient tolerance is ``gtol * |f| + gatol`` plus the round-off floor of float64 at u,
16 eps * max_i sum_j |H_ij| (1 + |u_j|): below that the gradient is noise.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from .objective import EPS
from .result import Stop

LAMBDA_MIN, LAMBDA_MAX = 1e-15, 1e15
DAMPING = (0.1, 1.0, 10.0)          # LM candidates per iteration, relative to the current lambda
NEWTON = len(DAMPING) + 1           # index of the exact-Newton candidate



class Settings(NamedTuple):
    """Solver tolerances, passed as traced scalars so changing them never recompiles."""

    gtol: jnp.ndarray        # relative gradient tolerance (times the objective)
    gatol: jnp.ndarray       # absolute gradient floor
    xtol: jnp.ndarray        # relative step tolerance
    polish: jnp.ndarray      # allow exact-Newton steps once max|g| <= polish * |f|
    max_steps: jnp.ndarray


class State(NamedTuple):
    u: jnp.ndarray
    lam: jnp.ndarray
    steps: jnp.ndarray
    stop: jnp.ndarray        # -1 while running
    gnorm: jnp.ndarray
    gtol: jnp.ndarray        # the gradient tolerance in force at u
    snorm: jnp.ndarray


def held(u, g, lo, hi):
    """Returns which coordinates sit on a bound with the gradient pushing outward."""
    return ((u <= lo) & (g > 0)) | ((u >= hi) & (g < 0))


def _mask(H, g, active):
    """Freezes active (bound-held) coordinates: zero gradient, identity rows and columns."""
    keep = ~active
    H = jnp.where(keep[:, None] & keep[None, :], H, 0.0) + jnp.diag(active.astype(H.dtype))
    return H, jnp.where(active, 0.0, g)


def _solve_spd(H, g):
    """Returns -H^{-1} g by Cholesky; NaN where H is not positive definite.

    The factorisation and both triangular solves are unrolled over the (static, small) number
    of parameters into plain array arithmetic: under vmap that is a few dozen vector operations
    per step, where a LAPACK call per lane and per candidate dominated the solver's time.
    """
    p = H.shape[-1]
    L = [[None] * p for _ in range(p)]
    for j in range(p):
        d = H[..., j, j] - sum(L[j][k] * L[j][k] for k in range(j))
        d = jnp.where(d > 0, d, jnp.nan)          # not positive definite: NaN propagates
        L[j][j] = jnp.sqrt(d)
        for i in range(j + 1, p):
            L[i][j] = (H[..., i, j] - sum(L[i][k] * L[j][k] for k in range(j))) / L[j][j]
    y = [None] * p
    for i in range(p):                             # L y = g
        y[i] = (g[..., i] - sum(L[i][k] * y[k] for k in range(i))) / L[i][i]
    x = [None] * p
    for i in reversed(range(p)):                   # L^T x = y
        x[i] = (y[i] - sum(L[k][i] * x[k] for k in range(i + 1, p))) / L[i][i]
    return -jnp.stack(x, axis=-1)


def grad_tol(f, He, u, s: Settings):
    """Returns the gradient tolerance at u: relative, absolute and float64 round-off parts."""
    roundoff = 16 * EPS * jnp.max(jnp.abs(He) @ (1.0 + jnp.abs(u)))
    return s.gtol * jnp.abs(f) + s.gatol + roundoff


def _candidates(u, lam, f, gp, Hg, He, gnorm, lo, hi, s):
    """Returns candidate points (k, p), their steps (k, p) and dampings (k,), and the step whose
    size decides convergence (exact Newton where it exists, else the middle LM step).

    Candidates: LM steps on the IRLS curvature at three dampings; the exact-Newton step and
    an exact-Newton step damped like LM (it still converges fast where one direction of the
    Hessian is singular, e.g. a term switched off). NaN where a matrix is not positive definite.
    """
    scale = jnp.diag(jnp.maximum(jnp.diag(Hg), 1e-12 * jnp.max(jnp.diag(Hg)) + 1e-300))
    lams = lam * jnp.asarray(DAMPING)
    # All five systems in one batched factorisation (one traced copy of the unrolled code).
    systems = jnp.concatenate([Hg[None] + lams[:, None, None] * scale[None],
                               jnp.stack([He + lam * scale, He])])
    solved = _solve_spd(systems, jnp.broadcast_to(gp, (len(DAMPING) + 2,) + gp.shape))
    lm, s_dn, s_nt = solved[:len(DAMPING)], solved[len(DAMPING)], solved[len(DAMPING) + 1]
    polish = gnorm <= s.polish * jnp.abs(f)
    steps = jnp.concatenate([lm, jnp.where(polish, jnp.stack([s_dn, s_nt]), jnp.nan)])
    lams = jnp.concatenate([lams, jnp.stack([lam * DAMPING[0], lam * DAMPING[0]])])
    s_ref = jnp.where(polish & jnp.all(jnp.isfinite(s_nt)), s_nt, lm[1])
    return jnp.clip(u[None, :] + steps, lo[None, :], hi[None, :]), steps, lams, s_ref


def solve_one(evaluate, objective, u0, lo, hi, s: Settings):
    """Solves one start; returns its final State.

    Args:
        evaluate: u -> (f, g, H_irls, H_exact, noise, ...): the objective's value, gradient
            and curvatures, and the round-off error of f (further outputs are ignored).
        objective: u -> f, the summed objective alone (for trial points).
        u0: start on the search scale, inside [lo, hi].
        lo, hi: box bounds on the search scale (may be infinite).
        s: tolerances.
    """

    def step(state: State) -> State:
        u = state.u
        f, g, Hg, He, noise = evaluate(u)[:5]
        active = held(u, g, lo, hi)
        Hg, gp = _mask(Hg, g, active)
        He, _ = _mask(He, g, active)
        gnorm = jnp.max(jnp.abs(gp))
        tol = grad_tol(f, He, u, s)
        trial, steps, lams, s_ref = _candidates(u, state.lam, f, gp, Hg, He, gnorm, lo, hi, s)
        f_trial = jnp.nan_to_num(jax.vmap(objective)(trial), nan=jnp.inf)
        best = jnp.argmin(f_trial)
        # At the bottom, f is flat to round-off while g is not yet small: take the Newton
        # step when its predicted and actual changes of f are both within round-off.
        pred = -(gp @ s_ref + 0.5 * s_ref @ He @ s_ref)
        flat = (jnp.isfinite(f_trial[NEWTON]) & (f_trial[NEWTON] <= f + noise) & (pred <= noise)
                & (f_trial[best] >= f - noise))
        best = jnp.where(flat, NEWTON, best)
        better = (f_trial[best] < f) | flat
        # Nothing lowered f and even the least-damped model promises less than f's round-off:
        # no damping can help, so stop now rather than after raising lambda to its limit.
        s0 = steps[0]
        pred0 = -(gp @ s0 + 0.5 * s0 @ Hg @ s0)
        hopeless = ~better & jnp.isfinite(pred0) & (pred0 <= noise)
        snorm = jnp.max(jnp.abs(s_ref))
        small_x = snorm <= s.xtol * (1.0 + jnp.max(jnp.abs(u)))
        lam = jnp.where(better, jnp.maximum(lams[best], LAMBDA_MIN), state.lam * 100.0)
        stop = jnp.select(
            [~jnp.isfinite(f), (gnorm <= tol) & (small_x | ~better), hopeless | (lam > LAMBDA_MAX),
             state.steps + 1 >= s.max_steps],
            [Stop.NONFINITE, Stop.CONVERGED, Stop.STALLED, Stop.MAX_STEPS], -1)
        u_next = jnp.where(better & (stop != Stop.CONVERGED), trial[best], u)
        return State(u_next, lam, state.steps + 1, stop, gnorm, tol, snorm)

    inf = jnp.asarray(jnp.inf, u0.dtype)
    init = State(u0, jnp.asarray(1e-3, u0.dtype), jnp.asarray(0), jnp.asarray(-1), inf, inf, inf)
    return jax.lax.while_loop(lambda st: st.stop < 0, step, init)
