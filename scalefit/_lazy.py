"""Package attributes that load on first use, so importing a package stays cheap."""

from __future__ import annotations

from collections.abc import Callable, Mapping


def attributes(package: str, names: Mapping[str, tuple[str, str | None]],
               modules: tuple[str, ...] = ()) -> Callable[[str], object]:
    """Returns a module ``__getattr__`` for ``package``.

    Args:
        package: the package's ``__name__``.
        names: attribute -> (module, attribute in it, or None for the module itself), the module
            relative to ``package`` (``".api"``, ``".._options"``).
        modules: submodules reachable as attributes (``scalefit.data.tidy``) before they are
            imported.
    """
    def __getattr__(name: str):
        import importlib

        if name in modules:
            return importlib.import_module(f".{name}", package)
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module, attr = names[name]
        found = importlib.import_module(module, package)
        return found if attr is None else getattr(found, attr)
    return __getattr__
