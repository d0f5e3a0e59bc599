"""The data layer: read and check runs, and fetch pinned public datasets. Never imports jax.

Names load on first use, so a module that needs one light piece (``Dropped``) does not pay for
pandas.
"""

from .._lazy import attributes

_WHERE = {
    **{name: "datasets" for name in ("DATASETS", "REGISTRY", "Dataset", "Remote", "cache_dir",
                                     "data_dir", "fetch", "fetch_dataset", "load",
                                     "read_chinchilla", "read_farseer")},
    **{name: "logs" for name in ("from_wandb_history", "read_log", "read_tensorboard",
                                 "read_wandb_export")},
    **{name: "table" for name in ("Table", "prepare", "read_inputs", "read_table")},
    "Dropped": "_dropped",
}
_LAZY = {name: (f".{module}", name) for name, module in _WHERE.items()}

__all__ = sorted(_LAZY)


_MODULES = ("colpret", "curves", "datasets", "flags", "logs", "public", "schedule_sums", "splits",
            "table", "tidy")


__getattr__ = attributes(__name__, _LAZY, modules=_MODULES)
del attributes
