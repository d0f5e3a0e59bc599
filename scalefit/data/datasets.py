"""Pinned public datasets: a registry, a sha256-checked download into a cache, a local mirror.

``SCALEFIT_DATA_DIR`` points at an offline mirror laid out as
``<dir>/<owner>/<repo>/<commit>/<path>`` (the layout of raw.githubusercontent.com); when it is set
nothing is downloaded. Otherwise files are downloaded once into :func:`cache_dir`, laid out the
same way, and checked against their sha256 (by pooch: pinned URL, hash, cache).

Each registered :class:`Dataset` names its files, licence, citation and parser; ``load(name)``
returns its rows as the tidy table of ``scalefit.data.tidy``.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import shutil
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from scalefit.data.table import read_table
from scalefit.errors import DataError


@dataclass(frozen=True)
class Remote:
    """One pinned file: where it lives upstream and the digest it must have.

    Attributes:
        name: the dataset's name, e.g. "epoch-chinchilla".
        path: "<owner>/<repo>/<commit>/<path>", also its place in a mirror or the cache.
        sha256: the full 64-hex-digit sha256 of the file's bytes.
    """

    name: str
    path: str
    sha256: str

    @property
    def url(self) -> str:
        """The pinned raw.githubusercontent.com address."""
        return f"https://raw.githubusercontent.com/{self.path}"


DATASETS: dict[str, Remote] = {r.name: r for r in (
    Remote("epoch-chinchilla",
           "epoch-research/analyzing-chinchilla/92258837425e1b5f2851d624287f0120583a3d0e/"
           "data/svg_extracted_data.csv",
           "193478df4e90f040016431996c45682659306840ecdadf83cfb9cd5ca0aa1b30"),
    # Upstream publishes this file on the branch "main", not at a commit, so the path's third part
    # is "main" (as in the mirror); the sha256 is what pins the content.
    Remote("farseer",
           "Farseer-Scaling-Law/Farseer/main/ipynb/data/1222_full.csv",
           "e50df0fb1d00b39161408db23c929b8c89f021121cac350beed581b5c8719307"),
)}

_EPOCH_COLUMNS = ("Model Size", "Training FLOP", "loss")
_EPOCH_DROPPED = 5
_EPOCH_REASON = "among the 5 highest losses (Epoch AI's filter, Besiroglu et al. 2024)"

_FARSEER_COLUMNS = ("N", "D", "C", "L", "loss", "smooth loss", "N_add_emb")
_FARSEER_MIN_N = 2e8  # Li et al. (2025) leave N < 2e8 out of their fits
_FARSEER_BPC = "bits per character"
_FARSEER_EN = ("IntelliValSet_Raw|en|web-data", "IntelliValSet_Raw|en|paper",
               "IntelliValSet_Raw|en|book")  # L is a weighted mean of these three: same unit


def data_dir() -> Path | None:
    """The offline mirror, ``$SCALEFIT_DATA_DIR`` (``~`` expanded), or None when unset."""
    value = os.environ.get("SCALEFIT_DATA_DIR")
    return Path(value).expanduser() if value else None


def cache_dir() -> Path:
    """The download cache: ``$SCALEFIT_CACHE_DIR``, else ``$XDG_CACHE_HOME/scalefit``, else
    ``~/.cache/scalefit``."""
    if os.environ.get("SCALEFIT_CACHE_DIR"):
        return Path(os.environ["SCALEFIT_CACHE_DIR"]).expanduser()
    if os.environ.get("XDG_CACHE_HOME"):
        return Path(os.environ["XDG_CACHE_HOME"]).expanduser() / "scalefit"
    return Path.home() / ".cache" / "scalefit"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _remote(name_or_remote: str | Remote) -> Remote:
    if isinstance(name_or_remote, Remote):
        return name_or_remote
    _registry()                      # every registered dataset's files are in DATASETS
    if name_or_remote in DATASETS:
        return DATASETS[name_or_remote]
    raise _unknown(name_or_remote, DATASETS, ".")


def _unknown(name, known, tail: str) -> DataError:
    """The error for a dataset name not in ``known``: the closest match and every name."""
    close = difflib.get_close_matches(str(name), list(known), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return DataError(f"Unknown dataset {name!r}.{hint} Known datasets: "
                     f"{', '.join(sorted(known))}{tail}")


def _from_mirror(remote: Remote, mirror: Path) -> Path:
    path = mirror / remote.path
    if not path.is_file():
        raise DataError(f"dataset {remote.name!r} is missing under SCALEFIT_DATA_DIR={mirror}: no "
                        f"file {path}. Put the file there, or unset SCALEFIT_DATA_DIR to download "
                        f"it from {remote.url}.")
    actual = _sha256(path)
    if actual != remote.sha256:
        raise DataError(f"dataset {remote.name!r}: {path} (under SCALEFIT_DATA_DIR) has sha256 "
                        f"{actual}, expected {remote.sha256}. Replace it with the pinned file "
                        f"from {remote.url}.")
    return path


def _copy_file_url(url: str, output_file, pooch_obj=None) -> None:
    """pooch downloader for ``file://`` URLs (a local mirror given as a URL)."""
    from urllib.parse import unquote, urlparse

    with open(unquote(urlparse(url).path), "rb") as src:
        if isinstance(output_file, (str, os.PathLike)):
            with open(output_file, "wb") as out:
                shutil.copyfileobj(src, out)
        else:
            shutil.copyfileobj(src, output_file)


def _download(remote: Remote, url: str, target: Path, progressbar=None) -> None:
    """Downloads ``url`` to ``target`` with pooch, which checks the sha256 before keeping it;
    ``progressbar`` (pooch's protocol: ``total``, ``update``, ``reset``, ``close``) follows an
    HTTP download."""
    import pooch

    pooch.get_logger().setLevel("WARNING")       # no "Downloading ..." line on every fetch
    target.parent.mkdir(parents=True, exist_ok=True)
    downloader = (_copy_file_url if url.startswith("file://") else
                  pooch.HTTPDownloader(progressbar=progressbar) if progressbar is not None
                  else None)
    try:
        pooch.retrieve(url, known_hash=f"sha256:{remote.sha256}", fname=target.name,
                       path=target.parent, downloader=downloader, progressbar=False)
    except ValueError as err:         # pooch: the downloaded file's hash does not match
        if "hash" not in str(err).lower():
            raise DataError(f"could not download dataset {remote.name!r} from {url} ({err}).") \
                from err
        digests = [h for h in re.findall(r"[0-9a-f]{64}", str(err)) if h != remote.sha256]
        actual = digests[-1] if digests else "another"
        raise DataError(f"dataset {remote.name!r}: the file downloaded from {url} has sha256 "
                        f"{actual}, expected {remote.sha256}; it was not kept.") from None
    except Exception as err:  # network errors (requests), a malformed URL, a missing file
        raise DataError(f"could not download dataset {remote.name!r} from {url} ({err}). Offline? "
                        f"Set SCALEFIT_DATA_DIR to a mirror holding <dir>/{remote.path}.") from err


def fetch(name_or_remote: str | Remote, *, url: str | None = None, progressbar=None) -> Path:
    """The local path of a pinned dataset file, from the mirror, the cache, or a download.

    Args:
        name_or_remote: a name in :data:`DATASETS`, or a :class:`Remote`.
        url: download from here instead of ``remote.url`` (a mirror, or a ``file://`` URL).
        progressbar: a progress bar for an HTTP download, with pooch's protocol (a ``total``
            attribute; ``update(n)``, ``reset()``, ``close()``), e.g. the command line's.

    Returns:
        The file, its sha256 checked.

    Raises:
        DataError: an unknown name; a file missing under ``SCALEFIT_DATA_DIR`` (nothing is
            downloaded then); a sha256 mismatch; a failed download.
    """
    remote = _remote(name_or_remote)
    mirror = data_dir()
    if mirror is not None:
        return _from_mirror(remote, mirror)
    target = cache_dir() / remote.path
    if target.is_file() and _sha256(target) == remote.sha256:
        return target
    _download(remote, url or remote.url, target, progressbar)
    return target


def _read_checked(remote: Remote, columns: tuple[str, ...]) -> tuple[pd.DataFrame, Path]:
    """Fetches a pinned file and reads it, refusing it when an expected column is absent;
    returns the rows and the local path."""
    path = fetch(remote)
    raw = read_table(path)
    missing = [c for c in columns if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: expected columns {', '.join(map(repr, columns))} but "
                        f"{', '.join(map(repr, missing))} are absent (columns: "
                        f"{', '.join(map(str, raw.columns))}); the upstream format changed.")
    return raw, path


def read_chinchilla(*, epoch_filter: bool = False) -> pd.DataFrame:
    """The Chinchilla runs as Epoch AI read them off a figure of Hoffmann et al. (2022).

    Besiroglu et al. (2024, "Chinchilla Scaling: A replication attempt") extracted 245 final losses
    from the paper's figure; model size N and training compute C are given, and the tokens are
    D = C/(6N). For their refit they drop the 5 points with the highest loss, leaving n = 240;
    ``epoch_filter=True`` does the same and lists those rows in ``df.attrs["scalefit"]["dropped"]``.

    Args:
        epoch_filter: drop the 5 highest losses, as Epoch AI did.

    Returns:
        Columns N (parameters), C (FLOP), D (tokens, C/(6N)), loss (nats per token), indexed by
        the row's number in the file (0..244; file line = index + 2). ``df.attrs["scalefit"]``
        holds the source, the dropped rows and notes, which :func:`prepare` carries on.

    Raises:
        DataError: the file cannot be fetched, or its columns are not the expected ones.
    """
    remote = DATASETS["epoch-chinchilla"]
    raw, _ = _read_checked(remote, _EPOCH_COLUMNS)
    df = pd.DataFrame({"N": raw["Model Size"].astype("float64"),
                       "C": raw["Training FLOP"].astype("float64")}, index=raw.index)
    df["D"] = df["C"] / (6.0 * df["N"])
    df["loss"] = raw["loss"].astype("float64")
    notes = ["D derived as C/(6N) from 'Training FLOP' and 'Model Size'"]
    dropped = []
    if epoch_filter:
        top = df["loss"].nlargest(_EPOCH_DROPPED).index.sort_values()
        dropped = [{"line": int(i) + 2, "row": int(i), "reason": _EPOCH_REASON} for i in top]
        df = df.drop(index=top)
        notes.append(f"Epoch AI's filter: {_EPOCH_DROPPED} highest losses dropped (n = {len(df)})")
    df.attrs["scalefit"] = {"source": f"epoch-chinchilla ({remote.url})", "dropped": dropped,
                            "notes": notes}
    return df


def _farseer_target(target: str, validation: list[str],
                    path: Path) -> tuple[str, str, str | None]:
    """The file's column for ``target``, words for it in a note, and its unit (None: unknown)."""
    if target in ("loss", "train_loss"):
        return "loss", "the training loss (the file's 'loss', kept as 'train_loss')", "nats"
    if target == "smooth loss":
        return target, "column 'smooth loss', the smoothed training loss", "nats"
    if target == "L":
        return target, "column 'L', the validation loss Li et al. 2025 fit", _FARSEER_BPC
    if target in _FARSEER_EN and target in validation:
        words = (f"column {target!r}, a validation loss (L is a weighted mean of the three "
                 f"'IntelliValSet_Raw|en|...' columns, so they share its unit)")
        return target, words, _FARSEER_BPC
    if target in validation:
        words = f"column {target!r}, a validation loss; the file does not state its unit"
        return target, words, None
    choices = ["L", *[c for c in validation if c != "L"], "train_loss", "smooth loss"]
    close = difflib.get_close_matches(str(target), choices, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DataError(f"{path}: unknown target {target!r}.{hint} Choose one of "
                    f"{', '.join(map(repr, choices))} ('loss' also means the training loss).")


def read_farseer(*, target: str = "L", min_N: float | None = _FARSEER_MIN_N) -> pd.DataFrame:
    """The Farseer grid of Li et al. (2025, "Farseer: A Refined Scaling Law in Large Language
    Models"): 404 runs, 25 model sizes from 9.96e7 to 6.37e9, D = 1e9·√2^k tokens up to 5.12e11.

    N is the non-embedding parameter count (the file's ``N``, the paper's convention; ``N_add_emb``
    counts the embeddings too). The paper fits the validation bits per character ``L`` and leaves
    N < 2e8 out; by default so does this. The file's ``D/N`` (and ``new_D/N``) columns are not
    D/N, so ``D/N`` is recomputed. Four (N, D) pairs appear twice; both copies are kept and named
    in the notes.

    Args:
        target: the column returned as ``loss``: ``"L"`` (the default), any ``IntelliValSet...``
            column, ``"train_loss"`` (or ``"loss"``) for the training loss, or ``"smooth loss"``.
        min_N: drop runs with N below this (listed in ``df.attrs["scalefit"]["dropped"]``); None
            keeps all 404. Runs without a value of ``target`` are dropped too, and listed.

    Returns:
        Columns N (non-embedding parameters), D (tokens), C (the file's FLOP, about M·D, not
        6ND), D/N, loss (``target``), N_add_emb (parameters with embeddings), then every
        validation column (``L``, the ``IntelliValSet...`` ones), ``train_loss`` (the file's
        training ``loss``, nats) and ``smooth loss``, so another target can be fitted with
        ``columns={"loss": ...}``; all float64, indexed by the row's number in the file (0..403;
        file line = index + 2). ``df.attrs["scalefit"]`` holds the source, the dropped rows,
        notes and, where known, the loss's ``unit``, which :func:`prepare` carries on.

    Raises:
        DataError: the file cannot be fetched, its columns are not the expected ones, or
            ``target`` is not one of its loss columns.
    """
    remote = DATASETS["farseer"]
    raw, path = _read_checked(remote, _FARSEER_COLUMNS)
    validation = ["L", *[str(c) for c in raw.columns if str(c).startswith("IntelliValSet")]]
    column, words, unit = _farseer_target(target, validation, path)
    df = pd.DataFrame({"N": raw["N"].astype("float64"), "D": raw["D"].astype("float64"),
                       "C": raw["C"].astype("float64")}, index=raw.index)
    df["D/N"] = df["D"] / df["N"]
    df["loss"] = raw[column].astype("float64")
    df["N_add_emb"] = raw["N_add_emb"].astype("float64")
    for c in validation:
        df[c] = raw[c].astype("float64")
    df["train_loss"] = raw["loss"].astype("float64")
    df["smooth loss"] = raw["smooth loss"].astype("float64")
    unit_words = f", in {unit}" if unit else ""
    notes = [("N is the non-embedding parameter count (column 'N', as Li et al. 2025 count it); "
              "'N_add_emb' counts the embeddings too"),
             "D/N recomputed as D/N: the file's 'D/N' and 'new_D/N' columns are not D/N",
             "C is the file's 'C', about M·D (M the file's FLOPs per token), not 6ND",
             f"loss is {words}{unit_words}"]
    dropped = []
    if min_N is not None:
        low = df.index[df["N"] < min_N]
        rule = " (Li et al. 2025 leave N < 2e8 out)" if min_N == _FARSEER_MIN_N else " (min_N)"
        dropped += [{"line": int(i) + 2, "row": int(i),
                     "reason": f"N = {df.at[i, 'N']:.3g} is below {min_N:.3g}{rule}"} for i in low]
        df = df.drop(index=low)
        notes.append(f"N < {min_N:.3g} left out{rule}: {len(low)} runs dropped (n = {len(df)})")
    absent = df.index[df["loss"].isna()]
    if len(absent):
        n_have = int(raw[column].notna().sum())
        dropped += [{"line": int(i) + 2, "row": int(i),
                     "reason": f"{column!r} is missing (the file has it for {n_have} of "
                               f"{len(raw)} runs)"} for i in absent]
        df = df.drop(index=absent)
        notes.append(f"{len(absent)} runs without {column!r} dropped (n = {len(df)})")
    pairs = df[df.duplicated(["N", "D"], keep=False)].groupby(["N", "D"], sort=False)
    for (n, d), rows in pairs:
        lines = " and ".join(str(int(i) + 2) for i in rows.index)
        copies = raw.loc[rows.index]
        differ = [str(c) for c in raw.columns if copies[c].nunique(dropna=False) > 1]
        how = f"identical but for the file's {' and '.join(map(repr, differ))}" if differ else ""
        count, kept = ("twice", "both") if len(rows) == 2 else (f"{len(rows)} times", "all")
        notes.append(f"N = {n:.3g}, D = {d:.3g} appears {count}, on lines {lines} "
                     f"({how or 'identical'}); {kept} kept")
    meta = {"source": f"farseer ({remote.url})", "dropped": dropped, "notes": notes}
    if unit is not None:
        meta["unit"] = unit
    df.attrs["scalefit"] = meta
    return df


@dataclass(frozen=True)
class Dataset:
    """A registered public dataset: its pinned files, terms of use and parser.

    Attributes:
        name: the name ``load`` and ``scalefit data`` take, e.g. "chinchilla".
        files: key -> pinned file (``Remote``); the parser receives key -> local path.
        description: one line on what the rows are.
        licence: the upstream licence, or "none stated".
        citation: the paper (authors, year, title) to cite.
        parser: (paths, **options) -> rows as a tidy table (``scalefit.data.tidy.make``).
        options: the parser's options, name -> what it does (for ``scalefit data show``).
    """

    name: str
    files: Mapping[str, Remote]
    description: str
    licence: str
    citation: str
    parser: Callable = field(repr=False)
    options: Mapping[str, str] = field(default_factory=dict)


REGISTRY: dict[str, Dataset] = {}


def register(dataset: Dataset) -> Dataset:
    """Adds a dataset to the registry (its files to ``DATASETS`` too); returns it."""
    REGISTRY[dataset.name] = dataset
    for remote in dataset.files.values():
        DATASETS.setdefault(remote.name, remote)
    return dataset


def _registry() -> dict[str, Dataset]:
    """The registry, with every parser module imported (they register on import)."""
    import importlib

    for module in _PARSER_MODULES:
        importlib.import_module(module)
    return REGISTRY


_PARSER_MODULES = ("scalefit.data.public", "scalefit.data.colpret")


def dataset(name: str) -> Dataset:
    """The registered dataset called ``name``.

    Raises:
        DataError: an unknown name, with the closest match and the names known.
    """
    known = _registry()
    if name in known:
        return known[name]
    raise _unknown(name, known, " (scalefit data list).")


def fetch_dataset(name: str, progress=None) -> dict[str, Path]:
    """Fetches every file of a registered dataset (mirror, cache or download); key -> path.
    ``progress(remote)``, when given, returns the progress bar for one file (see ``fetch``)."""
    return {key: fetch(remote, progressbar=None if progress is None else progress(remote))
            for key, remote in dataset(name).files.items()}


def load(name: str, **options) -> pd.DataFrame:
    """A registered public dataset as a tidy table (``scalefit.data.tidy``).

    Args:
        name: a name from ``scalefit.data.REGISTRY`` (``scalefit data list``).
        options: the dataset's parser options (``Dataset.options``).

    Raises:
        DataError: an unknown dataset or option, a file that cannot be fetched or fails its
            sha256, or a file whose format is not the expected one.
    """
    ds = dataset(name)
    unknown = sorted(set(options) - set(ds.options))
    if unknown:
        allowed = ", ".join(ds.options) or "none"
        raise DataError(f"dataset {name!r} has no option {unknown[0]!r} (options: {allowed}).")
    return ds.parser(fetch_dataset(name), **options)
