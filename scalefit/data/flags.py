"""Points a fit should not trust blindly, each found by a stated rule with a stated threshold.

Nothing here drops a point by itself: the rules only flag. ``scalefit.fit(..., drop=[...])``
drops the points of the rules it names and lists them with the other dropped rows. Pure numpy.

Rules (thresholds in ``THRESHOLDS``, each overridable):

- ``diverged``: the loss is more than ``t`` times the lowest loss of any point (of the same run,
  when the data have runs) that used no more of every input: a larger or longer run should not
  be worse, so such a point is a run that diverged or spiked (a learning rate too high).
- ``duplicates``: the row repeats an earlier one exactly (every input, the loss and the run).
- ``leverage``: an input lies more than ``t`` decades from the bulk of the data (the cluster of
  values, split at gaps wider than ``t`` decades, that holds most points), so it steers the fit.
- ``outliers`` (after fitting): the log residual lies more than ``t`` standard deviations from
  the median residual, and outside the Huber loss's quadratic zone (beyond delta), where
  Hoffmann et al.'s Huber loss already treats it as one. The standard deviation is sqrt(pi/2)
  times the mean absolute deviation from the median (exact for normal residuals): a Huber fit
  with a small delta behaves like a least-absolute-deviations fit, which leaves several residuals
  near zero, so the median absolute deviation would understate the spread and flag clean points.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

RULES = ("diverged", "duplicates", "leverage", "outliers")
THRESHOLDS = {"diverged": 1.5, "leverage": 2.0, "outliers": 5.0}
PAIRS = 50_000_000     # pairwise comparisons the diverged rule makes at most per run (or data set)

DESCRIPTIONS = {
    "diverged": "loss above {t:g}x the lowest loss of any point{run} that used no more of any input",
    "duplicates": "the same inputs{run} as an earlier row",
    "leverage": "an input more than {t:g} decades from the bulk of the data",
    "outliers": "log residual beyond {t:g} standard deviations{run}",
}


@dataclass(frozen=True)
class Flag:
    """One flagged point.

    Attributes:
        index: the point's position among the fitted (or checked) points.
        rule: one of ``RULES``.
        value: what the rule measured (the loss ratio, the decades, the residual in standard
            deviations; for a duplicate, the position of the row it repeats).
        reason: the finding in words.
    """

    index: int
    rule: str
    value: float
    reason: str


def check_rules(drop: Sequence[str] | str | None,
                thresholds: Mapping[str, float] | None) -> tuple[tuple[str, ...], dict[str, float]]:
    """Returns the rules to drop and the thresholds to use, checked.

    Raises:
        ValueError: an unknown rule or threshold name, or a threshold that is not positive
            (or, for ``diverged``, not above 1).
    """
    drop = (drop,) if isinstance(drop, str) else tuple(drop or ())
    unknown = [r for r in drop if r not in RULES]
    if unknown:
        raise ValueError(f"drop names unknown rule {unknown[0]!r}; the rules are "
                         f"{', '.join(RULES)}.")
    given = dict(thresholds or {})
    unknown = [r for r in given if r not in THRESHOLDS]
    if unknown:
        raise ValueError(f"thresholds names {unknown[0]!r}; rules with a threshold are "
                         f"{', '.join(THRESHOLDS)}.")
    out = {**THRESHOLDS, **{k: float(v) for k, v in given.items()}}
    for rule, t in out.items():
        low = 1.0 if rule == "diverged" else 0.0
        if not (np.isfinite(t) and t > low):
            raise ValueError(f"the {rule} threshold must be a finite number above {low:g}, "
                             f"got {t}.")
    return drop, out


def describe(rule: str, thresholds: Mapping[str, float], runs: bool, huber: bool = True) -> str:
    """The rule in words, with its threshold."""
    run = {"diverged": " of its run" if runs else "",
           "duplicates": ", loss and run" if runs else " and loss",
           "outliers": " and beyond the Huber delta" if huber else ""}.get(rule, "")
    return DESCRIPTIONS[rule].format(t=thresholds.get(rule, 0.0), run=run)


def flag_points(inputs: Mapping[str, np.ndarray], loss: np.ndarray, group: np.ndarray | None,
                thresholds: Mapping[str, float]) -> tuple[list[Flag], list[str]]:
    """Returns the flags of the data-only rules (diverged, duplicates, leverage) and notes on
    any rule left unapplied."""
    flags, notes = [], []
    found, skipped = _diverged(inputs, loss, group, thresholds["diverged"])
    flags += found
    if skipped:
        notes.append(f"the diverged rule was not applied to {skipped} points (too many to compare "
                     "pairwise without a run column; name one with group=)")
    flags += _duplicates(inputs, loss, group)
    flags += _leverage(inputs, thresholds["leverage"])
    return sorted(flags, key=lambda f: (f.index, RULES.index(f.rule))), notes


def _lowest_below(X: np.ndarray, y: np.ndarray) -> np.ndarray | None:
    """For each point, the lowest loss among points with every input no larger (itself
    included); None when that would take more than ``PAIRS`` comparisons."""
    varying = [j for j in range(X.shape[1]) if np.ptp(X[:, j]) > 0]
    if not varying:
        return np.full(len(y), y.min())
    if len(varying) == 1:                  # one input varies: a running minimum, exact
        values, at = np.unique(X[:, varying[0]], return_inverse=True)
        block = np.full(len(values), np.inf)
        np.minimum.at(block, at, y)
        return np.minimum.accumulate(block)[at]
    if len(y) ** 2 > PAIRS:
        return None
    X = X[:, varying]
    out = np.empty(len(y))
    step = max(1, PAIRS // 50 // len(y))
    for a in range(0, len(y), step):
        below = np.all(X[None, :, :] <= X[a:a + step, None, :], axis=2)
        out[a:a + step] = np.where(below, y[None, :], np.inf).min(axis=1)
    return out


def _diverged(inputs, loss, group, t) -> tuple[list[Flag], int]:
    X = np.column_stack([np.asarray(v, np.float64) for v in inputs.values()])
    parts = [np.arange(len(loss))] if group is None else [
        np.flatnonzero(group == g) for g in np.unique(group)]
    flags, skipped = [], 0
    for idx in parts:
        low = _lowest_below(X[idx], loss[idx])
        if low is None:
            skipped += len(idx)
            continue
        ratio = loss[idx] / low
        for k in np.flatnonzero(ratio > t):
            flags.append(Flag(int(idx[k]), "diverged", float(ratio[k]),
                              f"loss {loss[idx[k]]:.4g} is {ratio[k]:.3g}x the lowest loss "
                              f"({low[k]:.4g}) of a point that used no more of any input"))
    return flags, skipped


def _duplicates(inputs, loss, group) -> list[Flag]:
    cols = [*inputs.values(), loss] + ([] if group is None else [group.astype(np.float64)])
    _, first, at = np.unique(np.column_stack(cols), axis=0, return_index=True,
                             return_inverse=True)
    origin = first[np.ravel(at)]
    return [Flag(int(i), "duplicates", float(origin[i]), "repeats an earlier row exactly")
            for i in np.flatnonzero(origin != np.arange(len(loss)))]


def _leverage(inputs, t) -> list[Flag]:
    flags = []
    for name, x in inputs.items():
        v = np.log10(np.asarray(x, np.float64))
        values, counts = np.unique(v, return_counts=True)
        cut = np.flatnonzero(np.diff(values) > t) + 1     # clusters split at wide gaps
        if not len(cut):
            continue
        edges = np.concatenate([[0], cut, [len(values)]])
        sizes = np.add.reduceat(counts, edges[:-1])
        bulk = int(np.argmax(sizes))
        if 2 * sizes[bulk] <= len(v):                     # no cluster holds most points
            continue
        lo, hi = values[edges[bulk]], values[edges[bulk + 1] - 1]
        far = np.maximum(lo - v, v - hi)
        for i in np.flatnonzero(far > 0):
            side, end = ("above", hi) if v[i] > hi else ("below", lo)
            flags.append(Flag(int(i), "leverage", float(far[i]),
                              f"{name} = {x[i]:.4g} is {far[i]:.3g} decades {side} the bulk of "
                              f"the data ({'largest' if side == 'above' else 'smallest'} "
                              f"{name} there {10 ** end:.4g})"))
    return flags


def outliers(residuals: np.ndarray, t: float, delta: float | None) -> list[Flag]:
    """Returns the points whose log residual lies more than ``t`` standard deviations (sqrt(pi/2)
    x the mean absolute deviation from the median) from the median residual, and beyond
    ``delta`` (the Huber loss's quadratic zone) if given."""
    r = np.asarray(residuals, np.float64)
    mid = np.median(r)
    scale = np.sqrt(np.pi / 2) * np.mean(np.abs(r - mid))
    if not scale > 0:
        return []
    z = np.abs(r - mid) / scale
    out = (z > t) & (np.abs(r) > (delta or 0.0))
    return [Flag(int(i), "outliers", float(z[i]),
                 f"log residual {r[i]:+.3g} is {z[i]:.3g} standard deviations ({scale:.3g}) "
                 "from the median")
            for i in np.flatnonzero(out)]
