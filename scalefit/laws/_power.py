"""Power law plus constant in one variable: L(x) = E + A * x**(-alpha), x = C, D or N."""

from dataclasses import dataclass

from ._spec import Law, Param, exp_steps
from ._xp import lse2, xp_of


@dataclass(frozen=True)
class _PowerLogLoss:
    """log(E + A * x**(-alpha)) as a log-sum-exp; equal for equal variables, so
    ``power_law("steps")`` built twice gives equal laws that share one compilation."""

    variable: str

    def __call__(self, p, x):
        xp = xp_of(p, x)
        t1 = xp.log(p["A"]) - p["alpha"] * xp.log(x[self.variable])
        return lse2(xp, t1, xp.log(p["E"]) + xp.zeros_like(t1))


def power_law(variable: str, name: str | None = None) -> Law:
    """Returns the law L = E + A * variable**(-alpha) over the input column ``variable``.

    Args:
        variable: input column, e.g. ``"C"`` (compute), ``"D"`` (tokens) or ``"N"`` (parameters).
        name: law name; defaults to ``"power_<variable>"``.
    """
    return Law(
        name=name or f"power_{variable}",
        inputs=(variable,),
        params=(
            Param("E", log=True, grid=exp_steps(-1, 1, 0.5)),
            Param("A", log=True, grid=exp_steps(0, 40, 5)),
            Param("alpha", grid=(0, 0.1, 0.25, 0.5, 1, 2)),
        ),
        log_loss=_PowerLogLoss(variable),
        reference=f"power law plus constant in {variable}: L = E + A * {variable}**(-alpha)",
        array_api=True,
    )


power_C = power_law("C")
power_D = power_law("D")
power_N = power_law("N")
