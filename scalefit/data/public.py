"""Parsers of the registered public datasets (besides the Hitchhiker's Guide collection, in
``scalefit.data.colpret``), each into the tidy table of ``scalefit.data.tidy``.

Every dataset is registered here at import (``scalefit.data.datasets.load`` imports this module on
first use): its pinned files (path and full sha256), licence, citation, description, parser and
options. A parser receives the fetched files as ``{key: Path}`` and reads only those, so it can be
run on a copy. It refuses a file whose expected columns are absent ("the upstream format
changed"), text or empty cells where numbers belong, and lists every row it leaves out with a
reason in ``table.attrs["scalefit"]["dropped"]``.

Two upstream files are not plain tables and are read without running them: a pickle (through
:class:`RestrictedUnpickler`, which rebuilds numpy and pandas objects and nothing else) and a
Jupyter notebook whose losses are Python literals (through ``ast.literal_eval``, never exec).
"""

from __future__ import annotations

import ast
import importlib
import json
import pickle
import re
from pathlib import Path

import numpy as np
import pandas as pd

from scalefit.data import tidy
from scalefit.data.datasets import (_EPOCH_COLUMNS, _EPOCH_DROPPED, _EPOCH_REASON, DATASETS,
                                    Dataset, Remote, register)
from scalefit.data.table import read_table
from scalefit.errors import DataError

NONE_STATED = "none stated"


# --- shared readers -----------------------------------------------------------------------------

def _read_csv(path: Path, columns) -> pd.DataFrame:
    """A CSV's rows as read, refusing it when an expected column is absent: a pinned file whose
    columns differ means the upstream format changed, and a parser must not guess."""
    raw = read_table(path)
    _require_columns(raw.columns, columns, path)
    return raw


def _require_columns(present, columns, where) -> None:
    """Raises a DataError naming ``where`` and the absent ones among ``columns``."""
    present = [str(c) for c in present]
    missing = [c for c in columns if c not in present]
    if missing:
        raise DataError(f"{where}: expected columns {', '.join(map(repr, columns))} but "
                        f"{', '.join(map(repr, missing))} are absent (columns: "
                        f"{', '.join(present)}); the upstream format changed.")


def _num(raw: pd.DataFrame, column: str, where) -> np.ndarray:
    """A column as float64, refusing text (``tidy.numeric``) and empty cells: the pinned files
    have none, so an empty cell means a damaged or truncated copy."""
    values = tidy.numeric(raw[column], column, str(where))
    empty = np.flatnonzero(np.isnan(values))
    if len(empty):
        row = int(empty[0])
        raise DataError(f"{where}: column {column!r} is empty in row {row} (line {row + 2}); "
                        "the file is damaged or truncated: fetch it again.")
    return values


def _long(base: dict, metrics) -> pd.DataFrame:
    """Long form: one copy of the run columns ``base`` per metric, each copy with that metric's
    ``loss``, ``metric``, ``split`` and ``unit`` (``metrics``: (values, metric, split, unit))."""
    frames = [pd.DataFrame({**base, "loss": values, "metric": metric, "split": split,
                            "unit": unit}) for values, metric, split, unit in metrics]
    return pd.concat(frames, ignore_index=True)


def _row_names(prefix: str, n: int) -> list[str]:
    """Run names for a file without them: ``<prefix>/<row>``, the row's number in the file
    (file line = row + 2), so a name leads back to its line."""
    return [f"{prefix}/{i:03d}" for i in range(n)]


# --- Chinchilla (Epoch AI's replication) -------------------------------------------------------

def parse_chinchilla(paths: dict[str, Path], *, epoch_filter: bool = False) -> pd.DataFrame:
    """The 245 Chinchilla points Epoch AI read off Hoffmann et al. (2022)'s figure: one run per
    point, N, C, D = C/(6N) and the final loss (nats).

    Args:
        paths: ``{"csv": svg_extracted_data.csv}``.
        epoch_filter: drop the 5 highest losses, as Besiroglu et al. (2024) did (n = 240); the
            rows are listed as dropped.
    """
    path = paths["csv"]
    raw = _read_csv(path, _EPOCH_COLUMNS)
    n, c, loss = (_num(raw, col, path) for col in _EPOCH_COLUMNS)
    rows = pd.DataFrame({"run": _row_names("chinchilla", len(raw)), "N": n, "C": c,
                         "D": c / (6.0 * n), "loss": loss, "metric": "final loss",
                         "unit": "nats"})
    notes = ["D derived as C/(6N) from 'Training FLOP' and 'Model Size'",
             "run names are chinchilla/<row>, the point's row in the file (line = row + 2)"]
    dropped = []
    if epoch_filter:
        top = rows["loss"].nlargest(_EPOCH_DROPPED).index.sort_values()
        dropped = [{"line": int(i) + 2, "row": int(i), "reason": _EPOCH_REASON} for i in top]
        rows = rows.drop(index=top)
        notes.append(f"Epoch AI's filter: {_EPOCH_DROPPED} highest losses dropped "
                     f"(n = {len(rows)})")
    return tidy.make(rows, source="chinchilla", notes=notes, dropped=dropped)


register(Dataset(
    name="chinchilla",
    files={"csv": DATASETS["epoch-chinchilla"]},
    description="245 final losses of Chinchilla runs read off the paper's figure by Epoch AI: "
                "N, C, D = C/(6N), loss in nats",
    licence=NONE_STATED,
    citation="Hoffmann et al. 2022, Training Compute-Optimal Large Language Models; Besiroglu "
             "et al. 2024, Chinchilla Scaling: A replication attempt",
    parser=parse_chinchilla,
    options={"epoch_filter": "drop the 5 highest losses, as Epoch AI did (245 -> 240 points)"}))


# --- Farseer ------------------------------------------------------------------------------------

_FARSEER_COLUMNS = ("N", "D", "C", "L", "loss", "smooth loss", "lr", "bs", "seq_len", "ti",
                    "N_add_emb")


def _tokens_per_step(sequences, seq_len, steps, tokens, where, tolerance: float = 0.01):
    """Tokens per optimizer step from a batch size in sequences, after checking that
    sequences × seq_len × steps gives the file's tokens (within ``tolerance``): that check is
    what shows the file's batch size counts sequences, not tokens.

    Returns:
        (tokens per step, the largest relative mismatch of the check), for the notes.
    """
    ratio = tokens / (sequences * seq_len * steps)
    worst = float(np.max(np.abs(ratio - 1)))
    if worst > tolerance:
        raise DataError(f"{where}: D is not batch size × sequence length × steps (off by up to "
                        f"{worst:.1%}); the batch size's unit is unclear, so it is not "
                        "converted to tokens. The upstream format changed?")
    return sequences * seq_len, worst


def parse_farseer(paths: dict[str, Path], *, min_N: float | None = None) -> pd.DataFrame:
    """The 404 runs of Li et al. (2025, Farseer): N non-embedding, D, C, lr, batch size in
    tokens, and three metrics per run: the validation ``L`` (bits per character, the paper's
    target), the final training loss and its smoothed value (nats).

    Args:
        paths: ``{"csv": 1222_full.csv}``.
        min_N: drop runs with N below this (listed as dropped); None keeps all 404 (the paper
            fits N >= 2e8).
    """
    path = paths["csv"]
    raw = _read_csv(path, _FARSEER_COLUMNS)
    get = {c: _num(raw, c, path) for c in _FARSEER_COLUMNS}
    batch, off = _tokens_per_step(get["bs"], get["seq_len"], get["ti"], get["D"], path)
    base = {"run": _row_names("farseer", len(raw)), "N": get["N"],
            "N_convention": "non-embedding", "D": get["D"], "C": get["C"], "lr": get["lr"],
            "batch_size": batch, "N_add_emb": get["N_add_emb"]}
    keep = np.ones(len(raw), bool) if min_N is None else get["N"] >= min_N
    dropped = [{"line": int(i) + 2, "row": int(i), "reason": f"N = {get['N'][i]:.3g} is below "
                f"min_N = {min_N:.3g}"} for i in np.flatnonzero(~keep)]
    rows = _long(base, [(get["L"], "validation L", "validation", "bits per character"),
                        (get["loss"], "train loss", "train", "nats"),
                        (get["smooth loss"], "smoothed train loss", "train", "nats")])
    rows = rows[rows["run"].isin(np.asarray(base["run"])[keep])]
    notes = ["N is the non-embedding parameter count (the file's 'N'); 'N_add_emb' counts the "
             "embeddings too",
             "C is the file's 'C', about M·D (M the file's FLOPs per token), not 6ND",
             "'validation L' is the file's 'L', a weighted mean of the English validation sets "
             "in bits per character, the loss Li et al. 2025 fit; 'train loss' and 'smoothed "
             "train loss' are the file's 'loss' and 'smooth loss'",
             f"batch_size = bs × seq_len tokens: the file's bs counts sequences (bs × seq_len × "
             f"ti = D within {off:.1e})",
             "run names are farseer/<row>, the run's row in the file (line = row + 2)",
             *_farseer_duplicates(get)]
    if min_N is not None:
        notes.append(f"N < {min_N:.3g} left out: {len(dropped)} runs dropped "
                     f"(n = {int(keep.sum())})")
    return tidy.make(rows, source="farseer", notes=notes, dropped=dropped)


def _farseer_duplicates(get: dict) -> list[str]:
    """Notes naming each (N, D) that appears more than once, with the lines: both copies are
    kept, as the paper's file has them."""
    frame = pd.DataFrame({"N": get["N"], "D": get["D"]})
    twice = frame[frame.duplicated(["N", "D"], keep=False)]
    return [f"N = {n:.4g}, D = {d:.4g} appears on lines "
            f"{' and '.join(str(i + 2) for i in rows.index)}; all kept"
            for (n, d), rows in twice.groupby(["N", "D"], sort=False)]


register(Dataset(
    name="farseer",
    files={"csv": DATASETS["farseer"]},
    description="404 runs of the Farseer grid: N (non-embedding), D, C, lr, batch size; "
                "validation L (bits per character), training loss and smoothed loss (nats)",
    licence=NONE_STATED,
    citation="Li et al. 2025, Farseer: A Refined Scaling Law in Large Language Models",
    parser=parse_farseer,
    options={"min_N": "drop runs with N below this (the paper fits N >= 2e8); default: keep "
                      "all 404"}))


# --- Step Law -----------------------------------------------------------------------------------

_STEPLAW = "step-law/steplaw/32a8f4cc50247695fb56cc6c9117abdf67c97763/data/"
_STEPLAW_SEQ_LEN = 2048  # dense file has no seq_len column; D/(bs·ti) says 2048 (checked)
_STEPLAW_COLUMNS = ("exp_name", "N", "D", "lr", "bs", "ti", "loss", "smooth loss")
_STEPLAW_MOE_EXTRA = {"Na": "N_active", "topk": "topk", "nume": "experts"}


def _steplaw(path: Path, source: str, extra: dict[str, str]) -> pd.DataFrame:
    """One Step Law grid file: runs (``exp_name``), N non-embedding, D, lr, batch size in
    tokens, the final training loss and its smoothed value; diverged runs are kept."""
    raw = _read_csv(path, (*_STEPLAW_COLUMNS, *extra))
    get = {c: _num(raw, c, path) for c in (*_STEPLAW_COLUMNS[1:], *extra)}
    has_seq_len = "seq_len" in raw
    seq_len = _num(raw, "seq_len", path) if has_seq_len else _STEPLAW_SEQ_LEN
    batch, off = _tokens_per_step(get["bs"], seq_len, get["ti"], get["D"], path)
    base = {"run": raw["exp_name"].astype("string").to_numpy(), "N": get["N"],
            "N_convention": "non-embedding", "D": get["D"], "lr": get["lr"], "batch_size": batch,
            "bs_sequences": get["bs"], **{new: get[old] for old, new in extra.items()}}
    rows = _long(base, [(get["loss"], "train loss", "train", "nats"),
                        (get["smooth loss"], "smoothed train loss", "train", "nats")])
    length = ("the file's seq_len" if has_seq_len else
              f"{_STEPLAW_SEQ_LEN} (no seq_len column here; the MoE file's is {_STEPLAW_SEQ_LEN})")
    experts = ", all experts; 'N_active' counts those active per token" if extra else ""
    notes = [f"N is the non-embedding parameter count, the file's 'N' (attention and "
             f"feed-forward weights{experts})",
             f"batch_size = bs × {length} tokens per step: the file's bs counts sequences, since "
             f"bs × sequence length × ti = D within {off:.1e}; the file's bs is kept as "
             "'bs_sequences'",
             "'train loss' and 'smoothed train loss' are the file's 'loss' and 'smooth loss'",
             f"every run is kept, diverged ones too (the highest final loss is "
             f"{get['loss'].max():.4g}); a fit's own flagging handles them"]
    return tidy.make(rows, source=source, notes=notes)


def parse_steplaw_dense(paths: dict[str, Path]) -> pd.DataFrame:
    """The 1,911 dense runs of the Step Law learning-rate × batch-size grid."""
    return _steplaw(paths["csv"], "steplaw-dense", {})


def parse_steplaw_moe(paths: dict[str, Path]) -> pd.DataFrame:
    """The 708 mixture-of-experts runs of the Step Law grid; N counts all experts, the extra
    column ``N_active`` the parameters active per token (the file's ``Na``)."""
    return _steplaw(paths["csv"], "steplaw-moe", _STEPLAW_MOE_EXTRA)


_STEPLAW_CITATION = ("Li et al. 2025, Predictable Scale: Part I -- Optimal Hyperparameter "
                     "Scaling Law in Large Language Model Pretraining (Step Law)")
register(Dataset(
    name="steplaw-dense",
    files={"csv": Remote("steplaw-dense", _STEPLAW + "dense_lr_bs_loss.csv",
                         "9e46181076c04d450294d75dfe6f72adc416e231e154a07b337e378f9410002c")},
    description="1,911 dense runs over learning rate × batch size: N (non-embedding), D, lr, "
                "batch size (tokens), final and smoothed training loss (nats)",
    licence=NONE_STATED, citation=_STEPLAW_CITATION, parser=parse_steplaw_dense))
register(Dataset(
    name="steplaw-moe",
    files={"csv": Remote("steplaw-moe", _STEPLAW + "moe_lr_bs_loss.csv",
                         "653d585244a7b227423007e8b796bc16d76f6d24eb87b1919b8f048a91897b92")},
    description="708 mixture-of-experts runs over learning rate × batch size: N (non-embedding, "
                "all experts), active N, D, lr, batch size (tokens), final and smoothed "
                "training loss (nats)",
    licence=NONE_STATED, citation=_STEPLAW_CITATION, parser=parse_steplaw_moe))


# --- Multi-power-law curves ---------------------------------------------------------------------

_MPL = "thu-yao-01-luo/MultiPowerLaw/8da9f1902602f3391b971a811e3cc51604541769/loss_curve_repo/"
_MPL_SHA256 = {
    "25": {
        "constant_24000": "5a7c0b440751e258e7199eeefe9f0ae58520a2f2d64c5f81524d8d375f75f0ce",
        "constant_72000": "99ee51a9be7b7fb71511d0af28edd6bc6221350d2ad26a66c615467cb5c83247",
        "cosine_24000": "554e35f9efbe28a614c9ae1121b3bf55490df6b72a5898957f68a52770038e3a",
        "cosine_72000": "af3b25a485966a0f7fc34824774cf8ec85af14848a6dc7b64d6a8d3d044befa5",
        "wsd_20000_24000": "8649b7de4b4b31db5c35f4ff0458af9472a50168177de6372c3ceb37ace9fc62",
        "wsdcon_18": "9b9bd40f519d20ecbf540d4c9451f6a01b7b379b1d335407ba4651025cc5926f",
        "wsdcon_3": "3d37fcf82c237e5c1ba2ee34c4b9e606ecba781536d4fea9a7dde5463207fc3d",
        "wsdcon_9": "b7579f38b5e175d9e9dc9b9598b409efdf2cba0a68819857ba28649c242c2bd8",
        "wsdld_20000_24000": "8e3a9ae33ed586e5040a114fad215f4f245c6a2ff7d96f61cba02ccd8b74b3e7",
    },
    "100": {
        "constant_24000": "034a75e2415373a9be1097e9d406f98524344f4718d200d3a188dcbd5115103b",
        "constant_72000": "52b5752009e1e4c396f15016e98897238fccb3816f58576ea944f03fe529dbc3",
        "cosine_24000": "dd544dc61a11fa138c98ac0b673d5512287062d2d2d2e9c2867976abc8c46e69",
        "cosine_72000": "2e637203b48b3e3a84063f49035cde2f6a40c69ecd15d95b6551774b9a279f44",
        "wsd_20000_24000": "e66df98c85dba705ebc85512c6a09a8ebec5675878a20d4d783c0bf80d031002",
        "wsdcon_18": "33cfea673dc0efde9e4fd74cc47d8daabdebfdc6d5a2659835bd780347f6e651",
        "wsdcon_3": "a1cbb8c730ae0628d69bb1d7aefadbad5cda5f6a92272f85203cd33d7b8f4912",
        "wsdcon_9": "510256497a0ea9d4270919fb37c56140e1b4d07e50b96b46334891ba316f144e",
        "wsdld_20000_24000": "0ef6b02e260ff5efa51a5885655ead8cf126a7e9c4ea3034d403e11852c06fe2",
    },
    "400": {
        "constant_24000": "5d91536675592acdc40ea56f71ca24ee9026243e51a0a791ac25b631381c45ee",
        "constant_72000": "a453ef82f549470cc8250723917668801436dd835fd17bbf71e1fd77d00a3b6c",
        "cosine_24000": "aa18c9dbad66610d2037249bbcbf08fdce0983aa486b876ba95c2e3fb6fc0dce",
        "cosine_72000": "347acbdc80042cb7cfe0dcb28580a2780718ccbad23443d4de76821f0a1ab41e",
        "wsd_20000_24000": "8a56dbd8f6b553b42ca8b3f4be9822cf5b7458a6c1b7ae0ddc6ac57b2893dea7",
        "wsdcon_18": "998aaf3fd14de43fe754c7250885d7f72e20e7a210b1ea205a8af37ea8b22951",
        "wsdcon_3": "e1a896755ea1e1a6a4648a503be6a19eb62fc7ef12fbab3440a66f7a94197ac6",
        "wsdcon_9": "497aa4a60df8f520e11e212a990dcf70e8bfd89e814f295dc5476af630aac768",
        "wsdld_20000_24000": "7c5d5141d917955491732606e8817e7fdbd4bc2036e508e1610ab8bd252267dc",
    },
}
# The schedules as the repository describes them: linear warmup over 2,160 steps to 3e-4, cosine
# and WSD cooldowns to 3e-5, the two-stage "wsdcon_K" at K·1e-5 from step 8,000 to 16,000; written
# as scalefit.schedules spec strings, numbers as the project spells them.
_MPL_PEAK, _MPL_FLOOR, _MPL_WARMUP = "0.0003", "3e-5", 2160
_MPL_SPECS = {
    "constant": "constant:peak={peak},warmup={warmup},total={total}",
    "cosine": "cosine:peak={peak},floor={floor},warmup={warmup},total={total}",
    "wsd": "wsd:peak={peak},floor={floor},warmup={warmup},decay_start={start},total={total},"
           "shape=geometric",
    "wsdld": "wsd:peak={peak},floor={floor},warmup={warmup},decay_start={start},total={total},"
             "shape=linear",
    "wsdcon": "step:peak={peak},warmup={warmup},total=16000,boundaries=8000,values={value!r}",
}
_MPL_COLUMNS = ("step", "lr", "loss")


def _mpl_spec(name: str) -> str:
    """The spec string (``scalefit.schedules.parse`` reads it) of the schedule behind one curve,
    from its file name: ``constant_T``, ``cosine_T``, ``wsd_S_T``, ``wsdld_S_T``, ``wsdcon_K``."""
    kind, _, rest = name.partition("_")
    if kind not in _MPL_SPECS:
        raise DataError(f"multipower-curves: unknown schedule {name!r} in a file name; known "
                        f"kinds: {', '.join(_MPL_SPECS)}.")
    numbers = rest.split("_")
    fields = {"peak": _MPL_PEAK, "floor": _MPL_FLOOR, "warmup": _MPL_WARMUP,
              "total": numbers[-1], "start": numbers[0],
              "value": float(f"{numbers[0]}e-5") if kind == "wsdcon" else None}
    from scalefit.schedules import parse

    return str(parse(_MPL_SPECS[kind].format(**fields)))    # as scalefit writes specs


def _mpl_curve(key: str, path: Path) -> pd.DataFrame:
    """One curve file as rows of run ``<size>M/<schedule>``, nominal N from the folder's name,
    step, lr, training loss, and the spec string of the schedule behind it."""
    size, name = key.split("/")
    raw = _read_csv(path, _MPL_COLUMNS)
    step, lr, loss = (_num(raw, c, path) for c in _MPL_COLUMNS)
    return pd.DataFrame({"run": f"{size}M/{name}", "N": float(size) * 1e6, "step": step,
                         "loss": loss, "lr": lr, "schedule": _mpl_spec(name)})


def parse_multipower(paths: dict[str, Path]) -> pd.DataFrame:
    """The official multi-power-law curves (Luo et al. 2025): 9 schedules × 3 model sizes,
    training loss (nats) every 128 steps with the learning rate at each logged step."""
    curves = [_mpl_curve(key, path) for key, path in paths.items()]
    rows = pd.concat(curves, ignore_index=True).assign(metric="train loss", split="train",
                                                       unit="nats")
    gaps = [c["run"].iloc[0] for c in curves if set(np.diff(c["step"])) != {128}]
    notes = ["N is nominal, from the folder names (csv_25, csv_100, csv_400: 25M, 100M, 400M)",
             "lr is the file's: the rate at each logged step; 'schedule' holds the whole "
             "schedule's spec (scalefit.schedules.parse reads it), from the repository's "
             "description: warmup 2,160 steps to 3e-4, floor 3e-5",
             f"steps are 128 apart but for a few irregular gaps in {len(gaps)} runs "
             f"({', '.join(gaps)})"]
    return tidy.make(rows, source="multipower-curves", notes=notes)


register(Dataset(
    name="multipower-curves",
    files={f"{size}/{name}": Remote(f"multipower-curves/{size}M/{name}",
                                    f"{_MPL}csv_{size}/{name}.csv", sha)
           for size, by_name in _MPL_SHA256.items() for name, sha in by_name.items()},
    description="training-loss curves of 25M, 100M and 400M models under 9 learning-rate "
                "schedules each, every 128 steps: step, lr, loss (nats), schedule spec",
    licence="MIT",
    citation="Luo et al. 2025, A Multi-Power Law for Loss Curve Prediction Across Learning "
             "Rate Schedules",
    parser=parse_multipower))


# --- GPT-100M course runs (an upstream pickle, read with a restricted unpickler) ----------------

# Exactly the globals a pickled dict of DataFrames refers to (found by listing the pinned pickle's
# GLOBAL opcodes with pickletools.genops). numpy >= 2 moved numpy.core to numpy._core; pickles
# written by numpy 1 name the old module, so both spellings map to the same object.
_PICKLE_ALLOWED = {
    ("pandas.core.frame", "DataFrame"),
    ("pandas.core.internals.managers", "BlockManager"),
    ("pandas._libs.internals", "_unpickle_block"),
    ("pandas.core.indexes.base", "_new_Index"),
    ("pandas.core.indexes.base", "Index"),
    ("pandas.core.indexes.range", "RangeIndex"),
    ("numpy", "dtype"),
    ("numpy", "ndarray"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("builtins", "slice"),
}


class RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that rebuilds pandas DataFrames of numpy arrays and nothing else.

    Unpickling calls whatever function the file names, so a downloaded pickle could run any
    code; ``find_class`` hands out only the classes and functions in ``_PICKLE_ALLOWED`` and
    refuses every other one with a DataError naming it (``module.name``) before anything runs.
    """

    def __init__(self, file, where: str) -> None:
        super().__init__(file)
        self.where = where

    def find_class(self, module: str, name: str):
        """The allowed global ``module.name``; refuses any other."""
        canonical = re.sub(r"^numpy\.core\.", "numpy._core.", module)
        if (canonical, name) not in _PICKLE_ALLOWED:
            raise DataError(f"{self.where}: the pickle asks for {module}.{name}, which scalefit "
                            "refuses to load (only the numpy and pandas classes that rebuild a "
                            "DataFrame are allowed); the file is not the pinned one or was "
                            "tampered with.")
        return getattr(importlib.import_module(canonical), name)


def read_pickle(path: Path):
    """A pickle's object, rebuilt with :class:`RestrictedUnpickler` (never ``pickle.load``).

    Raises:
        DataError: the pickle refers to anything but the allowed numpy and pandas globals, or
            cannot be read (truncated, damaged).
    """
    with open(path, "rb") as f:
        try:
            return RestrictedUnpickler(f, str(path)).load()
        except DataError:
            raise
        except Exception as err:  # UnpicklingError, EOFError, ... from a damaged file
            raise DataError(f"{path}: cannot be unpickled ({type(err).__name__}: {err}); the "
                            "file is damaged or truncated, or was written by a pandas this one "
                            "cannot read.") from err


_GPT_KEY = re.compile(r"M:(?P<size>\d+)M_gpt_D:\d+B_scheduler:(?P<run>[^_]+)_rope")
_GPT_COLUMNS = ("step", "Metrics/loss", "lr")


def _gpt_run(key: str, frame, where: Path) -> pd.DataFrame:
    """One run of the pickle's dict: its name and nominal N from the key (e.g.
    ``M:100M_gpt_D:20B_scheduler:wsd_rope`` -> run ``wsd``, N = 1e8), step, lr, loss."""
    match = _GPT_KEY.fullmatch(str(key))
    if match is None or not isinstance(frame, pd.DataFrame):
        raise DataError(f"{where}: entry {key!r} is not a run named like "
                        "'M:100M_gpt_D:20B_scheduler:cosine_rope' holding a DataFrame; the "
                        "upstream format changed.")
    _require_columns(frame.columns, _GPT_COLUMNS, f"{where} (entry {key!r})")
    get = {c: _num(frame.reset_index(drop=True), c, f"{where} (entry {key!r})")
           for c in _GPT_COLUMNS}
    return pd.DataFrame({"run": match["run"], "N": float(match["size"]) * 1e6,
                         "step": get["step"], "loss": get["Metrics/loss"], "lr": get["lr"]})


def parse_gpt100m(paths: dict[str, Path]) -> pd.DataFrame:
    """The three GPT-100M course runs (cosine, wsd, 811 step schedules) as reproduced in
    zkshan2002/ScalingLaw: per-step training loss (nats) and learning rate."""
    path = paths["pickle"]
    runs = read_pickle(path)
    if not isinstance(runs, dict):
        raise DataError(f"{path}: expected a dict of DataFrames, found {type(runs).__name__}; "
                        "the upstream format changed.")
    rows = pd.concat([_gpt_run(k, v, path) for k, v in runs.items()], ignore_index=True)
    rows = rows.assign(metric="train loss", split="train", unit="nats")
    notes = ["read from the upstream pickle with a restricted unpickler (numpy and pandas "
             "classes only)",
             "run names and N (nominal) from the pickle's keys, e.g. "
             "'M:100M_gpt_D:20B_scheduler:wsd_rope' -> run 'wsd', N = 1e8",
             "the three runs share their batch order: per-step noise is ~0.999 correlated "
             "across runs, so compare block means (~100 steps), not raw steps"]
    return tidy.make(rows, source="gpt100m-schedules", notes=notes)


register(Dataset(
    name="gpt100m-schedules",
    files={"pickle": Remote(
        "gpt100m-schedules",
        "zkshan2002/ScalingLaw/879f3aae2a20ca53aacf3027ab5553a8e985e87b/data/gpt_loss+lrs.pkl",
        "673d8ba3e156a36ace0b60304e7f4bed14282882a8adf03790342580a7e31478")},
    description="three GPT-100M runs on 20B tokens under cosine, warmup-stable-decay and "
                "80-10-10 step schedules: per-step lr and training loss (nats)",
    licence=NONE_STATED,
    citation="a university course project's runs, as reproduced in zkshan2002/ScalingLaw "
             "(not from Luo et al. 2025)",
    parser=parse_gpt100m))


# --- Loss-to-loss sweep -------------------------------------------------------------------------

_L2L = "KempnerInstitute/loss-to-loss-notebooks/457ce81a019019bc3981937c20a70c52f5fad436/data/"
_L2L_SETS = ("c4", "fineweb_100b", "fineweb_1T", "fineweb_edu_100b", "proof_pile_2",
             "slimpajama", "smollm", "starcoder")
_L2L_RUN_COLUMNS = ("name", "params", "tokens", "iso_flop", "steps", "data", "n_layers",
                    "d_model")
_L2L_DOWNSTREAM = "eval/downstream_ce_loss/"


def _l2l_metrics(raw: pd.DataFrame, path: Path, downstream: bool):
    """(values, metric, split, unit) of the 8 validation cross-entropies and, with
    ``downstream``, of every ``eval/downstream_ce_loss/<task>_ce_loss`` column."""
    out = [(_num(raw, f"eval/{s}_val/CrossEntropyLoss", path), f"validation/{s} cross-entropy",
            "validation", "nats") for s in _L2L_SETS]
    if downstream:
        tasks = [c for c in map(str, raw.columns) if c.startswith(_L2L_DOWNSTREAM)]
        if not tasks:
            raise DataError(f"{path}: no {_L2L_DOWNSTREAM}* columns; the upstream format "
                            "changed.")
        out += [(_num(raw, c, path), f"downstream/{c[len(_L2L_DOWNSTREAM):-len('_ce_loss')]} "
                 "cross-entropy", "", "nats") for c in tasks]
    return out


def _l2l_file(path: Path, heldout: bool, downstream: bool) -> pd.DataFrame:
    """One loss-to-loss file in long form, its runs marked ``heldout``."""
    columns = (*_L2L_RUN_COLUMNS, *(f"eval/{s}_val/CrossEntropyLoss" for s in _L2L_SETS))
    raw = _read_csv(path, columns)
    get = {c: _num(raw, c, path) for c in _L2L_RUN_COLUMNS if c not in ("name", "data")}
    base = {"run": raw["name"].astype("string").to_numpy(), "N": get["params"],
            "N_convention": "with embeddings", "D": get["tokens"], "C": get["iso_flop"],
            "step": get["steps"], "data": raw["data"].astype("string").to_numpy(),
            "heldout": heldout, "n_layers": get["n_layers"], "d_model": get["d_model"]}
    return _long(base, _l2l_metrics(raw, path, downstream))


def parse_loss_to_loss(paths: dict[str, Path], *, downstream: bool = False) -> pd.DataFrame:
    """The loss-to-loss runs of Brandfonbrener et al. (2024): 529 sweep runs and the 6 held-out
    3.3B runs (``heldout`` True), 8 validation cross-entropies each (nats).

    Args:
        paths: ``{"sweep": sweep.csv, "extrapolation": extrapolation.csv}``.
        downstream: add the downstream-task cross-entropies as metrics too.
    """
    rows = pd.concat([_l2l_file(paths["sweep"], False, downstream),
                      _l2l_file(paths["extrapolation"], True, downstream)], ignore_index=True)
    notes = ["N is the file's 'params', which counts the embeddings; D its 'tokens' "
             "(= iso_flop/(6N)); C its 'iso_flop', the compute budget (its 'flops' column is "
             "not one); step its 'steps', the run's final step",
             f"'data' is the training set; 'heldout' marks the "
             f"{rows.loc[rows['heldout'], 'run'].nunique()} runs of extrapolation.csv, the "
             "extrapolation targets no upstream fit uses"]
    return tidy.make(rows, source="loss-to-loss", notes=notes)


register(Dataset(
    name="loss-to-loss",
    files={"sweep": Remote("loss-to-loss/sweep", _L2L + "sweep.csv",
                           "1a9fd71e3bd6ecf35bdd32b660a9b42dbb3b8635630b1a358633fa18d61fb13c"),
           "extrapolation": Remote(
               "loss-to-loss/extrapolation", _L2L + "extrapolation.csv",
               "2c7cecc44aa016464e2d4e42b339798eb899ec9d0d313f618dae8bd3ce0757b3")},
    description="529 runs on 6 training sets × 8 compute budgets (plus 6 held-out 3.3B runs): "
                "N (with embeddings), D, C, 8 validation cross-entropies (nats)",
    licence=NONE_STATED,
    citation="Brandfonbrener et al. 2024, Loss-to-Loss Prediction: Scaling Laws for All "
             "Datasets",
    parser=parse_loss_to_loss,
    options={"downstream": "also the downstream-task cross-entropies "
                           "(eval/downstream_ce_loss/*) as metrics"}))


# --- Data-constrained fit (losses typed into the upstream notebook) -----------------------------

_DB_HEADING = "Custom data loading with outliers removed"
_DB_NAMES = ("NAMES_TO_VAL_LOSSES", "PARAMS_MAP", "TOKENS_MAP")
_DB_UNITS = ("b", "m")


def _notebook_cell(path: Path) -> tuple[int, str]:
    """The code cell under the heading ``_DB_HEADING`` that assigns the losses: its index and
    source. Found by the heading, not by position, so an added cell does not shift it."""
    try:
        cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    except (ValueError, KeyError, TypeError) as err:
        raise DataError(f"{path}: not a readable Jupyter notebook ({err}).") from err
    text = ["".join(c.get("source", "")) for c in cells]
    heading = next((i for i, c in enumerate(cells)
                    if c.get("cell_type") == "markdown" and _DB_HEADING in text[i]), None)
    cell = None if heading is None else next(
        (i for i in range(heading + 1, len(cells))
         if cells[i].get("cell_type") == "code" and _DB_NAMES[0] in text[i]), None)
    if cell is None:
        raise DataError(f"{path}: no code cell assigning {_DB_NAMES[0]} under the heading "
                        f"{_DB_HEADING!r}; the upstream format changed.")
    return cell, text[cell]


def _literals(source: str, where: str) -> tuple[dict, dict]:
    """The dict literals ``_DB_NAMES`` assigned in a cell, read from its syntax tree with
    ``ast.literal_eval`` (never executed), and the source line of each loss's key."""
    try:
        tree = ast.parse(source)
    except SyntaxError as err:
        raise DataError(f"{where}: the cell is not Python ({err}).") from err
    found, lines = {}, {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1 and \
                isinstance(node.targets[0], ast.Name) and node.targets[0].id in _DB_NAMES:
            try:
                found[node.targets[0].id] = ast.literal_eval(node.value)
            except ValueError as err:
                raise DataError(f"{where}: {node.targets[0].id} is not a literal ({err}); the "
                                "upstream format changed.") from err
            if node.targets[0].id == _DB_NAMES[0]:
                lines = {ast.literal_eval(k): k.lineno for k in node.value.keys}
    missing = [n for n in _DB_NAMES if not isinstance(found.get(n), dict)]
    if missing:
        raise DataError(f"{where}: expected dicts {', '.join(_DB_NAMES)} but "
                        f"{', '.join(missing)} are absent; the upstream format changed.")
    return found, lines


def _size(code: str, tokens_map: dict, name: str, where: str) -> float:
    """A token count from its code, the notebook's rule: TOKENS_MAP, else billions with ``b``
    as the decimal point (``4b8`` = 4.8e9, ``12b`` = 12e9)."""
    if code in tokens_map:
        return tokens_map[code] * 1e9
    try:
        return float(code.replace("b", ".").strip(".")) * 1e9
    except ValueError:
        raise DataError(f"{where}: cannot read the token count {code!r} of run {name!r} "
                        "(not in TOKENS_MAP); the upstream format changed.") from None


def _decode(name: str, params_map: dict, tokens_map: dict, where: str):
    """(N, D, U_D) of a run name ``<params><tokens><unique tokens>`` by the notebook's rules:
    params the shortest prefix (of 2+ characters) in PARAMS_MAP; unique tokens the last 4
    characters (3 when the last ends in a digit after a unit letter), shortened until one unit
    letter is left; tokens the rest."""
    start = next((i for i in range(2, len(name) + 1) if name[:i] in params_map), None)
    if start is None:
        raise DataError(f"{where}: no prefix of run {name!r} is in PARAMS_MAP; the upstream "
                        "format changed.")
    end = -4 if name[-1] in _DB_UNITS or name[-2] not in _DB_UNITS else -3
    while any(name[end:].count(u) > 1 for u in _DB_UNITS):
        end += 1
    return (float(params_map[name[:start]]), _size(name[start:end], tokens_map, name, where),
            _size(name[end:], tokens_map, name, where))


def parse_data_constrained(paths: dict[str, Path]) -> pd.DataFrame:
    """The 182 C4 runs behind the data-constrained scaling fit of Muennighoff et al. (2023):
    N, D (tokens trained), ``unique_tokens`` (U_D) and the validation loss (nats), decoded from
    the notebook's dict literals. Losses of 0 (unfinished runs) and ``...dedup`` runs are left
    out, as the notebook does, and listed as dropped."""
    path = paths["notebook"]
    cell, source = _notebook_cell(path)
    where = f"{path} (cell {cell})"
    found, lines = _literals(source, where)
    losses, params_map, tokens_map = (found[n] for n in _DB_NAMES)
    rows, dropped = [], []
    for i, (name, loss) in enumerate(losses.items()):
        reason = ("loss 0: an unfinished run" if loss == 0 else
                  "a deduplicated-data run (name ends in 'dedup')" if name.endswith("dedup")
                  else None)
        if reason:
            dropped.append({"line": lines.get(name), "row": i,
                            "reason": f"{name}: {reason} (line = line of cell {cell})"})
            continue
        n, d, u = _decode(name, params_map, tokens_map, where)
        rows.append({"run": name, "N": n, "D": d, "unique_tokens": u, "loss": loss})
    notes = [f"read from cell {cell} of the notebook, under {_DB_HEADING!r}, with "
             "ast.literal_eval (the notebook is never run)",
             "names decoded by the notebook's rules; N is PARAMS_MAP's count for the name's "
             "nominal size label (e.g. '25m' -> 3.55e7)",
             f"{len(dropped)} of {len(losses)} entries left out (loss 0, or deduplicated data), "
             "as the notebook does"]
    table = pd.DataFrame(rows).assign(metric="validation/c4 cross-entropy", split="validation",
                                      unit="nats")
    return tidy.make(table, source="data-constrained", notes=notes, dropped=dropped)


register(Dataset(
    name="data-constrained",
    files={"notebook": Remote(
        "data-constrained",
        "huggingface/datablations/13701315b163f1c54642b94ad237b2699187c3ee/utils/"
        "parametric_fit.ipynb",
        "6c65d270e70c944a9ac90f5f1213a4584e1ff9d6d2781cd86900663f4ab17db9")},
    description="the 182 C4 runs of the data-constrained fit (repeated data, 1 to 9,000 "
                "epochs): N, D, unique tokens U_D, validation loss (nats)",
    licence="Apache-2.0",
    citation="Muennighoff et al. 2023, Scaling Data-Constrained Language Models",
    parser=parse_data_constrained))
