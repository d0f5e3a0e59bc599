"""The fitting core: one JAX engine for every law (no I/O, no pandas, no named laws)."""

from .._options import Options
from .resample import Resampled, bootstrap, resample_weights
from .data import Data, bucket, make_data
from .engine import check_law, compilations, screen, solve, solve_lanes
from .result import Convergence, CoreResult, Lanes, Stop
from .spec import Spec

__all__ = ["Options", "Spec", "Data", "make_data", "bucket", "check_law", "solve", "solve_lanes",
           "screen", "compilations", "bootstrap", "resample_weights", "Resampled",
           "Convergence", "CoreResult", "Lanes", "Stop"]
