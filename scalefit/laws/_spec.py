"""How a law declares itself: named parameters with transforms, bounds and a start grid.

A law is data plus one pure array function (``jax.numpy``, or any array module: see ``_xp``); the fitting core owns transforms,
bounds, fixing and tying. ``Param`` and ``Law`` check themselves when built and refuse bad
declarations instead of repairing them.
"""

from __future__ import annotations

import keyword
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from ._xp import xp_of

__all__ = ["Param", "Law", "exp_steps"]


def exp_steps(start: float, stop: float, step: float) -> tuple[float, ...]:
    """Returns e**k for k = start, start + step, ..., stop (inclusive): a log-spaced grid."""
    n = int(round((stop - start) / step)) + 1
    return tuple(math.exp(start + i * step) for i in range(n))


def parse_start(start: str, where: str = "start") -> int | None:
    """Returns n for ``"sobol:n"``, None for ``"grid"``; ValueError for anything else."""
    if start == "grid":
        return None
    kind, _, count = str(start).partition(":")
    if kind == "sobol" and count.isdigit() and int(count) >= 1:
        return int(count)
    raise ValueError(f"{where}: start must be 'grid' or 'sobol:<number of starts>', e.g. "
                     f"'sobol:4096'; got {start!r}.")


def _check_name(kind: str, name: str) -> None:
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise ValueError(f"{kind} name {name!r} must be a Python identifier, e.g. 'alpha'.")


@dataclass(frozen=True)
class Param:
    """One named parameter of a law, on its natural scale.

    Args:
        name: the paper's name, e.g. ``"alpha"``.
        log: search over log(value); the value stays positive (natural for scales like A, B, E).
        lower, upper: optional bounds on the natural scale; the solver keeps the value inside.
        grid: start values on the natural scale; the core starts from their Cartesian product
            (a law with ``start="sobol:n"`` draws its starts from the box between each grid's
            smallest and largest value instead).
        why: why the bounds are there, said when a fit ends on one (e.g. a bound that stops a
            known runaway valley); without it the report suggests widening the bound.
    """

    name: str
    log: bool = False
    lower: float | None = None
    upper: float | None = None
    grid: tuple[float, ...] = (1.0,)
    why: str = ""

    def __post_init__(self) -> None:
        _check_name("Parameter", self.name)
        object.__setattr__(self, "grid", tuple(float(v) for v in self.grid))
        where = f"Param {self.name!r}"
        if not self.grid:
            raise ValueError(f"{where}: grid is empty; give at least one start value.")
        if not all(math.isfinite(v) for v in self.grid):
            raise ValueError(f"{where}: grid values must be finite, got {self.grid}.")
        lo, hi = self.lower, self.upper
        if lo is not None and hi is not None and not lo < hi:
            raise ValueError(f"{where}: lower={lo} must be below upper={hi}.")
        if self.log and lo is not None and lo <= 0:
            raise ValueError(f"{where}: a log-scale parameter needs lower > 0, got {lo}.")
        if self.log and min(self.grid) <= 0:
            raise ValueError(f"{where}: a log-scale parameter needs a positive grid, got {self.grid}.")
        outside = [v for v in self.grid if not self.admits(v)]
        if outside:
            raise ValueError(f"{where}: grid values {outside} lie outside [{lo}, {hi}].")

    def admits(self, value: float) -> bool:
        """True when ``value`` is finite, positive for a log-scale parameter, and within bounds."""
        return (math.isfinite(value) and not (self.log and value <= 0)
                and (self.lower is None or value >= self.lower)
                and (self.upper is None or value <= self.upper))

    def search_bounds(self) -> tuple[float, float]:
        """Returns the (lower, upper) bounds on the search scale (log scale if ``log``)."""
        lo = -math.inf if self.lower is None else self.lower
        hi = math.inf if self.upper is None else self.upper
        if self.log:
            lo = -math.inf if lo <= 0 else math.log(lo)
            hi = math.log(hi) if math.isfinite(hi) else math.inf
        return lo, hi


@dataclass(frozen=True)
class Law:
    """A scaling law: inputs, parameters and the predicted loss as a pure ``jnp`` function.

    Give exactly one of ``loss(p, x)`` or ``log_loss(p, x)``, where ``p`` maps parameter names
    to scalars on their natural scale and ``x`` maps input names to arrays. ``log_loss`` is
    preferred for sums of power laws (write it as a log-sum-exp); the core fits log residuals.

    A law that reads arrays belonging to the whole dataset or to a run (a learning-rate
    schedule, say) names them in ``context``; its function is then ``f(p, x, context)``, where
    ``context`` maps those names to arrays (never padded, never cast to float32) and ``x`` also
    holds ``group``, the integer run index of each point, to index per-run context rows.

    Two laws are equal when their name, inputs, parameters, context and function objects are:
    equal laws share one compilation, however often they are built.

    Args:
        name: short name used in the registry, reports and saved fits.
        inputs: the input columns the law reads, e.g. ``("N", "D")``.
        params: the parameters, in the order the law is usually written.
        loss / log_loss: the law itself.
        reference: where the law comes from.
        context: names of the context arrays the law reads (default none).
        optimal: optional closed form ``(params, C) -> (N, D)`` for compute-optimal allocation
            under C = 6ND; ``predict`` searches numerically when absent.
        floor: optional closed form ``(params, N) -> L`` of the loss as D grows without bound;
            ``predict`` uses it for the tokens-to-target query.
        start: the default starts: ``"grid"`` (the Cartesian product of the parameters' grids)
            or ``"sobol:n"`` (n scrambled Sobol points, seed 0, in the box the grids span; for
            laws with too many parameters for a product grid).
        fit_defaults: fit options this law is best fitted with, as (name, value) pairs for any
            of ``loss``, ``delta``, ``max_steps``, ``n_solve`` (e.g. ``(("loss", "squared"),)``); options
            given to ``fit`` override them.
        data_bounds: optional ``(inputs, loss) -> {name: (lower, upper)}``: bounds that depend
            on the data being fitted (natural scale; None for no bound), e.g. an irreducible
            loss held below the smallest observed loss. ``inputs`` maps each input to its
            array, ``loss`` is the observed loss. They tighten the declared bounds; they are
            passed to the engine as numbers, so fits of other data share the compilation.
            Declare a bound where the law is still finite (e.g. 0.999 times the smallest loss):
            starts outside are moved onto it.
        array_api: the law's function takes its array module from its arguments
            (``xp = scalefit.laws.xp_of(p, x)``, then ``xp.log``, ``xp.exp``, ...) instead of
            importing ``jax.numpy``, so it also runs on numpy arrays: predictions from a fit
            (and from a saved fit) are then computed in numpy, without importing JAX.
    """

    name: str
    inputs: tuple[str, ...]
    params: tuple[Param, ...]
    loss: Callable | None = None
    log_loss: Callable | None = None
    reference: str = ""
    context: tuple[str, ...] = ()
    optimal: Callable | None = field(default=None, compare=False)
    floor: Callable | None = field(default=None, compare=False)
    start: str = "grid"
    fit_defaults: tuple[tuple[str, object], ...] = ()
    data_bounds: Callable | None = field(default=None, compare=False)
    array_api: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"Law name must be a non-empty string, got {self.name!r}.")
        object.__setattr__(self, "inputs", tuple(self.inputs))
        object.__setattr__(self, "params", tuple(self.params))
        object.__setattr__(self, "context", tuple(self.context))
        where = f"Law {self.name!r}"
        if not self.inputs:
            raise ValueError(f"{where}: declare at least one input, e.g. inputs=('N', 'D').")
        for name in self.inputs:
            _check_name(f"{where}: input", name)
        if not self.params or not all(isinstance(p, Param) for p in self.params):
            raise ValueError(f"{where}: params must be a non-empty sequence of Param.")
        names = [p.name for p in self.params]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: parameter names repeat: {names}.")
        clash = set(names) & set(self.inputs)
        if clash:
            raise ValueError(f"{where}: {sorted(clash)} are both inputs and parameters.")
        if (self.loss is None) == (self.log_loss is None):
            raise ValueError(f"{where}: give exactly one of loss= or log_loss=.")
        parse_start(self.start, where)
        object.__setattr__(self, "fit_defaults", tuple(tuple(kv) for kv in self.fit_defaults))
        from .._options import TUNABLE

        unknown = [k for k, _ in self.fit_defaults if k not in TUNABLE]
        if unknown:
            raise ValueError(f"{where}: fit_defaults may set {', '.join(TUNABLE)}; got "
                             f"{unknown[0]!r}.")
        for name in self.context:
            _check_name(f"{where}: context", name)
        clash = set(self.context) & (set(names) | set(self.inputs) | {"group"})
        if clash:
            raise ValueError(f"{where}: context names {sorted(clash)} clash with an input, a "
                             "parameter or 'group'.")

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def param(self, name: str) -> Param:
        """Returns the parameter called ``name``; ValueError naming the known ones otherwise."""
        for p in self.params:
            if p.name == name:
                return p
        raise ValueError(f"{self.name} has no parameter {name!r}; its parameters: "
                         f"{', '.join(self.param_names)}.")

    def _call(self, fn: Callable, p, x, context):
        return fn(p, x, context) if self.context else fn(p, x)

    def log_fn(self) -> Callable:
        """Returns log L as a function of (params, inputs, context), whichever form the law gave."""
        if self.log_loss is not None:
            return lambda p, x, c: self._call(self.log_loss, p, x, c)

        def log_of_loss(p, x, c):
            value = self._call(self.loss, p, x, c)
            return xp_of(value).log(value)
        return log_of_loss

    def loss_fn(self) -> Callable:
        """Returns L as a function of (params, inputs, context), whichever form the law gave."""
        if self.loss is not None:
            return lambda p, x, c: self._call(self.loss, p, x, c)

        def loss_of_log(p, x, c):
            value = self._call(self.log_loss, p, x, c)
            return xp_of(value).exp(value)
        return loss_of_log

