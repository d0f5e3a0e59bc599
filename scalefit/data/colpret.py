"""Parsers of the Hitchhiker's Guide collection (IBM/ColPret) into the tidy table of
``scalefit.data.tidy``.

Choshen et al. (2024, "A Hitchhiker's Guide to Scaling Law Estimation") gathered the loss curves of
many published model families into one repository, IBM/ColPret. Each family registers here as its
own dataset, pinned to commit 16f23bb: "olmo", "opt", "gpt3", "datablations", "k2" and "mamba3b".
The repository is MIT-licensed; the numbers come from the papers and logs of the runs' authors.

Every parser reads one CSV, refuses it when an expected column is absent or holds text where
numbers belong (naming the file and the column), converts the file's units (log10 token counts,
perplexities, billions of tokens) and says in the table's notes what it derived and why. Rows left
out are listed in ``attrs["scalefit"]["dropped"]`` with their file line and reason.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from scalefit.data import tidy
from scalefit.data.datasets import Dataset, Remote, register
from scalefit.data.table import read_table
from scalefit.errors import DataError

_COMMIT = "IBM/ColPret/16f23bbe054277ddc4afd07a972dd7cfbe3f48c3"
_LICENCE = ("MIT (IBM/ColPret, LICENSE beside the files); the numbers come from the runs' "
            "original papers and logs, which set their own terms")
_COLLECTION = ("collected by Choshen et al. (2024), A Hitchhiker's Guide to Scaling Law "
               "Estimation")
_SIZE_UNITS = {"k": 1e3, "m": 1e6, "b": 1e9, "t": 1e12}
_SHOWN_COLUMNS = 12       # columns listed in a missing-column error

_OLMO = ("Step", "model_name", "num_params")
_OLMO_CE, _OLMO_PPL = "/CrossEntropyLoss", "/Perplexity"
# Tokens per optimizer step: sequences per batch x 2,048 tokens per sequence.
_OLMO_TOKENS_PER_STEP = {"OLMo-1B": 2048 * 2048, "OLMo-7B": 2160 * 2048,
                         "OLMo-7B-Twin-2T": 2160 * 2048}
_OLMO_SUMMED = 1.8        # a row this many times the last clean row is a sum of W&B segments
_PPL_RTOL = 1e-5          # exp(cross-entropy) and perplexity agree to float32 rounding (~1e-7)

_OPT = ("model_size", "steps", "num_token", "flops", "ppl")

_GPT3 = ("model", "step", "train_loss", "val_loss")
# Brown et al. (2020), Table 2.1: the file's model name -> parameters, batch (tokens), peak LR.
_GPT3_TABLE = {"small": (125e6, 0.5e6, 6.0e-4), "medium": (350e6, 0.5e6, 3.0e-4),
               "large": (760e6, 0.5e6, 2.5e-4), "xl": (1.3e9, 1e6, 2.0e-4),
               "2.7b": (2.7e9, 1e6, 1.6e-4), "6.7b": (6.7e9, 2e6, 1.2e-4),
               "13b": (13e9, 2e6, 1.0e-4), "175b": (175e9, 3.2e6, 0.6e-4)}
_GPT3_SPLITS = {"train_loss": "train", "val_loss": "validation"}

_DATABLATIONS = ("data", "epochs", "token_num", "loss", "num_params", "model_args",
                 "tokens_per_epoch")

_K2 = ("Step", "k2 training - lm loss", "tokens_seen", "flops", "model_name", "num_params")
_K2_LOSS = "k2 training - lm loss"
_MIN_MAX = ("__MIN", "__MAX")   # W&B's min and max of a column over its run group

_MAMBA = ("step", "loss", "lr", "grad_norm")
_MAMBA_N = 3e9            # "3B": the collection's size for the run (util/read_data.py)
_MAMBA_TOKENS, _MAMBA_STEPS = 500e9, 176_703   # the collection: 500B tokens at step 176,703
_TAIL = 100               # rows whose median loss a note quotes as the run's end


# ---------------------------------------------------------------------------------------------
# reading and checking
# ---------------------------------------------------------------------------------------------
def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    """The file's rows (index label = file line - 2), refused when an expected column is absent:
    the message names the file, the missing columns and says the upstream format changed."""
    raw = read_table(path)
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        present = [str(c) for c in raw.columns]
        shown = ", ".join(present[:_SHOWN_COLUMNS])
        more = f", ... ({len(present)} in all)" if len(present) > _SHOWN_COLUMNS else ""
        raise DataError(f"{path}: expected columns {', '.join(map(repr, columns))} but "
                        f"{', '.join(map(repr, missing))} {'is' if len(missing) == 1 else 'are'} "
                        f"absent (columns: {shown}{more}); the upstream format changed.")
    return raw


def _number(raw: pd.DataFrame, column: str, path: Path) -> np.ndarray:
    """A column as float64; text where numbers belong raises a DataError naming the file, the
    column, the value and its line. A column pandas already read as numbers is taken as it is
    (checking it for text would format every value as a string: most of a large file's time)."""
    values = raw[column]
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.to_numpy(np.float64)
    return tidy.numeric(values, column, str(path))


def _size(text: str, path: Path, column: str) -> float:
    """A size label such as "125m", "1.3b" or "65B" as a number (1.25e8, 1.3e9, 6.5e10)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmbt])\s*", str(text), re.IGNORECASE)
    if match is None:
        raise DataError(f"{path}: column {column!r} holds {text!r}, not a size such as '125m' "
                        "or '1.3B'; the upstream format changed.")
    return float(match[1]) * _SIZE_UNITS[match[2].lower()]


def _sizes(labels: pd.Series, path: Path, column: str) -> np.ndarray:
    """Size labels as numbers, each distinct label parsed once."""
    parsed = {label: _size(label, path, column) for label in labels.unique()}
    return labels.map(parsed).to_numpy(np.float64)


# ---------------------------------------------------------------------------------------------
# the tidy table, with bad and repeated rows listed
# ---------------------------------------------------------------------------------------------
def _dropped(rows: pd.DataFrame, mask: np.ndarray, reasons) -> list[dict]:
    """Drop records (file line, row label, reason) of the rows under ``mask``."""
    return [{"line": int(r) + 2, "row": int(r), "reason": why}
            for r, why in zip(rows.loc[mask, "_row"], reasons)]


def _bad_losses(rows: pd.DataFrame) -> np.ndarray:
    """Rows whose loss is not a positive finite number (NaN, inf, zero or negative)."""
    loss = rows["loss"].to_numpy(np.float64)
    return ~(np.isfinite(loss) & (loss > 0))


def _copies(rows: pd.DataFrame) -> tuple[np.ndarray, list[int]]:
    """Rows that repeat an earlier row's run, metric, D, step and loss, and the line of the
    earlier row each repeats."""
    key = [c for c in ("run", "metric", "D", "step", "loss") if c in rows]
    mask = rows.duplicated(key, keep="first").to_numpy()
    if not mask.any():
        return mask, []
    first = rows.groupby(key, dropna=False, sort=False)["_row"].transform("first") + 2
    return mask, [int(line) for line in first[mask]]


def _finish(name: str, rows: pd.DataFrame, notes: list[str], dropped: list[dict]) -> pd.DataFrame:
    """The tidy table of ``rows`` (schema columns, extra ones, and ``_row``, the file's row
    label), after dropping rows without a positive finite loss and exact copies of earlier rows,
    each listed with its line and reason."""
    bad = _bad_losses(rows)
    dropped = dropped + _dropped(rows, bad, [
        f"{m!r} is {v:g}, not a positive finite loss"
        for m, v in zip(rows.loc[bad, "metric"], rows.loc[bad, "loss"])])
    rows = rows[~bad]
    copy, first = _copies(rows)
    dropped += _dropped(rows, copy, [f"a copy of line {line} (same run, metric, D, step, loss)"
                                     for line in first])
    rows = rows[~copy]
    if bad.any() or copy.any():
        notes.append(f"{int(bad.sum())} rows without a positive finite loss and {int(copy.sum())} "
                     "exact copies of earlier rows dropped (listed with their lines)")
    dropped.sort(key=lambda d: d["line"])
    return tidy.make(rows.drop(columns="_row"), source=name, notes=notes, dropped=dropped)


# ---------------------------------------------------------------------------------------------
# OLMo
# ---------------------------------------------------------------------------------------------
def _olmo_tokens_per_step(models: pd.Series, path: Path) -> np.ndarray:
    """Tokens per optimizer step of each row's model (why: the first note of ``read_olmo``)."""
    unknown = sorted(set(models) - set(_OLMO_TOKENS_PER_STEP))
    if unknown:
        raise DataError(f"{path}: model {unknown[0]!r} has no known tokens per step (known: "
                        f"{', '.join(_OLMO_TOKENS_PER_STEP)}); the upstream format changed.")
    return models.map(_OLMO_TOKENS_PER_STEP).to_numpy(np.float64)


def _summed_rows(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows (of one model, by step) whose losses are at least 1.8 times those of the last
    clean row before them, in the median over the loss columns both have.

    The collection built olmo.csv by adding up the columns of overlapping W&B run segments, so a
    step that two segments logged holds twice its value. Returns each row's ratio to the last
    clean row (NaN for clean rows) and the position of that clean row (-1 for clean rows).
    """
    ratios, refs = np.full(len(values), np.nan), np.full(len(values), -1)
    ref = None
    for i, row in enumerate(values):
        if ref is not None:
            with np.errstate(all="ignore"):
                ratio = row / values[ref]
            ratio = ratio[np.isfinite(ratio)]
            if len(ratio) and np.median(ratio) >= _OLMO_SUMMED:
                ratios[i], refs[i] = np.median(ratio), ref
                continue
        if np.isfinite(row).any():
            ref = i
    return ratios, refs


def _olmo_summed(raw: pd.DataFrame, losses: pd.DataFrame) -> list[dict]:
    """Drop records of the rows that hold sums of W&B run segments, model by model."""
    dropped = []
    for model, part in raw.groupby("model_name", sort=False):
        part = part.sort_values("Step", kind="stable")
        ratios, refs = _summed_rows(losses.loc[part.index].to_numpy())
        labels, steps = part.index.to_numpy(), part["Step"].to_numpy()
        for i in np.flatnonzero(refs >= 0):
            dropped.append({"line": int(labels[i]) + 2, "row": int(labels[i]), "reason": (
                f"{model} step {steps[i]}: losses {ratios[i]:.2f} times those of step "
                f"{steps[refs[i]]} (line {int(labels[refs[i]]) + 2}), a sum of overlapping W&B "
                "run segments in the collection's aggregation")})
    return dropped


def _summed_note(raw: pd.DataFrame, dropped: list[dict], downstream: list[str]) -> list[str]:
    """The note on the summed rows, with how many also hold accuracies above 1."""
    if not dropped:
        return []
    rows = raw.loc[[d["row"] for d in dropped], downstream].apply(pd.to_numeric, errors="coerce")
    over_one = int((rows > 1).any(axis=1).sum())
    return [f"{len(dropped)} rows dropped as sums of overlapping W&B run segments (the "
            "collection's aggregation adds the segments' columns): their losses are 1.8 times "
            "or more those of the clean row before them (median over the loss columns); "
            f"{over_one} of them also hold downstream accuracies above 1"]


def _olmo_pair(losses: pd.DataFrame, ce: str | None, ppl: str | None,
               path: Path) -> tuple[list[tuple[str, pd.Series]], dict]:
    """One eval set's losses in nats as (metric, values) pairs, and what was found.

    Cross-entropy is kept. A perplexity whose log equals it (to float32 rounding) only fills
    the rows where the cross-entropy is missing; one that differs is kept as its own metric (its
    log); a perplexity without a cross-entropy column becomes that cross-entropy (its log).
    """
    if ppl is None:
        return [(ce, losses[ce])], {}
    logs = pd.Series(tidy.to_nats(losses[ppl], "perplexity", f"{path} {ppl!r}")[0],
                     losses.index)
    if ce is None:
        name = ppl.replace(_OLMO_PPL, _OLMO_CE)
        return [(name, logs)], {"only": f"{ppl!r} -> {name!r}"}
    both = losses[ce].notna() & logs.notna()
    gap = float(np.max(np.abs(np.expm1((losses[ce] - logs)[both].to_numpy())), initial=0.0))
    if gap > _PPL_RTOL:
        return [(ce, losses[ce]), (ppl, logs)], {"differs": (ppl, ce, gap)}
    filled = int((losses[ce].isna() & logs.notna()).sum())
    return [(ce, losses[ce].fillna(logs))], {"same": (gap, int(both.sum()), filled)}


def _pair_notes(found: list[dict]) -> list[str]:
    """Notes on the perplexity columns: equal to exp(cross-entropy), alone, or different."""
    same = [f["same"] for f in found if "same" in f]
    only = [f["only"] for f in found if "only" in f]
    notes = []
    if same:
        gap, both, filled = max(g for g, _, _ in same), sum(n for _, n, _ in same), \
            sum(k for _, _, k in same)
        notes.append(f"{len(same)} '*{_OLMO_PPL}' columns equal exp of their '*{_OLMO_CE}' "
                     f"column to {gap:.1e} (relative) on {both} cells with both: the "
                     "cross-entropy is kept, and the perplexity's log fills the "
                     f"{filled} cells where only the perplexity was logged")
    if only:
        notes.append(f"perplexity columns without a cross-entropy column kept as their log, "
                     f"named as the cross-entropy: {'; '.join(only)}")
    differ = [f["differs"] for f in found if "differs" in f]
    notes += [f"{p!r} differs from exp({c!r}) by up to {g:.2g} (relative): both kept, the "
              "perplexity as its log" for p, c, g in differ]
    return notes


def _olmo_pairs(columns: list[str]) -> list[tuple[str | None, str | None]]:
    """(cross-entropy column, perplexity column) of each eval set; None where one is absent."""
    ces = [c for c in columns if c.endswith(_OLMO_CE)]
    ppls = [c for c in columns if c.endswith(_OLMO_PPL)]
    pairs = [(c, c.replace(_OLMO_CE, _OLMO_PPL) if c.replace(_OLMO_CE, _OLMO_PPL) in ppls
              else None) for c in ces]
    paired = {p for _, p in pairs}
    return pairs + [(None, p) for p in ppls if p not in paired]


def _olmo_long(raw: pd.DataFrame, losses: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, list]:
    """The wide file's loss cells with a value, one row each, and the notes on the metrics."""
    pieces, found = [], []
    n_params = _sizes(raw["num_params"], path, "num_params")
    step = _number(raw, "Step", path)
    tokens = step * _olmo_tokens_per_step(raw["model_name"], path)
    for ce, ppl in _olmo_pairs(list(losses.columns)):
        pairs, what = _olmo_pair(losses, ce, ppl, path)
        found.append(what)
        for metric, values in pairs:
            have = values.notna().to_numpy()
            pieces.append(pd.DataFrame({
                "run": raw["model_name"].to_numpy()[have], "N": n_params[have],
                "D": tokens[have], "step": step[have], "loss": values.to_numpy()[have],
                "metric": metric, "split": "validation", "unit": "nats",
                "_row": raw.index.to_numpy()[have]}))
    rows = pd.concat(pieces, ignore_index=True).sort_values(["_row", "metric"], kind="stable")
    return rows.reset_index(drop=True), _pair_notes(found)


def _stripped(names: pd.Series) -> tuple[pd.Series, list[str]]:
    """Names without surrounding spaces, and a note naming those that had some."""
    names = names.astype("string")
    clean = names.str.strip()
    padded = sorted(set(names[names != clean]))
    return clean, ([f"model names stripped of surrounding spaces: {', '.join(map(repr, padded))}"]
                   if padded else [])


def read_olmo(paths: dict[str, Path]) -> pd.DataFrame:
    """OLMo-1B, OLMo-7B and OLMo-7B-Twin-2T (Groeneveld et al. 2024): validation losses every
    1,000 steps on up to 31 eval sets, from the collection's olmo.csv (a wide table of W&B
    exports). The notes give the tokens per step, what became of the perplexity columns and
    why rows were left out.
    """
    path = paths["olmo"]
    raw = _read(path, _OLMO)
    raw["model_name"], name_note = _stripped(raw["model_name"])
    columns = [str(c) for c in raw.columns]
    loss_columns = [c for c in columns if c.endswith((_OLMO_CE, _OLMO_PPL))]
    if not loss_columns:
        raise DataError(f"{path}: no '*{_OLMO_CE}' or '*{_OLMO_PPL}' columns; the upstream "
                        "format changed.")
    downstream = [c for c in columns if c.startswith("downstream/")]
    losses = pd.DataFrame({c: _number(raw, c, path) for c in loss_columns}, index=raw.index)
    dropped = _olmo_summed(raw, losses)
    summed = [d["row"] for d in dropped]
    rows, pair_notes = _olmo_long(raw.drop(index=summed), losses.drop(index=summed), path)
    notes = [
        "D = Step x tokens per step: 4,194,304 for OLMo-1B (2,048 sequences of 2,048 tokens in "
        "its config, whose 739,328 steps make 3.1T tokens) and 4,423,680 for OLMo-7B and "
        "-Twin-2T (2,160 x 2,048; the file's checkpoint names, allenai/OLMo-7B revisions "
        "'step<S>-tokens<T>B', give T = S x 4,423,680 / 1e9 rounded in every row). The "
        "README's '4M tokens per step' (the collection's Step x 4e6) rounds both",
        "N is the nominal size in the file's num_params ('1B', '7B'); how it counts "
        "parameters is not stated",
        *name_note,
        *_summed_note(raw, dropped, downstream),
        "metrics are the file's '*-validation/CrossEntropyLoss' columns and "
        "'pile/CrossEntropyLoss' (nats); empty cells (a set not evaluated for that model or "
        "step) give no row",
        *pair_notes,
        *([f"{len(downstream)} downstream accuracy columns not read (not losses): "
           f"{', '.join(downstream)}"] if downstream else [])]
    return _finish("olmo", rows, notes, dropped)


# ---------------------------------------------------------------------------------------------
# OPT
# ---------------------------------------------------------------------------------------------
def _per_run(rows: pd.DataFrame, column: str) -> str:
    """A column's values run by run, e.g. "OPT-125m 0.5M, OPT-1.3b 1M", for a note."""
    shown = rows[column].map(lambda v: f"{v / 1e6:.3g}M")
    values = shown.groupby(rows["run"], sort=False).unique()
    return ", ".join(f"{run} {'/'.join(vs)}" for run, vs in values.items())


def read_opt(paths: dict[str, Path]) -> pd.DataFrame:
    """OPT-125m to OPT-175b (Zhang et al. 2022): the perplexity of each checkpoint, as read by
    Xia et al. (2023), from the collection's opt_trajectories.csv. Token counts and FLOPs are
    stored there as log10; the perplexity becomes nats (its log)."""
    path = paths["opt"]
    raw = _read(path, _OPT)
    step = _number(raw, "steps", path)
    tokens = np.rint(10.0 ** _number(raw, "num_token", path))
    loss, unit = tidy.to_nats(_number(raw, "ppl", path), "perplexity", f"{path} 'ppl'")
    sizes = raw["model_size"].astype("string").str.strip()
    rows = pd.DataFrame({
        "run": ("OPT-" + sizes).to_numpy(), "N": _sizes(sizes, path, "model_size"),
        "D": tokens, "step": step, "C": 10.0 ** _number(raw, "flops", path), "loss": loss,
        "metric": "log(ppl)", "split": "validation", "unit": unit,
        "batch_size": tokens / step, "_row": raw.index.to_numpy()})
    notes = ["D = 10**num_token (rounded to whole tokens) and C = 10**flops: the file stores "
             "both as log10 (C = 6ND with the nominal N)",
             "loss = log(ppl), nats: the file's ppl is the checkpoint's validation perplexity",
             "N is the nominal size in the file's model_size ('125m' -> 1.25e8); how it counts "
             "parameters is not stated",
             f"batch_size = D / steps, tokens per step: {_per_run(rows, 'batch_size')}",
             "opt.csv, the collection's other OPT file, holds BIG-bench accuracies (percent) of "
             "the same checkpoints and no loss; it is not read"]
    return _finish("opt", rows, notes, [])


# ---------------------------------------------------------------------------------------------
# GPT-3
# ---------------------------------------------------------------------------------------------
def _gpt3_models(models: pd.Series, path: Path) -> pd.DataFrame:
    """N, batch size and learning rate of each row's model, from Brown et al.'s Table 2.1."""
    names = models.astype("string").str.strip().str.lower()
    unknown = sorted(set(names) - set(_GPT3_TABLE))
    if unknown:
        raise DataError(f"{path}: column 'model' holds {unknown[0]!r}, not a GPT-3 model ("
                        f"{', '.join(_GPT3_TABLE)}); the upstream format changed.")
    table = pd.DataFrame(_GPT3_TABLE, index=["N", "batch_size", "lr"]).T
    return table.loc[names.to_numpy()].reset_index(drop=True)


def read_gpt3(paths: dict[str, Path]) -> pd.DataFrame:
    """The eight GPT-3 models (Brown et al. 2020): training and validation loss curves that the
    collection digitised from the paper's figure, from raw_data/gpt3/extracted.csv."""
    path = paths["gpt3"]
    raw = _read(path, _GPT3)
    models = _gpt3_models(raw["model"], path)
    tokens = _number(raw, "step", path) * 1e9
    pieces = []
    for column, split in _GPT3_SPLITS.items():
        values = _number(raw, column, path)
        have = ~np.isnan(values)
        pieces.append(pd.DataFrame({
            "run": ("GPT-3 " + raw["model"].astype("string").str.strip()).to_numpy()[have],
            "N": models["N"].to_numpy()[have], "D": tokens[have], "loss": values[have],
            "metric": column, "split": split, "unit": "nats",
            "lr": models["lr"].to_numpy()[have],
            "batch_size": models["batch_size"].to_numpy()[have],
            "_row": raw.index.to_numpy()[have]}))
    rows = pd.concat(pieces, ignore_index=True).sort_values("_row", kind="stable")
    neither = raw.index[raw[list(_GPT3_SPLITS)].isna().all(axis=1)]
    dropped = [{"line": int(r) + 2, "row": int(r), "reason": "neither train_loss nor val_loss"}
               for r in neither]
    repeats = int(rows.duplicated(["run", "metric", "D"]).sum())
    notes = ["D = step x 1e9: the file's 'step' is billions of tokens (read off the figure's "
             "axis), not an optimizer step, so step is left empty",
             "two metrics: train_loss (split train) and val_loss (split validation), nats; each "
             "file row holds one of them",
             "N, batch_size (tokens) and lr (peak) from Brown et al. (2020), Table 2.1, by the "
             "file's model name (small 125M, medium 350M, large 760M, xl 1.3B); how N counts "
             "parameters is not stated",
             f"digitised points: {repeats} rows share their run, metric and D with an earlier "
             "row (several points read off one thick curve); all kept"]
    return _finish("gpt3", rows.reset_index(drop=True), notes, dropped)


# ---------------------------------------------------------------------------------------------
# datablations
# ---------------------------------------------------------------------------------------------
def _identical_curves(rows: pd.DataFrame) -> list[str]:
    """Notes naming runs whose whole curves (D and loss) are identical to another run's."""
    groups: dict[tuple, list[str]] = {}
    for run, part in rows.groupby("run", sort=False):
        key = (tuple(part["D"]), tuple(part["loss"]))
        groups.setdefault(key, []).append(str(run))
    return [f"runs {' and '.join(map(repr, runs))} have identical curves ({len(key[0])} points; "
            "different TensorBoard logs upstream, so probably a copy error); all kept"
            for key, runs in groups.items() if len(runs) > 1]


def _datablations_runs(raw: pd.DataFrame, epochs: np.ndarray, path: Path) -> pd.Series:
    """Each row's run name, "<params>-<data>-<epochs>ep"; refused when a name covers two
    TensorBoard logs (``model_args``)."""
    names = (raw["num_params"].astype("string").str.strip() + "-"
             + raw["data"].astype("string").str.strip() + "-"
             + [f"{e:g}ep" for e in epochs])
    logs = raw.groupby(names.to_numpy())["model_args"].nunique()
    if (logs > 1).any():
        raise DataError(f"{path}: run {logs.index[logs > 1][0]!r} (num_params, data, epochs) "
                        "has several 'model_args' logs; the upstream format changed.")
    return names


def read_datablations(paths: dict[str, Path]) -> pd.DataFrame:
    """The repeated-data runs of Muennighoff et al. (2023): 2.8B, 4.2B and 8.7B models trained on
    C4 or OSCAR for a fixed number of tokens drawn from fewer unique tokens (1 to 44 epochs);
    loss curves from the collection's datablations_losses.csv."""
    path = paths["datablations"]
    raw = _read(path, _DATABLATIONS)
    epochs = _number(raw, "epochs", path)
    rows = pd.DataFrame({
        "run": _datablations_runs(raw, epochs, path).to_numpy(),
        "N": _sizes(raw["num_params"], path, "num_params"),
        "D": _number(raw, "token_num", path), "loss": _number(raw, "loss", path),
        "metric": "loss", "unit": "nats", "epochs": epochs,
        "unique_tokens": _number(raw, "tokens_per_epoch", path),
        "data": raw["data"].astype("string").str.strip().to_numpy(),
        "_row": raw.index.to_numpy()})
    notes = ["N is the nominal size in the file's num_params ('2.8B'; the paper counts "
             "2.81e9, 4.2465e9 and 8.67e9)",
             "D = token_num, tokens seen at that point; split not stated (the file does not say "
             "whether 'loss' is a training or validation loss), cross-entropy in nats",
             "extra columns: epochs (the run's nominal number of epochs, the file's 'epochs'), "
             "unique_tokens (the file's tokens_per_epoch = the run's total tokens / epochs) and "
             "data (c4 or oscar)",
             "the file's 'flops' is not read: it falls as tokens grow (flops x token_num is "
             "constant within a run), so it is not the compute",
             "datablations_contour_losses.csv (final losses of 229 C4 runs from the authors' "
             "fitting notebook, tokens_per_epoch wrong in every row) is a different set and is "
             "not read"]
    notes += _identical_curves(rows)
    return _finish("datablations", rows, notes, [])


# ---------------------------------------------------------------------------------------------
# LLM360 K2 and Mamba
# ---------------------------------------------------------------------------------------------
def _out_of_order(step: np.ndarray, labels: np.ndarray) -> list[str]:
    """Notes naming rows whose step lies outside its neighbours' ordered pair (a row out of
    place in a file sorted by step)."""
    before, after = np.r_[-np.inf, step[:-1]], np.r_[step[1:], np.inf]
    odd = np.flatnonzero(((step < before) | (step > after)) & (before <= after))
    return [f"line {int(labels[i]) + 2}: Step {step[i]:.0f} lies between Steps {before[i]:.0f} "
            f"and {after[i]:.0f} (out of order in the file; kept: D follows the row)" for i in odd]


def _k2_spread(step: np.ndarray, tokens: np.ndarray) -> float:
    """Largest gap between the file's tokens_seen and Step scaled to the same last value, as a
    fraction of the last value."""
    return float(np.max(np.abs(tokens - step / step[-1] * tokens[-1])) / tokens[-1])


def read_k2(paths: dict[str, Path]) -> pd.DataFrame:
    """LLM360's K2-65B (LLM360 2024): the training loss of the single run, as the collection
    aggregated it from W&B into aggregated_eval/K2.csv."""
    path = paths["k2"]
    raw = _read(path, _K2)
    step = _number(raw, "Step", path)
    tokens = _number(raw, "tokens_seen", path)
    rows = pd.DataFrame({
        "run": raw["model_name"].astype("string").str.strip().to_numpy(),
        "N": _sizes(raw["num_params"], path, "num_params"), "D": tokens, "step": step,
        "C": _number(raw, "flops", path), "loss": _number(raw, _K2_LOSS, path),
        "metric": _K2_LOSS, "split": "train", "unit": "nats", "_row": raw.index.to_numpy()})
    zero = tokens <= 0
    dropped = _dropped(rows, zero, [f"tokens_seen = {t:g}: the collection's interpolation "
                                    "starts at 0, though training had begun"
                                    for t in tokens[zero]])
    rows = rows[~zero]
    evals = [c for c in raw.columns if " eval" in str(c) and not str(c).endswith(_MIN_MAX)]
    empty = [c for c in raw.columns if raw[c].isna().all() and not str(c).endswith(_MIN_MAX)]
    notes = ["D = the file's tokens_seen: the collection spreads 1.4T tokens evenly over the "
             "rows (row i of n at i/(n-1) x 1.4T), not by Step; W&B's rows are not evenly "
             "spaced in Step, so D is approximate (it departs from Step x 1.4T / last Step by "
             f"up to {_k2_spread(step, tokens):.1%} of 1.4T)",
             "C = the file's flops = 6 x 65e9 x tokens_seen; N is the nominal size in "
             "num_params ('65B'); how it counts parameters is not stated",
             f"metric {_K2_LOSS!r}, the training loss (nats); its __MIN/__MAX columns repeat it",
             *_out_of_order(step, raw.index.to_numpy()),
             f"{len(evals)} downstream eval columns not read (accuracies in percent, not "
             f"losses); {len(empty)} columns are empty: {', '.join(map(repr, empty))}"]
    return _finish("k2", rows, notes, dropped)


def read_mamba3b(paths: dict[str, Path]) -> pd.DataFrame:
    """The Mamba-3B run of LLM360 (architecture: Gu & Dao 2023): training loss, learning rate
    and gradient norm every 4 steps, from the collection's llm360Mamba3B.csv."""
    path = paths["mamba3b"]
    raw = _read(path, _MAMBA)
    step = _number(raw, "step", path)
    rows = pd.DataFrame({
        "run": "LLM360-Mamba-3B", "N": _MAMBA_N, "D": step * (_MAMBA_TOKENS / _MAMBA_STEPS),
        "step": step, "loss": _number(raw, "loss", path), "metric": "loss", "split": "train",
        "lr": _number(raw, "lr", path), "grad_norm": _number(raw, "grad_norm", path),
        "_row": raw.index.to_numpy()})
    loss = rows["loss"].to_numpy()
    notes = ["N = 3e9: the file has no size column; '3B' is the collection's size for the run "
             "(how it counts parameters is not stated)",
             f"D = step x 500e9 / {_MAMBA_STEPS:,} (about "
             f"{_MAMBA_TOKENS / _MAMBA_STEPS / 1e6:.3g}M tokens per step): the collection's "
             "assumption that the run reached 500B tokens at that step",
             "loss is the training loss; the file does not state its unit (it runs from "
             f"{loss[0]:.3g} at step {step[0]:g} to a median of {np.median(loss[-_TAIL:]):.3g} "
             f"over the last {_TAIL} rows), so unit is left empty",
             "lr is the learning rate at each step; grad_norm (an extra column) the gradient "
             "norm"]
    return _finish("mamba3b", rows, notes, [])


# ---------------------------------------------------------------------------------------------
# registry
# ---------------------------------------------------------------------------------------------
def _remote(name: str, path: str, sha256: str) -> Remote:
    """A pinned file of IBM/ColPret at the collection's commit."""
    return Remote(name, f"{_COMMIT}/{path}", sha256)


def _cite(paper: str) -> str:
    """The runs' paper, then the collection."""
    return f"{paper}; {_COLLECTION}"


register(Dataset(
    name="olmo",
    files={"olmo": _remote("olmo", "aggregated_eval/olmo.csv",
                           "008a3a0ff6a6f0832ecbe6498e1720f17864f23ffda4a9ce3239bf2ceec0ad8a")},
    description="OLMo-1B, -7B and -7B-Twin-2T: validation cross-entropy on up to 31 eval sets "
                "every 1,000 steps (W&B)",
    licence=_LICENCE,
    citation=_cite("Groeneveld et al. (2024), OLMo: Accelerating the Science of Language Models"),
    parser=read_olmo))

register(Dataset(
    name="opt",
    files={"opt": _remote("opt", "aggregated_eval/opt_trajectories.csv",
                          "c3a53ccc7a412f0caff4179ce484acf1c2aab36b25677473658f094362449ff5")},
    description="OPT-125m to OPT-175b: validation perplexity (as nats) of 142 checkpoints",
    licence=_LICENCE,
    citation=_cite("Zhang et al. (2022), OPT: Open Pre-trained Transformer Language Models; "
                   "perplexities from Xia et al. (2023), Training Trajectories of Language "
                   "Models Across Scales"),
    parser=read_opt))

register(Dataset(
    name="gpt3",
    files={"gpt3": _remote("gpt3", "raw_data/gpt3/extracted.csv",
                           "ea73b550de60d8b278523fa69385df0c2892546f8820aea12b4d1fe2d4f98962")},
    description="GPT-3 125M to 175B: training and validation loss curves digitised from the "
                "paper's figure",
    licence=_LICENCE,
    citation=_cite("Brown et al. (2020), Language Models are Few-Shot Learners"),
    parser=read_gpt3))

register(Dataset(
    name="datablations",
    files={"datablations": _remote(
        "datablations", "aggregated_eval/datablations_losses.csv",
        "b3c448c2cd1a17128e06ee3120a9c377c4e2bf649e09b2446db59f98ef957b48")},
    description="Repeated-data runs: 2.8B-8.7B models on C4 or OSCAR, 1 to 44 epochs of fewer "
                "unique tokens (loss curves)",
    licence=_LICENCE,
    citation=_cite("Muennighoff et al. (2023), Scaling Data-Constrained Language Models"),
    parser=read_datablations))

register(Dataset(
    name="k2",
    files={"k2": _remote("k2", "aggregated_eval/K2.csv",
                         "2d059ca62595ff3d42a1c23a277344c685576b3da4d8e752ec944bf5b870dc39")},
    description="LLM360 K2-65B: training loss of one run over 1.4T tokens (W&B)",
    licence=_LICENCE,
    citation=_cite("LLM360 (2024), K2-65B (Liu et al. 2023, LLM360: Towards Fully Transparent "
                   "Open-Source LLMs)"),
    parser=read_k2))

register(Dataset(
    name="mamba3b",
    files={"mamba3b": _remote("mamba3b", "aggregated_eval/llm360Mamba3B.csv",
                              "58e7cc9a916f5a96bec2d6c18c2f3fd5e364184418d8fe1af519a1b0f7a9e6bb")},
    description="LLM360 Mamba-3B: training loss, learning rate and gradient norm every 4 steps "
                "of one run",
    licence=_LICENCE,
    citation=_cite("Gu & Dao (2023), Mamba: Linear-Time Sequence Modeling with Selective State "
                   "Spaces; the run is LLM360's (Liu et al. 2023, LLM360: Towards Fully "
                   "Transparent Open-Source LLMs)"),
    parser=read_mamba3b))
