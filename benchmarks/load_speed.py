"""Load-speed benchmark: two Hitchhiker's Guide (IBM/ColPret) files into the tidy table.

Issue target: ``scalefit.data.datasets.load(name)`` reads the 2.7 MB Mamba-3B CSV
(``mamba3b``, 44,174 rows) and the 1.8 MB repeated-data CSV (``datablations``, 9,261 rows) into the
tidy table in under 1 s each, first call included.

For each dataset, in this one process:

* ``load(name)``: the first call (it imports the parser module, checks the file's sha256 and
  parses), then the best of 5 further calls;
* the two parts of a call, best of 5 each: ``fetch_dataset(name)`` (the mirror lookup and the
  sha256 of the file) and the dataset's parser on the fetched path;
* reference: a plain ``pandas.read_csv`` of the same file, first call and best of 5.

Run from the repository root:

    .venv/bin/python benchmarks/load_speed.py                    # both datasets, a few seconds
    .venv/bin/python benchmarks/load_speed.py --datasets mamba3b # one of them
    .venv/bin/python benchmarks/load_speed.py --repeats 10       # best of 10 instead of 5

The files are read from ``$SCALEFIT_DATA_DIR`` (default ``<repo>/../shared/datasets``). The last
line is ``ratio: <load best / read_csv best> (<name>) ...``: how many times a plain read_csv the
full load takes, then whether every first call met the 1 s target.
"""

from __future__ import annotations

import os

import _blas  # noqa: F401  (single-threaded BLAS, before numpy loads)

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import pandas as pd  # noqa: E402

from _reference import REPO, data_dir, print_environment  # noqa: E402

DATASETS = ("mamba3b", "datablations")
TARGET_S = 1.0
REPEATS = 5


def timed(fn) -> tuple[float, object]:
    """Wall time of one call of ``fn`` and its result."""
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def best_of(fn, repeats: int) -> float:
    """The best wall time of ``repeats`` calls of ``fn``."""
    return min(timed(fn)[0] for _ in range(repeats))


def bench(name: str, repeats: int) -> dict:
    """Times one dataset's load, its fetch and parse parts, and pandas.read_csv of its file."""
    from scalefit.data.datasets import dataset, fetch_dataset, load

    first, table = timed(lambda: load(name))
    ds = dataset(name)
    (remote,) = ds.files.values()
    path = data_dir() / remote.path
    paths = fetch_dataset(name)
    csv_first, raw = timed(lambda: pd.read_csv(path))
    return {
        "name": name, "path": path, "mb": path.stat().st_size / 1e6, "rows": len(table),
        "runs": table["run"].nunique(), "raw_rows": len(raw), "first": first,
        "best": best_of(lambda: load(name), repeats),
        "fetch": best_of(lambda: fetch_dataset(name), repeats),
        "parse": best_of(lambda: ds.parser(paths), repeats),
        "csv_first": csv_first, "csv_best": best_of(lambda: pd.read_csv(path), repeats),
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--datasets", nargs="+", default=list(DATASETS), choices=DATASETS,
                   help="which datasets to time (default both)")
    p.add_argument("--repeats", type=int, default=REPEATS, help="calls per best-of (default 5)")
    args = p.parse_args(argv)

    os.environ.setdefault("SCALEFIT_DATA_DIR", str(data_dir()))
    sys.path.insert(0, str(REPO))  # benchmark the checkout's scalefit
    print_environment()
    t_import, _ = timed(lambda: __import__("scalefit.data.datasets"))
    print(f"import scalefit.data.datasets: {t_import:.3f} s   "
          f"SCALEFIT_DATA_DIR={os.environ['SCALEFIT_DATA_DIR']}")

    results = []
    for name in args.datasets:
        from scalefit.data.datasets import dataset

        (remote,) = dataset(name).files.values()
        if not (data_dir() / remote.path).is_file():
            raise SystemExit(f"{name}: {data_dir() / remote.path} not found; set "
                             "SCALEFIT_DATA_DIR to the mirror")
        r = bench(name, args.repeats)
        results.append(r)
        print(f"\n== {name}: {r['path'].name}, {r['mb']:.2f} MB, {r['raw_rows']:,} file rows -> "
              f"{r['rows']:,} tidy rows, {r['runs']} runs")
        print(f"load(name) first call: {r['first']:.3f} s   best of {args.repeats}: "
              f"{r['best']:.3f} s")
        print(f"  parts, best of {args.repeats}: fetch (sha256 check) {r['fetch']:.3f} s, "
              f"parse {r['parse']:.3f} s")
        print(f"pandas.read_csv first call: {r['csv_first']:.3f} s   best of {args.repeats}: "
              f"{r['csv_best']:.3f} s")

    print(f"\nload average at end: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    ok = all(r["first"] <= TARGET_S for r in results)
    print("ratio: " + ", ".join(f"{r['best'] / r['csv_best']:.1f} ({r['name']}: load "
                                f"{r['best']:.3f} s, read_csv {r['csv_best']:.3f} s)"
                                for r in results)
          + f"; first calls <= {TARGET_S:g} s: {'ok' if ok else 'MISSED'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
