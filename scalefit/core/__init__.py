"""The fitting core: one JAX engine for every law (no I/O, no pandas, no named laws).

Names load on first use, so reading a saved fit's record (``core.result``) never imports JAX.
"""

_LAZY = {
    "Options": ("scalefit._options", "Options"),
    "Resampled": ("scalefit.core.resample", "Resampled"),
    "bootstrap": ("scalefit.core.resample", "bootstrap"),
    "resample_weights": ("scalefit.core.resample", "resample_weights"),
    "Data": ("scalefit.core.data", "Data"), "make_data": ("scalefit.core.data", "make_data"),
    "bucket": ("scalefit.core.data", "bucket"),
    "check_law": ("scalefit.core.engine", "check_law"),
    "compilations": ("scalefit.core.engine", "compilations"),
    "screen": ("scalefit.core.engine", "screen"), "solve": ("scalefit.core.engine", "solve"),
    "solve_lanes": ("scalefit.core.engine", "solve_lanes"),
    "Convergence": ("scalefit.core.result", "Convergence"),
    "CoreResult": ("scalefit.core.result", "CoreResult"),
    "Lanes": ("scalefit.core.result", "Lanes"), "Stop": ("scalefit.core.result", "Stop"),
    "Spec": ("scalefit.core.spec", "Spec"),
}

__all__ = list(_LAZY)


def __getattr__(name: str):
    import importlib

    if name in ("data", "engine", "objective", "resample", "result", "solver", "spec"):
        return importlib.import_module(f"{__name__}.{name}")
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    module, attr = _LAZY[name]
    return getattr(importlib.import_module(module), attr)
