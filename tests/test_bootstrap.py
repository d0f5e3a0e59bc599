"""Bootstrap intervals: Epoch AI's published intervals, reproducibility, devices, files, bands."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import scalefit
from conftest import EPOCH_PATH, ROOT, requires_dataset

# Besiroglu et al. 2024 ("Chinchilla Scaling: A replication attempt"): 4,000 row resamples of
# the 240 points, each refitted; 95% intervals (laws.md section 1).
EPOCH_CI = {"E": (1.769, 1.871), "alpha": (0.317, 0.373), "beta": (0.331, 0.415),
            "A": (285.2, 743.6), "B": (1042.4, 5810.3)}


@pytest.fixture(scope="module")
def epoch_boot(epoch_fit):
    return epoch_fit.bootstrap(n=4000, seed=0)


@requires_dataset(EPOCH_PATH)
def test_epoch_bootstrap_reproduces_the_published_intervals(epoch_boot):
    """Measured (seed 0): E (1.7715, 1.8706), alpha (0.3165, 0.3716), beta (0.3336, 0.4159),
    A (284.5, 722.9), B (1084.6, 5848.1); 4,000 of 4,000 refits converged."""
    boot = epoch_boot.resamples
    assert boot.n == 4000 and boot.by == "row" and boot.n_units == 240
    assert boot.n_converged >= 0.99 * 4000
    ci = epoch_boot.intervals(0.95)
    for name in ("E", "alpha", "beta"):
        assert ci.loc[name, "lower"] == pytest.approx(EPOCH_CI[name][0], abs=0.01), name
        assert ci.loc[name, "upper"] == pytest.approx(EPOCH_CI[name][1], abs=0.01), name
    for name in ("A", "B"):
        assert ci.loc[name, "lower"] == pytest.approx(EPOCH_CI[name][0], rel=0.05), name
        assert ci.loc[name, "upper"] == pytest.approx(EPOCH_CI[name][1], rel=0.05), name
    # The point estimate sits inside its interval, and the report says how it was resampled.
    assert ((ci["lower"] < ci["value"]) & (ci["value"] < ci["upper"])).all()
    text = epoch_boot.report()
    assert "4000 resamples of 240 rows, seed 0" in text and "95% bootstrap interval" in text


@requires_dataset(EPOCH_PATH)
def test_bands_on_every_prediction(epoch_boot, epoch_fit):
    band = epoch_boot.predict(7e10, 1.4e12)
    assert list(band.columns) == ["loss", "lower", "upper", "decades_beyond"]
    row = band.iloc[0]
    assert row["lower"] < row["loss"] < row["upper"]
    assert row["loss"] == pytest.approx(float(epoch_fit.predict(7e10, 1.4e12)), rel=1e-14)
    wide = epoch_boot.predict(7e10, 1.4e12, level=0.99).iloc[0]
    assert wide["lower"] < row["lower"] and wide["upper"] > row["upper"]
    table = epoch_boot.optimal([1e22, 5.88e23]).to_frame()
    for name in ("N", "D", "D/N", "loss"):
        assert (table[f"{name}_lower"] < table[name]).all() and (table[name] < table[f"{name}_upper"]).all()
    tokens = epoch_boot.tokens(2.1, 7e10)
    assert tokens.loc[0, "lower"] < tokens.loc[0, "D"] < tokens.loc[0, "upper"]
    assert tokens.loc[0, "D"] == pytest.approx(epoch_fit.tokens(2.1, 7e10), rel=1e-12)
    # Without a bootstrap the answers are what they always were: arrays and floats.
    assert isinstance(epoch_fit.predict(7e10, 1.4e12), np.ndarray)
    with pytest.raises(scalefit.FitError, match="no bootstrap"):
        epoch_fit.intervals()


@requires_dataset(EPOCH_PATH)
def test_saved_draws_load_back_to_identical_intervals(epoch_boot, tmp_path):
    path = epoch_boot.save(tmp_path / "fit.json")
    saved = json.loads(path.read_text())
    assert saved["bootstrap"]["draws"] == "fit.bootstrap.npz"
    assert saved["bootstrap"]["n_converged"] == epoch_boot.resamples.n_converged
    assert saved["bootstrap"]["stops"] == {"CONVERGED": epoch_boot.resamples.n_converged}
    assert set(saved["stderr"]) == set(epoch_boot.params)
    loaded = scalefit.load(path)
    pd.testing.assert_frame_equal(loaded.intervals(), epoch_boot.intervals())
    pd.testing.assert_frame_equal(loaded.predict(1e9, 2e10), epoch_boot.predict(1e9, 2e10))
    with pytest.raises(scalefit.FitError, match="loaded from a file"):
        loaded.bootstrap(10)
    (tmp_path / "fit.bootstrap.npz").unlink()
    with pytest.raises(scalefit.DataError, match="keep the two files together"):
        scalefit.load(path)


SMALL = dict(start={"E": 1.8, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37})


def test_the_same_seed_gives_bit_identical_draws(example_fit):
    one = example_fit.bootstrap(n=64, seed=3)
    two = example_fit.bootstrap(n=64, seed=3)
    np.testing.assert_array_equal(one.resamples.params, two.resamples.params)
    other = example_fit.bootstrap(n=64, seed=4)
    assert not np.array_equal(one.resamples.params, other.resamples.params)
    # The fit it came from is untouched: bootstrap returns a new fit.
    assert example_fit.resamples is None


TWO_DEVICES = textwrap.dedent("""
    import sys
    import jax, numpy as np, pandas as pd
    from scalefit.core import Spec, bootstrap, make_data
    from scalefit.laws import chinchilla

    runs = pd.read_csv(sys.argv[1])
    data = make_data({"N": runs.N.to_numpy(), "D": runs.D.to_numpy()}, runs.loss.to_numpy())
    u = np.array([float(v) for v in sys.argv[3].split(",")])
    n = len(runs)
    res = bootstrap(Spec.build(chinchilla), data, n, {}, u, 64, 3, np.arange(n), n)
    np.save(sys.argv[2], res.params)
    print(jax.device_count())
""")


def test_two_devices_give_the_same_draws_as_one(example_path, example_fit, tmp_path):
    """The resample batch is sharded over the devices JAX sees; each lane is independent, so
    from the same optimum the draws are bit-identical. (The full-data fit itself, compiled for
    two devices, can differ from one device's in the last bits.)"""
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    u = ",".join(repr(float(v)) for v in example_fit._u)
    out = subprocess.run([sys.executable, "-c", TWO_DEVICES, str(example_path),
                          str(tmp_path / "two.npy"), u], env=env, capture_output=True, text=True,
                         cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "2"
    here = example_fit.bootstrap(n=64, seed=3).resamples.params
    np.testing.assert_array_equal(np.load(tmp_path / "two.npy"), here)


def test_group_resampling_draws_whole_runs(example_path):
    runs = pd.read_csv(example_path).assign(run=lambda d: d["N"].rank(method="dense").astype(int))
    fit = scalefit.fit(runs, **SMALL)
    assert any("grouped into" in n and "'run'" in n for n in fit.notes)
    boot = fit.bootstrap(n=32, seed=0)
    assert boot.resamples.by == "group" and boot.resamples.n_units == runs["run"].nunique()
    assert "runs (whole groups)" in boot.report()
    assert fit.bootstrap(n=32, seed=0, by="row").resamples.n_units == len(runs)
    with pytest.raises(ValueError, match="by='group' needs a group column"):
        scalefit.fit(example_path, **SMALL).bootstrap(n=8, by="group")
    with pytest.raises(ValueError, match="by must be 'row', 'group' or 'block'"):
        fit.bootstrap(n=8, by="runs")


def test_bootstrap_from_fit_and_from_the_method_agree(example_path, example_fit):
    direct = scalefit.fit(example_path, bootstrap=32, seed=1)
    later = example_fit.bootstrap(n=32, seed=1)
    np.testing.assert_array_equal(direct.resamples.params, later.resamples.params)


def test_refits_that_do_not_converge_are_counted_left_out_and_warned_about(example_path):
    """With three runs, a resample that draws one run twice sees fewer sizes than the law
    needs: such refits wander off and do not converge. They are kept, counted, and excluded."""
    runs = pd.read_csv(example_path)
    three = runs[runs["N"].isin(sorted(runs["N"].unique())[::2][:3])].assign(run=lambda d: d["N"])
    fit = scalefit.fit(three, max_steps=50, **SMALL)       # wandering refits stop at 50 steps
    with pytest.warns(scalefit.ConvergenceWarning, match=r"bootstrap refits did not converge"):
        boot = fit.bootstrap(n=64, seed=0, by="group")
    b = boot.resamples
    assert b.n_converged < b.n
    assert sum(b.stops.values()) == b.n and b.stops[scalefit.Stop.CONVERGED] == b.n_converged
    assert len(boot.resamples.draws(boot.law.param_names)["E"]) == b.n_converged
    assert f"{b.n_converged} of 64 refits converged and are used" in boot.report()


def test_a_missing_run_label_is_named_and_can_be_dropped(example_path):
    runs = pd.read_csv(example_path).assign(run=lambda d: d["N"].rank(method="dense").astype(str))
    runs.loc[5, "run"] = None
    with pytest.raises(scalefit.DataError, match=r"column 'run' must be present \(not missing\); "
                                                 r"1 of 96 rows is not \(row 5"):
        scalefit.fit(runs, **SMALL)
    fit = scalefit.fit(runs, drop_invalid=True, **SMALL)
    assert [(d.row, d.reason) for d in fit.dropped] == [(5, "run is missing")]
    assert fit.data["n_groups"] == runs["run"].nunique()


def test_blocks_of_consecutive_points_are_a_resampling_unit(example_fit):
    """by="block": units of 10 consecutive points within a run (the default for loss curves,
    whose neighbouring steps are correlated); the example's 96 rows make 10 blocks."""
    boot = example_fit.bootstrap(n=64, seed=3, by="block")
    assert boot.resamples.by == "block" and boot.resamples.n_units == 10
    assert "64 resamples of 10 blocks of consecutive points within runs" in boot.report()
    rows = example_fit.bootstrap(n=64, seed=3)
    assert not np.array_equal(boot.resamples.params, rows.resamples.params)
    with pytest.raises(ValueError, match="by must be 'row', 'group' or 'block'"):
        example_fit.bootstrap(n=64, by="run")
