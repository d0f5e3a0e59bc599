"""The tidy table every loader produces: schema, units, and selecting what a fit reads."""

import math

import numpy as np
import pandas as pd
import pytest

from scalefit import DataError
from scalefit.data import tidy


def _table():
    rows = pd.DataFrame({
        "run": ["a", "a", "a", "b", "b", "a", "b"],
        "N": [1e8, 1e8, 1e8, 4e8, 4e8, 1e8, 4e8],
        "step": [100, 200, 300, 100, 200, 300, 200],
        "loss": [3.5, 3.2, 3.0, 3.1, 2.8, np.nan, 20.0],
        "metric": ["val/c4"] * 5 + ["val/wiki", "val/wiki"],
        "split": ["validation"] * 7,
        "unit": ["nats"] * 7})
    return tidy.make(rows, source="runs.csv", notes=["made for a test"])


def test_make_orders_the_schema_and_fills_what_is_absent():
    t = _table()
    assert tuple(t.columns) == tidy.COLUMNS
    assert t["D"].isna().all() and (t["N_convention"] == "").all()
    assert (t["source"] == "runs.csv").all() and t["loss"].dtype == np.float64
    assert t.attrs["scalefit"] == {"source": "runs.csv", "notes": ["made for a test"],
                                   "dropped": []}
    extra = tidy.make({"loss": [1.0], "unique_tokens": [5e9]}, source="x")
    assert list(extra.columns)[-1] == "unique_tokens"


def test_make_refuses_text_in_numbers_and_unknown_labels():
    with pytest.raises(DataError, match=r"x.csv: column 'N' holds text \('1B' in row 1, line 3"):
        tidy.make({"N": ["1e9", "1B"], "loss": [3.0, 2.9]}, source="x.csv")
    with pytest.raises(DataError, match="split 'dev' is not one of"):
        tidy.make({"loss": [3.0], "split": ["dev"]}, source="x")
    with pytest.raises(DataError, match="unknown unit 'nat per byte'"):
        tidy.make({"loss": [3.0], "unit": ["nat per byte"]}, source="x")
    with pytest.raises(DataError, match="must be converted before"):
        tidy.make({"loss": [30.0], "unit": ["perplexity"]}, source="x")


def test_units_convert_to_nats_where_they_can():
    values, unit = tidy.to_nats([math.e, math.e ** 2], "PPL")
    np.testing.assert_allclose(values, [1.0, 2.0])
    assert unit == "nats"
    values, unit = tidy.to_nats([1.0], "bits")
    assert unit == "nats" and values[0] == pytest.approx(math.log(2))
    assert tidy.to_nats([0.8], "bpc")[1] == "bits per character"
    with pytest.raises(DataError, match="a perplexity of 0.5 .* cannot be a perplexity"):
        tidy.to_nats([0.5], "perplexity", "log.csv")
    with pytest.raises(DataError, match="log.csv: unknown unit 'nits'. Did you mean 'nats'"):
        tidy.unit_of("nits", "log.csv")


def test_select_picks_one_metric_and_says_what_it_left_out():
    t = _table()
    with pytest.raises(DataError, match=r"holds 2 metrics; choose one with metric= .*"
                                         r"'val/c4' \(5 rows\); 'val/wiki' \(2 rows\)"):
        tidy.select(t)
    c4 = tidy.select(t, metric="c4")                       # a unique part of the name
    assert len(c4) == 5 and c4.attrs["scalefit"]["unit"] == "nats"
    assert "left out: 'val/wiki'" in c4.attrs["scalefit"]["notes"][-1]
    wiki = tidy.select(t, metric="val/wiki")
    assert len(wiki) == 1 and wiki.attrs["scalefit"]["dropped"] == [
        {"line": None, "row": 5, "reason": "no value of 'val/wiki'"}]
    final = tidy.select(t, metric="val/c4", last=True)
    assert final[["run", "step"]].values.tolist() == [["a", 300.0], ["b", 200.0]]
    assert "last point of each of 2 runs kept (3 earlier checkpoints left out)" in \
        final.attrs["scalefit"]["notes"][-1]
    with pytest.raises(DataError, match="no metric 'val'.*2 metrics contain it"):
        tidy.select(t, metric="val")
    with pytest.raises(DataError, match="no rows of split 'train'"):
        tidy.select(t, split="train")


def test_describe_gives_each_metric_its_ranges():
    d = tidy.describe(_table())
    assert d["metric"].tolist() == ["val/c4", "val/wiki"]
    assert d.loc[0, ["rows", "runs", "N_min", "N_max", "step_max"]].tolist() == [5, 2, 1e8, 4e8,
                                                                                  300.0]
