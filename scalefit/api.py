"""The public verbs: ``fit`` a law to runs, and the immutable ``Fit`` that predicts and saves.

``fit`` resolves the law, hands the data to the data layer (every check lives there), calls
the one engine in ``core``, and wraps the answer. ``Fit``'s prediction methods delegate to the
pure functions of ``predict``.
"""

from __future__ import annotations

import dataclasses
import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ._version import __version__
from .core import Convergence, Options, Spec, check_law, solve
from .data import Dropped, prepare, read_inputs
from .errors import ConvergenceWarning, DataError, FitError
from .laws import Law, get_law
from . import predict as _predict

__all__ = ["fit", "load", "Fit"]


def fit(data: pd.DataFrame | str | os.PathLike, law: str | Law = "chinchilla", *,
        columns: Mapping[str, str] | None = None, weight: str | None = None,
        loss: str = "huber", delta: float = 1e-3, fix: Mapping[str, float] | None = None,
        tie: Mapping[str, str] | None = None,
        start: Mapping[str, float] | Sequence[Mapping[str, float]] | pd.DataFrame | None = None,
        n_solve: int | None = 32, max_steps: int = 500, gtol: float = 1e-8, xtol: float = 1e-6,
        drop_invalid: bool = False, strict: bool = False) -> Fit:
    """Returns the law fitted to logged runs by robust multi-start minimisation.

    Minimises sum_i w_i * Huber_delta(log L_pred_i - log L_i) (or half squared residuals)
    from every start of the law's grid: the objective is screened at all starts and the best
    ``n_solve`` are solved to convergence; the lowest objective wins.

    Args:
        data: a DataFrame, or a CSV/Parquet path, with the law's inputs (e.g. N and D, or C
            and N to derive D = C/(6N)) and a ``loss`` column.
        law: a law name (``scalefit.laws.LAW_NAMES``) or a ``scalefit.Law``.
        columns: your column names, e.g. ``{"N": "model_size", "loss": "val_loss"}``.
        weight: name of a column of per-point weights (non-negative).
        loss: ``"huber"`` (default) or ``"squared"``.
        delta: Huber's delta on log residuals (Hoffmann et al.: 1e-3).
        fix: parameters held at a value, e.g. ``{"E": 1.69}``.
        tie: parameters set equal to another, e.g. ``{"beta": "alpha"}``.
        start: one start (a mapping of free-parameter values), several, or a DataFrame of them;
            default the law's grid (4,500 starts for Chinchilla).
        n_solve: starts solved after screening; None solves every start.
        max_steps: solver steps per start.
        gtol: converged when max |gradient| <= gtol * objective (+ float64 round-off floor)...
        xtol: ... and the next step is below xtol * (1 + max |u|) on the search scale.
        drop_invalid: drop rows with NaN, inf or non-positive values (listed in ``dropped``)
            instead of raising.
        strict: raise FitError instead of warning when the fit did not converge.

    Raises:
        DataError: bad input data (named column, line and value).
        ValueError: unknown law or parameter, bad option.
        FitError: ``strict=True`` and the best start did not converge.
    """
    law = get_law(law)
    spec = Spec.build(law, fix, tie, loss)
    options = Options(delta=delta, n_solve=n_solve, max_steps=max_steps, gtol=gtol, xtol=xtol)
    table = prepare(data, law.inputs, columns=columns, weight=weight, drop_invalid=drop_invalid,
                    n_free=len(spec.free), law_name=law.name)
    starts = None if start is None else _starts(spec, start)
    w = np.ones(table.n_points) if table.weight is None else table.weight
    check_law(spec, table.inputs, fix, None if starts is None else starts[0])
    core = solve(spec, table.inputs, table.loss, w, fixed=fix, starts=starts, options=options)
    result = Fit(
        law=law, params=core.params, objective=core.objective, convergence=core.convergence,
        residuals=core.residuals, n_points=table.n_points, dropped=table.dropped,
        notes=table.notes, data=table.summary(),
        options={"loss": loss, **dataclasses.asdict(options), "fix": dict(fix or {}),
                 "tie": dict(tie or {}), "start": "grid" if start is None else f"{len(starts)} given"})
    if not result.convergence.ok:
        msg = (f"{law.name} fit did not converge: {result.convergence.stop.message} "
               f"(max |gradient| {result.convergence.grad_norm:.3g}, tolerance "
               f"{result.convergence.grad_tol:.3g}).")
        if strict:
            raise FitError(msg)
        warnings.warn(msg, ConvergenceWarning, stacklevel=2)
    return result


def _starts(spec: Spec, start) -> np.ndarray:
    """Returns user starts as a (n_starts, n_free) natural-scale array, checked."""
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


@dataclass(frozen=True, eq=False)
class Fit:
    """A fitted law: parameters, convergence record, data summary; predicts and saves.

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
        options: the options the fit ran with.
    """

    law: Law
    params: dict[str, float]
    objective: float
    convergence: Convergence
    residuals: np.ndarray
    n_points: int
    dropped: tuple[Dropped, ...] = ()
    notes: tuple[str, ...] = ()
    data: dict = field(default_factory=dict)
    options: dict = field(default_factory=dict)
    version: str = __version__

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v:.6g}" for k, v in self.params.items())
        state = "converged" if self.convergence.ok else f"NOT converged ({self.convergence.stop.name})"
        return (f"Fit(law={self.law.name!r}, {params}, objective={self.objective:.10g}, "
                f"n_points={self.n_points}, {state})")

    def predict(self, data=None, D=None, **inputs) -> np.ndarray:
        """Returns the predicted loss at the given inputs (the loss column's units).

        ``fit.predict(df)`` reads the law's input columns from a DataFrame or a CSV/Parquet
        path (D derived from C and N if needed); ``fit.predict(N, D)`` takes arrays in the
        law's input order; ``fit.predict(N=..., D=...)`` takes them by name.
        """
        if isinstance(data, (pd.DataFrame, str, os.PathLike)):
            return _predict.predict_loss(self.law, self.params, read_inputs(data, self.law.inputs))
        if data is not None:
            positional = [data] + ([] if D is None else [D])
            inputs.update(zip(self.law.inputs, positional))
        elif D is not None:
            inputs["D"] = D
        return _predict.predict_loss(self.law, self.params, inputs)

    def optimal(self, compute, n_range: tuple[float, float] = _predict.N_RANGE) -> _predict.Allocation:
        """Returns the compute-optimal N and D (and loss) for budgets in FLOPs, C = 6ND."""
        return _predict.optimal_allocation(self.law, self.params, compute, n_range)

    def tokens(self, loss, N):
        """Returns the tokens needed at N parameters to reach ``loss``."""
        return _predict.tokens_for_loss(self.law, self.params, loss, N)

    def report(self) -> str:
        """Returns a plain-text report: parameters, objective and convergence in words."""
        from ._report import report

        return report(self)

    def to_dict(self) -> dict:
        """Returns everything needed to rebuild the fit, JSON-serialisable."""
        return {
            "scalefit_version": self.version, "law": self.law.name,
            "law_reference": self.law.reference, "params": self.params,
            "objective": self.objective, "convergence": self.convergence.to_dict(),
            "n_points": self.n_points, "options": self.options, "data": self.data,
            "notes": list(self.notes),
            "dropped": [{"line": d.line, "row": _jsonable(d.row), "reason": d.reason}
                        for d in self.dropped],
            "residuals": [float(r) for r in self.residuals],
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Writes the fit as JSON to ``path``; returns the path."""
        path = Path(path)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(self.to_dict(), indent=2, allow_nan=True) + "\n")
        os.replace(tmp, path)
        return path


def _jsonable(v):
    return v.item() if isinstance(v, np.generic) else v if isinstance(v, (int, float, str)) else str(v)


def load(path: str | os.PathLike, law: Law | None = None) -> Fit:
    """Returns the fit saved at ``path`` by ``Fit.save``.

    Args:
        path: the JSON file.
        law: the ``Law`` object, required for a law you wrote yourself (it is looked up by
            name otherwise).

    Raises:
        DataError: the file is missing or not a scalefit fit.
        ValueError: the law is unknown (pass ``law=``) or its parameters do not match.
    """
    path = Path(path)
    try:
        d = json.loads(path.read_text())
        name, params = d["law"], {k: float(v) for k, v in d["params"].items()}
    except FileNotFoundError:
        raise DataError(f"{path}: no such file.") from None
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise DataError(f"{path} is not a scalefit fit ({err}).") from None
    if law is None:
        try:
            law = get_law(name)
        except ValueError:
            raise ValueError(f"{path} holds a fit of law {name!r}, which scalefit does not "
                             "know: pass the Law you fitted, load(path, law=my_law).") from None
    if set(law.param_names) != set(params):
        raise ValueError(f"{path} has parameters {sorted(params)}, but law {law.name!r} has "
                         f"{sorted(law.param_names)}.")
    dropped = tuple(Dropped(x["line"], x["row"], x["reason"]) for x in d.get("dropped", []))
    return Fit(law=law, params=params, objective=float(d["objective"]),
               convergence=Convergence.from_dict(d["convergence"]),
               residuals=np.asarray(d.get("residuals", []), dtype=np.float64),
               n_points=int(d["n_points"]), dropped=dropped, notes=tuple(d.get("notes", [])),
               data=d.get("data", {}), options=d.get("options", {}),
               version=d.get("scalefit_version", "unknown"))
