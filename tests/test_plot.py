"""Figures (scalefit.plot) of fits to synthetic runs from a known Chinchilla law and of an
LR-annealing fit to synthetic loss curves: each figure writes a non-blank image of the size
asked, puts quantities that span decades on log axes, labels the loss with its unit, draws one
series per model size, dashes what it extrapolates, and refuses the wrong kind of result with
a message naming what it needs."""

import subprocess
import sys
import warnings

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

import scalefit
from scalefit import plot, schedules
from scalefit.approaches import ProfileEdgeWarning
from scalefit.data.schedule_sums import terms
from scalefit.laws._curves import CURVE_INPUTS
from scalefit.predict import evaluate

# A known Chinchilla law (Hoffmann et al.'s fit), on 6 sizes x 8 token counts
E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28
SIZES = 1e7 * 2.0 ** np.arange(6)
TOKENS = 2e8 * 2.0 ** np.arange(8)
DPI = 40                       # small images keep the tests fast; the size check is exact
CURVE = dict(L0=2.6, A=0.6, alpha=0.45, C=0.5, lam=0.999)
SPECS = {"cosine": "cosine:peak=3e-4,floor=3e-5,warmup=200,total=3000",
         "constant": "constant:peak=3e-4,warmup=200,total=3000"}
WSD = "wsd:peak=3e-4,floor=3e-5,warmup=200,decay_start=3200,total=4000,shape=linear"


@pytest.fixture(scope="module")
def runs():
    N, D = (a.ravel() for a in np.meshgrid(SIZES, TOKENS, indexing="ij"))
    noise = np.exp(np.random.default_rng(0).normal(0, 0.003, N.size))
    return pd.DataFrame({"N": N, "D": D, "loss": (E + A / N ** ALPHA + B / D ** BETA) * noise})


@pytest.fixture(scope="module")
def chinchilla(runs):
    return scalefit.fit(runs, law="chinchilla", unit="nats")


@pytest.fixture(scope="module")
def boot(chinchilla):
    return chinchilla.bootstrap(50, seed=0)


def _curve_loss(spec, steps):
    t = terms(schedules.parse(spec).rates(), np.asarray(steps))
    return evaluate(scalefit.laws.lr_annealing, CURVE, {k: getattr(t, k) for k in CURVE_INPUTS})


@pytest.fixture(scope="module")
def curves():
    """An LR-annealing fit of two synthetic runs (cosine, constant), 20 block resamples."""
    rng = np.random.default_rng(1)
    steps = np.arange(300, 3000, 50)
    frames = [pd.DataFrame({"run": name, "step": steps,
                            "loss": _curve_loss(spec, steps) * np.exp(rng.normal(0, 2e-3, 54))})
              for name, spec in SPECS.items()]
    fit = scalefit.fit(pd.concat(frames, ignore_index=True), law="lr_annealing",
                       schedules=SPECS, unit="nats")
    return fit.bootstrap(20, seed=0)


@pytest.fixture(scope="module")
def comparison(runs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ProfileEdgeWarning)   # the grid's top profile
        return scalefit.compare_approaches(runs, budgets=[1e18, 1e20], bootstrap=50)


def check_png(path, fig):
    """The PNG has the figure's size in pixels (figsize x dpi) and more than one colour."""
    image = matplotlib.image.imread(path)
    width, height = fig.get_size_inches() * DPI
    assert image.shape[:2] == (round(height), round(width))
    assert np.ptp(image.reshape(-1, image.shape[-1]), axis=0).max() > 0.5


def styles(ax) -> list[str]:
    return [line.get_linestyle() for line in ax.get_lines()]


def test_importing_scalefit_and_its_plot_module_does_not_import_matplotlib():
    code = "import sys, scalefit, scalefit.plot; print('matplotlib' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_fit_plot_draws_each_size_and_dashes_the_law_beyond_the_data(tmp_path, runs, chinchilla):
    fig = plot.fit_plot(chinchilla, runs, path=tmp_path / "fit.png", dpi=DPI)
    check_png(tmp_path / "fit.png", fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "nats" in ax.get_ylabel()
    assert "tokens" in ax.get_xlabel() and "Chinchilla" in ax.get_title()
    assert len(ax.collections) == len(SIZES)                      # points, one series per N
    assert [len(c.get_offsets()) for c in ax.collections] == [len(TOKENS)] * len(SIZES)
    assert styles(ax).count("-") == styles(ax).count("--") == len(SIZES)
    colours = [tuple(c.get_facecolor()[0]) for c in ax.collections]
    assert len(set(colours)) == len(SIZES)                        # a colour per size
    assert fig.axes[1].get_ylabel().startswith("model size N")   # the colour bar
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["data", "law, fitted range", "law, extrapolated"]

    compute = plot.fit_plot(chinchilla, runs, x="C")
    ax = compute.axes[0]
    assert ax.get_xscale() == "log" and "FLOPs" in ax.get_xlabel()
    black = [line for line in ax.get_lines() if line.get_color() == "black"]
    assert black and len(ax.collections) == len(SIZES)          # the compute-optimal frontier

    law_alone = plot.fit_plot(chinchilla).axes[0]
    assert not law_alone.collections and len(law_alone.get_lines()) == 2 * 5


def test_fit_plot_writes_svg_and_pdf_and_draws_on_given_axes(tmp_path, runs, chinchilla):
    from matplotlib.figure import Figure

    plot.fit_plot(chinchilla, runs, path=tmp_path / "fit.svg")
    plot.fit_plot(chinchilla, runs, path=tmp_path / "fit.pdf")
    assert b"<svg" in (tmp_path / "fit.svg").read_bytes()[:500]
    assert (tmp_path / "fit.pdf").read_bytes().startswith(b"%PDF")
    mine = Figure()
    ax = mine.subplots()
    assert plot.fit_plot(chinchilla, runs, ax=ax) is mine and len(ax.collections) == len(SIZES)
    with pytest.raises(ValueError, match=r"must end in .png, .svg or .pdf"):
        plot.fit_plot(chinchilla, runs, path=tmp_path / "fit.jpg")
    with pytest.raises(ValueError, match="x must be 'D' or 'C'"):
        plot.fit_plot(chinchilla, runs, x="N")


def test_residuals_plot_has_a_panel_per_input_and_the_huber_band(tmp_path, runs, chinchilla,
                                                                   curves):
    fig = plot.residuals_plot(chinchilla, runs, path=tmp_path / "residuals.png", dpi=DPI)
    check_png(tmp_path / "residuals.png", fig)
    n_axes, d_axes, pred = fig.axes[:3]
    assert n_axes.get_xscale() == d_axes.get_xscale() == "log"
    assert "nats" in pred.get_xlabel() and "residual" in n_axes.get_ylabel()
    for ax in (n_axes, d_axes, pred):
        assert [len(c.get_offsets()) for c in ax.collections] == [len(runs)]
        (band,) = ax.patches                                          # the Huber band
        lo, hi = ax.transData.inverted().transform(band.get_extents().get_points())[:, 1]
        assert lo == pytest.approx(-1e-3, abs=1e-4) and hi == pytest.approx(1e-3, abs=1e-4)
    residual = np.log(chinchilla.predict(runs) / runs["loss"].to_numpy())
    assert np.allclose(n_axes.collections[0].get_offsets()[:, 1], residual)

    by_run = plot.residuals_plot(curves)
    assert by_run.axes[0].get_xlabel() == "step" and len(by_run.axes[0].collections) == 2
    with pytest.raises(ValueError, match="needs the data fitted"):
        plot.residuals_plot(chinchilla)


def test_frontier_plot_shows_n_d_and_tokens_per_parameter_with_bands(tmp_path, boot, curves):
    fig = plot.frontier_plot(boot, path=tmp_path / "frontier.png", dpi=DPI)
    check_png(tmp_path / "frontier.png", fig)
    panels = fig.axes[:3]
    assert [ax.get_ylabel() for ax in panels] == [
        "model size N (parameters)", "training tokens D", "tokens per parameter D/N"]
    for ax in panels:
        assert ax.get_xscale() == ax.get_yscale() == "log" and "FLOPs" in ax.get_xlabel()
        assert len(ax.collections) == 1                               # the bootstrap band
        assert styles(ax) == ["-", "--"]                              # fitted, extrapolated
        assert len(ax.patches) == 1                                   # the fitted span
    solid = panels[0].get_lines()[0]
    C, N = solid.get_xdata(), solid.get_ydata()
    inside = np.isfinite(N)
    assert np.allclose(N[inside], boot.optimal(C[inside]).N)
    assert inside.sum() > 5 and (~inside).sum() > 5                  # solid, then dashed

    budgets = plot.frontier_plot(boot, [1e18, 1e20, 5.88e23])
    band, marks = budgets.axes[0].collections
    assert len(marks.get_offsets()) == 3
    with pytest.raises(ValueError, match="needs a law of model size N and tokens D"):
        plot.frontier_plot(curves)


def test_curve_plot_draws_observed_and_predicted_curves_over_the_schedule(tmp_path, curves,
                                                                           chinchilla):
    fig = plot.curve_plot(curves, path=tmp_path / "curves.png", dpi=DPI)
    check_png(tmp_path / "curves.png", fig)
    top, bottom = fig.axes
    assert "nats" in top.get_ylabel() and bottom.get_ylabel() == "learning rate"
    assert top.get_shared_x_axes().joined(top, bottom)
    assert len(top.collections) == 4                 # per run: observed points and the band
    assert len(bottom.get_lines()) == 2 and "LR-annealing" in top.get_title()
    first = fig.axes[0].get_ylim()
    assert first[1] < 6                              # not stretched by the first steps' loss

    observed = pd.DataFrame({"step": np.arange(300, 4000, 100)})
    observed["loss"] = _curve_loss(WSD, observed["step"])
    wsd = plot.curve_plot(curves, WSD, observed=observed)
    top = wsd.axes[0]
    assert styles(top) == ["-", "--"]                # past the fitted steps (2,950): dashed
    assert len(top.collections[0].get_offsets()) == len(observed)
    assert plot.curve_plot(curves, "cosine").axes[1].get_lines()[0].get_ydata()[-1] < 1e-4
    with pytest.raises(ValueError, match="needs a loss-curve fit"):
        plot.curve_plot(chinchilla, WSD)
    with pytest.raises(ValueError, match="use curve_plot"):
        plot.fit_plot(curves)


def test_backtest_and_sweep_plots_show_held_out_error_per_law(tmp_path, runs):
    # four splits, as many as the sweep has, so both share one compilation per law
    bt = scalefit.backtest(runs, ["chinchilla", "kaplan"],
                           holdout=["largest", "top", "N>=8e7", "N>=4e7"])
    fig = plot.backtest_plot(bt, path=tmp_path / "backtest.png", dpi=DPI)
    check_png(tmp_path / "backtest.png", fig)
    ax = fig.axes[0]
    heights = sorted(p.get_height() for p in ax.patches)              # a bar per law and split
    assert heights == pytest.approx(sorted(bt.summary["are"]))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert len(legend) == 5 and legend[-1] == "largest error of one point"   # 4 splits
    assert [t.get_text() for t in ax.get_xticklabels()] == ["chinchilla", "kaplan"]
    assert "held-out error" in ax.get_ylabel()

    sweep = scalefit.boundary_sweep(runs, ["chinchilla", "kaplan"])
    fig = plot.sweep_plot(sweep, path=tmp_path / "sweep.png", dpi=DPI)
    check_png(tmp_path / "sweep.png", fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "in training" in ax.get_xlabel()
    assert len(ax.get_lines()) == 3                                    # 2 laws + held-out N
    assert list(ax.get_lines()[0].get_xdata()) == list(SIZES[1:-1])
    with pytest.raises(ValueError, match="boundary sweep: draw it with sweep_plot"):
        plot.backtest_plot(sweep)
    with pytest.raises(ValueError, match="draw it with backtest_plot"):
        plot.sweep_plot(bt)
    with pytest.raises(ValueError, match="expected the result of scalefit.backtest"):
        plot.backtest_plot(bt.summary)


def test_approaches_and_isoflop_plots(tmp_path, comparison):
    fig = plot.approaches_plot(comparison, path=tmp_path / "approaches.png", dpi=DPI)
    check_png(tmp_path / "approaches.png", fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == ax.get_yscale() == "log" and "FLOPs" in ax.get_xlabel()
    texts = [t.get_text() for t in ax.get_legend().get_texts()]
    assert sum("a = " in t for t in texts) == 3 and "power law, extrapolated" in texts
    assert "--" in styles(ax)

    iso = comparison.results[2]
    fig = plot.isoflop_plot(iso, unit="nats", path=tmp_path / "isoflop.png", dpi=DPI)
    check_png(tmp_path / "isoflop.png", fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and "nats" in ax.get_ylabel()
    fitted = int((iso.profiles["n_sizes"] >= 3).sum())
    assert styles(ax).count("-") == fitted and styles(ax).count("--") == fitted
    with pytest.raises(ValueError, match="compare_approaches"):
        plot.approaches_plot(iso)
