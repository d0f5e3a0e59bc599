"""Writes data/example_runs.csv: a synthetic Chinchilla-style sweep with known parameters.

Run ``python data/make_example.py`` to regenerate it (deterministic: fixed seed). The truth is
close to the Epoch AI refit of Hoffmann et al.: E=1.82, A=480, B=2100, alpha=0.35, beta=0.37.
Eight model sizes from 2e7 to 3e9 parameters, each trained at 12 token counts from 2x to 200x
its size; log-normal noise of 1% on the loss, and two runs given +8% (a diverged-looking
outlier the Huber loss should shrug off).
"""

from pathlib import Path

import numpy as np

TRUE = {"E": 1.82, "A": 480.0, "B": 2100.0, "alpha": 0.35, "beta": 0.37}


def loss(N, D, p=TRUE):
    return p["E"] + p["A"] / N ** p["alpha"] + p["B"] / D ** p["beta"]


def make(seed: int = 20261123) -> str:
    rng = np.random.default_rng(seed)
    N = np.repeat(np.geomspace(2e7, 3e9, 8), 12)
    D = N * np.tile(np.geomspace(2, 200, 12), 8)
    L = loss(N, D) * np.exp(rng.normal(0.0, 0.01, N.size))
    L[[17, 60]] *= 1.08
    rows = [f"{int(round(n))},{d:.6e},{l:.6f}" for n, d, l in zip(N, D, L)]
    return "N,D,loss\n" + "\n".join(rows) + "\n"


if __name__ == "__main__":
    out = Path(__file__).with_name("example_runs.csv")
    out.write_text(make())
    print(f"wrote {out}")
