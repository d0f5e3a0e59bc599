"""Optimal learning rate and batch size from a learning-rate × batch-size grid (Step Law).

Li et al. (2025), "Predictable Scale: Part I -- Optimal Hyperparameter Scaling Law in Large
Language Model Pretraining", fit the learning rate and batch size of the near-best runs of a
grid as power laws: η_opt = c·N^a·D^b and B_opt = c·D^b (N non-embedding parameters, D tokens,
B tokens per step). ``fit_hyper`` does the same, step by step, each a small pure function:

1. drops the runs the project's ``diverged`` rule flags (``scalefit.data.flags``: a loss above
   1.5x the lowest loss of any run that used no more N and no more D) and lists them;
2. keeps, in each (N, D) cell, the runs whose loss is within ``near`` (0.25%, the paper's tool)
   of the cell's lowest: loss <= min · (1 + near);
3. fits log lr = log c + a log N + b log D and log B = log c + b log D by ordinary least squares
   over those runs, and bootstraps them (whole cells by default, see ``fit_hyper``);
4. predicts both for a planned (N, D), with percentile bands.

``STEP_LAW`` holds the paper's constants (η_opt = 1.79·N^-0.713·D^0.307, B_opt = 0.58·D^0.571
tokens) with the same ``predict``. Pure numpy and pandas; never imports jax.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import predict as _predict
from .data import tidy
from .data.flags import THRESHOLDS, check_rules, describe, flag_points
from .data.table import read_table
from .errors import DataError, ExtrapolationWarning

__all__ = ["fit_hyper", "HyperFit", "HyperLaw", "LrLaw", "BatchLaw", "STEP_LAW",
           "SparseGridWarning", "NEAR", "MIN_DISTINCT", "MIN_NEAR", "RESAMPLE"]

NEAR = 0.0025          # the paper's tool: runs within 0.25% of their cell's lowest loss
MIN_DISTINCT = 6       # distinct N (or D) values below which an exponent is loosely pinned
MIN_NEAR = 3           # near-best runs needed at least (the lr law has three coefficients)
RESAMPLE = ("cells", "runs")
TIDY_METRIC = "smoothed train loss"      # the metric a tidy table is fitted on by default
LOSS_NAMES = ("smooth loss", "smoothed loss", "smooth_loss", "smoothed_loss", "loss")
ROLES = ("N", "D", "lr", "batch_size", "bs", "loss", "run", "seq_len")
MAX_REDRAW = 10        # bootstrap attempts per kept draw before giving up on degenerate draws


class SparseGridWarning(UserWarning):
    """The grid has too few distinct N or D values to pin an exponent well."""


# --- the laws -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class LrLaw:
    """η_opt = c · N^a · D^b."""

    c: float
    a: float
    b: float

    def __call__(self, N, D):
        return self.c * np.asarray(N, np.float64) ** self.a * np.asarray(D, np.float64) ** self.b

    def formula(self) -> str:
        return f"lr = {self.c:.4g} · N^{self.a:.4g} · D^{self.b:.4g}"


@dataclass(frozen=True)
class BatchLaw:
    """B_opt = c · D^b."""

    c: float
    b: float

    def __call__(self, D):
        return self.c * np.asarray(D, np.float64) ** self.b

    def formula(self, unit: str = "tokens") -> str:
        return f"B = {self.c:.4g} · D^{self.b:.4g} ({unit})"


@dataclass(frozen=True, eq=False, kw_only=True)
class HyperLaw:
    """Optimal learning rate and batch size as power laws of N and D.

    Attributes:
        name: what the law is (a preset's name, or the data it was fitted to).
        lr: η_opt = c·N^a·D^b.
        batch: B_opt = c·D^b, in ``batch_unit``.
        batch_unit: "tokens" or "sequences" (the unit of B, and of the batch_size predicted).
        source: citation or data source.
        draws: bootstrap draws, ``{"lr": (n, 3) [log c, a, b], "batch": (n, 2) [log c, b]}``,
            or None (no bands).
        ranges: N and D ranges of the fitted runs (``{"N": {"min", "max"}, ...}``), for the
            extrapolation warning; None for a preset.
    """

    name: str
    lr: LrLaw
    batch: BatchLaw
    batch_unit: str = "tokens"
    source: str = ""
    draws: Mapping[str, np.ndarray] | None = None
    ranges: Mapping[str, Mapping[str, float]] | None = None

    def predict(self, N, D, level: float = 0.95) -> pd.DataFrame:
        """The optimal learning rate and batch size for planned runs (N, D).

        Args:
            N: non-embedding parameters (scalar or array).
            D: training tokens (broadcast with N).
            level: the band's central probability (with bootstrap draws).

        Returns:
            One row per (N, D): N, D, lr, lr_lower, lr_upper, batch_size, batch_size_lower,
            batch_size_upper, batch_unit. The bounds are percentiles of the bootstrap draws, NaN
            without draws (a preset). Warns (``ExtrapolationWarning``) when (N, D) lies more
            than a decade outside the fitted runs.

        Raises:
            ValueError: N or D not positive and finite, or level not in (0, 1).
        """
        _check_level(level)
        N, D = np.broadcast_arrays(_predict._positive("N", N), _predict._positive("D", D))
        N, D = np.ravel(N), np.ravel(D)
        out = {"N": N, "D": D, "lr": self.lr(N, D), "lr_lower": np.full(N.shape, np.nan),
               "lr_upper": np.full(N.shape, np.nan), "batch_size": self.batch(D),
               "batch_size_lower": np.full(N.shape, np.nan),
               "batch_size_upper": np.full(N.shape, np.nan)}
        if self.draws is not None:
            lr_draws, batch_draws = _draw_predictions(self.draws, N, D)
            out["lr_lower"], out["lr_upper"] = _predict.band(lr_draws, level)
            out["batch_size_lower"], out["batch_size_upper"] = _predict.band(batch_draws, level)
        if self.ranges is not None:
            far = _predict.far_message(_predict.beyond(self.ranges, {"N": N, "D": D}),
                                       self.ranges, "the planned run")
            if far:
                warnings.warn(far, ExtrapolationWarning, stacklevel=2)
        frame = pd.DataFrame(out)
        frame["batch_unit"] = self.batch_unit
        return frame

    def intervals(self, level: float = 0.95) -> pd.DataFrame:
        """The coefficients with their bootstrap intervals: law ("lr" or "batch"), param
        ("c", "a", "b"), value, lower, upper (NaN without draws)."""
        _check_level(level)
        rows = [("lr", "c", self.lr.c, 0, True), ("lr", "a", self.lr.a, 1, False),
                ("lr", "b", self.lr.b, 2, False), ("batch", "c", self.batch.c, 0, True),
                ("batch", "b", self.batch.b, 1, False)]
        out = []
        for law, param, value, k, is_log in rows:
            lower = upper = np.nan
            if self.draws is not None:
                column = self.draws[law][:, k]
                lower, upper = _predict.band(np.exp(column) if is_log else column, level)
            out.append({"law": law, "param": param, "value": value, "lower": float(lower),
                        "upper": float(upper)})
        return pd.DataFrame(out)


STEP_LAW = HyperLaw(
    name="Step Law (Li et al. 2025)",
    lr=LrLaw(1.79, -0.713, 0.307), batch=BatchLaw(0.58, 0.571), batch_unit="tokens",
    source="Li et al. 2025, Predictable Scale: Part I -- Optimal Hyperparameter Scaling Law in "
           "Large Language Model Pretraining: η_opt = 1.79·N^-0.713·D^0.307, B_opt = "
           "0.58·D^0.571 tokens (N non-embedding parameters, D tokens)")


@dataclass(frozen=True, eq=False, kw_only=True)
class HyperFit(HyperLaw):
    """A ``HyperLaw`` refitted to a grid, with what the fit did.

    Attributes (besides ``HyperLaw``'s):
        loss: the loss the runs were compared on (a column, or a tidy table's metric).
        near: the near-best fraction (runs with loss <= cell minimum · (1 + near) were kept).
        diverged_threshold: the diverged rule's threshold (None: the rule was not applied).
        n_runs: runs read; n_diverged: runs the diverged rule dropped; n_cells: (N, D) cells
            left; n_near: near-best runs fitted.
        distinct: the distinct N and D values among the near-best runs.
        resample: what the bootstrap resampled ("cells" or "runs"); seed; n_boot: draws kept;
            n_redrawn: draws redrawn because they could not pin every coefficient.
        rms: root mean square of the log residuals, {"lr": ..., "batch": ...}.
        runs: the near-best runs (row, run, N, D, lr, batch_size, loss, cell_min, excess).
        diverged: the dropped runs (row, run, N, D, lr, batch_size, loss, ratio, reason).
        warnings, notes: findings and the choices made, in words.
    """

    loss: str
    near: float
    diverged_threshold: float | None
    n_runs: int
    n_diverged: int
    n_cells: int
    n_near: int
    distinct: Mapping[str, tuple]
    resample: str
    seed: int | None
    n_boot: int
    n_redrawn: int
    rms: Mapping[str, float]
    runs: pd.DataFrame
    diverged: pd.DataFrame
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    preset: HyperLaw | None = field(default=None)

    def report(self, level: float = 0.95) -> str:
        """Plain text: counts, the refit's coefficients with intervals beside the Step Law
        preset, the warnings, the notes and the diverged runs dropped."""
        preset = self.preset or STEP_LAW
        ivals = self.intervals(level)
        pct = f"{level:.0%}"
        lines = [f"Optimal learning rate and batch size (Step Law form), fitted to {self.name}",
                 f"  loss: {self.loss!r}; batch size in {self.batch_unit}",
                 f"  runs read: {self.n_runs}; diverged dropped: {self.n_diverged}"
                 + (f" (loss above {self.diverged_threshold:g}x the lowest loss of a run with no "
                    "more N and no more D)" if self.diverged_threshold is not None
                    else " (rule not applied)"),
                 f"  (N, D) cells: {self.n_cells}; near-best runs (loss <= cell min · "
                 f"(1 + {self.near:g})): {self.n_near}",
                 f"  distinct N: {len(self.distinct['N'])}; distinct D: "
                 f"{len(self.distinct['D'])}",
                 f"  bootstrap: {self.n_boot} draws resampling {self.resample}, seed {self.seed}"
                 + (f" ({self.n_redrawn} degenerate draws redrawn)" if self.n_redrawn else ""),
                 f"  log-residual rms: lr {self.rms['lr']:.3g}, batch {self.rms['batch']:.3g}",
                 "",
                 f"  {'':14}{'refit [' + pct + ' interval]':>36}   {preset.name}"]
        labels = {("lr", "c"): "lr c", ("lr", "a"): "lr a (N)", ("lr", "b"): "lr b (D)",
                  ("batch", "c"): "batch c", ("batch", "b"): "batch b (D)"}
        theirs = {("lr", "c"): preset.lr.c, ("lr", "a"): preset.lr.a, ("lr", "b"): preset.lr.b,
                  ("batch", "c"): preset.batch.c, ("batch", "b"): preset.batch.b}
        for row in ivals.itertuples():
            key = (row.law, row.param)
            band = ("" if np.isnan(row.lower) else f" [{row.lower:.4g}, {row.upper:.4g}]")
            lines.append(f"  {labels[key]:14}{f'{row.value:.4g}{band}':>36}   {theirs[key]:.4g}")
        if self.batch_unit != preset.batch_unit:
            lines.append(f"  (batch c gives B in {self.batch_unit} here, in {preset.batch_unit} "
                         "in the preset: the constants differ by the sequence length; the "
                         "exponents compare directly)")
        N, D = self.ranges["N"]["max"], self.ranges["D"]["max"]
        ours = self.predict(N, D, level).iloc[0]
        lines += ["", f"  at the largest fitted N = {N:.4g}, D = {D:.4g}: refit lr "
                  f"{ours['lr']:.3g} [{ours['lr_lower']:.3g}, {ours['lr_upper']:.3g}], "
                  f"preset lr {preset.lr(N, D):.3g}; refit batch {ours['batch_size']:.4g} "
                  f"{self.batch_unit}, preset {preset.batch(D):.4g} {preset.batch_unit}"]
        if self.warnings:
            lines += ["", "warnings:"] + [f"  - {w}" for w in self.warnings]
        if self.notes:
            lines += ["", "notes:"] + [f"  - {n}" for n in self.notes]
        if len(self.diverged):
            shown = ", ".join(str(r) for r in self.diverged["row"].head(20))
            more = (f", ... ({len(self.diverged) - 20} more; all in .diverged)"
                    if len(self.diverged) > 20 else "")
            lines += ["", f"diverged runs dropped ({len(self.diverged)}), rows: {shown}{more}"]
        return "\n".join(lines)


# --- fitting ------------------------------------------------------------------------------------

def fit_hyper(data: pd.DataFrame | str | os.PathLike, *, near: float = NEAR,
              columns: Mapping[str, str] | None = None, metric: str | None = None,
              seq_len: float | None = None,
              diverged: float | None = THRESHOLDS["diverged"], bootstrap: int = 1000,
              resample: str = "cells", seed: int | None = 0, level: float = 0.95) -> HyperFit:
    """Fits η_opt = c·N^a·D^b and B_opt = c·D^b to the near-best runs of an lr × batch grid.

    Args:
        data: a DataFrame (or a CSV/Parquet path) with one row per run: N, D, lr, the batch
            size (``batch_size`` in tokens, or ``bs`` in sequences) and the loss (``smooth
            loss`` when present, else ``loss``); or a tidy table (``scalefit.data.load(
            "steplaw-dense")``), long form with a ``metric`` column.
        near: keep the runs whose loss is at most the cell's lowest · (1 + near).
        columns: role -> column, for names that differ (roles: N, D, lr, batch_size (tokens),
            bs (sequences), loss, run, seq_len).
        metric: a tidy table's metric (default "smoothed train loss" where present).
        seq_len: tokens per sequence, to turn a batch in sequences into tokens (or a
            ``seq_len`` column); without either the batch stays in sequences.
        diverged: the diverged rule's threshold; None keeps every run.
        bootstrap: draws (0: no bands).
        resample: "cells" resamples whole (N, D) cells with their near-best runs (default:
            the runs of a cell share one (N, D), so they are not independent evidence about
            the exponents); "runs" resamples the near-best runs one by one.
        seed: the bootstrap's seed.
        level: the interval quoted in the sparse-grid warning.

    Returns:
        A ``HyperFit`` (``predict``, ``intervals``, ``report``).

    Raises:
        DataError: a missing column, a value that is not a positive finite number, fewer than
            ``MIN_NEAR`` near-best runs, one distinct N or D (that exponent cannot be fitted),
            or N and D that move together (the exponents cannot be separated).
        ValueError: a bad argument (near, bootstrap, resample, seq_len, diverged, level).

    Warns:
        SparseGridWarning: fewer than ``MIN_DISTINCT`` distinct N or D among the near-best runs.
    """
    _check_options(near, bootstrap, resample, diverged, level)
    grid, source, loss_name, unit, notes = _grid(data, columns, metric, seq_len)
    kept, dropped, flag_notes = _drop_diverged(grid, diverged)
    near_runs, n_cells = _near_best(kept, near)
    _check_identifiable(near_runs, near, len(kept), n_cells, source, columns)
    lr_coef, batch_coef, rms = _ols_logs(near_runs)
    draws, n_redrawn = _bootstrap(near_runs, bootstrap, resample, seed)
    distinct = {k: tuple(np.unique(near_runs[k])) for k in ("N", "D")}
    law_draws = draws if bootstrap else None
    base = HyperLaw(name=source, lr=LrLaw(float(np.exp(lr_coef[0])), *map(float, lr_coef[1:])),
                    batch=BatchLaw(float(np.exp(batch_coef[0])), float(batch_coef[1])),
                    batch_unit=unit, draws=law_draws)
    found = _sparse(distinct, base, level, columns)
    for message in found:
        warnings.warn(message, SparseGridWarning, stacklevel=2)
    if diverged is not None:
        notes.append(f"diverged rule ({describe('diverged', {'diverged': diverged}, False)}) "
                     f"applied to all {len(grid)} runs on {loss_name!r}, over inputs N and D, "
                     "before the near-best selection")
    notes += flag_notes
    notes.append(f"bootstrap resamples {resample}" + (
        " (whole (N, D) cells with all their near-best runs)" if resample == "cells" else
        " (the near-best runs one by one)") + f", {bootstrap} draws, seed {seed}")
    ranges = {k: {"min": float(near_runs[k].min()), "max": float(near_runs[k].max())}
              for k in ("N", "D")}
    return HyperFit(name=source, lr=base.lr, batch=base.batch, batch_unit=unit,
                    source=source, draws=law_draws, ranges=ranges, loss=loss_name, near=near,
                    diverged_threshold=diverged, n_runs=len(grid), n_diverged=len(dropped),
                    n_cells=n_cells, n_near=len(near_runs), distinct=distinct,
                    resample=resample, seed=seed, n_boot=bootstrap, n_redrawn=n_redrawn,
                    rms=rms, runs=near_runs.reset_index(drop=True), diverged=dropped,
                    warnings=tuple(found), notes=tuple(notes), preset=STEP_LAW)


def _check_options(near, bootstrap, resample, diverged, level) -> None:
    if not (isinstance(near, (int, float)) and np.isfinite(near) and near >= 0):
        raise ValueError(f"near must be a finite fraction >= 0 (0.0025 for 0.25%), got {near!r}.")
    if isinstance(bootstrap, bool) or not isinstance(bootstrap, (int, np.integer)) \
            or bootstrap < 0:
        raise ValueError(f"bootstrap must be a whole number of draws >= 0, got {bootstrap!r}.")
    if resample not in RESAMPLE:
        raise ValueError(f"resample must be one of {', '.join(map(repr, RESAMPLE))}, "
                         f"got {resample!r}.")
    if diverged is not None:
        check_rules(None, {"diverged": diverged})
    _check_level(level)


def _check_level(level) -> None:
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1 (e.g. 0.95), got {level}.")


# --- reading the grid ---------------------------------------------------------------------------

def _grid(data, columns, metric, seq_len):
    """The runs as one frame with columns row, run, N, D, lr, batch_size, loss (float64), and
    the source, the loss's name, the batch unit and notes on the choices made."""
    if isinstance(data, (str, os.PathLike)):
        source, frame = str(data), read_table(data)
    elif isinstance(data, pd.DataFrame):
        record = data.attrs.get("scalefit") or {}
        source, frame = record.get("source", "the DataFrame"), data
    else:
        raise TypeError(f"data must be a DataFrame or a path to a CSV/Parquet file, got "
                        f"{type(data).__name__}.")
    columns = dict(columns or {})
    unknown = sorted(set(columns) - set(ROLES))
    if unknown:
        raise ValueError(f"columns names role {unknown[0]!r}; the roles are "
                         f"{', '.join(ROLES)}.")
    absent = [(role, col) for role, col in columns.items() if col not in frame.columns]
    if absent:
        role, col = absent[0]
        raise DataError(f"{source}: columns maps {role} to {col!r}, which is not a column "
                        f"(columns: {', '.join(map(str, frame.columns))}).")
    notes = []
    if "metric" in frame.columns:                       # a tidy table: one metric's rows
        frame, metric_name = _tidy_metric(frame, metric, source)
        notes.append(f"tidy table: metric {metric_name!r} fitted")
        columns.setdefault("loss", "loss")
        loss_name = metric_name
    elif metric is not None:
        raise ValueError("metric= selects a tidy table's metric; this table has no 'metric' "
                         "column (name the loss column with columns={'loss': ...}).")
    else:
        loss_name = None
    role = {r: _find(frame, columns, r, source) for r in ("N", "D", "lr")}
    role["loss"] = columns.get("loss") or next((c for c in LOSS_NAMES if c in frame.columns), None)
    if role["loss"] is None:
        raise DataError(f"{source}: no loss column (looked for {', '.join(map(repr, LOSS_NAMES))}"
                        f"; columns: {', '.join(map(str, frame.columns))}); name it with "
                        "columns={'loss': ...}.")
    if loss_name is None:
        loss_name = role["loss"]
        notes.append(f"loss column {role['loss']!r}"
                     + (" (the smoothed final loss, as the paper selects on)"
                        if "smooth" in role["loss"] else ""))
    batch, unit, batch_note = _batch(frame, columns, seq_len, source)
    notes.append(batch_note)
    values = {r: _column(frame, role[r], r, source) for r in ("N", "D", "lr")}
    loss = _column(frame, role["loss"], "loss", source, positive=False)
    run_col = columns.get("run") or next((c for c in ("run", "exp_name") if c in frame.columns),
                                         None)
    grid = pd.DataFrame({
        "row": frame.index.to_numpy(),
        "run": (frame[run_col].astype("string").to_numpy() if run_col else
                pd.array([pd.NA] * len(frame), dtype="string")),
        **values, "batch_size": batch, "loss": loss})
    return grid, source, loss_name, unit, notes


def _tidy_metric(frame, metric, source):
    """The rows of one metric of a tidy table (``tidy.select``), smoothed loss by default."""
    present = set(frame["metric"].astype("string"))
    chosen = metric if metric is not None else (TIDY_METRIC if TIDY_METRIC in present else None)
    if frame.attrs.get("scalefit") is None:
        frame = frame.copy()
        frame.attrs["scalefit"] = {"source": source, "notes": [], "dropped": []}
    rows = tidy.select(frame, metric=chosen)
    return rows, str(rows["metric"].iloc[0]) if len(rows) else str(chosen)


def _find(frame, columns, role, source) -> str:
    col = columns.get(role, role)
    if col not in frame.columns:
        raise DataError(f"{source}: no column {role!r} (columns: "
                        f"{', '.join(map(str, frame.columns))}); name it with "
                        f"columns={{{role!r}: ...}}.")
    return col


def _batch(frame, columns, seq_len, source):
    """The batch size, its unit ("tokens" or "sequences") and a note on where it came from.

    ``batch_size`` (tokens) is preferred; ``bs`` counts sequences, turned into tokens by
    ``seq_len`` (the argument, or a ``seq_len`` column)."""
    tokens_col = columns.get("batch_size") or ("batch_size" if "batch_size" in frame.columns
                                               and "bs" not in columns else None)
    if tokens_col is not None and frame[tokens_col].notna().any():
        if seq_len is not None:
            raise ValueError(f"seq_len turns a batch in sequences into tokens; the batch here "
                             f"({tokens_col!r}) is already in tokens.")
        return (_column(frame, tokens_col, "batch_size", source), "tokens",
                f"batch size from {tokens_col!r}, in tokens")
    seq_col = columns.get("bs") or next((c for c in ("bs", "bs_sequences")
                                         if c in frame.columns), None)
    if seq_col is None:
        raise DataError(f"{source}: no batch size: no column 'batch_size' (tokens) or 'bs' "
                        f"(sequences) (columns: {', '.join(map(str, frame.columns))}); name one "
                        "with columns={'batch_size': ...} or columns={'bs': ...}.")
    bs = _column(frame, seq_col, "bs", source)
    length_col = columns.get("seq_len") or ("seq_len" if "seq_len" in frame.columns else None)
    if seq_len is not None:
        length, said = _predict._positive("seq_len", seq_len), f"seq_len = {seq_len:g} (given)"
    elif length_col is not None:
        length, said = _column(frame, length_col, "seq_len", source), f"column {length_col!r}"
    else:
        return (bs, "sequences",
                f"batch size from {seq_col!r}, in sequences (no seq_len given; pass seq_len= "
                "for tokens: the Step Law dense grid's is 2048, since bs × 2048 × steps = D, "
                "see scalefit.data.public)")
    return (bs * length, "tokens",
            f"batch size in tokens = {seq_col!r} (sequences) × {said}")


def _column(frame, col, role, source, positive: bool = True) -> np.ndarray:
    """A column as float64; DataError naming the column, the row and the value when one is not
    a finite number (or, with ``positive``, not above 0)."""
    values = tidy.numeric(frame[col], str(col), source)
    ok = np.isfinite(values) & ((values > 0) if positive else True)
    if not ok.all():
        i = int(np.flatnonzero(~ok)[0])
        need = "a positive finite number" if positive else "a finite number"
        said = f"column {col!r}" + (f" ({role})" if str(col) != role else "")
        raise DataError(f"{source}: {said} is {float(values[i])!r} in row "
                        f"{frame.index[i]!r}; every run needs {need} there: fix or drop that "
                        "row.")
    return values


# --- the steps ----------------------------------------------------------------------------------

def _drop_diverged(grid: pd.DataFrame, threshold: float | None):
    """The runs the diverged rule keeps, the dropped ones with their reasons, and notes."""
    columns = ["row", "run", "N", "D", "lr", "batch_size", "loss", "ratio", "reason"]
    if threshold is None:
        return grid, pd.DataFrame(columns=columns), ["diverged rule not applied (diverged=None)"]
    inputs = {"N": grid["N"].to_numpy(), "D": grid["D"].to_numpy()}
    flags, notes = flag_points(inputs, grid["loss"].to_numpy(), None,
                               {**THRESHOLDS, "diverged": threshold})
    bad = [f for f in flags if f.rule == "diverged"]
    others = {}
    for f in flags:
        if f.rule != "diverged":
            others.setdefault(f.rule, []).append(f.index)
    notes = list(notes) + [f"{rule} rule flagged {len(idx)} runs (kept, not dropped): rows "
                           f"{', '.join(str(grid['row'].iloc[i]) for i in idx[:10])}"
                           + (", ..." if len(idx) > 10 else "")
                           for rule, idx in others.items()]
    idx = [f.index for f in bad]
    dropped = grid.iloc[idx].assign(ratio=[f.value for f in bad], reason=[f.reason for f in bad])
    cells = set(zip(grid["N"], grid["D"])) - set(zip(grid["N"].drop(grid.index[idx]),
                                                     grid["D"].drop(grid.index[idx])))
    if cells:
        notes.append(f"{len(cells)} (N, D) cells had every run flagged as diverged and are gone: "
                     + "; ".join(f"N = {n:.4g}, D = {d:.4g}" for n, d in sorted(cells)))
    return (grid.drop(index=grid.index[idx]), dropped[columns].reset_index(drop=True), notes)


def _near_best(runs: pd.DataFrame, near: float) -> tuple[pd.DataFrame, int]:
    """The runs within ``near`` of their (N, D) cell's lowest loss, with the cell's minimum and
    each run's excess over it; and the number of cells."""
    cell_min = runs.groupby(["N", "D"])["loss"].transform("min")
    keep = runs["loss"] <= cell_min * (1.0 + near)
    out = runs[keep].assign(cell_min=cell_min[keep], excess=runs["loss"][keep] / cell_min[keep] - 1)
    n_cells = runs.groupby(["N", "D"]).ngroups
    return out.sort_values(["N", "D", "loss"], kind="stable"), n_cells


def _check_identifiable(runs, near, n_kept, n_cells, source, columns) -> None:
    """DataError when the near-best runs cannot pin the coefficients: fewer than ``MIN_NEAR``
    runs, one distinct N or D, or N and D that move together."""
    if len(runs) < MIN_NEAR:
        raise DataError(f"{source}: only {len(runs)} near-best runs (loss within {near:.4g} of "
                        f"their cell's lowest) from {n_kept} runs in {n_cells} (N, D) cells; the "
                        f"learning-rate law has three coefficients and needs at least {MIN_NEAR}. "
                        "Add runs (more cells), or widen near=.")
    names = dict(columns or {})
    for role, law in (("N", "the N exponent a of lr = c·N^a·D^b"),
                      ("D", "the D exponents b of lr = c·N^a·D^b and B = c·D^b")):
        values = np.unique(runs[role])
        if len(values) < 2:
            raise DataError(f"{source}: column {names.get(role, role)!r} ({role}) has one value "
                            f"among the near-best runs ({values[0]:.4g}), so {law} cannot be "
                            f"fitted. Add runs at other {role} (at least {MIN_DISTINCT} distinct "
                            "values pin an exponent well), or use the STEP_LAW preset.")
    cells = runs.drop_duplicates(["N", "D"])
    X = np.column_stack([np.log(cells["N"]), np.log(cells["D"])])
    X = X - X.mean(axis=0)
    if np.linalg.matrix_rank(X, tol=1e-9 * max(1.0, np.abs(X).max())) < 2:
        raise DataError(f"{source}: N and D move together over the {len(cells)} cells (D a "
                        "fixed power of N), so the N and D exponents of the learning-rate law "
                        "cannot be separated. Add cells off that line (another D at some N).")


def _design(runs: pd.DataFrame):
    """Log design matrices (intercept first) and log targets of both laws."""
    logN, logD = np.log(runs["N"].to_numpy()), np.log(runs["D"].to_numpy())
    one = np.ones(len(runs))
    return (np.column_stack([one, logN, logD]), np.log(runs["lr"].to_numpy()),
            np.column_stack([one, logD]), np.log(runs["batch_size"].to_numpy()))


def _ols_logs(runs: pd.DataFrame):
    """OLS of log lr on (1, log N, log D) and of log batch on (1, log D): coefficients
    [log c, a, b] and [log c, b], and the rms of each fit's log residuals."""
    Xl, yl, Xb, yb = _design(runs)
    lr = np.linalg.lstsq(Xl, yl, rcond=None)[0]
    batch = np.linalg.lstsq(Xb, yb, rcond=None)[0]
    rms = {"lr": float(np.sqrt(np.mean((yl - Xl @ lr) ** 2))),
           "batch": float(np.sqrt(np.mean((yb - Xb @ batch) ** 2)))}
    return lr, batch, rms


def _weighted_ols(X: np.ndarray, y: np.ndarray, W: np.ndarray) -> np.ndarray:
    """OLS under each row of integer weights ``W`` (n_draws, n): a bootstrap resample as
    counts. Columns are centred for conditioning; returns (n_draws, k) coefficients."""
    mean = X[:, 1:].mean(axis=0)
    Xc = np.column_stack([X[:, :1], X[:, 1:] - mean])
    A = np.einsum("bn,ni,nj->bij", W, Xc, Xc)
    r = np.einsum("bn,ni,n->bi", W, Xc, y)
    coef = np.linalg.solve(A, r[..., None])[..., 0]
    coef[:, 0] -= coef[:, 1:] @ mean                  # back to the uncentred intercept
    return coef


def _bootstrap(runs: pd.DataFrame, n: int, resample: str, seed):
    """Bootstrap draws of both laws' coefficients, resampling cells or runs; a draw with one
    distinct N or D (or N and D in lockstep) cannot pin the coefficients and is redrawn.

    Returns:
        ({"lr": (n, 3), "batch": (n, 2)}, draws redrawn).
    """
    Xl, yl, Xb, yb = _design(runs)
    if n == 0:
        return {"lr": np.empty((0, 3)), "batch": np.empty((0, 2))}, 0
    if resample == "cells":
        unit = runs.groupby(["N", "D"], sort=False).ngroup().to_numpy()
    else:
        unit = np.arange(len(runs))
    n_units = int(unit.max()) + 1
    rng = np.random.default_rng(seed)
    kept, redrawn = [], 0
    while sum(len(k) for k in kept) < n:
        if redrawn > MAX_REDRAW * n:
            raise DataError(f"the bootstrap over {n_units} {resample} could not draw {n} "
                            "resamples that pin every coefficient (most had one distinct N or "
                            "D); add cells, or use resample='runs' or bootstrap=0.")
        need = n - sum(len(k) for k in kept)
        counts = rng.multinomial(n_units, np.full(n_units, 1.0 / n_units), size=need)
        W = counts[:, unit].astype(np.float64)
        good = _pins(W, Xl)
        redrawn += int((~good).sum())
        kept.append(W[good])
    W = np.concatenate(kept)[:n]
    return {"lr": _weighted_ols(Xl, yl, W), "batch": _weighted_ols(Xb, yb, W)}, redrawn


def _pins(W: np.ndarray, X: np.ndarray) -> np.ndarray:
    """Whether each resample (row of W) has at least two distinct N and D and a full-rank
    (1, log N, log D) design."""
    used = W > 0
    ok = np.ones(len(W), bool)
    for j in (1, 2):
        lo = np.where(used, X[:, j], np.inf).min(axis=1)
        hi = np.where(used, X[:, j], -np.inf).max(axis=1)
        ok &= hi > lo
    Xc = X[:, 1:] - X[:, 1:].mean(axis=0)
    A = np.einsum("bn,ni,nj->bij", W, Xc, Xc)
    tot = np.einsum("bn->b", W)
    mean = np.einsum("bn,ni->bi", W, Xc) / tot[:, None]
    cov = A / tot[:, None, None] - mean[:, :, None] * mean[:, None, :]
    det = cov[:, 0, 0] * cov[:, 1, 1] - cov[:, 0, 1] ** 2
    scale = cov[:, 0, 0] * cov[:, 1, 1]
    return ok & (det > 1e-9 * np.where(scale > 0, scale, 1.0))


def _draw_predictions(draws, N, D):
    """lr and batch size under every draw, (n_draws, n_points)."""
    logN, logD = np.log(N)[None, :], np.log(D)[None, :]
    lr, batch = draws["lr"], draws["batch"]
    lr_pred = np.exp(lr[:, :1] + lr[:, 1:2] * logN + lr[:, 2:3] * logD)
    batch_pred = np.exp(batch[:, :1] + batch[:, 1:2] * logD)
    return lr_pred, batch_pred


def _sparse(distinct, law: HyperLaw, level: float, columns) -> list[str]:
    """Warnings for N or D with fewer than ``MIN_DISTINCT`` distinct values."""
    names = dict(columns or {})
    ivals = law.intervals(level).set_index(["law", "param"]) if law.draws is not None else None
    out = []
    for role, params in (("N", [("lr", "a")]), ("D", [("lr", "b"), ("batch", "b")])):
        values = distinct[role]
        if len(values) >= MIN_DISTINCT:
            continue
        said = []
        for law_name, param in params:
            value = getattr(law.lr if law_name == "lr" else law.batch, param)
            if ivals is not None:
                lo, hi = ivals.loc[(law_name, param), ["lower", "upper"]]
                said.append(f"{law_name} {param} = {value:.3g} [{lo:.3g}, {hi:.3g}] "
                            f"({level:.0%} bootstrap)")
            else:
                said.append(f"{law_name} {param} = {value:.3g}")
        out.append(f"only {len(values)} distinct {role} ({names.get(role, role)!r}: "
                   f"{', '.join(f'{v:.4g}' for v in values)}) among the near-best runs, fewer "
                   f"than {MIN_DISTINCT}: the {role} exponent is loosely pinned "
                   f"({'; '.join(said)}); add runs at more {role} values to pin it.")
    return out
