"""From public data and users' logs to a fitted law with no glue code: `scalefit data` and
`scalefit fit --metric` on the mirrored GPT-3 curves and OLMo Weights & Biases exports."""

import os
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import scalefit
from scalefit.cli import app
from scalefit.data.datasets import _registry
from conftest import requires_dataset

COLPRET = "IBM/ColPret/16f23bbe054277ddc4afd07a972dd7cfbe3f48c3"
EXPORT = f"{COLPRET}/raw_data/OLMO/wandb_export_2024-02-23T14_58_09.703-05_00.csv"
OLMO_7B_TOKENS_PER_STEP = 2160 * 2048       # 2,160 sequences of 2,048 tokens (OLMo-7B's config)


def test_data_list_names_every_dataset_with_its_licence_and_paper():
    result = CliRunner().invoke(app, ["data", "list"])
    assert result.exit_code == 0
    for name, ds in _registry().items():
        assert f"{name}: {ds.description}" in result.stdout
        assert f"licence: {ds.licence}; cite: {ds.citation}" in result.stdout
    assert len(_registry()) >= 14


def test_data_show_names_an_unknown_dataset_and_its_closest_match():
    result = CliRunner().invoke(app, ["data", "show", "gtp3"])
    assert result.exit_code == 2 and "Unknown dataset 'gtp3'. Did you mean 'gpt3'?" in result.stderr


@requires_dataset(f"{COLPRET}/raw_data/gpt3/extracted.csv")
def test_gpt3_curves_go_from_fetch_to_a_fitted_law(tmp_path):
    runner = CliRunner()
    fetched = runner.invoke(app, ["data", "fetch", "gpt3"])
    assert fetched.exit_code == 0
    assert fetched.stdout.startswith("gpt3: ") and fetched.stdout.strip().endswith("extracted.csv")
    table = tmp_path / "gpt3.csv"
    shown = runner.invoke(app, ["data", "show", "gpt3", "--out", str(table)])
    assert shown.exit_code == 0 and "12097 rows, 8 runs" in shown.stdout
    assert any(line.split()[:4] == ["val_loss", "validation", "nats", "6506"]
               for line in shown.stdout.splitlines())
    fitted = runner.invoke(app, ["fit", str(table), "--metric", "val_loss", "--law", "chinchilla"])
    assert fitted.exit_code == 0, fitted.output
    assert "6506 points fitted" in fitted.stdout
    assert "metric 'val_loss' selected (6506 rows); left out: 'train_loss'" in fitted.stdout
    assert "groups: 8 runs" in fitted.stdout and "converged" in fitted.stdout
    fit = scalefit.fit(table, metric="val", law="chinchilla")   # the API, a part of the name
    assert fit.n_points == 6506 and fit.data["unit"] == "nats"
    assert 0.2 < fit.params["alpha"] < 0.3 and 1.3 < fit.params["E"] < 1.6


@requires_dataset(EXPORT)
def test_a_wandb_export_is_fitted_with_no_glue_code():
    export = Path(os.environ["SCALEFIT_DATA_DIR"]) / EXPORT
    result = CliRunner().invoke(app, ["fit", str(export), "--law", "power_D", "--metric",
                                      "CrossEntropyLoss", "--tokens-per-step",
                                      str(OLMO_7B_TOKENS_PER_STEP)])
    assert result.exit_code == 0, result.output
    assert "529 points fitted" in result.stdout and "groups: 36 runs" in result.stdout
    assert "W&B export: 36 runs" in result.stdout
    fit = scalefit.fit(export, law="power_D", tokens_per_step=OLMO_7B_TOKENS_PER_STEP)
    assert fit.convergence.ok and fit.n_points == 529
    assert fit.data["inputs"]["D"]["max"] == pytest.approx(556000 * OLMO_7B_TOKENS_PER_STEP)
    tidy = scalefit.data.read_log(export, tokens_per_step=OLMO_7B_TOKENS_PER_STEP)
    same = scalefit.fit(tidy, law="power_D")                      # the tidy table itself
    assert same.params == pytest.approx(fit.params, rel=1e-10)


def test_a_log_without_the_laws_inputs_says_which_columns_it_has(tmp_path):
    log = tmp_path / "log.jsonl"
    pd.DataFrame({"step": [100, 200, 300, 400, 500], "train/loss": [4.0, 3.5, 3.3, 3.2, 3.1]}
                 ).to_json(log, orient="records", lines=True)
    result = CliRunner().invoke(app, ["fit", str(log), "--law", "chinchilla"])
    assert result.exit_code == 2 and "has no column 'N'" in result.stderr


@requires_dataset("step-law/steplaw/32a8f4cc50247695fb56cc6c9117abdf67c97763/data/"
                  "dense_lr_bs_loss.csv")
def test_the_hyper_command_refits_step_law_and_predicts_a_planned_run():
    grid = (Path(os.environ["SCALEFIT_DATA_DIR"]) / "step-law/steplaw/32a8f4cc50247695fb56cc6c9117"
            "abdf67c97763/data/dense_lr_bs_loss.csv")
    result = CliRunner().invoke(app, ["hyper", str(grid), "--seq-len", "2048", "--bootstrap",
                                      "200", "--predict", "N=7e9,D=1.4e12"])
    assert result.exit_code == 0, result.output
    assert "near-best runs (loss <= cell min · (1 + 0.0025)): 129" in result.stdout
    assert "lr a (N)                -0.7662" in result.stdout
    assert "only 5 distinct N" in result.stdout
    preset = [line.strip() for line in result.stdout.splitlines()
              if line.strip().endswith("(Li et al. 2025)") and line.strip().startswith("7e+09")]
    assert preset and "0.0009166" in preset[0] and "4.999e+06" in preset[0]
    assert "1.1 decades above the largest fitted D" in result.stderr
    bad = CliRunner().invoke(app, ["hyper", str(grid), "--predict", "N=7e9"])
    assert bad.exit_code == 2 and "--predict takes N=VALUE,D=VALUE" in bad.stderr


@requires_dataset("epoch-research/analyzing-chinchilla/92258837425e1b5f2851d624287f0120583a3d0e/"
                  "data/svg_extracted_data.csv")
def test_the_optimal_command_prints_the_approaches_side_by_side(tmp_path):
    points = tmp_path / "chinchilla.csv"
    scalefit.data.read_chinchilla(epoch_filter=True).to_csv(points, index=False)
    budgets = [a for c in ("6e18", "1e19", "3e19", "6e19", "1e20", "3e20", "6e20", "1e21", "3e21")
               for a in ("--isoflop", c)]
    result = CliRunner().invoke(app, ["optimal", str(points), "--approach", "2", "--approach",
                                      "3", "--bootstrap", "50", "--budget", "1e21", *budgets])
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    iso = next(line for line in lines if line.startswith("2 IsoFLOP"))
    assert float(iso.split()[2]) == pytest.approx(0.5111, abs=5e-4)   # a, Hoffmann: 0.49
    assert any(line.startswith("3 parametric") for line in lines)
    assert not any(line.startswith("1 envelope") for line in lines)
    bad = CliRunner().invoke(app, ["optimal", str(points), "--approach", "4"])
    assert bad.exit_code == 2 and "--approach takes 1, 2, 3 or all" in bad.stderr
