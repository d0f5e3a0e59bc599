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
from conftest import EPOCH_PATH, requires_dataset
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
    lines = out.stdout.strip().splitlines()      # title, columns, rule, one row per point
    assert len(lines) == 5 and lines[1].split() == ["N", "D", "loss", "lower", "upper",
                                                    "decades_beyond"]
    assert [float(v) for v in lines[3].split()[:2]] == [1e9, 2e10]
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


@pytest.mark.parametrize("args", [["laws"], ["data", "list"], ["backtest", "{example}"],
                                  pytest.param(["data", "fetch", "chinchilla"],
                                               marks=requires_dataset(EPOCH_PATH))])
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
    as_json = runner.invoke(app, ["plot", "frontier", str(saved), "--out", str(tmp_path / "f.pdf"),
                                  "--json"])
    assert json.loads(as_json.stdout) == [{"plot": "frontier", "path": str(tmp_path / "f.pdf"),
                                           "bytes": (tmp_path / "f.pdf").stat().st_size}]
    unknown = runner.invoke(app, ["plot", "violin", str(EXAMPLE), "--out", "v.png"])
    assert unknown.exit_code == 2 and "unknown plot 'violin'" in unknown.stderr


def test_predictions_from_a_saved_fit_import_neither_jax_nor_pandas(saved):
    """`scalefit predict / tokens / optimal` on a saved fit run in numpy alone, and print the
    numbers the API computes with JAX loaded."""
    probe = ("import sys, json\n"
             "from scalefit.cli import main\n"
             "sys.argv = ['scalefit'] + json.loads(sys.argv[1])\n"
             "try:\n    main()\nexcept SystemExit as e:\n    code = e.code\n"
             "print(json.dumps(sorted(m for m in ('jax', 'pandas', 'scipy') if m in sys.modules)),"
             " file=sys.stderr)\n")
    fit = scalefit.load(saved)
    for args, expected in [
        (["predict", str(saved), "--at", "N=3e9,D=1e11", "--json"],
         lambda out: out[0]["upper"] == pytest.approx(fit.predict(N=3e9, D=1e11)["upper"][0],
                                                      rel=1e-12)),
        (["tokens", str(saved), "--loss", "2.5", "--N", "1e9", "--json"],
         lambda out: out[0]["D"] == pytest.approx(fit.tokens(2.5, 1e9)["D"][0], rel=1e-12)),
        (["optimal", str(saved), "--budget", "1e22", "--json"],
         lambda out: out[0]["N_upper"] == pytest.approx(fit.optimal(1e22).band["N"][1], rel=1e-12)),
    ]:
        done = subprocess.run([sys.executable, "-c", probe, json.dumps(args)], capture_output=True,
                              text=True, timeout=120)
        assert json.loads(done.stderr.strip().splitlines()[-1]) == [], args
        assert expected(json.loads(done.stdout)), args


def test_numpy_and_jax_evaluate_every_built_in_law_alike():
    """The built-in laws are written once against the array API: numpy (quick predictions) and
    JAX (fits) give the same loss to 12 significant digits."""
    import jax

    from scalefit import predict
    from scalefit.laws import LAW_NAMES, get_law

    rng = np.random.default_rng(0)
    for name in LAW_NAMES:
        law = get_law(name)
        assert law.array_api, name
        p = {q.name: float(rng.uniform(min(q.grid), max(q.grid))) if len(q.grid) > 1
             else q.grid[0] for q in law.params}
        if law.context or "w" in law.inputs:          # loss-curve laws: schedule terms
            from scalefit.data.schedule_sums import join, terms
            from scalefit.schedules import cosine

            x = join([terms(cosine(peak=3e-4, floor=3e-5, warmup=100, total=2000).rates(),
                            np.arange(50, 2000, 50))])
        else:
            x = {n: 10 ** rng.uniform(7, 11, 64) for n in law.inputs}
        in_numpy = predict.evaluate(law, p, x)
        with jax.enable_x64(True):
            in_jax = np.asarray(jax.jit(law.loss_fn())({k: np.float64(v) for k, v in p.items()},
                                                       x, {}))
        np.testing.assert_allclose(in_numpy, in_jax, rtol=1e-12, err_msg=name)


def test_a_fit_names_each_stage_as_it_starts(example_path):
    """The stages the command line's live progress line shows: reading, fitting, bootstrap."""
    stages = []
    scalefit.fit(example_path, bootstrap=20, progress=stages.append)
    assert stages == [f"reading {example_path}", "fitting chinchilla (96 points)",
                      "bootstrap (20 refits)"]
