"""The schedule sums of loss-curve laws, fast: parameter-free terms for each logged step.

The multi-power law (Luo et al. 2025, "A Multi-Power Law for Loss Curve Prediction Across
Learning Rate Schedules") and the LR-annealing law (Tissue et al. 2024, "Scaling Law with
Learning Rate Annealing") sum over every earlier step k of a run:

    LD(s) = Σ_{k=1..s} (η_k − η_{k−1}) · G(η_k^(−γ) · S_k(s)),   S_k(s) = Σ_{τ=k..s} η_τ
    S2(s) = Σ_{k=1..s} (η_{k−1} − η_k) · (1 − λ^(s−k+1)) / (1 − λ)

with parameters (γ and G's, or λ) inside the sum, so the sum cannot be precomputed whole, and
the naive loop is O(T²). Here each logged step s gets a short list of terms, each a group of
consecutive steps k with its summed rate change ``w``, its (change-weighted) mean log rate, the
area S from it to s, and its age s − k + 1:

- the last ``exact`` steps before s are terms of their own (exact);
- older steps are grouped into blocks no longer than a ``ratio``-th of their distance from s
  (so about ratio·ln(T/exact) blocks), and never across a change of sign of the rate change or
  a change of the rate by more than ``rel_change`` (so the rate, its area and its age vary
  little within a group, and a warmup from 0 stays apart from the decay). Any block's sums come
  from prefix sums, so building the terms is O(n · M) for n logged steps and M terms.

A law then evaluates its sum over O(exact + ratio·log T) terms per step. Steps where the rate
does not change contribute nothing and are skipped. Pure numpy; parameters never enter here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from scalefit.errors import DataError

EXACT = 8           # the last steps before each logged step, summed one by one
RATIO = 4           # a group is at most 1/RATIO of its distance from the logged step
REL_CHANGE = 0.1    # a group never spans a rate change of more than 10%
# Measured on 100,000-step cosine, WSD (geometric, 1-sqrt) and step schedules with a warmup from
# 0: the multi-power law's loss within 5.0e-6 of the exact sums with the published 100M
# parameters on our four test schedules, 1.9e-5 with fitted ones on a 100k-step cosine
# (benchmarks/curve_speed.py), with at most 134 terms a step
# (ratio=2, rel_change=0.2: within 1.6e-5, 79 terms; exact=16, ratio=8: 1.8e-6, 170 terms).
WARMUP = ("included", "excluded")
FILL = {"w": 0.0, "log_rate": 0.0, "since": 1.0, "age": 1.0}   # an unused term slot (w = 0)
WIDTH_STEP = 32     # terms per step are padded to a multiple of this (w = 0 adds nothing), so
                    # schedules of similar length share the law's compilation


@dataclass(frozen=True)
class Terms:
    """The parameter-free terms of a run's schedule sums at its logged steps.

    Attributes:
        steps: the logged steps (n,).
        area: S1(s) = Σ_{τ=0..s} η_τ, the whole area under the rate up to s, warmup included (n,).
        w: (n, M) summed rate change η_k − η_{k−1} of each group (0 pads the unused slots).
        log_rate: (n, M) the change-weighted mean log rate η_k of each group.
        since: (n, M) S_k(s), the area from the group's (weighted) start to s.
        age: (n, M) s − k + 1 at the group's weighted mean step.
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


def terms(rates, steps, *, warmup: str = "included", exact: int = EXACT, ratio: int = RATIO,
          rel_change: float = REL_CHANGE) -> Terms:
    """Returns the grouped terms of the schedule sums at each logged step.

    Args:
        rates: the rate at every step 0..T−1 (e.g. ``Schedule.rates()``).
        steps: the logged steps, increasing, each below T.
        warmup: ``"included"`` counts the warmup's rate increases in the sums, as the
            multi-power law's reference code does (it shifts L0); ``"excluded"`` leaves the
            changes of the initial ramp out (``warmup_end``).
        exact, ratio, rel_change: the grouping (module docstring); ``ratio=0`` or a huge
            ``exact`` gives the exact sums.

    Raises:
        DataError: a rate that is negative or not finite, steps that do not increase, or a
            logged step beyond the schedule.
    """
    if warmup not in WARMUP:
        raise ValueError(f"warmup must be one of {', '.join(WARMUP)}, got {warmup!r}.")
    rates, steps = _check(rates, steps)
    T = len(rates)
    cum = np.cumsum(rates)                           # cum[s] = Σ_{τ≤s} η_τ
    before = np.concatenate([[0.0], cum[:-1]])       # Σ_{τ<k} η_τ
    gap = np.concatenate([[0.0], np.diff(rates)])    # gap[k] = η_k − η_{k−1}, gap[0] = 0
    if warmup == "excluded":
        gap[:warmup_end(rates)] = 0.0
    log_rate = np.log(np.maximum(rates, np.finfo(float).tiny))
    # Group boundaries: a change of sign of the gap, or of the rate's 10% band.
    band = np.floor(log_rate / np.log1p(rel_change)) if rel_change > 0 else np.arange(T)
    key_change = (np.sign(gap[1:]) != np.sign(gap[:-1])) | (band[1:] != band[:-1])
    seg_start = np.maximum.accumulate(np.where(np.concatenate([[True], key_change]),
                                               np.arange(T), 0))
    # Prefix sums of the change-weighted quantities, for any block [a, b]: X[b] − X[a−1].
    csum = lambda a: np.concatenate([[0.0], np.cumsum(a)])  # noqa: E731  (csum[k+1] = Σ_{≤k})
    Cw, Cl, Cb, Ck = (csum(gap), csum(gap * log_rate), csum(gap * before),
                      csum(gap * np.arange(T)))
    n = len(steps)
    cols_w, cols_l, cols_s, cols_a = [], [], [], []

    def add(a, b, s, on):
        """Adds the group [a, b] (arrays; inclusive) for the points where ``on``."""
        w = np.where(on, Cw[b + 1] - Cw[a], 0.0)
        safe = np.where(w != 0, w, 1.0)
        lr = np.where(w != 0, (Cl[b + 1] - Cl[a]) / safe, 0.0)
        start = np.where(w != 0, (Cb[b + 1] - Cb[a]) / safe, 0.0)
        k = np.where(w != 0, (Ck[b + 1] - Ck[a]) / safe, 0.0)
        cols_w.append(w)
        cols_l.append(lr)
        cols_s.append(np.where(w != 0, cum[s] - start, 1.0))
        cols_a.append(np.where(w != 0, s - k + 1.0, 1.0))

    # The exact window: k = s−exact+1 .. s, one term each.
    for j in range(min(exact, int(steps.max()))):
        k = steps - j
        on = k >= 1
        kk = np.maximum(k, 1)
        add(kk, kk, steps, on)
    # Older steps: aligned dyadic blocks walking back from s − exact.
    p = steps - exact
    if ratio > 0:
        while np.any(p >= 1):
            on = p >= 1
            pp = np.maximum(p, 1)
            size = np.minimum(np.maximum((steps - pp) // ratio, 1), pp - seg_start[pp] + 1)
            add(pp - size + 1, pp, steps, on)
            p = np.where(on, pp - size, p)
    else:
        for j in range(exact, int(steps.max())):
            k = steps - j
            on = k >= 1
            kk = np.maximum(k, 1)
            add(kk, kk, steps, on)
    stack = lambda cols: np.stack(cols, axis=1) if cols else np.zeros((n, 1))  # noqa: E731
    W = stack(cols_w)
    keep = np.flatnonzero(np.any(W != 0, axis=0))                   # drop all-empty slots
    if not len(keep):
        keep = np.array([0]) if W.shape[1] else keep
    width = -(-len(keep) // WIDTH_STEP) * WIDTH_STEP                # shared compilations
    pad = lambda a, k: _widen(a[:, keep], width, k)  # noqa: E731
    return Terms(steps=steps, area=cum[steps], w=pad(W, "w"),
                 log_rate=pad(stack(cols_l), "log_rate"), since=pad(stack(cols_s), "since"),
                 age=pad(stack(cols_a), "age"))


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
