"""The fitting core: one JAX engine for every law (no I/O, no pandas, no named laws).

Names load on first use, so reading a saved fit's record (``core.result``) never imports JAX.
"""

from .._lazy import attributes

_LAZY = {
    "Options": (".._options", "Options"),
    "Resampled": (".resample", "Resampled"),
    "bootstrap": (".resample", "bootstrap"),
    "resample_weights": (".resample", "resample_weights"),
    "Data": (".data", "Data"), "make_data": (".data", "make_data"),
    "bucket": (".data", "bucket"),
    "check_law": (".engine", "check_law"),
    "compilations": (".engine", "compilations"),
    "screen": (".engine", "screen"), "solve": (".engine", "solve"),
    "solve_lanes": (".engine", "solve_lanes"),
    "Convergence": (".result", "Convergence"),
    "CoreResult": (".result", "CoreResult"),
    "Lanes": (".result", "Lanes"), "Stop": (".result", "Stop"),
    "Spec": (".spec", "Spec"),
}

__all__ = list(_LAZY)


__getattr__ = attributes(__name__, _LAZY, modules=("data", "engine", "objective", "resample",
                                               "result", "solver", "spec"))
del attributes
