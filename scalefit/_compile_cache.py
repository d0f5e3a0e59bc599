"""JAX's persistent compilation cache, for processes that fit repeatedly (CLI, tests)."""

from __future__ import annotations

import os
from pathlib import Path


def enable_compile_cache(path: str | os.PathLike | None = None) -> Path | None:
    """Turns on JAX's on-disk compilation cache; returns its folder, or None if unwritable.

    The folder is ``path``, else ``$SCALEFIT_JAX_CACHE``, else ``<scalefit cache>/jax``. A later
    process that compiles the same fit loads it from disk instead of compiling again, and loads
    the solver's traced program from ``<folder>/exported`` instead of tracing it again
    (``scalefit.core.exported``). A folder
    that cannot be made leaves the cache off: fits still work, they just compile each time.
    """
    import jax

    from .data.datasets import cache_dir

    folder = Path(path or os.environ.get("SCALEFIT_JAX_CACHE") or cache_dir() / "jax")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return None
    jax.config.update("jax_compilation_cache_dir", str(folder))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    from .core.exported import use_exports

    use_exports(folder / "exported")
    return folder
