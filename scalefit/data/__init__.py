"""The data layer: read and check runs, and fetch pinned public datasets. Never imports jax.

Names load on first use, so a module that needs one light piece (``Dropped``) does not pay for
pandas.
"""

_LAZY = {
    **{name: "datasets" for name in ("DATASETS", "REGISTRY", "Dataset", "Remote", "cache_dir",
                                     "data_dir", "fetch", "fetch_dataset", "load",
                                     "read_chinchilla", "read_farseer")},
    **{name: "logs" for name in ("from_wandb_history", "read_log", "read_tensorboard",
                                 "read_wandb_export")},
    **{name: "table" for name in ("Table", "prepare", "read_inputs", "read_table")},
    "Dropped": "_dropped",
}

__all__ = sorted(_LAZY)


_MODULES = ("colpret", "curves", "datasets", "flags", "logs", "public", "schedule_sums", "splits",
            "table", "tidy")


def __getattr__(name: str):
    import importlib

    if name in _MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
