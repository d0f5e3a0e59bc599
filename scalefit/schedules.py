"""Learning-rate schedules, vectorised: the rate at every step of a run, as a float64 array.

Loss-curve laws sum over a run's schedule: the learning-rate annealing law of Tissue et al.
(2024), "Scaling Law with Learning Rate Annealing", and the multi-power law of Luo et al. (2025),
"A Multi-Power Law for Loss Curve Prediction Across Learning Rate Schedules". Pure numpy.

A :class:`Schedule` is frozen and hashable: its kind, its parameters as ``(name, value)`` pairs,
and its warmup. ``rates()`` gives the rate at steps 0..total-1, ``at(steps)`` at given steps,
``spec`` the short string that :func:`parse` reads back (``parse(s.spec) == s``).

Kinds (each with an optional linear warmup in front; constructors of the same names):

- ``constant``: ``peak`` to the end.
- ``cosine``: from ``peak`` at step W (the end of the warmup) to ``floor`` at step ``total``:
  floor + (peak - floor)·(1 + cos(π·(s - W)/(total - W)))/2.
- ``linear``: a straight line from ``peak`` at step W to ``floor`` at step ``total``.
- ``wsd`` (warmup-stable-decay): ``peak`` until ``decay_start``, then a cooldown to ``floor`` at
  ``total`` whose ``shape`` is, with x the fraction of the cooldown done (0 at ``decay_start``,
  1 at ``total``): "linear" floor + (peak - floor)·(1 - x); "cosine" floor + (peak - floor)·
  (1 + cos(π·x))/2; "1-sqrt" floor + (peak - floor)·(1 - √x); "geometric" (exponential)
  peak·(floor/peak)^x, which needs floor > 0.
- ``step`` (two-stage and multi-stage): ``peak`` until the first of ``boundaries``, then
  ``values[i]`` from ``boundaries[i]`` on.
- ``inverse_sqrt``: peak·sqrt(W/max(s, W)); needs warmup W >= 1.
- ``power``: the Power scheduler of Shen et al. (2024), "Power Scheduler: A Batch Size and Token
  Number Agnostic Learning Rate Scheduler": min(peak, a·n^(-b)) with n = s·tokens_per_step the
  tokens seen (the paper writes β·a·n^b with β the batch size and b < 0: here ``a`` holds the
  product and ``b`` > 0 the size of the exponent); optionally followed, from ``decay_start``,
  by a cooldown from its rate there to ``floor`` at ``total`` in one of the wsd shapes.
- ``array``: any per-step rates, read from a training log by :func:`from_log`.

Conventions:

- Steps count from 0; ``rates()`` covers steps 0..total-1.
- Warmup: over W steps the rate at step k < W is warmup_from + (target - warmup_from)·k/(W - 1):
  ``warmup_from`` (default 0) at step 0 and exactly the target at step W - 1, the convention of
  the multi-power-law reference code (Luo et al. 2025), so steps W - 1 and W both run at the
  peak. With W = 1 step 0 runs at the target. The target is ``peak``, except for ``power``,
  where it is the Power rate at step W, min(peak, a·(W·tokens_per_step)^(-b)).
- A change at a step applies from that step on: ``values[i]`` holds from step
  ``boundaries[i]``; the rate at ``decay_start`` is still the peak (x = 0 there).
- ``floor`` is reached at step ``total``, so the last step (total - 1) runs just above it.
  Past ``total`` (``rates(n)`` with n > total, or ``at``) a schedule keeps its final rate:
  the floor after a decay, the peak for ``constant``, the last value for ``step``, the last
  rate for ``array``; ``inverse_sqrt`` and ``power`` without a decay keep their formulas.
- ``total`` and ``warmup`` are whole numbers of steps; ``decay_start`` and ``boundaries`` may
  be fractional (a cooldown that starts at 0.8 × 33,907 = 27,125.6 steps is exact).

Spec strings (:func:`parse` and ``Schedule.spec``) are ``kind:key=value,key=value``, blanks
ignored, keys in any order; lists are separated by "/" (``boundaries=8000/12000,values=9e-5/
3e-5``). ``spec`` writes the keys in a fixed order, leaves out those at their defaults, and
writes each number with the digits that give it back. An ``array`` schedule's spec,
``array:<n> steps``, only describes it: it cannot be parsed back; rebuild it with
:func:`from_log`.
"""

from __future__ import annotations

import difflib
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from scalefit.errors import DataError

__all__ = ["FORMS", "KINDS", "SHAPES", "Schedule", "constant", "cosine", "from_log",
           "inverse_sqrt", "linear", "parse", "power", "step", "wsd"]

SHAPES = ("linear", "cosine", "1-sqrt", "geometric")

# Required keys of each kind (warmup is a field, not a parameter) and the optional ones with their
# defaults. The spec writes keys in the order of _ORDER.
_REQUIRED: dict[str, tuple[str, ...]] = {
    "constant": ("peak", "total"),
    "cosine": ("peak", "total"),
    "linear": ("peak", "total"),
    "wsd": ("peak", "total", "decay_start"),
    "step": ("peak", "total", "boundaries", "values"),
    "inverse_sqrt": ("peak", "total"),
    "power": ("peak", "total", "a", "b", "tokens_per_step"),
    "array": ("rates",),
}
_DECAY = {"floor": 0.0, "shape": "linear"}
_OPTIONAL: dict[str, dict[str, object]] = {
    "constant": {"warmup_from": 0.0},
    "cosine": {"floor": 0.0, "warmup_from": 0.0},
    "linear": {"floor": 0.0, "warmup_from": 0.0},
    "wsd": {**_DECAY, "warmup_from": 0.0},
    "step": {"warmup_from": 0.0},
    "inverse_sqrt": {"warmup_from": 0.0},
    "power": {"decay_start": None, **_DECAY, "warmup_from": 0.0},
    "array": {},
}
KINDS = tuple(_REQUIRED)
_ORDER = ("peak", "floor", "warmup", "warmup_from", "decay_start", "total", "shape", "boundaries",
          "values", "a", "b", "tokens_per_step", "rates")
_WHOLE = ("total", "warmup")                       # whole numbers of steps
_STEPS = ("decay_start", "tokens_per_step")        # numbers kept as int when whole
_LISTS = ("boundaries", "values")
_MAX_LOG_STEPS = 10**9                             # a log reaching further is not in steps

_FORM = {
    "constant": "constant:peak=P,total=T",
    "cosine": "cosine:peak=P,floor=F,total=T",
    "linear": "linear:peak=P,floor=F,total=T",
    "wsd": "wsd:peak=P,floor=F,decay_start=D,total=T,shape=linear|cosine|1-sqrt|geometric",
    "step": "step:peak=P,total=T,boundaries=B1/B2,values=V1/V2",
    "inverse_sqrt": "inverse_sqrt:peak=P,warmup=W,total=T",
    "power": "power:peak=P,total=T,a=A,b=B,tokens_per_step=K[,decay_start=D,shape=S,floor=F]",
}
FORMS = (", ".join(repr(f) for f in _FORM.values()) + "; every kind also takes warmup=W (steps, "
         "0 for none) and warmup_from=R (the rate at step 0 of the warmup, default 0)")


class _Rates:
    """A read-only float64 array of per-step rates that is hashable: equal and hashed by content."""

    __slots__ = ("array", "_digest")

    def __init__(self, values: np.ndarray) -> None:
        a = np.array(values, dtype=np.float64) + 0.0   # + 0.0 turns -0.0 into 0.0 (one hash)
        a.setflags(write=False)
        self.array = a
        self._digest = hashlib.blake2b(a.tobytes(), digest_size=16).digest()

    def __eq__(self, other: object) -> bool:
        return (isinstance(other, _Rates) and self._digest == other._digest
                and np.array_equal(self.array, other.array))

    def __hash__(self) -> int:
        return hash(self._digest)

    def __len__(self) -> int:
        return len(self.array)

    def __repr__(self) -> str:
        return f"<{len(self.array):,} per-step rates>"


@dataclass(frozen=True)
class Schedule:
    """A learning-rate schedule: the rate at every step of a run.

    Build one with a constructor (:func:`cosine`, :func:`wsd`, ...), :func:`parse` or
    :func:`from_log`; building it directly checks and completes it the same way.

    Attributes:
        kind: one of :data:`KINDS`.
        params: the parameters as ``(name, value)`` pairs in a fixed order, defaults filled in
            (rates are floats; ``total`` an int; step positions ints when whole; lists tuples).
        warmup: the number of linear warmup steps in front (0 for none).
        notes: what :func:`from_log` filled in, in words (not compared, not hashed).

    Raises:
        ValueError: an unknown kind or key, a missing key, or a parameter out of range; the
            message names it and says what to give.
    """

    kind: str
    params: tuple[tuple[str, object], ...]
    warmup: int = 0
    notes: tuple[str, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        if self.kind not in _REQUIRED:
            hint = _suggest(self.kind, KINDS) if isinstance(self.kind, str) else ""
            raise ValueError(f"unknown schedule kind {self.kind!r}{hint}; valid kinds: "
                             f"{', '.join(KINDS)}.")
        given = _pairs(self.kind, self.params)
        p = _complete(self.kind, given)
        w = _whole(self.warmup, "warmup", self.kind, minimum=0)
        _check(self.kind, p, w)
        object.__setattr__(self, "params", tuple((k, p[k]) for k in _ORDER if k in p))
        object.__setattr__(self, "warmup", w)
        object.__setattr__(self, "notes", tuple(self.notes))

    # --- reading ---------------------------------------------------------------------------

    @property
    def total(self) -> int:
        """The number of steps in the run (for decaying kinds, the step where the floor is)."""
        p = dict(self.params)
        return len(p["rates"]) if self.kind == "array" else p["total"]

    @property
    def peak(self) -> float:
        """The largest rate the schedule is built around (for ``array``, the largest rate)."""
        p = dict(self.params)
        return float(p["rates"].array.max()) if self.kind == "array" else p["peak"]

    def get(self, name: str, default: object = None) -> object:
        """The parameter ``name`` (``"warmup"`` included), or ``default`` when it has none."""
        return self.warmup if name == "warmup" else dict(self.params).get(name, default)

    @property
    def spec(self) -> str:
        """The short spec string, ``kind:key=value,...``, that :func:`parse` reads back.

        Keys come in a fixed order and those at their defaults are left out. An ``array``
        schedule's spec, ``array:<n> steps``, only describes it and cannot be parsed.
        """
        if self.kind == "array":
            return f"array:{self.total} steps"
        p = {**dict(self.params), "warmup": self.warmup}
        defaults = {**_OPTIONAL[self.kind], "warmup": 0}
        items = [f"{k}={_fmt(p[k])}" for k in _ORDER
                 if k in p and not (k in defaults and p[k] == defaults[k])]
        return f"{self.kind}:{','.join(items)}"

    def __str__(self) -> str:
        return self.spec

    # --- rates -----------------------------------------------------------------------------

    def rates(self, total: int | None = None) -> np.ndarray:
        """The rate at steps 0..total-1.

        Args:
            total: how many steps; default the schedule's own ``total``. Fewer cut the run
                short; more continue it at its final rate (see the module's conventions).

        Returns:
            A new float64 array of length ``total``.

        Raises:
            ValueError: ``total`` is not a positive whole number.
        """
        n = self.total if total is None else _whole(total, "total", f"{self.kind} rates()",
                                                     minimum=1)
        if self.kind == "array":
            r = dict(self.params)["rates"].array
            out = np.empty(n, dtype=np.float64)
            m = min(n, len(r))
            out[:m] = r[:m]
            out[m:] = r[-1]
            return out
        return self._at(np.arange(n, dtype=np.float64))

    def at(self, steps: float | Sequence[float] | np.ndarray) -> np.ndarray:
        """The rate at the given steps (any shape; fractional steps allowed).

        Args:
            steps: one step or an array of them, each finite and >= 0. An ``array`` schedule
                interpolates linearly between its steps.

        Returns:
            A float64 array of the shape of ``steps``.

        Raises:
            ValueError: a step is negative or not finite (the message names the first).
        """
        s = np.asarray(steps, dtype=np.float64)
        flat = s.ravel()
        bad = np.flatnonzero(~np.isfinite(flat) | (flat < 0))
        if len(bad):
            i = int(bad[0])
            raise ValueError(f"step {_fmt(float(flat[i]))} (position {i}) is not a finite step "
                             ">= 0; give steps counted from 0.")
        if self.kind == "array":
            r = dict(self.params)["rates"].array
            return np.asarray(np.interp(s, np.arange(len(r), dtype=np.float64), r),
                              dtype=np.float64)
        return self._at(flat).reshape(s.shape)

    def _at(self, s: np.ndarray) -> np.ndarray:
        """The rate at the steps ``s`` (1-D float64, finite, >= 0), warmup included."""
        p, w = dict(self.params), self.warmup
        out = _MAIN[self.kind](p, s, w)
        if w > 0:
            warm = s < w
            target = _power_rate(p, float(w)) if self.kind == "power" else p["peak"]
            if w == 1:
                out[warm] = target
            else:
                frac = np.minimum(s[warm] / (w - 1), 1.0)
                out[warm] = p["warmup_from"] + (target - p["warmup_from"]) * frac
        return out


# --- constructors ------------------------------------------------------------------------------

def constant(peak: float, total: int, warmup: int = 0, warmup_from: float = 0.0) -> Schedule:
    """``peak`` at every step after the warmup.

    Args:
        peak: the rate (> 0).
        total: the number of steps (> 0).
        warmup: linear warmup steps in front (0 <= warmup < total).
        warmup_from: the rate at step 0 of the warmup (0 <= warmup_from <= peak).

    Returns:
        The :class:`Schedule`.

    Raises:
        ValueError: a parameter out of range, named in the message.
    """
    return Schedule("constant", (("peak", peak), ("total", total), ("warmup_from", warmup_from)),
                    warmup)


def cosine(peak: float, total: int, floor: float = 0.0, warmup: int = 0,
           warmup_from: float = 0.0) -> Schedule:
    """Cosine from ``peak`` at step ``warmup`` to ``floor`` at step ``total``.

    Args:
        peak: the rate at the end of the warmup (> 0).
        total: the number of steps (> 0); the floor is reached at this step.
        floor: the final rate (0 <= floor <= peak).
        warmup: linear warmup steps in front (0 <= warmup < total).
        warmup_from: the rate at step 0 of the warmup.

    Returns:
        The :class:`Schedule`.

    Raises:
        ValueError: a parameter out of range, named in the message.
    """
    return Schedule("cosine", (("peak", peak), ("total", total), ("floor", floor),
                               ("warmup_from", warmup_from)), warmup)


def linear(peak: float, total: int, floor: float = 0.0, warmup: int = 0,
           warmup_from: float = 0.0) -> Schedule:
    """A straight line from ``peak`` at step ``warmup`` to ``floor`` at step ``total``.

    Args:
        peak: the rate at the end of the warmup (> 0).
        total: the number of steps (> 0); the floor is reached at this step.
        floor: the final rate (0 <= floor <= peak).
        warmup: linear warmup steps in front (0 <= warmup < total).
        warmup_from: the rate at step 0 of the warmup.

    Returns:
        The :class:`Schedule`.

    Raises:
        ValueError: a parameter out of range, named in the message.
    """
    return Schedule("linear", (("peak", peak), ("total", total), ("floor", floor),
                               ("warmup_from", warmup_from)), warmup)


def wsd(peak: float, total: int, decay_start: float, floor: float = 0.0, shape: str = "linear",
        warmup: int = 0, warmup_from: float = 0.0) -> Schedule:
    """Warmup-stable-decay: ``peak`` until ``decay_start``, then a cooldown to ``floor`` at
    ``total``.

    Args:
        peak: the stable rate (> 0).
        total: the number of steps (> 0); the floor is reached at this step.
        decay_start: the step where the cooldown begins, warmup <= decay_start <= total (may be
            fractional; equal to total for no cooldown).
        floor: the final rate (0 <= floor <= peak; > 0 for "geometric").
        shape: the cooldown's shape, one of :data:`SHAPES`.
        warmup: linear warmup steps in front (0 <= warmup < total).
        warmup_from: the rate at step 0 of the warmup.

    Returns:
        The :class:`Schedule`.

    Raises:
        ValueError: a parameter out of range or an unknown shape, named in the message.
    """
    return Schedule("wsd", (("peak", peak), ("total", total), ("decay_start", decay_start),
                            ("floor", floor), ("shape", shape), ("warmup_from", warmup_from)),
                    warmup)


def wsd_family(peak: float, total: int, floor: float = 0.0, warmup: int = 0,
               cooldowns=(0.1, 0.2, 0.3), shapes=SHAPES) -> list[Schedule]:
    """WSD schedules of one length, one per cooldown fraction and shape: the candidates of the
    question "how long a cooldown, of what shape, for this many steps?".

    Args:
        cooldowns: the cooldown's length as a fraction of ``total`` (0 < f <= 1).
        shapes: cooldown shapes, from :data:`SHAPES` (``geometric`` needs ``floor > 0``).
    Other arguments as for :func:`wsd`.
    """
    out = []
    for f in cooldowns:
        if not 0 < f <= 1:
            raise ValueError(f"a cooldown fraction must be in (0, 1], got {f}.")
        for shape in shapes:
            start = max(float(warmup), total * (1 - f))
            out.append(wsd(peak, total, start, floor=floor, shape=shape, warmup=warmup))
    return out


def step(peak: float, total: int, boundaries: float | Sequence[float],
         values: float | Sequence[float], warmup: int = 0, warmup_from: float = 0.0) -> Schedule:
    """Piecewise constant: ``peak`` until ``boundaries[0]``, then ``values[i]`` from
    ``boundaries[i]`` on (e.g. the two-stage ``step(3e-4, 16000, 8000, 9e-5)``).

    Args:
        peak: the first stage's rate (> 0).
        total: the number of steps (> 0).
        boundaries: one step or strictly increasing steps, each warmup <= b < total (may be
            fractional: the new rate holds at every step >= b).
        values: the rate from each boundary on, one per boundary, each finite and >= 0.
        warmup: linear warmup steps in front (0 <= warmup < total).
        warmup_from: the rate at step 0 of the warmup.

    Returns:
        The :class:`Schedule`.

    Raises:
        ValueError: a parameter out of range, or boundaries and values of different lengths.
    """
    return Schedule("step", (("peak", peak), ("total", total), ("boundaries", boundaries),
                             ("values", values), ("warmup_from", warmup_from)), warmup)


def inverse_sqrt(peak: float, total: int, warmup: int, warmup_from: float = 0.0) -> Schedule:
    """peak·sqrt(warmup/s) from step ``warmup`` on, after a linear warmup.

    Args:
        peak: the rate at the end of the warmup (> 0).
        total: the number of steps (> 0).
        warmup: linear warmup steps (1 <= warmup < total): the decay's time scale, so it
            cannot be 0.
        warmup_from: the rate at step 0 of the warmup.

    Returns:
        The :class:`Schedule`.

    Raises:
        ValueError: a parameter out of range, named in the message.
    """
    return Schedule("inverse_sqrt", (("peak", peak), ("total", total),
                                     ("warmup_from", warmup_from)), warmup)


def power(peak: float, total: int, a: float, b: float, tokens_per_step: float, warmup: int = 0,
          decay_start: float | None = None, floor: float = 0.0, shape: str = "linear",
          warmup_from: float = 0.0) -> Schedule:
    """The Power scheduler (Shen et al. 2024): min(peak, a·n^(-b)), n = step·tokens_per_step.

    Args:
        peak: the cap on the rate (> 0); the rate at step 0 without warmup.
        total: the number of steps (> 0).
        a: the amplitude (> 0): the paper's batch size × a.
        b: the size of the exponent (> 0; the paper's b = -0.51 is b=0.51 here).
        tokens_per_step: tokens seen per optimizer step (> 0).
        warmup: linear warmup steps in front, to the Power rate at step ``warmup``.
        decay_start: if given, a cooldown from the Power rate at this step to ``floor`` at
            ``total`` (warmup <= decay_start <= total); None for none.
        floor: the cooldown's final rate (<= the rate at decay_start; > 0 for "geometric").
        shape: the cooldown's shape, one of :data:`SHAPES`.
        warmup_from: the rate at step 0 of the warmup.

    Returns:
        The :class:`Schedule`.

    Raises:
        ValueError: a parameter out of range, or floor/shape given without decay_start.
    """
    return Schedule("power", (("peak", peak), ("total", total), ("a", a), ("b", b),
                              ("tokens_per_step", tokens_per_step), ("decay_start", decay_start),
                              ("floor", floor), ("shape", shape), ("warmup_from", warmup_from)),
                    warmup)


def from_log(steps: Sequence[int] | np.ndarray, lrs: Sequence[float] | np.ndarray,
             total: int | None = None) -> Schedule:
    """The schedule a training log records: its rate at every step 0..total-1.

    Steps missing between logged steps get rates by linear interpolation between the logged
    rates on either side, and ``notes`` says how many were filled. Past the last logged step
    (when ``total`` asks for more) the last logged rate carries on, and ``notes`` says so.

    Args:
        steps: the logged steps: whole numbers >= 0, strictly increasing, starting at 0.
        lrs: the rate at each logged step, finite and >= 0.
        total: the number of steps; default the last logged step + 1.

    Returns:
        A :class:`Schedule` of kind "array" equal to ``lrs`` at every logged step.

    Raises:
        DataError: steps or rates malformed: not numbers, of different lengths, empty, a step
            negative, fractional, repeated or out of order, a log not starting at step 0, a rate
            negative or not finite (the message names the step, its position and value).
        ValueError: ``total`` is not a whole number past the last logged step.
    """
    s = _log_array(steps, "steps")
    r = _log_array(lrs, "lrs")
    if len(s) != len(r):
        raise DataError(f"the log has {len(s):,} steps but {len(r):,} learning rates; give one "
                        "rate per logged step.")
    if len(s) == 0:
        raise DataError("the log is empty: give at least one (step, learning rate) pair.")
    bad = np.flatnonzero(~np.isfinite(s) | (s < 0) | (s != np.round(s)))
    if len(bad):
        i = int(bad[0])
        shown = _fmt(_steps(s[i]) if np.isfinite(s[i]) else float(s[i]))
        raise DataError(f"step {shown} at position {i} is not a whole number >= 0; give "
                        "optimizer steps counted from 0.")
    order = np.flatnonzero(np.diff(s) <= 0)
    if len(order):
        i = int(order[0]) + 1
        if s[i] == s[i - 1]:
            raise DataError(f"step {int(s[i]):,} at position {i} repeats the step at position "
                            f"{i - 1}; keep one rate per step (e.g. drop the rows a restart "
                            "logged twice).")
        raise DataError(f"step {int(s[i]):,} at position {i} comes after step {int(s[i - 1]):,} "
                        f"at position {i - 1}; steps must increase: sort the log by step.")
    if s[-1] >= _MAX_LOG_STEPS:
        raise DataError(f"the last logged step is {int(s[-1]):,}, beyond {_MAX_LOG_STEPS:,}; are "
                        "these token counts? Give optimizer steps.")
    bad = np.flatnonzero(~np.isfinite(r) | (r < 0))
    if len(bad):
        i = int(bad[0])
        raise DataError(f"the learning rate at step {int(s[i]):,} (position {i}) is "
                        f"{_fmt(float(r[i]))}; rates must be finite and >= 0: fix or drop that "
                        "row.")
    if s[0] != 0:
        raise DataError(f"the log starts at step {int(s[0]):,}, not 0, so the rates of steps "
                        f"0..{int(s[0]) - 1:,} are unknown; prepend them (e.g. the warmup's) or "
                        "describe the run with a parametric schedule (parse, cosine, wsd, ...).")
    idx = s.astype(np.int64)
    last = int(idx[-1])
    n = last + 1
    if total is not None:
        n = _whole(total, "total", "from_log", minimum=1)
        if n <= last:
            raise ValueError(f"from_log: total={n:,} ends before the last logged step "
                             f"{last:,}; give total >= {last + 1:,} or cut the log.")
    full = np.empty(n, dtype=np.float64)
    full[: last + 1] = np.interp(np.arange(last + 1, dtype=np.float64), s, r)
    full[idx] = r                                       # the logged rates exactly
    full[last + 1:] = r[-1]
    notes = []
    missing = last + 1 - len(idx)
    if missing:
        gaps = np.flatnonzero(np.diff(idx) > 1)
        lo, hi = int(idx[gaps[0]]) + 1, int(idx[gaps[0] + 1]) - 1
        first = f"step {lo:,}" if lo == hi else f"steps {lo:,}..{hi:,}"
        notes.append(f"filled {missing:,} missing step{'s' * (missing != 1)} by linear "
                     f"interpolation between logged rates ({len(gaps):,} "
                     f"gap{'s' * (len(gaps) != 1)}; the first: {first})")
    if n > last + 1:
        notes.append(f"carried the last logged rate, {_fmt(float(r[-1]))} at step {last:,}, on "
                     f"through step {n - 1:,} ({n - 1 - last:,} steps) to reach total={n:,}")
    return Schedule("array", (("rates", _Rates(full)),), notes=tuple(notes))


# --- parsing -----------------------------------------------------------------------------------

def parse(spec: str) -> Schedule:
    """Read a schedule from its spec string, ``kind:key=value,key=value`` (blanks ignored).

    Keys: every kind takes ``warmup`` (steps) and ``warmup_from``; lists (``boundaries``,
    ``values``) are separated by "/". Examples:
    ``cosine:peak=3e-4,floor=3e-5,warmup=2160,total=24000``,
    ``wsd:peak=3e-4,warmup=2160,decay_start=20000,total=24000,shape=geometric,floor=3e-5``,
    ``step:peak=3e-4,boundaries=8000/12000,values=9e-5/3e-5,total=16000``.

    Args:
        spec: the string.

    Returns:
        The :class:`Schedule`; ``parse(s.spec) == s`` for every schedule but ``array``.

    Raises:
        ValueError: not a string, an unknown kind (the valid ones listed), an ``array`` spec
            (those come from :func:`from_log`), an item not ``key=value``, a key repeated,
            unknown (the kind's valid keys listed) or missing (named), a value that is not a
            number, or a parameter out of range.
    """
    if not isinstance(spec, str):
        raise ValueError(f"a schedule spec string is needed, not {type(spec).__name__}; valid "
                         f"forms: {FORMS}.")
    text = "".join(spec.split())
    kind, _, rest = text.partition(":")
    kind = kind.lower()
    if kind == "array":
        raise ValueError(f"schedule {spec!r}: an 'array' schedule holds rates read from a log and "
                         "cannot be rebuilt from its spec; use from_log(steps, lrs).")
    if kind not in _REQUIRED:
        raise ValueError(f"unknown schedule kind {kind!r} in {spec!r}"
                         f"{_suggest(kind, KINDS[:-1])}; valid kinds: {', '.join(KINDS[:-1])}. "
                         f"Forms: {FORMS}.")
    keys = ("warmup",) + _REQUIRED[kind] + tuple(_OPTIONAL[kind])
    found: dict[str, str] = {}
    for item in rest.split(",") if rest else []:
        key, eq, value = item.partition("=")
        key = key.lower()
        if not eq or not key or not value:
            raise ValueError(f"schedule {spec!r}: {item!r} is not key=value; write e.g. "
                             f"peak=3e-4. Keys of {kind}: {', '.join(keys)}.")
        if key not in keys:
            raise ValueError(f"schedule {spec!r}: unknown key {key!r} for {kind}"
                             f"{_suggest(key, keys)}; valid keys: {', '.join(keys)}.")
        if key in found:
            raise ValueError(f"schedule {spec!r} gives {key} twice ({key}={found[key]} and "
                             f"{key}={value}); give it once.")
        found[key] = value
    missing = [k for k in _REQUIRED[kind] + (("warmup",) if kind == "inverse_sqrt" else ())
               if k not in found]
    if missing:
        raise ValueError(f"schedule {spec!r} lacks {', '.join(missing)}; a {kind} schedule needs "
                         f"{', '.join(_REQUIRED[kind])}" + (", warmup" if kind == "inverse_sqrt"
                                                            else "") + f". Form: {_FORM[kind]}.")
    values = {k: _read(k, v, spec) for k, v in found.items()}
    warmup = values.pop("warmup", 0)
    return Schedule(kind, tuple(values.items()), warmup)


# --- the formulas ------------------------------------------------------------------------------

def _cooldown(x: np.ndarray, hi: float | np.ndarray, lo: float, shape: str) -> np.ndarray:
    """The rate after a fraction ``x`` (0..1) of a cooldown from ``hi`` to ``lo``."""
    if shape == "linear":
        return lo + (hi - lo) * (1.0 - x)
    if shape == "cosine":
        return lo + (hi - lo) * (1.0 + np.cos(np.pi * x)) / 2.0
    if shape == "1-sqrt":
        return lo + (hi - lo) * (1.0 - np.sqrt(x))
    return hi * (lo / hi) ** x                           # geometric


def _fraction(s: np.ndarray, start: float, end: float) -> np.ndarray:
    """How much of the stretch start..end each step has done: 0 before it, 1 from ``end`` on."""
    if end <= start:
        return (s >= end).astype(np.float64)
    return np.clip((s - start) / (end - start), 0.0, 1.0)


def _power_rate(p: dict, s: np.ndarray | float) -> np.ndarray | float:
    """min(peak, a·(s·tokens_per_step)^(-b)); the peak at step 0."""
    with np.errstate(divide="ignore"):
        return np.minimum(p["peak"], p["a"] * (np.asarray(s, np.float64)
                                               * p["tokens_per_step"]) ** -p["b"])


def _constant(p: dict, s: np.ndarray, w: int) -> np.ndarray:
    return np.full(s.shape, p["peak"])


def _cosine(p: dict, s: np.ndarray, w: int) -> np.ndarray:
    return _cooldown(_fraction(s, w, p["total"]), p["peak"], p["floor"], "cosine")


def _linear(p: dict, s: np.ndarray, w: int) -> np.ndarray:
    return _cooldown(_fraction(s, w, p["total"]), p["peak"], p["floor"], "linear")


def _wsd(p: dict, s: np.ndarray, w: int) -> np.ndarray:
    return _cooldown(_fraction(s, p["decay_start"], p["total"]), p["peak"], p["floor"],
                     p["shape"])


def _step(p: dict, s: np.ndarray, w: int) -> np.ndarray:
    out = np.full(s.shape, p["peak"])
    for b, v in zip(p["boundaries"], p["values"]):
        out[s >= b] = v
    return out


def _inverse_sqrt(p: dict, s: np.ndarray, w: int) -> np.ndarray:
    return p["peak"] * np.sqrt(w / np.maximum(s, w))


def _power(p: dict, s: np.ndarray, w: int) -> np.ndarray:
    out = _power_rate(p, s)
    d = p["decay_start"]
    if d is None:
        return out
    after = s >= d
    out[after] = _cooldown(_fraction(s[after], d, p["total"]), float(_power_rate(p, d)),
                           p["floor"], p["shape"])
    return out


_MAIN = {"constant": _constant, "cosine": _cosine, "linear": _linear, "wsd": _wsd, "step": _step,
         "inverse_sqrt": _inverse_sqrt, "power": _power}


# --- checks ------------------------------------------------------------------------------------

def _pairs(kind: str, params: object) -> dict[str, object]:
    """The parameters as a dict, refusing a malformed tuple, a repeated key or an unknown one."""
    try:
        items = [(k, v) for k, v in params]
    except (TypeError, ValueError):
        raise ValueError(f"{kind} schedule: params must be (name, value) pairs, not "
                         f"{params!r}.") from None
    out: dict[str, object] = {}
    keys = _REQUIRED[kind] + tuple(_OPTIONAL[kind])
    for k, v in items:
        if k == "warmup":
            raise ValueError(f"{kind} schedule: give warmup as Schedule(..., warmup={v!r}), not "
                             "among params.")
        if k not in keys:
            raise ValueError(f"{kind} schedule: unknown parameter {k!r}{_suggest(str(k), keys)}; "
                             f"valid: {', '.join(keys)}, and warmup.")
        if k in out:
            raise ValueError(f"{kind} schedule: parameter {k!r} given twice ({out[k]!r} and "
                             f"{v!r}); give it once.")
        out[k] = v
    return out


def _complete(kind: str, given: dict[str, object]) -> dict[str, object]:
    """Defaults filled in and every value in its canonical type, or a ValueError naming it."""
    missing = [k for k in _REQUIRED[kind] if k not in given]
    if missing:
        raise ValueError(f"{kind} schedule lacks {', '.join(missing)}; give "
                         f"{', '.join(_REQUIRED[kind])}. Form: {_FORM[kind]}.")
    p = {**_OPTIONAL[kind], **given}
    out: dict[str, object] = {}
    for k, v in p.items():
        if k == "rates":
            out[k] = v if isinstance(v, _Rates) else _Rates(_rate_list(v, kind))
        elif k == "shape":
            if not isinstance(v, str) or v.lower() not in SHAPES:
                raise ValueError(f"{kind} schedule: unknown shape {v!r}; valid shapes: "
                                 f"{', '.join(SHAPES)}.")
            out[k] = v.lower()
        elif k in _LISTS:
            seq = v if isinstance(v, (Sequence, np.ndarray)) and not isinstance(v, str) else [v]
            nums = tuple(_number(x, k, kind) for x in seq)
            out[k] = tuple(_steps(x) for x in nums) if k == "boundaries" else nums
        elif k in _WHOLE:
            out[k] = _whole(v, k, kind, minimum=1)
        elif v is None and k == "decay_start":
            out[k] = None
        else:
            x = _number(v, k, kind)
            out[k] = _steps(x) if k in _STEPS else x
    return out


def _check(kind: str, p: dict, w: int) -> None:
    """Every range check on a completed schedule; a ValueError naming the bad value."""
    where = f"{kind} schedule"
    if kind == "array":
        if w:
            raise ValueError(f"{where}: warmup={w} does not apply; the logged rates include "
                             "any warmup. Build it with from_log(steps, lrs).")
        return
    total, peak = p["total"], p["peak"]
    if not peak > 0:
        raise ValueError(f"{where}: peak={_fmt(peak)} must be > 0 (the largest learning rate, "
                         "e.g. peak=3e-4).")
    if w >= total:
        raise ValueError(f"{where}: warmup={w:,} must be below total={total:,}; shorten the "
                         "warmup or lengthen the run.")
    if kind == "inverse_sqrt" and w < 1:
        raise ValueError(f"{where}: warmup={w} must be >= 1: the rate is peak·sqrt(warmup/step) "
                         "after it, so warmup sets its time scale (e.g. warmup=2000).")
    start = p["warmup_from"]
    if start != 0 and w < 2:
        raise ValueError(f"{where}: warmup_from={_fmt(start)} has no effect with warmup={w}; "
                         "give warmup >= 2 steps, or drop warmup_from.")
    if not 0 <= start <= peak:
        raise ValueError(f"{where}: warmup_from={_fmt(start)} must lie between 0 and "
                         f"peak={_fmt(peak)} (the rate at step 0 of the warmup).")
    if kind in ("wsd", "power"):
        d = p["decay_start"]
        if kind == "power" and d is None:
            for k, default in _DECAY.items():
                if p[k] != default:
                    raise ValueError(f"{where}: {k}={_fmt(p[k])} applies to a cooldown; give "
                                     "decay_start too, or drop it.")
        elif not w <= d <= total:
            raise ValueError(f"{where}: decay_start={_fmt(d)} must lie between warmup={w:,} and "
                             f"total={total:,} (the step where the cooldown begins; total for "
                             "none).")
    if "floor" in p:
        floor = p["floor"]
        top = peak if kind != "power" or p["decay_start"] is None else \
            float(_power_rate(p, p["decay_start"]))
        if not 0 <= floor <= top:
            what = (f"peak={_fmt(peak)}" if top == peak else
                    f"the Power rate at decay_start={_fmt(p['decay_start'])}, {_fmt(top)}")
            raise ValueError(f"{where}: floor={_fmt(floor)} must lie between 0 and {what} (the "
                             "final learning rate, e.g. floor=3e-5).")
        if p.get("shape") == "geometric" and floor == 0 and (kind == "wsd" or p["decay_start"]
                                                             is not None):
            raise ValueError(f"{where}: shape='geometric' decays by a constant factor and never "
                             "reaches floor=0; give floor > 0 (e.g. floor=3e-5) or another shape.")
    if kind == "step":
        b, v = p["boundaries"], p["values"]
        if len(b) != len(v) or not b:
            raise ValueError(f"{where}: {len(b)} boundaries but {len(v)} values; give one rate "
                             "per boundary, e.g. boundaries=8000/12000,values=9e-5/3e-5.")
        for i in range(1, len(b)):
            if b[i] <= b[i - 1]:
                raise ValueError(f"{where}: boundaries must increase, but {_fmt(b[i])} "
                                 f"(boundary {i}) follows {_fmt(b[i - 1])}; sort them.")
        for x in b:
            if not w <= x < total:
                raise ValueError(f"{where}: boundary {_fmt(x)} must lie between warmup={w:,} "
                                 f"and total={total:,} (below it).")
        for i, x in enumerate(v):
            if x < 0:
                raise ValueError(f"{where}: values[{i}]={_fmt(x)} must be >= 0 (the rate from "
                                 f"boundary {_fmt(b[i])} on).")
    if kind == "power":
        for k in ("a", "b", "tokens_per_step"):
            if not p[k] > 0:
                raise ValueError(f"{where}: {k}={_fmt(p[k])} must be > 0 (the rate is "
                                 "min(peak, a·(step·tokens_per_step)^-b)).")


def _number(v: object, key: str, kind: str) -> float:
    """``v`` as a finite float, or a ValueError naming the key."""
    if isinstance(v, (bool, np.bool_)) or not isinstance(v, (int, float, np.integer,
                                                             np.floating)):
        raise ValueError(f"{kind} schedule: {key}={v!r} must be a number.")
    x = float(v) + 0.0                                  # -0.0 becomes 0.0
    if not math.isfinite(x):
        raise ValueError(f"{kind} schedule: {key}={_fmt(x)} must be finite.")
    return x


def _steps(x: float) -> int | float:
    """A step position: an int when whole (so 2e4 and 20000 are one value), else the float."""
    return int(x) if x == round(x) and abs(x) < 2**53 else x


def _whole(v: object, key: str, where: str, minimum: int) -> int:
    """``v`` as an int >= minimum (a whole float is accepted), or a ValueError naming it."""
    ok = (not isinstance(v, (bool, np.bool_)) and isinstance(v, (int, float, np.integer,
                                                                   np.floating))
          and math.isfinite(float(v)) and float(v) == round(float(v)) and v >= minimum)
    if not ok:
        what = "a positive" if minimum >= 1 else "a non-negative"
        raise ValueError(f"{where}: {key}={v!r} must be {what} whole number of steps.")
    return int(v)


def _rate_list(v: object, kind: str) -> np.ndarray:
    """Per-step rates given directly to an ``array`` schedule, checked."""
    a = np.asarray(v, dtype=np.float64)
    if a.ndim != 1 or len(a) == 0:
        raise ValueError(f"{kind} schedule: rates must be a non-empty 1-D array, not of shape "
                         f"{a.shape}.")
    bad = np.flatnonzero(~np.isfinite(a) | (a < 0))
    if len(bad):
        i = int(bad[0])
        raise ValueError(f"{kind} schedule: the rate at step {i} is {_fmt(float(a[i]))}; rates "
                         "must be finite and >= 0.")
    return a


def _log_array(v: object, name: str) -> np.ndarray:
    """A log column as a 1-D float64 array, or a DataError naming it."""
    try:
        a = np.asarray(v, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(f"the log's {name} must be numbers ({err}).") from None
    if a.ndim != 1:
        raise DataError(f"the log's {name} must be 1-D, one value per logged step, not of shape "
                        f"{a.shape}.")
    return a


def _read(key: str, text: str, spec: str) -> object:
    """A spec value: a string for shape, a tuple for lists, else a number."""
    if key == "shape":
        return text.lower()
    parts = text.split("/") if key in _LISTS else [text]
    out = []
    for t in parts:
        try:
            out.append(float(t))
        except ValueError:
            raise ValueError(f"schedule {spec!r}: {key}={text!r} is not a number"
                             + (" list (numbers separated by '/')" if key in _LISTS else "")
                             + ".") from None
    if key in _LISTS:
        return tuple(out)
    x = out[0]
    if key in _WHOLE + _STEPS and math.isfinite(x):
        x = _steps(x)
    return x


def _fmt(v: object) -> str:
    """A value as the spec writes it: the digits that give a float back, a short exponent."""
    if isinstance(v, tuple):
        return "/".join(_fmt(x) for x in v)
    if isinstance(v, str):
        return v
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        return str(int(v))
    r = repr(float(v))
    if "e" in r:
        mant, exp = r.split("e")
        r = f"{mant}e{int(exp)}"
    return r


def _suggest(word: str, choices: Sequence[str]) -> str:
    """ " (did you mean 'x'?)" when a choice is close, else ""."""
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""
