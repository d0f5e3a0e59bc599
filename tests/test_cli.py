"""The command line: a thin layer over the API, one-line errors, exit codes."""

import json
import subprocess
import sys

from typer.testing import CliRunner

from scalefit.cli import app

runner = CliRunner()


def test_fit_prints_parameters_convergence_and_allocation(example_path, tmp_path):
    out = tmp_path / "fit.json"
    result = runner.invoke(app, ["fit", str(example_path), "--law", "chinchilla",
                                 "--out", str(out), "--budget", "1e21", "--budget", "1e23"])
    assert result.exit_code == 0, result.output
    assert "alpha = 0.35" in result.output
    assert "converged: gradient and last step below tolerance" in result.output
    assert "compute-optimal allocation" in result.output
    lines = [line.split() for line in result.output.splitlines()]
    budgets = [row[0] for row in lines if row and row[0] in ("1e+21", "1e+23")]
    assert budgets == ["1e+21", "1e+23"]
    saved = json.loads(out.read_text())
    assert saved["law"] == "chinchilla" and saved["params"]["alpha"] > 0.3


def test_fix_tie_and_column_options(example_path, tmp_path):
    renamed = tmp_path / "runs.csv"
    renamed.write_text(example_path.read_text().replace("N,D,loss", "params,tokens,val_loss", 1))
    result = runner.invoke(app, ["fit", str(renamed), "--column", "N=params", "--column",
                                 "D=tokens", "--column", "loss=val_loss", "--fix", "E=1.82",
                                 "--tie", "beta=alpha"])
    assert result.exit_code == 0, result.output
    assert "E = 1.82 (fixed)" in result.output
    assert "(tied to alpha)" in result.output


def test_bootstrap_prints_intervals_and_bands_and_saves_the_draws(example_path, tmp_path):
    import pandas as pd

    runs = pd.read_csv(example_path).assign(model=lambda d: d["N"].rank(method="dense"))
    path = tmp_path / "runs.csv"
    runs.to_csv(path, index=False)
    out = tmp_path / "fit.json"
    result = runner.invoke(app, ["fit", str(path), "--group", "model", "--bootstrap", "64",
                                 "--level", "0.9", "--budget", "1e21", "--out", str(out)])
    assert result.exit_code == 0, result.output
    n_runs = runs["model"].nunique()
    assert f"64 resamples of {n_runs} runs (whole groups), seed 0" in result.output
    assert "90% bootstrap interval" in result.output and "N_lower" in result.output
    assert (tmp_path / "fit.bootstrap.npz").is_file()
    assert json.loads(out.read_text())["bootstrap"]["by"] == "group"
    rows = runner.invoke(app, ["fit", str(path), "--bootstrap", "16", "--by", "row"])
    assert rows.exit_code == 0 and "16 resamples of 96 rows" in rows.output


def test_bad_input_exits_2_with_one_line(tmp_path):
    bad = tmp_path / "runs.csv"
    bad.write_text("N,D,loss\n1e8,1e9,3.0\n1e8,1e10,nan\n")
    for args, message in [
        (["fit", str(tmp_path / "missing.csv")], "missing.csv"),
        (["fit", str(bad)], "column 'loss' must be positive and finite"),
        (["fit", str(bad), "--law", "chinchila"], "Did you mean 'chinchilla'?"),
        (["fit", str(bad), "--fix", "E"], "--fix takes NAME=VALUE"),
        (["fit", str(bad), "--fix", "E=abc"], "is not a number"),
        (["fit", str(bad), "--group", "run"], "no column 'run'"),
    ]:
        result = runner.invoke(app, args)
        assert result.exit_code == 2, (args, result.output)
        assert result.stderr.startswith("error: ") and message in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
        assert "Traceback" not in result.output


def test_a_fit_that_does_not_converge_exits_3(example_path):
    result = runner.invoke(app, ["fit", str(example_path), "--max-steps", "3"])
    assert result.exit_code == 3, result.output
    assert "NOT converged: ran out of steps; raise max_steps" in result.output


def test_laws_lists_every_law():
    result = runner.invoke(app, ["laws"])
    assert result.exit_code == 0
    for name in ("chinchilla", "kaplan", "power_C", "power_D", "power_N"):
        assert result.output.count(f"{name}:") == 1


def test_help_and_the_data_layer_do_not_import_jax():
    code = ("import sys, scalefit, scalefit.cli, scalefit.data; "
            "from typer.testing import CliRunner; "
            "r = CliRunner().invoke(scalefit.cli.app, ['--help']); "
            "assert r.exit_code == 0; print('jax' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
