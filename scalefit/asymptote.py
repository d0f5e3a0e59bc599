"""Asymptotes of loss: the compute frontier, tiered asymptotes, and what a loss is worth.

Henighan et al. 2020 ("Scaling Laws for Autoregressive Generative Modeling") fit each input
with L(x) = L_inf + (x0/x)**alpha (``scalefit.laws.asymptote_law``) and read the compute-
efficient frontier off the lower envelope of many runs' loss curves against compute, fitting
the optimal model size along it as N_opt = k * C**a. Kim et al. 2025 ("Pre-training under
infinite compute") estimate asymptotes in tiers (the loss against parameters of each recipe
as an asymptote law, then compare the asymptotes) and state a gain as data efficiency: how
many times more data a baseline needs to match a recipe's loss.

* ``frontier(curves, x="C")``: the lower envelope of loss against x over runs, which runs
  form it and over which range of x, and N_opt(C) fitted along it.
* ``tiered(runs, inner="D", outer="N")``: the asymptote law in ``inner`` fitted to each member
  of a family (one per value of ``outer``), then an asymptote law in ``outer`` fitted to
  their asymptotes.
* ``equivalent(fit, loss)``, ``worth(fit, loss, used)`` and ``speedup(fit_a, fit_b, at)``:
  a fitted law inverted, the x it needs to reach a loss, as a multiple of the x used, and
  the factor of x law b needs to match law a's loss at ``at``; each with a percentile band
  over the fits' bootstrap refits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from .laws._asymptote import asymptote_law, inverse, is_asymptote
from .predict import draws as fit_draws

__all__ = ["Frontier", "frontier", "Tiered", "tiered", "Estimate", "equivalent", "worth",
           "speedup"]

LEVEL = 0.95


# ---- the compute frontier ----------------------------------------------------------------


@dataclass(frozen=True)
class Frontier:
    """The lower envelope of loss against ``x`` over a set of runs.

    Attributes:
        x: the input the envelope is over (e.g. ``"C"``).
        points: the envelope points in order of x: ``run``, ``N`` (when the curves have it),
            x, ``loss``. A point is on the envelope when its loss is below that of every
            point of any run at smaller or equal x (the best loss reachable with at most that
            x), so the envelope only falls.
        runs: one row per run that forms the envelope, in order of first appearance: ``run``,
            ``N``, ``<x>_from`` (its first envelope point), ``<x>_to`` (where it last hands
            the envelope on: the next run's first envelope point after its last stretch, or
            its own last envelope point), ``points`` and ``stretches`` (separate stretches of
            consecutive envelope points; more than one where noisy curves cross).
        k, a: N_opt(C) = k * C**a, least squares of log N against log x over ``grid``
            log-spaced values of x across the envelope, each taking the N of the run holding
            the envelope there (Hoffmann et al. 2022's Approach 1 on the envelope); NaN when
            the curves have no N or one run holds the whole envelope.
    """

    x: str
    points: pd.DataFrame
    runs: pd.DataFrame
    k: float = float("nan")
    a: float = float("nan")
    notes: tuple[str, ...] = ()

    def n_opt(self, C) -> np.ndarray | float:
        """N_opt = k * C**a at budgets ``C`` (the envelope's own units of x)."""
        out = self.k * np.asarray(C, np.float64) ** self.a
        return float(out) if np.ndim(out) == 0 else out

    def holder(self, at) -> np.ndarray:
        """The run holding the envelope at each value of x in ``at`` (None before the first
        envelope point)."""
        xs = self.points[self.x].to_numpy()
        i = np.searchsorted(xs, np.asarray(at, np.float64), side="right") - 1
        runs = self.points["run"].to_numpy(object)
        return np.where(i >= 0, runs[np.maximum(i, 0)], None)


def _x_column(curves: pd.DataFrame, x: str, tokens_per_step: float | None) -> tuple[np.ndarray, list]:
    """The values of ``x``: the column itself, or for ``C`` derived as 6·N·D, with D from
    step × tokens_per_step when the curves log steps only."""
    notes = []
    if x in curves.columns:
        return curves[x].to_numpy(np.float64), notes
    if x != "C":
        raise ValueError(f"frontier: the curves have no column {x!r}; their columns are "
                         f"{', '.join(map(str, curves.columns))}. Name one as x=.")
    if "N" not in curves.columns:
        raise ValueError("frontier: x='C' needs a C column, or N with D (or step and "
                         "tokens_per_step) to derive C = 6·N·D; the curves have none of C and N.")
    N = curves["N"].to_numpy(np.float64)
    if "D" in curves.columns and curves["D"].notna().all():
        notes.append("C = 6·N·D from the curves' N and D")
        return 6.0 * N * curves["D"].to_numpy(np.float64), notes
    if "step" not in curves.columns:
        raise ValueError("frontier: x='C' needs D or step to derive C = 6·N·D; the curves have "
                         "neither.")
    if tokens_per_step is None:
        raise ValueError("frontier: the curves log steps, not tokens; pass tokens_per_step= "
                         "(tokens per optimizer step, D = step × tokens_per_step) to derive "
                         "C = 6·N·D. Any constant scales every C alike, so tokens_per_step=1 "
                         "gives the same envelope with C in units of 6·N·step.")
    if not (np.isfinite(tokens_per_step) and tokens_per_step > 0):
        raise ValueError(f"frontier: tokens_per_step must be positive, got {tokens_per_step!r}.")
    notes.append(f"C = 6·N·step·{tokens_per_step:g} (D = step × tokens_per_step)")
    return 6.0 * N * curves["step"].to_numpy(np.float64) * float(tokens_per_step), notes


def frontier(curves: pd.DataFrame, x: str = "C", *, run: str = "run", loss: str = "loss",
             tokens_per_step: float | None = None, grid: int = 64) -> Frontier:
    """Returns the lower envelope of loss against ``x`` over the runs in ``curves``.

    Henighan et al. 2020 (and Kaplan et al. 2020) take the compute-efficient frontier as the
    lower envelope of all runs' loss curves against compute; the runs on it say which model
    size is best at each budget, and N_opt(C) = k * C**a is fitted along it.

    Args:
        curves: one row per logged point: a ``run`` column, ``loss`` and x, or for x="C" the
            columns to derive it: ``N`` with ``D`` (C = 6·N·D) or with ``step`` and
            ``tokens_per_step``. ``N`` (one value per run) gives the runs' sizes and N_opt.
        x: the input of the envelope, default compute ``"C"``.
        run, loss: the names of the run and loss columns.
        tokens_per_step: tokens per optimizer step, D = step × tokens_per_step, when the
            curves log steps only (a constant scales every C alike, so it moves the envelope's
            x, never which runs form it).
        grid: log-spaced values of x the N_opt fit reads (see ``Frontier``).

    Raises:
        ValueError: a missing column, a run whose N varies, a non-positive or non-finite x or
            loss, or no rows.
    """
    if not isinstance(curves, pd.DataFrame) or curves.empty:
        raise ValueError("frontier: curves must be a non-empty DataFrame of run, x and loss.")
    for name, col in (("run", run), ("loss", loss)):
        if col not in curves.columns:
            raise ValueError(f"frontier: the curves have no {name} column {col!r}; pass "
                             f"{name}='<your column>'.")
    xs, notes = _x_column(curves, x, tokens_per_step)
    ys = curves[loss].to_numpy(np.float64)
    bad = ~(np.isfinite(xs) & np.isfinite(ys) & (xs > 0) & (ys > 0))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"frontier: row {curves.index[i]!r} has {x}={xs[i]!r}, {loss}={ys[i]!r}; "
                         f"x and loss must be positive and finite (drop such rows first).")
    has_n = "N" in curves.columns
    if has_n:
        varying = curves.groupby(run, sort=False)["N"].nunique()
        if (varying > 1).any():
            raise ValueError(f"frontier: run {varying.index[varying > 1][0]!r} has several N; "
                             "each run must be one model size.")
    table = pd.DataFrame({"run": curves[run].to_numpy(object), x: xs, "loss": ys})
    if has_n:
        table.insert(1, "N", curves["N"].to_numpy(np.float64))
    table = table.sort_values([x, "loss"], kind="stable").reset_index(drop=True)
    best_before = np.concatenate([[np.inf], np.minimum.accumulate(table["loss"].to_numpy())[:-1]])
    points = table[table["loss"].to_numpy() < best_before].reset_index(drop=True)
    runs = _holders(points, x, has_n)
    k = a = float("nan")
    if has_n and runs["N"].nunique() > 1:
        lo, hi = points[x].iloc[0], points[x].iloc[-1]
        at = np.geomspace(lo, hi, int(grid))
        i = np.searchsorted(points[x].to_numpy(), at, side="right") - 1
        a, logk = np.polyfit(np.log(at), np.log(points["N"].to_numpy()[i]), 1)
        k = float(np.exp(logk))
        a = float(a)
    elif has_n:
        notes.append(f"one run ({runs['run'].iloc[0]}) holds the whole envelope: no N_opt fit")
    return Frontier(x=x, points=points, runs=runs, k=k, a=a, notes=tuple(notes))


def _holders(points: pd.DataFrame, x: str, has_n: bool) -> pd.DataFrame:
    """Per run on the envelope: where it first appears, where it last hands on, its points
    and its stretches of consecutive envelope points."""
    names = points["run"].to_numpy(object)
    xs = points[x].to_numpy()
    starts = np.flatnonzero(np.r_[True, names[1:] != names[:-1]])
    ends = np.r_[starts[1:], len(names)]              # one past each stretch's last point
    rows: dict = {}
    for s, e in zip(starts, ends):
        handover = xs[e] if e < len(xs) else xs[e - 1]
        row = rows.setdefault(names[s], {"run": names[s], f"{x}_from": xs[s], "points": 0,
                                         "stretches": 0,
                                         **({"N": points["N"].iloc[s]} if has_n else {})})
        row[f"{x}_to"] = handover
        row["points"] += int(e - s)
        row["stretches"] += 1
    cols = ["run", *(["N"] if has_n else []), f"{x}_from", f"{x}_to", "points", "stretches"]
    return pd.DataFrame(list(rows.values()), columns=cols)


# ---- tiered asymptotes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Tiered:
    """Asymptotes in two tiers: an asymptote law in ``inner`` per member, then one in ``outer``
    over the members' asymptotes.

    Attributes:
        inner, outer: the two inputs, e.g. ``"D"`` and ``"N"``.
        members: outer value -> the member's ``scalefit.Fit`` of L_inf + (x0/inner)**alpha.
        table: one row per member: the outer value, ``L_inf``, ``x0``, ``alpha``, ``points``,
            ``converged``, and with a bootstrap ``L_inf_lower`` and ``L_inf_upper``.
        outer_fit: the ``scalefit.Fit`` of L_inf(outer) = L_inf + (x0/outer)**alpha over the
            members' asymptotes: its own ``L_inf`` is the loss with both inputs unbounded.
    """

    inner: str
    outer: str
    members: Mapping
    table: pd.DataFrame
    outer_fit: object


def tiered(runs: pd.DataFrame, inner: str = "D", outer: str = "N", *, loss: str = "loss",
           fix: Mapping[str, float] | None = None, outer_fix: Mapping[str, float] | None = None,
           bootstrap: int = 0, outer_bootstrap: int = 0, seed: int = 0, level: float = LEVEL,
           **options) -> Tiered:
    """Returns asymptote laws fitted in two tiers.

    Each member of the family (the rows sharing one value of ``outer``, e.g. one model size)
    is fitted with L = L_inf + (x0/inner)**alpha (Henighan et al. 2020); then the members'
    asymptotes are fitted with L_inf(outer) = L_inf + (x0/outer)**alpha, whose own L_inf is
    the asymptote with both unbounded (Kim et al. 2025 fit the asymptote in parameters of
    the best loss at each data budget the same way).

    Args:
        runs: rows with columns ``inner``, ``outer`` and ``loss``.
        inner, outer: the member's input and the family's input.
        fix: parameters pinned in every member's fit, e.g. ``{"alpha": 0.3}``.
        outer_fix: parameters pinned in the outer fit, e.g. ``{"L_inf": 1.69}``.
        bootstrap, seed: bootstrap refits of each member's fit (0: none), for the bands in
            ``table`` and on ``members``.
        outer_bootstrap: bootstrap refits of the outer fit (0: none). It resamples the few
            asymptotes by row, so with 4 or 5 members many resamples hold too few distinct
            points for 3 parameters and do not converge; prefer pinning outer parameters.
        level: the band's level.
        options: passed to every ``scalefit.fit`` call (``loss=``, ``n_solve=``, ...).

    Raises:
        ValueError: a missing column, or fewer than 4 members (the outer law has 3 free
            parameters) unless ``outer_fix`` pins enough of them.
    """
    from .api import fit as _fit
    from .predict import band

    for col in (inner, outer, loss):
        if col not in runs.columns:
            raise ValueError(f"tiered: the runs have no column {col!r}; their columns are "
                             f"{', '.join(map(str, runs.columns))}.")
    values = sorted(runs[outer].dropna().unique())
    need = 3 - len(outer_fix or {}) + 1
    if len(values) < need:
        raise ValueError(f"tiered: {len(values)} distinct values of {outer} give too few "
                         f"asymptotes for the outer law (need at least {need}); add members, or "
                         "pin outer parameters with outer_fix=.")
    inner_law, outer_law = asymptote_law(inner), asymptote_law(outer)
    members, rows = {}, []
    for value in values:
        part = runs.loc[runs[outer] == value, [inner, loss]]
        f = _fit(part, law=inner_law, fix=fix, columns={"loss": loss}, bootstrap=bootstrap,
                 seed=seed, **options)
        members[value] = f
        row = {outer: value, **{n: f.params[n] for n in f.law.param_names},
               "points": f.n_points, "converged": bool(f.convergence.ok)}
        if bootstrap:
            lo, hi = band(f.resamples.draws(f.law.param_names)["L_inf"], level)
            row.update(L_inf_lower=float(lo), L_inf_upper=float(hi))
        rows.append(row)
    table = pd.DataFrame(rows)
    outer_data = pd.DataFrame({outer: table[outer].to_numpy(np.float64),
                               "loss": table["L_inf"].to_numpy(np.float64)})
    outer_fit = _fit(outer_data, law=outer_law, fix=outer_fix, bootstrap=outer_bootstrap,
                     seed=seed, **options)
    return Tiered(inner=inner, outer=outer, members=MappingProxyType(members), table=table,
                  outer_fit=outer_fit)


# ---- inverting a fitted law ----------------------------------------------------------------


@dataclass(frozen=True)
class Estimate:
    """A derived quantity with its band over the bootstrap refits.

    Attributes:
        value: at the fitted parameters (float, or an array shaped like the query).
        lower, upper: the central ``level`` percentile band over the converged refits (NaN
            without a bootstrap; inf where refits never reach the loss).
        level: the band's level.
        draws: the quantity per refit (axis 0), or None without a bootstrap.
    """

    value: float | np.ndarray
    lower: float | np.ndarray = float("nan")
    upper: float | np.ndarray = float("nan")
    level: float = LEVEL
    draws: np.ndarray | None = field(default=None, repr=False)

    def covers(self, truth) -> bool | np.ndarray:
        """True where ``truth`` lies within [lower, upper]."""
        out = (self.lower <= np.asarray(truth)) & (np.asarray(truth) <= self.upper)
        return bool(out) if np.ndim(out) == 0 else out


def _one_input(fit, where: str) -> str:
    law = getattr(fit, "law", None)
    if law is None or not hasattr(fit, "params"):
        raise ValueError(f"{where}: expected a fitted law (scalefit.fit(...)), got "
                         f"{type(fit).__name__}.")
    if len(law.inputs) != 1 or law.context:
        raise ValueError(f"{where}: {law.name} has inputs {', '.join(law.inputs)}; inverting "
                         "needs a law of one input such as scalefit.laws.asymptote_law('D').")
    return law.inputs[0]


def _invert(law, params: Mapping, loss: np.ndarray) -> np.ndarray:
    """x where the one-input ``law`` with ``params`` (scalars, or arrays of draws shaped like
    ``loss``'s leading axis) reaches ``loss``; inf where it never does."""
    if is_asymptote(law):
        return inverse(params, loss)
    names = set(law.param_names)
    if names == {"E", "A", "alpha"}:          # power_law: E + A x**-alpha = asymptote, x0 = A**(1/alpha)
        alpha = np.asarray(params["alpha"], np.float64)
        x0 = np.asarray(params["A"], np.float64) ** (1.0 / alpha)
        return inverse({"L_inf": params["E"], "x0": x0, "alpha": alpha}, loss)
    return _bisect(law, params, loss)


def _bisect(law, params: Mapping, loss: np.ndarray) -> np.ndarray:
    """Bisection in log x over 1e-30..1e60 for a law whose loss falls with x."""
    from .predict import evaluate

    var = law.inputs[0]
    shape = np.broadcast_shapes(np.shape(loss), *(np.shape(v) for v in params.values()))
    target = np.broadcast_to(loss, shape)
    p = {k: np.broadcast_to(np.asarray(v, np.float64), shape) for k, v in params.items()}
    lo, hi = np.full(shape, np.log(1e-30)), np.full(shape, np.log(1e60))
    at = lambda lx: evaluate(law, p, {var: np.exp(lx)})  # noqa: E731
    never = at(hi) > target
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        above = at(mid) > target
        lo, hi = np.where(above, mid, lo), np.where(above, hi, mid)
    return np.where(never, np.inf, np.exp(0.5 * (lo + hi)))


def _estimate(value, draws, level: float) -> Estimate:
    from .predict import band

    value = float(value) if np.ndim(value) == 0 else np.asarray(value)
    if draws is None:
        return Estimate(value=value, level=level)
    lower, upper = _band(draws, level, band)
    if np.ndim(value) == 0:
        lower, upper = float(lower), float(upper)
    return Estimate(value=value, lower=lower, upper=upper, level=level, draws=draws)


def _band(draws, level, band):
    """Percentile band that keeps inf draws (a refit that never reaches the loss) as inf."""
    d = np.asarray(draws, np.float64)
    lower, upper = band(np.where(np.isinf(d), np.finfo(np.float64).max, d), level)
    big = np.finfo(np.float64).max
    return np.where(lower >= big, np.inf, lower), np.where(upper >= big, np.inf, upper)


def _query(loss, where: str, what: str) -> np.ndarray:
    q = np.asarray(loss, np.float64)
    if not np.all(np.isfinite(q)) or np.any(q <= 0):
        raise ValueError(f"{where}: {what} must be positive and finite, got {loss!r}.")
    return q


def equivalent(fit, loss, *, level: float = LEVEL) -> Estimate:
    """Returns the x at which ``fit``'s law reaches ``loss``, with its band.

    For the asymptote law, x = x0 * (loss - L_inf)**(-1/alpha) (closed form; also for
    ``power_law``); other one-input laws are inverted by bisection. A loss at or below the
    asymptote is never reached: inf.

    Args:
        fit: a ``scalefit.Fit`` of a one-input law; with a bootstrap, the band is the
            ``level`` percentile interval of the inverse over its converged refits.
        loss: the loss reached (float or array).

    Raises:
        ValueError: a law of several inputs, or a non-positive loss.
    """
    _one_input(fit, "equivalent")
    q = _query(loss, "equivalent", "loss")
    value = _invert(fit.law, fit.params, q)
    draws = fit_draws(fit)
    per = None
    if draws is not None:
        per = _invert(fit.law, {k: np.reshape(v, v.shape + (1,) * q.ndim)
                                for k, v in draws.items()}, q)
    return _estimate(value, per, level)


def worth(fit, loss, used, *, level: float = LEVEL) -> Estimate:
    """Returns how many times ``used`` the law of ``fit`` needs to reach ``loss``: the
    "worth X times more data" of a run that reached ``loss`` with ``used`` (tokens, say),
    measured against the fitted law of a baseline (Kim et al. 2025's data efficiency).

    Args:
        fit: the baseline's ``scalefit.Fit`` of a one-input law (bootstrap for a band).
        loss: the loss reached.
        used: the x that reached it, in the law's units.
    """
    u = _query(used, "worth", "used")
    x = equivalent(fit, loss, level=level)
    ratio = lambda v: None if v is None else np.asarray(v) / u  # noqa: E731
    return _estimate(ratio(x.value), ratio(x.draws), level)


def speedup(fit_a, fit_b, at, *, level: float = LEVEL) -> Estimate:
    """Returns the factor of x that law b needs to match law a's loss at ``at``:
    x_b(L_a(at)) / at, where x_b inverts b (Henighan et al. 2020's "effective" gains; Kim
    et al. 2025's data efficiency when x is tokens). Above 1, a is worth that many times
    more x than b; inf where b never reaches a's loss.

    With bootstraps on both fits the band pairs their converged refits draw by draw (the
    first min(n_a, n_b); the fits are independent, so any pairing is a valid sample).

    Args:
        fit_a, fit_b: ``scalefit.Fit``s of one-input laws over the same x (e.g. both in D).
        at: the x of a (float or array).

    Raises:
        ValueError: laws of several inputs or over different inputs; a non-positive ``at``.
    """
    from .predict import evaluate, loss_draws

    va, vb = _one_input(fit_a, "speedup (fit_a)"), _one_input(fit_b, "speedup (fit_b)")
    if va != vb:
        raise ValueError(f"speedup: fit_a is over {va!r} but fit_b over {vb!r}; compare laws of "
                         "the same input.")
    x = _query(at, "speedup", "at")
    target = evaluate(fit_a.law, fit_a.params, {va: x})
    value = _invert(fit_b.law, fit_b.params, target) / x
    da, db = fit_draws(fit_a), fit_draws(fit_b)
    if da is None or db is None:
        return _estimate(value, None, level)
    n = min(len(next(iter(da.values()))), len(next(iter(db.values()))))
    ta = loss_draws(fit_a.law, {k: v[:n] for k, v in da.items()}, {va: x})   # (n, *x.shape)
    pb = {k: np.reshape(v[:n], (n,) + (1,) * x.ndim) for k, v in db.items()}
    return _estimate(value, _invert(fit_b.law, pb, ta) / x, level)
