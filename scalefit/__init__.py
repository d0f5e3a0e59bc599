"""scalefit: fit neural scaling laws to logged training runs; predict loss and compute.

    import scalefit
    runs = scalefit.data.read_chinchilla(epoch_filter=True)
    fit = scalefit.fit(runs, law="chinchilla")
    fit.params, fit.convergence, fit.optimal(5.88e23), fit.tokens(2.0, N=7e10)

JAX-backed names load on first use, so ``scalefit --help`` and ``scalefit.data`` never import jax.
"""

from ._lazy import attributes
from ._version import __version__
from .errors import ConvergenceWarning, DataError, ExtrapolationWarning, FitError

_LAZY = {
    "Law": (".laws._spec", "Law"), "Param": (".laws._spec", "Param"),
    "exp_steps": (".laws._spec", "exp_steps"),
    "fit": (".api", "fit"), "load": ("._fit", "load"), "Fit": ("._fit", "Fit"),
    "Bootstrap": ("._saved", "Bootstrap"), "Options": ("._options", "Options"),
    "Stop": (".core.result", "Stop"), "Convergence": (".core.result", "Convergence"),
    "Allocation": (".predict", "Allocation"),
    "backtest": ("._backtest", "backtest"), "boundary_sweep": ("._backtest", "boundary_sweep"),
    "select": ("._backtest", "select"), "Backtest": ("._backtest", "Backtest"),
    "laws": (".laws", None), "data": (".data", None), "predict": (".predict", None),
    "schedules": (".schedules", None), "recipes": (".recipes", None),
    "hyper": (".hyper", None), "fit_hyper": (".hyper", "fit_hyper"),
    "approaches": (".approaches", None), "plot": (".plot", None),
    "compare_approaches": (".approaches", "compare_approaches"),
    "constrained": (".constrained", None), "loss_to_loss": (".loss_to_loss", None),
    "overtraining": (".overtraining", None), "asymptote": (".asymptote", None),
}

__all__ = ["__version__", "ConvergenceWarning", "DataError", "ExtrapolationWarning", "FitError",
           *_LAZY]


__getattr__ = attributes(__name__, _LAZY)
del attributes
