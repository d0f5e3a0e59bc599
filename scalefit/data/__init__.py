"""The data layer: read and check runs, and fetch pinned public datasets. Never imports jax."""

from scalefit.data.datasets import (DATASETS, Remote, cache_dir, data_dir, fetch, read_chinchilla,
                                    read_farseer)
from scalefit.data.table import Dropped, Table, prepare, read_inputs, read_table

__all__ = ["DATASETS", "Dropped", "Remote", "Table", "cache_dir", "data_dir", "fetch", "prepare",
           "read_chinchilla", "read_farseer", "read_inputs", "read_table"]
