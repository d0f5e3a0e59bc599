"""Compiled kernels kept between processes as serialized StableHLO (``jax.export``).

JAX's persistent compilation cache saves the XLA compile, but it is keyed on the lowered program,
so every new process still traces and lowers the solver (about 0.5 s for Chinchilla on a 2-core
machine) before it can look the compile up. With an export folder set (``use_exports``, which
``scalefit._compile_cache.enable_compile_cache`` does for the command line and the tests), a
kernel is exported once per key and later processes load it instead of tracing it again; the XLA
compile of the loaded program then comes from the persistent cache.

The key is a hash of everything the program depends on: the kernel's name and static arguments,
the law's declaration (name, inputs, parameters, context) and the source of its function, the
free, fixed and tied parameters and the loss, the shapes and dtypes of the arguments, the source
of the core and of every law module, the JAX and jaxlib versions and the backend.
Only laws whose function is a module-level function (or an instance of a module-level class
with a value ``repr``) of a module under ``scalefit.`` get a key; any other law, and any
multi-device run, is traced as usual. A file that cannot be read or written is skipped
(the kernel is traced as usual); nothing here changes a result.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import inspect
import os
import sys
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

_FOLDER: dict[str, Path | None] = {"path": None}
_LOADED: dict[str, Callable | None] = {}   # key -> the loaded kernel's call; None: export failed


def use_exports(folder: str | os.PathLike | None) -> None:
    """Keeps exported kernels under ``folder`` (None: off)."""
    _FOLDER["path"] = None if folder is None else Path(folder)


@functools.lru_cache(maxsize=64)
def _source_hash(module: str) -> str | None:
    mod = sys.modules.get(module)
    path = getattr(mod, "__file__", None)
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest() if path else None
    except OSError:
        return None


@functools.lru_cache(maxsize=1)
def _core_hash() -> str | None:
    """One hash over the source of the core, the law modules and the options: the code every
    kernel is traced from (a change to any of them makes new keys)."""
    package = Path(__file__).resolve().parents[1]
    files = sorted([*(package / "core").glob("*.py"), *(package / "laws").glob("*.py"),
                    package / "_options.py"])
    digest = hashlib.sha256()
    try:
        for f in files:
            digest.update(f.name.encode() + f.read_bytes())
    except OSError:
        return None
    return digest.hexdigest()


def _function_id(fn) -> str | None:
    """A process-independent name for a law's function, or None when it has none."""
    if inspect.isfunction(fn):
        module, name = fn.__module__, fn.__qualname__
    elif dataclasses.is_dataclass(fn) and not isinstance(fn, type):
        module, name = type(fn).__module__, type(fn).__qualname__ + repr(fn)
    else:
        return None
    if "<" in name or not module.startswith("scalefit."):
        return None
    source = _source_hash(module)
    return None if source is None else f"{module}:{name}:{source}"


def _key(name: str, spec, static: dict, leaves) -> str | None:
    shapes = tuple((np.shape(a), str(a.dtype if hasattr(a, "dtype") else jnp.result_type(a)))
                   for a in leaves)
    return _key_of(name, spec, tuple(sorted(static.items())), shapes)


@functools.lru_cache(maxsize=256)
def _key_of(name: str, spec, static: tuple, shapes: tuple) -> str | None:
    """The key of one kernel call (cached on the values: a bootstrap calls a kernel once per
    32 refits)."""
    law = spec.law
    fn = _function_id(law.loss if law.loss is not None else law.log_loss)
    core = _core_hash()
    if fn is None or core is None or jax.device_count() != 1:
        return None
    import jaxlib

    described = repr((name, jax.__version__, jaxlib.__version__, jax.default_backend(), core, fn,
                      law.name, law.inputs, law.params, law.context, spec.free, spec.fixed,
                      spec.tied, spec.loss, static, list(shapes)))
    return hashlib.sha256(described.encode()).hexdigest()


def call(name: str, kernel, spec, args: tuple, static: dict):
    """``kernel(spec, *args, **static)``, through an exported copy when one can be kept.

    ``kernel`` is a module-level ``jax.jit`` function whose static arguments are ``spec`` and
    ``static``; ``args`` is any pytree of arrays.
    """
    folder = _FOLDER["path"]
    if folder is None:
        return kernel(spec, *args, **static)
    leaves, tree = jax.tree.flatten(args)
    key = _key(name, spec, static, leaves)
    if key is None:
        return kernel(spec, *args, **static)
    if key not in _LOADED:         # a failed export is remembered: traced as usual from then on
        _LOADED[key] = _load(folder / f"{name}-{key[:40]}.stablehlo",
                             functools.partial(kernel, spec, **static), tree, leaves)
    run = _LOADED[key]
    return kernel(spec, *args, **static) if run is None else run(*leaves)


def _load(path: Path, kernel, tree, leaves) -> Callable | None:
    try:
        from jax.export import deserialize, export
    except ImportError:
        return None
    exported = None
    if path.is_file():
        try:
            exported = deserialize(bytearray(path.read_bytes()))
        except Exception:          # a truncated or foreign file: export again below
            exported = None
    if exported is None:
        flat = jax.jit(lambda *xs: kernel(*jax.tree.unflatten(tree, xs)))
        specs = [jax.ShapeDtypeStruct(np.shape(a), jnp.result_type(a)) for a in leaves]
        try:
            exported = export(flat)(*specs)
            data = exported.serialize()
        except Exception:          # e.g. flatbuffers missing: trace as usual
            return None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        except OSError:
            pass
    return jax.jit(exported.call)
