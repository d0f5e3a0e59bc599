"""The registered public datasets (scalefit.data.public): each loads from the mirror into the tidy
table with the counts, ranges, metrics and units of the real files; damaged, tampered or changed
files are refused with a message that names the file and what is wrong; the upstream pickle is
read without running anything it asks for."""

import hashlib
import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from scalefit import schedules
from scalefit.data import datasets, public
from scalefit.errors import DataError
from conftest import MPL_SPECS, requires_dataset

EPOCH = ("epoch-research/analyzing-chinchilla/92258837425e1b5f2851d624287f0120583a3d0e/"
         "data/svg_extracted_data.csv")
FARSEER = "Farseer-Scaling-Law/Farseer/main/ipynb/data/1222_full.csv"
STEPLAW = "step-law/steplaw/32a8f4cc50247695fb56cc6c9117abdf67c97763/data/"
MPL = "thu-yao-01-luo/MultiPowerLaw/8da9f1902602f3391b971a811e3cc51604541769/loss_curve_repo/"
GPT_PICKLE = "zkshan2002/ScalingLaw/879f3aae2a20ca53aacf3027ab5553a8e985e87b/data/gpt_loss+lrs.pkl"
GPT_CONVERTED = "converted/mpl-gpt-100m-20b/"
L2L = "KempnerInstitute/loss-to-loss-notebooks/457ce81a019019bc3981937c20a70c52f5fad436/data/"
NOTEBOOK = ("huggingface/datablations/13701315b163f1c54642b94ad237b2699187c3ee/utils/"
            "parametric_fit.ipynb")
FIT_182 = "converted/datablations-fit/fit_182.csv"



MPL_FILES = [f"{MPL}csv_{size}/{name}.csv" for size in (25, 100, 400) for name in MPL_SPECS]
GPT_FILES = [GPT_PICKLE, *(f"{GPT_CONVERTED}{run}.csv" for run in ("cosine", "wsd", "811"))]
L2L_FILES = [L2L + "sweep.csv", L2L + "extrapolation.csv"]


def requires_all(paths):
    """Skips a test, naming the first absent file, unless every mirrored file is there."""
    def mark(test):
        for path in paths:
            test = requires_dataset(path)(test)
        return test
    return mark


def mirrored(path: str) -> Path:
    """A file of the read-only mirror."""
    return Path(os.environ["SCALEFIT_DATA_DIR"]) / path


def metrics(table: pd.DataFrame) -> dict:
    """metric -> (split, unit, rows), one entry per metric."""
    return {m: (g["split"].iloc[0], g["unit"].iloc[0], len(g))
            for m, g in table.groupby("metric", sort=False)}


def copy_to(tmp_path: Path, path: str) -> Path:
    """A writable copy of a mirrored file under ``tmp_path``, laid out like the mirror."""
    target = tmp_path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(mirrored(path), target)
    target.chmod(0o644)
    return target


# --- each dataset, loaded through the registry -------------------------------------------------

@requires_dataset(EPOCH)
def test_chinchilla_has_245_points_and_240_with_epoch_filter():
    table = datasets.load("chinchilla")
    assert len(table) == table["run"].nunique() == 245
    assert metrics(table) == {"final loss": ("", "nats", 245)}
    np.testing.assert_allclose(table["D"], table["C"] / (6 * table["N"]), rtol=1e-15)
    assert 5.7e7 < table["N"].min() < 5.8e7 and 1.61e10 < table["N"].max() < 1.62e10
    assert 2.4e8 < table["D"].min() < 2.5e8 and 3.1e11 < table["D"].max() < 3.2e11

    filtered = datasets.load("chinchilla", epoch_filter=True)
    dropped = filtered.attrs["scalefit"]["dropped"]
    assert len(filtered) == 240 and len(dropped) == 5
    gone = table[~table["run"].isin(filtered["run"])]
    assert gone["loss"].min() >= filtered["loss"].max()
    assert sorted(d["line"] for d in dropped) == sorted(int(r[-3:]) + 2 for r in gone["run"])


@requires_dataset(FARSEER)
def test_farseer_has_404_runs_with_three_metrics():
    table = datasets.load("farseer")
    assert table["run"].nunique() == 404 and len(table) == 3 * 404
    assert metrics(table) == {"validation L": ("validation", "bits per character", 404),
                              "train loss": ("train", "nats", 404),
                              "smoothed train loss": ("train", "nats", 404)}
    assert set(table["N_convention"]) == {"non-embedding"}
    assert 9.96e7 < table["N"].min() < 9.97e7 and 6.36e9 < table["N"].max() < 6.38e9
    assert table["D"].min() == pytest.approx(1e9, rel=1e-5)
    assert table["D"].max() == pytest.approx(5.12e11, rel=1e-5)
    raw = pd.read_csv(mirrored(FARSEER))
    first = table.drop_duplicates("run")
    np.testing.assert_array_equal(first["batch_size"], raw["bs"] * raw["seq_len"])
    np.testing.assert_array_equal(first["lr"], raw["lr"])
    assert (table["lr"] > 0).all() and (table["batch_size"] > 0).all()

    large = datasets.load("farseer", min_N=2e8)
    assert large["run"].nunique() == 341 and large["N"].min() >= 2e8
    assert len(large.attrs["scalefit"]["dropped"]) == 63


@pytest.mark.parametrize("name, file, runs, n_range, d_range", [
    pytest.param("steplaw-dense", "dense_lr_bs_loss.csv", 1911, (2.14e8, 1.08e9), (4e9, 1e11),
                 marks=requires_dataset(STEPLAW + "dense_lr_bs_loss.csv")),
    pytest.param("steplaw-moe", "moe_lr_bs_loss.csv", 708, (2.15e9, 2.16e9), (2e9, 2e10),
                 marks=requires_dataset(STEPLAW + "moe_lr_bs_loss.csv"))])
def test_steplaw_grids(name, file, runs, n_range, d_range):
    table = datasets.load(name)
    assert table["run"].nunique() == runs and len(table) == 2 * runs
    assert metrics(table) == {"train loss": ("train", "nats", runs),
                              "smoothed train loss": ("train", "nats", runs)}
    assert n_range[0] < table["N"].min() and table["N"].max() < n_range[1]
    assert (table["D"].min(), table["D"].max()) == d_range
    # the file's bs counts sequences of 2,048 tokens; batch_size is tokens per step
    raw = pd.read_csv(mirrored(STEPLAW + file))
    first = table.drop_duplicates("run")
    np.testing.assert_array_equal(first["bs_sequences"], raw["bs"])
    np.testing.assert_array_equal(first["batch_size"], raw["bs"] * 2048)
    np.testing.assert_allclose(first["D"], first["batch_size"] * raw["ti"], rtol=3e-3)
    final = table[table["metric"] == "train loss"]["loss"]
    assert len(raw) == runs and raw["loss"].max() == final.max()       # diverged runs kept
    assert any("diverged ones too" in n for n in table.attrs["scalefit"]["notes"])


@requires_all(MPL_FILES)
def test_multipower_curves_nine_schedules_three_sizes():
    table = datasets.load("multipower-curves")
    runs = table.drop_duplicates("run").set_index("run")
    assert len(runs) == 27
    assert sorted(runs.index) == sorted(f"{s}M/{n}" for s in (25, 100, 400) for n in MPL_SPECS)
    assert metrics(table) == {"train loss": ("train", "nats", len(table))}
    assert set(table["N"]) == {25e6, 100e6, 400e6}
    for run, row in runs.iterrows():
        assert row["schedule"] == str(schedules.parse(MPL_SPECS[run.split("/")[1]]))
        assert row["N"] == float(run.split("M/")[0]) * 1e6
    # the 100M cosine_24000 file has 171 logged points, 2160..23920 every 128 steps
    cosine = table[table["run"] == "100M/cosine_24000"]
    assert len(cosine) == 171 and (cosine["step"].min(), cosine["step"].max()) == (2160, 23920)


@requires_all(MPL_FILES)
def test_multipower_schedule_specs_reproduce_the_files_learning_rates():
    table = datasets.load("multipower-curves")
    for run, curve in table.groupby("run"):
        schedule = schedules.parse(curve["schedule"].iloc[0])
        assert curve["step"].max() < schedule.total
        np.testing.assert_allclose(schedule.at(curve["step"].to_numpy()), curve["lr"],
                                   rtol=2e-15, atol=0, err_msg=run)


@requires_all(GPT_FILES)
def test_gpt100m_from_the_pickle_equals_the_converted_csvs():
    table = datasets.load("gpt100m-schedules")
    assert table.groupby("run").size().to_dict() == {"811": 33908, "cosine": 33907,
                                                     "wsd": 33907}
    assert metrics(table) == {"train loss": ("train", "nats", 101722)}
    assert set(table["N"]) == {1e8}
    for run in ("cosine", "wsd", "811"):
        converted = pd.read_csv(mirrored(f"{GPT_CONVERTED}{run}.csv"))
        rows = table[table["run"] == run]
        for column in ("step", "lr", "loss"):
            np.testing.assert_array_equal(rows[column], converted[column], err_msg=run)


class _System:
    """Pickles as a call of os.system (what a malicious file would hold); pickling it only
    records the call."""

    def __init__(self, command):
        self.command = command

    def __reduce__(self):
        return os.system, (self.command,)


@pytest.mark.parametrize("how", ["protocol 0 by hand", "pickle.dumps of __reduce__"])
def test_a_malicious_pickle_is_refused_and_nothing_runs(tmp_path, how):
    marker = tmp_path / "hacked"
    command = f"echo hacked > {marker}"
    if how == "protocol 0 by hand":
        data, named = b"cos\nsystem\n(V" + command.encode() + b"\ntR.", "os.system"
    else:
        data, named = pickle.dumps(_System(command)), f"{os.system.__module__}.system"
    path = tmp_path / "gpt_loss+lrs.pkl"
    path.write_bytes(data)
    with pytest.raises(DataError, match=named.replace(".", r"\.")) as err:
        public.parse_gpt100m({"pickle": path})
    assert str(path) in str(err.value)
    assert not marker.exists()


def test_the_restricted_unpickler_refuses_builtins_that_run_code(tmp_path):
    path = tmp_path / "eval.pkl"
    path.write_bytes(b"cbuiltins\neval\n(V1+1\ntR.")
    with pytest.raises(DataError, match=r"builtins\.eval"):
        public.read_pickle(path)


@requires_all(L2L_FILES)
def test_loss_to_loss_sweep_and_heldout_runs():
    table = datasets.load("loss-to-loss")
    runs = table.drop_duplicates("run")
    assert len(runs) == 535 and runs["heldout"].sum() == 6
    sets = ("c4", "fineweb_100b", "fineweb_1T", "fineweb_edu_100b", "proof_pile_2",
            "slimpajama", "smollm", "starcoder")
    assert metrics(table) == {f"validation/{s} cross-entropy": ("validation", "nats", 535)
                              for s in sets}
    assert set(table["N_convention"]) == {"with embeddings"}
    sweep = pd.read_csv(mirrored(L2L + "sweep.csv"))
    mine = runs[~runs["heldout"]]
    np.testing.assert_array_equal(mine["C"], sweep["iso_flop"])     # not the 'flops' column
    np.testing.assert_array_equal(mine["N"], sweep["params"])
    assert mine["data"].value_counts().to_dict() == sweep["data"].value_counts().to_dict()
    assert (mine["N"].min(), mine["N"].max()) == (19534080, 1741948928)
    assert 3.0e8 < mine["D"].min() < 3.1e8 and 3.5e10 < mine["D"].max() < 3.6e10
    held = runs[runs["heldout"]]
    assert set(held["N"]) == {3309980160} and set(held["C"]) == {1e21}
    c4 = table[table["metric"] == "validation/c4 cross-entropy"]
    np.testing.assert_array_equal(c4["loss"].iloc[:529], sweep["eval/c4_val/CrossEntropyLoss"])

    wide = datasets.load("loss-to-loss", downstream=True)
    downstream = [m for m in wide["metric"].unique() if m.startswith("downstream/")]
    assert len(downstream) == 19 and len(wide) == 535 * 27


@requires_all([NOTEBOOK, FIT_182])
def test_data_constrained_equals_the_converted_182_rows():
    table = datasets.load("data-constrained")
    fit = pd.read_csv(mirrored(FIT_182))
    assert len(table) == 182
    assert table["run"].tolist() == fit["name"].tolist()
    for mine, theirs in (("N", "params"), ("D", "tokens"), ("unique_tokens", "unique_tokens"),
                         ("loss", "val_loss")):
        np.testing.assert_array_equal(table[mine], fit[theirs], err_msg=mine)
    assert metrics(table) == {"validation/c4 cross-entropy": ("validation", "nats", 182)}
    assert (table["N"].min(), table["N"].max()) == (7098752.0, 8.67e9)
    assert (table["D"].min(), table["D"].max()) == (1e8, 9e11)
    reasons = [d["reason"] for d in table.attrs["scalefit"]["dropped"]]
    assert len(reasons) == 21
    assert sum("loss 0" in r for r in reasons) == 9 and sum("dedup" in r for r in reasons) == 12


def test_the_notebook_is_never_run(tmp_path):
    """A cell whose dict is not a literal is refused by ast.literal_eval, not executed."""
    marker = tmp_path / "ran"
    cells = [{"cell_type": "markdown", "source": ["##### Custom data loading with outliers "
                                                  "removed"]},
             {"cell_type": "code", "source": [
                 f"NAMES_TO_VAL_LOSSES = {{'7m100m100m': open({str(marker)!r}, 'w')}}\n",
                 "PARAMS_MAP = {'7m': 7e6}\nTOKENS_MAP = {'100m': 0.1}\n"]}]
    path = tmp_path / "parametric_fit.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    with pytest.raises(DataError, match="NAMES_TO_VAL_LOSSES is not a literal"):
        public.parse_data_constrained({"notebook": path})
    assert not marker.exists()


def test_a_notebook_without_the_heading_is_refused(tmp_path):
    path = tmp_path / "parametric_fit.ipynb"
    path.write_text('{"cells": [{"cell_type": "code", "source": ["NAMES_TO_VAL_LOSSES = {}"]}]}')
    with pytest.raises(DataError, match="Custom data loading with outliers removed"):
        public.parse_data_constrained({"notebook": path})


# --- damaged, tampered and changed files ---------------------------------------------------------

@requires_dataset(EPOCH)
def test_a_sha256_mismatch_names_the_file_and_both_digests(tmp_path, monkeypatch):
    copy = copy_to(tmp_path, EPOCH)
    data = bytearray(copy.read_bytes())
    data[100] = ord("7") if data[100] != ord("7") else ord("8")
    copy.write_bytes(bytes(data))
    monkeypatch.setenv("SCALEFIT_DATA_DIR", str(tmp_path))
    pinned = datasets.dataset("chinchilla").files["csv"].sha256
    with pytest.raises(DataError) as err:
        datasets.load("chinchilla")
    message = str(err.value)
    assert str(copy) in message and pinned in message
    assert hashlib.sha256(bytes(data)).hexdigest() in message


@requires_dataset(STEPLAW + "moe_lr_bs_loss.csv")
def test_a_truncated_file_fails_its_sha256_and_its_parser(tmp_path, monkeypatch):
    copy = copy_to(tmp_path, STEPLAW + "moe_lr_bs_loss.csv")
    text = copy.read_text()
    row = text.index("\n", len(text) // 2) + 1
    fields = text[row:].split(",")
    copy.write_text(text[:row] + ",".join(fields[:5]) + ",")     # cut mid-row, after 5 fields
    monkeypatch.setenv("SCALEFIT_DATA_DIR", str(tmp_path))
    with pytest.raises(DataError, match=r"has sha256 [0-9a-f]{64}, expected [0-9a-f]{64}"):
        datasets.load("steplaw-moe")
    with pytest.raises(DataError, match="truncated") as err:
        public.parse_steplaw_moe({"csv": copy})
    assert str(copy) in str(err.value)


@requires_dataset(STEPLAW + "dense_lr_bs_loss.csv")
def test_a_missing_column_says_the_upstream_format_changed(tmp_path):
    copy = copy_to(tmp_path, STEPLAW + "dense_lr_bs_loss.csv")
    text = copy.read_text()
    copy.write_text(text.replace("smooth loss", "smoothed", 1))
    with pytest.raises(DataError, match="upstream format changed") as err:
        public.parse_steplaw_dense({"csv": copy})
    assert str(copy) in str(err.value) and "'smooth loss'" in str(err.value)


@requires_all(L2L_FILES)
def test_text_in_a_numeric_column_names_the_column_and_line(tmp_path):
    sweep = copy_to(tmp_path, L2L + "sweep.csv")
    raw = pd.read_csv(sweep)
    raw["iso_flop"] = raw["iso_flop"].astype(object)
    raw.loc[3, "iso_flop"] = "lots"
    raw.to_csv(sweep, index=False)
    with pytest.raises(DataError, match=r"'iso_flop' holds text \('lots' in row 3, line 5") as e:
        public.parse_loss_to_loss({"sweep": sweep,
                                   "extrapolation": mirrored(L2L + "extrapolation.csv")})
    assert str(sweep) in str(e.value)


@requires_dataset(GPT_PICKLE)
def test_a_truncated_pickle_is_refused(tmp_path):
    path = tmp_path / "gpt_loss+lrs.pkl"
    path.write_bytes(mirrored(GPT_PICKLE).read_bytes()[:100_000])
    with pytest.raises(DataError, match="damaged or truncated"):
        public.parse_gpt100m({"pickle": path})


def test_every_registered_file_is_pinned_by_a_full_sha256():
    names = ("chinchilla", "farseer", "steplaw-dense", "steplaw-moe", "multipower-curves",
             "gpt100m-schedules", "loss-to-loss", "data-constrained")
    for name in names:
        ds = datasets.dataset(name)
        assert ds.licence and ds.citation and ds.description and ds.files, name
        for remote in ds.files.values():
            assert len(remote.sha256) == 64 and int(remote.sha256, 16) >= 0, remote.path
    assert len(datasets.dataset("multipower-curves").files) == 27
