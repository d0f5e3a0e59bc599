"""The Hitchhiker's Guide collection (IBM/ColPret): six registered datasets, each loaded from the
mirror into the tidy table and checked against a direct pandas read of its CSV."""

import hashlib
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import requires_dataset
from scalefit.data import colpret, tidy
from scalefit.data.datasets import dataset, load
from scalefit.errors import DataError

COLPRET = "IBM/ColPret/16f23bbe054277ddc4afd07a972dd7cfbe3f48c3"
FILES = {"olmo": f"{COLPRET}/aggregated_eval/olmo.csv",
         "opt": f"{COLPRET}/aggregated_eval/opt_trajectories.csv",
         "gpt3": f"{COLPRET}/raw_data/gpt3/extracted.csv",
         "datablations": f"{COLPRET}/aggregated_eval/datablations_losses.csv",
         "k2": f"{COLPRET}/aggregated_eval/K2.csv",
         "mamba3b": f"{COLPRET}/aggregated_eval/llm360Mamba3B.csv"}
PAPERS = {"olmo": "Groeneveld et al. (2024)", "opt": "Zhang et al. (2022)",
          "gpt3": "Brown et al. (2020)", "datablations": "Muennighoff et al. (2023)",
          "k2": "LLM360 (2024)", "mamba3b": "Gu & Dao (2023)"}
OLMO_7B_TOKENS, OLMO_1B_TOKENS = 2160 * 2048, 2048 * 2048


def _path(name: str) -> Path:
    return Path(os.environ["SCALEFIT_DATA_DIR"]) / FILES[name]


def _raw(name: str) -> pd.DataFrame:
    return pd.read_csv(_path(name))


_TABLES: dict[str, pd.DataFrame] = {}


def _table(name: str) -> pd.DataFrame:
    """``load(name)``, once per test session."""
    if name not in _TABLES:
        _TABLES[name] = load(name)
    return _TABLES[name]


def _notes(table: pd.DataFrame) -> str:
    return "\n".join(table.attrs["scalefit"]["notes"])


@pytest.mark.parametrize("name", list(FILES))
def test_each_dataset_is_registered_pinned_and_cited(name):
    ds = dataset(name)
    (remote,) = ds.files.values()
    assert remote.path == FILES[name]
    assert remote.url == f"https://raw.githubusercontent.com/{FILES[name]}"
    assert ds.licence.startswith("MIT") and "their own terms" in ds.licence
    assert PAPERS[name] in ds.citation and "Choshen et al. (2024)" in ds.citation


@pytest.mark.parametrize("name", [pytest.param(n, marks=requires_dataset(f))
                                  for n, f in FILES.items()])
def test_each_pinned_sha256_is_the_mirrored_files(name):
    (remote,) = dataset(name).files.values()
    assert hashlib.sha256(_path(name).read_bytes()).hexdigest() == remote.sha256


@requires_dataset(FILES["olmo"])
def test_olmo_three_runs_37_metrics_in_nats_with_exact_tokens_per_step():
    t = _table("olmo")
    assert tuple(t.columns) == tidy.COLUMNS and len(t) == 28422
    assert sorted(t["run"].unique()) == ["OLMo-1B", "OLMo-7B", "OLMo-7B-Twin-2T"]
    assert t["metric"].nunique() == 37 and len(t) == 17640 + 6053 + 4729
    assert set(t["unit"]) == {"nats"} and set(t["split"]) == {"validation"}
    assert (t["source"] == "olmo").all() and (t["N_convention"] == "").all()
    by_run = t.groupby("run").agg(N=("N", "first"), rows=("loss", "size"), d0=("D", "min"),
                                  d1=("D", "max"), s1=("step", "max"))
    assert by_run["N"].to_dict() == {"OLMo-1B": 1e9, "OLMo-7B": 7e9, "OLMo-7B-Twin-2T": 7e9}
    # non-empty cross-entropy cells, plus perplexity cells without one (1B 735, Twin 866)
    assert by_run["rows"].to_dict() == {"OLMo-1B": 17640, "OLMo-7B": 6053,
                                        "OLMo-7B-Twin-2T": 4729}
    assert by_run.loc["OLMo-1B", "d1"] == 738000 * OLMO_1B_TOKENS       # 3.095e12
    assert by_run.loc["OLMo-7B", "d0"] == 21000 * OLMO_7B_TOKENS
    assert by_run.loc["OLMo-7B", "d1"] == 556000 * OLMO_7B_TOKENS       # 2.46e12
    assert by_run.loc["OLMo-7B-Twin-2T", "s1"] == 450000
    assert "4,423,680" in _notes(t) and "4,194,304" in _notes(t)


@requires_dataset(FILES["olmo"])
def test_olmo_7b_tokens_match_the_checkpoint_names_in_the_file():
    raw = _raw("olmo")
    rows = raw[raw["model_name"] == "OLMo-7B"]
    tokens = rows["checkpoint"].str.extract(r"'step(\d+)-tokens(\d+)B'").astype(float)
    assert len(tokens.dropna()) == 529 and (tokens[0] == rows["Step"]).all()
    t = _table("olmo")
    d = t[t["run"] == "OLMo-7B"].groupby("step")["D"].first()
    np.testing.assert_array_equal(np.round(d.loc[tokens[0]].to_numpy() / 1e9), tokens[1])


@requires_dataset(FILES["olmo"])
def test_olmo_drops_the_twin_rows_that_sum_two_wandb_segments():
    raw = _raw("olmo")
    t = _table("olmo")
    dropped = t.attrs["scalefit"]["dropped"]
    assert [d["line"] for d in dropped] == list(range(159, 170))
    steps = raw.loc[[d["row"] for d in dropped], "Step"]
    assert steps.tolist() == list(range(158000, 169000, 1000))
    assert (raw.loc[steps.index, "model_name"] == "OLMo-7B-Twin-2T").all()
    assert (raw.loc[steps.index, "downstream/copa_acc"] > 1).all()     # accuracies above 1
    assert "losses 2.00 times those of step 157000 (line 158)" in dropped[0]["reason"]
    twin = t[t["run"] == "OLMo-7B-Twin-2T"]
    assert not twin["step"].between(158000, 168000).any()
    assert twin["loss"].max() < 5.6                          # the summed rows reached 6.24
    assert "11 rows dropped as sums of overlapping W&B run segments" in _notes(t)
    assert "11 of them also hold downstream accuracies above 1" in _notes(t)


@requires_dataset(FILES["olmo"])
def test_olmo_keeps_cross_entropy_and_uses_perplexity_only_where_it_is_alone():
    raw = _raw("olmo")
    t = _table("olmo")
    seven = raw[raw["model_name"] == "OLMo-7B"].set_index("Step")
    ice = t[(t["run"] == "OLMo-7B") & (t["metric"] == "ice-validation/CrossEntropyLoss")]
    np.testing.assert_array_equal(ice["loss"], seven.loc[ice["step"],
                                                         "ice-validation/CrossEntropyLoss"])
    np.testing.assert_allclose(np.exp(ice["loss"]),
                               seven.loc[ice["step"], "ice-validation/Perplexity"], rtol=2e-7)
    twin = raw[raw["model_name"] == "OLMo-7B-Twin-2T"].set_index("Step")
    c4 = t[(t["run"] == "OLMo-7B-Twin-2T") & (t["metric"] == "c4_en-validation/CrossEntropyLoss")]
    assert len(c4) == 433 and twin["c4_en-validation/CrossEntropyLoss"].isna().all()
    np.testing.assert_allclose(np.exp(c4["loss"]),
                               twin.loc[c4["step"], "c4_en-validation/Perplexity"], rtol=1e-12)
    one = raw[raw["model_name"] == "OLMo-1B "].set_index("Step")      # the file's trailing space
    pile = t[t["metric"] == "v2-small-pile-validation/CrossEntropyLoss"]
    assert set(pile["run"]) == {"OLMo-1B"} and len(pile) == 735
    np.testing.assert_allclose(np.exp(pile["loss"]),
                               one.loc[pile["step"], "v2-small-pile-validation/Perplexity"])
    assert not t["metric"].str.contains("Perplexity|downstream").any()
    notes = _notes(t)
    assert "14 '*/Perplexity' columns equal exp of their '*/CrossEntropyLoss' column" in notes
    assert "fills the 866 cells where only the perplexity was logged" in notes
    assert "'OLMo-1B '" in notes and "11 downstream accuracy columns not read" in notes


@requires_dataset(FILES["opt"])
def test_opt_perplexity_in_nats_and_log10_tokens_and_flops_converted():
    raw = _raw("opt")
    t = _table("opt")
    assert len(t) == len(raw) == 142 and t["run"].nunique() == 6
    assert t["N"].min() == 1.25e8 and t["N"].max() == 1.75e11
    assert t["D"].min() == 1e9 and t["D"].max() == 2.8e11
    np.testing.assert_allclose(np.exp(t["loss"]), raw["ppl"], rtol=1e-12)
    np.testing.assert_allclose(t["D"], 10 ** raw["num_token"], rtol=1e-12)
    np.testing.assert_allclose(t["C"], 10 ** raw["flops"], rtol=1e-12)
    np.testing.assert_allclose(t["C"], 6 * t["N"] * t["D"], rtol=1e-12)
    assert set(t["metric"]) == {"log(ppl)"} and set(t["unit"]) == {"nats"}
    assert t.groupby("run")["batch_size"].unique().map(list).to_dict() == {
        "OPT-125m": [5e5], "OPT-1.3b": [1e6], "OPT-6.7b": [2e6], "OPT-13b": [4e6],
        "OPT-30b": [4e6], "OPT-175b": [2e6]}
    assert t["loss"].min() == pytest.approx(np.log(9.768875130499486))
    assert "opt.csv" in _notes(t) and t.attrs["scalefit"]["dropped"] == []


@requires_dataset(FILES["gpt3"])
def test_gpt3_two_metrics_tokens_in_billions_and_sizes_from_table_2_1():
    raw = _raw("gpt3")
    t = _table("gpt3")
    assert len(t) == len(raw) == 12097 and t["run"].nunique() == 8
    assert t["metric"].value_counts().to_dict() == {"val_loss": 6506, "train_loss": 5591}
    assert set(zip(t["metric"], t["split"])) == {("train_loss", "train"),
                                                  ("val_loss", "validation")}
    assert t["step"].isna().all() and set(t["unit"]) == {"nats"}
    assert t["D"].min() == pytest.approx(raw["step"].min() * 1e9)          # 9.55e9
    assert t["D"].max() == pytest.approx(raw["step"].max() * 1e9)          # 3.0e11
    sizes = t.groupby("run")[["N", "batch_size", "lr"]].first()
    assert sizes.loc["GPT-3 small"].tolist() == [125e6, 0.5e6, 6e-4]
    assert sizes.loc["GPT-3 xl"].tolist() == [1.3e9, 1e6, 2e-4]
    assert sizes.loc["GPT-3 175b"].tolist() == [175e9, 3.2e6, 0.6e-4]
    val = t[t["metric"] == "val_loss"]
    assert val["loss"].min() == raw["val_loss"].min() == pytest.approx(1.776528, abs=1e-6)
    assert "4610 rows share their run, metric and D" in _notes(t)


@requires_dataset(FILES["datablations"])
def test_datablations_48_repeated_data_runs_with_unique_tokens():
    raw = _raw("datablations")
    t = _table("datablations")
    assert len(t) == len(raw) == 9261 and t["run"].nunique() == 48
    assert sorted(t["N"].unique()) == [2.8e9, 4.2e9, 8.7e9]
    assert t["D"].min() == 104857600 and t["D"].max() == 177999970304
    np.testing.assert_array_equal(t["loss"], raw["loss"])
    assert set(t["metric"]) == {"loss"} and set(t["split"]) == {""}
    assert list(t.columns[-3:]) == ["epochs", "unique_tokens", "data"]
    runs = t.groupby("run").agg(epochs=("epochs", "first"), unique=("unique_tokens", "first"))
    assert sorted(runs["epochs"].unique()) == [1, 2, 3, 4, 5, 7, 14, 44]
    assert runs.loc["2.8B-c4-44ep", "unique"] == 1.25e9              # 55B tokens / 44 epochs
    assert runs.loc["8.7B-oscar-1ep", "unique"] == 178e9
    notes = _notes(t)
    assert "runs '2.8B-oscar-4ep' and '2.8B-oscar-3ep' have identical curves (326 points" \
        in notes
    assert "datablations_contour_losses.csv" in notes and "'flops' is not read" in notes


@requires_dataset(FILES["k2"])
def test_k2_training_loss_with_the_collections_token_counts():
    raw = _raw("k2")
    t = _table("k2")
    assert len(t) == len(raw) - 1 == 9985 and set(t["run"]) == {"K2"}
    assert set(t["N"]) == {6.5e10} and set(t["split"]) == {"train"}
    assert t["D"].min() == raw["tokens_seen"].iloc[1] and t["D"].max() == 1.4e12
    np.testing.assert_allclose(t["C"], 6 * 6.5e10 * t["D"], rtol=1e-12)
    np.testing.assert_array_equal(t["loss"], raw["k2 training - lm loss"].iloc[1:])
    assert t["loss"].min() == pytest.approx(1.4282836, abs=1e-6)
    (drop,) = t.attrs["scalefit"]["dropped"]
    assert drop["line"] == 2 and drop["reason"].startswith("tokens_seen = 0")
    notes = _notes(t)
    assert "line 9723: Step 495195720 lies between Steps 481513440 and 481584840" in notes
    assert "by up to 2.7% of 1.4T" in notes and "20 downstream eval columns" in notes


@requires_dataset(FILES["mamba3b"])
def test_mamba3b_training_curve_every_4_steps_to_500b_tokens():
    raw = _raw("mamba3b")
    t = _table("mamba3b")
    assert len(t) == len(raw) == 44174 and set(t["run"]) == {"LLM360-Mamba-3B"}
    assert set(t["N"]) == {3e9} and set(t["unit"]) == {""} and set(t["split"]) == {"train"}
    np.testing.assert_allclose(t["D"], raw["step"] * 500e9 / 176703, rtol=1e-12)
    assert t["D"].max() == pytest.approx(176700 * 500e9 / 176703)           # 4.99992e11
    np.testing.assert_array_equal(t["lr"], raw["lr"])
    np.testing.assert_array_equal(t["grad_norm"], raw["grad_norm"])
    assert t["loss"].iloc[0] == pytest.approx(21.783464) and t["loss"].max() == t["loss"].iloc[0]
    assert "unit is left empty" in _notes(t)


# ---------------------------------------------------------------------------------------------
# files whose format changed
# ---------------------------------------------------------------------------------------------
def _copy(tmp_path: Path, name: str, edit) -> Path:
    """A modified copy of a mirrored file, written under tmp_path."""
    raw = _raw(name)
    out = tmp_path / Path(FILES[name]).name
    edit(raw).to_csv(out, index=False)
    return out


@requires_dataset(FILES["opt"])
def test_a_missing_column_names_the_file_and_says_the_format_changed(tmp_path):
    path = _copy(tmp_path, "opt", lambda raw: raw.drop(columns="ppl"))
    with pytest.raises(DataError) as err:
        colpret.read_opt({"opt": path})
    message = str(err.value)
    assert str(path) in message and "'ppl' is absent" in message
    assert "the upstream format changed" in message


@requires_dataset(FILES["datablations"])
def test_text_in_a_numeric_column_names_the_file_column_and_line(tmp_path):
    def edit(raw):
        raw["token_num"] = raw["token_num"].astype(object)
        raw.loc[3, "token_num"] = "about 4e8"
        return raw

    path = _copy(tmp_path, "datablations", edit)
    with pytest.raises(DataError, match=r"column 'token_num' holds text \('about 4e8' in row 3, "
                                        r"line 5") as err:
        colpret.read_datablations({"datablations": path})
    assert str(path) in str(err.value)


@requires_dataset(FILES["opt"])
def test_a_row_without_a_loss_is_dropped_and_listed_with_its_line(tmp_path):
    def edit(raw):
        raw.loc[10, "ppl"] = np.nan
        return raw

    t = colpret.read_opt({"opt": _copy(tmp_path, "opt", edit)})
    assert len(t) == 141
    assert t.attrs["scalefit"]["dropped"] == [
        {"line": 12, "row": 10, "reason": "'log(ppl)' is nan, not a positive finite loss"}]


def test_olmo_perplexity_that_differs_from_its_cross_entropy_is_kept_apart(tmp_path):
    path = tmp_path / "olmo.csv"
    pd.DataFrame({"Step": [1000, 2000], "model_name": ["OLMo-1B"] * 2, "num_params": ["1B"] * 2,
                  "x-validation/CrossEntropyLoss": [3.0, 2.9],
                  "x-validation/Perplexity": [np.exp(3.0), np.exp(2.8)]}).to_csv(path, index=False)
    t = colpret.read_olmo({"olmo": path})
    assert t["metric"].value_counts().to_dict() == {"x-validation/CrossEntropyLoss": 2,
                                                    "x-validation/Perplexity": 2}
    np.testing.assert_allclose(t.loc[t["metric"] == "x-validation/Perplexity", "loss"],
                               [3.0, 2.8])
    assert "'x-validation/Perplexity' differs from exp('x-validation/CrossEntropyLoss') by up " \
        "to 0.11 (relative): both kept" in _notes(t)
    assert list(t["D"]) == [1000 * OLMO_1B_TOKENS] * 2 + [2000 * OLMO_1B_TOKENS] * 2


def test_an_unknown_olmo_model_or_size_label_is_refused(tmp_path):
    path = tmp_path / "olmo.csv"
    frame = pd.DataFrame({"Step": [1000], "model_name": ["OLMo-65B"], "num_params": ["65B"],
                          "x-validation/CrossEntropyLoss": [3.0]})
    frame.to_csv(path, index=False)
    with pytest.raises(DataError, match="model 'OLMo-65B' has no known tokens per step"):
        colpret.read_olmo({"olmo": path})
    frame.assign(model_name="OLMo-1B", num_params="one billion").to_csv(path, index=False)
    with pytest.raises(DataError, match=r"olmo.csv: column 'num_params' holds 'one billion'"):
        colpret.read_olmo({"olmo": path})
