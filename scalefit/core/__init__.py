"""The fitting core: one JAX engine for every law (no I/O, no pandas, no named laws)."""

from .engine import Options, Spec, check_law, solve
from .result import Convergence, CoreResult, Stop

__all__ = ["Options", "Spec", "check_law", "solve", "Convergence", "CoreResult", "Stop"]
