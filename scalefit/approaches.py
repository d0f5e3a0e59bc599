"""Compute-optimal allocation the three ways of Hoffmann et al. (2022), side by side.

Hoffmann et al. ("Training Compute-Optimal Large Language Models") estimate how the compute-optimal
model size N_opt and tokens D_opt grow with compute C (N_opt ∝ C^a, D_opt ∝ C^b) in three ways:

1. ``envelope``: the lower envelope of loss against compute over the training curves of several
   model sizes; the size on the envelope at each C is N_opt(C).
2. ``isoflop``: runs of several sizes at each of a few fixed budgets (IsoFLOP profiles); each
   profile's minimum over log N gives N_opt at that budget.
3. ``parametric``: the Chinchilla law L = E + A/N^α + B/D^β fitted to every run
   (``scalefit.fit``); then a = β/(α+β) and b = α/(α+β).

Approaches 1 and 2 fit ln N_opt = a ln C + ln k_N and ln D_opt = b ln C + ln k_D by least squares,
with D_opt = C/(6 N_opt), so b = 1 − a exactly. Their intervals are percentile bootstrap intervals
(runs resampled, everything refitted); approach 3's come from ``Fit.bootstrap``.
``compare_approaches`` runs all three on one data set and tabulates a, b and the implied N_opt,
D_opt and D/N at chosen budgets. Approaches 1 and 2 use numpy only (never jax).
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .errors import DataError

__all__ = ["IsoFLOP", "Envelope", "Parametric", "Comparison", "PowerLaw", "ProfileEdgeWarning",
           "isoflop", "envelope", "parametric", "compare_approaches", "HOFFMANN_BUDGETS",
           "DEFAULT_BUDGETS", "DEFAULT_TOLERANCE", "SMOOTHERS"]

HOFFMANN_BUDGETS = (6e18, 1e19, 3e19, 6e19, 1e20, 3e20, 6e20, 1e21, 3e21)  # their Figure 3
CHINCHILLA_BUDGET = 5.88e23              # Gopher's budget, at which Chinchilla was trained
DEFAULT_BUDGETS = (1e21, CHINCHILLA_BUDGET, 1e25)
DEFAULT_TOLERANCE = 1.25   # a run is on a budget's profile when its C is within this factor of it
                           # (Hoffmann's neighbouring budgets 6e19 and 1e20 are a factor 1.67
                           # apart, so factors up to 1.29 keep their windows disjoint)
SMOOTHERS = ("parabola", "huber")
HUBER_DELTA = 1e-3         # the least Huber δ on log loss (Hoffmann's δ, scalefit's default)
HUBER_K = 1.345            # δ = 1.345 robust standard deviations of the residuals, at least that
SAME_SIZE = 1e-3           # sizes whose ln N differ by less than this are one size (read-off noise)
LEVEL = 0.95
MIN_DRAWS = 0.5            # fewer usable bootstrap draws than this share: the interval is NaN


class ProfileEdgeWarning(UserWarning):
    """An IsoFLOP profile's minimum sits at or beyond the edge of its sizes (or the profile
    curves down): the data bound N_opt at that budget instead of locating it."""


# ---- reading runs ----

def _runs(data, *, columns: Mapping[str, str] | None = None, metric: str | None = None,
          tokens_per_step: float | None = None,
          drop_invalid: bool = False) -> tuple[pd.DataFrame, str, list[str]]:
    """The points of ``data`` as a frame of run, N, D, C, loss (float64; run may be None), the
    source's label, and notes on what was derived or left out.

    ``data`` is a DataFrame, a CSV/Parquet path, or a run log / tidy table (``scalefit.data``):
    C is taken from a C column where given, else C = 6·N·D; D from a D column, else C/(6N), else
    step × ``tokens_per_step``.
    """
    from .data import logs, tidy
    from .data.table import read_table

    notes: list[str] = []
    if isinstance(data, pd.DataFrame) and "metric" in data.columns or metric is not None or (
            isinstance(data, (str, os.PathLike)) and logs.is_log(data)):
        table = data if isinstance(data, pd.DataFrame) and "metric" in data.columns else \
            logs.read_log(data, columns=columns, tokens_per_step=tokens_per_step)
        frame = tidy.select(table, metric=metric)
        columns = None
        notes += list(frame.attrs.get("scalefit", {}).get("notes", []))
    elif isinstance(data, (str, os.PathLike)):
        frame = read_table(data)
        frame.attrs["scalefit"] = {"source": os.fspath(data)}
    elif isinstance(data, pd.DataFrame):
        frame = data
    else:
        raise DataError(f"data must be a pandas DataFrame or a path to a table or a run log, "
                        f"not {type(data).__name__}.")
    source = str((frame.attrs.get("scalefit") or {}).get("source", "the DataFrame"))
    columns = dict(columns or {})
    unknown = sorted(set(columns) - {"N", "D", "C", "loss", "run", "step"})
    if unknown:
        raise DataError(f"columns= maps {', '.join(map(repr, unknown))}; it may map N, D, C, "
                        "loss, run and step.")
    col = {name: columns.get(name, name) for name in ("N", "D", "C", "loss", "run", "step")}

    def numbers(name):
        c = col[name]
        if c not in frame.columns:
            return None
        v = tidy.numeric(frame[c].reset_index(drop=True), c, source)
        return None if np.isnan(v).all() and name in ("D", "C", "step") else v

    N, loss, D, C, step = (numbers(n) for n in ("N", "loss", "D", "C", "step"))
    for name, v in (("N", N), ("loss", loss)):
        if v is None:
            raise DataError(f"{source}: no column {col[name]!r} ({name}); columns are "
                            f"{', '.join(map(repr, map(str, frame.columns)))}. Map yours with "
                            f"columns={{{name!r}: ...}}.")
    if D is None and step is not None and tokens_per_step:
        D = step * float(tokens_per_step)
        notes.append(f"D = step × {tokens_per_step:g} tokens per step")
    if D is None and C is None:
        raise DataError(f"{source}: needs column {col['C']!r} (compute) or {col['D']!r} (tokens; "
                        "or step with tokens_per_step=) besides N and loss.")
    if C is None:
        C = 6.0 * N * D
        notes.append("C = 6·N·D")
    elif D is None:
        D = C / (6.0 * N)
        notes.append("D = C/(6N)")
    else:
        gap_C, gap_D = np.isnan(C) & ~np.isnan(D), np.isnan(D) & ~np.isnan(C)
        C = np.where(gap_C, 6.0 * N * D, C)
        D = np.where(gap_D, C / (6.0 * N), D)
        if gap_C.any() or gap_D.any():
            notes.append(f"C = 6·N·D on {int(gap_C.sum())} rows without C, D = C/(6N) on "
                         f"{int(gap_D.sum())} rows without D")
        if not np.allclose(C, 6.0 * N * D, rtol=1e-2, equal_nan=True):
            notes.append("C taken from its column where given (it differs from 6·N·D)")
    out = pd.DataFrame({"run": (frame[col["run"]].astype(str).to_numpy()
                                if col["run"] in frame.columns else None),
                        "N": N, "D": D, "C": C, "loss": loss})
    bad = ~np.all(np.isfinite(out[["N", "D", "C", "loss"]].to_numpy()) &
                  (out[["N", "D", "C", "loss"]].to_numpy() > 0), axis=1)
    if bad.any():
        rows = np.flatnonzero(bad)
        shown = "; ".join(f"row {i}: " + ", ".join(f"{k}={out.at[i, k]:.6g}" for k in
                                                  ("N", "D", "C", "loss")) for i in rows[:3])
        if not drop_invalid:
            raise DataError(f"{source}: {len(rows)} rows hold a value that is not positive and "
                            f"finite ({shown}{'; ...' if len(rows) > 3 else ''}). Fix them, or "
                            "pass drop_invalid=True.")
        notes.append(f"{len(rows)} rows with invalid values dropped ({shown})")
        out = out[~bad].reset_index(drop=True)
    if out.empty:
        raise DataError(f"{source}: no rows to analyse.")
    return out, source, notes


def _final(runs: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """One point per run: the last (largest D) of each named run; rows without a run are runs."""
    if runs["run"].isna().all() or runs["run"].nunique() == len(runs):
        return runs
    last = runs.loc[runs.groupby("run", sort=False)["D"].idxmax()].reset_index(drop=True)
    notes.append(f"the last point of each of {len(last)} runs used ({len(runs) - len(last)} "
                 "earlier points left out)")
    return last


def _size_ids(lnN: np.ndarray) -> np.ndarray:
    """Labels of distinct sizes: ln N values closer than ``SAME_SIZE`` (in a chain) share one."""
    order = np.argsort(lnN)
    new = np.r_[True, np.diff(lnN[order]) > SAME_SIZE]
    ids = np.empty(len(lnN), np.int64)
    ids[order] = np.cumsum(new) - 1
    return ids


def _sizes_text(N: np.ndarray) -> str:
    u = np.unique(np.exp(np.round(np.log(N) / SAME_SIZE) * SAME_SIZE)) if len(N) else []
    return ", ".join(f"{v:.3g}" for v in u) or "none"


def _percentile(x: np.ndarray, level: float, axis=0) -> tuple:
    """The ``level`` percentile interval over finite values (NaN where too few are finite)."""
    x = np.asarray(x, np.float64)
    if x.shape[axis] == 0:
        empty = np.full(np.delete(x.shape, axis), np.nan)
        return empty, empty.copy()
    ok = np.isfinite(x)
    share = ok.mean(axis=axis)
    q = 50 * (1 - level), 50 * (1 + level)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(np.where(ok, x, np.nan), q, axis=axis)
    bad = share < MIN_DRAWS
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


# ---- the power law N_opt = k C^a ----

def _line(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted least-squares slope and intercept of y on x, batched over the rows of ``w``
    (B, P) and ``y`` (B, P) or (P,); NaN where fewer than two distinct x carry weight."""
    w = np.where(np.isfinite(y), w, 0.0)
    y = np.where(np.isfinite(y), y, 0.0)
    sw = w.sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        xm = (w * x).sum(-1) / sw
        ym = (w * y).sum(-1) / sw
        sxx = (w * (x - xm[..., None]) ** 2).sum(-1)
        slope = (w * (x - xm[..., None]) * (y - ym[..., None])).sum(-1) / sxx
    bad = ~(sxx > 1e-12 * np.maximum(1.0, sw))
    slope = np.where(bad, np.nan, slope)
    return slope, np.where(bad, np.nan, ym - slope * xm)


@dataclass(frozen=True, eq=False)
class PowerLaw:
    """N_opt = k_N·C^a and D_opt = k_D·C^b, fitted by least squares in logs, with bootstrap draws.

    Attributes:
        a, b: the exponents; ``a_interval``, ``b_interval``: their percentile intervals.
        kN, kD: the coefficients.
        draws: (n, 4) bootstrap draws of a, ln k_N, b, ln k_D (rows with NaN failed).
        n_points: the (C, N_opt) points fitted; ``C_range``: their smallest and largest C.
        level: the intervals' level.
    """

    a: float
    b: float
    kN: float
    kD: float
    draws: np.ndarray
    n_points: int
    C_range: tuple[float, float]
    level: float = LEVEL

    @classmethod
    def fit(cls, C, N, D, draws_N=None, draws_D=None, weights=None, level=LEVEL) -> PowerLaw:
        """Fits the two lines; ``draws_N``/``draws_D`` (B, P) are bootstrap values of N_opt and
        D_opt at the same C (NaN: not available in that draw), ``weights`` (B, P) their weights."""
        lnC = np.log(np.asarray(C, np.float64))
        a, lkN = _line(lnC, np.log(N), np.ones(len(lnC)))
        b, lkD = _line(lnC, np.log(D), np.ones(len(lnC)))
        if draws_N is None:
            draws = np.empty((0, 4))
        else:
            w = np.ones(np.shape(draws_N)) if weights is None else weights
            da, dkN = _line(lnC, np.log(draws_N), w)
            db, dkD = _line(lnC, np.log(draws_D), w)
            draws = np.column_stack([da, dkN, db, dkD])
        draws.setflags(write=False)
        return cls(float(a), float(b), float(np.exp(lkN)), float(np.exp(lkD)), draws,
                   len(lnC), (float(np.min(C)), float(np.max(C))), level)

    @property
    def a_interval(self) -> tuple[float, float]:
        lo, hi = _percentile(self.draws[:, 0], self.level)
        return float(lo), float(hi)

    @property
    def b_interval(self) -> tuple[float, float]:
        lo, hi = _percentile(self.draws[:, 2], self.level)
        return float(lo), float(hi)

    def optimal(self, compute) -> pd.DataFrame:
        """N_opt, D_opt and D/N at each budget, with percentile intervals over the draws, and
        ``decades_beyond``: how far the budget lies outside the fitted C (0 inside)."""
        C = np.atleast_1d(np.asarray(compute, np.float64))
        N = self.kN * C ** self.a
        D = self.kD * C ** self.b
        out = {"C": C, "N": N, "D": D, "tokens_per_param": D / N}
        if len(self.draws):
            dN = np.exp(self.draws[:, 1:2] + self.draws[:, 0:1] * np.log(C))
            dD = np.exp(self.draws[:, 3:4] + self.draws[:, 2:3] * np.log(C))
            for name, v in (("N", dN), ("D", dD), ("tokens_per_param", dD / dN)):
                out[f"{name}_lower"], out[f"{name}_upper"] = _percentile(v, self.level)
        lo, hi = np.log10(self.C_range)
        out["decades_beyond"] = np.maximum(0, np.maximum(np.log10(C) - hi, lo - np.log10(C)))
        return pd.DataFrame(out)


def _interval(iv: tuple[float, float]) -> str:
    return "[" + ", ".join("n/a" if not np.isfinite(v) else f"{v:.3f}" for v in iv) + "]"


# ---- Approach 2: IsoFLOP profiles ----

def _quadratic(x: np.ndarray, y: np.ndarray, counts: np.ndarray, smoother: str,
               delta: float) -> np.ndarray:
    """Coefficients (B, 3) of y ≈ c0 + c1·x + c2·x² for each row of weights ``counts`` (B, n):
    least squares, or with ``huber`` iteratively reweighted by Huber's weights min(1, δ/|r|)."""
    X = np.stack([np.ones_like(x), x, x * x], axis=1)

    def solve(w):
        A = np.einsum("bn,ni,nj->bij", w, X, X)
        r = np.einsum("bn,ni,n->bi", w, X, y)
        ok = np.abs(np.linalg.det(A)) > 1e-12 * np.maximum(1.0, np.abs(A).max(axis=(1, 2))) ** 3
        A[~ok] = np.eye(3)
        return np.where(ok[:, None], np.linalg.solve(A, r[..., None])[..., 0], np.nan)

    c = solve(counts)
    if smoother == "huber":
        for _ in range(30):
            r = np.abs(y[None, :] - np.nan_to_num(c) @ X.T)
            w = counts * np.minimum(1.0, delta / np.maximum(r, 1e-300))
            c_new = solve(w)
            done = np.nanmax(np.abs(c_new - c)) < 1e-12 if np.isfinite(c_new).any() else True
            c = c_new
            if done:
                break
    return c


def _vertex(c: np.ndarray) -> np.ndarray:
    """The x of each quadratic's minimum; NaN where it opens downward (no minimum)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(c[:, 2] > 0, -c[:, 1] / (2 * c[:, 2]), np.nan)


class _Scaled:
    """An approach whose result is a ``PowerLaw`` of N_opt and D_opt in C (``scaling``)."""

    @property
    def a(self) -> float:
        return self.scaling.a

    @property
    def b(self) -> float:
        return self.scaling.b

    def optimal(self, compute) -> pd.DataFrame:
        """N_opt, D_opt and D/N implied by the power laws at each budget (with intervals)."""
        return self.scaling.optimal(compute)


@dataclass(frozen=True, eq=False)
class IsoFLOP(_Scaled):
    """Approach 2: IsoFLOP profiles, their minima, and N_opt ∝ C^a, D_opt ∝ C^b through them.

    Attributes:
        profiles: one row per profile: ``budget`` (C), ``n_runs``, ``n_sizes``, ``N_min``,
            ``N_max``, ``N_opt`` (the fitted minimum) with ``N_lower``, ``N_upper`` (bootstrap
            percentile interval), ``D_opt`` = budget/(6·N_opt), ``loss_opt`` (the fitted loss
            there), ``edge`` ("" inside the sizes; "below": at or below the smallest size, so
            N_opt ≲ N_min is an upper bound; "above": at or above the largest, a lower bound;
            "no minimum": the profile curves down), ``used`` (in the exponent fit),
            ``failed`` (share of bootstrap refits without a minimum) and ``note``.
        runs: the points read (one per run): run, N, D, C, loss, and ``budget`` (NaN: on no
            profile).
        scaling: the ``PowerLaw`` through the used profiles' minima.
        smoother, tolerance, edge_rule, n_bootstrap, seed: how it was done.
        notes: what was derived, left out or skipped, in words.
    """

    profiles: pd.DataFrame
    runs: pd.DataFrame
    scaling: PowerLaw
    smoother: str
    tolerance: float | None
    edge_rule: str
    n_bootstrap: int
    seed: int
    notes: tuple[str, ...] = ()
    _coef: Mapping = field(default_factory=dict, repr=False)


    def profile_loss(self, budget: float, N) -> np.ndarray:
        """The fitted profile (the smoother's curve) at the budget nearest ``budget``, at N."""
        keys = np.array(list(self._coef))
        key = float(keys[np.argmin(np.abs(np.log(keys / budget)))])
        c, x0, log_loss = self._coef[key]
        x = np.log(np.asarray(N, np.float64)) - x0
        y = c[0] + c[1] * x + c[2] * x * x
        return np.exp(y) if log_loss else y

    def report(self) -> str:
        """Plain text: the profiles, their minima, and the exponents."""
        s = self.scaling
        head = (f"Approach 2, IsoFLOP profiles ({self.smoother}; {self.describe_binning()}): "
                f"{int(self.profiles['used'].sum())} of {len(self.profiles)} profiles used\n"
                f"  a = {s.a:.4f} {_interval(s.a_interval)}   b = {s.b:.4f} "
                f"{_interval(s.b_interval)}   ({s.level:.0%} intervals, {self.n_bootstrap} "
                f"resamples of the runs within each profile, seed {self.seed})\n")
        cols = ["budget", "n_runs", "n_sizes", "N_min", "N_max", "N_opt", "N_lower", "N_upper",
                "D_opt", "edge", "used"]
        table = self.profiles[cols].to_string(index=False, float_format=lambda v: f"{v:.3g}")
        notes = "".join(f"\n  note: {n}" for n in self.notes)
        return head + table + notes

    def describe_binning(self) -> str:
        if self.tolerance is None:
            return "profiles from a budget column"
        return f"runs within a factor {self.tolerance:g} of each budget"


def _assign(C: np.ndarray, budgets, tolerance: float, notes: list[str]) -> tuple[np.ndarray, bool]:
    """Each run's profile budget (NaN: none), and whether the budgets were given (True) or
    binned from the data (False)."""
    lnC = np.log(C)
    if budgets is not None:
        B = np.asarray(sorted(float(b) for b in np.atleast_1d(budgets)), np.float64)
        if not (np.all(np.isfinite(B)) and np.all(B > 0)) or len(B) == 0:
            raise DataError(f"budgets must be positive FLOP counts, got {list(budgets)!r}.")
        d = np.abs(lnC[:, None] - np.log(B)[None, :])
        j = np.argmin(d, axis=1)
        ok = d[np.arange(len(C)), j] <= math.log(tolerance) + 1e-12
        out = np.where(ok, B[j], np.nan)
        if (~ok).any():
            notes.append(f"{int((~ok).sum())} of {len(C)} runs are not within a factor "
                         f"{tolerance:g} of any budget and are left out")
        return out, True
    # binned: the smallest C not yet on a profile opens one spanning a factor tolerance² up
    order = np.argsort(lnC)
    out = np.full(len(C), np.nan)
    start = 0
    width = 2 * math.log(tolerance)
    while start < len(order):
        end = start
        while end < len(order) and lnC[order[end]] - lnC[order[start]] <= width + 1e-12:
            end += 1
        members = order[start:end]
        out[members] = float(f"{np.exp(np.mean(lnC[members])):.10g}")   # 1e19, not 1e19(1+ε)
        start = end
    notes.append(f"runs binned into profiles: sorted by C, the smallest C not yet binned opens a "
                 f"profile holding every run up to a factor {tolerance:g}² = "
                 f"{tolerance ** 2:.3g} above it; its budget is the geometric mean of their C")
    return out, False


def isoflop(data, budgets=None, *, tolerance: float = DEFAULT_TOLERANCE,
            smoother: str = "parabola", edge: str = "drop", bootstrap: int = 1000,
            seed: int = 0, level: float = LEVEL, columns: Mapping[str, str] | None = None,
            metric: str | None = None, tokens_per_step: float | None = None,
            drop_invalid: bool = False) -> IsoFLOP:
    """Approach 2 of Hoffmann et al. (2022): fits each IsoFLOP profile of loss against log N,
    takes its minimum, and fits N_opt ∝ C^a and D_opt ∝ C^b through the minima.

    Profiles: with ``budgets`` a list of FLOP counts, a run belongs to the budget nearest its C
    (in log) if its C is within a factor ``tolerance`` of it (others are left out, counted in
    the notes); with ``budgets`` a column name, runs sharing that column's value form a profile;
    with ``budgets=None`` runs are binned from their C: sorted by C, the smallest C not yet
    binned opens a profile holding every run up to a factor ``tolerance``² above it, whose budget
    is the geometric mean of those runs' C. A profile's D_opt is budget/(6·N_opt). With several
    points per run (loss curves) each run's last point is used.

    Smoothers (the curve whose minimum is N_opt, in x = ln N):
        ``"parabola"``: Hoffmann's: least squares of the loss on a quadratic in ln N.
        ``"huber"``: a quadratic in ln N fitted to ln loss by iteratively reweighted least
        squares with Huber's weights min(1, δ/|r|), δ = max(1.345·σ, 1e-3) with σ the robust
        standard deviation (1.4826·median |r|) of the least-squares residuals. A misread or
        diverged run then pulls the minimum far less, and residuals are relative, as in the
        parametric fit's objective; it is still a parabola (no new shape to defend), so on clean
        data it agrees with ``"parabola"`` to a fraction of the interval.

    Uncertainty: each of ``bootstrap`` draws resamples the runs within every profile (with
    replacement), refits every profile and the two lines; a profile's interval is the ``level``
    percentile interval of its refitted minima (refits with fewer than three sizes or no minimum
    count as failed and are left out), and so are a's and b's.

    Edges: a profile whose fitted minimum lies at or outside its smallest or largest size, or
    whose smallest or largest size has a lower loss (mean over its runs) than every other size
    (the data do not bracket the minimum; a tie does not count), or which curves down, has
    only a bound on N_opt; it raises a
    ``ProfileEdgeWarning`` naming it and, with ``edge="drop"`` (default), is left out of the
    exponent fit (``edge="keep"`` keeps those with a minimum). Either way it is marked in
    ``profiles``.

    Args:
        data: a DataFrame, a CSV/Parquet path or a run log / tidy table with N, loss and C or D
            (C = 6·N·D where no C column is given; D = C/(6N) where no D).
        budgets: the profiles' budgets (a list of FLOP counts, e.g. ``HOFFMANN_BUDGETS``), a
            column naming each run's budget, or None to bin by C.
        tolerance: the factor (> 1) within which a run's C must lie of a budget (default 1.25).
        smoother: ``"parabola"`` or ``"huber"`` (above).
        edge: ``"drop"`` or ``"keep"`` the profiles whose minimum is at an edge.
        bootstrap: resamples (0: no intervals); seed: their seed; level: the intervals' level.
        columns, metric, tokens_per_step, drop_invalid: how to read ``data`` (column mapping
            for N, D, C, loss, run, step; the metric of a tidy table; D = step × tokens per
            step; drop rows with invalid values instead of raising).

    Returns:
        An ``IsoFLOP``: ``profiles``, ``runs``, ``scaling`` (a, b, intervals), ``optimal(C)``,
        ``report()``.

    Raises:
        DataError: a given budget (list or column) whose profile has fewer than three sizes
            (naming the budget and its sizes; a binned profile with fewer is skipped with a
            note instead), fewer than two usable profiles, or unreadable data.
    """
    if smoother not in SMOOTHERS:
        raise ValueError(f"smoother must be one of {', '.join(map(repr, SMOOTHERS))}, "
                         f"got {smoother!r}.")
    if edge not in ("drop", "keep"):
        raise ValueError(f"edge must be 'drop' or 'keep', got {edge!r}.")
    if not tolerance > 1:
        raise ValueError(f"tolerance is a factor above 1 (1.25: within 25% of a budget), "
                         f"got {tolerance!r}.")
    runs, source, notes = _runs(data, columns=columns, metric=metric,
                                tokens_per_step=tokens_per_step, drop_invalid=drop_invalid)
    if isinstance(budgets, str):
        frame = data if isinstance(data, pd.DataFrame) else None
        if frame is None or budgets not in frame.columns:
            raise DataError(f"{source}: no budget column {budgets!r} (pass the budgets as a list "
                            "of FLOP counts, or a DataFrame with that column).")
        if len(frame) != len(runs):
            raise DataError(f"budgets={budgets!r} names a column, which needs one row per run "
                            "and no rows dropped; pass the budgets as a list instead.")
        col = pd.to_numeric(frame[budgets], errors="coerce").to_numpy(np.float64)
        runs = runs.assign(budget=col)
        runs = _final(runs, notes)
        given, tol = True, None
    else:
        runs = _final(runs, notes)
        assigned, given = _assign(runs["C"].to_numpy(), budgets, tolerance, notes)
        runs = runs.assign(budget=assigned)
        tol = tolerance
    keys = sorted(set(runs["budget"].dropna()))
    if budgets is not None and not isinstance(budgets, str):
        keys = sorted(float(b) for b in np.atleast_1d(budgets))
    # profiles with fewer than three sizes
    small, fitted = [], []
    for key in keys:
        part = runs[runs["budget"] == key]
        k = len(np.unique(_size_ids(np.log(part["N"].to_numpy())))) if len(part) else 0
        (fitted if k >= 3 else small).append((key, k, part))
    if small and given:
        key, k, part = small[0]
        where = (f"within a factor {tolerance:g} of it" if tol is not None
                 else f"with {budgets} = {key:.6g}")
        raise DataError(f"{source}: the IsoFLOP profile at C = {key:.3g} has {k} model size"
                        f"{'s' if k != 1 else ''} ({_sizes_text(part['N'].to_numpy())}) among "
                        f"its {len(part)} runs {where}; a profile needs at least three sizes to "
                        "locate its minimum. Widen tolerance=, add runs, or leave that budget "
                        "out" + (f" (also short: {', '.join(f'{s[0]:.3g}' for s in small[1:])})"
                                 if len(small) > 1 else "") + ".")
    rows, coefs, per_draw = [], {}, []
    rng = np.random.default_rng(seed)
    for key, k, part in small:
        rows.append({"budget": key, "n_runs": len(part), "n_sizes": k,
                     "N_min": part["N"].min() if len(part) else np.nan,
                     "N_max": part["N"].max() if len(part) else np.nan, "N_opt": np.nan,
                     "N_lower": np.nan, "N_upper": np.nan, "D_opt": np.nan, "loss_opt": np.nan,
                     "edge": "", "used": False, "failed": np.nan,
                     "note": f"skipped: {k} size{'s' if k != 1 else ''} "
                             f"({_sizes_text(part['N'].to_numpy())}), a profile needs three"})
        notes.append(f"profile at C = {key:.3g} skipped: only {k} sizes "
                     f"({_sizes_text(part['N'].to_numpy())})")
        per_draw.append(None)
    edges = []
    for key, k, part in fitted:
        lnN = np.log(part["N"].to_numpy())
        x0 = float(np.mean(lnN))
        x = lnN - x0
        loss = part["loss"].to_numpy()
        log_loss = smoother == "huber"
        y = np.log(loss) if log_loss else loss
        delta = HUBER_DELTA
        if log_loss:
            r = y - _quadratic(x, y, np.ones((1, len(x))), "parabola", 0)[0] @ np.stack(
                [np.ones_like(x), x, x * x])
            delta = max(HUBER_K * 1.4826 * float(np.median(np.abs(r))), HUBER_DELTA)
        c = _quadratic(x, y, np.ones((1, len(x))), smoother, delta)[0]
        v = _vertex(c[None])[0]
        ids = _size_ids(lnN)
        by_size = pd.Series(loss).groupby(ids).mean().to_numpy()
        lo, hi = x.min(), x.max()
        if not np.isfinite(v):
            where = "no minimum"
        elif v <= lo + SAME_SIZE or by_size[0] < by_size[1:].min():
            where = "below"
        elif v >= hi - SAME_SIZE or by_size[-1] < by_size[:-1].min():
            where = "above"
        else:
            where = ""
        N_opt = float(np.exp(x0 + v)) if np.isfinite(v) else np.nan
        if bootstrap:
            counts = rng.multinomial(len(x), np.full(len(x), 1.0 / len(x)), size=bootstrap)
            onehot = np.eye(ids.max() + 1)[ids]
            enough = ((counts @ onehot) > 0).sum(axis=1) >= 3
            cb = _quadratic(x, y, counts.astype(np.float64), smoother, delta)
            vb = np.where(enough, _vertex(cb), np.nan)
            draws = np.exp(x0 + vb)
        else:
            draws = np.full(0, np.nan)
        N_lo, N_hi = _percentile(draws, level) if bootstrap else (np.nan, np.nan)
        used = where == "" or (edge == "keep" and where != "no minimum")
        text = {"": "", "below": f"minimum at or below the smallest size {np.exp(lo + x0):.3g}: "
                                 "N_opt there is an upper bound",
                "above": f"minimum at or above the largest size {np.exp(hi + x0):.3g}: N_opt "
                         "there is a lower bound",
                "no minimum": "the fitted profile curves down: no minimum"}[where]
        if where:
            edges.append(f"C = {key:.3g} ({text})")
            text += "; left out of the exponent fit" if not used else "; kept (edge='keep')"
        loss_opt = np.nan
        if np.isfinite(v):
            loss_opt = float(c[0] + c[1] * v + c[2] * v * v)
            loss_opt = math.exp(loss_opt) if log_loss else loss_opt
        rows.append({"budget": key, "n_runs": len(part), "n_sizes": k,
                     "N_min": float(np.exp(lo + x0)), "N_max": float(np.exp(hi + x0)),
                     "N_opt": N_opt, "N_lower": float(N_lo), "N_upper": float(N_hi),
                     "D_opt": key / (6 * N_opt) if np.isfinite(N_opt) else np.nan,
                     "loss_opt": loss_opt, "edge": where, "used": used,
                     "failed": float(np.mean(~np.isfinite(draws))) if bootstrap else np.nan,
                     "note": text})
        coefs[key] = (tuple(map(float, c)), x0, log_loss)
        per_draw.append(draws)
    if edges:
        warnings.warn(f"{source}: {len(edges)} IsoFLOP profile{'s' if len(edges) > 1 else ''} "
                      f"without a bracketed minimum: {'; '.join(edges)}. Add sizes beyond that "
                      "edge" + ("; such profiles are left out of the exponent fit (edge='keep' "
                                "keeps them)." if edge == "drop" else "."),
                      ProfileEdgeWarning, stacklevel=2)
    order = np.argsort([r["budget"] for r in rows])
    rows = [rows[i] for i in order]
    per_draw = [per_draw[i] for i in order]
    profiles = pd.DataFrame(rows)
    use = profiles["used"].to_numpy(bool)
    if use.sum() < 2:
        listing = "; ".join(f"C = {r['budget']:.3g}: {r['n_sizes']} sizes, "
                            + (r["note"] or "usable") for r in rows) or "none"
        raise DataError(f"{source}: {int(use.sum())} usable IsoFLOP profile"
                        f"{'s' if use.sum() != 1 else ''} ({listing}); the exponents need at "
                        "least two budgets with a bracketed minimum. Add runs at other budgets"
                        + (", or widen tolerance=" if tol is not None else "") + ".")
    C = profiles["budget"].to_numpy()[use]
    N = profiles["N_opt"].to_numpy()[use]
    dN = dD = None
    if bootstrap:
        dN = np.stack([d for d, u in zip(per_draw, use) if u], axis=1)
        dD = C[None, :] / (6 * dN)
    scaling = PowerLaw.fit(C, N, C / (6 * N), dN, dD, level=level)
    return IsoFLOP(profiles, runs, scaling, smoother, tol, edge, int(bootstrap), seed,
                   tuple(notes), coefs)


# ---- Approach 1: the envelope ----

@dataclass(frozen=True, eq=False)
class Envelope(_Scaled):
    """Approach 1: the lower envelope of loss against compute, and N_opt ∝ C^a through it.

    Attributes:
        kind: ``"curves"`` (per-step curves, interpolated on a log grid of C) or ``"points"``
            (one point per run: the envelope is over the points themselves).
        frontier: for curves, one row per grid point covered by some run: ``C``, ``loss``,
            ``run``, ``N``, ``D`` (= C/(6N)); for points, the points on the frontier (lower loss
            than every point of smaller C) with ``used``.
        estimates: the (C, N_opt, D_opt) points the power laws are fitted to, with ``how``.
        sizes: the runs that form the envelope: ``run``, ``N``, ``C_from``, ``C_to``, ``share``
            (of the envelope's grid, or its points).
        scaling: the ``PowerLaw``; estimate, n_bootstrap, seed, notes: how it was done.
    """

    kind: str
    frontier: pd.DataFrame
    estimates: pd.DataFrame
    sizes: pd.DataFrame
    scaling: PowerLaw
    estimate: str
    n_bootstrap: int
    seed: int
    notes: tuple[str, ...] = ()


    def report(self) -> str:
        s = self.scaling
        what = ("final points: the envelope is over the points themselves" if self.kind == "points"
                else f"loss curves on a log grid of C, N_opt from the envelope's {self.estimate}")
        head = (f"Approach 1, envelope ({what}): {s.n_points} points fitted\n"
                f"  a = {s.a:.4f} {_interval(s.a_interval)}   b = {s.b:.4f} "
                f"{_interval(s.b_interval)}   ({s.level:.0%} intervals, {self.n_bootstrap} "
                f"resamples of the runs, seed {self.seed})\n")
        table = self.sizes.to_string(index=False, float_format=lambda v: f"{v:.3g}")
        return head + table + "".join(f"\n  note: {n}" for n in self.notes)


ESTIMATES = ("crossings", "grid")


def _edge_sizes(N_env: np.ndarray, N_all: np.ndarray) -> np.ndarray:
    """True where the envelope's size is the smallest or largest size there is (a bound)."""
    lo, hi = np.min(N_all), np.max(N_all)
    return (np.abs(np.log(N_env / lo)) < SAME_SIZE) | (np.abs(np.log(N_env / hi)) < SAME_SIZE)


def _curves_estimates(L: np.ndarray, lnG: np.ndarray, lnN: np.ndarray, present: np.ndarray,
                      estimate: str) -> tuple[np.ndarray, np.ndarray]:
    """ln C and ln N_opt of the envelope over the runs in ``present``: at each crossing (where
    the envelope passes from one run to another and both curves cover both grid points, N_opt
    = the geometric mean of the two sizes at the C where their curves cross), or at every grid
    point whose envelope size is neither the smallest nor the largest present."""
    Lp = np.where(present[:, None], L, np.inf)
    j = np.argmin(Lp, axis=0)
    cover = np.isfinite(Lp.min(axis=0))
    if estimate == "grid":
        Ns = lnN[present]
        ok = (cover & (np.abs(lnN[j] - Ns.min()) > SAME_SIZE)
              & (np.abs(lnN[j] - Ns.max()) > SAME_SIZE))
        return lnG[ok], lnN[j][ok]
    g = np.flatnonzero(cover[1:] & cover[:-1] & (j[1:] != j[:-1])) + 1
    i0, i1 = j[g - 1], j[g]
    real = (np.isfinite(L[i0, g]) & np.isfinite(L[i1, g - 1]))
    g, i0, i1 = g[real], i0[real], i1[real]
    d0 = L[i1, g - 1] - L[i0, g - 1]          # > 0: the old run was lower
    d1 = L[i1, g] - L[i0, g]                  # <= 0: the new run is lower
    with np.errstate(invalid="ignore", divide="ignore"):
        t = np.clip(d0 / (d0 - d1), 0, 1)
    lnC = lnG[g - 1] + t * (lnG[g] - lnG[g - 1])
    # noise makes two curves cross back and forth near one point: one estimate per pair of runs
    pair = np.minimum(i0, i1) * len(lnN) + np.maximum(i0, i1)
    keys, inverse = np.unique(pair, return_inverse=True)
    lnC = np.bincount(inverse, lnC, len(keys)) / np.bincount(inverse, None, len(keys))
    return lnC, 0.5 * (lnN[keys // len(lnN)] + lnN[keys % len(lnN)])


def envelope(data, *, grid: int = 500, estimate: str = "crossings", kind: str = "auto",
             bootstrap: int = 1000, seed: int = 0, level: float = LEVEL,
             columns: Mapping[str, str] | None = None, metric: str | None = None,
             tokens_per_step: float | None = None, drop_invalid: bool = False) -> Envelope:
    """Approach 1 of Hoffmann et al. (2022): the lower envelope of loss against compute over the
    runs, the sizes that form it, and N_opt ∝ C^a, D_opt ∝ C^b through it.

    Loss curves (``kind="curves"``; the default when some run has several points): each run's
    ln loss is interpolated linearly in ln C between its own points (never beyond them) on
    ``grid`` log-spaced values of C over the data; at each C the envelope is the lowest loss of
    any run there, and its run's N is N_opt(C), D_opt = C/(6·N_opt). How N_opt(C) is read off:

        ``"crossings"`` (default): at each C where the envelope passes from one size to another
        (both curves covering both neighbouring grid points, so the switch is not a run ending
        or starting), N_opt = the geometric mean of the two sizes, at the C where their curves
        cross (interpolated between the grid points). The envelope's size is a staircase; its
        midpoints lie on the line while a line through the stairs themselves is biased flat by
        the steps at the ends (3 steps: the slope is too low by about 1/3² = 11%).
        ``"grid"``: Hoffmann's reading, N_opt(C) = the envelope's size at every grid point, left
        out where that size is the smallest or the largest (there it only bounds N_opt).

    Final points only (``kind="points"``; the default when every run has one point, or there is
    no run column, as in the Chinchilla data): the envelope is over the points themselves. A
    point is on it when its loss is lower than that of every point of smaller C (the lowest loss
    reached with at most that compute); the power laws are fitted to those points' (C, N, D),
    leaving out points whose N is the smallest or the largest of the data (bounds).

    Uncertainty: each of ``bootstrap`` draws resamples the runs with replacement (whole curves,
    or points) and redoes the envelope and the fit; intervals are ``level`` percentile intervals
    over the draws that leave at least two estimates. With a handful of sizes this mostly
    measures how much the answer rests on which sizes were trained.

    Raises:
        DataError: fewer than two sizes, or fewer than two envelope estimates to fit a line.
    """
    if estimate not in ESTIMATES:
        raise ValueError(f"estimate must be one of {', '.join(map(repr, ESTIMATES))}, got "
                         f"{estimate!r}.")
    if kind not in ("auto", "curves", "points"):
        raise ValueError(f"kind must be 'auto', 'curves' or 'points', got {kind!r}.")
    runs, source, notes = _runs(data, columns=columns, metric=metric,
                                tokens_per_step=tokens_per_step, drop_invalid=drop_invalid)
    has_runs = not runs["run"].isna().all()
    if kind == "auto":
        kind = "curves" if has_runs and runs["run"].nunique() < len(runs) else "points"
    if kind == "curves" and not has_runs:
        raise DataError(f"{source}: kind='curves' needs a column naming each point's run (map "
                        "it with columns={'run': ...}).")
    rng = np.random.default_rng(seed)
    if len(np.unique(_size_ids(np.log(runs["N"].to_numpy())))) < 2:
        raise DataError(f"{source}: every run has N = {_sizes_text(runs['N'].to_numpy())}; the "
                        "envelope needs runs of at least two sizes.")
    if kind == "points":
        return _points_envelope(runs, source, notes, bootstrap, rng, seed, level)
    return _curves_envelope(runs, source, notes, grid, estimate, bootstrap, rng, seed, level)


def _points_envelope(runs, source, notes, bootstrap, rng, seed, level) -> Envelope:
    runs = _final(runs, notes) if not runs["run"].isna().all() else runs
    runs = runs.sort_values(["C", "loss"], kind="stable").reset_index(drop=True)
    C, N, D, loss = (runs[k].to_numpy() for k in ("C", "N", "D", "loss"))
    prior = np.r_[np.inf, np.minimum.accumulate(loss)[:-1]]
    on = loss < prior
    edge = _edge_sizes(N, N)
    use = on & ~edge
    notes.append(f"final points only: the envelope is over the {len(runs)} points themselves "
                 f"({int(on.sum())} on it, {int((on & edge).sum())} of them at the smallest or "
                 "largest size and left out)")
    if use.sum() < 2 or np.ptp(np.log(N[use])) <= SAME_SIZE:
        raise DataError(f"{source}: only {int(use.sum())} points on the envelope away from the "
                        "smallest and largest sizes; the exponents need at least two.")
    dN = dD = W = None
    if bootstrap:
        counts = rng.multinomial(len(C), np.full(len(C), 1.0 / len(C)), size=bootstrap)
        Lb = np.where(counts > 0, loss[None, :], np.inf)
        prior_b = np.concatenate([np.full((bootstrap, 1), np.inf),
                                  np.minimum.accumulate(Lb, axis=1)[:, :-1]], axis=1)
        W = ((counts > 0) & (Lb < prior_b) & ~edge[None, :]).astype(np.float64) * counts
        dN = np.broadcast_to(N, W.shape)
        dD = np.broadcast_to(D, W.shape)
    # fit on all points with weights (0 off the envelope) so draws share the columns
    scaling = _fit_weighted(C, N, D, use, dN, dD, W, level)
    frontier = runs[on].assign(used=use[on]).reset_index(drop=True)
    est = runs[use][["C", "N", "D"]].assign(how="point on the envelope").reset_index(drop=True)
    sizes = (frontier.assign(size=np.round(np.log(frontier["N"]) / SAME_SIZE))
             .groupby("size").agg(N=("N", "first"), C_from=("C", "min"), C_to=("C", "max"),
                                  points=("C", "size")).reset_index(drop=True))
    sizes["share"] = sizes["points"] / sizes["points"].sum()
    return Envelope("points", frontier, est, sizes, scaling, "points", int(bootstrap), seed,
                    tuple(notes))


def _fit_weighted(C, N, D, use, dN, dD, W, level) -> PowerLaw:
    pl = PowerLaw.fit(C[use], N[use], D[use], level=level)
    if dN is None:
        return pl
    lnC = np.log(C)
    da, dkN = _line(lnC, np.log(dN), W)
    db, dkD = _line(lnC, np.log(dD), W)
    lnN = np.where(W > 0, np.log(dN), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        one_size = ~(np.nanmax(lnN, axis=1) - np.nanmin(lnN, axis=1) > SAME_SIZE)
    draws = np.column_stack([da, dkN, db, dkD])
    draws[one_size] = np.nan
    draws.setflags(write=False)
    return PowerLaw(pl.a, pl.b, pl.kN, pl.kD, draws, pl.n_points, pl.C_range, level)


def _interpolate(curves, lnG: np.ndarray) -> np.ndarray:
    """ln loss of each curve (ln C, ln loss sorted by ln C) on the grid, inf outside its span."""
    L = np.full((len(curves), len(lnG)), np.inf)
    for r, (x, y) in enumerate(curves):
        if len(x) == 1:
            L[r, np.abs(lnG - x[0]) <= 1e-12] = y[0]
            continue
        inside = (lnG >= x[0]) & (lnG <= x[-1])
        L[r, inside] = np.interp(lnG[inside], x, y)
    return L


def _curves_envelope(runs, source, notes, grid, estimate, bootstrap, rng, seed, level) -> Envelope:
    labels = list(dict.fromkeys(runs["run"]))
    lnN = np.empty(len(labels))
    curves = []
    for r, label in enumerate(labels):
        part = runs[runs["run"] == label]
        Ns = part["N"].unique()
        if np.ptp(np.log(Ns)) > SAME_SIZE:
            raise DataError(f"{source}: run {label!r} has several sizes N ({_sizes_text(Ns)}); "
                            "each run must be one model.")
        lnN[r] = math.log(float(Ns[0]))
        g = part.groupby("C")["loss"].min()          # one loss per C (index sorted)
        curves.append((np.log(g.index.to_numpy(np.float64)), np.log(g.to_numpy(np.float64))))
    lo = min(c[0][0] for c in curves)
    hi = max(c[0][-1] for c in curves)
    lnG = np.linspace(lo, hi, int(grid))
    L = _interpolate(curves, lnG)
    every = np.ones(len(labels), bool)
    lnC_est, lnN_est = _curves_estimates(L, lnG, lnN, every, estimate)
    if len(lnC_est) < 2 or np.ptp(lnN_est) <= SAME_SIZE:
        raise DataError(f"{source}: the envelope of the {len(labels)} runs gives "
                        f"{len(lnC_est)} estimate{'s' if len(lnC_est) != 1 else ''} of N_opt "
                        f"at {len(np.unique(_size_ids(lnN_est)))} distinct sizes "
                        + ("(crossings of curves of different sizes)" if estimate == "crossings"
                           else "(grid points held by a size neither smallest nor largest)")
                        + "; the exponents need at least two. Train the sizes longer so their "
                        "curves cross, or add sizes.")
    C_est, N_est = np.exp(lnC_est), np.exp(lnN_est)
    D_est = C_est / (6 * N_est)
    pl = PowerLaw.fit(C_est, N_est, D_est, level=level)
    if bootstrap:
        draws = np.full((bootstrap, 4), np.nan)
        for i in range(bootstrap):
            picked = []
            for x, y in curves:
                keep = np.unique(rng.integers(0, len(x), len(x)))   # sorted, as x is
                picked.append((x[keep], y[keep]))
            x, y = _curves_estimates(_interpolate(picked, lnG), lnG, lnN, every, estimate)
            if len(x) >= 2 and np.ptp(y) > SAME_SIZE:
                a, k = _line(x, y, np.ones(len(x)))
                b, kd = _line(x, x - math.log(6) - y, np.ones(len(x)))
                draws[i] = (a, k, b, kd)
        draws.setflags(write=False)
        pl = PowerLaw(pl.a, pl.b, pl.kN, pl.kD, draws, pl.n_points, pl.C_range, level)
    Lmin = L.min(axis=0)
    cover = np.isfinite(Lmin)
    j = np.argmin(L, axis=0)
    frontier = pd.DataFrame({"C": np.exp(lnG[cover]), "loss": np.exp(Lmin[cover]),
                             "run": [labels[i] for i in j[cover]],
                             "N": np.exp(lnN[j[cover]])})
    frontier["D"] = frontier["C"] / (6 * frontier["N"])
    sizes = frontier.groupby("run", sort=False).agg(N=("N", "first"), C_from=("C", "min"),
                                                    C_to=("C", "max"), points=("C", "size"))
    sizes = sizes.reset_index().sort_values("N", ignore_index=True)
    sizes["share"] = sizes["points"] / sizes["points"].sum()
    how = ("crossing of two sizes' curves" if estimate == "crossings"
           else "envelope's size at a grid point")
    est = pd.DataFrame({"C": C_est, "N": N_est, "D": D_est, "how": how})
    notes.append(f"{len(labels)} loss curves, ln loss interpolated in ln C on {int(grid)} "
                 f"log-spaced values of C from {math.exp(lo):.3g} to {math.exp(hi):.3g}; "
                 f"{len(C_est)} estimates of N_opt ({estimate})")
    return Envelope("curves", frontier, est, sizes, pl, estimate, int(bootstrap), seed,
                    tuple(notes))


# ---- Approach 3: the parametric fit ----

@dataclass(frozen=True, eq=False)
class Parametric:
    """Approach 3: the Chinchilla law fitted to every run; a = β/(α+β), b = α/(α+β).

    Attributes:
        fit: the ``scalefit.Fit`` (with its bootstrap when one was asked for).
        a, b: the exponents; a_interval, b_interval: percentile intervals over the converged
            bootstrap refits (NaN without a bootstrap).
    """

    fit: object
    a: float
    b: float
    a_interval: tuple[float, float]
    b_interval: tuple[float, float]
    level: float = LEVEL

    def optimal(self, compute) -> pd.DataFrame:
        """N_opt, D_opt and D/N at each budget from ``Fit.optimal`` (with its band), and how far
        each (N, D) lies beyond the fitted data (``decades_beyond``)."""
        with warnings.catch_warnings():
            from .errors import ExtrapolationWarning

            warnings.simplefilter("ignore", ExtrapolationWarning)
            alloc = self.fit.optimal(np.atleast_1d(np.asarray(compute, np.float64)),
                                     level=self.level)
        out = {"C": np.atleast_1d(alloc.C), "N": np.atleast_1d(alloc.N),
               "D": np.atleast_1d(alloc.D)}
        out["tokens_per_param"] = out["D"] / out["N"]
        band = alloc.band or {}
        for name, key in (("N", "N"), ("D", "D"), ("tokens_per_param", "D/N")):
            lo, hi = band.get(key, (np.nan, np.nan))
            out[f"{name}_lower"] = np.broadcast_to(lo, out["C"].shape).astype(float)
            out[f"{name}_upper"] = np.broadcast_to(hi, out["C"].shape).astype(float)
        out["decades_beyond"] = np.atleast_1d(alloc.decades_beyond)
        return pd.DataFrame(out)

    def report(self) -> str:
        p = self.fit.params
        n = 0 if self.fit.resamples is None else self.fit.resamples.n_converged
        return (f"Approach 3, parametric ({self.fit.law.name}: alpha = {p['alpha']:.4f}, "
                f"beta = {p['beta']:.4f})\n  a = beta/(alpha+beta) = {self.a:.4f} "
                f"{_interval(self.a_interval)}   b = alpha/(alpha+beta) = {self.b:.4f} "
                f"{_interval(self.b_interval)}   ({self.level:.0%} intervals, {n} converged "
                "bootstrap refits)")


def parametric(data, *, bootstrap: int = 1000, seed: int = 0, level: float = LEVEL,
               **fit_options) -> Parametric:
    """Approach 3 of Hoffmann et al. (2022): ``scalefit.fit(data, law="chinchilla")``, whose
    exponents give a = β/(α+β) and b = α/(α+β); intervals over ``fit.bootstrap(bootstrap)``.

    ``fit_options`` go to ``scalefit.fit`` (columns, metric, group, drop, loss, delta, ...).
    """
    from .api import fit as _fit

    if fit_options.get("law", "chinchilla") != "chinchilla":
        raise ValueError("Approach 3 reads a and b from the Chinchilla law's alpha and beta; "
                         "call scalefit.fit for other laws.")
    fit_options.pop("law", None)
    result = _fit(data, law="chinchilla", **fit_options)
    al, be = result.params["alpha"], result.params["beta"]
    a_iv = b_iv = (np.nan, np.nan)
    if bootstrap:
        result = result.bootstrap(bootstrap, seed=seed)
        d = result._draws()
        s = d["alpha"] + d["beta"]
        a_iv = tuple(map(float, _percentile(d["beta"] / s, level)))
        b_iv = tuple(map(float, _percentile(d["alpha"] / s, level)))
    return Parametric(result, be / (al + be), al / (al + be), a_iv, b_iv, level)


# ---- side by side ----

NAMES = {1: "1 envelope", 2: "2 IsoFLOP", 3: "3 parametric"}


@dataclass(frozen=True, eq=False)
class Comparison:
    """The three approaches on one data set.

    Attributes:
        exponents: one row per approach: ``approach``, ``method``, ``a``, ``a_lower``,
            ``a_upper``, ``b``, ``b_lower``, ``b_upper``.
        allocations: one row per approach and budget: ``approach``, ``C``, ``N``, ``N_lower``,
            ``N_upper``, ``D``, ``D_lower``, ``D_upper``, ``tokens_per_param`` (D/N) with its
            interval, ``decades_beyond`` (decades of C beyond the compute of the data's runs,
            the same ruler for every approach; 0 inside).
        results: approach number -> its ``Envelope``, ``IsoFLOP`` or ``Parametric``.
        level, n_bootstrap: the intervals' level and resamples.
    """

    exponents: pd.DataFrame
    allocations: pd.DataFrame
    results: Mapping[int, object]
    level: float
    n_bootstrap: int

    @property
    def table(self) -> pd.DataFrame:
        """One row per approach and budget: the exponents beside the allocation."""
        return self.exponents.merge(self.allocations, on="approach")

    def report(self) -> str:
        """Plain text: a and b of each approach, then N_opt, D_opt and D/N at each budget."""
        lines = [f"Compute-optimal scaling three ways (Hoffmann et al. 2022): N_opt ∝ C^a, "
                 f"D_opt ∝ C^b; {self.level:.0%} intervals, {self.n_bootstrap} bootstrap "
                 "resamples", ""]
        lines.append(f"{'approach':<14}{'a':>8} {'interval':<18}{'b':>8} {'interval':<18}method")
        for _, r in self.exponents.iterrows():
            lines.append(f"{r['approach']:<14}{r['a']:>8.4f} "
                         f"{_interval((r['a_lower'], r['a_upper'])):<18}{r['b']:>8.4f} "
                         f"{_interval((r['b_lower'], r['b_upper'])):<18}{r['method']}")
        for C, part in self.allocations.groupby("C", sort=True):
            lines += ["", f"at C = {C:.3g} FLOPs:",
                      f"{'approach':<14}{'N_opt':>10} {'interval':<22}{'D_opt':>10} "
                      f"{'interval':<22}{'D/N':>7} {'interval':<16}beyond data"]
            for _, r in part.iterrows():
                iv = lambda k: (f"[{r[k + '_lower']:.3g}, {r[k + '_upper']:.3g}]"  # noqa: E731
                                if np.isfinite(r[k + "_lower"]) else "")
                lines.append(f"{r['approach']:<14}{r['N']:>10.3g} {iv('N'):<22}{r['D']:>10.3g} "
                             f"{iv('D'):<22}{r['tokens_per_param']:>7.1f} "
                             f"{iv('tokens_per_param'):<16}{r['decades_beyond']:.2g} decades")
        for k, res in self.results.items():
            for n in getattr(res, "notes", ()):
                lines.append(f"note ({NAMES[k]}): {n}")
        return "\n".join(lines)


def compare_approaches(data, approaches: Sequence[int] = (1, 2, 3),
                       budgets: Sequence[float] = DEFAULT_BUDGETS, *, bootstrap: int = 1000,
                       seed: int = 0, level: float = LEVEL, isoflop_budgets=None,
                       tolerance: float = DEFAULT_TOLERANCE, smoother: str = "parabola",
                       edge: str = "drop", grid: int = 500, estimate: str = "crossings",
                       columns: Mapping[str, str] | None = None, metric: str | None = None,
                       tokens_per_step: float | None = None,
                       **fit_options) -> Comparison:
    """Runs Hoffmann et al.'s Approaches 1 (``envelope``), 2 (``isoflop``) and 3
    (``parametric``) on one data set and tabulates a, b and the implied N_opt, D_opt and D/N at
    ``budgets`` (default 1e21, 5.88e23 (Chinchilla's), 1e25 FLOPs).

    Args:
        data: a DataFrame, path, or run log / tidy table (see ``isoflop``).
        approaches: which of 1, 2, 3.
        budgets: the budgets at which to give N_opt, D_opt and D/N.
        bootstrap, seed, level: resamples for every approach's intervals, their seed and level.
        isoflop_budgets, tolerance, smoother, edge: Approach 2's ``budgets`` and options.
        grid, estimate: Approach 1's options.
        columns, metric, tokens_per_step: how to read ``data`` (every approach).
        fit_options: passed to ``scalefit.fit`` for Approach 3 (e.g. ``drop=``, ``loss=``).

    Returns:
        A ``Comparison`` with ``exponents``, ``allocations``, ``table`` and ``report()``.
    """
    bad = sorted(set(approaches) - {1, 2, 3})
    if bad or not approaches:
        raise ValueError(f"approaches are 1 (envelope), 2 (IsoFLOP) and 3 (parametric); got "
                         f"{list(approaches)!r}.")
    read = {"columns": columns, "metric": metric, "tokens_per_step": tokens_per_step}
    results, rows, allocs = {}, [], []
    for k in sorted(set(approaches)):
        if k == 1:
            res = envelope(data, grid=grid, estimate=estimate, bootstrap=bootstrap, seed=seed,
                           level=level, **read)
            method = ("envelope of final points" if res.kind == "points"
                      else f"envelope of curves ({res.estimate})")
        elif k == 2:
            res = isoflop(data, isoflop_budgets, tolerance=tolerance, smoother=smoother,
                          edge=edge, bootstrap=bootstrap, seed=seed, level=level, **read)
            method = (f"{int(res.profiles['used'].sum())} IsoFLOP profiles ({res.smoother}, "
                      + (f"tolerance {res.tolerance:g})" if res.tolerance else "budget column)"))
        else:
            opts = dict(fit_options)
            if columns:
                opts["columns"] = columns
            if metric is not None:
                opts["metric"] = metric
            if tokens_per_step is not None:
                opts["tokens_per_step"] = tokens_per_step
            res = parametric(data, bootstrap=bootstrap, seed=seed, level=level, **opts)
            method = "Chinchilla law fit: a = beta/(alpha+beta)"
        results[k] = res
        if k == 3:
            a_iv, b_iv = res.a_interval, res.b_interval
        else:
            a_iv, b_iv = res.scaling.a_interval, res.scaling.b_interval
        rows.append({"approach": NAMES[k], "method": method, "a": res.a, "a_lower": a_iv[0],
                     "a_upper": a_iv[1], "b": res.b, "b_lower": b_iv[0], "b_upper": b_iv[1]})
        allocs.append(res.optimal(budgets).assign(approach=NAMES[k]))
    allocations = pd.concat(allocs, ignore_index=True)
    runs, _, _ = _runs(data, **read)                 # one ruler for every approach: the data's C
    lo, hi = np.log10(runs["C"].min()), np.log10(runs["C"].max())
    lgC = np.log10(allocations["C"].to_numpy())
    allocations["decades_beyond"] = np.maximum(0, np.maximum(lgC - hi, lo - lgC))
    allocations = allocations[["approach", *[c for c in allocations.columns if c != "approach"]]]
    return Comparison(pd.DataFrame(rows), allocations, results, level, int(bootstrap))
