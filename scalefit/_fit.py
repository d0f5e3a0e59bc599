"""The immutable ``Fit``: a fitted law's parameters, record and bands; predicts and saves.

Light on purpose: importing it (to load a saved fit and predict from it) imports neither pandas
nor JAX; the methods that return tables import pandas when called, ``bootstrap`` imports the
core, and the predictions of a law written for any array module (``Law.array_api``) run in numpy.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from . import predict as _predict
from ._saved import Bootstrap, read_fit, write_fit
from ._version import __version__
from .core.result import Convergence, Stop
from .data._dropped import Dropped
from .errors import ConvergenceWarning, FitError
from .laws import Law
from .laws._curves import CURVE_INPUTS

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["Fit", "load", "LEVEL"]

LEVEL = _predict.LEVEL  # default interval level
FAILED_REFITS = 0.01    # warn when more than this share of bootstrap refits did not converge
BLOCK_POINTS = 10       # by="block": a resampling unit is this many consecutive points of a run


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
    _problem: object | None = field(default=None, repr=False)   # api._Problem: the data to resample
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
        import pandas as pd

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
        import pandas as pd

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
        from .core.resample import bootstrap as _resample

        res = _resample(problem.spec, problem.data, problem.n, problem.fixed, self._u, int(n),
                        int(seed), units, n_units, problem.options, box=problem.box)
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
        draws = _predict.draws(self)
        if draws is None:
            raise FitError("no bootstrap: call fit.bootstrap(n=4000) (or scalefit.fit(..., "
                           "bootstrap=4000)) for intervals.")
        return draws

    def intervals(self, level: float = LEVEL) -> pd.DataFrame:
        """Returns each parameter's value, standard error and bootstrap percentile interval.

        Raises:
            FitError: the fit has no bootstrap.
        """
        import pandas as pd

        draws = self._draws()
        names = list(self.law.param_names)
        lower, upper = _predict.band(np.stack([draws[n] for n in names], axis=1), level)
        return pd.DataFrame({"value": [self.params[n] for n in names],
                             "stderr": [self.stderr[n] for n in names],
                             "lower": lower, "upper": upper}, index=pd.Index(names, name="param"))

    # ---- predictions ----

    def _inputs(self, args, inputs) -> dict:
        names = self.law.inputs
        pd = sys.modules.get("pandas")           # a DataFrame means pandas is loaded already
        if args and isinstance(args[0], (str, os.PathLike) + ((pd.DataFrame,) if pd else ())):
            if len(args) > 1 or inputs:
                raise ValueError("give a table alone, or arrays: predict(df) or predict(N, D).")
            from .data.table import read_inputs

            return read_inputs(args[0], names, columns=self.options.get("columns") or None)
        if len(args) > len(names):
            raise ValueError(f"{self.law.name} has {len(names)} inputs ({', '.join(names)}); "
                             f"got {len(args)} positional values.")
        both = sorted(set(names[:len(args)]) & set(inputs))
        if both:
            raise ValueError(f"{', '.join(both)} given both by position and by name.")
        return {**dict(zip(names, args)), **inputs}

    def extrapolation(self, *args, **inputs) -> pd.DataFrame:
        """Returns how far each point lies outside the data the law was fitted to.

        Takes inputs like ``predict``. One column per input: decades above the largest fitted
        value (positive) or below the smallest (negative), 0 inside the fitted range; and
        ``decades_beyond``, the largest distance of the point over its inputs.
        """
        import pandas as pd

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
        cols = _predict.loss_columns(self, self._inputs(args, inputs), level)
        if self.resamples is None:
            return cols["loss"]
        import pandas as pd

        return pd.DataFrame(cols)

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
        return _predict.allocation(self, compute, n_range, level)

    def tokens(self, loss, N, level: float = LEVEL):
        """Returns the tokens needed at N parameters to reach ``loss``; with a bootstrap, a
        DataFrame with columns ``D``, ``lower`` and ``upper`` (inf: some refits never reach it)
        and ``decades_beyond`` (how far (N, D) lies outside the fitted data; beyond 1 decade an
        ``ExtrapolationWarning`` says so)."""
        cols = _predict.tokens_columns(self, loss, N, level)
        if self.resamples is None:
            return cols["D"]
        import pandas as pd

        return pd.DataFrame(cols)

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
        import pandas as pd

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
        import pandas as pd

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
        import pandas as pd

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
