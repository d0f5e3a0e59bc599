"""The fit options and their defaults, written once: the API, the CLI and saved fits read them here.

No jax here, so the command line can show these defaults in ``--help`` without loading it.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

LOSSES = ("huber", "squared")


@dataclass(frozen=True)
class Options:
    """How a fit minimises: the robust loss, screening, solver limits and tolerances.

    Attributes:
        loss: ``"huber"`` (Hoffmann et al.) or ``"squared"`` (half squared log residuals).
        delta: Huber's delta on log residuals.
        quantile: 0.5 (default) weighs points above and below the fitted curve alike; below 0.5
            a point the law under-predicts (its loss above the curve) costs ``quantile / (1 -
            quantile)`` of one as far below the curve, so the fit moves toward the lower envelope
            of the points (e.g. the best run at each compute); above 0.5, the upper envelope.
            Like a quantile regression's level, it is about the share of points left below the
            curve.
        n_solve: starts solved after screening the grid; None solves every start.
        max_steps: solver steps per start.
        gtol: converged when max |gradient| <= gtol * objective (+ float64 round-off floor) ...
        xtol: ... and the next step is below xtol * (1 + max |u|) on the search scale.
        polish: exact-Newton candidate steps are tried once max |gradient| <= polish * objective.
        basin_rtol: solved starts within this relative distance of the best objective count as
            reaching the best basin.

    Raises:
        ValueError: an unknown loss, a non-positive delta, n_solve or max_steps, or a negative
            tolerance.
    """

    loss: str = "huber"
    delta: float = 1e-3
    quantile: float = 0.5
    n_solve: int | None = 32
    max_steps: int = 500
    gtol: float = 1e-8
    xtol: float = 1e-6
    polish: float = 1e3
    basin_rtol: float = 1e-6

    def __post_init__(self) -> None:
        if self.loss not in LOSSES:
            raise ValueError(f"Unknown loss {self.loss!r}; use one of {', '.join(LOSSES)}.")
        if not (isinstance(self.delta, (int, float)) and math.isfinite(self.delta)
                and self.delta > 0):
            raise ValueError(f"delta must be positive and finite, got {self.delta}.")
        if not (isinstance(self.quantile, (int, float)) and 0 < self.quantile < 1):
            raise ValueError(f"quantile must lie strictly between 0 and 1 (0.5: symmetric; "
                             f"e.g. 0.1 to fit the lower envelope), got {self.quantile}.")
        if self.n_solve is not None and (int(self.n_solve) != self.n_solve or self.n_solve < 1):
            raise ValueError(f"n_solve must be a positive integer or None (solve all), "
                             f"got {self.n_solve}.")
        if int(self.max_steps) != self.max_steps or self.max_steps < 1:
            raise ValueError(f"max_steps must be a positive integer, got {self.max_steps}.")
        tols = (self.gtol, self.xtol, self.polish, self.basin_rtol)
        if not all(math.isfinite(v) and v >= 0 for v in tols):
            raise ValueError(f"tolerances must be non-negative and finite, got gtol={self.gtol}, "
                             f"xtol={self.xtol}, polish={self.polish}, "
                             f"basin_rtol={self.basin_rtol}.")

    @classmethod
    def resolve(cls, law_defaults=(), **given) -> Options:
        """The options of a fit: ``DEFAULTS``, then the law's own defaults (``Law.fit_defaults``,
        e.g. a squared loss for Farseer), then the values given; a ``TUNABLE`` option given as
        None means "not given", and ``n_solve="all"`` solves every start."""
        given = {k: v for k, v in given.items() if v is not None or k not in TUNABLE}
        chosen = {**dict(law_defaults), **given}
        if isinstance(chosen.get("n_solve"), str):
            if chosen["n_solve"] != "all":
                raise ValueError(f"n_solve must be a positive integer or 'all', got "
                                 f"{chosen['n_solve']!r}.")
            chosen["n_solve"] = None
        return dataclasses.replace(DEFAULTS, **chosen)

    def loss_shape(self):
        """(delta, quantile): the traced numbers of the loss the kernels take (so changing
        either never recompiles)."""
        import numpy as np

        return np.array([self.delta, self.quantile], np.float64)

    def to_dict(self) -> dict:
        """Returns the options as plain values (what a saved fit records)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Options:
        """Rebuilds options from ``to_dict`` output; unknown keys are ignored, missing ones default."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


DEFAULTS = Options()
TUNABLE = ("loss", "delta", "max_steps", "n_solve")    # options a law may set defaults for
