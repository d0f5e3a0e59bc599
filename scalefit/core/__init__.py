"""The fitting core: one JAX engine for every law (no I/O, no pandas, no named laws)."""

from .engine import Options, Spec, solve
from .result import Convergence, CoreResult, Stop

__all__ = ["Options", "Spec", "solve", "Convergence", "CoreResult", "Stop"]
