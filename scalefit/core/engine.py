"""The one engine that fits any law: screen starts, solve lanes, for a batch of weight vectors.

Nothing here knows a named law: a ``Spec`` supplies the law, its free, fixed and tied parameters
and the loss; the engine minimises sum_i w_i * rho(log L_i - log y_i) over a ``Data`` pytree.
A *lane* is one (start, weight vector) pair: a multi-start fit solves the best ``n_solve``
screened starts of one weight vector; a bootstrap solves one lane per resample from the optimum;
backtest masks and per-group sub-fits are weight vectors too. Every lane is independent, so a
batch gives the same numbers whether it runs on one device or is sharded over several.

The kernels are module-level ``jax.jit`` functions whose static arguments (the spec, chunk sizes)
compare by value: equal laws and equal shapes share one compilation, and ``compilations()``
counts how often scalefit traced (compiled) a kernel in this process.
"""

from __future__ import annotations

import collections
import functools
import math
from collections.abc import Mapping

import jax
import jax.numpy as jnp
import numpy as np

from .._options import DEFAULTS, Options
from . import exported
from .data import Data, bucket, pad
from .objective import evaluate, law_inputs, objective, point_terms, residuals
from .result import Convergence, CoreResult, Lanes, Stop
from .solver import Settings, grad_tol, held, solve_one
from .spec import Spec, grid_search_scale

CHUNK = 4               # lanes per vmapped while-loop on a CPU; chunks run one after another,
                        # so a slow start holds up only its own chunk. Measured on 2 cores (fit
                        # of 240 points, 32 starts; 4,000 bootstrap refits): 4 lanes 44 ms and
                        # 1.08 s, 16 lanes 48 ms and 1.12 s, 32 lanes 61 ms.
HEAVY_CELLS = 1 << 15   # ... but one lane at a time on a CPU where a lane's data hold this many
                        # cells (points x the widest input's values per point): there the
                        # vmapped exact Hessian cost 3x four single ones, and a chunk waits for
                        # its slowest lane (multi-power law on 451 points x 128 schedule terms:
                        # 13-14 s in chunks of 4, 6 s one at a time)
CHUNK_ACCELERATOR = 64  # wider on a GPU or TPU, where a while-loop step costs the same for more
                        # lanes (not measured here)
SCREEN_CELLS = 1 << 18  # starts x cells evaluated at once while screening (float32: 1 MiB, so
                        # intermediates stay in cache: 1,024 multi-power starts on 480 x 128
                        # cells took 0.56 s at once, 0.08 s in chunks of 4-16)
SCREEN_POINTS = 16384   # screen and solve on an even subsample of at most this many points,
REFINE = 4              # then solve this many of the best on all points
LANE_CELLS = 1 << 22    # lanes x points of weights handed to one solve call
CALL_LANES = 32         # ... and at most this many lanes per call on a CPU: a fit's 32 solved
                        # starts and any bootstrap (in batches of 32 refits) then run one
                        # compiled program, where each lane count compiled its own (1.5-2 s)

_TRACES: collections.Counter = collections.Counter()


def compilations() -> dict[str, int]:
    """Returns how many times each of scalefit's kernels was traced (compiled) in this process.

    A fit whose law, options and padded shapes match an earlier one adds nothing here.
    """
    return dict(_TRACES)


def cells(data: Data) -> int:
    """The values a lane reads per evaluation: points times the widest input's values per point
    (1 for plain columns; a loss-curve law's schedule terms are (points, terms))."""
    width = max((int(np.prod(np.shape(v)[1:])) for v in data.x.values()), default=1)
    return data.n_pad * max(width, 1)


def _settings(options: Options, total_weight: float) -> Settings:
    return Settings(*(np.float64(v) for v in (options.gtol, 1e-15 * total_weight, options.xtol,
                                              options.polish)), np.int64(options.max_steps))


def _jax_data(data: Data) -> Data:
    return Data(x={k: jnp.asarray(v, jnp.float64) for k, v in data.x.items()},
                log_y=jnp.asarray(data.log_y, jnp.float64),
                weight=jnp.asarray(data.weight, jnp.float64),
                group=jnp.asarray(data.group, jnp.int32),
                context={k: jnp.asarray(v, jnp.float64) for k, v in data.context.items()})


@functools.partial(jax.jit, static_argnames=("spec", "k", "chunk"))
def _screen(spec, U, n_real, data, W, fixed, shape, *, k, chunk):
    """Indices (B, k) of the k lowest-objective starts for each weight vector (float32)."""
    _TRACES["screen"] += 1
    # Screening only ranks the starts, so it runs in float32 (4x faster); every solve is
    # float64. Context leaves stay as they are. A start that overflows ranks last.
    f32 = lambda a: jnp.asarray(a, jnp.float32)  # noqa: E731
    data = data._replace(x={n: f32(v) for n, v in data.x.items()}, log_y=f32(data.log_y))
    W, fixed, shape = f32(W), f32(fixed), f32(shape)

    def one_chunk(Uc):
        r = jax.vmap(lambda u: residuals(spec, u, data, fixed))(Uc)
        rho = point_terms(r, shape, spec.loss)[0]
        return jnp.einsum("sn,bn->sb", rho, W)

    S, p = U.shape
    F = jax.lax.map(one_chunk, f32(U).reshape(S // chunk, chunk, p)).reshape(S, -1).T
    F = jnp.where(jnp.isfinite(F) & (jnp.arange(S) < n_real)[None, :], F, jnp.inf)
    return jax.lax.top_k(-F, k)[1]


def _lane(spec, u0, w, data, fixed, shape, lo, hi, settings):
    ev = functools.partial(evaluate, spec, data=data, w=w, fixed=fixed, shape=shape)
    obj = functools.partial(objective, spec, data=data, w=w, fixed=fixed, shape=shape)
    st = solve_one(ev, obj, u0, lo, hi, settings)
    f, g, _, He, noise, meat = ev(st.u)
    gnorm = jnp.max(jnp.abs(jnp.where(held(st.u, g, lo, hi), 0.0, g)))
    return dict(u=st.u, f=f, gnorm=gnorm, gtol=grad_tol(f, He, st.u, settings), noise=noise,
                stop=st.stop, steps=st.steps, snorm=st.snorm, hessian=He, meat=meat)


def _lanes_local(spec, chunk, U0, WL, data, fixed, shape, lo, hi, settings):
    L, p = U0.shape
    one = lambda u0, w: _lane(spec, u0, w, data, fixed, shape, lo, hi, settings)  # noqa: E731
    out = jax.lax.map(lambda a: jax.vmap(one)(*a),
                      (U0.reshape(L // chunk, chunk, p), WL.reshape(L // chunk, chunk, -1)))
    return jax.tree.map(lambda a: a.reshape((L,) + a.shape[2:]), out)


def _mesh():
    """All devices on one axis, ``lanes``: a batch's lanes are split evenly between them."""
    return jax.make_mesh((jax.device_count(),), ("lanes",))


def _lanes_on_devices(a: np.ndarray):
    """The array on the devices, split along its first (lane) axis when there are several."""
    if jax.device_count() == 1:
        return jnp.asarray(a)
    from jax.sharding import NamedSharding, PartitionSpec as P

    return jax.device_put(a, NamedSharding(_mesh(), P("lanes")))


@functools.partial(jax.jit, static_argnames=("spec", "chunk"))
def _solve(spec, U0, WL, data, fixed, shape, lo, hi, settings, *, chunk):
    """Solves every lane (start U0[l] under weights WL[l]); lanes sharded over devices."""
    _TRACES["solve"] += 1
    body = functools.partial(_lanes_local, spec, chunk)
    if jax.device_count() > 1:
        from jax.sharding import PartitionSpec as P

        body = jax.shard_map(body, mesh=_mesh(), in_specs=(P("lanes"), P("lanes")) + (P(),) * 6,
                             out_specs=P("lanes"), check_vma=False)
    return body(U0, WL, data, fixed, shape, lo, hi, settings)


@functools.partial(jax.jit, static_argnames=("spec",))
def _residuals(spec, u, data, fixed):
    _TRACES["residuals"] += 1
    return residuals(spec, u, data, fixed)


def sandwich(hessian: np.ndarray, meat: np.ndarray) -> np.ndarray:
    """Returns H^-1 (meat) H^-1, the sandwich covariance; NaN where H is not positive definite."""
    try:
        L = np.linalg.cholesky(hessian)
    except np.linalg.LinAlgError:
        return np.full(hessian.shape, np.nan)
    Hinv = np.linalg.inv(L).T @ np.linalg.inv(L)
    return Hinv @ meat @ Hinv


def lane_bucket(n: int) -> int:
    """Rounds a lane count up to a power of two up to 16, then to ``bucket(n)``."""
    return 1 << (n - 1).bit_length() if n <= 16 else bucket(n)


def solve_lanes(spec: Spec, data: Data, fixed: Mapping[str, float], U0: np.ndarray,
                WL: np.ndarray, options: Options = DEFAULTS, chunk: int | None = None,
                box: tuple[np.ndarray, np.ndarray] | None = None) -> Lanes:
    """Solves each lane l from search-scale start U0[l] under weights WL[l]; one result per lane.

    The lane count is padded to ``lane_bucket(L)`` (so nearby counts share a compilation) and
    lanes run in blocks of at most ``LANE_CELLS`` weights (and, on a CPU, ``CALL_LANES`` lanes),
    each a multiple of ``chunk`` times the device count; padding repeats a block's first lane
    and its results are dropped.

    Args:
        spec: the law with its free, fixed and tied parameters and the loss.
        data: the padded data pytree.
        fixed: values of the fixed parameters, natural scale.
        U0: (L, n_free) starts on the search scale.
        WL: (L, n) or (L, n_pad) effective per-point weights of each lane.
        options: tolerances.
        chunk: lanes per vmapped while-loop (default ``CHUNK`` on a CPU, 1 for lanes of at
            least ``HEAVY_CELLS`` cells, else ``CHUNK_ACCELERATOR``).
        box: search-scale (lower, upper) bounds of the free parameters, when the data tighten
            the spec's (``Law.data_bounds``); default ``spec.bounds()``.
    """
    if chunk is None:
        chunk = CHUNK_ACCELERATOR if jax.default_backend() != "cpu" else \
            1 if cells(data) >= HEAVY_CELLS else CHUNK
    U0 = np.asarray(U0, np.float64)
    L = len(U0)
    lanes = lane_bucket(L)
    chunk = min(chunk, lanes)
    WL = np.asarray(WL, np.float64)
    if WL.shape[1] < data.n_pad:
        WL = np.concatenate([WL, np.zeros((L, data.n_pad - WL.shape[1]))], axis=1)
    unit = chunk * jax.device_count()
    block = max(unit, (LANE_CELLS // data.n_pad) // unit * unit)
    if jax.default_backend() == "cpu":        # one program for every batch of lanes
        block = max(unit, min(block, CALL_LANES // unit * unit))
    size = min(block, -(-lanes // unit) * unit)
    lo, hi = spec.bounds() if box is None else box
    settings = _settings(options, float(np.sum(data.weight)))
    parts = []
    with jax.enable_x64(True):
        jdata = _jax_data(data)
        args = (jnp.asarray([fixed[n] for n in spec.fixed], jnp.float64), options.loss_shape(),
                jnp.asarray(lo), jnp.asarray(hi), settings)
        for s in range(0, L, size):
            m = min(size, L - s)
            u = np.concatenate([U0[s:s + m], np.repeat(U0[s:s + 1], size - m, axis=0)])
            w = np.concatenate([WL[s:s + m], np.repeat(WL[s:s + 1], size - m, axis=0)])
            out = exported.call("solve", _solve, spec, (_lanes_on_devices(u),
                                                        _lanes_on_devices(w), jdata, *args),
                                {"chunk": chunk})
            part = {k: np.asarray(a)[:m] for k, a in out.items()}
            part["f"] = np.where(np.isfinite(part["f"]), part["f"], np.inf)
            parts.append(Lanes(**part))
    return Lanes.concat(parts)


def subsample(data: Data, n: int) -> tuple[Data, np.ndarray, int]:
    """Returns an even subsample of very large data (every k-th point, weights times k).

    Data of at most ``SCREEN_POINTS`` points come back whole (k = 1). Points are taken in their
    order, so per-step logs keep every run and the whole span of steps.
    """
    if n <= SCREEN_POINTS:
        return data, np.arange(n), 1
    k = -(-n // SCREEN_POINTS)
    idx = np.arange(0, n, k)
    size = bucket(len(idx))
    pick = lambda a: pad(np.asarray(a)[idx], size, np.asarray(a)[idx[0]])  # noqa: E731
    sub = Data(x={name: pick(v) for name, v in data.x.items()}, log_y=pick(data.log_y),
               weight=pad(data.weight[idx] * k, size, 0.0), group=pick(data.group),
               context=data.context)
    return sub, idx, k


def screen(spec: Spec, data: Data, fixed: Mapping[str, float], U: np.ndarray, W: np.ndarray,
           k: int, shape) -> np.ndarray:
    """Returns (B, k) indices of the k best of the search-scale starts U for each weight vector.

    Starts are evaluated in chunks of at most ``SCREEN_CELLS`` start-cells (``cells``), so
    memory stays flat as data grow; user starts are padded to a bucket size like the data.
    """
    S = bucket(len(U))
    chunk = max(1, min(S, SCREEN_CELLS // cells(data)))
    chunk = 1 << (chunk.bit_length() - 1) if chunk < S else S
    S = -(-S // chunk) * chunk
    Wp = np.zeros((len(W), data.n_pad))
    Wp[:, :W.shape[1]] = W
    with jax.enable_x64(True):
        idx = exported.call("screen", _screen, spec, (
            jnp.asarray(pad(U, S, 0.0)), np.int32(len(U)), _jax_data(data), jnp.asarray(Wp),
            jnp.asarray([fixed[n] for n in spec.fixed], jnp.float64), np.asarray(shape, np.float64)),
            {"k": min(k, S), "chunk": chunk})
    return np.asarray(idx)[:, :min(k, len(U))]


def solve(spec: Spec, data: Data, n: int, fixed: Mapping[str, float] | None = None,
          starts: np.ndarray | None = None, weights: np.ndarray | None = None,
          options: Options = DEFAULTS,
          box: tuple[np.ndarray, np.ndarray] | None = None) -> list[CoreResult]:
    """Fits ``spec`` from many starts, once per weight vector; returns each one's best start.

    The starts are screened (objective only, float32), the best ``options.n_solve`` solved in
    float64. Above ``SCREEN_POINTS`` points, screening and solving run on an even subsample and
    the best ``REFINE`` solutions of each weight vector are then solved on all points, so time
    and memory grow linearly with the data.

    Args:
        spec: the law with its free, fixed and tied parameters and the loss.
        data: the padded data pytree (``make_data``).
        n: the number of real (unpadded) points.
        fixed: values of the fixed parameters, natural scale.
        starts: (n_starts, n_free) natural-scale starts; default the law's grid.
        weights: (B, n) effective weights, one fit per row; default one fit with the data's.
        options: loss settings, screening and tolerances.
        box: search-scale bounds tighter than the spec's (``solve_lanes``); starts outside it
            are moved onto it.
    """
    fixed = dict(fixed or {})
    U = grid_search_scale(spec) if starts is None else spec.to_search(starts)
    if box is not None:
        U = np.clip(U, box[0], box[1])
    W = data.weight[None, :n] if weights is None else np.atleast_2d(np.asarray(weights, float))
    sub, idx, scale = subsample(data, n)
    Wsub = W[:, idx] * scale
    k = len(U) if options.n_solve is None else min(options.n_solve, len(U))
    pick = np.broadcast_to(np.arange(len(U)), (len(W), k)) if k == len(U) else \
        screen(spec, sub, fixed, U, Wsub, k, options.loss_shape())
    lanes = solve_lanes(spec, sub, fixed, U[pick.ravel()], np.repeat(Wsub, k, axis=0), options,
                        box=box)
    parts = [lanes.take(slice(b * k, (b + 1) * k)) for b in range(len(W))]
    refined = [None] * len(W)
    if sub is not data:
        r = min(REFINE, k)
        best = [part.u[np.argsort(part.f, kind="stable")[:r]] for part in parts]
        again = solve_lanes(spec, data, fixed, np.concatenate(best), np.repeat(W, r, axis=0),
                            options, box=box)
        refined = [again.take(slice(b * r, (b + 1) * r)) for b in range(len(W))]
    return [_result(spec, data, n, fixed, parts[b], refined[b], len(U), W[b], options,
                    subsample=len(idx) if sub is not data else 0, box=box)
            for b in range(len(W))]


def _best(lanes: Lanes) -> int:
    """The best lane: lowest objective; among those tied within f's round-off, one that
    converged, then the smallest gradient."""
    f = lanes.f
    first = int(np.argmin(f))
    tied = f <= f[first] + lanes.noise[first]
    return int(np.lexsort((lanes.gnorm, lanes.stop != Stop.CONVERGED, ~tied))[0])


def _result(spec, data, n, fixed, lanes: Lanes, refined: Lanes | None, n_starts, w, options,
            subsample: int = 0, box=None) -> CoreResult:
    f = lanes.f
    order = np.argsort(f, kind="stable")
    basin = int(np.sum(f <= f[order[0]] + options.basin_rtol * abs(f[order[0]])))
    final = lanes if refined is None else refined
    best = _best(final)
    u, fbest = final.u[best], float(final.f[best])
    lo, hi = spec.bounds() if box is None else box
    stops = Stop.count(lanes.stop)
    near = lambda v, b: math.isfinite(b) and abs(v - b) <= 1e-9 * (1 + abs(b))  # noqa: E731
    at_bound = tuple(n for n, v, a, b in zip(spec.free, u, lo, hi) if near(v, a) or near(v, b))
    conv = Convergence(
        stop=Stop(int(final.stop[best])), n_steps=int(final.steps[best]),
        grad_norm=float(final.gnorm[best]), grad_tol=float(final.gtol[best]),
        step_norm=float(final.snorm[best]), n_starts=int(n_starts), n_solved=len(f),
        n_best_basin=basin, stops=stops, at_bound=at_bound, subsample=subsample,
        n_refined=0 if refined is None else len(refined.f))
    fixed_values = [fixed[name] for name in spec.fixed]
    with jax.enable_x64(True):
        r = _residuals(spec, jnp.asarray(u), _jax_data(data),
                       jnp.asarray(fixed_values, jnp.float64))
        params = {k: float(v) for k, v in spec.params(u, fixed_values).items()}
    cov = sandwich(final.hessian[best], final.meat[best])
    for i, name in enumerate(spec.free):
        if name in at_bound:                 # a parameter held at a bound has no interval
            cov[i, :] = cov[:, i] = np.nan
    cov.setflags(write=False)
    return CoreResult(params={k: params[k] for k in spec.law.param_names}, objective=fbest,
                      convergence=conv, residuals=np.asarray(r)[:n], free=spec.free,
                      objectives=f[order], u=np.asarray(u), covariance=cov)


def check_law(spec: Spec, data: Data) -> None:
    """Traces the law once on the data's shapes (no compilation, no values computed).

    Catches what a law's code gets wrong: a name it reads that is not an input, parameter or
    context array; an output that is not one value per point. The outcome depends only on the
    spec and the shapes, so a passing check is remembered for them (a bounded cache keyed on
    their values).

    Raises:
        ValueError: the law's function fails, or does not return one value per point.
    """
    shapes = lambda d: tuple((k, np.shape(v)) for k, v in sorted(d.items()))  # noqa: E731
    _check_shapes(spec, shapes(data.x), shapes(data.context), data.n_pad)


@functools.lru_cache(maxsize=256)
def _check_shapes(spec: Spec, x_shapes: tuple, context_shapes: tuple, n_pad: int) -> None:
    law = spec.law
    hint = (f"Check that it reads only its inputs ({', '.join(law.inputs)}) and parameters "
            f"({', '.join(law.param_names)})"
            + (f" and context ({', '.join(law.context)})" if law.context else "")
            + " and returns one value per point.")
    f64 = lambda shapes: {k: jax.ShapeDtypeStruct(s, jnp.float64) for k, s in shapes}  # noqa: E731
    data = Data(x=f64(x_shapes), log_y=jax.ShapeDtypeStruct((n_pad,), jnp.float64),
                weight=jax.ShapeDtypeStruct((n_pad,), jnp.float64),
                group=jax.ShapeDtypeStruct((n_pad,), jnp.int32), context=f64(context_shapes))
    u = np.zeros(len(spec.free))
    try:
        with jax.enable_x64(True):
            fixed_values = jnp.zeros(len(spec.fixed), jnp.float64)
            out = jax.eval_shape(
                lambda d: law.log_fn()(spec.params(jnp.asarray(u), fixed_values),
                                       law_inputs(spec, d), d.context), data)
    except Exception as err:  # a user's function can fail in any way; say where it failed
        raise ValueError(f"law {law.name!r} failed on the data ({type(err).__name__}: {err}). "
                         f"{hint}") from None
    if out.shape != (n_pad,):
        raise ValueError(f"law {law.name!r} returned shape {out.shape}, not one value per point "
                         f"({n_pad},). {hint}")
