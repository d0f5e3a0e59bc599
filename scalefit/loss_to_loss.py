"""Loss-to-loss prediction: map one loss of a model onto another, and carry a law across datasets.

Brandfonbrener, Anand, Vyas, Malach, Kakade 2024, "Loss-to-Loss Prediction: Scaling Laws for
All Datasets", find that two losses of models of the same size N trained for the same tokens D
follow a shifted power law

    L_y = K * (L_x - E_x)**kappa + E_y,

where E_x and E_y are the irreducible losses of per-dataset fits of Kaplan's law with an
entropy term (``scalefit.laws._kaplan_e``: L = [(A/N)**(alpha/beta) + B/D]**beta + E). The
pairings the paper studies are all pairings of runs by (N, D):

* train-to-train: the train loss of a model trained on dataset x against that of the model of
  the same (N, D) trained on dataset y;
* train-to-test: a model's train loss against its loss on another test set;
* test-to-test: two test losses, of the models of one (N, D) trained on two datasets, or of one
  model.

Here "train loss" is a run's validation loss on its own training distribution. ``pairs`` pairs
runs of the paper's sweep (``scalefit.data.load("loss-to-loss")``), ``fit_map`` fits (K, kappa)
with scalefit's engine (a law of one input, the x loss: by default the paper's least squares on
log(L_y - E_y) against log(L_x - E_x)), ``translate`` carries a
kaplan_e law from dataset x to dataset y, and ``train_to_train`` runs the paper's recipe on the
held-out 3.3B-parameter runs. Pure functions over pandas and numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .laws._kaplan_e import kaplan_e
from .laws._spec import Law, Param, exp_steps
from .laws._xp import xp_of

__all__ = ["LossMap", "TRAIN_EVAL", "train_metric", "pairs", "fit_map", "fit_train",
           "translate", "train_to_train", "loss_map_law"]

# Training set (the sweep's ``data``) -> the validation set of its own distribution.
TRAIN_EVAL = {
    "fineweb-100b": "fineweb_100b",
    "fineweb-edu-100b": "fineweb_edu_100b",
    "proof-pile-2": "proof_pile_2",
    "slimpajama-chunk1": "slimpajama",
    "smollm-corpus": "smollm",
    "starcoder": "starcoder",
}


# --- the map as a law ---------------------------------------------------------------------------

def _map_loss(p, x):
    """y = k * (x - ex)**kappa + ey, on losses divided by their smallest fitted value."""
    xp = xp_of(p, x)
    return p["k"] * xp.exp(p["kappa"] * xp.log(x["x"] - p["ex"])) + p["ey"]


_SHIFT_WHY = ("the shift is an irreducible loss, below every loss it is subtracted from: the "
              "losses are divided by their smallest fitted value, so it stays below 1")

loss_map_law = Law(
    name="loss_to_loss",
    inputs=("x",),
    params=(
        Param("k", log=True, grid=exp_steps(-2, 2, 1)),
        Param("kappa", lower=1e-3, grid=(0.5, 1.0, 1.5, 2.0),
              why="kappa > 0: a larger loss on x means a larger loss on y"),
        Param("ex", lower=0.0, upper=0.999, grid=(0.5, 0.8, 0.95), why=_SHIFT_WHY),
        Param("ey", lower=0.0, upper=0.999, grid=(0.5, 0.8, 0.95), why=_SHIFT_WHY),
    ),
    loss=_map_loss,
    reference="Brandfonbrener et al. 2024, Loss-to-Loss Prediction, eq. 3 (L_y = K (L_x - E_x)"
              "**kappa + E_y), written on L_x / min L_x and L_y / min L_y",
    array_api=True,
)
"""The loss-to-loss map as a scalefit law of one input, ``x = L_x / m_x``, predicting
``L_y / m_y`` (m the smallest fitted loss of each side): y = k (x - ex)**kappa + ey. On these
scales the shifts' bounds, [0, 1), are the same for every pair of losses, so every map shares one
compilation; ``LossMap`` holds the parameters on the losses' own scale. With both shifts held at
0 it is the power law y = k x**kappa that ``fit_map`` fits to the shifted losses."""


@dataclass(frozen=True)
class LossMap:
    """A fitted loss-to-loss map L_y = K (L_x - E_x)**kappa + E_y (Brandfonbrener et al. 2024).

    Attributes:
        K, kappa: the map's scale and exponent.
        E_x, E_y: the shifts (irreducible losses of x and y), given or searched.
        x, y: names of the two losses (for messages and tables).
        fit: the engine's record (``scalefit.Fit`` of ``loss_map_law`` on the scaled losses:
            residuals, convergence, objective, which shifts were fixed).
        scale_x, scale_y: the scales of ``fit``'s x and y: the smallest fitted L_x and L_y
            (``space="loss"``) or L_x - E_x and L_y - E_y (``space="shifted"``).
        space: what was fitted: ``"shifted"`` (log(L_y - E_y) against log(L_x - E_x), squared
            residuals) or ``"loss"`` (log L_y, Huber).
        searched: the shifts that were searched rather than given.
    """

    K: float
    kappa: float
    E_x: float
    E_y: float
    x: str
    y: str
    fit: object
    scale_x: float
    scale_y: float
    space: str = "shifted"
    searched: tuple[str, ...] = ()

    @property
    def n_points(self) -> int:
        return self.fit.n_points

    def predict(self, x_loss) -> np.ndarray | float:
        """L_y predicted from L_x (scalar in, float out).

        Raises:
            ValueError: an L_x at or below E_x, where the map is undefined.
        """
        lx = np.asarray(x_loss, dtype=float)
        if not np.all(np.isfinite(lx)) or np.any(lx <= self.E_x):
            raise ValueError(f"x_loss must be finite and above E_x = {self.E_x:.6g} (the "
                             f"irreducible loss of {self.x}); got min {np.min(lx):.6g}.")
        out = self.K * (lx - self.E_x) ** self.kappa + self.E_y
        return float(out) if np.ndim(x_loss) == 0 else out

    def __repr__(self) -> str:
        return (f"LossMap({self.x} -> {self.y}: K={self.K:.6g}, kappa={self.kappa:.6g}, "
                f"E_x={self.E_x:.6g}, E_y={self.E_y:.6g}, n_points={self.n_points})")


def _losses(name: str, values) -> np.ndarray:
    a = np.asarray(values, dtype=float).ravel()
    bad = ~np.isfinite(a) | (a <= 0)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] = {float(a[i])!r}: losses must be positive and finite; drop "
                         "that run or fix its loss.")
    return a


def _shift(name: str, value, losses: np.ndarray, side: str) -> float | None:
    if value is None:
        return None
    v = float(value)
    low = float(losses.min())
    if not (math.isfinite(v) and 0 <= v < 0.999 * low):
        raise ValueError(f"{name}={value!r} must be at least 0 and below the smallest {side} "
                         f"loss, {low:.6g} (times 0.999): it is that loss's irreducible part. "
                         f"Take it from a kaplan_e fit of {side} (fit_train), or pass None to "
                         "search it.")
    return v


def fit_map(x_loss, y_loss, E_x: float | None = None, E_y: float | None = None, *,
            x: str = "x", y: str = "y", space: str | None = None, **options) -> LossMap:
    """Fits L_y = K (L_x - E_x)**kappa + E_y to paired losses (Brandfonbrener et al. 2024).

    The paper takes E_x and E_y from kaplan_e fits of each dataset (see ``fit_train``) and fits
    K and kappa by least squares on log(L_y - E_y) = log K + kappa log(L_x - E_x): ``space=
    "shifted"``, the default when both shifts are given. ``space="loss"`` instead minimises
    scalefit's usual objective, Huber (delta 1e-3) on log residuals of L_y itself; it is the
    only choice when a shift is left None to be searched (below the smallest loss of its side),
    since on the shifted scale a moving shift changes the data being fitted. Either way the fit
    is ``scalefit.fit`` of ``loss_map_law`` (in the shifted space, with both of its shifts
    held at 0 and ``loss="squared"``), and its record is kept as ``LossMap.fit``.

    Args:
        x_loss, y_loss: the two losses of each pair (e.g. the columns of ``pairs``).
        E_x, E_y: the irreducible losses of x and y, or None to search them.
        x, y: names of the two losses, kept with the map.
        space: ``"shifted"`` (the paper's log-log least squares) or ``"loss"``; default
            ``"shifted"`` when both shifts are given, else ``"loss"``.
        options: passed to ``scalefit.fit`` (``loss``, ``delta``, ``n_solve``, ``start``, ...).

    Raises:
        ValueError: unequal lengths, a loss that is not positive and finite, too few pairs for
            the free parameters, a shift not below its side's smallest loss, or
            ``space="shifted"`` with a shift to search.
    """
    from .api import fit as _fit

    lx, ly = _losses("x_loss", x_loss), _losses("y_loss", y_loss)
    if len(lx) != len(ly):
        raise ValueError(f"x_loss has {len(lx)} values but y_loss {len(ly)}; give one of each "
                         "per pair of runs (see pairs()).")
    ex, ey = _shift("E_x", E_x, lx, "x"), _shift("E_y", E_y, ly, "y")
    searched = tuple(n for n, v in (("E_x", ex), ("E_y", ey)) if v is None)
    space = ("loss" if searched else "shifted") if space is None else space
    if space not in ("shifted", "loss"):
        raise ValueError(f"space must be 'shifted' (log-log least squares on L - E, the "
                         f"paper's fit) or 'loss' (Huber on log L_y); got {space!r}.")
    if space == "shifted" and searched:
        raise ValueError(f"space='shifted' needs both shifts given, but {' and '.join(searched)} "
                         "is None; give it (e.g. the E of a kaplan_e fit), or use space='loss' "
                         "to search it.")
    free = 2 + len(searched)
    if len(lx) <= free:
        raise ValueError(f"{len(lx)} pairs cannot fit a loss-to-loss map with {free} free "
                         "parameters; give more pairs, or fix E_x and E_y.")
    if space == "shifted":
        sx, sy = lx - ex, ly - ey
        mx, my = float(sx.min()), float(sy.min())
        fix = {"ex": 0.0, "ey": 0.0}
        options = {"loss": "squared", **options}
    else:
        sx, sy = lx, ly
        mx, my = float(lx.min()), float(ly.min())
        fix = {**({} if ex is None else {"ex": ex / mx}), **({} if ey is None else {"ey": ey / my})}
    frame = pd.DataFrame({"x": sx / mx, "loss": sy / my})
    result = _fit(frame, loss_map_law, fix=fix or None, **options)
    p = result.params
    K = float(p["k"]) * my / mx ** float(p["kappa"])
    if space == "shifted":
        shifts = (ex, ey)
    else:
        shifts = (float(p["ex"]) * mx, float(p["ey"]) * my)
    return LossMap(K=K, kappa=float(p["kappa"]), E_x=shifts[0], E_y=shifts[1], x=x, y=y,
                   fit=result, scale_x=mx, scale_y=my, space=space, searched=searched)


# --- pairing runs -------------------------------------------------------------------------------

def train_metric(data: str) -> str:
    """The metric (of ``scalefit.data.load("loss-to-loss")``) that is the train loss of runs
    trained on ``data``: their validation loss on their own training distribution.

    Raises:
        ValueError: an unknown training set, naming the known ones.
    """
    if data not in TRAIN_EVAL:
        raise ValueError(f"unknown training set {data!r}; the sweep's training sets are "
                         f"{', '.join(TRAIN_EVAL)}. Name a test set explicitly as "
                         "(training set, test set) instead.")
    return f"validation/{TRAIN_EVAL[data]} cross-entropy"


def _side(spec, runs: pd.DataFrame, which: str) -> tuple[str, str]:
    """(training set, metric) of a side: a training set (its train loss) or a pair
    (training set, test set or metric, or a unique part of the metric's name)."""
    if isinstance(spec, str):
        return spec, train_metric(spec)
    if not (isinstance(spec, Sequence) and len(spec) == 2 and all(isinstance(s, str) for s in spec)):
        raise ValueError(f"{which} must be a training set (its train loss), e.g. 'starcoder', or "
                         f"(training set, test set), e.g. ('starcoder', 'c4'); got {spec!r}.")
    data, test = spec
    metrics = pd.unique(runs["metric"].astype(str))
    if test in metrics:
        return data, test
    if f"validation/{test} cross-entropy" in metrics:
        return data, f"validation/{test} cross-entropy"
    found = [m for m in metrics if test in m]
    if len(found) != 1:
        raise ValueError(f"{which}: test set {test!r} names {len(found)} metrics "
                         f"({', '.join(found) or 'none'}); use one of {', '.join(metrics)}.")
    return data, found[0]


def _key(frame: pd.DataFrame) -> pd.Series:
    """(N, D) to 6 significant digits, so equal settings logged with round-off still pair."""
    return frame["N"].map(lambda v: f"{v:.6g}") + "|" + frame["D"].map(lambda v: f"{v:.6g}")


def pairs(runs: pd.DataFrame, x, y) -> pd.DataFrame:
    """Pairs runs by (N, D): one row per (N, D) that both sides have.

    Args:
        runs: the tidy table of ``scalefit.data.load("loss-to-loss")`` (columns ``data``,
            ``metric``, ``N``, ``D``, ``loss``, ``run``, ``heldout``).
        x, y: each a training set (``"fineweb-100b"``: its runs' train loss) or
            ``(training set, test set)`` (``("fineweb-100b", "c4")``: those runs' c4 loss).
            Train-to-train: two training sets; train-to-test: ``"a"`` and ``("a", "c4")``;
            test-to-test: ``("a", "c4")`` and ``("b", "c4")`` (or two tests of one set).

    Returns:
        Columns ``N``, ``D``, ``heldout``, ``run_x``, ``run_y``, ``x``, ``y`` (the losses),
        sorted by N then D; ``attrs["x"]`` and ``attrs["y"]`` name the sides.

    Raises:
        ValueError: a missing column, an unknown training or test set, an (N, D) repeated on a
            side, or no (N, D) in common.
    """
    need = ("data", "metric", "N", "D", "loss", "run", "heldout")
    missing = [c for c in need if c not in runs.columns]
    if missing:
        raise ValueError(f"runs lacks columns {', '.join(missing)}; pass the tidy table of "
                         "scalefit.data.load('loss-to-loss').")
    sides = []
    for spec, which in ((x, "x"), (y, "y")):
        data, metric = _side(spec, runs, which)
        rows = runs[(runs["data"].astype(str) == data) & (runs["metric"].astype(str) == metric)]
        if rows.empty:
            known = ", ".join(sorted(pd.unique(runs["data"].astype(str))))
            raise ValueError(f"{which}: no runs trained on {data!r} with metric {metric!r}; "
                             f"training sets: {known}.")
        key = _key(rows)
        if key.duplicated().any():
            dup = rows[key.duplicated(keep=False)].iloc[0]
            raise ValueError(f"{which}: several runs on {data!r} share N={dup['N']:.6g}, "
                             f"D={dup['D']:.6g}; keep one run per (N, D) before pairing.")
        sides.append((f"{data}: {metric}", rows.assign(_key=key.to_numpy())))
    (nx, ax), (ny, ay) = sides
    out = ax[["_key", "N", "D", "heldout", "run", "loss"]].merge(
        ay[["_key", "heldout", "run", "loss"]], on="_key", suffixes=("_x", "_y"))
    if out.empty:
        raise ValueError(f"{nx} and {ny} share no (N, D); runs pair only when they have the "
                         "same model size and tokens.")
    out = pd.DataFrame({"N": out["N"].to_numpy(float), "D": out["D"].to_numpy(float),
                        "heldout": (out["heldout_x"] | out["heldout_y"]).to_numpy(bool),
                        "run_x": out["run_x"].to_numpy(), "run_y": out["run_y"].to_numpy(),
                        "x": out["loss_x"].to_numpy(float), "y": out["loss_y"].to_numpy(float)})
    out = out.sort_values(["N", "D"], kind="stable").reset_index(drop=True)
    out.attrs.update(x=nx, y=ny)
    return out


# --- the recipe ---------------------------------------------------------------------------------

def fit_train(runs: pd.DataFrame, data: str, **options):
    """Fits kaplan_e to the train loss of the sweep runs (not the held-out ones) trained on
    ``data``: the per-dataset fit whose E the paper's maps are shifted by.

    Args:
        runs: the tidy table of ``scalefit.data.load("loss-to-loss")``.
        data: a training set (``TRAIN_EVAL``).
        options: passed to ``scalefit.fit``.
    """
    from .api import fit as _fit

    metric = train_metric(data)
    rows = runs[(runs["data"].astype(str) == data) & (runs["metric"].astype(str) == metric)
                & ~runs["heldout"].astype(bool)]
    if rows.empty:
        raise ValueError(f"no sweep runs trained on {data!r} with metric {metric!r} in runs; "
                         "pass the tidy table of scalefit.data.load('loss-to-loss').")
    return _fit(rows[["N", "D", "loss"]].reset_index(drop=True), kaplan_e, **options)


def train_to_train(runs: pd.DataFrame, sets: Sequence[str] | None = None,
                   laws: Mapping[str, object] | None = None, space: str = "shifted",
                   **options) -> pd.DataFrame:
    """The paper's train-to-train extrapolation (Brandfonbrener et al. 2024, Sec. 4): for every
    ordered pair (x, y) of training sets, fit the map on the sweep's paired runs with E_x, E_y
    from each set's kaplan_e fit, then predict the held-out run of y from the held-out run of x.

    Args:
        runs: the tidy table of ``scalefit.data.load("loss-to-loss")``.
        sets: the training sets (default all of ``TRAIN_EVAL``).
        laws: training set -> its kaplan_e fit (a ``Fit`` or a parameter mapping); default
            ``fit_train`` of each.
        space, options: how each map is fitted (``fit_map``; default the paper's fit).

    Returns:
        One row per ordered pair: ``x``, ``y``, ``K``, ``kappa``, ``E_x``, ``E_y``,
        ``n_pairs``, ``converged``, ``x_loss`` (held-out), ``predicted``, ``actual`` and
        ``rel_error`` (predicted / actual - 1), and ``map``, the ``LossMap``.
    """
    sets = list(TRAIN_EVAL if sets is None else sets)
    laws = dict(laws or {})
    E = {}
    for s in sets:
        law = laws.get(s) or fit_train(runs, s)
        E[s] = float((law.params if hasattr(law, "params") else law)["E"])
    rows = []
    for a in sets:
        for b in sets:
            if a == b:
                continue
            paired = pairs(runs, a, b)
            sweep, held = paired[~paired["heldout"]], paired[paired["heldout"]]
            if len(held) != 1:
                raise ValueError(f"{a} -> {b}: expected one held-out pair, found {len(held)}.")
            m = fit_map(sweep["x"], sweep["y"], E[a], E[b], x=a, y=b, space=space,
                        **options)
            xl, actual = float(held["x"].iloc[0]), float(held["y"].iloc[0])
            predicted = m.predict(xl)
            rows.append({"x": a, "y": b, "K": m.K, "kappa": m.kappa, "E_x": m.E_x, "E_y": m.E_y,
                         "n_pairs": m.n_points, "converged": m.fit.convergence.ok,
                         "x_loss": xl, "predicted": predicted, "actual": actual,
                         "rel_error": predicted / actual - 1.0, "map": m})
    return pd.DataFrame(rows)


def translate(fit_x, loss_map: LossMap, rtol: float = 1e-6) -> dict[str, float]:
    """Carries a kaplan_e law fitted on dataset x to dataset y through a loss-to-loss map
    (Brandfonbrener et al. 2024, Sec. 6): with L_x = [(A/N)**(alpha/beta) + B/D]**beta + E and
    L_y = K (L_x - E)**kappa + E_y,

        L_y = [(A'/N)**(alpha'/beta') + B'/D]**beta' + E_y, where
        alpha' = kappa alpha, beta' = kappa beta,
        A' = A K**(1 / (kappa alpha)), B' = B K**(1 / (kappa beta)), E' = E_y,

    exactly. So a map fitted from a handful of runs on y (about 8, paired with x's runs of the
    same N and D) gives y a whole scaling law. The compute-optimal allocation N*(C) (and so
    D*(C)) is unchanged: alpha'/beta' = alpha/beta and A'**(alpha'/beta') / B' =
    A**(alpha/beta) / B, and L_y is an increasing function of L_x, so the (N, D) that minimises
    L_x at C = 6ND minimises L_y too.

    Args:
        fit_x: the kaplan_e fit of x (a ``Fit`` or a mapping with E, A, B, alpha, beta).
        loss_map: the map from x to y; its E_x must be fit_x's E (fit it with E_x=E).
        rtol: relative tolerance of that check.

    Returns:
        kaplan_e parameters for y: E, A, B, alpha, beta.

    Raises:
        ValueError: fit_x is not a kaplan_e fit, or the map's E_x is not its E.
    """
    if hasattr(fit_x, "params"):
        if getattr(fit_x, "law", kaplan_e).name != kaplan_e.name:
            raise ValueError(f"fit_x is a {fit_x.law.name} fit; translate carries a kaplan_e "
                             "law (fit it with law=kaplan_e, e.g. fit_train).")
        p = dict(fit_x.params)
    else:
        p = dict(fit_x)
    missing = [n for n in kaplan_e.param_names if n not in p]
    if missing:
        raise ValueError(f"fit_x lacks kaplan_e parameters {', '.join(missing)}; give a kaplan_e "
                         "fit or a mapping of E, A, B, alpha, beta.")
    E, A, B, a, b = (float(p[n]) for n in ("E", "A", "B", "alpha", "beta"))
    if not math.isclose(loss_map.E_x, E, rel_tol=rtol):
        raise ValueError(f"the map's E_x = {loss_map.E_x:.8g} is not the law's E = {E:.8g}: the "
                         "translation holds only when the map subtracts the law's own E. Fit "
                         "the map with fit_map(..., E_x=fit_x.params['E']).")
    K, kappa = loss_map.K, loss_map.kappa
    return {"E": loss_map.E_y, "A": A * K ** (1.0 / (kappa * a)),
            "B": B * K ** (1.0 / (kappa * b)), "alpha": kappa * a, "beta": kappa * b}
