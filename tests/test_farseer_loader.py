"""The Farseer loader: Li et al. (2025)'s grid of 404 runs, read through the pinned registry entry.

Every count below is checked against a direct pandas read of the mirrored CSV.
"""

import hashlib
import json
import os
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import scalefit
from conftest import requires_dataset
from scalefit.data import DATASETS, fetch, prepare, read_farseer
from scalefit.errors import DataError

FARSEER = "Farseer-Scaling-Law/Farseer/main/ipynb/data/1222_full.csv"
REMOTE = DATASETS["farseer"]
DUPLICATES = [(181, 339), (201, 344), (235, 366), (273, 371)]   # file lines of each (N, D) pair
EN_RAW = ["IntelliValSet_Raw|en|web-data", "IntelliValSet_Raw|en|paper",
          "IntelliValSet_Raw|en|book"]

@pytest.fixture(scope="module")
def raw():
    return pd.read_csv(Path(os.environ["SCALEFIT_DATA_DIR"]) / FARSEER)


@requires_dataset(FARSEER)
def test_the_registry_pins_the_mirrored_file():
    assert REMOTE.path == FARSEER
    assert REMOTE.url == f"https://raw.githubusercontent.com/{FARSEER}"
    path = scalefit.data.fetch(DATASETS["farseer"])
    assert path == Path(os.environ["SCALEFIT_DATA_DIR"]) / FARSEER
    assert hashlib.sha256(path.read_bytes()).hexdigest() == REMOTE.sha256
    assert fetch("farseer") == path


@requires_dataset(FARSEER)
def test_all_404_runs_and_25_sizes_with_min_n_none(raw):
    df = read_farseer(min_N=None)
    assert len(df) == len(raw) == 404
    assert list(df.index) == list(range(404))
    assert df["N"].nunique() == 25
    assert df["N"].min() == pytest.approx(9.96e7, rel=1e-3)
    assert df["N"].max() == pytest.approx(6.37e9, rel=1e-3)
    assert df["D"].max() == pytest.approx(5.12e11, rel=1e-3)
    assert list(df.columns[:6]) == ["N", "D", "C", "D/N", "loss", "N_add_emb"]
    assert {"L", "train_loss", "smooth loss", *EN_RAW} <= set(df.columns)
    assert all(df[c].dtype == np.float64 for c in df.columns)
    np.testing.assert_array_equal(df["N"], raw["N"])
    np.testing.assert_array_equal(df["D"], raw["D"])
    np.testing.assert_array_equal(df["C"], raw["C"])
    np.testing.assert_array_equal(df["N_add_emb"], raw["N_add_emb"])
    assert (df["N_add_emb"] > df["N"]).all()
    meta = df.attrs["scalefit"]
    assert meta["source"] == f"farseer ({REMOTE.url})"
    assert meta["dropped"] == []


@requires_dataset(FARSEER)
def test_default_drops_the_runs_below_2e8_each_with_its_line(raw):
    df = read_farseer()
    below = raw.index[raw["N"] < 2e8]
    assert len(below) == 63                              # sizes 9.96e7, 1.18e8, 1.41e8, 1.67e8
    assert len(df) == len(raw) - len(below) == 341
    assert df["N"].min() > 2e8 and df["N"].nunique() == 21
    dropped = df.attrs["scalefit"]["dropped"]
    assert [d["row"] for d in dropped] == list(below)
    assert [d["line"] for d in dropped] == [r + 2 for r in below]
    assert not set(below) & set(df.index)
    for d in dropped:
        n = raw.at[d["row"], "N"]
        assert d["reason"] == f"N = {n:.3g} is below 2e+08 (Li et al. 2025 leave N < 2e8 out)"
    assert dropped[0]["reason"] == "N = 9.96e+07 is below 2e+08 (Li et al. 2025 leave N < 2e8 out)"
    notes = df.attrs["scalefit"]["notes"]
    assert "N < 2e+08 left out (Li et al. 2025 leave N < 2e8 out): 63 runs dropped (n = 341)" in notes


@requires_dataset(FARSEER)
def test_loss_is_the_files_l_in_bits_per_character(raw):
    df = read_farseer(min_N=None)
    np.testing.assert_array_equal(df["loss"], raw["L"])
    np.testing.assert_array_equal(df["L"], raw["L"])
    np.testing.assert_array_equal(df["train_loss"], raw["loss"])
    meta = df.attrs["scalefit"]
    assert meta["unit"] == "bits per character"
    assert ("loss is column 'L', the validation loss Li et al. 2025 fit, in bits per character"
            in meta["notes"])
    assert any("non-embedding" in n and "'N_add_emb'" in n for n in meta["notes"])


@requires_dataset(FARSEER)
def test_d_over_n_is_recomputed_not_the_files_column(raw):
    df = read_farseer(min_N=None)
    np.testing.assert_allclose(df["D/N"], raw["D"] / raw["N"], rtol=1e-15)
    assert not np.allclose(df["D/N"], raw["D/N"], rtol=1e-3)
    assert not np.allclose(df["D/N"], raw["new_D/N"], rtol=1e-3)
    assert ("D/N recomputed as D/N: the file's 'D/N' and 'new_D/N' columns are not D/N"
            in df.attrs["scalefit"]["notes"])


@requires_dataset(FARSEER)
def test_c_is_the_files_about_m_times_d_not_6nd(raw):
    df = read_farseer(min_N=None)
    np.testing.assert_allclose(df["C"], raw["M"] * raw["D"], rtol=5e-3)
    ratio = df["C"] / (6 * df["N"] * df["D"])
    assert ratio.min() > 1.09 and ratio.max() < 1.42
    assert any(n.startswith("C is the file's 'C', about M·D") for n in df.attrs["scalefit"]["notes"])


@requires_dataset(FARSEER)
def test_the_4_duplicated_pairs_are_kept_and_named(raw):
    pairs = raw[raw.duplicated(["N", "D"], keep=False)].groupby(["N", "D"]).groups
    assert sorted(tuple(int(i) + 2 for i in rows) for rows in pairs.values()) == DUPLICATES
    df = read_farseer()
    notes = [n for n in df.attrs["scalefit"]["notes"] if "appears twice" in n]
    assert len(notes) == 4
    for (a, b), note in zip(DUPLICATES, notes):
        assert a - 2 in df.index and b - 2 in df.index
        assert f"on lines {a} and {b} (identical but for the file's 'D/N' and 'new_D/N')" in note
        assert note.endswith("both kept")
    assert notes[0] == ("N = 6.37e+09, D = 3.2e+10 appears twice, on lines 181 and 339 (identical "
                        "but for the file's 'D/N' and 'new_D/N'); both kept")


@requires_dataset(FARSEER)
@pytest.mark.parametrize("target", ["train_loss", "loss"])
def test_training_loss_target_is_in_nats(raw, target):
    df = read_farseer(target=target, min_N=None)
    np.testing.assert_array_equal(df["loss"], raw["loss"])
    np.testing.assert_array_equal(df["L"], raw["L"])
    meta = df.attrs["scalefit"]
    assert meta["unit"] == "nats"
    assert ("loss is the training loss (the file's 'loss', kept as 'train_loss'), in nats"
            in meta["notes"])


@requires_dataset(FARSEER)
def test_english_raw_columns_share_ls_unit_and_others_have_none(raw):
    weights, *_ = np.linalg.lstsq(raw[EN_RAW].to_numpy(), raw["L"].to_numpy(), rcond=None)
    assert weights.sum() == pytest.approx(1, abs=1e-3) and (weights > 0.3).all()
    np.testing.assert_allclose(raw[EN_RAW].to_numpy() @ weights, raw["L"], atol=1e-7)
    for col in EN_RAW:
        df = read_farseer(target=col)
        np.testing.assert_array_equal(df["loss"], raw.loc[df.index, col])
        assert df.attrs["scalefit"]["unit"] == "bits per character"
    meta = read_farseer(target="IntelliValSet_Raw").attrs["scalefit"]
    assert "unit" not in meta
    assert ("loss is column 'IntelliValSet_Raw', a validation loss; the file does not state its "
            "unit" in meta["notes"])


@requires_dataset(FARSEER)
def test_runs_without_the_target_are_dropped_and_listed(raw):
    df = read_farseer(target="IntelliValSet")
    have = raw.index[(raw["N"] >= 2e8) & raw["IntelliValSet"].notna()]
    assert len(df) == len(have) == 112 and list(df.index) == list(have)
    np.testing.assert_array_equal(df["loss"], raw.loc[have, "IntelliValSet"])
    dropped = df.attrs["scalefit"]["dropped"]
    absent = [d for d in dropped if "missing" in d["reason"]]
    assert len(dropped) == 63 + len(absent) == 404 - 112
    assert all(d["reason"] == "'IntelliValSet' is missing (the file has it for 138 of 404 runs)"
               and d["line"] == d["row"] + 2 for d in absent)


@requires_dataset(FARSEER)
def test_an_unknown_target_names_the_choices():
    with pytest.raises(DataError, match=re.escape(f"{FARSEER}: unknown target 'bpc'.")) as err:
        read_farseer(target="bpc")
    message = str(err.value)
    for choice in ["'L'", "'IntelliValSet|zh|web-data'", "'IntelliValSet_Raw'", "'train_loss'",
                   "'smooth loss'"]:
        assert choice in message
    with pytest.raises(DataError, match=r"Did you mean 'IntelliValSet\|en'\?"):
        read_farseer(target="IntelliValSet|En")


def test_missing_columns_are_named(tmp_path, monkeypatch):
    path = tmp_path / "1222_full.csv"
    path.write_text("N,D,L,loss\n2e8,1e9,0.7,2.7\n")
    monkeypatch.setattr("scalefit.data.datasets.fetch", lambda remote: path)
    with pytest.raises(DataError, match=rf"^{re.escape(str(path))}: expected columns .* but 'C', "
                       r"'smooth loss', 'N_add_emb' are absent \(columns: N, D, L, loss\); the "
                       r"upstream format changed\.$"):
        read_farseer()


@requires_dataset(FARSEER)
def test_prepare_fits_the_loaders_points_and_carries_its_record():
    df = read_farseer()
    before = json.dumps(df.attrs["scalefit"])
    table = scalefit.data.prepare(df, ("N", "D"), n_free=5)
    assert table.n_points == 341
    assert table.source == f"farseer ({REMOTE.url})"
    assert [(d.line, d.row) for d in table.dropped] == [
        (d["line"], d["row"]) for d in df.attrs["scalefit"]["dropped"]]
    assert len(table.dropped) == 63
    assert table.notes[:len(df.attrs["scalefit"]["notes"])] == tuple(df.attrs["scalefit"]["notes"])
    np.testing.assert_array_equal(table.loss, df["loss"].to_numpy())
    np.testing.assert_array_equal(table.inputs["N"], df["N"].to_numpy())
    assert json.dumps(df.attrs["scalefit"]) == before
    everything = prepare(read_farseer(min_N=None), ("N", "D"), n_free=5)
    assert everything.n_points == 404 and everything.dropped == ()
