"""Figures of fits, loss curves, backtests and compute-optimal analyses, ready for a paper.

Every function takes result objects of the API, draws on a new figure (or on the axes given as
``ax=``), returns the ``matplotlib.figure.Figure``, and writes it to ``path`` when one is given:
PNG, SVG or PDF, chosen by the suffix, at ``dpi`` dots per inch. Figures are built as
``matplotlib.figure.Figure`` objects, never through pyplot, so saving needs no display and no
backend switch and leaves a notebook's backend alone; matplotlib is imported inside the
functions, so ``import scalefit`` never imports it.

The conventions of a paper's figure: log axes where a quantity spans decades; axis labels with
units (the loss's unit from ``fit.data["unit"]`` when known); model sizes coloured on a
sequential colormap with a colour bar; the law solid over the fitted range and dashed where it
extrapolates; a legend placed where it covers no data; a title naming the law.
"""

from __future__ import annotations

import os
import textwrap
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["fit_plot", "residuals_plot", "frontier_plot", "curve_plot", "backtest_plot",
           "sweep_plot", "approaches_plot", "isoflop_plot", "FORMATS"]

FORMATS = (".png", ".svg", ".pdf")
DPI = 150
CMAP = "viridis"
SHADE = 0.9            # the part of the colormap used: viridis' last yellows vanish on white
EXTEND = 1.0           # decades past the data that fit_plot draws the law (dashed)
MOST_SIZES = 12        # sizes fit_plot draws separately; more are binned in log N
GRID = 200             # points along a drawn curve
BUDGETS = 41           # budgets along a frontier (after a bootstrap, each solved per draw)
SHORT = 2.5            # decades: a log axis shorter than this gets ticks at 1, 2 and 5
FEW_SIZES = 8          # a colour bar with this many sizes or fewer is ticked at each
RASTER = 2000          # scatter plots with more points are rasterised inside SVG and PDF files
PAST = 1.5             # an IsoFLOP profile is drawn this factor past its sizes (dashed)
LEVEL = 0.95
GREY = "0.35"

LABELS = {"N": "model size N (parameters)", "D": "training tokens D",
          "C": "compute C = 6ND (FLOPs)", "step": "step"}
RESIDUAL = r"log residual $\ln(\hat L / L)$"
ERROR = r"held-out error $|\hat L - L| / L$"

_NAMES = {"chinchilla": ("Chinchilla law", r"$L = E + A/N^{\alpha} + B/D^{\beta}$"),
          "kaplan": ("Kaplan law", r"$L = [(N_c/N)^{\alpha_N/\alpha_D} + D_c/D]^{\alpha_D}$"),
          "farseer": ("Farseer law", ""),
          "multi_power": ("Multi-power law", r"$L = L_0 + A\,(S_1 + S_W)^{-\alpha} - LD$"),
          "lr_annealing": ("LR-annealing law", r"$L = L_0 + A\,S_1^{-\alpha} - C\,S_2$")}


# ---- figures, files and labels ----

def _check_path(path) -> Path | None:
    """The path to write, checked before anything is drawn: its suffix must name a format."""
    if path is None:
        return None
    path = Path(os.fspath(path))
    if path.suffix.lower() not in FORMATS:
        raise ValueError(f"cannot tell the image format of {str(path)!r}: the path must end in "
                         f"{', '.join(FORMATS[:-1])} or {FORMATS[-1]}.")
    return path


def _canvas(ax, figsize, rows: int = 1, cols: int = 1, **subplots):
    """A new constrained-layout figure with ``rows`` x ``cols`` axes, or the axes given (one
    per panel) and their figure. Returns (figure, list of axes)."""
    if ax is None:
        from matplotlib.figure import Figure

        fig = Figure(figsize=figsize, layout="constrained")
        return fig, list(fig.subplots(rows, cols, squeeze=False, **subplots).ravel())
    axes = list(np.ravel(np.asarray(ax, dtype=object)))
    if len(axes) != rows * cols:
        raise ValueError(f"this figure has {rows * cols} panels; pass ax as a sequence of "
                         f"{rows * cols} axes (got {len(axes)}).")
    return axes[0].figure.figure, axes          # .figure twice: the root of a subfigure


def _finish(fig, path: Path | None, dpi: float):
    """Writes the figure to ``path`` (format from its suffix) and returns it."""
    if path is not None:
        fig.savefig(path, dpi=dpi, format=path.suffix[1:].lower())
    return fig


def _title(law) -> str:
    """The law's name, its source and its form, e.g. 'Chinchilla law (Hoffmann et al. 2022):
    L = E + A/N^α + B/D^β'."""
    name, form = _NAMES.get(law.name, (law.name, ""))
    if law.name.startswith("power_") and len(law.inputs) == 1:
        x = law.inputs[0]
        name, form = f"Power law in {x}", rf"$L = E + A\,{x}^{{-\alpha}}$"
    source = law.reference.split(",")[0] if "et al." in law.reference.split(",")[0] else ""
    return name + (f" ({source})" if source else "") + (f": {form}" if form else "")


def _loss_label(unit: str | None, what: str = "loss") -> str:
    return f"{what} ({unit})" if unit else what


def _unit(fit) -> str | None:
    return fit.data.get("unit")


def _log_if_decades(ax, values, axis: str = "y") -> None:
    """Puts ``axis`` on a log scale when the positive ``values`` span a decade or more."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    if len(v) and v.max() >= 10 * v.min():
        (ax.set_yscale if axis == "y" else ax.set_xscale)("log")


def _sizes_scale(sizes):
    """The sequential colormap and log norm that colour sizes (or budgets), small dark to
    large light."""
    import matplotlib
    from matplotlib.colors import ListedColormap, LogNorm

    cmap = ListedColormap(matplotlib.colormaps[CMAP](np.linspace(0, SHADE, 256)))
    lo, hi = float(np.min(sizes)), float(np.max(sizes))
    if not hi > lo:
        lo, hi = lo / 2, hi * 2
    return cmap, LogNorm(lo, hi)


def _count(v: float, _pos=None) -> str:
    """A count as papers write it: 300K, 20M, 1.5B, 1.4T."""
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= scale:
            return f"{v / scale:.3g}{suffix}"
    return f"{v:.3g}"


def _log_ticks(ax, which: str, label=_count) -> None:
    """Labels a log axis with ``label`` (a count such as 20M by default); one spanning under
    ``SHORT`` decades is ticked at 1, 2 and 5 of each decade, and minor ticks go unlabelled
    (matplotlib's own labels of them collide on short axes)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    axis, (lo, hi) = (ax.xaxis, ax.get_xlim()) if which == "x" else (ax.yaxis, ax.get_ylim())
    if np.log10(hi / lo) < SHORT:
        axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(label))
    axis.set_minor_formatter(NullFormatter())


def _size_colorbar(fig, ax, cmap, norm, sizes) -> None:
    """The colour bar of model sizes, ticked at each size when there are few, labelled as
    counts (20M, 1.5B)."""
    from matplotlib.cm import ScalarMappable
    from matplotlib.ticker import FuncFormatter

    bar = fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=LABELS["N"], pad=0.02)
    sizes = np.unique(sizes)
    if len(sizes) <= FEW_SIZES:
        bar.set_ticks(sizes)
        bar.ax.minorticks_off()
    bar.ax.yaxis.set_major_formatter(FuncFormatter(_count))


def _split_line(ax, x, y, inside, color, **style) -> None:
    """Draws y(x) solid where ``inside`` (the fitted range) and dashed elsewhere; each dashed
    part reaches into its solid neighbour so the curve stays whole."""
    inside = np.asarray(inside, bool)
    out = ~inside
    touch = out | np.r_[out[1:], False] | np.r_[False, out[:-1]]
    if inside.any():
        ax.plot(x, np.where(inside, y, np.nan), color=color, ls="-", **style)
    if out.any():
        ax.plot(x, np.where(touch, y, np.nan), color=color, ls="--", **style)


def _key(label: str, **style):
    """A legend entry that draws nothing on the axes (grey unless a colour is given)."""
    from matplotlib.lines import Line2D

    return Line2D([], [], label=label, **{"color": GREY, **style})


def _line_keys(ax, what: str = "law") -> list:
    """Legend entries for the solid (fitted range) and, if any was drawn, dashed lines."""
    dashed = any(line.get_linestyle() == "--" for line in ax.get_lines())
    return [_key(f"{what}, fitted range")] + (
        [_key(f"{what}, extrapolated", ls="--")] if dashed else [])


def _scatter(ax, x, y, **style):
    """Points, rasterised inside vector files when there are many (a PDF of 100,000 vector
    markers is slow to open)."""
    return ax.scatter(x, y, rasterized=len(np.atleast_1d(x)) > RASTER, **style)


# ---- what a fit must be ----

def _is_curve_law(law) -> bool:
    from .laws._curves import CURVE_INPUTS

    return law.inputs == CURVE_INPUTS


def _inputs_text(law) -> str:
    return "loss curves" if _is_curve_law(law) else ", ".join(law.inputs)


def _need_nd(fit, what: str) -> None:
    if set(fit.law.inputs) != {"N", "D"}:
        raise ValueError(f"{what} needs a law of model size N and tokens D (chinchilla, kaplan, "
                         f"farseer); {fit.law.name} is a law of {_inputs_text(fit.law)}"
                         + ("; use curve_plot" if _is_curve_law(fit.law) else "") + ".")


def _need_curves(fit, what: str) -> None:
    if not _is_curve_law(fit.law):
        raise ValueError(f"{what} needs a loss-curve fit (multi_power or lr_annealing); "
                         f"{fit.law.name} is a law of {', '.join(fit.law.inputs)}: use fit_plot.")


# ---- reading the points of a fit ----

def _points(fit, data) -> dict:
    """The law's inputs and the loss of each row of ``data``, read as the fit read its table
    (its column mapping, D = C/(6N) where needed, invalid rows left out), and ``dropped``:
    the rows the fit left out (matched by row label)."""
    from .data import prepare

    mapped = {"N", "D", "C", "loss", *fit.law.inputs}
    columns = {k: v for k, v in (fit.options.get("columns") or {}).items() if k in mapped}
    table = prepare(data, fit.law.inputs, columns=columns or None, drop_invalid=True)
    gone = {d.row for d in fit.dropped}
    return {**table.inputs, "loss": np.asarray(table.loss),
            "dropped": np.array([r in gone for r in table.rows], bool)}


def _size_groups(N: np.ndarray, most: int) -> tuple[np.ndarray, np.ndarray]:
    """Groups points by model size: each distinct N (to 3 significant digits), or ``most`` bins
    equally wide in log N when there are more sizes. Returns each point's group and each
    group's size (the geometric mean of its points' N)."""
    rounded = np.array([float(f"{v:.3g}") for v in N])
    sizes, group = np.unique(rounded, return_inverse=True)
    if len(sizes) > most:
        edges = np.linspace(np.log(N.min()), np.log(N.max()), most + 1)
        group = np.unique(np.digitize(np.log(N), edges[1:-1]), return_inverse=True)[1]
    lnN = np.log(N)
    means = np.bincount(group, lnN) / np.bincount(group)
    return group, np.exp(means)


def _within(ranges: Mapping, x: Mapping[str, np.ndarray]) -> np.ndarray:
    """True where every input lies within its fitted range."""
    from .predict import beyond, farthest

    return farthest(beyond(ranges, x)) == 0


# ---- 1. data and fitted law ----

def fit_plot(fit, data=None, *, x: str | None = None, extend: float = EXTEND,
             most: int = MOST_SIZES, ax=None, path=None, dpi: float = DPI,
             figsize=(6.4, 4.8)):
    """Data and fitted law: the loss against tokens D (or compute C = 6ND) for each model size.

    Each size's points and the law's curve at that size share a colour from a sequential
    colormap, read off the colour bar. A curve runs across the data and ``extend`` decades
    beyond, solid where (N, D) lie within the fitted ranges and dashed where it extrapolates.
    With ``x="C"`` the law's compute-optimal frontier is drawn in black: the lower envelope of
    the sizes' curves, where the best size for each budget sits. A law of one input
    (``power_C``, ``power_D``, ...) is drawn against that input.

    Args:
        fit: a ``scalefit.Fit`` of a law of N and D, or of one input.
        data: the table fitted (a DataFrame or a CSV/Parquet path), read through the fit's
            column mapping (D = C/(6N) where the table has C, as in the fit); the rows the fit
            dropped are drawn as crosses. Without it only the law is drawn, at five sizes
            spanning the fitted N (a Fit keeps the ranges of its data, not its points).
        x: ``"D"`` (default) or ``"C"``, for a law of N and D.
        extend: decades beyond the data that the curves go on (dashed).
        most: the most sizes drawn one by one; more are binned in log N, each bin drawn at its
            geometric-mean size.
        ax: the axes to draw on (default: a new figure).
        path, dpi: write the figure there (.png, .svg or .pdf) at this resolution.

    Returns:
        The ``matplotlib.figure.Figure``.

    Raises:
        ValueError: a loss-curve fit (use ``curve_plot``), a law of other inputs, or an
            unknown ``x`` or file suffix.
    """
    law = fit.law
    if len(law.inputs) != 1:
        _need_nd(fit, "fit_plot")
    axis = (x or "D") if len(law.inputs) == 2 else law.inputs[0]
    if axis not in (("D", "C") if len(law.inputs) == 2 else law.inputs):
        raise ValueError(f"x must be 'D' or 'C' for a law of N and D, or the input of a law of "
                         f"one; got {x!r}.")
    path = _check_path(path)
    pts = None if data is None else _points(fit, data)
    fig, (ax,) = _canvas(ax, figsize)
    if len(law.inputs) == 1:
        _one_input(ax, fit, pts, extend)
    else:
        _per_size(fig, ax, fit, pts, axis, extend, most)
    ax.set_xscale("log")
    if axis != "C":
        _log_ticks(ax, "x")
    ax.set_xlabel(LABELS.get(axis, axis))
    ax.set_ylabel(_loss_label(_unit(fit)))
    ax.set_title(_title(law), fontsize="medium")
    keys = ([_key("data", marker="o", ls="")] if pts is not None else []) + _line_keys(ax)
    if axis == "C" and len(law.inputs) == 2:
        keys.append(_key("compute-optimal frontier", color="black", lw=2))
    if pts is not None and pts["dropped"].any():
        keys.append(_key("dropped by the fit", marker="x", ls=""))
    ax.legend(handles=keys, loc="best", fontsize="small")
    return _finish(fig, path, dpi)


def _curve_span(ranges, pts, name: str, extend: float) -> np.ndarray:
    """GRID values of input ``name`` from the smallest fitted or plotted value to ``extend``
    decades past the largest."""
    lo, hi = ranges[name]["min"], ranges[name]["max"]
    if pts is not None:
        lo, hi = min(lo, pts[name].min()), max(hi, pts[name].max())
    return np.geomspace(lo, hi * 10.0 ** extend, GRID)


def _per_size(fig, ax, fit, pts, axis: str, extend: float, most: int) -> None:
    """fit_plot for a law of N and D: points and curve per size, a colour bar of the sizes,
    and with ``axis="C"`` the compute-optimal frontier."""
    from .predict import predict_loss

    ranges = fit.data["inputs"]
    if pts is None:
        group, sizes = None, np.geomspace(ranges["N"]["min"], ranges["N"]["max"], 5)
    else:
        group, sizes = _size_groups(pts["N"], most)
    cmap, norm = _sizes_scale(sizes)
    D = _curve_span(ranges, pts, "D", extend)

    def scale(N, D):
        return 6.0 * N * D if axis == "C" else D

    for k, n in enumerate(sizes):
        color = cmap(norm(n))
        if pts is not None:
            at = (group == k) & ~pts["dropped"]
            _scatter(ax, scale(pts["N"][at], pts["D"][at]), pts["loss"][at], s=16,
                     color=color, edgecolors="white", linewidths=0.4, zorder=3)
        loss = predict_loss(fit.law, fit.params, {"N": np.full_like(D, n), "D": D})
        _split_line(ax, scale(n, D), loss, _within(ranges, {"N": n, "D": D}), color, lw=1.4)
    if pts is not None and pts["dropped"].any():
        gone = pts["dropped"]
        ax.scatter(scale(pts["N"][gone], pts["D"][gone]), pts["loss"][gone], marker="x",
                   color=[cmap(norm(v)) for v in pts["N"][gone]], zorder=3)
    if axis == "C":
        C = np.geomspace(6 * sizes.min() * D[0], 6 * sizes.max() * D[-1], GRID)
        _frontier_line(ax, fit, C)
    _size_colorbar(fig, ax, cmap, norm, sizes)


def _frontier_line(ax, fit, C: np.ndarray) -> None:
    """The law's loss at the compute-optimal (N, D) of each budget: black, dashed where that
    (N, D) lies outside the fitted ranges."""
    from .predict import optimal_allocation

    ranges = fit.data["inputs"]
    alloc = optimal_allocation(fit.law, fit.params, C,
                               (ranges["N"]["min"] / 100, ranges["N"]["max"] * 100))
    inside = _within(ranges, {"N": alloc.N, "D": alloc.D})
    _split_line(ax, C, alloc.loss, inside, "black", lw=2, zorder=4)


def _one_input(ax, fit, pts, extend: float) -> None:
    """fit_plot for a law of one input: its points and its curve."""
    from .predict import predict_loss

    name = fit.law.inputs[0]
    ranges = fit.data["inputs"]
    if pts is not None:
        kept = ~pts["dropped"]
        _scatter(ax, pts[name][kept], pts["loss"][kept], s=16, color="C0", zorder=3)
        if pts["dropped"].any():
            ax.scatter(pts[name][~kept], pts["loss"][~kept], marker="x", color="C0", zorder=3)
    v = _curve_span(ranges, pts, name, extend)
    loss = predict_loss(fit.law, fit.params, {name: v})
    _split_line(ax, v, loss, _within(ranges, {name: v}), "C0", lw=1.6)


# ---- 2. residuals ----

def residuals_plot(fit, data=None, *, ax=None, path=None, dpi: float = DPI, figsize=None):
    """Log residuals ln(L_pred / L) against each input and against the predicted loss, with
    the band |r| <= δ in which the Huber objective is quadratic (outside it, linear: points
    there pull on the fit less than under least squares).

    Structure in a panel (a trend, a curve, a fan) is what the law misses; points far outside
    the band are the ones the robust objective down-weighted. Points are coloured by model
    size where the law has N. A loss-curve fit keeps its points, so it needs no ``data``: its
    residuals are drawn against step and predicted loss, coloured by run.

    Args:
        fit: a ``scalefit.Fit``.
        data: the table fitted (as for ``fit_plot``); not used for a loss-curve fit.
        ax: a sequence of axes, one per panel (the law's inputs, then the predicted loss).
        path, dpi: write the figure there (.png, .svg or .pdf).
        figsize: default 3.3 inches wide per panel, 3.4 high.

    Raises:
        ValueError: no ``data`` for a law of runs' inputs, or ``data`` for a loss-curve fit.
    """
    curves = _is_curve_law(fit.law)
    if curves and data is not None:
        raise ValueError("a loss-curve fit keeps its points: call residuals_plot(fit) without "
                         "data.")
    if not curves and data is None:
        raise ValueError(f"residuals_plot needs the data fitted, residuals_plot(fit, data): a "
                         f"Fit keeps the ranges of its {', '.join(fit.law.inputs)}, not its "
                         "points.")
    path = _check_path(path)
    names = ["step"] if curves else list(fit.law.inputs)
    panels = len(names) + 1
    fig, axes = _canvas(ax, figsize or (3.3 * panels + 0.8, 3.4), 1, panels, sharey=True)
    unit = _unit(fit)
    if curves:
        obs = fit.observed()
        x = {"step": obs["step"].to_numpy(), "predicted": obs["predicted"].to_numpy()}
        keys = _residuals_by_run(axes, x, obs["residual"].to_numpy(), obs["run"].to_numpy())
    else:
        from .predict import predict_loss

        pts = _points(fit, data)
        x = {n: pts[n] for n in names}
        x["predicted"] = predict_loss(fit.law, fit.params, x)
        r = np.log(x["predicted"] / pts["loss"])
        keys = _residuals_by_size(fig, axes, x, r, pts)
    for a, name in zip(axes, [*names, "predicted"]):
        a.axhline(0.0, color=GREY, lw=0.8, zorder=1)
        band = _huber_band(a, fit)
        _log_if_decades(a, x[name], "x")
        if name in ("N", "D") and a.get_xscale() == "log":
            _log_ticks(a, "x")
        a.set_xlabel(_loss_label(unit, "predicted loss") if name == "predicted"
                     else LABELS.get(name, name))
    axes[0].set_ylabel(RESIDUAL)
    keys += [band] if band is not None else []
    axes[0].legend(handles=keys, loc="lower left", bbox_to_anchor=(0, 1.01),
                   ncols=min(len(keys), 4), fontsize="small", frameon=False)
    fig.suptitle(f"{_title(fit.law)}: residuals", fontsize="medium")
    return _finish(fig, path, dpi)


def _huber_band(ax, fit):
    """Shades |r| <= δ for a Huber fit; returns the shading (None for other objectives)."""
    if fit.options.get("loss") != "huber":
        return None
    delta = float(fit.options["delta"])
    return ax.axhspan(-delta, delta, color="0.85", zorder=0, label=f"Huber δ = {delta:g}")


def _residuals_by_size(fig, axes, x, r, pts) -> list:
    """Each panel's points coloured by model size (with a colour bar) where the law has N;
    returns their legend entries."""
    kept = ~pts["dropped"]
    color = np.array(["C0"] * len(r))
    if "N" in pts:
        cmap, norm = _sizes_scale(pts["N"])
        color = cmap(norm(pts["N"]))
        _size_colorbar(fig, axes, cmap, norm, pts["N"])
    for a, v in zip(axes, x.values()):
        _scatter(a, v[kept], r[kept], s=14, color=color[kept], edgecolors="white",
                 linewidths=0.3, zorder=3)
        if (~kept).any():
            a.scatter(v[~kept], r[~kept], marker="x", color=color[~kept], zorder=3)
    return [_key("fitted point", marker="o", ls="")] + (
        [_key("dropped by the fit", marker="x", ls="")] if (~kept).any() else [])


def _residuals_by_run(axes, x, r, runs) -> list:
    """Each panel's points coloured by run; returns their legend entries."""
    keys = []
    for k, run in enumerate(pd.unique(runs)):
        at = runs == run
        for a, v in zip(axes, x.values()):
            _scatter(a, v[at], r[at], s=8, color=f"C{k % 10}", zorder=3)
        keys.append(_key(str(run), marker="o", ls="", color=f"C{k % 10}"))
    return keys


# ---- 3. the compute-optimal frontier ----

def frontier_plot(fit, compute=None, *, level: float = LEVEL, ax=None, path=None,
                  dpi: float = DPI, figsize=(11, 3.8)):
    """The compute-optimal model size N, tokens D and tokens per parameter D/N against compute
    C = 6ND (``fit.optimal``), log-log, three panels sharing the C axis.

    Solid where the optimal (N, D) lies within the fitted ranges (that span of C is shaded),
    dashed beyond; with a bootstrap (``fit.bootstrap``) each panel shows its ``level`` band.

    Args:
        fit: a ``scalefit.Fit`` of a law of N and D.
        compute: budgets in FLOPs: the frontier spans the smallest to the largest, each marked;
            default from the smallest compute of the fitted ranges (6 x smallest N x smallest D)
            to three decades past the largest.
        level: the band's level.
        ax: three axes (N, D, D/N); path, dpi: write the figure there.

    Raises:
        ValueError: a law that is not of N and D.
    """
    _need_nd(fit, "frontier_plot")
    path = _check_path(path)
    ranges = fit.data["inputs"]
    if compute is None:
        C = np.geomspace(6 * ranges["N"]["min"] * ranges["D"]["min"],
                         6e3 * ranges["N"]["max"] * ranges["D"]["max"], BUDGETS)
    else:
        budgets = np.sort(np.atleast_1d(np.asarray(compute, np.float64)))
        C = np.geomspace(budgets[0], budgets[-1], BUDGETS) if len(budgets) > 1 else budgets
    with warnings.catch_warnings():
        from .errors import ExtrapolationWarning

        warnings.simplefilter("ignore", ExtrapolationWarning)
        alloc = fit.optimal(C, level=level)
        marks = None if compute is None else fit.optimal(budgets)
    fig, axes = _canvas(ax, figsize, 1, 3, sharex=True)
    inside = np.atleast_1d(alloc.decades_beyond) == 0
    panels = (("N", LABELS["N"], "C0"), ("D", LABELS["D"], "C1"),
              ("D/N", "tokens per parameter D/N", "C2"))
    for a, (name, label, color) in zip(axes, panels):
        y = alloc.D / alloc.N if name == "D/N" else getattr(alloc, name)
        if inside.any():
            a.axvspan(C[inside].min(), C[inside].max(), color="0.92", zorder=0,
                      label="optimum within the fitted N, D")
        if alloc.band is not None:
            lo, hi = alloc.band[name]
            a.fill_between(C, lo, hi, color=color, alpha=0.2, lw=0,
                           label=f"{level:.0%} bootstrap band")
        _split_line(a, C, y, inside, color, lw=2)
        if marks is not None:
            a.scatter(marks.C, marks.D / marks.N if name == "D/N" else getattr(marks, name),
                      color=color, edgecolors="black", zorder=4, label="budgets")
        a.set_xscale("log")
        a.set_yscale("log")
        _log_ticks(a, "y", _count if name != "D/N" else lambda v, _: f"{v:g}")
        a.set_xlabel(LABELS["C"])
        a.set_title(f"compute-optimal {name}", fontsize="medium")
        a.set_ylabel(label)
    keys = axes[0].get_legend_handles_labels()[0] + _line_keys(axes[0], "optimum")
    fig.legend(handles=keys, loc="outside lower center", ncols=len(keys), fontsize="small",
               frameon=False)
    fig.suptitle(_title(fit.law), fontsize="medium")
    return _finish(fig, path, dpi)


# ---- 4. loss curves ----

def curve_plot(fit, schedule=None, *, observed: pd.DataFrame | None = None, steps=None,
               level: float = LEVEL, ax=None, path=None, dpi: float = DPI, figsize=(7, 5.6)):
    """Predicted against observed loss curves of a loss-curve law (``multi_power``,
    ``lr_annealing``): the loss against step above (observed points, the predicted curve and,
    after a bootstrap, its ``level`` band), the learning-rate schedule below on the same steps.

    The predicted curve is solid over the steps the fit saw (a run's own steps for a fitted
    run) and dashed outside them. The loss axis is scaled to the fitted steps onward: the
    laws' loss at the first steps of warmup is far above the rest of the curve.

    Args:
        fit: a loss-curve ``scalefit.Fit``.
        schedule: None (every fitted run, with its points), a fitted run's name (that run), or
            a schedule to predict (a ``scalefit.schedules.Schedule``, a spec string, or an
            array of the rate at each step).
        observed: for a schedule to predict, the run's logged points: a DataFrame with ``step``
            and ``loss`` columns.
        steps: the steps to predict (default every step).
        level: the band's level.
        ax: two axes (loss, schedule); path, dpi: write the figure there.

    Raises:
        ValueError: a fit of a law that is not a loss-curve law (use ``fit_plot``).
    """
    _need_curves(fit, "curve_plot")
    path = _check_path(path)
    items = _curve_items(fit, schedule, observed, steps, level)
    fig, (top, bottom) = _canvas(ax, figsize, 2, 1, sharex=True,
                                 gridspec_kw={"height_ratios": (3, 1)})
    first = fit.data["steps"]["min"]
    shown = []
    for k, (label, curve, points, fitted) in enumerate(items):
        color = f"C{k % 10}"
        s = curve["step"].to_numpy()
        if points is not None:
            _scatter(top, points["step"], points["loss"], s=12, facecolors="none",
                     edgecolors=color, linewidths=0.8, zorder=4)
            shown.append(points["loss"].to_numpy())
        if "lower" in curve:
            top.fill_between(s, curve["lower"], curve["upper"], color=color, alpha=0.2, lw=0)
        inside = (s >= fitted[0]) & (s <= fitted[1])
        _split_line(top, s, curve["loss"].to_numpy(), inside, color, lw=1.3, zorder=3)
        bottom.plot(s, curve["lr"], color=color, lw=1.4)
        late = s >= first
        shown += [curve[c].to_numpy()[late] for c in ("loss", "lower", "upper") if c in curve]
    _loss_limits(top, np.concatenate(shown))
    top.set_ylabel(_loss_label(_unit(fit)))
    top.set_title(_title(fit.law), fontsize="medium")
    keys = [_key(label, color=f"C{k % 10}") for k, (label, *_) in enumerate(items)]
    keys += [_key("observed", marker="o", ls="", mfc="none")] if any(
        it[2] is not None for it in items) else []
    keys += _line_keys(top, "predicted")
    keys += [_key(f"{level:.0%} bootstrap band", marker="s", ls="", alpha=0.3, ms=9)] if any(
        "lower" in it[1] for it in items) else []
    top.legend(handles=keys, loc="upper right", fontsize="small")
    bottom.set_ylabel("learning rate")
    bottom.set_xlabel("step")
    bottom.ticklabel_format(axis="y", style="sci", scilimits=(-2, 3))
    return _finish(fig, path, dpi)


def _curve_items(fit, schedule, observed, steps, level) -> list[tuple]:
    """The curves to draw: (label, predicted frame with step, lr, loss [, lower, upper],
    observed points or None, (first, last) step seen in fitting)."""
    runs = fit.data["runs"]
    if schedule is None or (isinstance(schedule, str) and schedule in runs):
        if observed is not None:
            raise ValueError("observed= goes with a schedule to predict; a fitted run's points "
                             "are the fit's own.")
        names = list(runs) if schedule is None else [schedule]
        obs = fit.observed()
        return [(str(name), _run_curve(fit, name, obs[obs["run"] == name], steps, level),
                 obs[obs["run"] == name], tuple(runs[name]["steps"])) for name in names]
    if observed is not None and not {"step", "loss"} <= set(observed.columns):
        raise ValueError(f"observed needs columns 'step' and 'loss'; it has "
                         f"{', '.join(map(str, observed.columns))}.")
    curve = fit.predict_curve(schedule, steps, level=level)
    fitted = (fit.data["steps"]["min"], fit.data["steps"]["max"])
    return [(f"{curve.attrs['schedule'].split(':')[0]} (predicted)", curve, observed, fitted)]


def _run_curve(fit, name, points: pd.DataFrame, steps, level) -> pd.DataFrame:
    """A fitted run's predicted curve from its schedule's spec; a schedule read from a log
    (which its spec cannot rebuild) gives the predictions at the fitted points instead."""
    from . import schedules

    spec = fit.data["runs"][name]["schedule"]
    try:
        schedules.parse(spec)
    except ValueError:
        return points[["step", "lr"]].assign(loss=points["predicted"]).reset_index(drop=True)
    return fit.predict_curve(spec, steps, level=level)


def _loss_limits(ax, values: np.ndarray) -> None:
    """Loss limits around ``values`` with a margin (the predicted curve's first steps are left
    off the top)."""
    v = values[np.isfinite(values)]
    lo, hi = v.min(), v.max()
    pad = 0.05 * (hi - lo) or 0.05 * hi
    ax.set_ylim(lo - pad, hi + pad)


# ---- 5, 6. backtests and the boundary sweep ----

def _sweep_column(result) -> str | None:
    summary = getattr(result, "summary", None)
    if not isinstance(summary, pd.DataFrame) or not {"law", "split", "are"} <= set(summary):
        raise ValueError(f"expected the result of scalefit.backtest or scalefit.boundary_sweep "
                         f"(a Backtest), got {type(result).__name__}.")
    return next((c for c in summary.columns if str(c).startswith("train_max_")), None)


def backtest_plot(result, *, ax=None, path=None, dpi: float = DPI, figsize=(6.4, 4.4)):
    """The held-out error of each law in a backtest (``scalefit.backtest``): a bar per law (and
    per split, side by side, when there are several) of the mean absolute relative error on the
    held-out points, labelled with it, a whisker up to the largest error of one point, and
    hatching where the training fit did not converge.

    Raises:
        ValueError: not a Backtest, or a boundary sweep (use ``sweep_plot``).
    """
    if _sweep_column(result) is not None:
        raise ValueError("this Backtest is a boundary sweep: draw it with sweep_plot.")
    path = _check_path(path)
    s = result.summary
    laws, splits = list(pd.unique(s["law"])), list(pd.unique(s["split"]))
    fig, (ax,) = _canvas(ax, figsize)
    width = 0.8 / len(splits)
    for j, split in enumerate(splits):
        part = s[s["split"] == split].set_index("law").reindex(laws)
        at = np.arange(len(laws)) + (j - (len(splits) - 1) / 2) * width
        bars = ax.bar(at, part["are"], width * 0.9, color=f"C{j % 10}",
                      label=textwrap.fill(split, 70), zorder=2)
        for bar, converged in zip(bars, part["converged"]):
            if converged is not None and not converged:
                bar.set_hatch("//")
        worst = np.fmax(part["are"], part["max_are"]).to_numpy()
        ax.errorbar(at, part["are"], yerr=[np.zeros(len(at)), worst - part["are"]], fmt="none",
                    ecolor="black", elinewidth=0.8, capsize=3, zorder=3,
                    label="largest error of one point" if j == len(splits) - 1 else None)
        for x, v, top in zip(at, part["are"], worst):
            if np.isfinite(v):
                ax.annotate(f"{v:.2%}", (x, top), xytext=(0, 3), textcoords="offset points",
                            ha="center", fontsize="x-small")
    from matplotlib.patches import Patch
    from matplotlib.ticker import PercentFormatter

    ax.yaxis.set_major_formatter(PercentFormatter(1.0))
    ax.set_xticks(np.arange(len(laws)), laws)
    ax.set_ylim(0, 1.12 * np.nanmax(s[["are", "max_are"]].to_numpy()))
    ax.set_ylabel(ERROR)
    ax.set_title("Backtest: held-out error by law", fontsize="medium")
    ax.grid(axis="y", color="0.9", zorder=0)
    keys = ax.get_legend_handles_labels()[0]
    if not s["converged"].all():
        keys.append(Patch(facecolor="white", edgecolor=GREY, hatch="//",
                          label="training fit did not converge"))
    ax.legend(handles=keys, loc="upper center", bbox_to_anchor=(0.5, -0.1), fontsize="small",
              frameon=False)
    return _finish(fig, path, dpi)


def sweep_plot(result, *, ax=None, path=None, dpi: float = DPI, figsize=(6.4, 4.4)):
    """The boundary sweep (``scalefit.boundary_sweep``): each law's mean held-out error against
    the largest size it was trained on, log x: how the error falls as training reaches closer
    to the held-out size (marked by a dotted line).

    Raises:
        ValueError: not a boundary sweep (a plain backtest: use ``backtest_plot``).
    """
    column = _sweep_column(result)
    if column is None:
        raise ValueError("sweep_plot draws a boundary sweep (scalefit.boundary_sweep); this "
                         "Backtest has fixed splits: draw it with backtest_plot.")
    path = _check_path(path)
    by = column[len("train_max_"):]
    s = result.summary
    fig, (ax,) = _canvas(ax, figsize)
    for k, (law, part) in enumerate(s.groupby("law", sort=False)):
        part = part.sort_values(column)
        ax.plot(part[column], part["are"], marker="o", color=f"C{k % 10}", lw=1.6, label=law)
    if by in result.points.columns:
        held = float(result.points[by].min())
        text = _count(held) if by in ("N", "D") else f"{held:.3g}"
        ax.axvline(held, color=GREY, ls=":", lw=1.2, label=f"held out: {by} ≥ {text}")
    ax.set_xscale("log")
    if by in ("N", "D"):
        _log_ticks(ax, "x")
    _percent_axis(ax, s["are"])
    ax.set_xlabel(f"largest {LABELS.get(by, by)} in training")
    ax.set_ylabel(ERROR)
    ax.set_title("Boundary sweep: held-out error as training grows", fontsize="medium")
    ax.legend(loc="best", fontsize="small")
    return _finish(fig, path, dpi)


def _percent_axis(ax, values) -> None:
    """Percent ticks on the y axis, on a log scale (ticks at 1, 2 and 5 per decade) when the
    values span a decade or more."""
    from matplotlib.ticker import PercentFormatter

    _log_if_decades(ax, values, "y")
    if ax.get_yscale() == "log":
        _log_ticks(ax, "y", lambda v, _: f"{100 * v:g}%")
    else:
        ax.yaxis.set_major_formatter(PercentFormatter(1.0))


# ---- 7. compute-optimal N three ways ----

def approaches_plot(comparison, *, ax=None, path=None, dpi: float = DPI, figsize=(6.4, 4.8)):
    """N_opt against compute for each approach of ``scalefit.compare_approaches``: each
    approach's power law N_opt ∝ C^a (solid over the compute it was fitted on, dashed beyond,
    with its bootstrap band), and the points it was fitted to (the envelope's points, the
    IsoFLOP minima with their intervals). The legend gives each a with its interval.

    Raises:
        ValueError: not a ``Comparison``.
    """
    if not hasattr(comparison, "results") or not hasattr(comparison, "exponents"):
        raise ValueError(f"approaches_plot draws the result of scalefit.compare_approaches (a "
                         f"Comparison), got {type(comparison).__name__}.")
    path = _check_path(path)
    fig, (ax,) = _canvas(ax, figsize)
    C = _approach_span(comparison)
    exps = comparison.exponents.set_index("approach")
    keys = []
    from .approaches import NAMES

    for k, res in comparison.results.items():
        e = exps.loc[NAMES[k]]
        color = f"C{k - 1}"
        label = f"{NAMES[k]}: a = {e['a']:.3f}" + (
            f" [{e['a_lower']:.3f}, {e['a_upper']:.3f}]" if np.isfinite(e["a_lower"]) else "")
        table = res.optimal(C)
        if np.isfinite(table["N_lower"]).any():
            ax.fill_between(C, table["N_lower"], table["N_upper"], color=color, alpha=0.15, lw=0)
        _split_line(ax, C, table["N"].to_numpy(), table["decades_beyond"].to_numpy() == 0,
                    color, lw=1.8)
        keys.append(_key(label, color=color, lw=1.8))
        keys += _approach_points(ax, k, res, color)
    ax.set_xscale("log")
    ax.set_yscale("log")
    _log_ticks(ax, "y")
    ax.set_xlabel(LABELS["C"])
    ax.set_ylabel("compute-optimal N (parameters)")
    ax.set_title("Compute-optimal model size three ways (Hoffmann et al. 2022)",
                 fontsize="medium")
    ax.legend(handles=keys + _line_keys(ax, "power law")[1:], loc="upper left", fontsize="small")
    return _finish(fig, path, dpi)


def _approach_span(comparison) -> np.ndarray:
    """GRID budgets from half the smallest to twice the largest of the approaches' fitted
    compute and the comparison's budgets."""
    ends = list(comparison.allocations["C"])
    for res in comparison.results.values():
        if hasattr(res, "scaling"):
            ends += list(res.scaling.C_range)
        else:
            r = res.fit.data["inputs"]
            ends += [6 * r["N"]["min"] * r["D"]["min"], 6 * r["N"]["max"] * r["D"]["max"]]
    return np.geomspace(min(ends) / 2, max(ends) * 2, GRID)


def _approach_points(ax, k: int, res, color) -> list:
    """The points an approach's power law was fitted to: the envelope's estimates (1), the
    IsoFLOP minima with their bootstrap intervals (2); the parametric fit (3) has none.
    Returns their legend entries."""
    if k == 1:
        est = res.estimates
        ax.scatter(est["C"], est["N"], s=22, facecolors="white", edgecolors=color, zorder=3)
        return [_key("envelope points", marker="o", ls="", color=color, mfc="white")]
    if k == 2:
        p = res.profiles[res.profiles["used"]]
        err = np.abs(np.vstack([p["N_opt"] - p["N_lower"], p["N_upper"] - p["N_opt"]]))
        ax.errorbar(p["budget"], p["N_opt"], yerr=np.nan_to_num(err), fmt="s", ms=5,
                    color=color, mfc="white", capsize=2, zorder=3)
        return [_key("IsoFLOP minima", marker="s", ls="", color=color, mfc="white", ms=5)]
    return []


def isoflop_plot(iso, *, unit: str | None = None, ax=None, path=None, dpi: float = DPI,
                 figsize=(6.4, 4.8)):
    """IsoFLOP profiles (``scalefit.approaches.isoflop``): each budget's runs, loss against N
    (log x), with the fitted profile (solid over its sizes, dashed a little beyond) and its
    minimum N_opt (a star, with its bootstrap interval; hollow where the minimum sits at an
    edge of the sizes and was left out of the exponent fit). Colours follow the budget on a
    sequential colormap.

    Args:
        iso: an ``IsoFLOP`` (also ``comparison.results[2]``).
        unit: the loss's unit, for the axis label.
        ax: the axes; path, dpi: write the figure there.

    Raises:
        ValueError: not an ``IsoFLOP``.
    """
    if not all(hasattr(iso, a) for a in ("profiles", "runs", "profile_loss")):
        raise ValueError(f"isoflop_plot draws the result of scalefit.approaches.isoflop (an "
                         f"IsoFLOP), got {type(iso).__name__}.")
    path = _check_path(path)
    fig, (ax,) = _canvas(ax, figsize)
    prof = iso.profiles
    cmap, norm = _sizes_scale(prof["budget"])
    runs = iso.runs
    for _, p in prof.iterrows():
        color = cmap(norm(p["budget"]))
        on = runs[runs["budget"] == p["budget"]]
        ax.scatter(on["N"], on["loss"], s=16, color=color, edgecolors="white", linewidths=0.4,
                   zorder=3)
        if p["n_sizes"] >= 3:
            _profile(ax, iso, p, color)
    ax.set_xscale("log")
    _log_ticks(ax, "x")
    _loss_limits(ax, runs.loc[runs["budget"].notna(), "loss"].to_numpy())
    ax.set_xlabel(LABELS["N"])
    ax.set_ylabel(_loss_label(unit))
    ax.set_title(f"IsoFLOP profiles ({iso.smoother} in ln N) and their minima",
                 fontsize="medium")
    from matplotlib.cm import ScalarMappable

    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label="budget C (FLOPs)", pad=0.02)
    keys = [_key("runs", marker="o", ls=""), _key("fitted profile"),
            _key("profile beyond its sizes", ls="--"),
            _key("minimum N_opt", marker="*", ls="", ms=10)]
    if not prof["used"].all():
        keys.append(_key("minimum at an edge (left out)", marker="*", ls="", ms=10,
                         mfc="white"))
    ax.legend(handles=keys, loc="best", fontsize="small")
    return _finish(fig, path, dpi)


def _profile(ax, iso, p, color) -> None:
    """One profile's fitted curve from its smallest size / ``PAST`` to its largest x ``PAST``,
    and its minimum with the bootstrap interval of N_opt."""
    N = np.geomspace(p["N_min"] / PAST, p["N_max"] * PAST, GRID)
    inside = (N >= p["N_min"]) & (N <= p["N_max"])
    _split_line(ax, N, iso.profile_loss(p["budget"], N), inside, color, lw=1.3)
    if np.isfinite(p["N_opt"]):
        xerr = None
        if np.isfinite(p["N_lower"]):
            xerr = [[max(p["N_opt"] - p["N_lower"], 0)], [max(p["N_upper"] - p["N_opt"], 0)]]
        ax.errorbar([p["N_opt"]], [p["loss_opt"]], xerr=xerr, fmt="*", ms=11, color=color,
                    mec="black", mew=0.6, mfc=color if p["used"] else "white", capsize=2,
                    zorder=4)
