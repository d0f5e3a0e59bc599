"""What the core returns: why each start stopped, and the best start's convergence record."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

import numpy as np


class Stop(enum.IntEnum):
    """Why a start stopped; integer-valued so a vmapped solver returns one per start."""

    CONVERGED = 0
    MAX_STEPS = 1
    NONFINITE = 2
    STALLED = 3

    def __str__(self) -> str:
        return self.name

    def __format__(self, spec: str) -> str:
        return format(self.name, spec)

    @staticmethod
    def count(codes) -> dict[Stop, int]:
        """How many of ``codes`` (an array of stop codes) ended each way."""
        return {Stop(s): int(c) for s, c in zip(*np.unique(codes, return_counts=True))}

    @property
    def message(self) -> str:
        return {
            Stop.CONVERGED: "gradient and last step below tolerance",
            Stop.MAX_STEPS: "ran out of steps; raise max_steps, or widen the start grid",
            Stop.NONFINITE: "objective became NaN or inf; look for zero or negative inputs",
            Stop.STALLED: "no step lowered the objective, yet the gradient is not small",
        }[self]


@dataclass(frozen=True)
class Convergence:
    """How the fit ended.

    Attributes:
        stop: why the best start stopped.
        n_steps: solver steps the best start took.
        grad_norm: max |gradient| of the true objective at the optimum, on the search scale
            (log scale for log parameters), components held at a bound excluded.
        grad_tol: the tolerance grad_norm was held to (gtol * objective + a round-off floor).
        step_norm: max |step| the solver would still take from the optimum, on the search scale.
        n_starts: start points screened (objective evaluated).
        n_solved: starts solved to the end, the best of the screen.
        n_best_basin: solved starts that ended within basin_rtol of the best objective.
        stops: how every solved start ended.
        at_bound: free parameters sitting on a bound.
        subsample: 0 when the starts were solved on all points; else the size of the even
            subsample they were screened and solved on (very large data).
        n_refined: with a subsample, how many of the best solutions were then solved on all
            points (``stop``, ``n_steps`` and the gradient describe that final solve).
    """

    stop: Stop
    n_steps: int
    grad_norm: float
    grad_tol: float
    step_norm: float
    n_starts: int
    n_solved: int
    n_best_basin: int
    stops: dict[Stop, int] = field(default_factory=dict)
    at_bound: tuple[str, ...] = ()
    subsample: int = 0
    n_refined: int = 0

    @property
    def ok(self) -> bool:
        """True when the best start converged."""
        return self.stop is Stop.CONVERGED

    def to_dict(self) -> dict:
        return {
            "stop": self.stop.name, "n_steps": self.n_steps, "grad_norm": self.grad_norm,
            "grad_tol": self.grad_tol, "step_norm": self.step_norm, "n_starts": self.n_starts,
            "n_solved": self.n_solved, "n_best_basin": self.n_best_basin,
            "stops": {s.name: n for s, n in self.stops.items()}, "at_bound": list(self.at_bound),
            "subsample": self.subsample, "n_refined": self.n_refined,
        }

    @classmethod
    def from_dict(cls, d: dict) -> Convergence:
        return cls(
            stop=Stop[d["stop"]], n_steps=int(d["n_steps"]), grad_norm=float(d["grad_norm"]),
            grad_tol=float(d["grad_tol"]), step_norm=float(d["step_norm"]),
            n_starts=int(d["n_starts"]), n_solved=int(d["n_solved"]),
            n_best_basin=int(d["n_best_basin"]),
            stops={Stop[k]: int(v) for k, v in d["stops"].items()}, at_bound=tuple(d["at_bound"]),
            subsample=int(d.get("subsample", 0)), n_refined=int(d.get("n_refined", 0)),
        )


@dataclass(frozen=True)
class Lanes:
    """Per-lane results of a batch solve (one lane = one start under one weight vector).

    Attributes (arrays with a leading lane axis):
        u: final search-scale parameters; f: objective (inf where not finite);
        gnorm, gtol: projected gradient norm and its tolerance; noise: round-off of f;
        stop: ``Stop`` codes; steps: solver steps; snorm: size of the step still to take;
        hessian, meat: (p, p) exact Hessian and covariance meat at the final point.
    """

    u: np.ndarray
    f: np.ndarray
    gnorm: np.ndarray
    gtol: np.ndarray
    noise: np.ndarray
    stop: np.ndarray
    steps: np.ndarray
    snorm: np.ndarray
    hessian: np.ndarray
    meat: np.ndarray

    @classmethod
    def concat(cls, parts) -> Lanes:
        """Joins batches of lanes, in order."""
        return cls(**{k: np.concatenate([getattr(p, k) for p in parts])
                      for k in cls.__dataclass_fields__})

    def take(self, which) -> Lanes:
        """Returns the lanes selected by an index, slice or mask."""
        return Lanes(**{k: getattr(self, k)[which] for k in self.__dataclass_fields__})

    @property
    def converged(self) -> np.ndarray:
        return self.stop == Stop.CONVERGED


@dataclass(frozen=True)
class CoreResult:
    """The engine's answer: plain numbers and arrays, no law-specific logic.

    Attributes:
        params: every parameter (free, fixed, tied) on its natural scale.
        objective: the summed objective at the optimum.
        convergence: the convergence record.
        residuals: log(predicted) - log(observed), per point.
        free: names of the free parameters, in search order.
        objectives: final objective of every solved start, best first.
        u: the optimum on the search scale (free parameters, log scale for log parameters).
        covariance: (n_free, n_free) sandwich covariance of ``u`` from the exact Hessian (NaN
            where the Hessian is not positive definite or a parameter sits on a bound).
    """

    params: dict[str, float]
    objective: float
    convergence: Convergence
    residuals: np.ndarray
    free: tuple[str, ...]
    objectives: np.ndarray
    u: np.ndarray
    covariance: np.ndarray
