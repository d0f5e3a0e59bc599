"""Predicting from a saved fit in the shell: `scalefit predict`, `tokens`, `optimal`, `show`,
and `--json` output that scripts can parse."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import scalefit
from scalefit.cli import app

EXAMPLE = Path(__file__).resolve().parents[1] / "data" / "example_runs.csv"


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """The example fitted with a small bootstrap and saved, through the command line."""
    path = tmp_path_factory.mktemp("fit") / "fit.json"
    result = CliRunner().invoke(app, ["fit", str(EXAMPLE), "--bootstrap", "100", "--out",
                                      str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_predict_tokens_and_optimal_give_the_apis_numbers_as_json(saved):
    fit = scalefit.load(saved)
    runner = CliRunner()
    out = runner.invoke(app, ["predict", str(saved), "--at", "N=7e10,D=1.4e12", "--at",
                              "N=1e9,D=2e10", "--json"])
    assert out.exit_code == 0, out.output
    rows = json.loads(out.stdout)
    with pytest.warns(scalefit.ExtrapolationWarning):
        api = fit.predict(N=[7e10, 1e9], D=[1.4e12, 2e10])
    assert [r["loss"] for r in rows] == pytest.approx(api["loss"].tolist(), rel=1e-12)
    assert [r["upper"] for r in rows] == pytest.approx(api["upper"].tolist(), rel=1e-12)
    assert rows[0]["N"] == 7e10 and rows[0]["decades_beyond"] > 1
    assert "1.4 decades above the largest fitted N" in out.stderr
    tokens = json.loads(runner.invoke(app, ["tokens", str(saved), "--loss", "2.5", "--N", "1e9",
                                            "--json"]).stdout)
    assert tokens[0]["D"] == pytest.approx(float(fit.tokens(2.5, 1e9)["D"].iloc[0]), rel=1e-12)
    best = json.loads(runner.invoke(app, ["optimal", str(saved), "--budget", "1e22",
                                          "--json"]).stdout)
    alloc = fit.optimal(1e22)
    assert best[0]["N"] == pytest.approx(float(alloc.N), rel=1e-12)
    assert best[0]["loss_lower"] < best[0]["loss"] < best[0]["loss_upper"]


def test_predict_reads_a_csv_of_points_and_show_prints_the_report(saved, tmp_path):
    points = tmp_path / "plan.csv"
    pd.DataFrame({"N": [1e9, 2e9], "D": [2e10, 4e10]}).to_csv(points, index=False)
    out = CliRunner().invoke(app, ["predict", str(saved), "--csv", str(points)])
    assert out.exit_code == 0 and out.stdout.startswith("chinchilla: predicted loss")
    assert len(out.stdout.strip().splitlines()) == 4          # header, columns, two rows
    shown = CliRunner().invoke(app, ["show", str(saved)])
    assert shown.exit_code == 0 and shown.stdout.startswith("law: chinchilla")
    as_json = json.loads(CliRunner().invoke(app, ["show", str(saved), "--json"]).stdout)
    assert as_json["params"] == scalefit.load(saved).params


@pytest.mark.parametrize("args, message", [
    (["predict", "missing.json", "--at", "N=1e9,D=2e10"], "missing.json: no such file"),
    (["predict", "{example}", "--at", "N=1e9,D=2e10"], "is not a scalefit fit"),
    (["predict", "{saved}", "--at", "N=1e9"], "--at takes N=VALUE,D=VALUE for this law"),
    (["predict", "{saved}"], "give the points to predict at"),
    (["tokens", "{saved}", "--loss", "2.5"], "give the model size: --N VALUE"),
    (["fit", "{example}", "--law", "chinchila"], "chinchila"),
    (["fit", "{example}", "--column", "N=size"], "size"),
])
def test_bad_invocations_exit_2_with_one_line(saved, args, message):
    args = [a.format(example=EXAMPLE, saved=saved) for a in args]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_the_installed_command_prints_one_json_document(tmp_path):
    command = shutil.which("scalefit") or str(Path(sys.executable).with_name("scalefit"))
    if not Path(command).exists():
        pytest.skip("the scalefit command is not installed (pip install -e .)")
    done = subprocess.run([command, "fit", str(EXAMPLE), "--json"], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    saved = json.loads(done.stdout)                        # one document, nothing else
    api = scalefit.fit(EXAMPLE)
    assert saved["law"] == "chinchilla"
    np.testing.assert_allclose([saved["params"][k] for k in api.params],
                               list(api.params.values()), rtol=1e-9)
    assert "law: chinchilla" in done.stderr                 # the report went to stderr


@pytest.mark.parametrize("args", [["laws"], ["data", "list"], ["backtest", "{example}"]])
def test_listing_commands_print_one_json_document(args):
    result = CliRunner().invoke(app, [a.format(example=EXAMPLE) for a in args] + ["--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)
    assert isinstance(rows, list) and rows and all(isinstance(r, dict) for r in rows)


def test_the_curve_command_prints_the_predicted_curve_as_json(tmp_path):
    steps = np.arange(100, 3000, 100)
    runs = tmp_path / "runs.csv"
    pd.DataFrame({"step": steps, "loss": 2.6 + 0.6 * (3e-4 * steps) ** -0.45}).to_csv(runs,
                                                                                      index=False)
    result = CliRunner().invoke(app, ["curve", str(runs), "--law", "lr_annealing", "--schedule",
                                      "constant:peak=3e-4,total=3000", "--predict",
                                      "cosine:peak=3e-4,floor=3e-5,total=3000", "--json"])
    assert result.exit_code in (0, 3), result.output
    rows = json.loads(result.stdout)
    assert len(rows) == 2999 and set(rows[0]) == {"step", "lr", "loss"}


def test_the_plot_command_draws_from_runs_or_a_saved_fit(saved, tmp_path):
    import matplotlib.image

    runner = CliRunner()
    for kind, source, extra in (("fit", EXAMPLE, []), ("frontier", saved, ["--budget", "1e22"]),
                                ("residuals", saved, ["--data", str(EXAMPLE)])):
        out = tmp_path / f"{kind}.png"
        result = runner.invoke(app, ["plot", kind, str(source), "--out", str(out), *extra])
        assert result.exit_code == 0, result.output
        image = matplotlib.image.imread(out)
        assert image.shape[0] > 300 and image.std() > 0.01      # drawn, not blank
    steps = np.arange(100, 3000, 100)
    runs = tmp_path / "runs.csv"
    pd.DataFrame({"step": steps, "loss": 2.6 + 0.6 * (3e-4 * steps) ** -0.45}).to_csv(runs,
                                                                                      index=False)
    curve = runner.invoke(app, ["plot", "curve", str(runs), "--law", "lr_annealing",
                                "--schedule", "constant:peak=3e-4,total=3000", "--predict",
                                "cosine:peak=3e-4,floor=3e-5,total=3000",
                                "--out", str(tmp_path / "curve.svg")])
    assert curve.exit_code == 0, curve.output
    assert (tmp_path / "curve.svg").read_text().lstrip().startswith("<?xml")
    bad = runner.invoke(app, ["plot", "residuals", str(saved), "--out", str(tmp_path / "r.png")])
    assert bad.exit_code == 2 and "needs the data fitted" in bad.stderr
    unknown = runner.invoke(app, ["plot", "violin", str(EXAMPLE), "--out", "v.png"])
    assert unknown.exit_code == 2 and "unknown plot 'violin'" in unknown.stderr
