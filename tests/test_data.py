"""The data layer: input checks with exact messages, derivations, the Chinchilla loader, fetch."""

import hashlib
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalefit.data import (DATASETS, Dropped, Remote, Table, cache_dir, data_dir, fetch, prepare,
                           read_chinchilla, read_table)
from scalefit.errors import DataError

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "datasets"
EPOCH = DATASETS["epoch-chinchilla"]


@pytest.fixture
def mirror(monkeypatch):
    """SCALEFIT_DATA_DIR pointed at the shared mirror; skips when the mirror is absent."""
    if not (MIRROR / EPOCH.path).is_file():
        pytest.skip(f"dataset epoch-chinchilla not found in the mirror at {MIRROR / EPOCH.path}")
    monkeypatch.setenv("SCALEFIT_DATA_DIR", str(MIRROR))
    return MIRROR


@pytest.fixture
def runs():
    return pd.DataFrame({"N": [1e8, 2e8, 4e8, 8e8], "D": [2e9, 4e9, 8e9, 1.6e10],
                         "loss": [3.0, 2.8, 2.6, 2.4]})


def at(path):
    """A path or URL as a regular expression matching itself."""
    return re.escape(str(path))


def write(tmp_path, text, name="runs.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


# --- the Chinchilla points (Besiroglu et al. 2024) ---------------------------------------------

def test_read_chinchilla_has_245_points_with_d_from_c_over_6n(mirror):
    df = read_chinchilla()
    assert len(df) == 245
    assert list(df.columns) == ["N", "C", "D", "loss"]
    assert list(df.index) == list(range(245))
    np.testing.assert_allclose(df["D"], df["C"] / (6 * df["N"]), rtol=1e-15)
    raw = pd.read_csv(mirror / EPOCH.path)
    np.testing.assert_array_equal(df["N"], raw["Model Size"])
    np.testing.assert_array_equal(df["C"], raw["Training FLOP"])
    assert df.loc[0, "loss"] == pytest.approx(5.005581996196243)
    assert df.loc[244, "N"] == pytest.approx(6795614805.310381)
    meta = df.attrs["scalefit"]
    assert meta["source"] == f"epoch-chinchilla ({EPOCH.url})"
    assert meta["dropped"] == []
    assert meta["notes"] == ["D derived as C/(6N) from 'Training FLOP' and 'Model Size'"]


def test_epoch_filter_drops_the_5_highest_losses(mirror):
    full = read_chinchilla()
    df = read_chinchilla(epoch_filter=True)
    assert len(df) == 240
    dropped = df.attrs["scalefit"]["dropped"]
    rows = [d["row"] for d in dropped]
    assert sorted(rows) == sorted(full["loss"].nlargest(5).index)
    assert rows == [0, 1, 2, 3, 4]          # the five smallest-compute, largest-model points
    assert [d["line"] for d in dropped] == [r + 2 for r in rows]
    assert all("among the 5 highest losses (Epoch AI's filter" in d["reason"] for d in dropped)
    assert full.loc[rows, "loss"].min() > df["loss"].max()
    assert not set(rows) & set(df.index)
    assert "Epoch AI's filter: 5 highest losses dropped (n = 240)" in df.attrs["scalefit"]["notes"]


def test_prepare_carries_the_loaders_drops_and_notes(mirror):
    df = read_chinchilla(epoch_filter=True)
    before = json.dumps(df.attrs["scalefit"])
    table = prepare(df, ("N", "D"), n_free=5, law_name="chinchilla")
    assert table.n_points == 240
    assert table.source == f"epoch-chinchilla ({EPOCH.url})"
    assert [(d.line, d.row) for d in table.dropped] == [(i + 2, i) for i in range(5)]
    assert table.notes == tuple(df.attrs["scalefit"]["notes"])
    np.testing.assert_array_equal(table.loss, df["loss"].to_numpy())
    assert json.dumps(df.attrs["scalefit"]) == before
    summary = json.loads(json.dumps(table.summary()))
    assert summary["n_points"] == 240 and summary["n_dropped"] == 5
    assert summary["loss"]["max"] == pytest.approx(df["loss"].max())


def test_too_few_points_after_the_loaders_drops(mirror):
    df = read_chinchilla(epoch_filter=True).iloc[:4]
    with pytest.raises(DataError, match=r"^chinchilla has 5 free parameters but 4 points remain "
                       r"after dropping 5 rows; a fit needs more points than free parameters\.$"):
        prepare(df, ("N", "D"), n_free=5, law_name="chinchilla")


def test_the_data_layer_never_imports_jax():
    code = ("import sys, scalefit.data; bad = [m for m in sys.modules if m.split('.')[0] == 'jax' "
            "or m.startswith(('scalefit.core', 'scalefit.laws'))]; assert not bad, bad")
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True)


# --- fetch: mirror, cache, download -------------------------------------------------------------

def _source_file(tmp_path, payload=b"N,D,loss\n1,2,3\n"):
    src = tmp_path / "upstream.csv"
    src.write_bytes(payload)
    return src, Remote("toy", "owner/repo/abc123/data/toy.csv", hashlib.sha256(payload).hexdigest())


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.delenv("SCALEFIT_DATA_DIR", raising=False)
    monkeypatch.setenv("SCALEFIT_CACHE_DIR", str(tmp_path / "cache"))
    return tmp_path / "cache"


def test_fetch_downloads_verifies_and_then_uses_the_cache(tmp_path, cache):
    src, remote = _source_file(tmp_path)
    path = fetch(remote, url=src.as_uri())
    assert path == cache / "owner/repo/abc123/data/toy.csv"
    assert path.read_bytes() == src.read_bytes()
    src.unlink()                                         # a second call must not download
    assert fetch(remote, url=src.as_uri()) == path
    assert [p.name for p in cache.rglob("*") if p.is_file()] == ["toy.csv"]


def test_an_http_download_drives_the_command_lines_progress_bar(tmp_path, cache):
    """Over HTTP (a server on this machine), pooch reports the size and every chunk to the bar
    `scalefit data fetch` draws with rich; the file is checked and cached as ever."""
    import functools
    import http.server
    import threading

    from rich.console import Console
    from rich.progress import Progress

    from scalefit.cli import DownloadBar

    payload = b"N,D,loss\n" + b"1,2,3\n" * 5000
    src, remote = _source_file(tmp_path, payload)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        with Progress(console=Console(file=open(os.devnull, "w"))) as progress:
            task = progress.add_task("toy", total=None)
            bar = DownloadBar(progress, task)
            path = fetch(remote, url=f"http://127.0.0.1:{server.server_port}/{src.name}",
                         progressbar=bar)
            shown = progress.tasks[0]
    finally:
        server.shutdown()
    assert path.read_bytes() == payload
    assert bar.total == len(payload) and shown.total == len(payload)
    assert shown.completed == len(payload) and shown.finished


def test_fetch_refuses_a_wrong_digest_and_keeps_nothing(tmp_path, cache):
    src, remote = _source_file(tmp_path)
    wrong = Remote(remote.name, remote.path, "0" * 64)
    with pytest.raises(DataError, match=f"sha256 {remote.sha256}, expected {'0' * 64}.*not kept"):
        fetch(wrong, url=src.as_uri())
    assert not [p for p in cache.rglob("*") if p.is_file()]


def test_fetch_names_the_url_when_the_download_fails(tmp_path, cache):
    _, remote = _source_file(tmp_path)
    url = (tmp_path / "absent.csv").as_uri()
    with pytest.raises(DataError, match=rf"could not download dataset 'toy' from {at(url)} "
                                        r"\(.*\)\. Offline\? Set SCALEFIT_DATA_DIR"):
        fetch(remote, url=url)
    assert not [p for p in cache.rglob("*") if p.is_file()]


def test_fetch_never_downloads_when_the_mirror_lacks_the_file(tmp_path, monkeypatch):
    src, remote = _source_file(tmp_path)
    monkeypatch.setenv("SCALEFIT_DATA_DIR", str(tmp_path / "mirror"))
    monkeypatch.setenv("SCALEFIT_CACHE_DIR", str(tmp_path / "cache"))
    expected = tmp_path / "mirror" / remote.path
    with pytest.raises(DataError, match=rf"missing under SCALEFIT_DATA_DIR=.*{at(expected)}.*unset "
                                        r"SCALEFIT_DATA_DIR to download"):
        fetch(remote, url=src.as_uri())
    assert not (tmp_path / "cache").exists()


def test_fetch_checks_the_digest_in_the_mirror_too(tmp_path, monkeypatch):
    _, remote = _source_file(tmp_path)
    monkeypatch.setenv("SCALEFIT_DATA_DIR", str(tmp_path / "mirror"))
    target = tmp_path / "mirror" / remote.path
    target.parent.mkdir(parents=True)
    target.write_bytes(b"tampered")
    with pytest.raises(DataError, match=f"expected {remote.sha256}"):
        fetch(remote)
    target.write_bytes(b"N,D,loss\n1,2,3\n")
    assert fetch(remote) == target


def test_fetch_unknown_dataset_lists_the_known_ones():
    with pytest.raises(DataError, match=r"Unknown dataset 'epoch-chinchila'\. Did you mean "
                                        r"'epoch-chinchilla'\? Known datasets: .*epoch-chinchilla, "
                                        r".*farseer"):
        fetch("epoch-chinchila")


def test_directories_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.delenv("SCALEFIT_DATA_DIR", raising=False)
    monkeypatch.delenv("SCALEFIT_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert data_dir() is None
    assert cache_dir() == tmp_path / "scalefit"
    monkeypatch.setenv("SCALEFIT_CACHE_DIR", "~/sf-cache")
    assert cache_dir() == Path.home() / "sf-cache"
    assert EPOCH.url == ("https://raw.githubusercontent.com/epoch-research/analyzing-chinchilla/"
                         "92258837425e1b5f2851d624287f0120583a3d0e/data/svg_extracted_data.csv")


# --- prepare: values ----------------------------------------------------------------------------

def test_prepare_returns_float64_arrays_and_leaves_the_frame_alone(runs):
    before = runs.copy(deep=True)
    table = prepare(runs, ("N", "D"))
    assert isinstance(table, Table) and table.n_points == 4
    np.testing.assert_array_equal(table.inputs["N"], [1e8, 2e8, 4e8, 8e8])
    np.testing.assert_array_equal(table.loss, [3.0, 2.8, 2.6, 2.4])
    assert table.inputs["D"].dtype == np.float64 and table.weight is None
    assert table.source == "DataFrame" and table.dropped == () and table.notes == ()
    assert not table.loss.flags.writeable
    pd.testing.assert_frame_equal(runs, before)
    assert table.summary()["columns"] == {"N": "N", "D": "D", "loss": "loss"}


@pytest.mark.parametrize("column", ["loss", "N", "D"])
@pytest.mark.parametrize("bad, shown", [(np.nan, "nan"), (np.inf, "inf"), (0.0, "0"),
                                        (-1.2, "-1.2")])
def test_invalid_values_are_refused_with_row_value_and_fix(runs, column, bad, shown):
    runs.loc[2, column] = bad
    with pytest.raises(DataError, match=rf"^the DataFrame: column '{column}' must be positive and "
                       rf"finite; 1 of 4 rows is not \(row 2: {shown}\)\. Fix them, or pass "
                       r"drop_invalid=True to drop them \(fit\.dropped will list them\)\.$"):
        prepare(runs, ("N", "D"))


@pytest.mark.parametrize("column", ["loss", "N", "D"])
def test_drop_invalid_drops_and_lists_each_row(runs, column):
    runs.loc[1, column] = np.nan
    runs.loc[3, column] = -3.0
    table = prepare(runs, ("N", "D"), drop_invalid=True)
    assert table.n_points == 2
    np.testing.assert_array_equal(table.inputs["N"], [1e8, 4e8])
    assert table.dropped == (Dropped(None, 1, f"{column} is nan"),
                             Dropped(None, 3, f"{column} is -3 (must be positive)"))


def test_every_bad_column_is_reported_at_once(runs):
    runs.loc[0, "N"] = 0.0
    runs.loc[[1, 2], "loss"] = [np.nan, -np.inf]
    with pytest.raises(DataError, match=r"column 'N' must be positive and finite; 1 of 4 rows is "
                       r"not \(row 0: 0\); column 'loss' must be positive and finite; 2 of 4 rows "
                       r"are not \(row 1: nan, row 2: -inf\)\. Fix them"):
        prepare(runs, ("N", "D"))


def test_at_most_five_offending_rows_are_quoted():
    df = pd.DataFrame({"N": np.arange(1.0, 9.0), "loss": [-1.0] * 7 + [2.0]})
    with pytest.raises(DataError, match=r"7 of 8 rows are not \(row 0: -1, row 1: -1, row 2: -1, "
                                        r"row 3: -1, row 4: -1, \.\.\.\)"):
        prepare(df, ("N",))


def test_csv_lines_count_the_header_as_line_1(tmp_path):
    path = write(tmp_path, "N,D,loss\n1e8,2e9,3.0\n2e8,4e9,nan\n\n4e8,8e9,2.6\n8e8,-1,2.4\n"
                           "1e9,3e10,2.2\n")
    with pytest.raises(DataError, match=rf"^{at(path)}: column 'D' must be positive and finite; "
                       r"1 of 5 rows is not \(line 6: -1\); column 'loss' must be positive and "
                       r"finite; 1 of 5 rows is not \(line 3: nan\)\."):
        prepare(path, ("N", "D"))
    table = prepare(str(path), ("N", "D"), drop_invalid=True, n_free=2)
    assert table.source == str(path)
    assert table.dropped == (Dropped(3, 1, "loss is nan"),
                             Dropped(6, 4, "D is -1 (must be positive)"))
    np.testing.assert_array_equal(table.loss, [3.0, 2.6, 2.2])


def test_a_row_bad_in_two_columns_is_dropped_once_with_both_reasons(runs):
    runs.loc[0, ["N", "loss"]] = [np.inf, np.nan]
    table = prepare(runs, ("N", "D"), drop_invalid=True)
    assert table.dropped == (Dropped(None, 0, "N is inf (must be finite); loss is nan"),)


def test_weights_must_be_non_negative_and_finite(runs):
    runs["w"] = [1.0, -0.5, 2.0, 1.0]
    with pytest.raises(DataError, match=r"column 'w' must be non-negative and finite; 1 of 4 rows "
                                        r"is not \(row 1: -0\.5\)"):
        prepare(runs, ("N", "D"), weight="w")
    runs.loc[1, "w"] = 0.0
    np.testing.assert_array_equal(prepare(runs, ("N", "D"), weight="w").weight, [1, 0, 2, 1])
    runs["w"] = 0.0
    with pytest.raises(DataError, match="column 'w' has no positive weight"):
        prepare(runs, ("N", "D"), weight="w")


def test_a_weight_column_that_is_absent_is_named(runs):
    with pytest.raises(DataError, match=r"has no column 'weights' \(columns: N, D, loss\)"):
        prepare(runs, ("N", "D"), weight="weights")


# --- prepare: columns ---------------------------------------------------------------------------

def test_a_missing_column_lists_the_columns_and_the_mapping(tmp_path):
    path = write(tmp_path, "model_size,n_tokens,loss\n1e8,2e9,3.0\n")
    with pytest.raises(DataError, match=rf"^{at(path)} has no column 'N' \(columns: model_size, "
                       r"n_tokens, loss\)\. Map it with columns=\{\"N\": \"model_size\"\}, or "
                       r"--column N=model_size\.$"):
        prepare(path, ("N", "D"))


def test_a_missing_column_suggests_a_case_insensitive_match(runs):
    with pytest.raises(DataError, match=r"the DataFrame has no column 'N' \(columns: n, D, "
                                        r"loss\)\. Map it with columns=\{\"N\": \"n\"\}"):
        prepare(runs.rename(columns={"N": "n"}), ("N", "D"))


def test_columns_map_inputs_and_the_loss():
    df = pd.DataFrame({"model_size": [1e8, 2e8], "n_tokens": [2e9, 4e9], "val_loss": [3.0, 2.8]})
    mapping = {"N": "model_size", "D": "n_tokens", "loss": "val_loss"}
    table = prepare(df, ("N", "D"), columns=mapping)
    np.testing.assert_array_equal(table.inputs["D"], [2e9, 4e9])
    np.testing.assert_array_equal(table.loss, [3.0, 2.8])
    assert table.columns == {"N": "model_size", "D": "n_tokens", "loss": "val_loss"}
    assert prepare(df, ("N",), columns={"N": "model_size"}, loss="val_loss").loss[1] == 2.8


def test_a_mapping_to_an_absent_column_is_named(runs):
    with pytest.raises(DataError, match=r"no column 'model_sz' \(mapped from 'N' by columns=\)"):
        prepare(runs, ("N", "D"), columns={"N": "model_sz"})
    with pytest.raises(DataError, match=r"columns= maps 'n', which is not an input \(N, D\)"):
        prepare(runs, ("N", "D"), columns={"n": "N"})


def test_d_is_derived_from_c_and_n():
    df = pd.DataFrame({"flops": [6e17, 2.4e18], "N": [1e8, 2e8], "loss": [3.0, 2.8]})
    table = prepare(df, ("N", "D"), columns={"C": "flops"})
    np.testing.assert_allclose(table.inputs["D"], [1e9, 2e9], rtol=1e-15)
    assert table.notes == ("D derived as C/(6N) from columns 'flops' and 'N' (column 'D' absent)",)
    assert table.summary()["columns"]["D"] == "C/(6N)"


def test_c_is_derived_from_n_and_d(runs):
    table = prepare(runs, ("C",))
    np.testing.assert_allclose(table.inputs["C"], 6 * runs["N"] * runs["D"], rtol=1e-15)
    assert table.notes == ("C derived as 6·N·D from columns 'N' and 'D' (column 'C' absent)",)
    assert list(table.inputs) == ["C"]


def test_the_source_columns_are_checked_before_deriving():
    df = pd.DataFrame({"C": [6e17, -1.0, 2e18], "N": [1e8, 2e8, 3e8], "loss": [3.0, 2.9, 2.8]})
    with pytest.raises(DataError, match=r"column 'C' must be positive and finite; 1 of 3 rows is "
                                        r"not \(row 1: -1\)"):
        prepare(df, ("N", "D"))


def test_underivable_inputs_say_what_would_do(runs):
    with pytest.raises(DataError, match=r"has no column 'D' \(columns: N, loss\)\. It needs column "
                                        r"'D', or 'C' and 'N' to derive D = C/\(6N\)\."):
        prepare(runs.drop(columns="D"), ("N", "D"))


def test_a_non_numeric_column_names_the_first_bad_value(tmp_path, runs):
    path = write(tmp_path, "N,D,loss\n1e8,2e9,3.0\n2e8,4e9,2.8\nabout 4e8,8e9,2.6\n")
    with pytest.raises(DataError, match=rf"^{at(path)}: column 'N' must be numeric, but line 4 "
                                        r"holds 'about 4e8'"):
        prepare(path, ("N", "D"))
    runs["N"] = runs["N"].astype(str)
    with pytest.raises(DataError, match=r"column 'N' must be numeric, but row 0 holds "
                                        r"'100000000\.0'"):
        prepare(runs, ("N", "D"))


def test_nullable_integer_columns_are_numbers(runs):
    runs["N"] = pd.array([1, 2, 3, None], dtype="Int64")
    with pytest.raises(DataError, match=r"column 'N' must be positive and finite; 1 of 4 rows is "
                                        r"not \(row 3: nan\)"):
        prepare(runs, ("N", "D"))
    table = prepare(runs, ("N", "D"), drop_invalid=True)
    np.testing.assert_array_equal(table.inputs["N"], [1, 2, 3])


# --- prepare: counts and files ------------------------------------------------------------------

def test_too_few_points_names_the_law_and_the_count(runs):
    runs.loc[0, "loss"] = np.nan
    with pytest.raises(DataError, match=r"^chinchilla has 5 free parameters but 3 points remain "
                                        r"after dropping 1 row; a fit needs more points than free "
                                        r"parameters\.$"):
        prepare(runs, ("N", "D"), drop_invalid=True, n_free=5, law_name="chinchilla")
    with pytest.raises(DataError, match=r"^the law has 4 free parameters but 4 points remain;"):
        prepare(runs.fillna(1.0), ("N", "D"), n_free=4)


def test_an_empty_table_names_its_source(tmp_path, runs):
    with pytest.raises(DataError, match=r"^the DataFrame is empty: it has no rows to fit"):
        prepare(runs.iloc[:0], ("N", "D"))
    path = write(tmp_path, "N,D,loss\n")
    with pytest.raises(DataError, match=rf"^{at(path)} is empty: it has no rows to "
                                        r"fit \(columns: N, D, loss\)"):
        prepare(path, ("N", "D"))
    blank = write(tmp_path, "", "blank.csv")
    with pytest.raises(DataError, match=rf"^{at(blank)} is empty: no header and no rows"):
        prepare(blank, ("N", "D"))
    runs["loss"] = np.nan
    with pytest.raises(DataError, match=r"no rows remain after dropping 4 rows"):
        prepare(runs, ("N", "D"), drop_invalid=True)


def test_unknown_suffix_and_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"runs\.xlsx: unknown file type '\.xlsx'; scalefit reads "
                                        r"\.csv, \.tsv, \.txt and \.parquet, \.pq"):
        prepare(tmp_path / "runs.xlsx", ("N",))
    with pytest.raises(DataError, match=r"absent\.csv: no such file"):
        read_table(tmp_path / "absent.csv")


def test_an_unparseable_file_is_named(tmp_path):
    path = write(tmp_path, 'N,D,loss\n1,2,"3\n', "broken.csv")
    with pytest.raises(DataError, match=rf"^{at(path)}: cannot be read as a \.csv table"):
        read_table(path)


def test_a_row_longer_than_the_header_is_refused(tmp_path):
    path = write(tmp_path, "N,D,loss\n1,2,3,4,5\n")
    with pytest.raises(DataError, match=rf"^{at(path)}: cannot be read as a \.csv table"):
        read_table(path)


def test_parquet_without_pyarrow_says_what_to_install(tmp_path, monkeypatch):
    def no_pyarrow(*args, **kwargs):
        raise ImportError("Unable to find a usable engine")
    monkeypatch.setattr(pd, "read_parquet", no_pyarrow)
    (tmp_path / "runs.parquet").write_bytes(b"PAR1")
    with pytest.raises(DataError, match=r"runs\.parquet: reading Parquet needs pyarrow: "
                                        r"pip install pyarrow"):
        prepare(tmp_path / "runs.parquet", ("N", "D"))


def test_tsv_and_parquet_read_the_same_table(tmp_path, runs):
    tsv = write(tmp_path, runs.to_csv(sep="\t", index=False), "runs.tsv")
    np.testing.assert_array_equal(prepare(tsv, ("N", "D")).inputs["D"], runs["D"])
    pytest.importorskip("pyarrow")
    runs.loc[1, "loss"] = -2.0
    pq = tmp_path / "runs.parquet"
    runs.to_parquet(pq)
    table = prepare(pq, ("N", "D"), drop_invalid=True)
    assert table.dropped == (Dropped(None, 1, "loss is -2 (must be positive)"),)
    np.testing.assert_array_equal(read_table(pq)["N"], runs["N"])


def test_prepare_refuses_what_is_not_a_table():
    with pytest.raises(DataError, match="data must be a pandas DataFrame or a path"):
        prepare({"N": [1.0]}, ("N",))
