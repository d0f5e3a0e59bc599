"""What the scipy references share: Epoch AI's points read without scalefit, and the numpy
sum-Huber objective of Chinchilla Approach 3 (Hoffmann et al. 2022) with its analytic gradient.

x = (a, b, e, alpha, beta) with A = e^a, B = e^b, E = e^e; the objective is
sum_i w_i * Huber_delta(LSE(a - alpha log N_i, b - beta log D_i, e) - log L_i), summed, never a mean.
"""

from __future__ import annotations

import os
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
DELTA = 1e-3
EPOCH_CSV = Path("epoch-research/analyzing-chinchilla/92258837425e1b5f2851d624287f0120583a3d0e/"
                 "data/svg_extracted_data.csv")


def print_environment() -> None:
    """Prints the versions, the core count, the BLAS threads and the load average."""
    import scipy

    print(f"python {platform.python_version()}  numpy {np.__version__}  scipy {scipy.__version__}  "
          f"pandas {pd.__version__}  cpus {os.cpu_count()}  "
          f"OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS')}")
    print(f"load average at start: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


def data_dir() -> Path:
    env = os.environ.get("SCALEFIT_DATA_DIR")
    return Path(env) if env else REPO.parent / "shared" / "datasets"


def read_epoch_points() -> pd.DataFrame:
    """Epoch's 245 points read off the Chinchilla figure, the 5 highest losses dropped (240 rows).

    Read directly (not through scalefit) so the references are independent of the package.
    """
    raw = pd.read_csv(data_dir() / EPOCH_CSV)
    if len(raw) != 245:
        raise SystemExit(f"expected 245 rows in {EPOCH_CSV}, got {len(raw)}")
    kept = raw.drop(index=raw["loss"].nlargest(5).index)
    n = kept["Model Size"].to_numpy(np.float64)
    c = kept["Training FLOP"].to_numpy(np.float64)
    out = pd.DataFrame({"N": n, "C": c, "D": c / (6.0 * n), "loss": kept["loss"].to_numpy(np.float64)})
    assert len(out) == 240
    return out.reset_index(drop=True)


class Objective:
    """(Weighted) sum-Huber objective on log residuals, vectorised over the points."""

    def __init__(self, df: pd.DataFrame, w: np.ndarray | None = None, delta: float = DELTA):
        self.log_n = np.log(df["N"].to_numpy(np.float64))
        self.log_d = np.log(df["D"].to_numpy(np.float64))
        self.log_l = np.log(df["loss"].to_numpy(np.float64))
        self.w = None if w is None else np.asarray(w, np.float64)
        self.delta = float(delta)

    def _terms(self, x: np.ndarray):
        a, b, e, alpha, beta = x
        t1 = a - alpha * self.log_n
        t2 = b - beta * self.log_d
        m = np.maximum(np.maximum(t1, t2), e)  # stable LSE: subtract the max
        u1, u2, u3 = np.exp(t1 - m), np.exp(t2 - m), np.exp(e - m)
        s = u1 + u2 + u3
        return m + np.log(s) - self.log_l, u1, u2, u3, s

    def _huber(self, r: np.ndarray) -> float:
        d = self.delta
        ar = np.abs(r)
        h = np.where(ar <= d, 0.5 * r * r, d * (ar - 0.5 * d))
        return float(np.sum(h) if self.w is None else self.w @ h)

    def value(self, x: np.ndarray) -> float:
        return self._huber(self._terms(x)[0])

    def value_and_grad(self, x: np.ndarray) -> tuple[float, np.ndarray]:
        r, u1, u2, u3, s = self._terms(x)
        psi = np.clip(r, -self.delta, self.delta) / s  # Huber'(r) times the softmax denominator
        if self.w is not None:
            psi = self.w * psi
        g1, g2 = psi * u1, psi * u2                     # d f_i / d t1_i, d f_i / d t2_i
        grad = np.array([g1.sum(), g2.sum(), (psi * u3).sum(), -(g1 @ self.log_n),
                         -(g2 @ self.log_d)])
        return self._huber(r), grad


def check_gradient(obj, points) -> float:
    """Analytic gradient against central finite differences; returns the worst relative error.

    ``obj`` has ``value(x)`` and ``value_and_grad(x)`` (and, if it has one, ``values(X)`` for
    rows of starts, checked to agree too).
    """
    worst = 0.0
    for x in points:
        x = np.asarray(x, np.float64)
        f, g = obj.value_and_grad(x)
        assert abs(f - obj.value(x)) <= 1e-14 * max(1.0, abs(f))
        if hasattr(obj, "values"):
            assert abs(f - obj.values(x[None, :])[0]) <= 1e-12 * max(1.0, abs(f))
        fd = np.empty(len(x))
        for k in range(len(x)):
            h = 1e-6 * max(1.0, abs(x[k]))
            xp, xm = x.copy(), x.copy()
            xp[k] += h
            xm[k] -= h
            fd[k] = (obj.value(xp) - obj.value(xm)) / (2 * h)
        rel = float(np.linalg.norm(g - fd) / max(np.linalg.norm(fd), 1e-300))
        assert rel < 1e-5, f"analytic gradient check failed at {x}: rel err {rel:.2e}"
        worst = max(worst, rel)
    return worst


class BestOf:
    """For a reference's results: ``fun`` (objective per solved start) and ``x`` (their ends)."""

    @property
    def best(self) -> int:
        return int(np.argmin(self.fun))

    @property
    def best_fun(self) -> float:
        return float(self.fun[self.best])

    @property
    def best_x(self) -> np.ndarray:
        return self.x[self.best]


@dataclass
class ScreenedFits(BestOf):
    """A multi-start reference: every start screened, the ``k`` lowest solved with L-BFGS-B."""

    wall: float
    cpu: float
    screen_wall: float
    screened: np.ndarray    # the objective at every start
    picked: np.ndarray      # indices of the starts solved, lowest screened objective first
    fun: np.ndarray         # objective reached from each solved start (inf where not finite)
    x: np.ndarray
    nit: np.ndarray
    nfev: np.ndarray
    success: np.ndarray
    messages: list


def screen_and_solve(obj, starts: np.ndarray, k: int, bounds, options: dict) -> ScreenedFits:
    """Screens ``starts`` with ``obj.values`` and solves the ``k`` lowest with scipy L-BFGS-B
    (``obj.value_and_grad``, analytic gradient), timing the whole; far-off starts that
    overflow rank last."""
    from scipy.optimize import minimize

    d = starts.shape[1]
    fun, xs = np.full(k, np.inf), np.full((k, d), np.nan)
    nit, nfev = np.zeros(k, np.int64), np.zeros(k, np.int64)
    success, messages = np.zeros(k, bool), []
    w0, c0 = time.perf_counter(), time.process_time()
    with np.errstate(all="ignore"):
        F = obj.values(starts)
        picked = np.argsort(F, kind="stable")[:k]
        screen_wall = time.perf_counter() - w0
        for i, j in enumerate(picked):
            res = minimize(obj.value_and_grad, starts[j], jac=True, method="L-BFGS-B",
                           bounds=bounds, options=options)
            if np.isfinite(res.fun):
                fun[i] = res.fun
            xs[i], nit[i], nfev[i], success[i] = res.x, res.nit, res.nfev, res.success
            messages.append(str(res.message))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return ScreenedFits(wall, cpu, screen_wall, F, picked, fun, xs, nit, nfev, success, messages)
