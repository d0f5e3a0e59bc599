"""The notebooks run top to bottom against the current API (their code cells, in order)."""

import json
from pathlib import Path

import matplotlib
import pytest

from conftest import EPOCH_PATH, ROOT, requires_dataset

matplotlib.use("Agg")


@requires_dataset(EPOCH_PATH)
@pytest.mark.parametrize("path", sorted((ROOT / "notebooks").glob("*.ipynb")), ids=lambda p: p.name)
def test_notebook_runs(path: Path):
    import matplotlib.pyplot as plt

    cells = json.loads(path.read_text())["cells"]
    code = ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]
    assert code, f"{path.name} has no code"
    scope: dict = {}
    for source in code:
        exec(compile(source, str(path), "exec"), scope)
    assert scope["fit"].convergence.ok
    plt.close("all")
