"""The laws scalefit knows, by name, and the pieces to write new ones (``Law``, ``Param``)."""

import difflib

from ._spec import Law, Param, exp_steps
from ._xp import xp_of

__all__ = ["Law", "Param", "exp_steps", "xp_of", "LAW_NAMES", "get_law", "power_law",
           "asymptote_law", "farseer_to_paper", "farseer_from_paper", "multi_power_to_paper",
           "multi_power_from_paper"]

# name -> (module, attribute), loaded on first use.
_REGISTRY = {
    "chinchilla": ("_chinchilla", "chinchilla"),
    "kaplan": ("_kaplan", "kaplan"),
    "kaplan_e": ("_kaplan_e", "kaplan_e"),
    "farseer": ("_farseer", "farseer"),
    "multi_power": ("_curves", "multi_power"),
    "lr_annealing": ("_curves", "lr_annealing"),
    "power_C": ("_power", "power_C"),
    "power_D": ("_power", "power_D"),
    "power_N": ("_power", "power_N"),
    "data_constrained": ("_data_constrained", "data_constrained"),
    "overtraining": ("_overtraining", "overtraining"),
    "downstream_error": ("_overtraining", "downstream_error"),
    "asymptote_C": ("_asymptote", "asymptote_C"),
    "asymptote_D": ("_asymptote", "asymptote_D"),
    "asymptote_N": ("_asymptote", "asymptote_N"),
}
LAW_NAMES = tuple(_REGISTRY)


def get_law(law: "str | Law") -> Law:
    """Returns the law called ``law`` (or ``law`` itself if it is a ``Law``).

    Raises:
        ValueError: unknown name, with the closest known names.
    """
    if isinstance(law, Law):
        return law
    if not isinstance(law, str) or law not in _REGISTRY:
        known = ", ".join(LAW_NAMES)
        close = difflib.get_close_matches(str(law), LAW_NAMES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"Unknown law {law!r}.{hint} Known laws: {known}; or pass a "
                         "scalefit.Law you wrote.")
    import importlib

    module, attr = _REGISTRY[law]
    return getattr(importlib.import_module(f"{__name__}.{module}"), attr)


def __getattr__(name: str):
    if name in _REGISTRY:
        return get_law(name)
    if name == "power_law":
        from ._power import power_law

        return power_law
    if name == "asymptote_law":
        from ._asymptote import asymptote_law

        return asymptote_law
    if name in ("farseer_to_paper", "farseer_from_paper"):
        from . import _farseer

        return getattr(_farseer, name.replace("farseer_", ""))
    if name in ("multi_power_to_paper", "multi_power_from_paper"):
        from . import _curves

        return getattr(_curves, name.replace("multi_power_", ""))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
