"""Users' run logs -> the tidy table: formats, column detection and its notes, units, drops, the
mirrored W&B exports of OLMo-7B, W&B histories, TensorBoard event files, and every error."""

import gzip
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import requires_dataset

from scalefit.data import tidy
from scalefit.data.logs import from_wandb_history, read_log, read_tensorboard, read_wandb_export
from scalefit.errors import DataError

OLMO = "IBM/ColPret/16f23bbe054277ddc4afd07a972dd7cfbe3f48c3/raw_data/OLMO/"
ICE_CE = OLMO + "wandb_export_2024-02-23T14_58_09.703-05_00.csv"
ICE_PPL = OLMO + "wandb_export_2024-02-23T14_58_19.998-05_00.csv"
WIKI_PPL = OLMO + "wandb_export_2024-02-23T15_00_08.268-05_00.csv"
WIKI_CE = OLMO + "wandb_export_2024-02-23T15_00_20.334-05_00.csv"


def mirrored(path: str) -> Path:
    return Path(os.environ["SCALEFIT_DATA_DIR"]) / path


def write(tmp_path, text, name="log.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def notes(table):
    return table.attrs["scalefit"]["notes"]


def dropped(table):
    return table.attrs["scalefit"]["dropped"]


@pytest.fixture
def log():
    """Two runs of four points: params, steps, lr, two losses and a column to leave out."""
    return pd.DataFrame({"run": ["a", "a", "b", "b"], "n_params": [1e8, 1e8, 2e8, 2e8],
                         "step": [100, 200, 100, 200], "lr": [1e-3, 5e-4, 1e-3, 5e-4],
                         "val_loss": [3.5, 3.25, 3.0, 2.75], "train/loss": [3.4, 3.2, 2.9, 2.7],
                         "grad_norm": [1.5, 1.25, 1.0, 0.75]})


# --- formats and detection -----------------------------------------------------------------------

def test_csv_tsv_jsonl_parquet_and_the_dataframe_give_one_table(tmp_path, log):
    log.to_csv(tmp_path / "log.csv", index=False)
    log.to_csv(tmp_path / "log.tsv", sep="\t", index=False)
    (tmp_path / "log.jsonl").write_text("".join(json.dumps(r) + "\n"
                                                for r in log.to_dict("records")))
    log.to_parquet(tmp_path / "log.parquet")
    tables = [read_log(tmp_path / f"log.{ext}") for ext in ("csv", "tsv", "jsonl", "parquet")]
    tables.append(read_log(log))
    first = tables[0]
    assert list(first.columns) == list(tidy.COLUMNS)
    assert len(first) == 8                                  # 4 points x 2 metrics
    assert list(first["metric"]) == ["val_loss", "train/loss"] * 4
    assert list(first["split"]) == ["validation", "train"] * 4
    assert set(first["unit"]) == {"nats"}
    np.testing.assert_array_equal(first["loss"], [3.5, 3.4, 3.25, 3.2, 3.0, 2.9, 2.75, 2.7])
    np.testing.assert_array_equal(first["N"], [1e8] * 4 + [2e8] * 4)
    np.testing.assert_array_equal(first["step"], [100, 100, 200, 200] * 2)
    np.testing.assert_array_equal(first["lr"], [1e-3, 1e-3, 5e-4, 5e-4] * 2)
    assert first["D"].isna().all()
    for table in tables[1:]:
        pd.testing.assert_frame_equal(table.drop(columns="source"),
                                      first.drop(columns="source"))
        assert notes(table) == notes(first) and dropped(table) == []
    assert first["source"].iloc[0] == str(tmp_path / "log.csv")


def test_detection_says_what_it_read_and_left_out(log):
    assert notes(read_log(log)) == [
        ("detected: 'n_params' as N, 'step' as step, 'lr' as lr, 'run' as run; read as metrics: "
         "'val_loss', 'train/loss'; left out: 'grad_norm'"),
        ("no tokens (D) in the log: D left empty; pass tokens_per_step= to derive D = step × "
         "tokens per step"),
        "metric 'val_loss': split 'validation' (from its name), unit 'nats' (from its name)",
        "metric 'train/loss': split 'train' (from its name), unit 'nats' (from its name)"]


def test_a_compressed_log_without_run_column_is_one_run_named_by_the_file(tmp_path):
    path = tmp_path / "my-run.csv.gz"
    path.write_bytes(gzip.compress(b"Step,CrossEntropy,loss_scale\n1,4.0,1024\n2,3.5,1024\n"))
    table = read_log(path)
    assert set(table["run"]) == {"my-run"}
    assert "no run column: every row is run 'my-run' (pass run= to name it)" in notes(table)
    assert notes(table)[0] == ("detected: 'Step' as step; read as metrics: 'CrossEntropy'; "
                               "left out: 'loss_scale'")       # fp16's loss scale is no loss
    assert set(read_log(path, run="r1")["run"]) == {"r1"}


def test_columns_maps_names_and_only_the_mapped_loss_is_a_metric(tmp_path):
    path = write(tmp_path, "size,seen,score,train_loss\n1e8,2e9,3.1,3.0\n2e8,4e9,2.9,2.8\n")
    table = read_log(path, columns={"N": "size", "D": "seen", "loss": "score"}, split="test")
    np.testing.assert_array_equal(table["N"], [1e8, 2e8])
    np.testing.assert_array_equal(table["D"], [2e9, 4e9])
    np.testing.assert_array_equal(table["loss"], [3.1, 2.9])
    assert set(table["metric"]) == {"score"} and set(table["split"]) == {"test"}
    assert set(table["unit"]) == {""}                  # "score" says no unit
    assert notes(table)[0] == ("given by columns=: 'size' as N, 'seen' as D; read as metrics: "
                               "'score'; left out: 'train_loss'")
    assert "metric 'score': split 'test' (split=), unit '' (from its name)" in notes(table)


def test_two_candidate_columns_for_n_are_refused(tmp_path):
    path = write(tmp_path, "params,n_params,loss\n1,1,3\n")
    with pytest.raises(DataError, match=r"log\.csv: columns 'params', 'n_params' could each be N; "
                                        r"choose one with columns=\{'N': 'params'\}\."):
        read_log(path)
    assert read_log(path, columns={"N": "n_params"})["N"].tolist() == [1.0]


def test_a_log_naming_its_runs_refuses_run(log):
    with pytest.raises(DataError, match=r"the DataFrame names its runs \(column 'run'\); leave "
                                        r"out run=\."):
        read_log(log, run="x")


def test_nested_json_keys_and_a_named_index_become_columns(tmp_path, log):
    path = write(tmp_path, '{"step": 1, "train": {"loss": 3.0, "lr": 0.5}}\n', "nested.jsonl")
    table = read_log(path)
    assert table[["metric", "loss", "lr"]].values.tolist() == [["train/loss", 3.0, 0.5]]
    log.set_index("step").to_parquet(tmp_path / "indexed.parquet")
    np.testing.assert_array_equal(read_log(tmp_path / "indexed.parquet")["step"],
                                  [100, 100, 200, 200] * 2)


# --- units, tokens, drops, metrics -------------------------------------------------------------

def test_perplexity_and_bits_become_nats_and_bpc_is_kept(tmp_path):
    path = write(tmp_path, "step,val_ppl,train_bits,test_bpc,eval_bpb\n1,20.0,3.0,1.25,0.9\n")
    table = read_log(path).set_index("metric")
    assert table.loc["val_ppl", "loss"] == pytest.approx(math.log(20.0), rel=1e-15)
    assert table.loc["train_bits", "loss"] == pytest.approx(3.0 * math.log(2), rel=1e-15)
    assert table.loc["test_bpc", "loss"] == 1.25
    assert table.loc["eval_bpb", "loss"] == 0.9
    assert table["unit"].tolist() == ["nats", "nats", "bits per character", "bits per byte"]
    assert table["split"].tolist() == ["validation", "train", "test", "validation"]
    assert ("metric 'val_ppl': split 'validation' (from its name), unit 'perplexity' (from its "
            "name); a perplexity, stored as nats (its log)") in notes(table)
    assert ("metric 'train_bits': split 'train' (from its name), unit 'bits' (from its name); "
            "bits converted to nats (× ln 2)") in notes(table)


@pytest.mark.parametrize("bad", [0, -1.0, float("inf"), "4096"])
def test_tokens_per_step_must_be_a_positive_number(log, bad):
    with pytest.raises(DataError, match=r"tokens_per_step=.* must be a positive number"):
        read_log(log, tokens_per_step=bad)


def test_unit_given_applies_to_every_metric(tmp_path):
    path = write(tmp_path, "step,val_loss,train_loss\n1,2.0,4.0\n")
    table = read_log(path, unit="bits")
    np.testing.assert_allclose(table["loss"], [2 * math.log(2), 4 * math.log(2)], rtol=1e-15)
    assert set(table["unit"]) == {"nats"}


def test_tokens_per_step_gives_tokens_and_batch_size(tmp_path):
    path = write(tmp_path, "iteration,loss\n10,3.0\n20,2.5\n")
    table = read_log(path, tokens_per_step=4096 * 512)
    np.testing.assert_array_equal(table["D"], [10 * 2097152, 20 * 2097152])
    np.testing.assert_array_equal(table["batch_size"], [2097152, 2097152])
    assert "D = step × 2097152 tokens per step (tokens_per_step=)" in notes(table)
    with pytest.raises(DataError, match=r"has tokens \(D\) already; leave out tokens_per_step="):
        read_log(write(tmp_path, "step,tokens,loss\n1,2,3\n", "t.csv"), tokens_per_step=2)
    with pytest.raises(DataError, match=r"tokens_per_step= needs steps, but no column was read "
                                        r"as step; name it with columns=\{'step': <column>\}"):
        read_log(write(tmp_path, "params,loss\n1,3\n", "p.csv"), tokens_per_step=2)


def test_non_finite_losses_are_dropped_and_listed_with_their_lines(tmp_path):
    path = write(tmp_path, "run,step,loss\nr,1,3.0\nr,2000000,nan\n\nr,3,inf\nr,4,\nr,5,2.5\n")
    table = read_log(path)
    assert table["step"].tolist() == [1.0, 5.0]
    assert dropped(table) == [
        {"line": 3, "row": 1, "reason": "'loss' of run 'r' at step 2000000 is nan, not a finite "
                                        "number"},
        {"line": 5, "row": 2, "reason": "'loss' of run 'r' at step 3 is inf, not a finite number"},
        {"line": 6, "row": 3, "reason": "'loss' of run 'r' at step 4 is nan, not a finite number"}]
    assert "values that are not finite numbers dropped (listed in dropped): 3" in notes(table)


def test_metric_selects_one_by_name_or_a_unique_part(log):
    table = read_log(log, metric="val")
    assert set(table["metric"]) == {"val_loss"} and len(table) == 4
    assert notes(table)[0].endswith("read as metrics: 'val_loss'; other metrics left out by "
                                    "metric='val': 'train/loss'; left out: 'grad_norm'")
    assert set(read_log(log, metric="train/loss")["metric"]) == {"train/loss"}
    with pytest.raises(DataError, match=r"no metric 'loss' \(2 metrics contain it: 'val_loss', "
                                        r"'train/loss'\); pass one of them as metric="):
        read_log(log, metric="loss")
    with pytest.raises(DataError, match=r"no metric 'ppl' \(metrics: 'val_loss', 'train/loss'\)"):
        read_log(log, metric="ppl")


# --- the mirrored W&B exports of OLMo-7B ---------------------------------------------------------

@requires_dataset(ICE_CE)
def test_olmo_wandb_export_has_36_runs_and_529_points():
    table = read_log(mirrored(ICE_CE))
    runs = sorted(set(table["run"]))
    assert len(runs) == 36 and len(table) == 529           # one run logged each of 529 steps
    assert runs[0] == "OLMo-7B-run-002" and runs[-1] == "OLMo-7B-run-038"
    assert "OLMo-7B-run-001" not in runs and "OLMo-7B-run-028" not in runs
    assert (table["step"].min(), table["step"].max()) == (21000, 556000)
    assert not table.duplicated(["run", "step"]).any()
    assert set(table["metric"]) == {"eval/ice-validation/CrossEntropyLoss"}
    assert set(table["split"]) == {"validation"} and set(table["unit"]) == {"nats"}
    first = table.iloc[0]
    assert (first["run"], first["step"]) == ("OLMo-7B-run-002", 21000)
    assert first["loss"] == 2.8338048458099365
    per_run = table.groupby("run")["step"].agg(["size", "min", "max"])
    assert per_run.loc["OLMo-7B-run-002"].tolist() == [19, 21000, 39000]
    assert per_run.loc["OLMo-7B-run-038"].tolist() == [6, 551000, 556000]
    assert per_run.loc["OLMo-7B-run-004"].tolist() == [1, 59000, 59000]
    assert table["loss"].between(2.3917, 2.9848).all()
    assert dropped(table) == []
    assert "18515 empty cells are points a run did not log: absent, not dropped" in notes(table)
    # W&B sampled every step here: each bucket holds one point, so __MIN = __MAX = the value
    np.testing.assert_array_equal(table["loss_min"], table["loss"])
    np.testing.assert_array_equal(table["loss_max"], table["loss"])


@pytest.mark.parametrize("ppl, ce", [
    pytest.param(ppl, ce, marks=[requires_dataset(ppl), requires_dataset(ce)], id=ppl[-30:-4])
    for ppl, ce in ((ICE_PPL, ICE_CE), (WIKI_PPL, WIKI_CE))])
def test_olmo_perplexity_export_in_nats_equals_the_cross_entropy_export(ppl, ce):
    nats = read_wandb_export(mirrored(ppl))
    loss = read_wandb_export(mirrored(ce))
    assert set(nats["unit"]) == {"nats"}
    metric = nats["metric"].iloc[0]
    assert metric.endswith("-validation/Perplexity")
    assert (f"metric {metric!r}: split 'validation' (from its name), unit 'perplexity' (from its "
            "name); a perplexity, stored as nats (its log)") in notes(nats)
    pd.testing.assert_frame_equal(nats[["run", "step"]], loss[["run", "step"]])
    # W&B logged both in float32: log(perplexity) matches the loss to 5.3e-8 relative at most
    for column in ("loss", "loss_min", "loss_max"):
        np.testing.assert_allclose(nats[column], loss[column], rtol=1e-7)
        assert not np.array_equal(nats[column], loss[column])


def test_wandb_export_keeps_min_and_max_and_drops_nan_cells(tmp_path):
    path = write(tmp_path, '"Step","r1 - val/ppl","r1 - val/ppl__MIN","r1 - val/ppl__MAX",'
                           '"r2 - val/ppl","r2 - val/ppl__MIN","r2 - val/ppl__MAX"\n'
                           '"10","8","4","16","","",""\n"20","NaN","","","2","1","2"\n')
    table = read_log(path)
    assert table[["run", "step"]].values.tolist() == [["r1", 10.0], ["r2", 20.0]]
    np.testing.assert_allclose(table["loss"], np.log([8, 2]), rtol=1e-15)
    np.testing.assert_allclose(table["loss_min"], np.log([4, 1]), rtol=1e-15)
    np.testing.assert_allclose(table["loss_max"], np.log([16, 2]), rtol=1e-15)
    assert dropped(table) == [{"line": 3, "row": 1, "reason": "'r1 - val/ppl' of run 'r1' at "
                                                             "step 20 is nan, not a finite number"}]
    assert "1 empty cells are points a run did not log: absent, not dropped" in notes(table)
    assert notes(table)[0].startswith("W&B export: 2 runs, metrics 'val/ppl', from the "
                                      "'<run> - <metric>' columns; x axis 'Step' read as step")
    with pytest.raises(DataError, match="is a W&B export, which names its runs; leave out run="):
        read_log(path, run="x")


# --- W&B histories and TensorBoard ---------------------------------------------------------------

def history(loss):
    """A run history as ``wandb.Api().run(...).history()`` returns it: val/loss every 2 steps."""
    return pd.DataFrame({"_step": [0, 1, 2, 3], "_runtime": [1.0, 2.0, 3.0, 4.0],
                         "_timestamp": [1.7e9, 1.7e9 + 1, 1.7e9 + 2, 1.7e9 + 3],
                         "train/loss": loss, "val/loss": [np.nan, 3.5, np.nan, 3.0],
                         "lr": [1e-4, 2e-4, 3e-4, 4e-4]})


def test_wandb_history_empty_cells_are_absent_and_runtime_left_out():
    table = from_wandb_history(history([4.0, 3.8, 3.6, 3.4]), run="r")
    assert len(table) == 6 and dropped(table) == []
    val = table[table["metric"] == "val/loss"]
    assert val["step"].tolist() == [1, 3] and val["loss"].tolist() == [3.5, 3.0]
    assert val["lr"].tolist() == [2e-4, 4e-4] and set(table["run"]) == {"r"}
    assert notes(table)[0] == ("detected: '_step' as step, 'lr' as lr; read as metrics: "
                               "'train/loss', 'val/loss'; left out: '_runtime', '_timestamp'")
    assert "2 empty cells are points a run did not log: absent, not dropped" in notes(table)


def test_wandb_histories_of_several_runs():
    table = from_wandb_history({"a": history([4.0] * 4), "b": history([3.0] * 4)},
                               metric="train")
    assert table.groupby("run")["loss"].mean().to_dict() == {"a": 4.0, "b": 3.0}
    assert table["step"].tolist() == [0, 1, 2, 3] * 2
    with pytest.raises(DataError, match="run= names a single history"):
        from_wandb_history({"a": history([4.0] * 4)}, run="a")


def write_events(root):
    """Two runs: "a" written by tensorboard.summary.Writer (tensor scalars, as TF2 logs them;
    step 20 twice), "b/seed1" as PyTorch's SummaryWriter logs (simple_value), with a NaN and a
    histogram."""
    from tensorboard.compat.proto import event_pb2, summary_pb2
    from tensorboard.summary import Writer
    from tensorboard.summary.writer.event_file_writer import EventFileWriter

    writer = Writer(str(root / "a"))
    for step, loss in ((0, 3.0), (10, 2.75), (20, 2.625), (20, 2.5)):
        writer.add_scalar("train/loss", loss, step)
        writer.add_scalar("learning_rate", 1e-3 * (step + 1), step)
    writer.close()
    events = EventFileWriter(str(root / "b" / "seed1"))
    for step, loss in ((5, 3.125), (15, float("nan")), (25, 2.0625)):
        value = summary_pb2.Summary.Value(tag="Loss/val", simple_value=loss)
        events.add_event(event_pb2.Event(wall_time=1.0, step=step,
                                         summary=summary_pb2.Summary(value=[value])))
    histogram = summary_pb2.Summary.Value(tag="weights", histo=summary_pb2.HistogramProto(
        min=0, max=1, num=2, bucket_limit=[1], bucket=[2]))
    events.add_event(event_pb2.Event(wall_time=1.0, step=5,
                                     summary=summary_pb2.Summary(value=[histogram])))
    events.close()


def test_tensorboard_round_trip_of_two_runs(tmp_path):
    write_events(tmp_path)
    table = read_log(tmp_path)
    assert table[["run", "step", "metric", "split"]].values.tolist() == [
        ["a", 0, "train/loss", "train"], ["a", 10, "train/loss", "train"],
        ["a", 20, "train/loss", "train"], ["b/seed1", 5, "Loss/val", "validation"],
        ["b/seed1", 25, "Loss/val", "validation"]]
    assert table["loss"].tolist() == [3.0, 2.75, 2.5, 3.125, 2.0625]
    np.testing.assert_array_equal(table["lr"][:3], np.float32([1e-3, 11e-3, 21e-3]))
    assert table["lr"][3:].isna().all()
    assert dropped(table) == [
        {"line": None, "row": None, "reason": "tag 'train/loss' of run 'a' logged twice at step "
                                              "20; the later value kept"},
        {"line": None, "row": None, "reason": "tag 'learning_rate' of run 'a' logged twice at "
                                              "step 20; the later value kept"},
        {"line": None, "row": 4, "reason": "'Loss/val' of run 'b/seed1' at step 15 is nan, not a "
                                           "finite number"}]
    assert "TensorBoard tags that are not scalars left out: 'weights'" in notes(table)
    assert ("detected: 'learning_rate' as lr; read as metrics: 'train/loss', 'Loss/val'; "
            "left out: nothing") in notes(table)


def test_tensorboard_single_file_is_a_run_named_by_its_directory(tmp_path):
    write_events(tmp_path)
    (event_file,) = (tmp_path / "a").iterdir()
    table = read_tensorboard(event_file)
    assert set(table["run"]) == {"a"} and len(table) == 3
    assert set(read_tensorboard(tmp_path / "b", run="seed-one")["run"]) == {"seed-one"}
    with pytest.raises(DataError, match=r"holds 2 runs \('a', 'b/seed1'\), named by their "
                                        r"directories; leave out run="):
        read_tensorboard(tmp_path, run="x")


def test_tensorboard_missing_says_how_to_install(tmp_path, monkeypatch):
    write_events(tmp_path)
    monkeypatch.setitem(sys.modules, "tensorboard.backend.event_processing", None)
    with pytest.raises(DataError, match=re.escape('pip install "scalefit[tensorboard]"')):
        read_tensorboard(tmp_path)


def test_a_directory_without_event_files_is_refused(tmp_path):
    with pytest.raises(DataError, match=r"no TensorBoard event files "
                                        r"\(events\.out\.tfevents\.\*\) in it or below"):
        read_log(tmp_path)


# --- errors --------------------------------------------------------------------------------------

def test_a_missing_file(tmp_path):
    with pytest.raises(DataError, match=r"absent\.csv: no such file\.$"):
        read_log(tmp_path / "absent.csv")
    with pytest.raises(DataError, match=r"export\.csv: no such file\.$"):
        read_wandb_export(tmp_path / "export.csv")
    with pytest.raises(DataError, match=r"runs: no such file or directory\.$"):
        read_tensorboard(tmp_path / "runs")


def test_an_unknown_suffix_or_format(tmp_path):
    path = write(tmp_path, "x", "log.xlsx")
    with pytest.raises(DataError, match=r"unknown log format '\.xlsx'.*format="):
        read_log(path)
    with pytest.raises(DataError, match=r"format='excel' is not one of 'csv', 'tsv'"):
        read_log(path, format="excel")


def test_a_csv_cut_mid_row_names_the_line(tmp_path):
    path = write(tmp_path, "step,loss,lr\n1,3.0,0.1\n2,2.9")
    with pytest.raises(DataError, match=r"log\.csv: line 3 has 2 fields but the header has 3; "
                                        r"the file looks cut short"):
        read_log(path)
    path = write(tmp_path, 'step,run,loss\n1,"a,3.0\n', "quote.csv")
    with pytest.raises(DataError, match=r"quote\.csv: line 2 cannot be read \(unexpected end of "
                                        r"data\); the file may be cut short inside a quoted"):
        read_log(path)


def test_a_jsonl_line_that_is_not_json_names_the_line(tmp_path):
    path = write(tmp_path, '{"step": 1, "loss": 3.0}\n\n{"step": 2, "loss": 2.\n', "log.jsonl")
    with pytest.raises(DataError, match=r"log\.jsonl: line 3 is not JSON \(.*\); the file may "
                                        r"be cut short"):
        read_log(path)
    path = write(tmp_path, '{"step": 1, "loss": 3.0}\n[1, 2]\n', "list.ndjson")
    with pytest.raises(DataError, match=r"line 2 holds a JSON list, not an object"):
        read_log(path)


def test_a_mapped_column_that_is_absent_is_named_with_the_columns(log):
    with pytest.raises(DataError, match=r"the DataFrame: columns= maps 'N' to 'n_param', which is "
                                        r"not a column \(columns: run, n_params, step, lr, "
                                        r"val_loss, train/loss, grad_norm\)\. Did you mean "
                                        r"'n_params'\?"):
        read_log(log, columns={"N": "n_param"})
    with pytest.raises(DataError, match=r"columns= maps 'tokens', which is not one of N, D, step"):
        read_log(log, columns={"tokens": "step"})


def test_text_in_a_numeric_column_names_the_column_and_line(tmp_path):
    path = write(tmp_path, "step,loss\n1,3.0\n2,oops\n")
    with pytest.raises(DataError, match=r"log\.csv: column 'loss' holds text \('oops' at line 3\) "
                                        r"where numbers belong"):
        read_log(path)
    path = write(tmp_path, '{"step": "ten", "loss": 3.0}\n', "log.jsonl")
    with pytest.raises(DataError, match=r"column 'step' holds text \('ten' at line 1\)"):
        read_log(path)


def test_an_unknown_unit(log):
    with pytest.raises(DataError, match=r"unit=: unknown unit 'nat/tok'\. Did you mean "):
        read_log(log, unit="nat/tok")


def test_no_loss_column(tmp_path):
    with pytest.raises(DataError, match=r"nothing looks like a loss among 'score'; name the loss "
                                        r"with columns=\{'loss': <column>\}"):
        read_log(write(tmp_path, "step,score\n1,2\n"))


def test_reading_logs_never_imports_jax():
    code = ("import sys, scalefit.data.logs; bad = [m for m in sys.modules "
            "if m.split('.')[0] == 'jax']; assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parents[1],
                   check=True)
