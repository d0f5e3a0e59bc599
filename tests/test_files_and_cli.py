"""Saved fits that cannot be misread, and command-line hygiene (part of the trustworthy-fits work)."""

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import scalefit
from scalefit.cli import app
from conftest import ROOT

runner = CliRunner()


@pytest.fixture()
def saved(example_fit, tmp_path):
    return example_fit.save(tmp_path / "fit.json")


def rewrite(path, change):
    d = json.loads(path.read_text())
    change(d)
    path.write_text(json.dumps(d))
    return path


def test_round_trip_gives_identical_predictions(example_fit, saved):
    loaded = scalefit.load(saved)
    N, D = np.geomspace(1e7, 1e11, 5), np.geomspace(1e9, 1e13, 5)
    with pytest.warns(scalefit.ExtrapolationWarning):      # 1e11 is 1.5 decades beyond 3e9
        np.testing.assert_array_equal(loaded.predict(N, D), example_fit.predict(N, D))
    pd.testing.assert_frame_equal(loaded.extrapolation(N, D), example_fit.extrapolation(N, D))
    pd.testing.assert_frame_equal(loaded.flags, example_fit.flags)
    assert json.loads(saved.read_text())["format"] == 1


@pytest.mark.parametrize("change, error, message", [
    (lambda d: d.pop("objective"), scalefit.DataError, r"field 'objective' is missing"),
    (lambda d: d.update(n_points="many"), scalefit.DataError, r"field 'n_points' is malformed"),
    (lambda d: d.update(convergence={"stop": "DONE"}), scalefit.DataError,
     r"field 'convergence' is malformed"),
    (lambda d: d.update(format=99, scalefit_version="9.0"), scalefit.DataError,
     r"file format 99 \(by scalefit 9.0\); this scalefit reads format 1 and older"),
    (lambda d: d.update(law="kaplan"), ValueError, r"has parameters .* but law 'kaplan' has"),
])
def test_every_corrupted_saved_fit_gets_a_one_line_error(saved, change, error, message):
    rewrite(saved, change)
    with pytest.raises(error, match=message) as info:
        scalefit.load(saved)
    assert "\n" not in str(info.value)


def test_a_truncated_or_foreign_file_is_named(saved, tmp_path):
    saved.write_text(saved.read_text()[:200])
    with pytest.raises(scalefit.DataError, match=r"not a scalefit fit: not readable as JSON"):
        scalefit.load(saved)
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(scalefit.DataError, match=r"holds a JSON list"):
        scalefit.load(tmp_path / "list.json")


def test_loading_with_a_different_law_is_refused(saved):
    from scalefit import Law, Param

    same_names = Law(name="other", inputs=("N", "D"),
                     params=tuple(Param(n) for n in scalefit.laws.chinchilla.param_names),
                     loss=lambda p, x: p["E"] + p["A"] / x["N"] ** p["alpha"] + p["B"] / x["D"] ** p["beta"])
    with pytest.raises(ValueError, match=r"holds a fit of law 'chinchilla', not 'other'"):
        scalefit.load(saved, law=same_names)


def test_saving_through_a_symlink_keeps_the_link(example_fit, tmp_path):
    target = tmp_path / "real.json"
    target.write_text("{}")
    link = tmp_path / "link.json"
    link.symlink_to(target)
    example_fit.save(link)
    assert link.is_symlink()
    assert json.loads(target.read_text())["law"] == "chinchilla"


def test_out_dash_writes_json_alone_on_stdout(example_path):
    result = runner.invoke(app, ["fit", str(example_path), "--out", "-"])
    assert result.exit_code == 0, result.output
    d = json.loads(result.stdout)
    assert d["law"] == "chinchilla" and d["format"] == 1
    assert "parameters:" in result.stderr


def test_bad_budget_is_an_error_on_stderr(example_path):
    result = runner.invoke(app, ["fit", str(example_path), "--budget", "-1e21"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --budget must be a positive, finite number")
    assert "parameters:" not in result.stdout


def test_version_and_a_closed_pipe(example_path):
    out = subprocess.run([sys.executable, "cli.py", "--version"], cwd=ROOT, capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0 and out.stdout.strip() == scalefit.__version__
    # `scalefit fit ... | head -1`: the reader leaves early; the command ends quietly with 0.
    env = {**os.environ, "SCALEFIT_JAX_CACHE": str(ROOT / ".jax_cache")}
    piped = subprocess.run(f"'{sys.executable}' cli.py fit '{example_path}' | head -1; "
                           "exit ${PIPESTATUS[0]}", shell=True, executable="/bin/bash", cwd=ROOT,
                           capture_output=True, text=True, env=env, timeout=300)
    assert piped.returncode == 0, piped.stderr
    assert piped.stdout.startswith("law: chinchilla")
    assert "Traceback" not in piped.stderr and "Broken pipe" not in piped.stderr


@pytest.mark.parametrize("text, message", [
    ("N,D,loss,loss\n1e8,1e9,3,3.1\n", r"column 'loss' appears twice in the header \(columns 3 and 4\)"),
    ("N;D;loss\n1e8;1e9;3\n", r"looks semicolon-separated \(its header is 'N;D;loss'\)"),
    ("N\tD\tloss\n1e8\t1e9\t3\n", r"looks tab-separated"),
])
def test_a_file_that_would_be_misread_is_refused(tmp_path, text, message):
    path = tmp_path / "runs.csv"
    path.write_text(text)
    with pytest.raises(scalefit.DataError, match=message):
        scalefit.fit(path)


def test_an_input_that_never_varies_is_named(example_path):
    import pandas as pd

    runs = pd.read_csv(example_path)
    one_size = runs[runs["N"] == runs["N"].iloc[0]]
    with pytest.raises(scalefit.DataError, match=r"every point has N = .* \(column 'N'\), so "
                                                 r"chinchilla cannot tell how the loss changes with N"):
        scalefit.fit(one_size)


def test_identical_rows_do_not_make_a_fit(example_path):
    import pandas as pd

    runs = pd.read_csv(example_path)
    copies = pd.concat([runs.iloc[[0, 20, 40]]] * 10, ignore_index=True)   # 3 sizes, 3 rows
    with pytest.raises(scalefit.DataError, match=r"only 3 distinct points among 30 rows .* "
                                                 r"chinchilla has 5 free parameters"):
        scalefit.fit(copies)


def test_the_report_says_what_was_fitted(example_path, tmp_path):
    import pandas as pd

    runs = pd.read_csv(example_path).rename(columns={"loss": "val_loss"})
    runs = runs.assign(C=6 * runs["N"] * runs["D"]).drop(columns="D")
    fit = scalefit.fit(runs, columns={"loss": "val_loss"}, unit="nats")
    text = fit.report()
    assert "N: column 'N' (found by name), 2e+07 to 3e+09" in text
    assert "D: C/(6N) (derived)" in text
    assert "loss (nats): column 'val_loss' (mapped by you), 2.119 to 6.411" in text
    q = fit.data["quality"]
    observed = runs["val_loss"].to_numpy()
    predicted = fit.predict(runs)
    r2 = 1 - np.sum((observed - predicted) ** 2) / np.sum((observed - observed.mean()) ** 2)
    assert q["r2"] == pytest.approx(r2, rel=1e-10)
    assert q["rmse_log"] == pytest.approx(np.sqrt(np.mean(fit.residuals ** 2)), rel=1e-12)
    assert f"R² on the loss {r2:.4f}" in text
    assert scalefit.load(fit.save(tmp_path / "fit.json")).data["unit"] == "nats"
    cli = runner.invoke(app, ["fit", str(example_path), "--unit", "bits per character"])
    assert cli.exit_code == 0 and "loss (bits per character): column 'loss'" in cli.output


def test_nearly_collinear_parameters_are_named():
    """N spanning only 1e8..1.2e8 with E free: E, A and alpha trade off (A's standard error is
    20x its value, |corr(log A, alpha)| > 0.99999; on Epoch's points it is 0.99974)."""
    import pandas as pd

    rng = np.random.default_rng(0)
    N = np.repeat(np.linspace(1e8, 1.2e8, 4), 6)
    D = np.tile(np.geomspace(1e9, 1e11, 6), 4)
    loss = (1.8 + 480 / N ** 0.35 + 2100 / D ** 0.37) * np.exp(rng.normal(0, 1e-3, N.size))
    fit = scalefit.fit(pd.DataFrame({"N": N, "D": D, "loss": loss}),
                       start={"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37})
    text = fit.report()
    assert "warning: A and alpha are correlated +1.000000" in text
    assert "--fix alpha=" in text
    assert "warning: A is weakly determined (standard error above 100% of the value)" in text


def test_the_canonical_fit_raises_no_such_warning(example_fit):
    assert "correlated" not in example_fit.report()


def test_a_fit_that_did_not_converge_prints_no_allocation_unless_asked(example_path):
    result = runner.invoke(app, ["fit", str(example_path), "--max-steps", "3"])
    assert result.exit_code == 3
    assert "compute-optimal allocation" not in result.stdout
    assert "the fit did not converge (pass --budget" in result.stderr
    asked = runner.invoke(app, ["fit", str(example_path), "--max-steps", "3", "--budget", "1e21"])
    assert asked.exit_code == 3 and "compute-optimal allocation" in asked.stdout
