"""The tidy table a fit reads, and every check on input data: columns, numbers, signs, counts.

Nothing here imports jax. ``prepare`` turns a DataFrame or a file into a :class:`Table` of float64
arrays, refusing bad values with a message that names the source, the column, the line and the fix,
or, with ``drop_invalid=True``, dropping them and saying so in ``Table.dropped``.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from scalefit.data._dropped import Dropped
from scalefit.data.flags import Flag, check_rules, flag_points
from scalefit.errors import DataError

_TEXT = {".csv": ",", ".tsv": "\t", ".txt": None}
_PARQUET = {".parquet", ".pq"}
_COMPRESSED = {".gz", ".bz2", ".xz", ".zip", ".zst"}
_HINTS = {"N": ("param", "size"), "D": ("token", "data"), "C": ("flop", "compute"),
          "loss": ("loss",)}  # words in a user's column name that suggest the canonical one
_SHOWN = 5  # offending rows quoted per column in an error message
_LOSSY = ("loss", "bpc", "bpb", "ppl", "perplexity", "nll", "entropy")  # names of other losses


@dataclass(frozen=True, eq=False)
class Table:
    """Checked float64 columns ready to fit: every input and the loss positive and finite.

    Attributes:
        inputs: one read-only 1-D float64 array per input name, all the same length.
        loss: the observed losses, positive and finite.
        weight: non-negative finite weights, or None.
        source: the file path as given, or "DataFrame" (or the loader's description).
        dropped: every row not fitted, with its reason (a loader's drops first).
        notes: what was derived or filtered, in words.
        columns: the column each name was read from (canonical name -> user's column or formula).
        group: the integer group (run) of each point, 0..n_groups-1, or None.
        group_labels: the group column's value for each group code.
        derived: the inputs derived from other columns (e.g. D = C/(6N)).
        rows: the source's index label of each point; lines: its file line, or None.
        flags: what the flagging rules found (``scalefit.data.flags``), as records naming the
            line, row and run of each point (dropped ones included).
        thresholds: the thresholds the rules used.
        unit: the loss's unit when the source says it (a loader's ``attrs["scalefit"]["unit"]``).
    """

    inputs: dict[str, np.ndarray]
    loss: np.ndarray
    weight: np.ndarray | None
    source: str
    dropped: tuple[Dropped, ...] = ()
    notes: tuple[str, ...] = ()
    columns: Mapping[str, str] = field(default_factory=dict)
    group: np.ndarray | None = None
    group_labels: tuple = ()
    derived: tuple[str, ...] = ()
    rows: tuple = ()
    lines: tuple = ()
    flags: tuple[dict, ...] = ()
    thresholds: Mapping[str, float] = field(default_factory=dict)
    unit: str | None = None

    def __post_init__(self) -> None:
        arrays = [*self.inputs.values(), self.loss] + ([] if self.weight is None else [self.weight])
        arrays += [] if self.group is None else [self.group]
        if any(a.ndim != 1 or len(a) != len(self.loss) for a in arrays):
            raise ValueError("Table arrays must be 1-D and all of the same length")

    def where(self, i: int) -> str:
        """Where point ``i`` came from, in words: its file line or its row label."""
        if self.lines and self.lines[i] is not None:
            return f"line {self.lines[i]}"
        return f"row {self.rows[i]!r}" if self.rows else f"point {i}"

    def without(self, drop: np.ndarray, reasons: Mapping[int, str]) -> Table:
        """Returns the table without the points where ``drop`` is true, each listed in
        ``dropped`` with its reason (``flags`` are kept: they record where each point was)."""
        keep = ~np.asarray(drop, bool)
        gone = tuple(Dropped(self.lines[i] if self.lines else None,
                             self.rows[i] if self.rows else i, reasons[i])
                     for i in np.flatnonzero(~keep))
        group, labels = self.group, self.group_labels
        if group is not None:
            used, group = np.unique(group[keep], return_inverse=True)
            labels, group = tuple(labels[i] for i in used), _frozen_int(group)
        return dataclasses.replace(
            self, inputs={k: _frozen(v[keep]) for k, v in self.inputs.items()},
            loss=_frozen(self.loss[keep]),
            weight=None if self.weight is None else _frozen(self.weight[keep]),
            dropped=self.dropped + gone, group=group, group_labels=labels,
            rows=tuple(r for r, k in zip(self.rows, keep) if k),
            lines=tuple(r for r, k in zip(self.lines, keep) if k))

    def flag_records(self, flags: Sequence[Flag], drop: Sequence[str]) -> tuple[dict, ...]:
        """The flags as JSON-ready records: line, row, run, rule, value, reason, dropped."""
        return tuple({"line": self.lines[f.index] if self.lines else None,
                      "row": self.rows[f.index] if self.rows else f.index,
                      "run": None if self.group is None else self.group_labels[self.group[f.index]],
                      "rule": f.rule, "value": None if f.rule == "duplicates" else f.value,
                      "reason": (f"{f.reason} ({self.where(int(f.value))})"
                                 if f.rule == "duplicates" else f.reason),
                      "dropped": f.rule in drop} for f in flags)

    @property
    def n_points(self) -> int:
        """The number of rows to fit."""
        return len(self.loss)

    def summary(self) -> dict:
        """A JSON-serialisable description: source, counts, ranges, notes and columns used."""

        def span(a: np.ndarray) -> dict:
            return {"min": float(a.min()), "max": float(a.max())} if len(a) else {}

        out = {"source": self.source, "n_points": self.n_points, "n_dropped": len(self.dropped),
               "inputs": {k: span(v) for k, v in self.inputs.items()}, "loss": span(self.loss)}
        if self.weight is not None:
            out["weight"] = span(self.weight)
        if self.group is not None:
            out["n_groups"] = len(self.group_labels)
        out["notes"] = list(self.notes)
        out["columns"] = {str(k): str(v) for k, v in self.columns.items()}
        out["derived"] = list(self.derived)
        out["flags"] = [dict(f) for f in self.flags]
        return out


@dataclass(frozen=True)
class _Source:
    frame: pd.DataFrame
    source: str
    label: str          # how messages name it: the path, or "the DataFrame"
    lines: bool         # whether index label + 2 is the file line
    dropped: tuple[Dropped, ...]
    notes: tuple[str, ...]
    unit: str | None = None

    def label_of(self, i: int) -> object:
        """The index label of row position ``i``, as a plain Python value."""
        row = self.frame.index[i]
        return row.item() if isinstance(row, np.generic) else row

    def where(self, row: object) -> str:
        return f"line {self.line(row)}" if self.lines else f"row {row!r}"

    def line(self, row: object) -> int | None:
        return int(row) + 2 if self.lines else None


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """Read a CSV (.csv, .tsv, .txt) or Parquet (.parquet, .pq) file, chosen by its suffix.

    Blank lines are skipped but keep their place, so a text file's row with index label i sits on
    file line i + 2 (the header is line 1).

    Args:
        path: the file; text files may be compressed (.csv.gz and the like).

    Returns:
        The file's rows, as read, nothing converted.

    Raises:
        DataError: the file is missing, has an unknown suffix, cannot be parsed, or is Parquet
            without pyarrow installed.
    """
    p = Path(path)
    suffixes = [s.lower() for s in p.suffixes]
    suffix = suffixes[-2] if len(suffixes) > 1 and suffixes[-1] in _COMPRESSED else p.suffix.lower()
    if suffix not in _TEXT and suffix not in _PARQUET:
        raise DataError(f"{path}: unknown file type {p.suffix!r}; scalefit reads .csv, .tsv, .txt "
                        f"and .parquet, .pq files. Save it as CSV, or read it yourself and pass a "
                        f"DataFrame.")
    if not p.exists():
        raise DataError(f"{path}: no such file.")
    if p.is_dir():
        raise DataError(f"{path} is a directory, not a table file.")
    try:
        return pd.read_parquet(p) if suffix in _PARQUET else _read_text(p, _TEXT[suffix])
    except DataError:
        raise
    except ImportError as err:
        raise DataError(f"{path}: reading Parquet needs pyarrow: pip install pyarrow.") from err
    except pd.errors.EmptyDataError as err:
        raise DataError(f"{path} is empty: no header and no rows.") from err
    except (ValueError, OSError, pd.errors.ParserWarning) as err:  # ParserError, ArrowInvalid...
        reason = str(err).strip()
        raise DataError(f"{path}: cannot be read as a {suffix} table ({reason}).") from err


def _read_text(path: Path, sep: str | None) -> pd.DataFrame:
    """Read delimited text, keeping each row's index label = file line - 2; blank lines skipped.

    Refuses a header that names a column twice (pandas would rename the copy and the fit would
    read the first silently) and a .csv whose header is clearly split by another delimiter.
    """
    engine = "python" if sep is None else "c"
    header = pd.read_csv(path, sep=sep, engine=engine, header=None, nrows=1, dtype=str,
                         keep_default_na=False).iloc[0].tolist()
    seen: dict[str, int] = {}
    for i, name in enumerate(header):
        if name in seen:
            raise DataError(f"{path}: column {name!r} appears twice in the header (columns "
                            f"{seen[name] + 1} and {i + 1}); rename one, or delete it.")
        seen[name] = i
    if sep == "," and len(header) == 1:
        for other, label in ((";", "semicolon"), ("\t", "tab"), ("|", "'|'")):
            if other in header[0]:
                raise DataError(f"{path} looks {label}-separated (its header is {header[0]!r}), "
                                "but a .csv is read as comma-separated. Save it with commas (or "
                                "as .tsv for tabs), or read it with pandas.read_csv(path, "
                                f"sep={other!r}) and pass the DataFrame.")
    with warnings.catch_warnings():  # a row longer than the header would lose data: refuse it
        warnings.simplefilter("error", pd.errors.ParserWarning)
        frame = pd.read_csv(path, sep=sep, engine=engine, index_col=False,
                            skip_blank_lines=False)
    return frame.dropna(how="all")


def _open(data: pd.DataFrame | str | os.PathLike) -> _Source:
    """Wrap a DataFrame or read a file, carrying a loader's record from ``attrs["scalefit"]``."""
    if isinstance(data, pd.DataFrame):
        up = data.attrs.get("scalefit") or {}
        dropped = tuple(Dropped(d.get("line"), d.get("row"), str(d.get("reason", "by the loader")))
                        for d in up.get("dropped", ()))
        source = str(up.get("source", "DataFrame"))
        label = source if "source" in up else "the DataFrame"
        unit = up.get("unit")
        return _Source(data, source, label, False, dropped, tuple(map(str, up.get("notes", ()))),
                       str(unit) if unit else None)
    if isinstance(data, (str, os.PathLike)):
        frame = read_table(data)
        lines = Path(data).suffix.lower() not in _PARQUET
        return _Source(frame, os.fspath(data), os.fspath(data), lines, (), ())
    raise DataError(f"data must be a pandas DataFrame or a path to a CSV or Parquet file, "
                    f"not {type(data).__name__}.")


def _guess(name: str, columns: Sequence) -> str | None:
    """The user's column most likely meant for ``name``, or None."""
    lower = {str(c).lower(): str(c) for c in columns}
    if name.lower() in lower:
        return lower[name.lower()]
    for hint in _HINTS.get(name, ()):
        for low, col in lower.items():
            if hint in low:
                return col
    close = difflib.get_close_matches(name.lower(), list(lower), n=1, cutoff=0.6)
    return lower[close[0]] if close else None


def _missing(src: _Source, name: str, col: str, needs: str = "") -> DataError:
    """The error for a column ``col`` (wanted as ``name``) that the source lacks."""
    cols = [str(c) for c in src.frame.columns]
    mapped = f" (mapped from {name!r} by columns=)" if col != name else ""
    guess = _guess(col if col != name else name, cols) or "<column>"
    return DataError(f"{src.label} has no column {col!r}{mapped} (columns: {', '.join(cols)})."
                     f"{needs} Map it with columns={{\"{name}\": \"{guess}\"}}, "
                     f"or --column {name}={guess}.")


def _plan(src: _Source, inputs: tuple[str, ...], columns: dict[str, str], loss: str,
          weight: str | None, group: str | None = None) -> tuple[dict[str, str], dict[str, str]]:
    """Which user column feeds each name read, and which inputs are derived (name -> formula)."""
    known = set(inputs) | {"N", "D", "C", "run", loss} | ({weight} if weight else set())
    known |= {group} if group else set()
    unknown = sorted(set(columns) - known)
    if unknown:
        raise DataError(f"columns= maps {', '.join(map(repr, unknown))}, which is not an input "
                        f"({', '.join(inputs)}), the loss or the weight.")
    have = {n: columns.get(n, n) for n in ("N", "D", "C")}
    have = {n: c for n, c in have.items() if c in src.frame.columns}
    read: dict[str, str] = {}
    derive: dict[str, str] = {}
    recipes = {"D": (("C", "N"), "C/(6N)"), "C": (("N", "D"), "6·N·D")}
    for name in inputs:
        col = columns.get(name, name)
        if col in src.frame.columns:
            read[name] = col
        elif name in recipes and name not in columns and all(n in have for n in recipes[name][0]):
            parts, formula = recipes[name]
            derive[name] = formula
            read.update({n: have[n] for n in parts})
        elif name in recipes and name not in columns:
            a, b = recipes[name][0]
            raise _missing(src, name, col, f" It needs column {name!r}, or {a!r} and {b!r} "
                                           f"to derive {name} = {recipes[name][1]}.")
        else:
            raise _missing(src, name, col)
    for name in (loss, weight, group):
        if name is not None:
            col = columns.get(name, name)
            if col not in src.frame.columns:
                raise _missing(src, name, col)
    return read, derive


def _is_number(v: object) -> bool:
    if isinstance(v, (bool, np.bool_)):
        return False
    return v is None or v is pd.NA or isinstance(v, (int, float, np.integer, np.floating))


def _numeric(src: _Source, col: str) -> np.ndarray:
    """Column ``col`` as float64 (missing values as nan); text, booleans and dates are refused."""
    s = src.frame[col]
    if isinstance(s, pd.DataFrame):
        raise DataError(f"{src.label}: column {col!r} appears {s.shape[1]} times; "
                        f"rename the copies.")
    kind = s.dtype
    if pd.api.types.is_integer_dtype(kind) or pd.api.types.is_float_dtype(kind):
        return s.to_numpy(dtype=np.float64, na_value=np.nan)
    if kind == object and s.map(_is_number).all():
        return pd.to_numeric(s).to_numpy(dtype=np.float64, na_value=np.nan)
    bad = [i for i, v in enumerate(s) if not _is_number(v) and pd.notna(v)]
    unparsed = [i for i in bad if pd.isna(pd.to_numeric(s.iloc[i], errors="coerce"))]
    i = (unparsed or bad or [0])[0]
    where = src.where(src.label_of(i))
    raise DataError(f"{src.label}: column {col!r} must be numeric, but {where} "
                    f"holds {s.iloc[i]!r} (dtype {kind}). Fix the value; text and booleans are not "
                    f"converted to numbers.")


def _fmt(v: float) -> str:
    return f"{v:.6g}"


def _reason(col: str, v: float, sign: str) -> str:
    if np.isnan(v):
        return f"{col} is missing" if sign.startswith("present") else f"{col} is nan"
    return f"{col} is {_fmt(v)} (must be {'finite' if np.isinf(v) else sign})"


_DROP_HINT = "Fix them, or pass drop_invalid=True to drop them (fit.dropped will list them)."


def _check(src: _Source, values: dict[str, tuple[np.ndarray, str]], drop_invalid: bool,
           hint: str = _DROP_HINT) -> tuple[np.ndarray, tuple[Dropped, ...]]:
    """Rows to keep, and the Dropped records; or a DataError naming every bad column."""
    n = len(src.frame)
    keep = np.ones(n, dtype=bool)
    reasons: dict[int, list[str]] = {}
    clauses = []
    for col, (v, sign) in values.items():
        ok = np.isfinite(v) & ((v > 0) if sign == "positive" else (v >= 0))
        bad = np.flatnonzero(~ok)
        if not len(bad):
            continue
        keep &= ok
        for i in bad:
            reasons.setdefault(int(i), []).append(_reason(col, v[i], sign))
        shown = ", ".join(f"{src.where(src.label_of(i))}: {_fmt(v[i])}" for i in bad[:_SHOWN])
        more = ", ..." if len(bad) > _SHOWN else ""
        verb = "is" if len(bad) == 1 else "are"
        need = sign if sign.startswith("present") else f"{sign} and finite"
        clauses.append(f"column {col!r} must be {need}; {len(bad)} of {n} rows "
                       f"{verb} not ({shown}{more})")
    if clauses and not drop_invalid:
        raise DataError(f"{src.label}: {'; '.join(clauses)}. {hint}")
    dropped = tuple(Dropped(src.line(src.label_of(i)), src.label_of(i), "; ".join(r))
                    for i, r in sorted(reasons.items()))
    return keep, dropped


def _derive(name: str, x: dict[str, np.ndarray], read: dict[str, str]) -> tuple[np.ndarray, str]:
    """Derive D = C/(6N) or C = 6·N·D; returns the array and the note saying so."""
    if name == "D":
        out, formula, parts = x["C"] / (6.0 * x["N"]), "C/(6N)", ("C", "N")
    else:
        out, formula, parts = 6.0 * x["N"] * x["D"], "6·N·D", ("N", "D")
    if not np.all(np.isfinite(out) & (out > 0)):
        raise DataError(f"{name} = {formula} overflows or underflows float64 for some rows; "
                        f"check the units of {' and '.join(read[p] for p in parts)}.")
    used = " and ".join(repr(read[p]) for p in parts)
    return out, f"{name} derived as {formula} from columns {used} (column {name!r} absent)"


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.float64)
    a.setflags(write=False)
    return a


def _frozen_int(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a, dtype=np.int32)
    a.setflags(write=False)
    return a


def _count(src: _Source, n: int, dropped: int, n_free: int | None, law_name: str | None) -> None:
    """Refuse a table left with no rows, or with no more rows than free parameters."""
    after = f" after dropping {dropped} row{'s' if dropped != 1 else ''}" if dropped else ""
    if n == 0:
        raise DataError(f"{src.label}: no rows remain{after}; there is nothing to fit.")
    if n_free is not None and n <= n_free:
        remain = f"{n} point{'s' if n != 1 else ''} remain{'s' if n == 1 else ''}"
        law = law_name or "the law"
        raise DataError(f"{law} has {n_free} free parameters but {remain}{after}; a fit needs "
                        f"more points than free parameters.")


COLLINEAR = 0.01   # decades: inputs whose logs stay this close to one line cannot be told apart


def _identifiable(label: str, x: dict[str, np.ndarray], y: np.ndarray, used: Mapping[str, str],
                  n_free: int | None, law_name: str | None) -> None:
    """Refuse data that cannot determine the law: an input that never varies, inputs that
    vary only together (their logs on one line, so the law cannot separate the terms in each),
    or no more distinct points than free parameters once exact duplicates count once."""
    law = law_name or "the law"
    for name, v in x.items():
        if len(v) > 1 and np.all(v == v[0]):
            raise DataError(f"{label}: every point has {name} = {_fmt(v[0])} (column "
                            f"{used.get(name, name)!r}), so {law} cannot tell how the loss "
                            f"changes with {name}. Add runs at other values of {name}, or fit a "
                            f"law without {name}.")
    if len(x) > 1 and n_free is not None:
        _separable(label, x, used, law)
    if n_free is not None:
        distinct = len(np.unique(np.column_stack([*x.values(), y]), axis=0))
        if distinct <= n_free:
            raise DataError(f"{label}: only {distinct} distinct point"
                            f"{'s' if distinct != 1 else ''} among {len(y)} rows (the rest repeat "
                            f"them exactly), but {law} has {n_free} free parameters; a fit "
                            f"needs more distinct points than free parameters.")


def _separable(label: str, x: dict[str, np.ndarray], used: Mapping[str, str], law: str) -> None:
    """Refuse inputs whose logs all lie within ``COLLINEAR`` decades of one line (or plane):
    the data then move along a single direction, e.g. every run at D = 20·N."""
    names = list(x)
    Z = np.column_stack([np.log10(x[n]) for n in names])
    Z = Z - Z.mean(axis=0)
    _, s, vt = np.linalg.svd(Z, full_matrices=False)
    if s[-1] / np.sqrt(len(Z)) >= COLLINEAR:
        return
    weight = np.abs(vt[-1])
    a, b = (names[i] for i in sorted(np.argsort(weight)[::-1][:2]))
    relation = ""
    if len(names) == 2:
        slope = np.polyfit(np.log10(x[a]), np.log10(x[b]), 1)[0]
        k = float(np.median(x[b] / x[a] ** slope))
        relation = f" (at every point {b} ≈ {k:.3g}·{a}^{slope:.3g})"
    raise DataError(f"{label}: {a} and {b} vary together{relation}, so {law} cannot separate "
                    f"the effect of {a} from that of {b}. Add runs off that line: other {b} at "
                    f"the same {a} (columns {used.get(a, a)!r} and {used.get(b, b)!r}).")


def read_inputs(data: pd.DataFrame | str | os.PathLike, inputs: Sequence[str], *,
                columns: Mapping[str, str] | None = None) -> dict[str, np.ndarray]:
    """Checked float64 input arrays for a prediction: no loss column needed, no row dropped.

    Derives D = C/(6N) or C = 6·N·D like :func:`prepare`. Entries of ``columns`` for anything
    but inputs (the loss, a weight, a group) are ignored, so a fit's mapping can be reused.

    Raises:
        DataError: a missing or non-numeric column, or an input that is not positive and finite.
    """
    src = _open(data)
    inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
    columns = {k: v for k, v in (columns or {}).items() if k in {*inputs, "N", "D", "C"}}
    read, derive = _plan(src, inputs, columns, None, None)
    values = {col: (_numeric(src, col), "positive") for col in read.values()}
    _check(src, values, drop_invalid=False, hint="Predictions need every input positive.")
    x = {name: values[col][0] for name, col in read.items()}
    for name in derive:
        x[name], _ = _derive(name, x, read)
    return {name: x[name] for name in inputs}


def prepare(data: pd.DataFrame | str | os.PathLike, inputs: Sequence[str], *,
            columns: Mapping[str, str] | None = None, loss: str = "loss",
            weight: str | None = None, group: str | None = None, drop_invalid: bool = False,
            n_free: int | None = None, law_name: str | None = None,
            drop: Sequence[str] = (), thresholds: Mapping[str, float] | None = None) -> Table:
    """Checked float64 arrays of runs, as a :class:`Table`; the caller's data is left untouched.

    Args:
        data: a DataFrame, or a path read with :func:`read_table`. A loader's record in
            ``data.attrs["scalefit"]`` (source, dropped, notes) is carried into the table.
        inputs: the law's input names, e.g. ("N", "D") or ("C",).
        columns: canonical name -> the user's column, e.g. {"N": "model_size", "loss": "val_loss"}.
        loss: the canonical name of the loss column (mapped through ``columns`` if there).
        weight: the canonical name of a weight column (mapped likewise), or None.
        group: the column naming the run (group) each point belongs to, any values (mapped
            likewise); None uses a column named ``run`` when there is one (said in ``notes``).
        drop_invalid: drop rows with a nan, an inf, or a non-positive value (a negative weight)
            and list them in ``Table.dropped``, instead of raising.
        n_free: the law's number of free parameters; the table must have more points.
        law_name: the law's name, for messages.
        drop: flagging rules whose points are dropped (listed in ``dropped``), from
            ``scalefit.data.flags.RULES`` (``outliers`` needs a fit and is applied by it).
        thresholds: rule name -> threshold, replacing ``scalefit.data.flags.THRESHOLDS``.

    Returns:
        The Table; D = C/(6N) or C = 6·N·D derived when needed and absent (said in ``notes``).

    Raises:
        DataError: an unreadable file, a missing or non-numeric column, an invalid value (unless
            ``drop_invalid``), an empty table, or no more points than ``n_free``.
    """
    src = _open(data)
    if len(src.frame) == 0:
        cols = ", ".join(map(str, src.frame.columns)) or "none"
        raise DataError(f"{src.label} is empty: it has no rows to fit (columns: {cols}).")
    columns = dict(columns or {})
    inputs = (inputs,) if isinstance(inputs, str) else tuple(inputs)
    auto_group = group is None and columns.get("run", "run") in src.frame.columns
    group = "run" if auto_group else group
    read, derive = _plan(src, inputs, columns, loss, weight, group)
    loss_col = columns.get(loss, loss)
    weight_col = columns.get(weight, weight) if weight is not None else None
    values = {col: (_numeric(src, col), "positive") for col in [*read.values(), loss_col]}
    if weight_col is not None:
        values[weight_col] = (_numeric(src, weight_col), "non-negative")
    group_col = columns.get(group, group) if group is not None else None
    codes, labels = (None, ()) if group_col is None else _groups(src, group_col)
    if codes is not None:
        values[group_col] = (np.where(codes >= 0, 1.0, np.nan), "present (not missing)")
    keep, dropped = _check(src, values, drop_invalid)
    dropped = src.dropped + dropped
    _count(src, int(keep.sum()), len(dropped), n_free, law_name)
    x = {name: values[col][0][keep] for name, col in read.items()}
    notes = list(src.notes)
    for name in derive:
        x[name], note = _derive(name, x, read)
        notes.append(note)
    w = values[weight_col][0][keep] if weight_col is not None else None
    if w is not None and not w.sum() > 0:
        raise DataError(f"{src.label}: column {weight_col!r} has no positive weight among the rows "
                        f"kept; at least one row must count.")
    used = {name: read.get(name) or derive[name] for name in inputs}
    used["loss"] = loss_col
    if weight_col is not None:
        used["weight"] = weight_col
    if codes is not None:
        used["group"] = group_col
        codes, kept = np.unique(codes[keep], return_inverse=True)
        labels, codes = tuple(labels[i] for i in codes), _frozen_int(kept)
        if auto_group:
            notes.append(f"points grouped into {len(labels)} runs by column {group_col!r}")
    others = [str(c) for c in src.frame.columns if str(c) != loss_col and str(c) not in used.values()
              and any(w in str(c).lower() for w in _LOSSY)]
    if others and loss not in columns:
        notes.append(f"column {loss_col!r} was fitted as the loss; {', '.join(map(repr, others))} "
                     f"may hold another (map it with columns={{\"{loss}\": ...}} or --column "
                     f"{loss}=NAME)")
    rows = tuple(src.label_of(i) for i in np.flatnonzero(keep))
    table = Table(inputs={name: _frozen(x[name]) for name in inputs},
                  loss=_frozen(values[loss_col][0][keep]),
                  weight=None if w is None else _frozen(w), source=src.source,
                  dropped=dropped, notes=tuple(notes), columns=used, group=codes,
                  group_labels=labels, derived=tuple(derive), rows=rows,
                  lines=tuple(src.line(r) for r in rows),
                  unit=src.unit if loss_col == src.frame.attrs.get("scalefit", {}).get(
                      "loss_column", "loss") else None)
    table = _flag(table, drop, thresholds, src.label)
    _count(src, table.n_points, len(table.dropped), n_free, law_name)
    _identifiable(src.label, table.inputs, table.loss, used, n_free, law_name)
    return table


def _flag(table: Table, drop: Sequence[str], thresholds: Mapping[str, float] | None,
          label: str) -> Table:
    """Applies the data-only flagging rules; drops the points of the rules in ``drop``."""
    drop, thresholds = check_rules(drop, thresholds)
    flags, notes = flag_points(table.inputs, table.loss, table.group, thresholds)
    table = dataclasses.replace(table, flags=table.flag_records(flags, drop),
                                thresholds=thresholds, notes=table.notes + tuple(notes))
    reasons: dict[int, str] = {}
    for f in flags:
        if f.rule in drop:
            reasons.setdefault(f.index, f"dropped as {f.rule}: {f.reason}")
    if not reasons:
        return table
    mask = np.zeros(table.n_points, bool)
    mask[list(reasons)] = True
    return table.without(mask, reasons)


def _groups(src: _Source, col: str) -> tuple[np.ndarray, tuple]:
    """Integer codes of a group column (any values; -1 where missing) and the label of each."""
    s = src.frame[col]
    if isinstance(s, pd.DataFrame):
        raise DataError(f"{src.label}: column {col!r} appears {s.shape[1]} times; "
                        f"rename the copies.")
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    labels = tuple(v.item() if isinstance(v, np.generic) else v for v in uniques)
    return np.asarray(codes, np.int64), labels
