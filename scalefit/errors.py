"""The exceptions and warnings scalefit raises; every message names the input and the fix."""


class DataError(ValueError):
    """Bad input data: a missing column, a NaN, a non-positive value, too few points."""


class FitError(RuntimeError):
    """A fit could not be done, or did not converge under ``strict=True``."""


class ConvergenceWarning(UserWarning):
    """A fit was returned although its best start did not meet the convergence test."""


class ExtrapolationWarning(UserWarning):
    """A prediction lies far outside the range of the data the law was fitted to."""
