"""A fit on disk: readable JSON, and the bootstrap draws in a ``.npz`` beside it.

The JSON holds the law's name, parameters, standard errors, correlations, convergence, options,
data summary and residuals; the draws (n x n_params float64) go to ``<stem>.bootstrap.npz`` and
load back bit for bit, so intervals computed after loading are identical.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .core.result import Convergence, Stop
from .data._dropped import Dropped
from .errors import DataError
from .laws import Law, get_law


@dataclass(frozen=True, eq=False)
class Bootstrap:
    """The bootstrap refits of a fit.

    Attributes:
        n: resamples drawn.
        seed: the resampling seed.
        by: ``"row"`` (points resampled), ``"block"`` (blocks of consecutive points of a run)
            or ``"group"`` (whole runs resampled).
        n_units: rows or groups each resample draws.
        params: (n, n_params) natural-scale parameters of every refit, in law order (read-only).
        converged: (n,) whether each refit converged; intervals use only those.
        stop: (n,) why each refit stopped (``scalefit.Stop`` codes).
    """

    n: int
    seed: int
    by: str
    n_units: int
    params: np.ndarray
    converged: np.ndarray
    stop: np.ndarray

    def __post_init__(self) -> None:
        for name in ("params", "converged", "stop"):
            a = np.array(getattr(self, name))
            a.setflags(write=False)
            object.__setattr__(self, name, a)

    @property
    def n_converged(self) -> int:
        return int(np.sum(self.converged))

    @property
    def stops(self) -> dict[Stop, int]:
        """How many refits ended each way."""
        return Stop.count(self.stop)

    def draws(self, names) -> dict[str, np.ndarray]:
        """Returns name -> the converged refits' values."""
        kept = self.params[self.converged]
        return {name: kept[:, i] for i, name in enumerate(names)}

    def describe(self) -> str:
        unit = {"row": "rows", "block": "blocks of consecutive points within runs"}.get(
            self.by, "runs (whole groups)")
        return (f"{self.n} resamples of {self.n_units} {unit}, seed {self.seed}; "
                f"{self.n_converged} of {self.n} refits converged and are used")


def _thaw(value):
    if isinstance(value, Mapping):
        return {str(k): _thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_thaw(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _jsonable(v):
    return v.item() if isinstance(v, np.generic) else v if isinstance(v, (int, float, str)) else str(v)


FORMAT = 1              # the saved-fit format this scalefit writes; newer ones are refused
_REQUIRED = object()


def sidecar(path: Path) -> Path:
    """The draws file that goes with a saved fit: ``fit.json`` -> ``fit.bootstrap.npz``."""
    return path.with_name(path.stem + ".bootstrap.npz")


def fit_to_dict(fit) -> dict:
    """Everything needed to rebuild ``fit`` except the draws, as JSON-ready values."""
    out = {
        "format": FORMAT, "scalefit_version": fit.version, "law": fit.law.name,
        "law_reference": fit.law.reference, "params": _thaw(fit.params),
        "stderr": _thaw(fit.stderr), "free": list(fit.free),
        "covariance": None if fit.covariance is None else fit.covariance.tolist(),
        "objective": fit.objective, "convergence": fit.convergence.to_dict(),
        "n_points": fit.n_points, "options": _thaw(fit.options), "data": _thaw(fit.data),
        "notes": list(fit.notes),
        "dropped": [{"line": d.line, "row": _jsonable(d.row), "reason": d.reason}
                    for d in fit.dropped],
        "residuals": [float(r) for r in fit.residuals],
    }
    b = fit.resamples
    if b is not None:
        out["bootstrap"] = {"n": b.n, "seed": b.seed, "by": b.by, "n_units": b.n_units,
                            "n_converged": b.n_converged,
                            "stops": {s.name: c for s, c in b.stops.items()}, "draws": None}
    return out


def _write(path: Path, write) -> None:
    """Writes a regular file through a temporary file and a rename, so a reader never sees half
    a file; anything else that exists (a symlink, a device such as /dev/stdout, a pipe) is
    written in place, never replaced."""
    if path.exists() and (path.is_symlink() or not path.is_file()):
        write(path)
        return
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def write_fit(fit, path: Path) -> Path:
    """Saves ``fit`` to ``path`` (and its draws beside it); returns the path. ``-`` writes the
    JSON to standard output; the draws then stay unsaved (``"draws": null``: the file loads as a
    fit without a bootstrap)."""
    d = fit_to_dict(fit)
    if str(path) == "-":
        sys.stdout.write(json.dumps(d, indent=2, allow_nan=True) + "\n")
        sys.stdout.flush()
        return path
    if fit.resamples is not None:
        draws = sidecar(path)
        d["bootstrap"]["draws"] = draws.name

        def npz(tmp: Path) -> None:
            with open(tmp, "wb") as f:
                np.savez(f, params=fit.resamples.params, converged=fit.resamples.converged,
                         stop=fit.resamples.stop)

        _write(draws, npz)
    _write(path, lambda tmp: tmp.write_text(json.dumps(d, indent=2, allow_nan=True) + "\n"))
    return path


def _field(path: Path, d: dict, name: str, convert, default=_REQUIRED):
    """``convert(d[name])``, or a DataError naming the field when it is missing or malformed."""
    if name not in d:
        if default is _REQUIRED:
            raise DataError(f"{path} is not a complete scalefit fit: field {name!r} is missing.")
        return default
    try:
        return convert(d[name])
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise DataError(f"{path}: field {name!r} is malformed ({type(err).__name__}: {err}).") from None


def read_fit(path: Path, law: Law | None) -> dict:
    """The keyword arguments of ``Fit`` rebuilt from a saved file.

    Raises:
        DataError: the file is missing, not JSON, written by a newer format, or a field is
            missing or malformed (named).
        ValueError: the law given is not the law in the file, or is unknown.
    """
    try:
        d = json.loads(path.read_text())
    except FileNotFoundError:
        raise DataError(f"{path}: no such file.") from None
    except (OSError, ValueError) as err:
        raise DataError(f"{path} is not a scalefit fit: not readable as JSON ({err}).") from None
    if not isinstance(d, dict):
        raise DataError(f"{path} is not a scalefit fit: it holds a JSON {type(d).__name__}.")
    fmt = _field(path, d, "format", int, 1)
    if fmt > FORMAT:
        raise DataError(f"{path} was written in scalefit's file format {fmt} (by scalefit "
                        f"{d.get('scalefit_version', '?')}); this scalefit reads format {FORMAT} "
                        "and older. Upgrade scalefit to load it.")
    name = _field(path, d, "law", str)
    params = _field(path, d, "params", lambda v: {str(k): float(x) for k, x in v.items()})
    if law is None:
        try:
            law = get_law(name)
        except ValueError:
            raise ValueError(f"{path} holds a fit of law {name!r}, which scalefit does not "
                             "know: pass the Law you fitted, load(path, law=my_law).") from None
    elif law.name != name:
        raise ValueError(f"{path} holds a fit of law {name!r}, not {law.name!r}: pass the law "
                         "it was fitted with.")
    if set(law.param_names) != set(params):
        raise ValueError(f"{path} has parameters {sorted(params)}, but law {law.name!r} has "
                         f"{sorted(law.param_names)}.")
    dropped = _field(path, d, "dropped", lambda v: tuple(
        Dropped(x["line"], x["row"], x["reason"]) for x in v), ())
    cov = _field(path, d, "covariance",
                 lambda v: None if v is None else np.asarray(v, dtype=np.float64), None)
    out = dict(law=law, params={n: params[n] for n in law.param_names},
               objective=_field(path, d, "objective", float),
               convergence=_field(path, d, "convergence", Convergence.from_dict),
               residuals=_field(path, d, "residuals", lambda v: np.asarray(v, np.float64), np.zeros(0)),
               n_points=_field(path, d, "n_points", int), dropped=dropped,
               notes=_field(path, d, "notes", lambda v: tuple(map(str, v)), ()),
               data=_field(path, d, "data", dict, {}), options=_field(path, d, "options", dict, {}),
               free=_field(path, d, "free", lambda v: tuple(map(str, v)), ()), covariance=cov,
               version=str(d.get("scalefit_version", "unknown")))
    b = d.get("bootstrap")
    if b and b.get("draws") is not None:
        draws = path.with_name(_field(path, b, "draws", str))
        try:
            with np.load(draws) as z:
                params_, converged, stop = z["params"], z["converged"], z["stop"]
        except (OSError, KeyError, ValueError) as err:
            raise DataError(f"{path} has bootstrap draws in {draws}, which cannot be read "
                            f"({err}); keep the two files together.") from None
        out["resamples"] = Bootstrap(n=_field(path, b, "n", int), seed=_field(path, b, "seed", int),
                                     by=_field(path, b, "by", str),
                                     n_units=_field(path, b, "n_units", int), params=params_,
                                     converged=converged, stop=stop)
    return out
