"""The schedule sums of loss-curve laws, fast: parameter-free terms for each logged step.

The multi-power law (Luo et al. 2025, "A Multi-Power Law for Loss Curve Prediction Across
Learning Rate Schedules") and the LR-annealing law (Tissue et al. 2024, "Scaling Law with
Learning Rate Annealing") sum over every earlier step k of a run:

    LD(s) = Σ_{k=1..s} (η_k − η_{k−1}) · G(η_k^(−γ) · S_k(s)),   S_k(s) = Σ_{τ=k..s} η_τ
    S2(s) = Σ_{k=1..s} (η_{k−1} − η_k) · (1 − λ^(s−k+1)) / (1 − λ)

with parameters (γ and G's, or λ) inside the sum, so the sum cannot be precomputed whole, and
the naive loop is O(T²). Here the earlier steps k of each logged step s are split into a short
list of groups of consecutive steps, and each group's sum is taken by two-point Gauss quadrature:
two terms, each with half the group's summed rate change ``w``, at the steps m ± sd (the mean
and standard deviation of k weighted by the rate changes), with the rate, the area S from there
to s and the age s − k + 1 interpolated there. The two points match the group's first three
moments, so the error of a group falls with the fourth power of its width (one point at the
mean, its third power):

- the last ``exact`` steps before s are groups of their own (exact);
- older steps are grouped into blocks no longer than a ``ratio``-th of their distance from s
  (so about ratio·log2(T/exact) blocks), and never across a change of sign of the rate change
  or a change of the rate by more than ``rel_change`` (a factor 1 + rel_change; so a warmup
  from 0 stays apart from the decay). Any block's sums come from prefix sums, so building the
  groups is O(n · M) for n logged steps and M groups.

A law then evaluates its sum over 2·O(exact + ratio·log T) terms per step. Groups where the
rate does not change contribute nothing and are left out. ``blocks`` returns the groups as
ranges of steps (small), ``expand`` the terms from them with numpy or jax.numpy (a compiled
prediction expands them chunk by chunk), ``terms`` both. Pure numpy; parameters never enter.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalefit.errors import DataError

EXACT = 8           # the last steps before each logged step, summed one by one
RATIO = 2           # a group is at most 1/RATIO of its distance from the logged step
REL_CHANGE = 1.0    # a group never spans a rate change of more than a factor 2
# Measured against the exact sums on 100,000-step cosine, WSD (geometric, 1-sqrt to 0) and
# two-step schedules and the official 24,000-step WSD (geometric, linear) and cosine, each with
# a warmup from 0 (2,160 steps): the multi-power law's loss within 4.1e-6 with the published 100M
# parameters and with a fit's (gamma = 1.36, C = 0.0019), the LR-annealing law's within 6.8e-6
# (lambda = 0.999), with at most 92 terms a step. Finer: (8, 3, 0.25) 3.0e-6, 164 terms;
# coarser: (8, 2, 2.0) 2.2e-5, 82 terms; (8, 1, 1.0) 2.4e-5, 78 terms. One point per group at
# its mean (before) gave 3.0e-5 with 170 terms (8, 4, 0.1).
WARMUP = ("included", "excluded")
FILL = {"w": 0.0, "log_rate": 0.0, "since": 1.0, "age": 1.0}   # an unused term slot (w = 0)
WIDTH_STEP = 16     # terms per step are padded to a multiple of this (w = 0 adds nothing), so
                    # schedules of similar length share the law's compilation


@dataclass(frozen=True)
class Terms:
    """The parameter-free terms of a run's schedule sums at its logged steps.

    Attributes:
        steps: the logged steps (n,).
        area: S1(s) = Σ_{τ=0..s} η_τ, the whole area under the rate up to s, warmup included (n,).
        w: (n, M) half a group's summed rate change η_k − η_{k−1} (0 pads unused slots).
        log_rate: (n, M) log η at the term's quadrature point k (interpolated).
        since: (n, M) S_k(s), the area from k to s.
        age: (n, M) s − k + 1.
    """

    steps: np.ndarray
    area: np.ndarray
    w: np.ndarray
    log_rate: np.ndarray
    since: np.ndarray
    age: np.ndarray

    @property
    def n_terms(self) -> int:
        return self.w.shape[1]


@dataclass(frozen=True)
class Blocks:
    """The same terms before they are expanded: each group as a range of steps into prefix sums.

    Small where the terms are large (every step of a long schedule): ``expand`` turns them into
    terms with any array module, so a compiled prediction builds them chunk by chunk.

    Attributes:
        steps: the logged steps (n,).
        area: S1 at each logged step (n,).
        table: (T + 1, 3) prefix sums over steps k < row of η_k − η_{k−1} times 1, k and k²:
            any group's sums are two rows' difference.
        rates, before: (T + 1,) the rate η_k and the area before k, Σ_{τ<k} η_τ, at each
            step (the last repeated), to interpolate at the quadrature points.
        lo, hi: (n, M) int32: group j of step i holds the steps lo ≤ k < hi (empty when equal).
    """

    steps: np.ndarray
    area: np.ndarray
    table: np.ndarray
    rates: np.ndarray
    before: np.ndarray
    lo: np.ndarray
    hi: np.ndarray


def _check(rates: np.ndarray, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    rates = np.asarray(rates, dtype=np.float64)
    steps = np.asarray(steps)
    if rates.ndim != 1 or not len(rates):
        raise DataError("the schedule must be a 1-D array of the rate at every step from 0.")
    bad = np.flatnonzero(~np.isfinite(rates) | (rates < 0))
    if len(bad):
        raise DataError(f"the schedule's rate at step {bad[0]} is {float(rates[bad[0]]):g}; "
                        "rates must be finite and non-negative.")
    if steps.ndim != 1 or not len(steps):
        raise DataError("give at least one logged step.")
    if not np.all(np.equal(np.mod(steps, 1), 0)):
        raise DataError("logged steps must be whole numbers.")
    steps = steps.astype(np.int64)
    order = np.flatnonzero(np.diff(steps) <= 0)
    if len(order):
        i = order[0] + 1
        raise DataError(f"logged steps must increase: step {steps[i]} at position {i} follows "
                        f"{steps[i - 1]} (sort the log, and drop repeated steps).")
    if steps[0] < 0 or steps[-1] >= len(rates):
        raise DataError(f"logged steps run from {steps[0]} to {steps[-1]}, but the schedule "
                        f"covers steps 0 to {len(rates) - 1}; give a schedule as long as the run.")
    return rates, steps


def warmup_end(rates: np.ndarray) -> int:
    """The first step after the initial ramp where the rate stops rising (0 without a ramp)."""
    rise = np.diff(rates) > 0
    if not len(rise) or not rise[0]:
        return 0
    stop = np.flatnonzero(~rise)
    return int(stop[0] + 1) if len(stop) else len(rates)


def blocks(rates, steps, *, warmup: str = "included", exact: int = EXACT, ratio: int = RATIO,
           rel_change: float = REL_CHANGE) -> Blocks:
    """Returns the groups of the schedule sums at each logged step, as ranges of steps.

    Args:
        rates: the rate at every step 0..T−1 (e.g. ``Schedule.rates()``).
        steps: the logged steps, increasing, each below T.
        warmup: ``"included"`` counts the warmup's rate increases in the sums, as the
            multi-power law's reference code does (it shifts L0); ``"excluded"`` leaves the
            changes of the initial ramp out (``warmup_end``).
        exact, ratio, rel_change: the grouping (module docstring); ``ratio=0`` gives the exact
            sums (every step a group).

    Raises:
        DataError: a rate that is negative or not finite, steps that do not increase, or a
            logged step beyond the schedule.
    """
    if warmup not in WARMUP:
        raise ValueError(f"warmup must be one of {', '.join(WARMUP)}, got {warmup!r}.")
    rates, steps = _check(rates, steps)
    T = len(rates)
    cum = np.cumsum(rates)                           # cum[s] = Σ_{τ≤s} η_τ
    gap = np.concatenate([[0.0], np.diff(rates)])    # gap[k] = η_k − η_{k−1}, gap[0] = 0
    if warmup == "excluded":
        gap[:warmup_end(rates)] = 0.0
    log_rate = np.log(np.maximum(rates, np.finfo(float).tiny))
    k = np.arange(T, dtype=np.float64)
    table = np.zeros((T + 1, 3))
    np.cumsum(np.stack([gap, gap * k, gap * k * k], axis=1), axis=0, out=table[1:])
    # Group boundaries: a change of sign of the gap, or of the rate's band.
    band = np.floor(log_rate / np.log1p(rel_change)) if rel_change > 0 else np.arange(T)
    sign = np.sign(gap)
    new = np.concatenate([[True], (sign[1:] != sign[:-1]) | (band[1:] != band[:-1])])
    seg_start = np.maximum.accumulate(np.where(new, np.arange(T), 0)).astype(np.int32)
    s = steps.astype(np.int32)
    lo, hi = [], []
    for j in range(min(exact, int(s[-1]))):          # the exact window, one step each
        k = np.maximum(s - j, 1)
        lo.append(k)
        hi.append(np.where(s - j >= 1, k + 1, k))
    p = s - min(exact, int(s[-1]))                   # older steps: blocks walking back from p
    while np.any(p >= 1):
        on = p >= 1
        q = np.maximum(p, 1)
        size = 1 if ratio <= 0 else np.minimum(np.maximum((s - q) // ratio, 1),
                                               q - seg_start[q] + 1)
        start = q - size + 1
        lo.append(start)
        hi.append(np.where(on, q + 1, start))
        p = np.where(on, start - 1, p)
    width = -(-max(len(lo), 1) // WIDTH_STEP) * WIDTH_STEP    # shared compilations
    pad = lambda cols: np.pad(np.stack(cols, axis=1) if cols else np.ones((len(s), 0), np.int32),  # noqa: E731
                              ((0, 0), (0, width - len(cols))), constant_values=1)
    last = lambda a: np.concatenate([a, a[-1:]])  # noqa: E731
    return Blocks(steps=steps, area=cum[steps], table=table, rates=last(rates),
                  before=last(cum - rates), lo=pad(lo), hi=pad(hi))


def expand(area, steps, table, rates, before, lo, hi, xp=np) -> dict:
    """The law inputs (area, w, log_rate, since, age) of the groups ``[lo, hi)`` (``Blocks``):
    two terms per group, the first M the lower quadrature points, the next M the upper ones.
    ``xp`` is the array module: numpy, or jax.numpy inside a compiled prediction."""
    d = table[hi] - table[lo]                        # (n, M, 3) sums over each group
    w = d[..., 0]
    on = w != 0
    inv = xp.where(on, 1.0 / xp.where(on, w, 1.0), 0.0)
    mean = d[..., 1] * inv
    sd = xp.sqrt(xp.maximum(d[..., 2] * inv - mean * mean, 0.0))
    on2 = xp.concatenate([on, on], axis=1)
    k = xp.concatenate([xp.clip(mean - sd, lo, hi - 1.0), xp.clip(mean + sd, lo, hi - 1.0)], axis=1)
    k = xp.where(on2, k, 0.0)
    i = xp.floor(k).astype(np.int32)
    frac = k - i
    at = lambda a: a[i] + frac * (a[i + 1] - a[i])   # noqa: E731  (linear interpolation)
    return {"area": area, "w": xp.concatenate([w, w], axis=1) * 0.5,
            "log_rate": xp.where(on2, xp.log(xp.maximum(at(rates), np.finfo(float).tiny)), 0.0),
            "since": xp.where(on2, area[:, None] - at(before), 1.0),
            "age": xp.where(on2, (steps + 1.0)[:, None] - k, 1.0)}


def terms(rates, steps, *, warmup: str = "included", exact: int = EXACT, ratio: int = RATIO,
          rel_change: float = REL_CHANGE) -> Terms:
    """Returns the grouped terms of the schedule sums at each logged step (``blocks``, expanded,
    with the slots no step uses left out).

    Raises:
        DataError: as ``blocks``.
    """
    b = blocks(rates, steps, warmup=warmup, exact=exact, ratio=ratio, rel_change=rel_change)
    live = np.flatnonzero(np.any(b.table[b.hi, 0] != b.table[b.lo, 0], axis=0))
    width = -(-max(len(live), 1) // WIDTH_STEP) * WIDTH_STEP
    slots = lambda a: np.pad(a[:, live], ((0, 0), (0, width - len(live))), constant_values=1)  # noqa: E731
    x = expand(b.area, b.steps, b.table, b.rates, b.before, slots(b.lo), slots(b.hi))
    return Terms(steps=b.steps, area=b.area, **{k: x[k] for k in FILL})


def _widen(a: np.ndarray, width: int, name: str) -> np.ndarray:
    """Pads the term slots of ``a`` to ``width`` with unused slots."""
    return np.pad(a, ((0, 0), (0, width - a.shape[1])), constant_values=FILL[name])


def join(parts) -> dict[str, np.ndarray]:
    """The law inputs (area, w, log_rate, since, age) of several ``Terms`` stacked row-wise,
    their term slots padded to the widest."""
    width = max(t.w.shape[1] for t in parts)
    out = {"area": np.concatenate([t.area for t in parts])}
    for name in FILL:
        out[name] = np.concatenate([_widen(getattr(t, name), width, name) for t in parts])
    return out


def exact_terms(rates, steps, *, warmup: str = "included") -> Terms:
    """The same sums with every step k a term of its own: (n, T) arrays, for checks."""
    if warmup not in WARMUP:
        raise ValueError(f"warmup must be one of {', '.join(WARMUP)}, got {warmup!r}.")
    rates, steps = _check(rates, steps)
    T = len(rates)
    cum = np.cumsum(rates)
    before = np.concatenate([[0.0], cum[:-1]])
    gap = np.concatenate([[0.0], np.diff(rates)])
    if warmup == "excluded":
        gap[:warmup_end(rates)] = 0.0
    k = np.arange(T)[None, :]
    on = (k >= 1) & (k <= steps[:, None])
    w = np.where(on, gap[None, :], 0.0)
    log_rate = np.where(on, np.log(np.maximum(rates, np.finfo(float).tiny))[None, :], 0.0)
    since = np.where(on, cum[steps][:, None] - before[None, :], 1.0)
    age = np.where(on, steps[:, None] - k + 1.0, 1.0)
    return Terms(steps=steps, area=cum[steps], w=w, log_rate=log_rate, since=since, age=age)
