"""Held-out backtests of any law, the boundary sweep, and choosing the law by backtest.

A backtest fits a law on the training side of a split and predicts the held-out side. Every
split of one law is a weight vector (the training mask times the point weights) over the same
data, so the engine fits all of them in one batched call and one compilation; only different
laws (or objectives) are separate calls.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import predict as _predict
from ._options import Options
from .core import Spec, check_law, make_data, solve
from .data import prepare
from .data import splits as _splits
from .errors import DataError
from .laws import Law, get_law

__all__ = ["Backtest", "backtest", "boundary_sweep", "select", "top_levels", "CANDIDATES",
           "PER_PARAM"]

CANDIDATES = ("chinchilla", "kaplan", "farseer")    # laws of N and D that law="auto" compares
FALLBACKS = ("chinchilla", "power_C")                # what "auto" falls back to, in this order
PER_PARAM = 3          # training points per free parameter a candidate needs to be eligible
MIN_TEST = 5           # held-out points select's internal backtest wants at least


def top_levels(inputs, group=None) -> _splits.Split:
    """select's internal holdout: the top compute level (C >= max C / 1.5), widened by factors of
    1.5 until it holds at least ``MIN_TEST`` points (or a fifth of the data), so the choice does
    not rest on the noise of one or two points."""
    n = len(next(iter(inputs.values())))
    ratio = 1.5
    while True:
        split = _splits.top_level(inputs, "C" if "C" in inputs or {"N", "D"} <= set(inputs)
                                  else next(iter(inputs)), ratio)
        if split.n_test >= min(MIN_TEST, max(1, n // 5)) or ratio > 1e12:
            return split
        ratio *= 1.5


@dataclass(frozen=True)
class Candidate:
    """A law and the objective to fit it with (``None``: the law's own default)."""

    law: Law
    loss: str | None = None
    delta: float | None = None

    @property
    def label(self) -> str:
        extra = [f"loss={self.loss}"] if self.loss else []
        extra += [f"delta={self.delta:g}"] if self.delta is not None else []
        return self.law.name + (f" ({', '.join(extra)})" if extra else "")


def _candidate(c) -> Candidate:
    if isinstance(c, Candidate):
        return c
    if isinstance(c, Mapping):
        unknown = set(c) - {"law", "loss", "delta"}
        if "law" not in c or unknown:
            raise ValueError(f"a candidate given as a mapping needs 'law' and may give 'loss' "
                             f"and 'delta'; got {dict(c)}.")
        return Candidate(get_law(c["law"]), c.get("loss"), c.get("delta"))
    return Candidate(get_law(c))


@dataclass(frozen=True, eq=False)
class Backtest:
    """What a backtest measured.

    Attributes:
        summary: one row per law and split: ``law``, ``split`` (the rule with its point counts),
            ``n_train``, ``n_test``, ``n_left_out``, ``n_free``, ``are`` (mean |L_pred − L| / L
            over the held-out points), ``max_are``, ``bias`` (mean signed relative error),
            ``converged`` and ``stop`` (of the training fit), and the fitted parameters as a
            mapping in ``params``.
        points: one row per law, split and held-out point: ``law``, ``split`` (index), ``line``,
            ``row``, the law's inputs, ``observed``, ``predicted``, ``rel_error``.
    """

    summary: pd.DataFrame
    points: pd.DataFrame

    def __repr__(self) -> str:
        cols = ["law", "split", "n_train", "n_test", "are", "max_are", "bias", "converged"]
        return "Backtest\n" + self.summary[cols].to_string(
            index=False, formatters={c: "{:.3%}".format for c in ("are", "max_are", "bias")})


def _holdouts(holdout) -> list:
    if isinstance(holdout, (str, _splits.Split, _splits.Rule, np.ndarray)) or callable(holdout):
        return [holdout]
    return list(holdout)


def _run(candidate: Candidate, data, holdouts, *, sweep_by: str | None, options: dict,
         common: dict) -> tuple[list[dict], list[pd.DataFrame]]:
    """Backtests one candidate over every split (one batched engine call)."""
    law = candidate.law
    opts = Options.resolve(law.fit_defaults, loss=candidate.loss or options.get("loss"),
                           delta=candidate.delta if candidate.delta is not None
                           else options.get("delta"),
                           max_steps=options.get("max_steps"),
                           n_solve=options.get("n_solve"))
    spec = Spec.build(law, None, None, opts.loss)
    n_free = len(spec.free)
    table = prepare(data, law.inputs, n_free=n_free, law_name=law.name, **common)
    if sweep_by is not None:
        splits = [s for s in _splits.boundary_sweep(table.inputs, sweep_by, min_train=n_free)
                  if _constant(table, s) is None]
        if not splits:
            raise DataError(f"{table.source}: the boundary sweep over {sweep_by} has no size "
                            f"below the largest with more than {n_free} training points for "
                            f"{law.name}.")
    else:
        splits = [_splits.split(table.inputs, table.group, h, n_free=n_free) for h in holdouts]
        for s in splits:
            name = _constant(table, s)
            if name is not None:
                raise DataError(f"{table.source}: the training side of the split "
                                f"({s.describe()}) has every point at one {name}, so "
                                f"{law.name} cannot learn how the loss changes with {name}; "
                                "hold out less.")
    base = np.ones(table.n_points) if table.weight is None else np.asarray(table.weight)
    W = np.stack([base * s.train for s in splits])
    empty = [s.describe() for s, w in zip(splits, W) if not w.sum() > 0]
    if empty:
        raise DataError(f"{table.source}: the split {empty[0]!r} leaves no training point with "
                        "a positive weight.")
    pdata = make_data(table.inputs, table.loss, table.weight, table.group)
    check_law(spec, pdata)
    if law.data_bounds is None:
        results = solve(spec, pdata, table.n_points, weights=W, options=opts)
    else:      # bounds from each split's training points alone: the held-out side stays unseen
        from .api import _data_box

        results = []
        for s, w in zip(splits, W):
            train = np.asarray(s.train) > 0
            box = _data_box(spec, {k: v[train] for k, v in table.inputs.items()},
                            np.asarray(table.loss)[train], table.source)[0]
            results += solve(spec, pdata, table.n_points, weights=w[None], options=opts, box=box)
    rows, points = [], []
    for b, (s, res) in enumerate(zip(splits, results)):
        x = {k: v[s.test] for k, v in table.inputs.items()}
        observed = table.loss[s.test]
        predicted = _predict.predict_loss(law, res.params, x)
        rel = predicted / observed - 1.0
        row = {"law": candidate.label, "split": s.describe(), "n_train": s.n_train,
               "n_test": s.n_test, "n_left_out": s.n_left_out, "n_free": n_free,
               "are": float(np.mean(np.abs(rel))), "max_are": float(np.max(np.abs(rel))),
               "bias": float(np.mean(rel)), "converged": res.convergence.ok,
               "stop": res.convergence.stop.name, "params": dict(res.params)}
        if sweep_by is not None:
            row[f"train_max_{sweep_by}"] = float(np.max(_splits._column(
                dict(table.inputs), sweep_by)[0][s.train]))
        rows.append(row)
        idx = np.flatnonzero(s.test)
        points.append(pd.DataFrame({
            "law": candidate.label, "split": b,
            "line": [table.lines[i] if table.lines else None for i in idx],
            "row": [table.rows[i] if table.rows else int(i) for i in idx],
            **{k: v for k, v in x.items()}, "observed": observed, "predicted": predicted,
            "rel_error": rel}))
    return rows, points


def _constant(table, split) -> str | None:
    """The first input that does not vary over the split's training side, or None."""
    for name, v in table.inputs.items():
        if np.ptp(v[split.train]) == 0:
            return name
    return None


def _common(columns, weight, group, drop, thresholds, drop_invalid) -> dict:
    if "outliers" in ((drop,) if isinstance(drop, str) else tuple(drop or ())):
        raise ValueError("a backtest drops only points the data-only rules flag (diverged, "
                         "duplicates, leverage): outliers are found from a fit's residuals, "
                         "which differ from split to split.")
    return {"columns": columns, "weight": weight, "group": group, "drop": drop,
            "thresholds": thresholds, "drop_invalid": drop_invalid}


def backtest(data: pd.DataFrame | str | os.PathLike,
             laws: Sequence | str | Law = ("chinchilla",),
             holdout="largest", *, columns: Mapping[str, str] | None = None,
             weight: str | None = None, group: str | None = None, drop: Sequence[str] = (),
             thresholds: Mapping[str, float] | None = None, drop_invalid: bool = False,
             loss: str | None = None, delta: float | None = None,
             max_steps: int | None = None, n_solve: int | str | None = None) -> Backtest:
    """Fits each law on the training side of each split and predicts the held-out side.

    Args:
        data: a DataFrame or a CSV/Parquet path, as for ``scalefit.fit``.
        laws: law names or ``Law`` objects, or candidates given as mappings
            ``{"law": "chinchilla", "loss": "squared", "delta": 1e-2}`` to compare objectives.
        holdout: the split, or a list of them: a rule string (``"largest"``, ``"largest:2"``,
            ``"N>=6e9"``, ``"D>=1.28e11,D<=9.05e10"`` (test, train), ``"top"`` / ``"top:1.5"``
            (points with compute >= max/1.5), ``"tail:0.3"`` (the last 30% of each run's
            points), ``"hitchhiker"`` (Choshen et al. 2024)), a function of the inputs, or a
            boolean test mask. Thresholds are inclusive; see ``scalefit.data.splits``.
        columns, weight, group, drop, thresholds, drop_invalid: as for ``scalefit.fit``.
        loss, delta, max_steps, n_solve: the objective and solver, as for ``scalefit.fit``
            (each law's own defaults otherwise).

    Returns:
        A ``Backtest``: ``summary`` (per law and split: mean and max absolute relative error,
        signed bias, point counts, convergence) and ``points`` (every held-out prediction).

    Raises:
        DataError: a split leaves no training or no test points, or no more training points
            than the law has free parameters (the message names the split and the counts).
    """
    return _backtest(data, laws, _holdouts(holdout), None, columns=columns, weight=weight,
                     group=group, drop=drop, thresholds=thresholds, drop_invalid=drop_invalid,
                     loss=loss, delta=delta, max_steps=max_steps, n_solve=n_solve)


def boundary_sweep(data: pd.DataFrame | str | os.PathLike,
                   laws: Sequence | str | Law = ("chinchilla",), by: str = "N", **kwargs) -> Backtest:
    """For each size x below the largest, fits each law on the points with ``by`` <= x and
    predicts the points at the largest ``by``: how far each law extrapolates.

    Sizes whose training side has no more points than the law's free parameters are skipped.
    ``summary`` has a ``train_max_<by>`` column. Other arguments as for ``backtest``.
    """
    unknown = sorted(set(kwargs) - set(_backtest.__kwdefaults__))
    if unknown:
        raise TypeError(f"boundary_sweep got unexpected arguments: {', '.join(unknown)}.")
    return _backtest(data, laws, None, by, **kwargs)


def _backtest(data, laws, holdouts, sweep_by, *, columns=None, weight=None, group=None,
              drop=(), thresholds=None, drop_invalid=False, loss=None, delta=None,
              max_steps=None, n_solve=None) -> Backtest:
    """Backtests every law over the given holdouts, or over the boundary sweep by ``sweep_by``."""
    laws = [laws] if isinstance(laws, (str, Law, Mapping)) else list(laws)
    options = {"loss": loss, "delta": delta, "max_steps": max_steps, "n_solve": n_solve}
    common = _common(columns, weight, group, drop, thresholds, drop_invalid)
    rows, points = [], []
    for c in map(_candidate, laws):
        r, p = _run(c, data, holdouts, sweep_by=sweep_by, options=options, common=common)
        rows += r
        points += p
    return Backtest(pd.DataFrame(rows), pd.concat(points, ignore_index=True))


def select(data: pd.DataFrame | str | os.PathLike, candidates: Sequence = CANDIDATES, *,
           holdout=top_levels, per_param: int = PER_PARAM, **fit_options):
    """Chooses the law by a backtest on the data given, then refits the winner on all of it.

    The internal backtest holds out the top compute level of the data (``holdout``, default
    ``top_levels``: the points with C >= max C / 1.5, widened until it holds at least 5 points)
    and fits each candidate on the rest. A candidate is eligible
    when its training side holds at least ``per_param`` points per free parameter and its fit
    converged; the eligible candidate with the lowest mean absolute relative error on the
    held-out points wins. When none is eligible the choice falls back to Chinchilla, or to the
    simplest law in ``FALLBACKS`` that the data can fit, and the fit's report says why.

    Returns:
        The winner's ``Fit`` on all the data; ``fit.data["selection"]`` holds the table of
        candidates (law, eligible, why, n_train, n_free, are, max_are, bias) and the reason,
        and is saved with the fit.
    """
    from .api import fit as _fit

    backtest_keys = ("columns", "weight", "group", "drop", "thresholds", "drop_invalid",
                     "loss", "delta", "max_steps", "n_solve")
    bt_options = {k: fit_options[k] for k in backtest_keys if k in fit_options}
    drop = bt_options.get("drop") or ()
    bt_options["drop"] = [r for r in ((drop,) if isinstance(drop, str) else drop)
                          if r != "outliers"]     # outliers: dropped by the final fit alone
    table, reason, winner, split_text = [], "", None, str(holdout)
    for c in map(_candidate, candidates):
        row = {"law": c.label, "eligible": False, "why": "", "n_train": None,
               "n_free": None, "are": None, "max_are": None, "bias": None}
        try:
            bt = backtest(data, [c], holdout, **bt_options).summary.iloc[0]
        except DataError as err:
            row["why"] = f"cannot be backtested: {err}"
            table.append(row)
            continue
        row.update({k: bt[k] for k in ("n_train", "n_free", "are", "max_are", "bias")})
        split_text = bt["split"]
        need = per_param * int(bt["n_free"])
        if bt["n_train"] < need:
            row["why"] = (f"{bt['n_train']} training points, fewer than {per_param} per free "
                          f"parameter ({need})")
        elif not bt["converged"]:
            row["why"] = f"its training fit did not converge ({bt['stop']})"
        else:
            row["eligible"], row["why"] = True, "eligible"
        table.append(row)
        if row["eligible"] and (winner is None or row["are"] < winner[1]["are"]):
            winner = (c, row)
    if winner is not None:
        chosen = winner[0]
        reason = (f"{chosen.label} has the lowest held-out error ({winner[1]['are']:.3%}) among "
                  f"the eligible candidates, backtested on the data given ({split_text})")
    else:
        chosen, reason = _fallback(data, fit_options, per_param)
    result = _fit(data, law=chosen.law, **{k: v for k, v in fit_options.items()
                                           if k not in ("loss", "delta")},
                  loss=chosen.loss or fit_options.get("loss"),
                  delta=chosen.delta if chosen.delta is not None else fit_options.get("delta"))
    summary = {**result.data, "selection": {"chosen": chosen.label, "reason": reason,
                                            "holdout": split_text, "per_param": per_param,
                                            "candidates": table}}
    return dataclasses.replace(result, data=summary)


def _fallback(data, fit_options, per_param) -> tuple[Candidate, str]:
    """Chinchilla, or the simplest of ``FALLBACKS`` the data can fit, with the reason."""
    from .data import prepare as _prepare

    keys = ("columns", "weight", "group", "drop", "thresholds", "drop_invalid")
    tried = []
    for name in sorted(FALLBACKS, key=lambda n: (n != "chinchilla", len(get_law(n).params))):
        law = get_law(name)
        try:
            _prepare(data, law.inputs, n_free=len(law.params), law_name=law.name,
                     **{k: fit_options[k] for k in keys if k in fit_options})
        except DataError as err:
            tried.append(f"{name}: {err}")
            continue
        lead = "fell back to chinchilla" if name == "chinchilla" else (
            f"fell back to {name}, the simplest law these data can fit ({'; '.join(tried)})")
        return Candidate(law), (f"no candidate was eligible (each needs at least {per_param} "
                                f"training points per free parameter in the backtest), so {lead}")
    raise DataError(f"no law can be fitted to these data: {'; '.join(tried)}.")
