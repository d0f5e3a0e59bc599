"""The engine on small problems: batched weights, compilations keyed on value, large data,
context leaves, and the immutable Fit."""

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest

import scalefit
from scalefit import Law, Param
from scalefit.core import Spec, compilations, make_data, solve

TRUTH = {"E": 1.5, "A": 40.0, "alpha": 0.3}


def power_points(n=40, seed=0, noise=0.01):
    rng = np.random.default_rng(seed)
    steps = np.geomspace(1e2, 1e5, n)
    loss = (TRUTH["E"] + TRUTH["A"] * steps ** -TRUTH["alpha"]) * np.exp(rng.normal(0, noise, n))
    return pd.DataFrame({"steps": steps, "loss": loss})


def test_an_equal_law_built_twice_does_not_recompile():
    runs = power_points()
    scalefit.fit(runs, law=scalefit.laws.power_law("steps"))
    before = compilations()
    fit = scalefit.fit(runs, law=scalefit.laws.power_law("steps"))      # built afresh
    assert compilations() == before
    assert fit.convergence.ok
    assert scalefit.laws.power_law("steps") == scalefit.laws.power_law("steps")


def test_a_kernel_is_exported_once_and_later_processes_load_it_untraced(tmp_path):
    """With an export folder (the CLI and these tests set one), the traced screen and solve
    programs are kept as StableHLO and loaded by a later process instead of traced again, with
    the same result; a law defined in a user's code (a lambda here) is never exported."""
    from scalefit.core import exported

    runs = power_points()
    previous = exported._FOLDER["path"]
    exported.use_exports(tmp_path)
    exported._LOADED.clear()                     # as in a new process
    try:
        first = scalefit.fit(runs, law=scalefit.laws.power_law("steps"))
        files = sorted(p.name.split("-")[0] for p in tmp_path.iterdir())
        assert files == ["screen", "solve"]
        exported._LOADED.clear()
        before = compilations()
        again = scalefit.fit(runs, law=scalefit.laws.power_law("steps"))
        assert compilations() == before          # loaded from the files, not traced
        assert again.params == first.params and again.objective == first.objective
        mine = Law(name="mine", inputs=("steps",),
                   params=(Param("E", log=True, grid=(1.0, 2.0)), Param("A", log=True, grid=(10.0,)),
                           Param("alpha", grid=(0.2, 0.5))),
                   loss=lambda p, x: p["E"] + p["A"] * x["steps"] ** -p["alpha"])
        assert scalefit.fit(runs, law=mine).convergence.ok
        assert len(list(tmp_path.iterdir())) == 2
    finally:
        exported.use_exports(previous)


def test_user_starts_in_one_bucket_share_a_compilation():
    runs = power_points()
    law = scalefit.laws.power_law("steps")
    from scalefit.core.engine import lane_bucket

    assert [lane_bucket(n) for n in (1, 3, 5, 8, 17, 32, 4000)] == [1, 4, 8, 8, 32, 32, 4096]
    starts = [{"E": 1.0 + 0.1 * i, "A": 30.0, "alpha": 0.2} for i in range(7)]
    scalefit.fit(runs, law=law, start=starts[:5])
    before = compilations()
    fit = scalefit.fit(runs, law=law, start=starts)          # 5 and 7 starts: both 8 lanes
    assert compilations() == before
    assert fit.convergence.n_starts == 7 and fit.convergence.n_solved == 7


def test_a_batch_of_weight_vectors_gives_each_vectors_own_fit():
    """Backtest masks and sub-fits are weight vectors: one call, the same answers as apart."""
    runs = power_points(n=48)
    law = scalefit.laws.power_law("steps")
    spec = Spec.build(law)
    data = make_data({"steps": runs["steps"].to_numpy()}, runs["loss"].to_numpy())
    W = np.ones((3, len(runs)))
    W[1, 32:] = 0.0                       # hold out the largest steps
    W[2, ::2] = 2.0                       # count every other point twice
    batch = solve(spec, data, len(runs), weights=W)
    for w, got in zip(W, batch):
        alone = scalefit.fit(runs.assign(w=w), law=law, weight="w")
        assert got.objective == pytest.approx(alone.objective, rel=1e-9)
        for name in law.param_names:
            assert got.params[name] == pytest.approx(alone.params[name], rel=1e-6)
    assert batch[1].params != batch[0].params


def test_large_data_screen_and_solve_on_a_subsample_then_refine_on_all(monkeypatch):
    """Above SCREEN_POINTS points the starts run on an even subsample; the best few are then
    solved on every point, so the answer is the full-data optimum."""
    import scalefit.core.engine as engine

    runs = power_points()                       # 40 points, the shape the tests above compiled
    law = scalefit.laws.power_law("steps")
    whole = scalefit.fit(runs, law=law)
    monkeypatch.setattr(engine, "SCREEN_POINTS", 16)
    sub = scalefit.fit(runs, law=law)
    assert sub.convergence.subsample == 14 and sub.convergence.n_refined == engine.REFINE
    assert sub.convergence.ok
    assert sub.objective == pytest.approx(whole.objective, rel=1e-10)
    assert sub.params == pytest.approx(dict(whole.params), rel=1e-6)
    assert "on an even subsample of 14 of the 40 points" in sub.report()


def test_a_law_reads_context_leaves_and_the_group_of_each_point():
    """Per-run context (here a per-run offset table) reaches the law untouched."""
    offsets = np.array([0.0, 0.05, 0.1])

    def log_loss(p, x, ctx):
        return jnp.log(p["E"] + p["A"] * x["steps"] ** -p["alpha"]) + ctx["offset"][x["group"]]

    law = Law(name="offset_power", inputs=("steps",), context=("offset",), log_loss=log_loss,
              params=(Param("E", log=True, grid=(1.0, 2.0)), Param("A", log=True, grid=(10.0, 100.0)),
                      Param("alpha", grid=(0.2, 0.5))))
    runs = power_points(n=60, noise=0.0)
    group = np.repeat([0, 1, 2], 20)
    y = runs["loss"].to_numpy() * np.exp(offsets[group])
    data = make_data({"steps": runs["steps"].to_numpy()}, y, group=group,
                     context={"offset": offsets})
    spec = Spec.build(law)
    got = solve(spec, data, len(y))[0]
    assert got.convergence.ok
    assert got.params == pytest.approx(TRUTH, rel=1e-6)


def test_a_fit_is_immutable(example_fit):
    with pytest.raises(TypeError):
        example_fit.params["E"] = 1.0
    with pytest.raises(TypeError):
        example_fit.options["delta"] = 0.1
    with pytest.raises(TypeError):
        example_fit.data["n_points"] = 1
    with pytest.raises(ValueError):
        example_fit.residuals[0] = 0.0
    with pytest.raises(AttributeError):
        example_fit.objective = 0.0


def test_a_fix_outside_the_parameters_bounds_is_refused(example_path):
    law = Law(name="bounded", inputs=("N", "D"), loss=lambda p, x: p["E"] + p["A"] / x["N"] ** p["a"],
              params=(Param("E", log=True), Param("A", log=True), Param("a", lower=0.0, upper=1.0)))
    with pytest.raises(ValueError, match=r"fix=\{'a': 2.0\} lies outside a's bounds \[0.0, 1.0\]"):
        scalefit.fit(example_path, law=law, fix={"a": 2.0})


def test_predict_remembers_the_column_mapping(example_path):
    runs = pd.read_csv(example_path).rename(columns={"N": "params", "loss": "val_loss"})
    fit = scalefit.fit(runs, columns={"N": "params", "loss": "val_loss"}, **_NEAR)
    np.testing.assert_allclose(fit.predict(runs), fit.predict(runs["params"], runs["D"]), rtol=1e-14)
    np.testing.assert_allclose(fit.predict(N=runs["params"], D=runs["D"]),
                               fit.predict(runs["params"], D=runs["D"]), rtol=1e-14)
    with pytest.raises(ValueError, match="given both by position and by name"):
        fit.predict(runs["params"], N=runs["params"])


_NEAR = {"start": {"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}}


def test_standard_errors_and_correlations_come_from_the_exact_hessian(example_fit, tmp_path):
    se = example_fit.stderr
    assert set(se) == set(example_fit.params) and all(v > 0 for v in se.values())
    corr = example_fit.correlation
    assert list(corr.index) == list(example_fit.free)
    np.testing.assert_allclose(np.diag(corr), 1.0, rtol=1e-12)
    assert (np.abs(corr.to_numpy()) <= 1 + 1e-12).all()
    assert "± " in example_fit.report()
    loaded = scalefit.load(example_fit.save(tmp_path / "fit.json"))
    assert dict(loaded.stderr) == dict(se)


def test_options_have_one_home():
    from scalefit import Options

    assert Options().delta == 1e-3 and Options().n_solve == 32
    with pytest.raises(ValueError, match="Unknown loss"):
        Options(loss="l1")
    assert Options.from_dict(Options(delta=0.01).to_dict()) == Options(delta=0.01)


def test_a_law_declares_bounds_that_depend_on_the_data(tmp_path):
    """Law.data_bounds: a floor held below the smallest observed loss (here at half of it, so
    the data push against it). The bound reaches the engine as numbers: another dataset of the
    same size fits without compiling again; the fit, its bootstrap and its report use it."""
    x = np.geomspace(1e2, 1e5, 30)
    law = Law(name="half_floor", inputs=("x",),
              params=(Param("E", log=True, grid=(0.5, 1.0, 3.0)),     # 3.0 lies above the bound
                      Param("A", log=True, grid=(10.0, 100.0)), Param("alpha", grid=(0.2, 0.5))),
              loss=lambda p, x: p["E"] + p["A"] * x["x"] ** -p["alpha"],
              data_bounds=lambda inputs, loss: {"E": (None, 0.5 * loss.min())})
    runs = pd.DataFrame({"x": x, "loss": 1.5 + 40 * x ** -0.3})
    fit = scalefit.fit(runs, law=law)
    bound = 0.5 * runs["loss"].min()
    assert fit.convergence.at_bound == ("E",)
    assert fit.params["E"] == pytest.approx(bound, rel=1e-9)
    assert dict(fit.data["bounds_from_data"]) == {"E": (None, bound)}
    assert "E sits at its upper bound" in fit.report() and "sets from the data" in fit.report()
    boot = fit.bootstrap(32)
    assert np.all(boot.resamples.params[:, 0] <= bound * (1 + 1e-9))
    before = compilations()
    other = scalefit.fit(runs.assign(loss=1.2 + 40 * x ** -0.3), law=law)
    assert compilations() == before                  # a new bound, the same program
    assert other.params["E"] == pytest.approx(1.2, rel=1e-9)   # its bound, 1.23, lets E be
    assert other.convergence.at_bound == ()
    fit.save(tmp_path / "fit.json")
    loaded = scalefit.load(tmp_path / "fit.json", law=law)
    assert dict(loaded.data["bounds_from_data"]) == {"E": (None, bound)}
    assert "sets from the data" in loaded.report()


def test_a_backtest_takes_data_bounds_from_the_training_side_alone():
    """The held-out points never set a bound: the floor is held below half the smallest loss;
    over all points that binds (E = 1.38 < 1.5), over the training side (x < 1e4) it does not,
    and the backtest predicts as the fit of the training side alone."""
    x = np.geomspace(1e2, 1e5, 30)
    law = Law(name="half_floor_bt", inputs=("x",),
              params=(Param("E", log=True, grid=(0.5, 1.0)), Param("A", log=True, grid=(10.0, 100.0)),
                      Param("alpha", grid=(0.2, 0.5))),
              loss=lambda p, x: p["E"] + p["A"] * x["x"] ** -p["alpha"],
              data_bounds=lambda inputs, loss: {"E": (None, 0.5 * loss.min())})
    runs = pd.DataFrame({"x": x, "loss": 1.5 + 40 * x ** -0.3})
    bt = scalefit.backtest(runs, law, holdout="x>=1e4")
    train = runs[runs["x"] < 1e4]
    fitted = scalefit.fit(train, law=law)
    assert fitted.params["E"] == pytest.approx(1.5, rel=1e-9)
    assert scalefit.fit(runs, law=law).params["E"] == pytest.approx(0.5 * runs["loss"].min())
    held = bt.points[bt.points["x"] >= 1e4]
    with pytest.warns(scalefit.ExtrapolationWarning):        # held-out x reach 10x beyond
        expected = fitted.predict(x=held["x"].to_numpy())
    np.testing.assert_allclose(held["predicted"], expected, rtol=1e-9)
