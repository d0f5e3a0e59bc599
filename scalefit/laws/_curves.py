"""Loss-curve laws over a run's learning-rate schedule.

Both read the parameter-free terms of ``scalefit.data.schedule_sums`` at each logged step:
``area`` (S1, the area under the rate so far, warmup included), and per group of earlier steps
``w`` (its summed rate change η_k − η_{k−1}), ``log_rate`` (log η_k), ``since`` (the area from
it to the step) and ``age`` (steps from it to the step, plus 1).

- Multi-power law (Luo et al. 2025, "A Multi-Power Law for Loss Curve Prediction Across
  Learning Rate Schedules"): L = L0 + A·S1^(−α) − B·Σ_k (η_{k−1} − η_k)·G(η_k^(−γ)·S_k),
  G(x) = 1 − (C·x + 1)^(−β); fitted with D = B·β·C in place of B (``to_paper``).
- LR-annealing law (Tissue et al. 2024, "Scaling Law with Learning Rate Annealing"):
  L = L0 + A·S1^(−α) − C·S2, S2 = Σ_k (η_{k−1} − η_k)·(1 − λ^(s−k+1))/(1 − λ), the sum of the
  annealing momentum m_i = λ·m_{i−1} + (η_{i−1} − η_i).

On a constant schedule both reduce to L0 + A·S1^(−α) (every rate change is 0 after warmup).
"""

from ._spec import Law, Param, exp_steps
from ._xp import xp_of

CURVE_INPUTS = ("area", "w", "log_rate", "since", "age")


def _multi_power(p, x):
    # B·G(u) with G(u) = 1 − (1 + C·u)^(−β), written as D·h(u), D = B·β·C and
    # h(u) = (1 − (1 + C·u)^(−β)) / (β·C), which tends to u as C or β goes to 0: the paper's
    # parameters run away there (B → ∞ while β·C → 0); these stay finite.
    xp = xp_of(p, x)
    u = xp.exp(-p["gamma"] * x["log_rate"]) * x["since"]
    h = -xp.expm1(-p["beta"] * xp.log1p(p["C"] * u)) / (p["beta"] * p["C"])
    drop = xp.sum(x["w"] * h, axis=1)          # w = η_k − η_{k−1}: negative for a decay
    return p["L0"] + p["A"] * x["area"] ** (-p["alpha"]) + p["D"] * drop


def to_paper(params) -> dict:
    """The multi-power law's parameters as Luo et al. write them: B = D / (β·C)."""
    out = {k: v for k, v in params.items() if k != "D"}
    out["B"] = params["D"] / (params["beta"] * params["C"])
    return {k: out[k] for k in ("L0", "A", "alpha", "B", "C", "beta", "gamma")}


def from_paper(params) -> dict:
    """Luo et al.'s (L0, A, alpha, B, C, beta, gamma) in scalefit's: D = B·β·C."""
    out = {k: v for k, v in params.items() if k != "B"}
    out["D"] = params["B"] * params["beta"] * params["C"]
    return {k: out[k] for k in ("L0", "A", "alpha", "D", "C", "beta", "gamma")}


def _annealing(p, x):
    lam = p["lam"]
    s2 = xp_of(p, x).sum(-x["w"] * (1.0 - lam ** x["age"]), axis=1) / (1.0 - lam)
    return p["L0"] + p["A"] * x["area"] ** (-p["alpha"]) - p["C"] * s2


multi_power = Law(
    name="multi_power",
    inputs=CURVE_INPUTS,
    params=(
        Param("L0", log=True, grid=(1.0, 4.0)),
        Param("A", log=True, grid=(0.1, 3.0)),
        Param("alpha", lower=0.0, upper=3.0, grid=(0.1, 1.0)),
        Param("D", log=True, grid=(10.0, 3000.0)),
        Param("C", log=True, grid=(0.01, 10.0)),
        Param("beta", log=True, grid=(0.01, 2.0)),
        Param("gamma", lower=0.0, upper=3.0, grid=(0.1, 1.5)),
    ),
    loss=_multi_power,
    reference=("Luo et al. 2025, multi-power law: L0 + A·(S1 + S_W)^−α − LD, with D = B·β·C "
               "(scalefit.laws.multi_power_to_paper gives B); warmup rate increases counted in "
               "LD as the reference code does; 1,024 Sobol starts"),
    start="sobol:1024",
    fit_defaults=(("n_solve", 8),),
    array_api=True,
)

lr_annealing = Law(
    name="lr_annealing",
    inputs=CURVE_INPUTS,
    params=(
        Param("L0", log=True, grid=exp_steps(0.0, 1.5, 0.5)),
        Param("A", log=True, grid=(0.1, 0.5, 2.0)),
        Param("alpha", lower=0.0, upper=3.0, grid=(0.2, 0.5, 0.9)),
        Param("C", log=True, grid=(0.1, 1.0, 10.0)),
        Param("lam", lower=0.5, upper=0.99999, grid=(0.99, 0.999)),
    ),
    loss=_annealing,
    reference="Tissue et al. 2024, LR-annealing law: L0 + A·S1^−α − C·S2, with the decay λ fitted",
    fit_defaults=(("n_solve", 8),),
    array_api=True,
)
