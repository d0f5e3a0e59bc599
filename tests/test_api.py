"""The public API: user-written laws, fixing and tying, save/load, bad input, convergence."""

import json
import math
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import scalefit
from scalefit import DataError, FitError, Law, Param


def shared_exponent_law():
    """A user's law in a few lines: L = E + A/N**a + B/D**b with b tied to a at fit time."""
    return Law(
        name="my_shared",
        inputs=("N", "D"),
        params=(Param("E", log=True, grid=(1.0, 2.0)), Param("A", log=True, grid=(1e2, 1e3)),
                Param("B", log=True, grid=(1e2, 1e3, 1e4)), Param("a", grid=(0.2, 0.4)),
                Param("b", grid=(0.2, 0.4))),
        loss=lambda p, x: p["E"] + p["A"] / x["N"] ** p["a"] + p["B"] / x["D"] ** p["b"],
    )


def test_user_law_with_a_tied_parameter_fits_saves_and_loads(example_path, example_fit, tmp_path):
    law = shared_exponent_law()
    fit = scalefit.fit(example_path, law=law, tie={"b": "a"})
    assert fit.convergence.ok
    assert fit.params["b"] == fit.params["a"]
    assert fit.convergence.n_starts == 2 * 2 * 3 * 2           # b is not a free parameter
    # The example's truth has alpha=0.35, beta=0.37: one shared exponent sits between.
    assert 0.3 < fit.params["a"] < 0.42
    assert fit.objective >= example_fit.objective             # one constraint more
    path = fit.save(tmp_path / "mine.json")
    with pytest.raises(ValueError, match="pass the Law you fitted"):
        scalefit.load(path)
    again = scalefit.load(path, law=law)
    assert again.params == fit.params
    assert again.options["tie"] == {"b": "a"}
    N, D = np.array([1e8, 1e10]), np.array([2e9, 2e11])
    np.testing.assert_array_equal(again.predict(N, D), fit.predict(N, D))


def test_saved_json_holds_law_params_options_data_and_version(example_fit, tmp_path):
    saved = json.loads(example_fit.save(tmp_path / "fit.json").read_text())
    assert saved["law"] == "chinchilla"
    assert saved["scalefit_version"] == scalefit.__version__
    assert saved["params"] == example_fit.params
    assert saved["options"]["delta"] == 1e-3 and saved["options"]["loss"] == "huber"
    assert saved["data"]["n_points"] == 96
    assert saved["convergence"]["stop"] == "CONVERGED"
    loaded = scalefit.load(tmp_path / "fit.json")
    assert loaded.convergence == example_fit.convergence
    frame = pd.read_csv(Path(saved["data"]["source"]))
    np.testing.assert_array_equal(loaded.predict(frame), example_fit.predict(frame))
    assert loaded.optimal(1e22) == example_fit.optimal(1e22)


def test_the_example_recovers_its_generating_parameters(example_fit):
    """data/make_example.py draws from E=1.82, A=480, B=2100, alpha=0.35, beta=0.37."""
    p = example_fit.params
    assert p["E"] == pytest.approx(1.82, abs=0.05)
    assert p["alpha"] == pytest.approx(0.35, abs=0.03)
    assert p["beta"] == pytest.approx(0.37, abs=0.03)
    # The two +8% outliers stay outliers: Huber does not bend the fit towards them.
    assert sorted(np.argsort(example_fit.residuals)[:2]) == [17, 60]


def test_a_fixed_parameter_stays_at_its_value(example_path):
    fit = scalefit.fit(example_path, fix={"E": 1.69})
    assert fit.params["E"] == 1.69
    assert fit.convergence.ok
    assert fit.convergence.n_starts == 6 * 6 * 5 * 5


def test_a_parameter_on_its_bound_is_reported_with_the_remedy(example_path):
    law = Law(name="capped", inputs=("N", "D"),
              params=(Param("E", log=True, grid=(1.0, 2.0)), Param("A", log=True, grid=(1e2, 1e3)),
                      Param("B", log=True, grid=(1e3, 1e4)), Param("a", upper=0.2, grid=(0.1,)),
                      Param("b", grid=(0.3, 0.5))),
              loss=lambda p, x: p["E"] + p["A"] / x["N"] ** p["a"] + p["B"] / x["D"] ** p["b"])
    fit = scalefit.fit(example_path, law=law)
    assert fit.params["a"] == pytest.approx(0.2)
    assert fit.convergence.at_bound == ("a",)
    assert fit.convergence.ok                    # converged on the projected gradient
    assert "a sits at its upper bound 0.2: widen the bound and fit again." in fit.report()


def test_report_says_why_it_stopped(epoch_fit):
    text = epoch_fit.report()
    assert "converged: gradient and last step below tolerance" in text
    assert "4500 screened, 32 solved" in text
    assert "5 rows dropped" in text
    assert "D derived as C/(6N)" in text


def test_a_fit_cut_short_warns_or_raises_under_strict(example_path):
    with pytest.warns(scalefit.ConvergenceWarning, match="ran out of steps"):
        fit = scalefit.fit(example_path, max_steps=3)
    assert fit.convergence.stop is scalefit.Stop.MAX_STEPS
    assert "NOT converged" in fit.report()
    with pytest.raises(FitError, match="did not converge"):
        scalefit.fit(example_path, max_steps=3, strict=True)


def test_squared_loss_is_an_option(example_path, example_fit):
    fit = scalefit.fit(example_path, loss="squared")
    assert fit.convergence.ok
    assert fit.objective == pytest.approx(0.5 * np.sum(fit.residuals ** 2), rel=1e-12)
    assert fit.params["alpha"] != example_fit.params["alpha"]


def test_weights_count_points(example_path):
    """Weight 2 on every point doubles the objective and leaves the optimum in place."""
    frame = pd.read_csv(example_path).assign(w=2.0)
    base = scalefit.fit(frame)
    doubled = scalefit.fit(frame, weight="w")
    assert doubled.objective == pytest.approx(2 * base.objective, rel=1e-9)
    for name in base.params:
        assert doubled.params[name] == pytest.approx(base.params[name], rel=1e-6)
    # Weight 0 removes a point: same answer as leaving it out.
    frame.loc[17, "w"] = 0.0
    without = scalefit.fit(frame.drop(index=17))
    zeroed = scalefit.fit(frame, weight="w")
    assert zeroed.params["alpha"] == pytest.approx(without.params["alpha"], rel=1e-6)


def test_the_fit_runs_in_float64_whatever_the_global_setting():
    import jax

    assert not jax.config.jax_enable_x64          # the tests leave x64 off on purpose
    N = np.repeat(np.geomspace(1e7, 1e9, 4), 3)
    D = N * np.tile([5.0, 20.0, 80.0], 4)
    loss = 1.9 + 400 / N ** 0.34 + 1500 / D ** 0.36
    fit = scalefit.fit(pd.DataFrame({"N": N, "D": D, "loss": loss}))
    assert fit.objective < 1e-20                  # exact data: float32 could not get here
    assert not jax.config.jax_enable_x64


# ---- bad input: a clear error naming what is wrong, before any JAX code runs ----

def frame(**overrides):
    data = {"N": [1e7, 1e8, 1e9, 1e7, 1e8, 1e9, 1e7], "D": [1e9, 1e9, 1e9, 1e10, 1e10, 1e10, 1e11],
            "loss": [3.5, 3.0, 2.7, 3.1, 2.6, 2.3, 2.9]}
    data.update(overrides)
    return pd.DataFrame(data)


@pytest.mark.parametrize("column", ["loss", "N", "D"])
@pytest.mark.parametrize("bad", [math.nan, math.inf, 0.0, -1.2])
def test_invalid_values_are_named(column, bad):
    values = list(frame()[column])
    values[2] = bad
    with pytest.raises(DataError, match=rf"column '{column}' must be positive and finite; "
                                        r"1 of 7 rows is not \(row 2: "):
        scalefit.fit(frame(**{column: values}))


def test_invalid_rows_can_be_dropped_and_are_listed():
    fit = scalefit.fit(frame(loss=[3.5, 3.0, math.nan, 3.1, 2.6, 2.3, 2.9]), drop_invalid=True,
                       fix={"alpha": 0.34, "beta": 0.28}, n_solve=4)
    assert fit.n_points == 6
    assert [(d.row, d.reason) for d in fit.dropped] == [(2, "loss is nan")]


def test_a_file_error_names_the_file_line(tmp_path):
    path = tmp_path / "runs.csv"
    frame(loss=[3.5, 3.0, -2.0, 3.1, 2.6, 2.3, 2.9]).to_csv(path, index=False)
    with pytest.raises(DataError, match=r"runs.csv: column 'loss' .* \(line 4: -2\)"):
        scalefit.fit(path)


def test_missing_column_names_the_columns_and_the_mapping():
    data = frame().rename(columns={"N": "model_size"})
    with pytest.raises(DataError, match=r"no column 'N' \(columns: model_size, D, loss\)\. "
                                        r"Map it with columns=\{\"N\": \"model_size\"\}"):
        scalefit.fit(data)
    fit = scalefit.fit(data, columns={"N": "model_size"}, fix={"alpha": 0.34, "beta": 0.28},
                       n_solve=4)
    assert fit.n_points == 7


def test_too_few_points_for_the_free_parameters():
    with pytest.raises(DataError, match="chinchilla has 5 free parameters but 5 points remain"):
        scalefit.fit(frame().iloc[:5])
    fit = scalefit.fit(frame().iloc[:5], fix={"E": 1.8}, n_solve=4)   # 4 free: now enough
    assert fit.n_points == 5


def test_unknown_law_suggests_the_closest():
    with pytest.raises(ValueError, match=r"Unknown law 'chinchila'\. Did you mean 'chinchilla'\?"):
        scalefit.fit(frame(), law="chinchila")


@pytest.mark.parametrize("kwargs, message", [
    ({"fix": {"gamma": 1.0}}, "chinchilla has no parameter 'gamma'"),
    ({"tie": {"beta": "alpha", "alpha": "beta"}}, "has a cycle"),
    ({"fix": {"E": -1.0}}, "must be finite and positive"),
    ({"fix": {"E": 1.0}, "tie": {"E": "A"}}, "both fixed and tied"),
    ({"loss": "l1"}, "Unknown loss 'l1'"),
    ({"delta": 0.0}, "delta must be positive"),
    ({"n_solve": 0}, "n_solve must be a positive integer"),
    ({"start": {"E": 1.0}}, "missing: A, B, alpha, beta"),
    ({"start": {"E": -1.0, "A": 1, "B": 1, "alpha": 0, "beta": 0}}, "outside E's domain"),
])
def test_bad_options_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        scalefit.fit(frame(), **kwargs)


def test_bad_law_declarations_are_refused():
    with pytest.raises(ValueError, match="positive grid"):
        Param("A", log=True, grid=(0.0, 1.0))
    with pytest.raises(ValueError, match="outside"):
        Param("a", lower=0.0, upper=1.0, grid=(2.0,))
    with pytest.raises(ValueError, match="exactly one of loss= or log_loss="):
        Law(name="x", inputs=("N",), params=(Param("E"),))
    with pytest.raises(ValueError, match="repeat"):
        Law(name="x", inputs=("N",), params=(Param("E"), Param("E")), loss=lambda p, x: p["E"])
    with pytest.raises(ValueError, match="both inputs and parameters"):
        Law(name="x", inputs=("N",), params=(Param("N"),), loss=lambda p, x: p["N"])


def test_a_log_loss_law_and_a_loss_law_agree():
    law_log = Law(name="p1", inputs=("C",), params=(Param("E", log=True), Param("A", log=True),
                                                    Param("alpha")),
                  log_loss=lambda p, x: jnp.log(p["E"] + p["A"] * x["C"] ** -p["alpha"]))
    from scalefit.predict import predict_loss

    params = {"E": 1.7, "A": 30.0, "alpha": 0.1}
    C = np.geomspace(1e18, 1e24, 5)
    np.testing.assert_allclose(predict_loss(law_log, params, {"C": C}),
                               1.7 + 30.0 * C ** -0.1, rtol=1e-14)
    np.testing.assert_allclose(predict_loss(scalefit.laws.power_C, params, {"C": C}),
                               1.7 + 30.0 * C ** -0.1, rtol=1e-14)


def test_predict_reads_a_frame_or_a_file_without_a_loss_column(example_fit, example_path, tmp_path):
    runs = pd.read_csv(example_path)
    expected = example_fit.predict(runs["N"].to_numpy(), runs["D"].to_numpy())
    planned = runs.drop(columns="loss").assign(C=lambda d: 6 * d.N * d.D).drop(columns="D")
    np.testing.assert_allclose(example_fit.predict(planned), expected, rtol=1e-12)  # D = C/(6N)
    np.testing.assert_array_equal(example_fit.predict(example_path), expected)
    gappy = runs.assign(loss=np.nan)                  # losses unknown: predictions still work
    np.testing.assert_array_equal(example_fit.predict(gappy), expected)
    with pytest.raises(DataError, match=r"column 'N' must be positive .* Predictions need"):
        example_fit.predict(runs.assign(N=-runs.N))


def test_repr_is_one_readable_line(example_fit):
    text = repr(example_fit)
    assert text.startswith("Fit(law='chinchilla', E=1.819") and text.endswith("n_points=96, converged)")
    assert "\n" not in text


@pytest.mark.parametrize("loss_fn, message", [
    (lambda p, x: p["E"] + x["Q"], r"failed on the data .*KeyError: 'Q'.*reads only its inputs"),
    (lambda p, x: p["E"] + 0.0 * x["N"].sum(), r"returned shape \(\), not one value per point"),
])
def test_a_broken_user_law_gets_a_clear_error_not_a_jax_traceback(example_path, loss_fn, message):
    law = Law(name="broken", inputs=("N",), params=(Param("E", log=True),), loss=loss_fn)
    with pytest.raises(ValueError, match=message):
        scalefit.fit(example_path, law=law)


def test_nearby_data_sizes_share_one_compilation(example_path):
    from scalefit.core import bucket, compilations

    assert [bucket(n) for n in (5, 16, 17, 92, 235, 240, 256, 257, 318, 4500)] == [
        16, 16, 32, 128, 256, 256, 256, 288, 320, 4608]
    runs = pd.read_csv(example_path)
    scalefit.fit(runs.iloc[:70])
    before = compilations()
    fit = scalefit.fit(runs.iloc[:92])        # 70 and 92 points both pad to 128
    assert compilations() == before
    assert fit.n_points == 92 and len(fit.residuals) == 92
    assert fit.objective == pytest.approx(float(np.sum(np.where(
        np.abs(fit.residuals) <= 1e-3, 0.5 * fit.residuals ** 2,
        1e-3 * (np.abs(fit.residuals) - 0.5e-3)))), rel=1e-12)   # padding adds nothing


def test_a_parquet_file_fits_like_its_csv(example_path, example_fit, tmp_path):
    path = tmp_path / "runs.parquet"
    pd.read_csv(example_path).to_parquet(path)
    fit = scalefit.fit(path)
    assert fit.data["source"] == str(path)
    assert fit.params == pytest.approx(example_fit.params, rel=1e-9)


def test_a_low_quantile_fits_the_lower_envelope_of_the_points():
    """Runs that fall short of the best achievable loss lie only above it: the default fit
    goes through their middle, quantile=0.05 follows the lower envelope, the truth."""
    rng = np.random.default_rng(0)
    D = np.repeat(np.geomspace(1e8, 1e11, 12), 8)
    best = 1.8 + 400.0 * D ** -0.3
    loss = best * (1 + np.abs(rng.normal(0, 0.03, D.size)))       # short of the envelope only
    loss[::8] = best[::8]                                           # one run per D reaches it
    runs = pd.DataFrame({"D": D, "loss": loss})
    middle = scalefit.fit(runs, law="power_D")
    lower = scalefit.fit(runs, law="power_D", quantile=0.05)
    assert lower.convergence.ok and lower.options["quantile"] == 0.05
    gap = lambda f: np.max(np.abs(f.predict(D=D) / best - 1))  # noqa: E731
    assert gap(lower) < 0.005 < 0.01 < gap(middle)
    assert np.mean(runs["loss"] < middle.predict(D=D)) > 0.2       # the middle cuts through
    assert "quantile 0.05: points above the curve weigh 0.0526x" in lower.report()
    with pytest.raises(ValueError, match="quantile must lie strictly between 0 and 1"):
        scalefit.fit(runs, law="power_D", quantile=1.0)
