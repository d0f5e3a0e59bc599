"""The tidy table of runs: the one schema every loader produces and every fit reads.

One row per logged point (a checkpoint of a run, or a run's final value), long format:

=============  ===========================================================================
column         meaning
=============  ===========================================================================
run            the run's name (text; one training run, or one W&B run segment)
N              parameters
N_convention   how N was counted: "with embeddings", "non-embedding", or "" (not stated)
D              tokens seen at this point
step           optimizer step at this point (NaN where only final values are known)
C              training compute so far, FLOPs
loss           the metric's value, in ``unit``
metric         what ``loss`` measures, e.g. "validation/c4 cross-entropy" or "train loss"
split          "train", "validation", "test" or "" (not stated)
unit           "nats", "bits", "bits per character", "bits per byte" or "" (not stated)
lr             learning rate (at this step, or the run's peak; NaN where unknown)
batch_size     tokens per optimizer step (NaN where unknown)
source         where the row came from: a dataset's name or a file
=============  ===========================================================================

Perplexities are stored as nats (their log) and bits as bits; ``to_nats`` converts. Loaders may
keep extra columns after these (a dataset's own, e.g. ``unique_tokens``). A fit reads one metric:
``select`` picks its rows (every checkpoint, or the last point of each run) and says what it
left out. Never imports jax.
"""

from __future__ import annotations

import difflib
import math

import numpy as np
import pandas as pd

from scalefit.errors import DataError

COLUMNS = ("run", "N", "N_convention", "D", "step", "C", "loss", "metric", "split", "unit", "lr",
           "batch_size", "source")
NUMERIC = ("N", "D", "step", "C", "loss", "lr", "batch_size")
TEXT = ("run", "N_convention", "metric", "split", "unit", "source")
N_CONVENTIONS = ("with embeddings", "non-embedding", "")
SPLITS = ("train", "validation", "test", "")
UNITS = ("nats", "bits", "bits per character", "bits per byte", "")
# Spellings of units a log may carry, to the schema's unit ("perplexity" is converted to nats).
UNIT_WORDS = {"nats": "nats", "nat": "nats", "nats/token": "nats", "ce": "nats",
              "cross-entropy": "nats", "crossentropy": "nats", "bits": "bits", "bit": "bits",
              "bits/token": "bits", "bits per character": "bits per character",
              "bpc": "bits per character", "bits per byte": "bits per byte", "bpb": "bits per byte",
              "perplexity": "perplexity", "ppl": "perplexity", "": ""}


def unit_of(word, where: str = "") -> str:
    """The schema's unit for a spelling such as "ppl", "BPC" or "nats/token".

    Raises:
        DataError: an unknown unit, naming ``where`` and the units known.
    """
    key = "" if word is None or (isinstance(word, float) and math.isnan(word)) else \
        str(word).strip().lower()
    if key in UNIT_WORDS:
        return UNIT_WORDS[key]
    close = difflib.get_close_matches(key, list(UNIT_WORDS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DataError(f"{where + ': ' if where else ''}unknown unit {word!r}.{hint} Known units: "
                    f"nats, bits, bits per character, bits per byte, perplexity (stored as nats).")


def to_nats(values, unit: str, where: str = "") -> tuple[np.ndarray, str]:
    """Losses in nats where the unit allows: perplexity -> log(perplexity), bits -> bits·ln 2.

    Bits per character or per byte stay as they are (converting needs characters per token,
    which a log does not give); so does a loss whose unit is not stated.

    Returns:
        (values, unit after conversion).

    Raises:
        DataError: an unknown unit, or a perplexity below 1 (not a perplexity).
    """
    unit = unit_of(unit, where)
    values = np.asarray(values, np.float64)
    if unit == "perplexity":
        bad = np.flatnonzero(values < 1)
        if len(bad):
            raise DataError(f"{where + ': ' if where else ''}a perplexity of {values[bad[0]]:g} "
                            "(below 1) cannot be a perplexity; check the column and its unit.")
        return np.log(values), "nats"
    if unit == "bits":
        return values * math.log(2.0), "nats"
    return values, unit


def numeric(column: pd.Series, name: str, where: str) -> np.ndarray:
    """A column as float64, refusing text: the error names the column, the first bad row and
    its value (line = row + 2 in a CSV with a header)."""
    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        return column.to_numpy(np.float64)           # read as numbers: no text to look for
    values = pd.to_numeric(column, errors="coerce")
    if not (values.isna() & column.notna()).any():
        return values.to_numpy(np.float64)
    bad = values.isna() & column.notna() & (column.astype("string").str.strip() != "")
    if bad.any():
        row = bad.to_numpy().nonzero()[0][0]
        raise DataError(f"{where}: column {name!r} holds text ({column.iloc[row]!r} in row {row}, "
                        f"line {row + 2} of a CSV with a header) where numbers belong; fix or "
                        "remove that value.")
    return values.to_numpy(np.float64)


def make(rows: pd.DataFrame | dict, *, source: str, notes=(), dropped=()) -> pd.DataFrame:
    """The tidy table from a loader's columns: schema columns in order, missing ones empty
    (NaN or ""), numbers as float64 (text refused), extra columns kept after them.

    Args:
        rows: columns by schema name (and any extra ones).
        source: the dataset or file the rows came from (fills an empty ``source``).
        notes: what the loader derived or converted, in words.
        dropped: rows left out, each ``{"line", "row", "reason"}``.

    Raises:
        DataError: text in a numeric column, an unknown unit, split or N convention.
    """
    df = pd.DataFrame(rows).reset_index(drop=True)
    n = len(df)
    out = {}
    for name in COLUMNS:
        if name in NUMERIC:
            out[name] = numeric(df[name], name, source) if name in df else np.full(n, np.nan)
        else:
            col = df[name].astype("string").fillna("") if name in df else \
                pd.Series([""] * n, dtype="string")
            out[name] = col
    if (out["source"] == "").any():
        out["source"] = out["source"].where(out["source"] != "", source)
    for name, allowed in (("split", SPLITS), ("N_convention", N_CONVENTIONS)):
        bad = sorted(set(out[name].unique()) - set(allowed))
        if bad:
            raise DataError(f"{source}: {name} {bad[0]!r} is not one of "
                            f"{', '.join(map(repr, allowed))}.")
    bad_units = sorted(set(out["unit"].unique()) - set(UNITS))
    if bad_units:
        unit_of(bad_units[0], source)          # names a misspelling
        raise DataError(f"{source}: unit {bad_units[0]!r} must be converted before the table "
                        "is made (tidy.to_nats).")
    table = pd.DataFrame(out)
    for name in df.columns:
        if name not in COLUMNS:
            table[name] = df[name].to_numpy()
    table.attrs["scalefit"] = {"source": source, "notes": list(notes), "dropped": list(dropped)}
    return table


def select(table: pd.DataFrame, *, metric: str | None = None, split: str | None = None,
           last: bool = False) -> pd.DataFrame:
    """The rows of one metric that a fit reads, with what was left out said in the notes.

    Args:
        table: a tidy table (``make``, or any loader of ``scalefit.data``).
        metric: the metric to fit; may be omitted when the table holds one. A unique part of a
            metric's name is enough (e.g. "c4" for "validation/c4 cross-entropy").
        split: keep only this split.
        last: keep only the last point of each run (largest step, else largest D).

    Returns:
        The selected rows (columns as the table's), ``attrs["scalefit"]`` carrying the table's
        record plus notes on the selection; rows without a loss value are listed as dropped.

    Raises:
        DataError: no metric given while several are present, or a metric or split not found.
    """
    record = dict(table.attrs.get("scalefit") or {})
    source = record.get("source", "the table")
    notes, dropped = list(record.get("notes", [])), list(record.get("dropped", []))
    rows = table
    if split is not None:
        rows = rows[rows["split"] == split]
        if rows.empty:
            raise DataError(f"{source}: no rows of split {split!r}; splits present: "
                            f"{', '.join(map(repr, sorted(set(table['split']))))}.")
    metrics = rows["metric"].value_counts(sort=False)
    if metric is None:
        if len(metrics) > 1:
            listing = "; ".join(f"{m!r} ({c} rows)" for m, c in metrics.items())
            raise DataError(f"{source} holds {len(metrics)} metrics; choose one with metric= "
                            f"(--metric on the command line): {listing}.")
        chosen = metrics.index[0] if len(metrics) else ""
    else:
        chosen = metric if metric in metrics.index else None
        if chosen is None:
            part = [m for m in metrics.index if str(metric).lower() in str(m).lower()]
            if len(part) == 1:
                chosen = part[0]
            else:
                which = (f"{len(part)} metrics contain it: {', '.join(map(repr, part))}" if part
                         else f"metrics present: {', '.join(map(repr, metrics.index))}")
                raise DataError(f"{source}: no metric {metric!r} ({which}).")
    others = [m for m in metrics.index if m != chosen]
    rows = rows[rows["metric"] == chosen]
    if others:
        notes.append(f"metric {chosen!r} selected ({len(rows)} rows); left out: "
                     f"{', '.join(map(repr, others))}")
    missing = rows.index[rows["loss"].isna()]
    if len(missing):
        dropped += [{"line": None, "row": int(i), "reason": f"no value of {chosen!r}"}
                    for i in missing]
        rows = rows.drop(index=missing)
    if last:
        key = rows["step"].where(rows["step"].notna(), rows["D"])
        keep = key.groupby(rows["run"]).idxmax().dropna().astype(int)
        notes.append(f"the last point of each of {len(keep)} runs kept ({len(rows) - len(keep)} "
                     "earlier checkpoints left out)")
        rows = rows.loc[sorted(keep)]
    units = sorted(set(rows["unit"]) - {""})
    out = rows.copy()
    out.attrs["scalefit"] = {**record, "notes": notes, "dropped": dropped}
    if len(units) == 1:
        out.attrs["scalefit"]["unit"] = units[0]
    return out


def describe(table: pd.DataFrame) -> pd.DataFrame:
    """One row per metric of a tidy table: its split and unit, rows, runs, and the ranges of
    N, D and step (NaN where the table has none), for a first look at a dataset."""
    rows = []
    for (metric, split, unit), part in table.groupby(["metric", "split", "unit"], sort=False):
        row = {"metric": metric, "split": split, "unit": unit, "rows": len(part),
               "runs": part["run"].nunique()}
        for name in ("N", "D", "step"):
            values = part[name].dropna()
            row[f"{name}_min"] = values.min() if len(values) else np.nan
            row[f"{name}_max"] = values.max() if len(values) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)
