"""Logged training curves as the data of a loss-curve law: runs, steps, losses and schedules.

``prepare_curves`` reads a long table (a ``run`` column, ``step``, ``loss`` and, where logged at
every step, ``lr``), takes each run's schedule (given as a ``scalefit.schedules.Schedule`` or a
spec string, or read from the run's own ``lr`` column), optionally averages the loss over blocks
of steps, and returns the parameter-free schedule terms (``scalefit.data.schedule_sums``) at
every point, padded to one width across runs. Nothing here imports jax.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from scalefit import schedules as _schedules
from scalefit.data.schedule_sums import join as _join
from scalefit.data.schedule_sums import terms as _terms
from scalefit.data.table import _numeric, _open
from scalefit.errors import DataError



@dataclass(frozen=True, eq=False)
class Curves:
    """Checked curves ready to fit: the schedule terms of every point, and its loss and run.

    Attributes:
        inputs: ``area`` (n,) and ``w``, ``log_rate``, ``since``, ``age`` (n, M).
        loss: the observed loss at each point (a block mean with ``block``).
        steps: the step of each point (a block's middle step with ``block``).
        group: the run index of each point; group_labels: each run's name.
        schedules: run name -> the Schedule used.
        source, notes, dropped: as for ``scalefit.data.Table``.
    """

    inputs: dict
    loss: np.ndarray
    steps: np.ndarray
    group: np.ndarray
    group_labels: tuple
    schedules: Mapping
    source: str
    notes: tuple = ()
    dropped: tuple = ()
    weight: np.ndarray | None = None
    columns: Mapping = field(default_factory=dict)

    @property
    def n_points(self) -> int:
        return len(self.loss)

    def summary(self) -> dict:
        per_run = {str(label): {"points": int(np.sum(self.group == g)),
                                "steps": [int(self.steps[self.group == g].min()),
                                          int(self.steps[self.group == g].max())],
                                "schedule": str(self.schedules[label])}
                   for g, label in enumerate(self.group_labels)}
        return {"source": self.source, "n_points": self.n_points, "n_dropped": len(self.dropped),
                "runs": per_run, "n_groups": len(self.group_labels),
                "loss": {"min": float(self.loss.min()), "max": float(self.loss.max())},
                "steps": {"min": int(self.steps.min()), "max": int(self.steps.max())},
                "notes": list(self.notes), "columns": dict(self.columns), "derived": [],
                "inputs": {}}


def schedule_of(value) -> _schedules.Schedule:
    """A Schedule from a Schedule, a spec string, or an array of per-step rates from step 0."""
    if isinstance(value, _schedules.Schedule):
        return value
    if isinstance(value, str):
        return _schedules.parse(value)
    rates = np.asarray(value, dtype=np.float64)
    return _schedules.from_log(np.arange(len(rates)), rates)


def _block_means(steps, loss, block, label):
    """Means of the loss over consecutive blocks of ``block`` steps; a block's point is its
    middle step. A last block with less than half its steps is left out."""
    first = steps[0]
    idx = (steps - first) // block
    keep_blocks, out_s, out_l = [], [], []
    for b in np.unique(idx):
        m = idx == b
        if m.sum() * 2 < block and b == idx[-1]:
            continue
        keep_blocks.append(b)
        out_s.append(int(round(np.mean(steps[m]))))
        out_l.append(float(np.mean(loss[m])))
    if not out_s:
        raise DataError(f"run {label!r} has fewer than half a block of {block} steps; use a "
                        "smaller block or fit the logged points as they are (block=None).")
    return np.array(out_s, np.int64), np.array(out_l)


def prepare_curves(data: pd.DataFrame | str | os.PathLike, *, schedules=None,
                   columns: Mapping[str, str] | None = None, block: int | None = None,
                   min_step: int = 0, warmup: str = "included",
                   n_free: int | None = None, law_name: str | None = None) -> Curves:
    """Reads runs' loss curves and returns their schedule terms at every point.

    Args:
        data: a DataFrame or CSV/Parquet path with columns ``step`` and ``loss``, a ``run``
            column when there are several runs, and ``lr`` when the rate was logged at every
            step from 0 (mapped through ``columns`` like ``scalefit.fit``'s).
        schedules: each run's schedule: one Schedule or spec for every run, or a mapping from
            run name to Schedule, spec or per-step rate array; default each run's ``lr`` column.
        block: average the loss over blocks of this many steps (per-step noise is correlated
            between neighbouring steps; ~100 is typical); None fits the logged points.
        min_step: leave out points before this step (said in ``notes``).
        warmup: ``"included"`` or ``"excluded"``: whether the warmup's rate increases count in
            the laws' sums (``scalefit.data.schedule_sums.terms``).
        n_free: the law's free parameters: every run needs more points than that.

    Raises:
        DataError: a missing column, steps out of order or repeated within a run, a loss that is
            not positive, a run whose schedule is shorter than its logged steps, no schedule for
            a run without an ``lr`` column, or a curve with no more points than ``n_free``.
    """
    src = _open(data)
    columns = dict(columns or {})
    col = lambda name: columns.get(name, name)  # noqa: E731
    frame = src.frame
    for name in ("step", "loss"):
        if col(name) not in frame.columns:
            raise DataError(f"{src.label} has no column {col(name)!r} (columns: "
                            f"{', '.join(map(str, frame.columns))}); a loss curve needs a step "
                            f"and a loss per row. Map it with columns={{\"{name}\": ...}}.")
    steps_all = _numeric(src, col("step"))
    loss_all = _numeric(src, col("loss"))
    lr_all = _numeric(src, col("lr")) if col("lr") in frame.columns else None
    runs = (frame[col("run")].to_numpy() if col("run") in frame.columns
            else np.zeros(len(frame), dtype=np.int64))
    labels = tuple(pd.unique(runs))
    given = schedules
    parts = []
    loss, steps, group, used, notes = [], [], [], {}, []
    for g, label in enumerate(labels):
        rows = np.flatnonzero(runs == label)
        s, y = steps_all[rows], loss_all[rows]
        name = f"run {label!r}" if col("run") in frame.columns else src.label
        bad = ~(np.isfinite(y) & (y > 0))
        if bad.any():
            i = rows[np.flatnonzero(bad)[0]]
            raise DataError(f"{src.label}: {name} has loss {loss_all[i]!r} at "
                            f"{src.where(src.label_of(i))}; losses must be positive and finite.")
        if not np.all(np.isfinite(s)) or np.any(s != np.round(s)) or np.any(s < 0):
            raise DataError(f"{src.label}: {name} has a step that is not a whole number >= 0.")
        back = np.flatnonzero(np.diff(s) <= 0)
        if len(back):
            i = rows[back[0] + 1]
            what = "repeats" if s[back[0] + 1] == s[back[0]] else "comes after"
            raise DataError(f"{src.label}: {name}: step {int(s[back[0] + 1])} at "
                            f"{src.where(src.label_of(i))} {what} step {int(s[back[0]])}; sort "
                            "each run by step and drop repeated steps.")
        if isinstance(given, Mapping):
            if label not in given:
                raise DataError(f"{src.label}: no schedule for {name}; schedules= names "
                                f"{', '.join(map(repr, given))}.")
            sched = schedule_of(given[label])
        elif given is not None:
            sched = schedule_of(given)
        elif lr_all is not None:
            try:
                sched = _schedules.from_log(s.astype(np.int64), lr_all[rows])
            except DataError as err:
                raise DataError(f"{src.label}: {name}: its {col('lr')!r} column cannot be its "
                                f"schedule: {err} Or give its schedule (schedules= in Python, "
                                "--schedule RUN=SPEC on the command line).") from None
            notes += [f"{name}: schedule read from its {col('lr')!r} column"
                      + (f" ({'; '.join(sched.notes)})" if sched.notes else "")]
        else:
            raise DataError(f"{src.label}: {name} has no {col('lr')!r} column to read its "
                            "schedule from; give its schedule (schedules= in Python, --schedule "
                            "on the command line), a spec such as "
                            "'cosine:peak=3e-4,floor=3e-5,warmup=2160,total=24000'.")
        s = s.astype(np.int64)
        keep = s >= max(min_step, 1)
        if not keep.all():
            notes.append(f"{name}: {int((~keep).sum())} points before step {max(min_step, 1)} "
                         "left out")
        s, y = s[keep], y[keep]
        if block:
            s, y = _block_means(s, y, int(block), label)
        if n_free is not None and len(s) <= n_free:
            raise DataError(f"{src.label}: {name} has {len(s)} points, but {law_name or 'the law'} "
                            f"has {n_free} free parameters; a curve needs more points than that.")
        if s[-1] >= sched.total:
            raise DataError(f"{src.label}: {name} logs step {int(s[-1])}, but its schedule "
                            f"({sched}) ends at step {sched.total - 1}; give the schedule of the "
                            "whole run.")
        parts.append(_terms(sched.rates(), s, warmup=warmup))
        loss.append(y)
        steps.append(s)
        group.append(np.full(len(s), g, np.int32))
        used[label] = sched
    inputs = _join(parts)
    if block:
        notes.append(f"loss averaged over blocks of {block} steps (a point per block, at its "
                     "middle step)")
    notes.append(f"warmup rate increases {'counted in' if warmup == 'included' else 'left out of'} "
                 "the schedule sums")
    return Curves(inputs=inputs, loss=np.concatenate(loss), steps=np.concatenate(steps),
                  group=np.concatenate(group), group_labels=labels, schedules=used,
                  source=src.source, notes=tuple(notes), dropped=src.dropped,
                  columns={"step": col("step"), "loss": col("loss")})
