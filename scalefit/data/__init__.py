"""The data layer: read and check runs, and fetch pinned public datasets. Never imports jax."""

from scalefit.data.datasets import (DATASETS, REGISTRY, Dataset, Remote, cache_dir, data_dir,
                                    fetch, fetch_dataset, load, read_chinchilla, read_farseer)
from scalefit.data.logs import from_wandb_history, read_log, read_tensorboard, read_wandb_export
from scalefit.data.table import Dropped, Table, prepare, read_inputs, read_table

__all__ = ["DATASETS", "REGISTRY", "Dataset", "Dropped", "Remote", "Table", "cache_dir",
           "data_dir", "fetch", "fetch_dataset", "from_wandb_history", "load", "prepare",
           "read_chinchilla", "read_farseer", "read_inputs", "read_log", "read_table",
           "read_tensorboard", "read_wandb_export"]
