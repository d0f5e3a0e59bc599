"""Trustworthy fits: flagged points (diverged, duplicates, leverage, outliers), designs that
cannot separate two terms, a parameter that ran away, and predictions labelled as extrapolations."""

import warnings

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import scalefit
from scalefit.cli import app
from scalefit.data.flags import flag_points
from conftest import requires_dataset

runner = CliRunner()
STEP_LAW = "step-law/steplaw/32a8f4cc50247695fb56cc6c9117abdf67c97763/data/dense_lr_bs_loss.csv"
TRUTH = {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}


def sweep(seed=0):
    """A Chinchilla sweep: 5 sizes x 6 token counts, 1% noise."""
    rng = np.random.default_rng(seed)
    N = np.repeat(np.geomspace(3e7, 3e9, 5), 6)
    D = np.tile(np.geomspace(1e9, 3e11, 6), 5)
    t = TRUTH
    loss = (t["E"] + t["A"] / N ** t["alpha"] + t["B"] / D ** t["beta"]) \
        * np.exp(rng.normal(0, 0.01, N.size))
    return pd.DataFrame({"N": N, "D": D, "loss": loss})


def same_fit(a, b, rel=1e-9):
    for name in a.params:
        assert a.params[name] == pytest.approx(b.params[name], rel=rel), name


def diverged_sweep():
    """The sweep with three diverged runs (losses of 6.5, 9 and 11, as in the Step Law grid)."""
    clean = sweep()
    bad = pd.DataFrame({"N": [3e8, 3e9, 3e7], "D": [3e10, 1e11, 3e11], "loss": [6.5, 9.0, 11.0]})
    return clean, pd.concat([clean, bad], ignore_index=True)


@pytest.fixture(scope="module")
def clean_fit():
    return scalefit.fit(sweep())


def test_diverged_points_are_flagged_by_the_stated_rule_and_drop_matches_the_clean_fit(clean_fit):
    clean, runs = diverged_sweep()
    kept = scalefit.fit(runs)
    flags = kept.flags
    assert list(flags.columns) == ["line", "row", "run", "rule", "value", "reason", "dropped"]
    diverged = flags[flags["rule"] == "diverged"]
    assert diverged["row"].tolist() == [30, 31, 32]
    assert (diverged["value"] > 1.5).all() and not diverged["dropped"].any()
    assert "flagged diverged: 3 points (loss above 1.5x the lowest loss of any point that used no " \
           "more of any input), kept in the fit (--drop diverged leaves them out)" in kept.report()
    dropped = scalefit.fit(runs, drop=["diverged"])
    same_fit(dropped, clean_fit)
    assert dropped.n_points == 30 and [d.row for d in dropped.dropped] == [30, 31, 32]
    assert dropped.dropped[0].reason.startswith("dropped as diverged: loss 6.5 is ")
    assert dropped.flags["dropped"].sum() == 3
    # The threshold is an option: at 3.3x only the losses of 9 and 11 count.
    strict = scalefit.fit(runs, thresholds={"diverged": 3.3})
    assert strict.flags.query("rule == 'diverged'")["row"].tolist() == [31, 32]


def test_a_spike_in_a_training_curve_is_flagged_within_its_run():
    D = np.geomspace(1e8, 1e10, 40)
    loss = 2.0 + 30 / D ** 0.2
    loss[25] *= 2.0
    inputs = {"N": np.full(40, 1e8), "D": D}
    flags, notes = flag_points(inputs, loss, np.zeros(40, np.int32),
                               {"diverged": 1.5, "leverage": 2.0})
    assert [(f.index, f.rule) for f in flags] == [(25, "diverged")] and not notes


@requires_dataset(STEP_LAW)
def test_the_step_law_grid_has_its_diverged_runs_flagged_and_dropped():
    """Step Law's dense grid (Li et al. 2025): 181 runs with losses of 6.9-11.1 among 2.1-3.3.
    Each loss divided by the best loss at its (N, D) is above 1.7 for those and below 1.25 for
    all others, so the rule at 1.5x finds exactly them."""
    path = scalefit.data.data_dir() / STEP_LAW
    raw = pd.read_csv(path)
    ratio = raw["loss"] / raw.groupby(["N", "D"])["loss"].transform("min")
    bad = ratio > 1.5
    assert bad.sum() == 181
    quick = {"n_solve": 4, "max_steps": 500}
    with pytest.warns(scalefit.ConvergenceWarning, match="E ran away toward 0"):
        dropped = scalefit.fit(path, drop=["diverged"], **quick)
    flagged = dropped.flags.query("rule == 'diverged'")
    assert sorted(flagged["line"]) == sorted(np.flatnonzero(bad) + 2)
    assert sorted(d.line for d in dropped.dropped) == sorted(np.flatnonzero(bad) + 2)
    with pytest.warns(scalefit.ConvergenceWarning):
        same_fit(dropped, scalefit.fit(raw[~bad], **quick), rel=1e-12)
    # N spans 2e8..1e9 only: E runs toward 0 and the report names it, in command-line words.
    assert not dropped.convergence.ok and dropped.params["E"] < 1e-3
    text = dropped.report()
    assert "warning: E ran away toward 0:" in text and "--fix E=VALUE" in text
    assert "raise max_steps" not in text


def test_duplicate_rows_are_flagged_and_can_be_dropped(clean_fit):
    runs = sweep()
    doubled = pd.concat([runs, runs.iloc[:10]], ignore_index=True)
    fit = scalefit.fit(doubled)
    dup = fit.flags.query("rule == 'duplicates'")
    assert dup["row"].tolist() == list(range(30, 40))
    assert dup["reason"].iloc[0] == "repeats an earlier row exactly (row 0)"
    same_fit(scalefit.fit(doubled, drop="duplicates"), clean_fit, rel=1e-12)


def test_one_point_far_outside_the_rest_is_flagged_as_leverage(clean_fit):
    runs = sweep()
    far = pd.concat([runs, pd.DataFrame({"N": [1e30], "D": [1e10], "loss": [2.2]})],
                    ignore_index=True)
    fit = scalefit.fit(far)
    lev = fit.flags.query("rule == 'leverage'")
    assert lev["row"].tolist() == [30]
    assert lev["value"].iloc[0] == pytest.approx(30 - np.log10(3e9))
    assert "N = 1e+30 is 20.5 decades above the bulk of the data" in lev["reason"].iloc[0]
    same_fit(scalefit.fit(far, drop=["leverage"]), clean_fit, rel=1e-12)
    # Evenly spread sizes are not flagged, however wide the range.
    assert clean_fit.flags.empty


def test_outliers_are_flagged_from_the_residuals_and_dropping_refits_without_them():
    runs = sweep()
    runs.loc[14, "loss"] *= 1.3
    fit = scalefit.fit(runs)
    out = fit.flags.query("rule == 'outliers'")
    assert out["row"].tolist() == [14] and out["value"].iloc[0] > 5
    refit = scalefit.fit(runs, drop=["outliers"])
    assert refit.n_points == 29 and refit.dropped[0].row == 14
    same_fit(refit, scalefit.fit(runs.drop(index=14)), rel=1e-12)


def test_rules_and_thresholds_are_checked(example_path):
    with pytest.raises(ValueError, match="unknown rule 'diverge'; the rules are diverged, "
                                         "duplicates, leverage, outliers"):
        scalefit.fit(sweep(), drop=["diverge"])
    with pytest.raises(ValueError, match="the diverged threshold must be a finite number above 1"):
        scalefit.fit(sweep(), thresholds={"diverged": 0.5})
    cli = runner.invoke(app, ["fit", str(example_path), "--drop", "nonsense"])
    assert cli.exit_code == 2 and "unknown rule 'nonsense'" in cli.stderr


def test_flags_survive_a_save_and_load(tmp_path):
    _, runs = diverged_sweep()
    fit = scalefit.fit(runs, drop=["diverged"])
    loaded = scalefit.load(fit.save(tmp_path / "fit.json"))
    pd.testing.assert_frame_equal(loaded.flags, fit.flags)
    assert loaded.options["drop"] == ("diverged",)


def test_the_cli_drops_flagged_points_and_lists_them(tmp_path):
    _, runs = diverged_sweep()
    path = tmp_path / "runs.csv"
    runs.to_csv(path, index=False)
    result = runner.invoke(app, ["fit", str(path), "--drop", "diverged"])
    assert result.exit_code == 0, result.output
    assert "flagged diverged: 3 points" in result.stdout and "dropped (3 of 3)" in result.stdout
    assert "dropped: line 32: dropped as diverged: loss 6.5 is" in result.stdout
    more = runner.invoke(app, ["fit", str(path), "--threshold", "diverged=3.3"])
    assert "flagged diverged: 2 points (loss above 3.3x" in more.stdout


# --- designs that cannot separate two terms --------------------------------------------------

def test_runs_all_at_one_tokens_per_parameter_cannot_separate_n_from_d():
    N = np.geomspace(1e7, 1e10, 12)
    runs = pd.DataFrame({"N": N, "D": 20 * N, "loss": 2 + 400 / N ** 0.3})
    with pytest.raises(scalefit.DataError, match=r"the DataFrame: N and D vary together \(at "
                                                 r"every point D ≈ 20·N\^1\), so chinchilla "
                                                 r"cannot separate the effect of N from that of "
                                                 r"D\. Add runs off that line"):
        scalefit.fit(runs)


# --- extrapolation labels --------------------------------------------------------------------

def test_a_prediction_two_decades_beyond_the_data_is_labelled(clean_fit):
    N_max = clean_fit.data["inputs"]["N"]["max"]
    with pytest.warns(scalefit.ExtrapolationWarning,
                      match=r"a prediction lies 2 decades above the largest fitted N \(3e\+09\)"):
        clean_fit.predict(100 * N_max, 1e11)
    table = clean_fit.extrapolation(N=[1e8, 100 * N_max], D=[1e10, 1e11])
    assert list(table.columns) == ["N", "D", "decades_beyond"]
    np.testing.assert_allclose(table["decades_beyond"], [0.0, 2.0], atol=1e-12)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clean_fit.predict(1e9, 1e10)                     # inside: no warning
    with pytest.warns(scalefit.ExtrapolationWarning, match="a compute-optimal allocation lies"):
        alloc = clean_fit.optimal([1e20, 1e26])
    assert alloc.decades_beyond[0] == 0 and alloc.decades_beyond[1] > 1
    assert "decades_beyond" in alloc.to_frame().columns


def test_the_cli_labels_extrapolated_budgets(tmp_path):
    path = tmp_path / "runs.csv"
    sweep().to_csv(path, index=False)
    result = runner.invoke(app, ["fit", str(path), "--budget", "1e20", "--budget", "1e26"])
    assert result.exit_code == 0
    header, rule, first, second = result.stdout.splitlines()[-4:]     # a rich table
    assert header.split()[-1] == "decades_beyond" and set(rule.strip()) == {"─"}
    assert float(first.split()[-1]) == 0 and float(second.split()[-1]) > 2
    assert "warning: 1 of 2 budgets put N or D more than 1 decade beyond the fitted data " \
           "(from C = 1e+26)" in result.stderr


def test_other_columns_that_may_hold_a_loss_are_named():
    runs = sweep().assign(**{"smooth loss": lambda d: d["loss"] * 1.01})
    fit = scalefit.fit(runs)
    assert ("note: column 'loss' was fitted as the loss; 'smooth loss' may hold another (map it "
            "with columns={\"loss\": ...} or --column loss=NAME)") in fit.report()
    mapped = scalefit.fit(runs, columns={"loss": "smooth loss"})
    assert not any("may hold another" in n for n in mapped.notes)
