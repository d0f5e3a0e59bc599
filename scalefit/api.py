"""The public verbs: ``fit`` a law to runs, and the immutable ``Fit`` that predicts and saves.

``fit`` resolves the law, hands the data to the data layer (every check lives there), calls
the one engine in ``core``, and wraps the answer. ``Fit``'s prediction methods delegate to the
pure functions of ``predict``; with a bootstrap they also return percentile bands.
"""

from __future__ import annotations

import dataclasses
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd

from . import predict as _predict
from ._options import DEFAULTS, Options
from ._report import runaway
from ._saved import Bootstrap, read_fit, write_fit
from ._version import __version__
from .core import Convergence, Spec, Stop, check_law, make_data, solve
from .core.resample import bootstrap as _resample
from .data import Dropped, prepare, read_inputs
from .data.flags import check_rules, outliers
from .errors import ConvergenceWarning, DataError, ExtrapolationWarning, FitError
from .laws import Law, get_law
from .laws._curves import CURVE_INPUTS

__all__ = ["fit", "load", "Fit", "Bootstrap"]

LEVEL = 0.95            # default interval level
FAILED_REFITS = 0.01    # warn when more than this share of bootstrap refits did not converge
BLOCK_POINTS = 10       # by="block": a resampling unit is this many consecutive points of a run


def fit(data: pd.DataFrame | str | os.PathLike, law: str | Law = "chinchilla", *,
        columns: Mapping[str, str] | None = None, weight: str | None = None,
        group: str | None = None, fix: Mapping[str, float] | None = None,
        tie: Mapping[str, str] | None = None,
        start: Mapping[str, float] | Sequence[Mapping[str, float]] | pd.DataFrame | None = None,
        bootstrap: int = 0, seed: int = 0, by: str | None = None, unit: str | None = None,
        drop: Sequence[str] = (), thresholds: Mapping[str, float] | None = None,
        schedules=None, block: int | None = None, min_step: int = 0, warmup: str = "included",
        metric: str | None = None, last: bool = False, tokens_per_step: float | None = None,
        loss: str | None = None, delta: float | None = None,
        n_solve: int | str | None = None, max_steps: int | None = None,
        gtol: float = DEFAULTS.gtol, xtol: float = DEFAULTS.xtol,
        drop_invalid: bool = False, strict: bool = False) -> Fit:
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
        loss, delta, n_solve, max_steps, gtol, xtol: see ``scalefit.Options``; ``loss``,
            ``delta``, ``n_solve`` and ``max_steps`` default to the law's own choice
            (``Law.fit_defaults``: Farseer fits squared log residuals with up to 3,000 steps;
            the loss-curve laws solve the best 8 starts), else to ``scalefit.Options``'
            defaults (32 starts solved); ``n_solve="all"`` solves every start.
        drop_invalid: drop rows with NaN, inf or non-positive values (listed in ``dropped``)
            instead of raising.
        strict: raise FitError instead of warning when the fit did not converge.

    Raises:
        DataError: bad input data (named column, line and value).
        ValueError: unknown law or parameter, bad option.
        FitError: ``strict=True`` and the best start did not converge.
    """
    if unit is not None and (not isinstance(unit, str) or not unit.strip()):
        raise ValueError(f"unit must be a name such as 'nats' or 'bits per character', got {unit!r}.")
    if metric is not None or last or tokens_per_step is not None or _is_log(data):
        data, unit = _from_log(data, columns, metric, last, tokens_per_step, unit)
        columns = None
    if isinstance(law, str) and law == "auto":
        if fix or tie or start is not None:
            raise ValueError("law='auto' compares several laws, so it takes no fix, tie or "
                             "start; choose the law to fix or tie its parameters.")
        from ._backtest import select

        return select(data, columns=columns, weight=weight, group=group, bootstrap=bootstrap,
                      seed=seed, by=by, unit=unit, drop=drop, thresholds=thresholds, loss=loss,
                      delta=delta, n_solve=n_solve, max_steps=max_steps, gtol=gtol, xtol=xtol,
                      drop_invalid=drop_invalid, strict=strict)
    law = get_law(law)
    options = Options.resolve(law.fit_defaults, loss=loss, delta=delta, n_solve=n_solve,
                              max_steps=max_steps, gtol=gtol, xtol=xtol)
    spec = Spec.build(law, fix, tie, options.loss)
    fix = {k: float(v) for k, v in (fix or {}).items()}
    drop, thresholds = check_rules(drop, thresholds)
    if law.inputs == CURVE_INPUTS:
        if weight is not None or drop:
            raise ValueError(f"{law.name} fits loss curves: weight= and drop= do not apply to "
                             "it yet.")
        curve_columns = {**(columns or {}), **({"run": group} if group else {})}
        result = _fit_curves(data, law, spec, fix, tie, start, options, strict,
                             columns=curve_columns or None, schedules=schedules, block=block,
                             min_step=min_step, warmup=warmup, unit=unit)
        return result.bootstrap(bootstrap, seed=seed, by=by) if bootstrap else result
    table = prepare(data, law.inputs, columns=columns, weight=weight, group=group,
                    drop_invalid=drop_invalid, n_free=len(spec.free), law_name=law.name,
                    drop=drop, thresholds=thresholds)
    starts = (_piecewise_seed(spec, table) if isinstance(start, str) and start == "piecewise"
              else None if start is None else _starts(spec, start))
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
    recorded = _recorded(law, options, fix, tie, start, starts, columns=dict(columns or {}),
                         weight=weight, group=table.columns.get("group"), drop=list(drop),
                         thresholds=thresholds)
    result = _finish(law, problem, core, table, summary, recorded, strict, stacklevel=3)
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
    problem = _Problem(spec, make_data(table.inputs, table.loss, table.weight, table.group),
                       table.n_points, fix, options,
                       0 if table.group is None else len(table.group_labels))
    check_law(spec, problem.data)
    core = solve(spec, problem.data, problem.n, fixed=fix, starts=starts, options=options)[0]
    return problem, core


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


def _freeze(value):
    """A read-only copy: mappings become read-only views of copies, lists tuples, arrays
    read-only."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, np.ndarray):
        value = value.copy()
        value.setflags(write=False)
    return value


@dataclass(frozen=True, eq=False)
class Fit:
    """A fitted law: parameters, convergence record, data summary; predicts and saves.

    Immutable: ``params``, ``options`` and ``data`` are read-only mappings and the arrays are
    read-only; ``bootstrap`` returns a new fit.

    Attributes:
        law: the fitted law.
        params: parameter name -> value on its natural scale (fixed and tied ones included).
        objective: the summed objective at the optimum (never a mean).
        convergence: why the solver stopped, gradient norm, starts in the best basin, ...
        residuals: log(predicted) - log(observed) per fitted point.
        n_points: points fitted.
        dropped: every row not fitted (line, row, reason).
        notes: what the data layer derived or filtered (e.g. D = C/(6N)).
        data: the data summary (source, ranges, columns used).
        options: the options the fit ran with (``scalefit.Options`` plus fix, tie, start,
            columns, weight, group).
        free: names of the free parameters, in the order of ``covariance``.
        covariance: sandwich covariance of the free parameters on their search scale (log scale
            for log parameters), from the exact Hessian at the optimum.
        resamples: the bootstrap refits, or None.
    """

    law: Law
    params: Mapping[str, float]
    objective: float
    convergence: Convergence
    residuals: np.ndarray
    n_points: int
    dropped: tuple[Dropped, ...] = ()
    notes: tuple[str, ...] = ()
    data: Mapping = field(default_factory=dict)
    options: Mapping = field(default_factory=dict)
    free: tuple[str, ...] = ()
    covariance: np.ndarray | None = None
    resamples: Bootstrap | None = None
    version: str = __version__
    _problem: _Problem | None = field(default=None, repr=False)
    _u: np.ndarray | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        for name in ("params", "data", "options", "residuals", "covariance", "notes", "dropped"):
            value = getattr(self, name)
            object.__setattr__(self, name, None if value is None else _freeze(value))
        object.__setattr__(self, "free", tuple(self.free))

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        state = "converged" if self.convergence.ok else f"NOT converged ({self.convergence.stop.name})"
        return (f"Fit(law={self.law.name!r}, {params}, objective={self.objective:.10g}, "
                f"n_points={self.n_points}, {state})")

    @property
    def flags(self) -> pd.DataFrame:
        """The points the flagging rules found, one row per point and rule: ``line`` (in the
        file; None for a DataFrame), ``row`` (index label), ``run``, ``rule`` (diverged,
        duplicates, leverage, outliers), ``value`` (what the rule measured: the loss ratio, the
        decades, the robust z-score), ``reason`` and ``dropped`` (left out by ``drop=``).
        The rules and thresholds: ``scalefit.data.flags``."""
        columns = ["line", "row", "run", "rule", "value", "reason", "dropped"]
        records = [dict(r) for r in self.data.get("flags", ())]
        return pd.DataFrame(records, columns=columns).astype({"value": "float64",
                                                               "dropped": "bool"})

    # ---- uncertainty ----

    @property
    def stderr(self) -> Mapping[str, float]:
        """Standard error of every parameter on its natural scale, from ``covariance`` (delta
        method for log parameters); 0 for fixed, the root's for tied ones, NaN if unknown."""
        se = {}
        cov = self.covariance
        for i, name in enumerate(self.free):
            s = float(np.sqrt(cov[i, i])) if cov is not None and cov[i, i] >= 0 else float("nan")
            se[name] = s * self.params[name] if self.law.param(name).log else s
        for name in self.law.param_names:
            if name in self.options.get("fix", {}):
                se[name] = 0.0
        for name, root in self.options.get("tie", {}).items():
            se[name] = se.get(root, float("nan"))
        return MappingProxyType({n: se.get(n, float("nan")) for n in self.law.param_names})

    @property
    def correlation(self) -> pd.DataFrame:
        """Correlation matrix of the free parameters (search scale), labelled by name."""
        cov = np.full((len(self.free),) * 2, np.nan) if self.covariance is None else self.covariance
        sd = np.sqrt(np.diag(cov))
        with np.errstate(invalid="ignore", divide="ignore"):
            return pd.DataFrame(cov / np.outer(sd, sd), index=list(self.free),
                                columns=list(self.free))

    def bootstrap(self, n: int = 4000, seed: int = 0, by: str | None = None) -> Fit:
        """Returns this fit with ``n`` bootstrap refits attached (``resamples``).

        Each resample draws the fitted rows (``by="row"``), blocks of ``BLOCK_POINTS``
        consecutive points of a run (``by="block"``, the default for a loss-curve law, whose
        neighbouring steps are correlated) or whole runs (``by="group"``, the
        default when the fit has a group column) with replacement and is refitted from this
        fit's optimum, all in one compiled call. The same seed gives bit-identical draws.
        Refits that did not converge are kept in ``resamples`` but left out of every interval;
        when more than 1% did not, a ``ConvergenceWarning`` says how many and why.

        Raises:
            ValueError: n below 2, an unknown ``by``, ``by="group"`` without groups.
            FitError: the fit was loaded from disk (it holds no data to resample).
        """
        problem = self._problem
        if problem is None:
            raise FitError("this fit was loaded from a file and holds no data to resample; "
                           "fit the data again with scalefit.fit(..., bootstrap=n).")
        if int(n) != n or n < 2:
            raise ValueError(f"bootstrap needs at least 2 resamples, got n={n}.")
        curves = self.law.inputs == CURVE_INPUTS
        by = by or ("block" if curves else "group" if problem.n_groups else "row")
        if by not in ("row", "group", "block"):
            raise ValueError(f"by must be 'row', 'group' or 'block', got {by!r}.")
        if by == "group" and not problem.n_groups:
            raise ValueError("by='group' needs a group column: fit with group='<your run "
                             "column>' (a column called 'run' is used by itself).")
        run = np.asarray(problem.data.group[:problem.n])
        if by == "group":
            units, n_units = run, problem.n_groups
        elif by == "block":      # consecutive points of a run: neighbouring steps correlate
            start = np.concatenate([[0], np.flatnonzero(np.diff(run)) + 1])
            position = np.arange(problem.n) - np.repeat(start, np.diff(np.append(start,
                                                                                 problem.n)))
            _, units = np.unique(np.stack([run, position // BLOCK_POINTS]), axis=1,
                                 return_inverse=True)
            units = np.ravel(units)
            n_units = int(units.max()) + 1
        else:
            units, n_units = np.arange(problem.n), problem.n
        res = _resample(problem.spec, problem.data, problem.n, problem.fixed, self._u, int(n),
                        int(seed), units, n_units, problem.options)
        boot = Bootstrap(n=int(n), seed=int(seed), by=by, n_units=n_units, params=res.params,
                         converged=res.converged, stop=res.stop)
        failed = boot.n - boot.n_converged
        if failed > FAILED_REFITS * boot.n:
            stops = ", ".join(f"{c} {s.name}" for s, c in boot.stops.items()
                              if s is not Stop.CONVERGED)
            warnings.warn(f"{failed} of {boot.n} bootstrap refits did not converge ({stops}); "
                          f"intervals use the {boot.n_converged} that did and leave out the "
                          "resamples the law fits worst, so they may be too narrow.",
                          ConvergenceWarning, stacklevel=2)
        return dataclasses.replace(self, resamples=boot)

    def _draws(self) -> dict[str, np.ndarray]:
        if self.resamples is None:
            raise FitError("no bootstrap: call fit.bootstrap(n=4000) (or scalefit.fit(..., "
                           "bootstrap=4000)) for intervals.")
        return self.resamples.draws(self.law.param_names)

    def intervals(self, level: float = LEVEL) -> pd.DataFrame:
        """Returns each parameter's value, standard error and bootstrap percentile interval.

        Raises:
            FitError: the fit has no bootstrap.
        """
        draws = self._draws()
        names = list(self.law.param_names)
        lower, upper = _predict.band(np.stack([draws[n] for n in names], axis=1), level)
        return pd.DataFrame({"value": [self.params[n] for n in names],
                             "stderr": [self.stderr[n] for n in names],
                             "lower": lower, "upper": upper}, index=pd.Index(names, name="param"))

    # ---- predictions ----

    def _inputs(self, args, inputs) -> dict:
        names = self.law.inputs
        if args and isinstance(args[0], (pd.DataFrame, str, os.PathLike)):
            if len(args) > 1 or inputs:
                raise ValueError("give a table alone, or arrays: predict(df) or predict(N, D).")
            return read_inputs(args[0], names, columns=self.options.get("columns") or None)
        if len(args) > len(names):
            raise ValueError(f"{self.law.name} has {len(names)} inputs ({', '.join(names)}); "
                             f"got {len(args)} positional values.")
        both = sorted(set(names[:len(args)]) & set(inputs))
        if both:
            raise ValueError(f"{', '.join(both)} given both by position and by name.")
        return {**dict(zip(names, args)), **inputs}

    def _beyond(self, x: Mapping[str, np.ndarray], what: str) -> np.ndarray:
        """How far the points of ``x`` lie outside the fitted data (decades); warns beyond
        ``scalefit.predict.FAR``."""
        ranges = self.data.get("inputs", {})
        per = _predict.beyond(ranges, x)
        message = _predict.far_message(per, ranges, what)
        if message:
            warnings.warn(message, ExtrapolationWarning, stacklevel=3)
        return _predict.farthest(per)

    def extrapolation(self, *args, **inputs) -> pd.DataFrame:
        """Returns how far each point lies outside the data the law was fitted to.

        Takes inputs like ``predict``. One column per input: decades above the largest fitted
        value (positive) or below the smallest (negative), 0 inside the fitted range; and
        ``decades_beyond``, the largest distance of the point over its inputs.
        """
        x = self._inputs(args, inputs)
        per = _predict.beyond(self.data.get("inputs", {}), x)
        cols = dict(zip(per, map(np.ravel, np.broadcast_arrays(*per.values()))))
        return pd.DataFrame({**cols, "decades_beyond": np.ravel(_predict.farthest(per))})

    def predict(self, *args, level: float = LEVEL, **inputs):
        """Returns the predicted loss at the given inputs (the loss column's units).

        ``fit.predict(df)`` reads the law's input columns from a DataFrame or a CSV/Parquet
        path, through the column mapping the fit was made with (D derived from C and N if
        needed); ``fit.predict(N, D)`` takes arrays in the law's input order;
        ``fit.predict(N=..., D=...)`` takes them by name. A point more than
        ``scalefit.predict.FAR`` (1) decade outside the fitted data raises an
        ``ExtrapolationWarning`` naming the input; ``extrapolation`` gives the distances.

        For a loss-curve law (multi_power, lr_annealing) the input is a learning-rate schedule:
        ``fit.predict(schedule, steps=None)`` is ``predict_curve``.

        Returns:
            An array; with a bootstrap, a DataFrame with columns ``loss``, ``lower`` and
            ``upper`` (the ``level`` percentile band over the converged refits) and
            ``decades_beyond`` (how far each point lies outside the fitted data).
        """
        if self.law.inputs == CURVE_INPUTS:
            given = dict(zip(("schedule", "steps"), args))
            if (len(args) > 2 or set(given) & set(inputs) or set(inputs) - {"schedule", "steps"}
                    or "schedule" not in {**given, **inputs}):
                raise TypeError(f"{self.law.name} predicts the loss curve of a schedule: "
                                "fit.predict(schedule, steps=None), e.g. fit.predict("
                                "'cosine:peak=3e-4,warmup=2000,total=24000').")
            return self.predict_curve(*args, **inputs, level=level)
        x = self._inputs(args, inputs)
        loss = _predict.predict_loss(self.law, self.params, x)
        far = self._beyond(x, "a prediction")
        if self.resamples is None:
            return loss
        draws = _predict.loss_draws(self.law, self._draws(), x)
        lower, upper = _predict.band(draws, level)
        return pd.DataFrame({"loss": np.ravel(loss), "lower": np.ravel(lower),
                             "upper": np.ravel(upper),
                             "decades_beyond": np.ravel(np.broadcast_to(far, np.shape(loss)))})

    def optimal(self, compute=None, n_range: tuple[float, float] | None = None,
                level: float = LEVEL) -> _predict.Allocation:
        """Returns the compute-optimal N and D (and loss) for budgets in FLOPs, C = 6ND; with a
        bootstrap, ``band`` holds the ``level`` interval of N, D, D/N and loss.

        ``compute`` defaults to the powers of 10 from one decade below the data's largest
        compute to three above it. ``decades_beyond`` says how far each (N, D) lies outside the
        fitted data; beyond 1 decade an ``ExtrapolationWarning`` says so. A law without a closed
        form (Farseer, Kaplan) is searched over N within ``n_range``, by default two decades
        either side of the fitted N (a law fitted on some sizes says nothing reliable far
        beyond them, and Farseer's loss turns down again at absurd N); a budget whose best N
        is an end of that range is marked ``at_bound`` with a warning.
        """
        _predict._needs_nd(self.law, "compute-optimal allocation")
        ranges = self.data.get("inputs", {})
        if compute is None:
            compute = _predict.default_budgets(ranges)
        if n_range is None:
            n_range = ((ranges["N"]["min"] / 100, ranges["N"]["max"] * 100) if "N" in ranges
                       else _predict.N_RANGE)
        alloc = _predict.optimal_allocation(self.law, self.params, compute, n_range)
        if np.any(alloc.at_bound):
            first = np.atleast_1d(alloc.C)[np.atleast_1d(alloc.at_bound)][0]
            warnings.warn(f"from C = {first:.3g} the loss of {self.law.name} is lowest at an end "
                          f"of the N range {n_range[0]:.3g}..{n_range[1]:.3g}, so those rows "
                          "give that end (at_N_bound), not an optimum; pass n_range to search "
                          "wider.", UserWarning, stacklevel=2)
        far = self._beyond({"N": alloc.N, "D": alloc.D}, "a compute-optimal allocation")
        alloc = dataclasses.replace(alloc, decades_beyond=far if np.ndim(far) else float(far))
        if self.resamples is None:
            return alloc
        per = _predict.optimal_draws(self.law, self._draws(), compute, n_range)
        shape = np.shape(alloc.N)
        bands = {k: tuple(np.reshape(b, shape) for b in _predict.band(v, level))
                 for k, v in per.items()}
        if not shape:
            bands = {k: (float(a), float(b)) for k, (a, b) in bands.items()}
        return dataclasses.replace(alloc, band=MappingProxyType(bands))

    def tokens(self, loss, N, level: float = LEVEL):
        """Returns the tokens needed at N parameters to reach ``loss``; with a bootstrap, a
        DataFrame with columns ``D``, ``lower`` and ``upper`` (inf: some refits never reach it)
        and ``decades_beyond`` (how far (N, D) lies outside the fitted data; beyond 1 decade an
        ``ExtrapolationWarning`` says so)."""
        D = _predict.tokens_for_loss(self.law, self.params, loss, N)
        x = {"N": N, "D": D} if "N" in self.law.inputs else {"D": D}
        far = self._beyond(x, "the tokens to reach that loss")
        if self.resamples is None:
            return D
        lower, upper = _predict.band(_predict.tokens_draws(self.law, self._draws(), loss, N), level)
        return pd.DataFrame({"D": np.ravel(D), "lower": np.ravel(lower), "upper": np.ravel(upper),
                             "decades_beyond": np.ravel(np.broadcast_to(far, np.shape(D)))})

    def predict_curve(self, schedule, steps=None, *, level: float = LEVEL) -> pd.DataFrame:
        """Returns the loss curve a loss-curve law predicts for a run under ``schedule``.

        Args:
            schedule: a ``scalefit.schedules.Schedule``, a spec such as
                ``"wsd:peak=3e-4,warmup=2160,decay_start=20000,total=24000,shape=geometric"``,
                or an array of the rate at every step from 0.
            steps: the steps to predict (default every step from 1 to the schedule's end).

        Returns:
            A DataFrame with columns ``step``, ``lr`` and ``loss`` (and ``lower``, ``upper``
            with a bootstrap); ``.attrs["final_loss"]`` holds the loss at the last step.
        """
        if self.law.inputs != CURVE_INPUTS:
            raise ValueError(f"{self.law.name} is not a loss-curve law; predict_curve needs "
                             "multi_power or lr_annealing.")
        from .data.curves import schedule_of
        from .data.schedule_sums import blocks

        sched = schedule_of(schedule)
        rates = sched.rates()
        steps = np.arange(1, len(rates)) if steps is None else np.asarray(steps, np.int64)
        b = blocks(rates, steps, warmup=self.data.get("warmup", "included"))
        loss = _predict.evaluate_blocks(self.law, self.params, b)
        out = pd.DataFrame({"step": b.steps, "lr": rates[b.steps], "loss": loss})
        if self.resamples is not None:
            per = _predict.evaluate_blocks(self.law, self._draws(), b, draws=True)
            out["lower"], out["upper"] = _predict.band(per, level)
        out.attrs["final_loss"] = float(loss[-1])
        out.attrs["schedule"] = str(sched)
        return out

    def observed(self) -> pd.DataFrame:
        """The points a loss-curve law was fitted to beside its values there, for plots.

        Returns:
            A DataFrame with ``run``, ``step``, ``lr`` (the run's schedule), ``loss`` (as
            fitted: block means with ``block=``), ``predicted`` and ``residual`` (log predicted
            minus log observed); the runs' schedules are in ``fit.data["runs"]``.
        """
        points = self.data.get("points")
        if self.law.inputs != CURVE_INPUTS or points is None:
            raise ValueError(f"observed() lists the points of a loss-curve fit; {self.law.name} "
                             "fits are checked with fit.residuals and fit.predict.")
        labels = list(self.data["runs"])
        loss = np.asarray(points["loss"], np.float64)
        r = np.asarray(self.residuals, np.float64)
        return pd.DataFrame({"run": [labels[g] for g in points["run"]],
                             "step": np.asarray(points["step"], np.int64),
                             "lr": np.asarray(points["lr"], np.float64), "loss": loss,
                             "predicted": loss * np.exp(r), "residual": r})

    def compare_schedules(self, schedules, level: float = LEVEL) -> pd.DataFrame:
        """Returns the final loss a loss-curve law predicts under each schedule, best first.

        For the what-ifs of a run: the cooldown's start, length and shape of a WSD run
        (``scalefit.schedules.wsd_family``), or any schedules of the same length.

        Args:
            schedules: Schedules or spec strings.

        Returns:
            A DataFrame with ``schedule`` (the spec), ``steps``, ``final_loss`` (and ``lower``,
            ``upper`` with a bootstrap), sorted by ``final_loss``.
        """
        if self.law.inputs != CURVE_INPUTS:
            raise ValueError(f"{self.law.name} is not a loss-curve law; compare_schedules needs "
                             "multi_power or lr_annealing.")
        from .data.curves import schedule_of
        from .data.schedule_sums import join, terms

        rows, parts = [], []
        for item in schedules:
            sched = schedule_of(item)
            rates = sched.rates()
            parts.append(terms(rates, np.array([len(rates) - 1]),
                               warmup=self.data.get("warmup", "included")))
            rows.append({"schedule": str(sched), "steps": len(rates)})
        x = join(parts)
        out = pd.DataFrame(rows)
        out["final_loss"] = _predict.evaluate(self.law, self.params, x)
        if self.resamples is not None:
            per = _predict.evaluate_draws(self.law, self._draws(), x)
            out["lower"], out["upper"] = _predict.band(per, level)
        return out.sort_values("final_loss", ignore_index=True)

    # ---- report and files ----

    def report(self, level: float = LEVEL) -> str:
        """Returns a plain-text report: parameters, objective and convergence in words."""
        from ._report import report

        return report(self, level)

    def to_dict(self) -> dict:
        """Returns everything needed to rebuild the fit (bootstrap draws aside), JSON-ready."""
        from ._saved import fit_to_dict

        return fit_to_dict(self)

    def save(self, path: str | os.PathLike) -> Path:
        """Writes the fit as JSON to ``path`` (bootstrap draws beside it, ``<stem>.bootstrap.npz``);
        returns the path. ``"-"`` writes the JSON to standard output; a path that is a symlink
        or a device is written in place, never replaced."""
        return write_fit(self, Path(path))


def load(path: str | os.PathLike, law: Law | None = None) -> Fit:
    """Returns the fit saved at ``path`` by ``Fit.save`` (with its bootstrap draws, if any).

    Args:
        path: the JSON file.
        law: the ``Law`` object, required for a law you wrote yourself (it is looked up by
            name otherwise).

    Raises:
        DataError: the file is missing or not a scalefit fit, or its draws file is missing.
        ValueError: the law is unknown (pass ``law=``) or its parameters do not match.
    """
    return Fit(**read_fit(Path(path), law))
