"""Pinned public datasets: a registry, a sha256-checked download into a cache, a local mirror.

``SCALEFIT_DATA_DIR`` points at an offline mirror laid out as
``<dir>/<owner>/<repo>/<commit>/<path>`` (the layout of raw.githubusercontent.com); when it is set
nothing is downloaded. Otherwise files are
downloaded once into :func:`cache_dir`, laid out the same way, and checked against their sha256.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
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
)}

_EPOCH_COLUMNS = ("Model Size", "Training FLOP", "loss")
_EPOCH_DROPPED = 5
_EPOCH_REASON = "among the 5 highest losses (Epoch AI's filter, Besiroglu et al. 2024)"


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
    if name_or_remote in DATASETS:
        return DATASETS[name_or_remote]
    close = difflib.get_close_matches(str(name_or_remote), list(DATASETS), n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise DataError(f"Unknown dataset {name_or_remote!r}.{hint} Known datasets: "
                    f"{', '.join(sorted(DATASETS))}.")


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


def _download(remote: Remote, url: str, target: Path) -> None:
    """Download ``url`` next to ``target``, check its sha256, then rename it into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(url, timeout=60) as response:
            shutil.copyfileobj(response, out)
        actual = _sha256(tmp)
        if actual != remote.sha256:
            raise DataError(f"dataset {remote.name!r}: the file downloaded from {url} has sha256 "
                            f"{actual}, expected {remote.sha256}; it was not kept.")
        os.replace(tmp, target)
    except (OSError, ValueError) as err:  # URLError, HTTPError, timeouts, a malformed URL
        tmp.unlink(missing_ok=True)
        if isinstance(err, DataError):
            raise
        raise DataError(f"could not download dataset {remote.name!r} from {url} ({err}). Offline? "
                        f"Set SCALEFIT_DATA_DIR to a mirror holding <dir>/{remote.path}.") from err
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def fetch(name_or_remote: str | Remote, *, url: str | None = None) -> Path:
    """The local path of a pinned dataset file, from the mirror, the cache, or a download.

    Args:
        name_or_remote: a name in :data:`DATASETS`, or a :class:`Remote`.
        url: download from here instead of ``remote.url`` (a mirror, or a ``file://`` URL).

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
    _download(remote, url or remote.url, target)
    return target


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
    path = fetch(remote)
    raw = read_table(path)
    missing = [c for c in _EPOCH_COLUMNS if c not in raw.columns]
    if missing:
        raise DataError(f"{path}: expected columns {', '.join(map(repr, _EPOCH_COLUMNS))} but "
                        f"{', '.join(map(repr, missing))} are absent (columns: "
                        f"{', '.join(map(str, raw.columns))}); the upstream format changed.")
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
