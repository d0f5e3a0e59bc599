"""Shared fixtures: the mirrored datasets, JAX settings and compiled fits shared across tests.

JAX runs with x64 OFF globally here on purpose: the API must enter float64 itself. Rank
promotion raises, so no law or core code broadcasts arrays of different ranks by accident.
The persistent compilation cache (.jax_cache/ in the checkout) makes repeat runs fast.
"""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MIRROR = ROOT.parent / "shared" / "datasets"
if "SCALEFIT_DATA_DIR" not in os.environ and MIRROR.is_dir():
    os.environ["SCALEFIT_DATA_DIR"] = str(MIRROR)
os.environ.setdefault("SCALEFIT_JAX_CACHE", str(ROOT / ".jax_cache"))

import jax  # noqa: E402

jax.config.update("jax_numpy_rank_promotion", "raise")

from scalefit._compile_cache import enable_compile_cache  # noqa: E402

enable_compile_cache()

EPOCH_PATH = ("epoch-research/analyzing-chinchilla/92258837425e1b5f2851d624287f0120583a3d0e/"
              "data/svg_extracted_data.csv")


def _missing(path: str) -> str | None:
    """Why a mirrored dataset is unavailable, or None when it is there."""
    root = os.environ.get("SCALEFIT_DATA_DIR")
    if root is not None and (Path(root) / path).is_file():
        return None
    return (f"dataset {path} not found under SCALEFIT_DATA_DIR={root!r}; point it at a mirror "
            "(CI sets ../shared/datasets)")


def requires_dataset(path: str):
    """Skips a test, naming the file and the variable, when a mirrored dataset is absent."""
    why = _missing(path)
    return pytest.mark.skipif(why is not None, reason=why or "")


@pytest.fixture(scope="session")
def epoch_240():
    """Epoch AI's Chinchilla points with their filter (n = 240); every test that uses them
    (directly or through ``epoch_fit``) skips, saying why, when the mirror lacks them."""
    import scalefit

    why = _missing(EPOCH_PATH)
    if why is not None:
        pytest.skip(why)
    return scalefit.data.read_chinchilla(epoch_filter=True)


@pytest.fixture(scope="session")
def epoch_fit(epoch_240):
    """The default Chinchilla fit on the 240 points, shared by every test that reads it."""
    import scalefit

    return scalefit.fit(epoch_240, law="chinchilla")


@pytest.fixture(scope="session")
def example_path():
    return ROOT / "data" / "example_runs.csv"


@pytest.fixture(scope="session")
def example_fit(example_path):
    import scalefit

    return scalefit.fit(example_path, law="chinchilla")


# The official multi-power-law curves' schedules (Luo et al. 2025), as scalefit writes specs.
MPL_SPECS = {
    "constant_24000": "constant:peak=0.0003,warmup=2160,total=24000",
    "constant_72000": "constant:peak=0.0003,warmup=2160,total=72000",
    "cosine_24000": "cosine:peak=0.0003,floor=3e-5,warmup=2160,total=24000",
    "cosine_72000": "cosine:peak=0.0003,floor=3e-5,warmup=2160,total=72000",
    "wsd_20000_24000": "wsd:peak=0.0003,floor=3e-5,warmup=2160,decay_start=20000,total=24000,"
                       "shape=geometric",
    "wsdld_20000_24000": "wsd:peak=0.0003,floor=3e-5,warmup=2160,decay_start=20000,total=24000,"
                         "shape=linear",
    "wsdcon_3": "step:peak=0.0003,warmup=2160,total=16000,boundaries=8000,values=3e-5",
    "wsdcon_9": "step:peak=0.0003,warmup=2160,total=16000,boundaries=8000,values=9e-5",
    "wsdcon_18": "step:peak=0.0003,warmup=2160,total=16000,boundaries=8000,values=0.00018",
}
