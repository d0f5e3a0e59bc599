"""Users' training logs -> the tidy table of ``scalefit.data.tidy``.

``read_log`` reads a CSV, TSV, JSON Lines or Parquet log, a Weights & Biases CSV export, TensorBoard
event files, or a DataFrame. A log is wide: one row per logged point, one column per quantity. The
reader maps its columns to the schema (``columns=`` mapping, else the usual names, see ``ALIASES``),
turns every loss-like column into a metric (one tidy row per point and metric), guesses each
metric's split and unit from its name, and says all it chose and left out in the table's notes
(``attrs["scalefit"]["notes"]``). Losses that are not finite are dropped and listed, with their
file line; an empty cell of a W&B layout (export, run history, TensorBoard tags) is a point the run
did not log, counted in a note. Never imports jax.
"""

from __future__ import annotations

import bz2
import csv
import dataclasses
import difflib
import gzip
import json
import lzma
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scalefit.data import tidy
from scalefit.errors import DataError

# The usual names of each schema column in logs, lower case (matching ignores case).
ALIASES = {"N": ("params", "n_params", "num_params", "model_size", "parameters", "n"),
           "D": ("tokens", "num_tokens", "tokens_seen", "total_tokens", "d"),
           "step": ("step", "_step", "global_step", "iter", "iteration", "trainer/global_step"),
           "C": ("flops", "compute", "c"),
           "lr": ("lr", "learning_rate", "train/lr", "optim/lr"),
           "batch_size": ("batch_size", "bs", "tokens_per_batch"),
           "run": ("run", "name", "run_name", "run_id")}
FORMATS = ("csv", "tsv", "jsonl", "parquet", "wandb", "tensorboard")
_SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
             ".parquet": "parquet", ".pq": "parquet"}
_OPENERS = {".gz": gzip.open, ".bz2": bz2.open, ".xz": lzma.open}
_EVENTS = "events.out.tfevents."
_LOSS_WORDS = ("loss", "crossentropy", "perplexity")        # found inside a name
_LOSS_TOKENS = {"ppl", "bpc", "bpb", "bits", "nll", "ce"}    # found as a word of a name
_SPLIT_WORDS = {"validation": {"val", "valid", "validation", "eval"},
                "train": {"train", "training"}, "test": {"test"}}
_WANDB = re.compile(r"^(?P<run>.+?) - (?P<metric>.+?)(?P<agg>__MIN|__MAX)?$")
_TB_INSTALL = 'pip install "scalefit[tensorboard]"'


@dataclass(frozen=True)
class _Options:
    """The user's choices, as passed to a reader."""

    columns: Mapping | None = None
    metric: str | None = None
    unit: str | None = None
    split: str | None = None
    tokens_per_step: float | None = None
    run: str | None = None


@dataclass
class _Log:
    """A source's rows as read (wide), how messages name it, and what was said so far."""

    frame: pd.DataFrame
    label: str                      # the path, or "the DataFrame"
    source: str                     # the tidy table's ``source``
    lines: list[int] | None = None  # the file line of each row (text files)
    notes: list[str] = field(default_factory=list)
    dropped: list[dict] = field(default_factory=list)

    def line(self, i: int) -> int | None:
        return None if self.lines is None else self.lines[i]

    def row(self, i: int) -> object:
        label = self.frame.index[i]
        return label.item() if isinstance(label, np.generic) else label

    def at(self, i: int) -> str:
        return f"line {self.lines[i]}" if self.lines is not None else f"row {self.row(i)!r}"


@dataclass
class _Series:
    """One metric's values over the log's rows: a loss column, or one run's column in a W&B
    export (``run`` set, ``extras`` its __MIN/__MAX)."""

    metric: str
    column: str
    values: np.ndarray
    absent: np.ndarray              # empty cells that are points not logged, not drops
    run: str | None = None
    extras: dict[str, np.ndarray] = field(default_factory=dict)


# --- public readers ------------------------------------------------------------------------------

def read_log(source, *, format: str | None = None, columns: Mapping | None = None,
             metric: str | None = None, unit: str | None = None,
             tokens_per_step: float | None = None, run: str | None = None,
             split: str | None = None) -> pd.DataFrame:
    """A training log as the tidy table, one row per logged point and metric.

    Args:
        source: a file (CSV, TSV, JSON Lines, Parquet, a W&B CSV export, a TensorBoard event file),
            a directory of TensorBoard event files, or a DataFrame. Text files may be compressed
            (.gz, .bz2, .xz).
        format: one of ``FORMATS`` ("ndjson" = "jsonl"); by default from the suffix, a W&B export
            by its header, event files by their name.
        columns: schema name -> the log's column, e.g. ``{"N": "model_size", "loss": "val_loss"}``;
            "loss" may name several columns (a list). Unmapped names are detected (``ALIASES``);
            with "loss" mapped only those columns are metrics, else every loss-like column is.
        metric: keep only this metric (its name, or a unique part of it).
        unit: the unit of every metric (else guessed from each name); perplexity and bits are
            stored as nats.
        tokens_per_step: tokens per optimizer step, for logs without tokens: D = step ×
            tokens_per_step (and batch_size, when the log has none).
        run: the run's name, for a log that does not name its runs (default: the file's name).
        split: the split of every metric (else guessed from each name).

    Returns:
        The tidy table (``tidy.make``); ``attrs["scalefit"]`` holds the notes (what was read as
        what, what was left out, units) and the dropped points with their file lines.

    Raises:
        DataError: a missing or unreadable file (naming the line), an unknown format or unit, a
            mapped column that is absent, two candidate columns for one name, text in a numeric
            column, no loss-like column, an unknown metric.
    """
    opts = _options(columns, metric, unit, split, tokens_per_step, run)
    if isinstance(source, pd.DataFrame):
        if format is not None:
            raise DataError("format= is for files; a DataFrame is read as it is.")
        return _from_frame(_frame_log(source, "the DataFrame", "DataFrame"), opts, "")
    if not isinstance(source, (str, os.PathLike)):
        raise DataError(f"source must be a path or a pandas DataFrame, not "
                        f"{type(source).__name__}.")
    path = Path(source)
    kind = _format_of(path, format)
    if kind == "tensorboard":
        return _tensorboard(path, opts)
    if kind == "parquet":
        return _from_frame(_read_parquet(path), opts, _stem(path))
    if kind == "csv" and _is_tidy(_header(path)):              # a tidy table written out
        return tidy.make(pd.read_csv(path), source=str(path))
    log = _read_jsonl(path) if kind == "jsonl" else _read_delimited(path, kind)
    if kind == "wandb" or (kind == "csv" and _is_wandb(list(log.frame.columns))):
        return _wandb_export(log, opts)
    return _from_wide(log, opts, {}, absent=None, default_run=_stem(path))


def is_log(source) -> bool:
    """Whether only ``read_log`` understands ``source``: TensorBoard events, JSON Lines, TSV,
    a W&B CSV export, or a tidy table written as CSV (a plain CSV or Parquet table of runs is
    read by ``scalefit.data.read_table``)."""
    if not isinstance(source, (str, os.PathLike)):
        return False
    path = Path(source)
    try:
        kind = _format_of(path, None)
    except DataError:
        return False
    if kind != "csv":
        return kind != "parquet"
    header = _header(path)
    return _is_wandb(header) or _is_tidy(header)


def _header(path: Path) -> list[str]:
    """The first line of a CSV file, split into column names ([] when unreadable)."""
    try:
        with _open_text(path) as f:
            return next(csv.reader(f), [])
    except (OSError, UnicodeDecodeError, csv.Error):
        return []


def _is_tidy(header: list[str]) -> bool:
    """Whether a header is the tidy table's (``scalefit.data.tidy.COLUMNS``)."""
    return set(tidy.COLUMNS) <= set(header)


def read_wandb_export(path, *, columns: Mapping | None = None, metric: str | None = None,
                      unit: str | None = None, split: str | None = None,
                      tokens_per_step: float | None = None) -> pd.DataFrame:
    """A Weights & Biases CSV export (the wide layout of a chart) as the tidy table.

    The header is ``"Step","<run> - <metric>","<run> - <metric>__MIN","<run> - <metric>__MAX",...``:
    one row per step (the x axis, read as step, D or C), one column per run and metric. Each cell
    with a value becomes a row (run and metric from its column's name); an empty cell is a step
    the run did not log, counted in a note. ``__MIN``/``__MAX`` are W&B's minimum and maximum over
    the bucket of steps it sampled: kept as columns ``loss_min``/``loss_max`` (same unit), not
    metrics. A perplexity is stored as nats (its log).

    Args:
        path: the exported CSV.
        columns: only the x axis may be named, e.g. ``{"step": "Step"}`` (else detected).
        metric, unit, split, tokens_per_step: as for ``read_log``.

    Raises:
        DataError: as ``read_log``; a header that is not a W&B export's.
    """
    opts = _options(columns, metric, unit, split, tokens_per_step, None)
    return _wandb_export(_read_delimited(Path(path), _format_of(Path(path), "wandb")), opts)


def from_wandb_history(history, *, run: str | None = None, columns: Mapping | None = None,
                       metric: str | None = None, unit: str | None = None,
                       split: str | None = None,
                       tokens_per_step: float | None = None) -> pd.DataFrame:
    """W&B run histories (``wandb.Api().run(path).history()``) as the tidy table.

    A history has ``_step`` (read as step), ``_runtime`` and ``_timestamp`` (left out) and one
    column per logged key; a key not logged at a step is NaN there: an absent point, counted in
    a note, not a drop.

    Args:
        history: one run's history DataFrame, or a dict run name -> history.
        run: the run's name, for a single history (the dict's keys name the runs otherwise).
        columns, metric, unit, split, tokens_per_step: as for ``read_log``.

    Raises:
        DataError: as ``read_log``; ``run=`` with a dict.
    """
    opts = _options(columns, metric, unit, split, tokens_per_step, run)
    if not isinstance(history, Mapping):
        log = _frame_log(history, "the W&B history", "W&B history")
        return _from_wide(log, opts, {}, absent=log.frame.isna(), default_run="")
    if run is not None:
        raise DataError("run= names a single history; the dict's keys name its runs.")
    frames = [_frame_log(h, f"the W&B history of {name!r}", "W&B history").frame
              for name, h in history.items()]
    names = np.repeat(np.array([str(k) for k in history], dtype=object), [len(f) for f in frames])
    log = _frame_log(pd.concat(frames, ignore_index=True), "the W&B histories", "W&B history")
    return _from_wide(log, opts, {"run": names}, absent=log.frame.isna(), default_run="")


def read_tensorboard(path, *, columns: Mapping | None = None, metric: str | None = None,
                     unit: str | None = None, split: str | None = None,
                     tokens_per_step: float | None = None, run: str | None = None) -> pd.DataFrame:
    """TensorBoard scalars as the tidy table, read with TensorBoard's own event reader.

    Each directory at or below ``path`` holding event files (``events.out.tfevents.*``) is one run,
    named by its path relative to ``path`` (the directory's own name for files directly in it);
    a single file is a run named by its directory. Scalar tags are columns: loss-like tags become
    metrics, and lr etc. are detected as in ``read_log``; an event's step is ``step``. A tag not
    logged at a step is an absent point. Other summaries (histograms, images, text) are left out,
    as are events TensorBoard itself discards (orphaned by a restart, or a last record cut short).

    Args:
        path: an event file, or a directory.
        run: the run's name, when there is one run.
        columns: maps schema names to tags, e.g. ``{"lr": "optim/learning_rate"}``.
        metric, unit, split, tokens_per_step: as for ``read_log``.

    Raises:
        DataError: no event files or no scalars under ``path``; tensorboard not installed; as
            ``read_log``.
    """
    opts = _options(columns, metric, unit, split, tokens_per_step, run)
    return _tensorboard(Path(path), opts)


# --- reading files -------------------------------------------------------------------------------

def _options(columns, metric, unit, split, tokens_per_step, run) -> _Options:
    """The user's choices, checked: a known unit and split, a positive tokens_per_step."""
    if unit is not None:
        tidy.unit_of(unit, "unit=")
    if split is not None and split not in tidy.SPLITS:
        raise DataError(f"split={split!r} is not one of {', '.join(map(repr, tidy.SPLITS))}.")
    number = isinstance(tokens_per_step, (int, float, np.number))
    if tokens_per_step is not None and not (number and 0 < tokens_per_step < np.inf):
        raise DataError(f"tokens_per_step={tokens_per_step!r} must be a positive number.")
    if columns is not None and not isinstance(columns, Mapping):
        raise DataError("columns= must be a dict: schema name -> the log's column.")
    return _Options(columns, metric, unit, split, tokens_per_step, run)


def _format_of(path: Path, format: str | None) -> str:
    """The format to read ``path`` as: ``format=``, else by its name and suffix."""
    if not path.exists():
        raise DataError(f"{path}: no such file.")
    if format is not None:
        kind = "jsonl" if format == "ndjson" else format
        if kind not in FORMATS:
            raise DataError(f"format={format!r} is not one of {', '.join(map(repr, FORMATS))}.")
        return kind
    if path.is_dir() or path.name.startswith(_EVENTS):
        return "tensorboard"
    suffixes = [s.lower() for s in path.suffixes]
    if len(suffixes) > 1 and suffixes[-1] in _OPENERS:
        suffixes.pop()
    kind = _SUFFIXES.get(suffixes[-1] if suffixes else "")
    if kind is None:
        raise DataError(f"{path}: unknown log format {path.suffix!r}; scalefit reads "
                        f"{', '.join(_SUFFIXES)}, TensorBoard event files ({_EVENTS}*) and "
                        "directories of them. Name the format with format= (one of "
                        f"{', '.join(FORMATS)}).")
    return kind


def _stem(path: Path) -> str:
    """The file's name without its format and compression suffixes: the default run name."""
    name = path.name
    for suffix in reversed(path.suffixes):
        if suffix.lower() in _SUFFIXES or suffix.lower() in _OPENERS:
            name = name[:-len(suffix)]
    return name


def _open_text(path: Path):
    """The file as UTF-8 text (a byte-order mark skipped), decompressed by its suffix."""
    opener = _OPENERS.get(path.suffix.lower(), open)
    return opener(path, "rt", encoding="utf-8-sig", newline="")


def _scan(path: Path, sep: str) -> tuple[list[str], list[int]]:
    """The header and the file line of each data row, refusing a row whose field count is not
    the header's (a file cut mid-row, an unquoted separator) or an unterminated quote."""
    try:
        with _open_text(path) as text:
            reader = csv.reader(text, delimiter=sep, strict=True)
            header, lines, start = next(reader, None), [], 2
            if header is None:
                raise DataError(f"{path} is empty: no header and no rows.")
            _check_header(path, header, sep)
            for record in reader:
                if record and len(record) != len(header):
                    raise DataError(f"{path}: line {start} has {len(record)} fields but the header "
                                    f"has {len(header)}; the file looks cut short or has an "
                                    "unquoted separator in a value. Fix or delete that line.")
                if record:
                    lines.append(start)
                start = reader.line_num + 1
    except csv.Error as err:
        raise DataError(f"{path}: line {reader.line_num} cannot be read ({err}); the file may be "
                        "cut short inside a quoted value.") from err
    except (UnicodeDecodeError, OSError, EOFError) as err:
        raise DataError(f"{path}: cannot be read as UTF-8 text ({err}).") from err
    return header, lines


def _check_header(path: Path, header: list[str], sep: str) -> None:
    """Refuses a header naming a column twice, or one split by another separator."""
    twice = sorted({name for name in header if header.count(name) > 1})
    if twice:
        raise DataError(f"{path}: column {twice[0]!r} appears twice in the header; rename one.")
    if len(header) == 1:
        for other, word in ((";", "semicolon"), ("\t", "tab"), (",", "comma"), ("|", "'|'")):
            if other != sep and other in header[0]:
                raise DataError(f"{path} looks {word}-separated (its header is {header[0]!r}); "
                                "save it with the separator its suffix says (.csv commas, .tsv "
                                "tabs), or read it with pandas and pass the DataFrame.")


def _read_delimited(path: Path, kind: str) -> _Log:
    """A CSV or TSV file, every cell as text ("" = empty), with each row's file line."""
    if path.is_dir():
        raise DataError(f"{path} is a directory; a {kind} log is a file.")
    sep = "\t" if kind == "tsv" else ","
    _, lines = _scan(path, sep)
    try:
        frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, na_values=[""],
                            encoding="utf-8-sig", index_col=False)
    except ValueError as err:                     # pandas' ParserError
        raise DataError(f"{path}: cannot be read as a {kind} table ({err}).") from err
    return _frame_log(frame, str(path), str(path), lines)


def _read_jsonl(path: Path) -> _Log:
    """A JSON Lines file, one object per line (nested keys joined with "/"), blank lines
    skipped; a line that is not a JSON object is refused, naming it."""
    records, lines = [], []
    try:
        with _open_text(path) as text:
            for number, line in enumerate(text, 1):
                if line.strip():
                    records.append(_json_object(path, number, line))
                    lines.append(number)
    except (UnicodeDecodeError, OSError, EOFError) as err:
        raise DataError(f"{path}: cannot be read as UTF-8 text ({err}).") from err
    if not records:
        raise DataError(f"{path} is empty: no JSON objects.")
    return _frame_log(pd.json_normalize(records, sep="/"), str(path), str(path), lines)


def _json_object(path: Path, number: int, line: str) -> dict:
    try:
        record = json.loads(line)
    except json.JSONDecodeError as err:
        raise DataError(f"{path}: line {number} is not JSON ({err.msg} at column {err.colno}); "
                        "the file may be cut short. Fix or delete that line.") from None
    if not isinstance(record, dict):
        raise DataError(f"{path}: line {number} holds a JSON {type(record).__name__}, not an "
                        "object; each line of JSON Lines is one {\"column\": value, ...}.")
    return record


def _read_parquet(path: Path) -> _Log:
    try:
        frame = pd.read_parquet(path)
    except ImportError as err:
        raise DataError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow.") from err
    except (ValueError, OSError) as err:          # ArrowInvalid is a ValueError
        raise DataError(f"{path}: cannot be read as Parquet ({err}).") from err
    return _frame_log(frame, str(path), str(path))


def _frame_log(frame, label: str, source: str, lines: list[int] | None = None) -> _Log:
    """A DataFrame as a log: named index levels become columns, column names become text, and a
    name used twice is refused."""
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{label} must be a pandas DataFrame, not {type(frame).__name__}.")
    if any(name is not None for name in frame.index.names):
        frame = frame.reset_index()
    frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    twice = frame.columns[frame.columns.duplicated()]
    if len(twice):
        raise DataError(f"{label}: column {twice[0]!r} appears twice; rename one.")
    return _Log(frame, label, source, lines)


# --- wide logs: columns to the schema ------------------------------------------------------------

def _from_frame(log: _Log, opts: _Options, default_run: str) -> pd.DataFrame:
    """A DataFrame or Parquet log: a W&B export's layout if its columns say so, else wide."""
    if _is_wandb(list(log.frame.columns)):
        return _wandb_export(log, opts)
    return _from_wide(log, opts, {}, absent=None, default_run=default_run)


def _from_wide(log: _Log, opts: _Options, fixed: dict[str, np.ndarray], *,
               absent: pd.DataFrame | None, default_run: str) -> pd.DataFrame:
    """A wide log (one column per quantity) as the tidy table.

    Args:
        fixed: schema columns the layout gives itself (TensorBoard's run and step).
        absent: where a cell is a point not logged (W&B, TensorBoard), not a drop; None: nowhere.
        default_run: the run's name when neither the log nor ``run=`` names it.
    """
    plan, metrics = _plan(log, opts, fixed)
    base = {**fixed, **{name: _values(log, name, col) for name, col in plan.items()}}
    if "run" in base and "run" not in fixed and opts.run is not None:
        raise DataError(f"{log.label} names its runs (column {plan['run']!r}); leave out run=.")
    if "run" not in base:
        name = default_run if opts.run is None else opts.run
        base["run"] = np.full(len(log.frame), name, dtype=object)
        log.notes.append(f"no run column: every row is run {name!r}" +
                         (" (pass run= to name it)" if opts.run is None else ""))
    series = [_Series(m, m, _numbers(log, m), np.zeros(len(log.frame), bool) if absent is None
                      else absent[m].to_numpy()) for m in metrics]
    return _finish(log, base, series, opts)


def _plan(log: _Log, opts: _Options, fixed) -> tuple[dict[str, str], list[str]]:
    """The log's column read as each schema name (given by ``columns=``, else detected) and the
    metrics' columns; says so in a note, with the columns left out.

    Raises:
        DataError: a mapped column that is absent, two candidates for one name, no loss column,
            an unknown metric.
    """
    given = _given(log, opts.columns or {}, fixed)
    loss = given.pop("loss", None)
    used = set(given.values()) | set(loss or ())
    found = {}
    for name, aliases in ALIASES.items():
        if name in given or name in fixed:
            continue
        hits = [c for c in log.frame.columns if c.strip().lower() in aliases and c not in used]
        if len(hits) > 1:
            raise DataError(f"{log.label}: columns {_names(hits)} could each be {name}; choose "
                            f"one with columns={{{name!r}: {hits[0]!r}}}.")
        if hits:
            found[name] = hits[0]
            used.add(hits[0])
    rest = [c for c in log.frame.columns if c not in used]
    metrics = loss or [c for c in rest if _loss_like(c)]
    if not metrics:
        raise DataError(f"{log.label}: nothing looks like a loss among {_names(rest)}; name the "
                        "loss with columns={'loss': <column>}.")
    chosen = _choose(metrics, opts.metric, log.label)
    log.notes.append(_plan_note(found, given, metrics, chosen, opts.metric,
                                [c for c in rest if c not in metrics]))
    return {**given, **found}, chosen


def _given(log: _Log, columns: Mapping, fixed) -> dict:
    """``columns=`` checked: known schema names, columns the log has ("loss" as a list)."""
    names = [n for n in (*ALIASES, "loss") if n not in fixed]
    unknown = [k for k in columns if k not in names]
    if unknown:
        raise DataError(f"columns= maps {unknown[0]!r}, which is not one of {', '.join(names)}.")
    given = dict(columns)
    if isinstance(given.get("loss"), str):
        given["loss"] = [given["loss"]]
    for name, cols in given.items():
        if not isinstance(cols, str) and (name != "loss" or not isinstance(cols, (list, tuple))):
            raise DataError(f"columns= maps {name!r} to {cols!r}; give a column's name"
                            f"{' (or a list of them for the loss)' if name == 'loss' else ''}.")
        for col in ([cols] if isinstance(cols, str) else cols):
            if col not in log.frame.columns:
                close = difflib.get_close_matches(str(col), list(log.frame.columns), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise DataError(f"{log.label}: columns= maps {name!r} to {col!r}, which is not a "
                                f"column (columns: {', '.join(log.frame.columns)}).{hint}")
    return given


def _plan_note(found, given, metrics, chosen, metric, left) -> str:
    """The columns read as what, in words."""
    parts = []
    if found:
        parts.append("detected: " + ", ".join(f"{c!r} as {n}" for n, c in found.items()))
    if given:
        parts.append("given by columns=: " + ", ".join(f"{c!r} as {n}" for n, c in given.items()))
    parts.append(f"read as metrics: {_names(chosen)}")
    if len(chosen) < len(metrics):
        parts.append(f"other metrics left out by metric={metric!r}: "
                     f"{_names([m for m in metrics if m not in chosen])}")
    parts.append(f"left out: {_names(left) if left else 'nothing'}")
    return "; ".join(parts)


def _choose(metrics: list[str], metric: str | None, label: str) -> list[str]:
    """The metrics kept: all, or the one named by ``metric`` (its name or a unique part)."""
    if metric is None:
        return list(metrics)
    if metric in metrics:
        return [metric]
    part = [m for m in metrics if str(metric).lower() in m.lower()]
    if len(part) == 1:
        return part
    which = (f"{len(part)} metrics contain it: {_names(part)}" if part
             else f"metrics: {_names(metrics)}")
    raise DataError(f"{label}: no metric {metric!r} ({which}); pass one of them as metric=.")


def _values(log: _Log, name: str, column: str) -> np.ndarray:
    """A column read as schema ``name``: run names as text, anything else as numbers."""
    if name == "run":
        return log.frame[column].astype("string").fillna("").to_numpy(object)
    return _numbers(log, column)


def _numbers(log: _Log, column: str) -> np.ndarray:
    """A column as float64 ("nan", "inf" and empty cells included), refusing text: the error
    names the column, the line (or row) and the value."""
    raw = log.frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    text = values.isna() & raw.notna()
    if text.any():
        words = raw[text].astype("string").str.strip().str.lower()
        bad = np.flatnonzero(text.to_numpy())[~words.isin(["", "nan"]).to_numpy()]
        if len(bad):
            raise DataError(f"{log.label}: column {column!r} holds text ({raw.iloc[bad[0]]!r} at "
                            f"{log.at(bad[0])}) where numbers belong; fix or remove that value.")
    return values.to_numpy(np.float64, na_value=np.nan)


# --- names of metrics ----------------------------------------------------------------------------

def _words(name: str) -> list[str]:
    """A column's words, split at non-letters and camelCase: "eval/CrossEntropyLoss" -> eval,
    cross, entropy, loss."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", name)
    return [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]


def _loss_like(name: str) -> bool:
    """Whether a column's name says it is a loss (fp16's loss scale is not)."""
    words = _words(name)
    if {"scale", "scaler"} & set(words):
        return False
    return any(w in "".join(words) for w in _LOSS_WORDS) or bool(_LOSS_TOKENS & set(words))


def _unit_guess(name: str) -> str:
    """The unit a metric's name suggests: perplexity, bits per character or byte, bits, nats for
    a loss, cross-entropy or NLL, else "" (not stated)."""
    words = set(_words(name))
    if "ppl" in words or "perplexity" in "".join(_words(name)):
        return "perplexity"
    if "bpc" in words or ("bits" in words and any(w.startswith("char") for w in words)):
        return "bits per character"
    if "bpb" in words or ("bits" in words and any(w.startswith("byte") for w in words)):
        return "bits per byte"
    if "bits" in words:
        return "bits"
    return "nats" if _loss_like(name) else ""


def _split_guess(name: str) -> str:
    """The split a metric's name says (val, eval -> validation; train; test), else ""."""
    words = set(_words(name))
    found = [split for split, names in _SPLIT_WORDS.items() if words & names]
    return found[0] if len(found) == 1 else ""


def _names(columns) -> str:
    return ", ".join(map(repr, columns))


def _number(value: float) -> str:
    """A step or count as written: 1234567, not 1.23457e+06."""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# --- long rows -----------------------------------------------------------------------------------

def _finish(log: _Log, base: dict[str, np.ndarray], series: list[_Series],
            opts: _Options) -> pd.DataFrame:
    """The tidy table: one row per finite value of each series, with the log's columns of that
    row; non-finite values dropped and listed, empty (absent) cells counted in a note."""
    base = _tokens(log, dict(base), opts.tokens_per_step)
    units = {m: _unit_of_metric(log, m, opts) for m in dict.fromkeys(s.metric for s in series)}
    blocks, empty, gone = [], 0, 0
    for s in series:
        keep = np.isfinite(s.values)
        empty += int(s.absent.sum())
        runs = base["run"] if s.run is None else np.full(len(keep), s.run, dtype=object)
        gone += _drop(log, s, ~keep & ~s.absent, runs, base.get("step"))
        loss, unit = tidy.to_nats(s.values[keep], units[s.metric], f"{log.label}: {s.column!r}")
        block = {name: values[keep] for name, values in base.items()}
        block.update(run=runs[keep], loss=loss, metric=s.metric, unit=unit,
                     split=opts.split if opts.split is not None else _split_guess(s.metric),
                     _row=np.flatnonzero(keep))
        for name, values in s.extras.items():
            block[name] = tidy.to_nats(values[keep], units[s.metric], s.column)[0]
        blocks.append(pd.DataFrame(block))
    if empty:
        log.notes.append(f"{empty} empty cells are points a run did not log: absent, not dropped")
    if gone:
        log.notes.append(f"values that are not finite numbers dropped (listed in dropped): {gone}")
    rows = pd.concat(blocks, ignore_index=True)
    rows = rows.sort_values(["run", "_row"], kind="stable").drop(columns="_row")
    return tidy.make(rows, source=log.source, notes=log.notes, dropped=log.dropped)


def _unit_of_metric(log: _Log, metric: str, opts: _Options) -> str:
    """A metric's unit (``unit=``, else guessed from its name), and a note saying which, its
    split and any conversion to nats."""
    unit = tidy.unit_of(opts.unit, "unit=") if opts.unit is not None else _unit_guess(metric)
    split = opts.split if opts.split is not None else _split_guess(metric)
    how = {"perplexity": "; a perplexity, stored as nats (its log)",
           "bits": "; bits converted to nats (× ln 2)"}.get(unit, "")
    log.notes.append(f"metric {metric!r}: split {split!r} "
                     f"({'split=' if opts.split is not None else 'from its name'}), unit {unit!r} "
                     f"({'unit=' if opts.unit is not None else 'from its name'}){how}")
    return unit


def _drop(log: _Log, s: _Series, gone: np.ndarray, runs, steps) -> int:
    """Lists each non-finite value of a series as dropped, with its line, run and step; returns
    how many."""
    for i in np.flatnonzero(gone):
        at = "" if steps is None or np.isnan(steps[i]) else f" at step {_number(steps[i])}"
        log.dropped.append({"line": log.line(i), "row": log.row(i),
                            "reason": f"{s.column!r} of run {runs[i]!r}{at} is {s.values[i]}, "
                                      "not a finite number"})
    return int(gone.sum())


def _tokens(log: _Log, base: dict, tokens_per_step: float | None) -> dict:
    """Tokens from steps (D = step × tokens_per_step) where the log has none, said in a note."""
    if tokens_per_step is None:
        if "D" not in base:
            log.notes.append("no tokens (D) in the log: D left empty; pass tokens_per_step= to "
                             "derive D = step × tokens per step")
        return base
    if "D" in base:
        raise DataError(f"{log.label} has tokens (D) already; leave out tokens_per_step=.")
    if "step" not in base:
        raise DataError(f"{log.label}: tokens_per_step= needs steps, but no column was read as "
                        "step; name it with columns={'step': <column>}.")
    base["D"] = base["step"] * float(tokens_per_step)
    tokens = _number(tokens_per_step)
    log.notes.append(f"D = step × {tokens} tokens per step (tokens_per_step=)")
    if "batch_size" not in base:
        base["batch_size"] = np.full(len(base["step"]), float(tokens_per_step))
        log.notes.append(f"batch_size = {tokens} tokens (tokens_per_step=)")
    return base


# --- Weights & Biases exports --------------------------------------------------------------------

def _is_wandb(header: list[str]) -> bool:
    """Whether a header is a W&B export's: an x axis, then "<run> - <metric>" columns."""
    return (len(header) > 1 and not _WANDB.match(header[0])
            and all(_WANDB.match(h) for h in header[1:]))


def _wandb_export(log: _Log, opts: _Options) -> pd.DataFrame:
    """A W&B export's rows (see ``read_wandb_export``) as the tidy table."""
    header = list(log.frame.columns)
    if not _is_wandb(header):
        raise DataError(f"{log.label}: not a W&B export; its header should be an x axis then "
                        f"'<run> - <metric>' columns, not {_names(header[:3])}...")
    if opts.run is not None:
        raise DataError(f"{log.label} is a W&B export, which names its runs; leave out run=.")
    x, axis = header[0], _axis(log, header[0], opts.columns or {})
    parts = {c: _WANDB.match(c).groupdict() for c in header[1:]}
    mains = [c for c in header[1:] if parts[c]["agg"] is None]
    metrics = _choose(list(dict.fromkeys(parts[c]["metric"] for c in mains)), opts.metric,
                      log.label)
    series = [_wandb_series(log, c, parts[c]) for c in mains if parts[c]["metric"] in metrics]
    runs = sorted({s.run for s in series})
    orphans = [c for c in header[1:] if parts[c]["agg"] and c[:-5] not in mains]
    log.notes.append(f"W&B export: {len(runs)} runs, metrics {_names(metrics)}, from the "
                     f"'<run> - <metric>' columns; x axis {x!r} read as {axis}; __MIN/__MAX "
                     "columns (W&B's minimum and maximum over each sampled bucket of steps) kept "
                     "as loss_min/loss_max" + (f"; left out: {_names(orphans)}" if orphans else ""))
    return _finish(log, {axis: _numbers(log, x)}, series, opts)


def _axis(log: _Log, x: str, columns: Mapping) -> str:
    """The schema name of a W&B export's x axis: ``columns=`` naming it, else step, D or C by
    its name."""
    if any(v != x or k not in ("step", "D", "C") for k, v in columns.items()) or len(columns) > 1:
        raise DataError(f"{log.label} is a W&B export: columns= may only name its x axis {x!r} "
                        "(as step, D or C); choose metrics with metric=.")
    if columns:
        return next(iter(columns))
    for name in ("step", "D", "C"):
        if x.strip().lower() in ALIASES[name]:
            return name
    raise DataError(f"{log.label}: the W&B export's x axis {x!r} is not steps, tokens or FLOPs; "
                    f"export the chart with Step on the x axis, or pass columns={{'step': {x!r}}}.")


def _wandb_series(log: _Log, column: str, part: dict) -> _Series:
    """One run's metric column of a W&B export, with its __MIN/__MAX as extras."""
    extras = {}
    for agg in ("__MIN", "__MAX"):
        name = f"loss_{agg[2:].lower()}"
        extras[name] = (_numbers(log, column + agg) if column + agg in log.frame.columns
                        else np.full(len(log.frame), np.nan))
    return _Series(part["metric"], column, _numbers(log, column),
                   log.frame[column].isna().to_numpy(),
                   run=part["run"], extras=extras)


# --- TensorBoard ---------------------------------------------------------------------------------

def _tensorboard(path: Path, opts: _Options) -> pd.DataFrame:
    """Event files under ``path`` (see ``read_tensorboard``) as the tidy table."""
    if not path.exists():
        raise DataError(f"{path}: no such file or directory.")
    reader = _tb_reader()
    runs = _tb_runs(path)
    if opts.run is not None:
        if len(runs) > 1:
            raise DataError(f"{path} holds {len(runs)} runs ({_names(runs)}), named by their "
                            "directories; leave out run=.")
        runs = {opts.run: next(iter(runs.values()))}
    log = _Log(pd.DataFrame(), str(path), str(path))
    frames, logged, other = [], [], set()
    for name, where in runs.items():
        values, steps, skipped = _tb_scalars(reader, where, name, log)
        frames.append(values)
        logged.append(steps)
        other |= skipped
    if not any(len(f.columns) for f in frames):
        raise DataError(f"{path}: no scalar summaries in its event files.")
    if log.dropped:
        log.notes.append(f"steps logged twice, the later value kept (the earlier listed in "
                         f"dropped): {len(log.dropped)}")
    if other:
        log.notes.append(f"TensorBoard tags that are not scalars left out: {_names(sorted(other))}")
    log.frame = pd.concat(frames, ignore_index=True)
    absent = pd.concat(logged, ignore_index=True).reindex(columns=log.frame.columns).isna()
    fixed = {"run": np.repeat(np.array(list(runs), dtype=object), [len(f) for f in frames]),
             "step": np.concatenate([f.index.to_numpy(np.float64) for f in frames])}
    return _from_wide(log, dataclasses.replace(opts, run=None), fixed, absent=absent,
                      default_run="")


def _tb_reader():
    """TensorBoard's event accumulator module and tensor decoder, imported when needed."""
    try:
        from tensorboard.backend.event_processing import plugin_event_accumulator
        from tensorboard.util import tensor_util
    except ImportError as err:
        raise DataError(f"reading TensorBoard event files needs the tensorboard package: "
                        f"{_TB_INSTALL}.") from err
    return plugin_event_accumulator, tensor_util


def _tb_runs(path: Path) -> dict[str, Path]:
    """Run name -> the event file or directory of event files to read."""
    if path.is_file():
        return {path.resolve().parent.name: path}
    dirs = sorted({f.parent for f in path.rglob(_EVENTS + "*") if f.is_file()})
    if not dirs:
        raise DataError(f"{path}: no TensorBoard event files ({_EVENTS}*) in it or below.")
    return {(path.resolve().name if d == path else d.relative_to(path).as_posix()): d
            for d in dirs}


def _tb_scalars(reader, where: Path, run: str,
                log: _Log) -> tuple[pd.DataFrame, pd.DataFrame, set[str]]:
    """One run's scalar tags: their values (indexed by step, one column per tag), True where a
    tag was logged (NaN where not), and the names of non-scalar tags. A step logged twice keeps
    the later value; the earlier is listed as dropped."""
    module, tensor_util = reader
    acc = module.EventAccumulator(str(where), size_guidance={module.TENSORS: 0})
    try:
        acc.Reload()
    except Exception as err:  # the reader's own errors (protobuf DecodeError, DataLossError...)
        raise DataError(f"{where}: cannot be read as TensorBoard events ({err}).") from err
    columns, other = {}, set()
    for tag in acc.Tags()[module.TENSORS]:
        if acc.SummaryMetadata(tag).plugin_data.plugin_name != "scalars":
            other.add(tag)
            continue
        events = acc.Tensors(tag)
        values = pd.Series([tensor_util.make_ndarray(e.tensor_proto).item() for e in events],
                           index=[e.step for e in events], dtype=np.float64)
        twice = values.index.duplicated(keep="last")
        log.dropped += [{"line": None, "row": None,
                         "reason": f"tag {tag!r} of run {run!r} logged twice at step {step}; "
                                   "the later value kept"} for step in values.index[twice]]
        columns[tag] = values[~twice]
    logged = {tag: pd.Series(True, index=values.index) for tag, values in columns.items()}
    return pd.DataFrame(columns).sort_index(), pd.DataFrame(logged).sort_index(), other
