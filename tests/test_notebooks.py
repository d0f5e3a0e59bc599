"""The notebooks run top to bottom against the current API (their code cells, in order)."""

import json
from pathlib import Path

import matplotlib
import pytest

from conftest import EPOCH_PATH, ROOT, requires_dataset

matplotlib.use("Agg")


COLPRET = "IBM/ColPret/16f23bbe054277ddc4afd07a972dd7cfbe3f48c3/"
MPL = "thu-yao-01-luo/MultiPowerLaw/8da9f1902602f3391b971a811e3cc51604541769/loss_curve_repo/"
NEEDS = {  # the mirrored files each notebook reads (a missing one skips it)
    "quickstart.ipynb": [EPOCH_PATH],
    "farseer_vs_chinchilla.ipynb": ["Farseer-Scaling-Law/Farseer/main/ipynb/data/1222_full.csv"],
    "schedule_what_if.ipynb": [MPL + f"csv_{m}/cosine_24000.csv" for m in (25, 100, 400)],
    "predict_before_launch.ipynb": [
        COLPRET + "raw_data/OLMO/wandb_export_2024-02-23T14_58_09.703-05_00.csv",
        COLPRET + "raw_data/gpt3/extracted.csv"],
}


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=[requires_dataset(f) for f in NEEDS.get(p.name, [EPOCH_PATH])], id=p.name)
    for p in sorted((ROOT / "notebooks").glob("*.ipynb"))])
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
