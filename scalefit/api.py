"""The public verbs: ``fit`` a law to runs, and the immutable ``Fit`` that predicts and saves.

``fit`` resolves the law, hands the data to the data layer (every check lives there), calls
the one engine in ``core``, and wraps the answer. ``Fit``'s prediction methods delegate to the
pure functions of ``predict``; with a bootstrap they also return percentile bands.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ._options import DEFAULTS, Options
from ._report import runaway
from ._saved import Bootstrap
from ._fit import Fit, load
from .core import Spec, check_law, make_data, solve
from .data import prepare
from .data.flags import check_rules, outliers
from .errors import ConvergenceWarning, DataError, FitError
from .laws import Law, get_law
from .laws._curves import CURVE_INPUTS

__all__ = ["fit", "load", "Fit", "Bootstrap"]



def fit(data: pd.DataFrame | str | os.PathLike, law: str | Law = "chinchilla", *,
        columns: Mapping[str, str] | None = None, weight: str | None = None,
        group: str | None = None, fix: Mapping[str, float] | None = None,
        tie: Mapping[str, str] | None = None,
        start: Mapping[str, float] | Sequence[Mapping[str, float]] | pd.DataFrame | None = None,
        bootstrap: int = 0, seed: int = 0, by: str | None = None, unit: str | None = None,
        drop: Sequence[str] = (), thresholds: Mapping[str, float] | None = None,
        schedules=None, block: int | None = None, min_step: int = 0, warmup: str = "included",
        metric: str | None = None, last: bool = False, tokens_per_step: float | None = None,
        loss: str | None = None, delta: float | None = None, quantile: float = DEFAULTS.quantile,
        n_solve: int | str | None = None, max_steps: int | None = None,
        gtol: float = DEFAULTS.gtol, xtol: float = DEFAULTS.xtol,
        drop_invalid: bool = False, strict: bool = False, progress=None) -> Fit:
    """Returns the law fitted to logged runs by robust multi-start minimisation.

    Minimises sum_i w_i * Huber_delta(log L_pred_i - log L_i) (or half squared residuals)
    from every start of the law's grid: the objective is screened at all starts and the best
    ``n_solve`` are solved to convergence; the lowest objective wins.

    Args:
        data: a DataFrame, or a CSV/Parquet path, with the law's inputs (e.g. N and D, or C
            and N to derive D = C/(6N)) and a ``loss`` column.
        law: a law name (``scalefit.laws.LAW_NAMES``) or a ``scalefit.Law``; ``"auto"``
            chooses among Chinchilla, Kaplan and Farseer by a backtest on these data (see
            ``scalefit.select``) and fits the winner.
        columns: your column names, e.g. ``{"N": "model_size", "loss": "val_loss"}``.
        weight: name of a column of per-point weights (non-negative).
        group: name of a column saying which run each point belongs to (any values); a column
            called ``run`` is used when there is one. The bootstrap resamples whole groups.
        fix: parameters held at a value, e.g. ``{"E": 1.69}``.
        tie: parameters set equal to another, e.g. ``{"beta": "alpha"}``.
        start: one start (a mapping of free-parameter values), several, or a DataFrame of them;
            or ``"grid"`` (the product of the parameters' grids: 4,500 starts for Chinchilla)
            or ``"sobol:n"`` (n quasi-random starts in the box the grids span), or for Farseer
            ``"piecewise"`` (its own starts plus the paper's differential piecewise fit,
            ``scalefit.recipes.farseer_piecewise``); default the law's own (``Law.start``).
        bootstrap: refit this many resamples for intervals (0: none); see ``Fit.bootstrap``.
        seed, by: the bootstrap's seed and unit (``"row"`` or ``"group"``).
        unit: the loss's unit, e.g. ``"nats"``, ``"bits"``, ``"bits per character"`` or
            ``"perplexity"``; reported and saved with the fit (scalefit does not convert).
        drop: flagging rules whose points are left out and listed in ``dropped``: any of
            ``"diverged"``, ``"duplicates"``, ``"leverage"`` (checked before fitting) and
            ``"outliers"`` (found by a first fit, which is then redone without them). Every
            flag, dropped or not, is in ``Fit.flags``.
        thresholds: a rule's threshold, e.g. ``{"diverged": 2.0}`` (default
            ``scalefit.data.flags.THRESHOLDS``: 1.5x the loss, 2 decades, 5 standard
            deviations of the residuals).
        schedules, block, min_step, warmup: for a loss-curve law (``multi_power``,
            ``lr_annealing``), whose data are runs of (``run``,) ``step``, ``loss`` (and
            ``lr``): each run's schedule (a ``scalefit.schedules.Schedule``, a spec string, or
            a mapping run -> either; default the run's ``lr`` column), blocks of steps to
            average the loss over (None: the logged points), the first step fitted, and whether
            warmup rate increases count in the laws' sums (see ``scalefit.data.curves``).
        metric, last, tokens_per_step: for run logs (a Weights & Biases export, JSON Lines,
            TensorBoard events, or any tidy table of ``scalefit.data``): the metric to fit (a
            unique part of its name will do), only each run's last point, and the tokens per
            optimizer step (D = step x tokens_per_step when D is not logged). Logs are read by
            ``scalefit.data.logs.read_log`` and selected by ``scalefit.data.tidy.select``; the
            notes say which columns were read as what.
        quantile: 0.5 fits the middle of the points; below it the fit moves toward their lower
            envelope (e.g. 0.1: a point above the curve costs 1/9 of one as far below it),
            above it toward the upper one (``scalefit.Options.quantile``).
        loss, delta, n_solve, max_steps, gtol, xtol: see ``scalefit.Options``; ``loss``,
            ``delta``, ``n_solve`` and ``max_steps`` default to the law's own choice
            (``Law.fit_defaults``: Farseer fits squared log residuals with up to 3,000 steps;
            the loss-curve laws solve the best 8 starts), else to ``scalefit.Options``'
            defaults (32 starts solved); ``n_solve="all"`` solves every start.
        drop_invalid: drop rows with NaN, inf or non-positive values (listed in ``dropped``)
            instead of raising.
        strict: raise FitError instead of warning when the fit did not converge.
        progress: called with a short description of each stage as it starts (reading,
            fitting, bootstrap), e.g. to drive a progress display; None: silent.

    Raises:
        DataError: bad input data (named column, line and value).
        ValueError: unknown law or parameter, bad option.
        FitError: ``strict=True`` and the best start did not converge.
    """
    if unit is not None and (not isinstance(unit, str) or not unit.strip()):
        raise ValueError(f"unit must be a name such as 'nats' or 'bits per character', got {unit!r}.")
    say = progress or (lambda stage: None)
    say(f"reading {data if isinstance(data, (str, os.PathLike)) else 'the runs'}")
    if metric is not None or last or tokens_per_step is not None or _is_log(data):
        data, unit = _from_log(data, columns, metric, last, tokens_per_step, unit)
        # a mapping onto a column the tidy rows still carry (e.g. U=unique_tokens) still applies
        columns = {k: v for k, v in (columns or {}).items()
                   if v in data.columns and k not in data.columns} or None
    if isinstance(law, str) and law == "auto":
        if fix or tie or start is not None:
            raise ValueError("law='auto' compares several laws, so it takes no fix, tie or "
                             "start; choose the law to fix or tie its parameters.")
        from ._backtest import select

        say("choosing the law by backtest")
        return select(data, columns=columns, weight=weight, group=group, bootstrap=bootstrap,
                      seed=seed, by=by, unit=unit, drop=drop, thresholds=thresholds, loss=loss,
                      delta=delta, n_solve=n_solve, max_steps=max_steps, gtol=gtol, xtol=xtol,
                      drop_invalid=drop_invalid, strict=strict)
    law = get_law(law)
    options = Options.resolve(law.fit_defaults, loss=loss, delta=delta, n_solve=n_solve,
                              max_steps=max_steps, gtol=gtol, xtol=xtol, quantile=quantile)
    spec = Spec.build(law, fix, tie, options.loss)
    fix = {k: float(v) for k, v in (fix or {}).items()}
    drop, thresholds = check_rules(drop, thresholds)
    if law.inputs == CURVE_INPUTS:
        if weight is not None or drop:
            raise ValueError(f"{law.name} fits loss curves: weight= and drop= do not apply to "
                             "it yet.")
        curve_columns = {**(columns or {}), **({"run": group} if group else {})}
        say(f"fitting {law.name} (loss curves)")
        result = _fit_curves(data, law, spec, fix, tie, start, options, strict,
                             columns=curve_columns or None, schedules=schedules, block=block,
                             min_step=min_step, warmup=warmup, unit=unit)
        if bootstrap:
            say(f"bootstrap ({bootstrap} refits)")
        return result.bootstrap(bootstrap, seed=seed, by=by) if bootstrap else result
    table = prepare(data, law.inputs, columns=columns, weight=weight, group=group,
                    drop_invalid=drop_invalid, n_free=len(spec.free), law_name=law.name,
                    drop=drop, thresholds=thresholds)
    starts = (_piecewise_seed(spec, table) if isinstance(start, str) and start == "piecewise"
              else None if start is None else _starts(spec, start))
    say(f"fitting {law.name} ({table.n_points} points)")
    problem, core = _solve(spec, table, fix, starts, options)
    found = outliers(np.asarray(core.residuals), thresholds["outliers"],
                     options.delta if options.loss == "huber" else None)
    flags = table.flags + table.flag_records(found, drop)
    if found and "outliers" in drop:
        mask = np.zeros(table.n_points, bool)
        mask[[f.index for f in found]] = True
        table = table.without(mask, {f.index: f"dropped as outliers: {f.reason}" for f in found})
        if table.n_points <= len(spec.free):
            raise DataError(f"{table.source}: only {table.n_points} points remain after dropping "
                            f"{len(found)} outliers, but {law.name} has {len(spec.free)} free "
                            "parameters; keep the outliers, or raise their threshold.")
        problem, core = _solve(spec, table, fix, starts, options)
    summary = {**table.summary(), "flags": list(flags), "unit": unit or table.unit,
               "quality": _quality(np.asarray(core.residuals), np.asarray(table.loss))}
    if problem.bounds_from_data:
        summary["bounds_from_data"] = problem.bounds_from_data
    recorded = _recorded(law, options, fix, tie, start, starts, columns=dict(columns or {}),
                         weight=weight, group=table.columns.get("group"), drop=list(drop),
                         thresholds=thresholds)
    result = _finish(law, problem, core, table, summary, recorded, strict, stacklevel=3)
    if bootstrap:
        say(f"bootstrap ({bootstrap} refits)")
    return result.bootstrap(bootstrap, seed=seed, by=by) if bootstrap else result


def _is_log(data) -> bool:
    """True for data that only the log readers understand: a tidy table (a ``metric``
    column), or a file that is not a plain CSV or Parquet table of runs."""
    if isinstance(data, pd.DataFrame):
        return "metric" in data.columns
    from .data import logs

    return logs.is_log(data)


def _from_log(data, columns, metric, last, tokens_per_step, unit):
    """Reads run logs into the tidy table and selects one metric; returns the rows a fit
    reads (empty schema columns left out) and the loss's unit."""
    from .data import logs, tidy

    table = data if isinstance(data, pd.DataFrame) and "metric" in data.columns else \
        logs.read_log(data, columns=columns, tokens_per_step=tokens_per_step)
    rows = tidy.select(table, metric=metric, last=last)
    empty = [c for c in tidy.COLUMNS if c != "run" and (c in tidy.TEXT or rows[c].isna().all())]
    out = rows.drop(columns=empty)
    out.attrs = rows.attrs
    return out, unit or rows.attrs.get("scalefit", {}).get("unit")


def _recorded(law, options, fix, tie, start, starts, **extra) -> dict:
    """The options a fit records: the solver's, fix, tie, how it started, and ``extra``."""
    label = (law.start if start is None else start if isinstance(start, str)
             else f"{len(starts)} given")
    return {**options.to_dict(), "fix": fix, "tie": dict(tie or {}), "start": label, **extra}


def _finish(law, problem, core, table, summary, recorded, strict, stacklevel) -> Fit:
    """The Fit of an engine result; a ConvergenceWarning (or FitError under ``strict``) naming
    why it did not converge and which parameter ran away."""
    result = Fit(law=law, params=core.params, objective=core.objective,
                 convergence=core.convergence, residuals=core.residuals,
                 n_points=table.n_points, dropped=table.dropped, notes=table.notes,
                 data=summary, options=recorded, free=core.free,
                 covariance=core.covariance, _problem=problem, _u=core.u)
    if not result.convergence.ok:
        msg = (f"{law.name} fit did not converge: {result.convergence.stop.message} "
               f"(max |gradient| {result.convergence.grad_norm:.3g}, tolerance "
               f"{result.convergence.grad_tol:.3g}).")
        ran = runaway(result)
        msg += f" {ran[1]}" if ran else ""
        if strict:
            raise FitError(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=stacklevel)
    return result


def _fit_curves(data, law, spec, fix, tie, start, options, strict, unit=None, **how) -> Fit:
    """Fits a loss-curve law to logged runs (``scalefit.data.curves``)."""
    from .data.curves import prepare_curves

    table = prepare_curves(data, n_free=len(spec.free), law_name=law.name, **how)
    starts = None if start is None else _starts(spec, start)
    problem, core = _solve(spec, table, fix, starts, options)
    summary = {**table.summary(), "quality": _quality(np.asarray(core.residuals),
                                                      np.asarray(table.loss)),
               "unit": unit, "flags": [], "warmup": how["warmup"], "block": how["block"],
               "min_step": how["min_step"],
               "points": _curve_points(table)}
    recorded = _recorded(law, options, fix, tie, start, starts,
                         columns=dict(how["columns"] or {}), weight=None, group="run", drop=[],
                         thresholds={})
    return _finish(law, problem, core, table, summary, recorded, strict, stacklevel=4)


def _curve_points(table) -> dict:
    """Each fitted point of a curve table: its run (index), step, rate and loss, as lists."""
    lr = np.empty(table.n_points)
    for g, label in enumerate(table.group_labels):
        at = table.group == g
        lr[at] = table.schedules[label].rates()[table.steps[at]]
    return {"run": [int(g) for g in table.group], "step": [int(v) for v in table.steps],
            "lr": [float(v) for v in lr], "loss": [float(v) for v in table.loss]}


def _solve(spec: Spec, table, fix: dict, starts, options: Options):
    """Fits the table: returns what a bootstrap needs to refit, and the engine's result."""
    box, natural = _data_box(spec, table.inputs, table.loss, table.source)
    problem = _Problem(spec, make_data(table.inputs, table.loss, table.weight, table.group),
                       table.n_points, fix, options,
                       0 if table.group is None else len(table.group_labels), box, natural)
    check_law(spec, problem.data)
    core = solve(spec, problem.data, problem.n, fixed=fix, starts=starts, options=options,
                 box=box)[0]
    return problem, core


def _data_box(spec: Spec, inputs: Mapping[str, np.ndarray], loss: np.ndarray,
              source: str) -> tuple[tuple | None, dict]:
    """The search-scale bounds of the free parameters when the law declares bounds that depend
    on the data (``Law.data_bounds``) of the points ``inputs``, ``loss`` (read from ``source``),
    and those bounds on the natural scale by name; (None, {}) for a law without them.

    Raises:
        DataError: the data leave a parameter no room (its bounds cross), or a declared bound
            is not a number (positive, for a log-scale parameter).
        ValueError: the law's ``data_bounds`` names a parameter it does not have.
    """
    law = spec.law
    if law.data_bounds is None:
        return None, {}
    declared = law.data_bounds({k: np.asarray(v) for k, v in inputs.items()}, np.asarray(loss))
    lo, hi = spec.bounds()
    natural = {}
    for name, (lower, upper) in dict(declared).items():
        p = law.param(name)
        natural[name] = [None if lower is None else float(lower),
                         None if upper is None else float(upper)]
        if name not in spec.free:
            continue
        i = spec.free.index(name)
        for value, side in ((lower, "lower"), (upper, "upper")):
            if value is None:
                continue
            if not np.isfinite(value) or (p.log and value <= 0):
                raise DataError(f"{source}: {law.name} bounds {name} by the data at "
                                f"{side} {value}, which is not a usable number"
                                + (" (positive, on a log scale)." if p.log else "."))
            v = float(np.log(value)) if p.log else float(value)
            lo[i], hi[i] = (max(lo[i], v), hi[i]) if side == "lower" else (lo[i], min(hi[i], v))
        if not lo[i] < hi[i]:
            raise DataError(f"{source}: the data leave {law.name}'s {name} no room: its "
                            f"bounds from the data {lower}..{upper} and its declared bounds "
                            f"[{p.lower}, {p.upper}] do not overlap.")
    return (lo, hi), natural


def _quality(r: np.ndarray, y: np.ndarray) -> dict:
    """Fit quality: RMSE and max |.| of the log residuals, R^2 of the predicted loss."""
    predicted = y * np.exp(r)
    total = float(np.sum((y - y.mean()) ** 2))
    r2 = 1.0 - float(np.sum((y - predicted) ** 2)) / total if total > 0 else float("nan")
    worst = int(np.argmax(np.abs(r)))
    return {"rmse_log": float(np.sqrt(np.mean(r ** 2))), "max_abs_log": float(abs(r[worst])),
            "worst_point": worst, "r2": r2}


@dataclass(frozen=True)
class _Problem:
    """What a bootstrap needs to refit: the spec, the padded data, and the options."""

    spec: Spec
    data: object
    n: int
    fixed: dict
    options: Options
    n_groups: int
    box: tuple | None = None       # search-scale bounds the data set (Law.data_bounds)
    bounds_from_data: dict | None = None     # ... and on the natural scale, by name


def _piecewise_seed(spec: Spec, table) -> np.ndarray:
    """The law's own starts plus the Farseer differential piecewise fit (Li et al. 2025) of the
    table, moved inside the law's bounds, as one more start."""
    if spec.law.name != "farseer" or spec.fixed or spec.tied:
        raise ValueError("start='piecewise' seeds the farseer law with all its parameters free "
                         f"(got law {spec.law.name!r}" + (", with fixed or tied parameters"
                                                          if spec.fixed or spec.tied else "")
                         + "); use start='grid' or 'sobol:n' otherwise.")
    from .laws._farseer import from_paper
    from .recipes import farseer_piecewise

    try:
        recipe = farseer_piecewise(table.inputs["N"], table.inputs["D"], table.loss)
    except ValueError as err:
        raise DataError(f"{table.source}: the piecewise recipe cannot run on these data ({err}); "
                        "fit with the default starts instead.") from err
    seed = from_paper(recipe.params)
    row = []
    for name in spec.free:
        p = spec.law.param(name)
        lo = -np.inf if p.lower is None else p.lower
        hi = np.inf if p.upper is None else p.upper
        row.append(float(np.clip(seed[name], lo, hi)))
    return np.vstack([spec.starts(), [row]])


def _starts(spec: Spec, start) -> np.ndarray:
    """Returns user starts as a (n_starts, n_free) natural-scale array, checked; a string
    names a start design (``"grid"``, ``"sobol:n"``)."""
    if isinstance(start, str):
        return spec.starts(start)
    rows = start.to_dict("records") if isinstance(start, pd.DataFrame) else (
        [start] if isinstance(start, Mapping) else list(start))
    if not rows:
        raise ValueError("start is empty; give at least one start, or None for the law's grid.")
    out = []
    for row in rows:
        unknown = sorted(set(row) - set(spec.law.param_names))
        missing = [n for n in spec.free if n not in row]
        if unknown or missing:
            raise ValueError(f"start {dict(row)} must give every free parameter of "
                             f"{spec.law.name} ({', '.join(spec.free)})"
                             + (f"; unknown: {', '.join(unknown)}" if unknown else "")
                             + (f"; missing: {', '.join(missing)}" if missing else "") + ".")
        values = [float(row[n]) for n in spec.free]
        for name, v in zip(spec.free, values):
            p = spec.law.param(name)
            if not p.admits(v):
                raise ValueError(f"start value {name}={v} is outside {name}'s domain "
                                 f"(log-scale: {p.log}, bounds: [{p.lower}, {p.upper}]).")
        out.append(values)
    return np.array(out, dtype=np.float64)
