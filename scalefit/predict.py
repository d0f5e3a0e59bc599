"""Predictions as pure functions of a law and its parameters (or of a fit): loss, allocation,
tokens, with bootstrap bands.

``Fit.predict``, ``Fit.optimal`` and ``Fit.tokens`` delegate here; nothing here fits. A law
written for any array module (``Law.array_api``, every built-in law) is evaluated in numpy, so
predicting from a saved fit never imports JAX; other laws are evaluated by JAX, compiled.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .errors import ExtrapolationWarning
from .laws._spec import Law

LEVEL = 0.95                 # default band level

FAR = 1.0                    # decades beyond the fitted data past which a prediction warns
N_RANGE = (1e6, 1e15)        # default search range of N for a numeric compute-optimal allocation
D_MAX = 1e40                 # tokens searched up to in the tokens-to-target query


@functools.lru_cache(maxsize=32)
def _loss_fn(law: Law, draws: bool = False, per_draw: bool = False):
    """The law's loss, jitted; with ``draws``, mapped over a leading axis of parameter draws
    (and of the inputs too with ``per_draw``). Keyed on the law's value."""
    import jax

    fn = law.loss_fn()
    if draws:
        fn = jax.vmap(fn, in_axes=(0, 0 if per_draw else None, None))
    return jax.jit(fn)


def loss_draws(law: Law, draws: Mapping[str, np.ndarray], inputs: Mapping[str, np.ndarray],
               per_draw: bool = False) -> np.ndarray:
    """Returns the predicted loss under every parameter draw, shape (n_draws, *inputs' shape).

    Args:
        law: the law.
        draws: parameter name -> (n_draws,) values.
        inputs: input arrays (broadcast together); with ``per_draw`` each has a leading
            n_draws axis of its own.
    """
    arrays = np.broadcast_arrays(*(np.asarray(inputs[n], np.float64) for n in law.inputs))
    if law.array_api:                # draws along a leading axis, broadcast against the inputs
        ndim = arrays[0].ndim - (1 if per_draw else 0)
        p = {k: np.asarray(v, np.float64).reshape((-1,) + (1,) * ndim) for k, v in draws.items()}
        return _numpy(law, p, dict(zip(law.inputs, arrays)), (len(next(iter(p.values()))),)
                      + arrays[0].shape[1 if per_draw else 0:])
    import jax

    with jax.enable_x64(True):
        p = {k: np.asarray(v, np.float64) for k, v in draws.items()}
        out = _loss_fn(law, True, per_draw)(p, dict(zip(law.inputs, arrays)), {})
        return np.asarray(out, dtype=np.float64)


def evaluate_draws(law: Law, draws: Mapping[str, np.ndarray], x: Mapping[str, np.ndarray],
                   cells: int = 1 << 24) -> np.ndarray:
    """The law's loss under every parameter draw at inputs ``x`` as given, (n_draws, n_points),
    in chunks of points so draws x points x terms stays under ``cells`` numbers."""
    import jax

    n = len(next(iter(x.values())))
    width = max(int(np.prod(np.shape(v)[1:])) for v in x.values())
    B = len(next(iter(draws.values())))
    step = max(1, cells // max(1, B * width))
    out = []
    with jax.enable_x64(True):
        p = {k: np.asarray(v, np.float64) for k, v in draws.items()}
        for a in range(0, n, step):
            part = {k: np.asarray(v[a:a + step], np.float64) for k, v in x.items()}
            out.append(np.asarray(_loss_fn(law, True)(p, part, {}), np.float64))
    return np.concatenate(out, axis=1)


def _numpy(law: Law, p, x, shape) -> np.ndarray:
    """The law's loss computed by numpy (an ``array_api`` law), float64, broadcast to ``shape``
    (None: as it comes); over- and underflow give inf and 0 silently, as under JAX."""
    with np.errstate(all="ignore"):
        out = np.asarray(law.loss_fn()(p, x, {}), dtype=np.float64)
    return out if shape is None else np.broadcast_to(out, shape)


CURVE_CELLS = 1 << 17        # steps x terms x draws expanded at once in a curve prediction
                             # (100,000-step cosine, 96 terms: 2^15 0.13 s, 2^17 0.10 s,
                             # 2^21 0.22-0.27 s: smaller chunks stay in cache)


@functools.lru_cache(maxsize=32)
def _curve_fn(law: Law, draws: bool):
    """The law's loss at every step of ``Blocks``, jitted, chunk by chunk of steps: each chunk's
    terms are expanded from the prefix table inside the compiled loop (they never exist whole)."""
    import jax
    import jax.numpy as jnp

    from .data.schedule_sums import expand

    fn = law.loss_fn()
    if draws:
        fn = jax.vmap(fn, in_axes=(0, None, None))

    def run(p, area, steps, table, rates, before, lo, hi):
        return jax.lax.map(
            lambda a: fn(p, expand(a[0], a[1], table, rates, before, a[2], a[3], xp=jnp), {}),
            (area, steps, lo, hi))
    return jax.jit(run)


def evaluate_blocks(law: Law, params: Mapping, blocks, draws: bool = False) -> np.ndarray:
    """The law's loss at each step of ``blocks`` (``scalefit.data.schedule_sums.Blocks``):
    (n,), or (n_draws, n) with ``draws`` (params then map names to arrays of draws)."""
    import jax

    from .core.data import bucket

    n, M = blocks.lo.shape
    M *= 2                                           # two terms per group
    B = len(next(iter(params.values()))) if draws else 1
    chunk = 1 << max(0, (CURVE_CELLS // (M * B)).bit_length() - 1)
    chunk = min(chunk, 1 << (max(n, 1) - 1).bit_length())
    n_pad = -(-bucket(n) // chunk) * chunk
    edge = lambda a, size: np.concatenate([a, np.repeat(a[-1:], size - len(a), axis=0)])  # noqa: E731
    shaped = lambda a: edge(a, n_pad).reshape((n_pad // chunk, chunk) + a.shape[1:])  # noqa: E731
    with jax.enable_x64(True):
        p = {k: np.asarray(v, np.float64) for k, v in params.items()}
        out = _curve_fn(law, draws)(p, shaped(np.asarray(blocks.area, np.float64)),
                                    shaped(np.asarray(blocks.steps, np.float64)),
                                    *(edge(a, bucket(len(a))) for a in
                                      (blocks.table, blocks.rates, blocks.before)),
                                    shaped(blocks.lo), shaped(blocks.hi))
        out = np.asarray(out, np.float64)
    if draws:                                        # (chunks, B, chunk) -> (B, n)
        return out.transpose(1, 0, 2).reshape(B, n_pad)[:, :n]
    return out.reshape(n_pad)[:n]


def predict_loss(law: Law, params: Mapping[str, float], inputs: Mapping[str, np.ndarray]) -> np.ndarray:
    """Returns the predicted loss (the law's units, e.g. nats/token) at each point of ``inputs``.

    Raises:
        ValueError: an input the law needs is missing, or an input is not positive and finite.
    """
    if law.context:
        raise ValueError(f"{law.name} reads context ({', '.join(law.context)}); predict it "
                         "with its context, not from inputs alone.")
    missing = [n for n in law.inputs if n not in inputs]
    if missing:
        raise ValueError(f"{law.name} needs inputs {', '.join(law.inputs)}; missing "
                         f"{', '.join(missing)}.")
    arrays = np.broadcast_arrays(*(_positive(f"input {n!r}", inputs[n]) for n in law.inputs))
    return evaluate(law, params, dict(zip(law.inputs, arrays)))


def evaluate(law: Law, params: Mapping[str, float], x: Mapping[str, np.ndarray]) -> np.ndarray:
    """The law's loss at inputs ``x`` as given (float64, no checks): for laws whose inputs are
    not plain positive columns, such as the schedule terms of the loss-curve laws."""
    if law.array_api:
        x = {k: np.asarray(v, np.float64) for k, v in x.items()}
        p = {k: np.float64(v) for k, v in params.items()}
        return _numpy(law, p, x, None)
    import jax

    with jax.enable_x64(True):
        p = {k: np.float64(v) for k, v in params.items()}
        out = _loss_fn(law)(p, {k: np.asarray(v, np.float64) for k, v in x.items()}, {})
        return np.asarray(out, dtype=np.float64)


@dataclass(frozen=True)
class Allocation:
    """Compute-optimal model size and tokens for budgets C (FLOPs) under C = 6ND.

    Attributes are floats for a scalar budget, arrays otherwise: C (FLOPs), N (parameters),
    D (tokens), loss (predicted at (N, D)), decades_beyond (how far (N, D) lies outside the
    fitted data, see ``decades_beyond``; set by ``Fit.optimal``); ``band``: with a bootstrap,
    name -> (lower, upper); ``at_bound``: true where a numeric search found the loss lowest at
    an end of its N range, so N is that end, not an optimum.
    """

    C: np.ndarray | float
    N: np.ndarray | float
    D: np.ndarray | float
    loss: np.ndarray | float
    band: Mapping[str, tuple] | None = None
    decades_beyond: np.ndarray | float | None = None
    at_bound: np.ndarray | bool = False

    @property
    def tokens_per_param(self):
        return self.D / self.N

    def to_frame(self):
        """Returns a pandas DataFrame with columns C, N, D, D/N, loss (and, with a bootstrap
        band, ``<name>_lower`` and ``<name>_upper`` for each of N, D, D/N and loss)."""
        import pandas as pd

        return pd.DataFrame(self.columns())

    def columns(self) -> dict[str, np.ndarray]:
        """The columns of ``to_frame`` as 1-D arrays, in order (no pandas needed)."""
        out = {"C": np.atleast_1d(self.C), "N": np.atleast_1d(self.N),
               "D": np.atleast_1d(self.D), "D/N": np.atleast_1d(self.tokens_per_param),
               "loss": np.atleast_1d(self.loss)}
        for name, (lower, upper) in (self.band or {}).items():
            out[f"{name}_lower"], out[f"{name}_upper"] = np.atleast_1d(lower), np.atleast_1d(upper)
        if self.decades_beyond is not None:
            out["decades_beyond"] = np.atleast_1d(self.decades_beyond)
        if np.any(self.at_bound):
            out["at_N_bound"] = np.broadcast_to(np.atleast_1d(self.at_bound), out["C"].shape)
        return out


def _needs_nd(law: Law, what: str) -> None:
    if not {"N", "D"} <= set(law.inputs) or len(law.inputs) != 2:
        hint = (" For data_constrained, use scalefit.constrained.optimal_allocation(params, "
                "compute, unique_tokens)." if law.name == "data_constrained" else "")
        raise ValueError(f"{law.name} is a law of {', '.join(law.inputs)}; {what} needs a law "
                         f"of exactly N and D (e.g. chinchilla or kaplan).{hint}")


def _positive(name: str, values) -> np.ndarray:
    """Returns ``values`` as float64; ValueError naming the first value not positive and finite."""
    a = np.asarray(values, dtype=np.float64)
    ok = np.isfinite(a) & (a > 0)
    if not np.all(ok):
        raise ValueError(f"{name} must be positive and finite; got {a[~ok].ravel()[0]}.")
    return a


def optimal_allocation(law: Law, params: Mapping[str, float], compute,
                       n_range: tuple[float, float] = N_RANGE) -> Allocation:
    """Returns the (N, D) minimising the predicted loss for each budget C = 6ND (FLOPs).

    Closed form where the law gives one (Chinchilla); otherwise a search over log N within
    ``n_range``: a 2,001-point grid, then golden-section refinement around the best point. Where
    the loss is lowest at an end of ``n_range`` (a law without a floor, such as Farseer, can
    keep falling in N), the allocation is that end and ``at_bound`` is true for that budget.

    Raises:
        ValueError: the law is not a law of N and D, or a budget is not positive.
    """
    _needs_nd(law, "compute-optimal allocation")
    C = _positive("compute", compute)
    edge = np.zeros(np.shape(C), bool)
    if law.optimal is not None:
        N, D = law.optimal(dict(params), C)
    else:
        lossf = lambda N, D: predict_loss(law, params, {"N": N, "D": D})  # noqa: E731
        N, edge = _search_n(lossf, np.atleast_1d(C), n_range)
        N, edge = N.reshape(C.shape), edge.reshape(C.shape)
        N = np.where(edge, np.clip(N, *n_range), N)
        D = C / (6.0 * N)
    loss = predict_loss(law, params, {"N": N, "D": D})
    scalar = np.ndim(compute) == 0
    as_out = (lambda a: float(np.asarray(a))) if scalar else np.asarray
    return Allocation(as_out(C), as_out(N), as_out(D), as_out(loss),
                      at_bound=bool(edge) if scalar else edge)


def optimal_draws(law: Law, draws: Mapping[str, np.ndarray], compute,
                  n_range: tuple[float, float] = N_RANGE) -> dict[str, np.ndarray]:
    """Returns the compute-optimal N, D, D/N and loss under every draw, each (n_draws, n_budgets).

    A draw whose numeric optimum sits on an end of ``n_range`` gives NaN.
    """
    _needs_nd(law, "compute-optimal allocation")
    C = np.atleast_1d(_positive("compute", compute)).ravel()
    B = len(next(iter(draws.values())))
    if law.optimal is not None:
        N, D = law.optimal({k: np.asarray(v)[:, None] for k, v in draws.items()}, C[None, :])
        N, D = np.broadcast_to(N, (B, len(C))), np.broadcast_to(D, (B, len(C)))
    else:
        lossf = lambda N, D: loss_draws(law, draws, {"N": N, "D": D}, per_draw=True)  # noqa: E731
        cols = [_search_n(lossf, np.full((B, 1), c), n_range) for c in C]
        N = np.concatenate([np.where(edge, np.nan, n) for n, edge in cols], axis=1)
        D = C[None, :] / (6.0 * N)
    loss = loss_draws(law, draws, {"N": N, "D": D}, per_draw=True)
    return {"N": N, "D": D, "D/N": D / N, "loss": loss}


def _search_n(lossf, C, n_range):
    """Returns log-N-searched optimal N for budgets C (any shape) and where it hit an end.

    ``lossf(N, D)`` broadcasts like its inputs (a leading draw axis included).
    """
    lo, hi = np.log(n_range[0]), np.log(n_range[1])
    grid = np.linspace(lo, hi, 2001)
    logn = np.broadcast_to(grid, C.shape + grid.shape)
    L = lossf(np.exp(logn), C[..., None] / (6 * np.exp(logn)))
    k = np.argmin(np.where(np.isnan(L), np.inf, L), axis=-1)
    edge = (k == 0) | (k == len(grid) - 1)
    k = np.clip(k, 1, len(grid) - 2)
    a, b = grid[k - 1], grid[k + 1]
    g = (np.sqrt(5) - 1) / 2

    def loss_at(x):
        return lossf(np.exp(x), C / (6 * np.exp(x)))

    for _ in range(80):                     # golden section: bracket shrinks to 1e-16 of its size
        x1, x2 = b - g * (b - a), a + g * (b - a)
        left = loss_at(x1) <= loss_at(x2)
        a, b = np.where(left, a, x1), np.where(left, x2, b)
    return np.exp(0.5 * (a + b)), edge


def tokens_for_loss(law: Law, params: Mapping[str, float], target, N):
    """Returns the tokens D at which a model of N parameters reaches loss ``target``.

    Solves L(N, D) = target for D by bisection on log D (L falls as D grows).

    Raises:
        ValueError: the law has no D input; N or target not positive; the target is at or
            below the law's floor at that N (it is never reached); or L(N, D) = target has no
            solution with D >= 1.
    """
    target, N = _tokens_inputs(law, target, N)
    inputs = {"N": N} if "N" in law.inputs else {}
    lossf = lambda D: predict_loss(law, params, {**inputs, "D": D})  # noqa: E731
    floor = np.broadcast_to(law.floor(dict(params), N) if law.floor is not None
                            else lossf(np.full(N.shape, D_MAX)), N.shape)
    if np.any(target <= floor):
        i = np.flatnonzero(target.ravel() <= floor.ravel())[0]
        raise ValueError(f"Target loss {target.ravel()[i]:.6g} is at or below {law.name}'s floor "
                         f"{floor.ravel()[i]:.6g} at N = {N.ravel()[i]:.4g}: "
                         "no amount of data reaches it. Raise the target or use a larger N.")
    if np.any(lossf(np.ones(N.shape)) < target):
        raise ValueError(f"Target loss is above the predicted loss at D = 1 token: "
                         f"{law.name} reaches it with less than one token.")
    D = _bisect_d(lossf, target)
    return float(D) if D.ndim == 0 else D


def tokens_draws(law: Law, draws: Mapping[str, np.ndarray], target, N) -> np.ndarray:
    """Returns the tokens to reach ``target`` at N under every draw, (n_draws, *shape).

    inf where a draw's floor is at or above the target (never reached), 1 where it is reached
    with less than one token.
    """
    target, N = _tokens_inputs(law, target, N)
    B = len(next(iter(draws.values())))
    shape = (B,) + N.shape
    inputs = {"N": np.broadcast_to(N, shape)} if "N" in law.inputs else {}
    lossf = lambda D: loss_draws(law, draws, {**inputs, "D": D}, per_draw=True)  # noqa: E731
    floor = (law.floor({k: np.asarray(v).reshape((B,) + (1,) * N.ndim) for k, v in draws.items()}, N)
             if law.floor is not None else lossf(np.full(shape, D_MAX)))
    never = np.broadcast_to(target, shape) <= np.broadcast_to(floor, shape)
    D = _bisect_d(lossf, np.broadcast_to(target, shape))
    D = np.where(never, np.inf, D)
    return np.where(lossf(np.ones(shape)) < target, 1.0, D)


def _tokens_inputs(law: Law, target, N):
    if "D" not in law.inputs:
        raise ValueError(f"{law.name} is a law of {', '.join(law.inputs)}; the tokens query "
                         "needs a law with a D input.")
    return np.broadcast_arrays(_positive("target loss", target), _positive("N", N))


def _bisect_d(lossf, target) -> np.ndarray:
    """log-D bisection of lossf(D) = target over 1 <= D <= D_MAX (loss falls as D grows)."""
    lo, hi = np.zeros(target.shape), np.full(target.shape, np.log(D_MAX))
    for _ in range(100):                    # log D bracket of 92 shrinks below 1e-14
        mid = 0.5 * (lo + hi)
        above = lossf(np.exp(mid)) > target
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.exp(0.5 * (lo + hi))


def beyond(ranges: Mapping[str, Mapping[str, float]],
           inputs: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Returns, per input, how many decades each point lies outside the fitted range of that
    input: log10(x / largest fitted) above it, log10(x / smallest fitted) (negative) below it,
    0 inside. Inputs without a recorded range are left out."""
    out = {}
    for name, x in inputs.items():
        span = ranges.get(name) or {}
        if "min" not in span:
            continue
        v = np.log10(np.asarray(x, np.float64))
        hi, lo = np.log10(span["max"]), np.log10(span["min"])
        out[name] = np.where(v > hi, v - hi, np.where(v < lo, v - lo, 0.0))
    return out


def farthest(per_input: Mapping[str, np.ndarray]) -> np.ndarray:
    """The largest distance (decades, either side) over the inputs of ``beyond``'s result."""
    if not per_input:
        return np.zeros(())
    return np.max(np.abs(np.broadcast_arrays(*per_input.values())), axis=0)


def far_message(per_input: Mapping[str, np.ndarray], ranges, what: str) -> str | None:
    """Words for the farthest point beyond ``FAR`` decades, or None when all lie closer."""
    if not per_input:
        return None
    worst = max(per_input, key=lambda n: np.max(np.abs(per_input[n])))
    d = np.ravel(per_input[worst])[np.argmax(np.abs(np.ravel(per_input[worst])))]
    if abs(d) <= FAR:
        return None
    side, end = ("above the largest", "max") if d > 0 else ("below the smallest", "min")
    return (f"{what} lies {abs(d):.2g} decades {side} fitted {worst} "
            f"({ranges[worst][end]:.3g}): an extrapolation; treat it with care.")


def default_budgets(ranges: Mapping[str, Mapping[str, float]]) -> np.ndarray:
    """Budgets for a compute-optimal table: the powers of 10 from one decade below the data's
    largest compute (6 x largest N x largest D) to three decades above it."""
    top = np.floor(np.log10(6.0 * ranges["N"]["max"] * ranges["D"]["max"]))
    return 10.0 ** np.arange(top - 1, top + 4)


def band(draws: np.ndarray, level: float) -> tuple[np.ndarray, np.ndarray]:
    """Returns the central percentile interval (lower, upper) of ``draws`` along axis 0.

    NaN draws (a numeric search that hit its range) are left out.

    Raises:
        ValueError: ``level`` is not strictly between 0 and 1.
    """
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level}.")
    q = 100 * np.array([(1 - level) / 2, (1 + level) / 2])
    with np.errstate(invalid="ignore"):
        lower, upper = np.nanpercentile(np.asarray(draws, np.float64), q, axis=0)
    return lower, upper


# ---- a fit's predictions with their bands (what ``Fit`` and the command line call) ----
# ``fit`` is anything with ``law``, ``params``, ``data`` (its "inputs" ranges) and ``resamples``
# (None, or the bootstrap with ``draws(names)``): a ``scalefit.Fit``, fresh or loaded.


def draws(fit) -> dict[str, np.ndarray] | None:
    """The converged bootstrap draws of ``fit`` by parameter name, or None without a bootstrap."""
    return None if fit.resamples is None else fit.resamples.draws(fit.law.param_names)


def far(fit, x: Mapping[str, np.ndarray], what: str) -> np.ndarray:
    """How far the points of ``x`` lie outside the data ``fit`` was fitted to (decades, the
    largest over the inputs); an ``ExtrapolationWarning`` names the input beyond ``FAR``."""
    ranges = fit.data.get("inputs", {})
    per = beyond(ranges, x)
    message = far_message(per, ranges, what)
    if message:
        warnings.warn(message, ExtrapolationWarning, stacklevel=4)
    return farthest(per)


def loss_columns(fit, x: Mapping[str, np.ndarray], level: float = LEVEL) -> dict[str, np.ndarray]:
    """The loss ``fit`` predicts at inputs ``x``: ``{"loss": array}`` shaped like the inputs;
    with a bootstrap, flat columns ``loss``, ``lower``, ``upper`` (the ``level`` band over the
    converged refits) and ``decades_beyond``."""
    loss = predict_loss(fit.law, fit.params, x)
    distance = far(fit, x, "a prediction")
    refits = draws(fit)
    if refits is None:
        return {"loss": loss}
    lower, upper = band(loss_draws(fit.law, refits, x), level)
    return {"loss": np.ravel(loss), "lower": np.ravel(lower), "upper": np.ravel(upper),
            "decades_beyond": np.ravel(np.broadcast_to(distance, np.shape(loss)))}


def allocation(fit, compute=None, n_range: tuple[float, float] | None = None,
               level: float = LEVEL) -> Allocation:
    """The compute-optimal allocation of ``fit`` (see ``Fit.optimal``), with its band."""
    law = fit.law
    _needs_nd(law, "compute-optimal allocation")
    ranges = fit.data.get("inputs", {})
    if compute is None:
        compute = default_budgets(ranges)
    if n_range is None:
        n_range = ((ranges["N"]["min"] / 100, ranges["N"]["max"] * 100) if "N" in ranges
                   else N_RANGE)
    alloc = optimal_allocation(law, fit.params, compute, n_range)
    if np.any(alloc.at_bound):
        first = np.atleast_1d(alloc.C)[np.atleast_1d(alloc.at_bound)][0]
        warnings.warn(f"from C = {first:.3g} the loss of {law.name} is lowest at an end of the N "
                      f"range {n_range[0]:.3g}..{n_range[1]:.3g}, so those rows give that end "
                      "(at_N_bound), not an optimum; pass n_range to search wider.",
                      UserWarning, stacklevel=3)
    distance = far(fit, {"N": alloc.N, "D": alloc.D}, "a compute-optimal allocation")
    alloc = dataclasses.replace(alloc, decades_beyond=distance if np.ndim(distance)
                                else float(distance))
    refits = draws(fit)
    if refits is None:
        return alloc
    per = optimal_draws(law, refits, compute, n_range)
    shape = np.shape(alloc.N)
    bands = {k: tuple(np.reshape(b, shape) for b in band(v, level)) for k, v in per.items()}
    if not shape:
        bands = {k: (float(a), float(b)) for k, (a, b) in bands.items()}
    return dataclasses.replace(alloc, band=MappingProxyType(bands))


def tokens_columns(fit, loss, N, level: float = LEVEL) -> dict[str, np.ndarray]:
    """The tokens ``fit`` needs at N parameters to reach ``loss``: ``{"D": D}``; with a
    bootstrap, flat columns ``D``, ``lower``, ``upper`` (inf: some refits never reach it) and
    ``decades_beyond``."""
    D = tokens_for_loss(fit.law, fit.params, loss, N)
    x = {"N": N, "D": D} if "N" in fit.law.inputs else {"D": D}
    distance = far(fit, x, "the tokens to reach that loss")
    refits = draws(fit)
    if refits is None:
        return {"D": D}
    lower, upper = band(tokens_draws(fit.law, refits, loss, N), level)
    return {"D": np.ravel(D), "lower": np.ravel(lower), "upper": np.ravel(upper),
            "decades_beyond": np.ravel(np.broadcast_to(distance, np.shape(D)))}
