"""Hold-out rules for backtests (scalefit.data.splits): exact masks, wording and every error."""

import re

import numpy as np
import pytest

from scalefit.data.splits import (Rule, Split, above, boundary_sweep, hitchhiker, largest, parse,
                                  run_tail, split, top_level)
from scalefit.errors import DataError

SIZES = np.array([1e8, 2e8, 4e8, 8e8, 1.6e9])
TOKENS = np.array([1e9, 2e9, 5e9, 1e10, 2e10, 5e10])
FAMILY_SIZES = np.array([1e8, 3e8, 1e9, 3e9])
CHECKPOINTS = np.logspace(9, 11, 20)
FARSEER_N = [99620352, 118460160, 140718592, 167299200, 201228288, 239005312, 284207616,
             336994944, 397772800, 476931840, 568468736, 676012032, 798470400, 956354688,
             1125938688, 1338278400, 1608122368, 1911894528, 2273495040, 2697992704, 3184435200,
             3816352512, 4504118400, 5354047488, 6369572352]


@pytest.fixture
def grid():
    """5 sizes x 6 token counts, one point each (30 points), N slowest."""
    n, d = np.meshgrid(SIZES, TOKENS, indexing="ij")
    return {"N": n.ravel(), "D": d.ravel()}


@pytest.fixture
def family():
    """4 model sizes, 20 checkpoints each (D log-spaced 1e9..1e11), run ids 0..3."""
    return ({"N": np.repeat(FAMILY_SIZES, 20), "D": np.tile(CHECKPOINTS, 4)},
            np.repeat(np.arange(4), 20))


def tail_mask(k_per_run, runs=4, m=20):
    """The mask of the last k of each run's m points (points ordered by run, then D)."""
    return np.tile(np.arange(m) >= m - k_per_run, runs)


# --- largest -----------------------------------------------------------------------------------

def test_largest_holds_out_the_largest_size(grid):
    s = largest(grid)
    np.testing.assert_array_equal(s.test, grid["N"] == 1.6e9)
    np.testing.assert_array_equal(s.train, grid["N"] < 1.6e9)
    assert (s.n_test, s.n_train, s.n_left_out) == (6, 24, 0)
    assert s.rule == "test: the largest N, 1.6e+09; train: the smaller N"
    assert s.describe() == "test: the largest N, 1.6e+09 (6 points); train: the other 24 points"


def test_largest_k_and_by(grid):
    s = largest(grid, k=2)
    np.testing.assert_array_equal(s.test, grid["N"] >= 8e8)
    assert s.n_test == 12 and s.test_rule == "the 2 largest N, 8e+08 and 1.6e+09"
    assert largest(grid, k=4).test_rule == "the 4 largest N, 2e+08 to 1.6e+09"
    s = largest(grid, k=3, by="D")
    np.testing.assert_array_equal(s.test, grid["D"] >= 1e10)
    assert s.n_test == 15


def test_largest_on_the_farseer_sizes_holds_out_only_the_largest():
    n = np.repeat(np.array(FARSEER_N, float), 3)
    d = np.tile([2e10, 5e10, 1e11], len(FARSEER_N))
    s = largest({"N": n, "D": d}, k=1)
    assert set(n[s.test]) == {6369572352.0}
    assert s.n_test == 3 and s.n_train == 72
    assert 5354047488.0 in set(n[s.train])
    assert s.describe() == "test: the largest N, 6.37e+09 (3 points); train: the other 72 points"


# --- above, the inclusive thresholds, C ----------------------------------------------------------

def test_above_is_inclusive(grid):
    s = above(grid, "N", 4e8)
    np.testing.assert_array_equal(s.test, grid["N"] >= 4e8)
    np.testing.assert_array_equal(s.train, grid["N"] < 4e8)
    assert s.test[grid["N"] == 4e8].all()          # exactly at the threshold: test
    assert s.rule == "test: N >= 4e+08; train: N < 4e+08"
    assert s.describe() == "test: N >= 4e+08 (18 points); train: the other 12 points"


def test_above_with_train_max_is_farseer_s3():
    d_levels = np.array([2e10, 5e10, 9.05e10, 1.076e11, 1.28e11, 2e11])
    n, d = np.meshgrid([1e8, 3e8, 1e9, 3e9], d_levels, indexing="ij")
    x = {"N": n.ravel(), "D": d.ravel()}
    s = above(x, "D", 1.28e11, train_max=9.05e10)
    np.testing.assert_array_equal(s.test, x["D"] >= 1.28e11)
    np.testing.assert_array_equal(s.train, x["D"] <= 9.05e10)
    assert s.train[x["D"] == 9.05e10].all() and s.test[x["D"] == 1.28e11].all()
    left = ~s.train & ~s.test
    np.testing.assert_array_equal(left, x["D"] == 1.076e11)
    assert (s.n_train, s.n_test, s.n_left_out) == (12, 8, 4)
    assert s.rule == "test: D >= 1.28e+11; train: D <= 9.05e+10; left out: 9.05e+10 < D < 1.28e+11"
    assert s.describe() == ("test: D >= 1.28e+11 (8 points); train: D <= 9.05e+10 (12 points); "
                            "left out: 4 points (9.05e+10 < D < 1.28e+11)")


def test_c_is_derived_as_6nd_when_absent(grid):
    t = 6.0 * 4e8 * 5e9                               # a point's own C: inclusive
    s = above(grid, "C", t)
    c = 6.0 * grid["N"] * grid["D"]
    np.testing.assert_array_equal(s.test, c >= t)
    assert s.test[(grid["N"] == 4e8) & (grid["D"] == 5e9)].all()
    assert s.test_rule == "C = 6·N·D >= 1.2e+19" and "6·N·D" in s.rule
    with_c = {**grid, "C": np.arange(30.0)}           # a C input is used as it is
    s = above(with_c, "C", 20.0)
    assert s.n_test == 10 and "6·N·D" not in s.rule


# --- top_level ---------------------------------------------------------------------------------

def test_top_level_default_is_the_top_c_level(grid):
    s = top_level(grid)
    c = 6.0 * grid["N"] * grid["D"]
    np.testing.assert_array_equal(s.test, c >= c.max() / 1.5)
    assert s.n_test == 1 and s.n_train == 29
    assert s.test_rule == "the top C level, C = 6·N·D >= 3.2e+20 = largest / 1.5"
    assert s.rule.endswith("train: C < 3.2e+20")


def test_top_level_is_inclusive_and_its_threshold_is_true_of_the_data():
    s = top_level({"N": np.array([1.0, 2.0, 3.0, 4.0, 6.0])}, by="N", ratio=1.5)
    np.testing.assert_array_equal(s.test, [False, False, False, True, True])
    n = np.array([4.2463e9, 4.24638e9, 6.3695723e9])  # 6.3695723e9 / 1.5 = 4.24638153e9
    s = top_level({"N": n}, by="N")
    np.testing.assert_array_equal(s.test, [False, False, True])
    t = float(re.search(r">= (\S+) =", s.test_rule).group(1))
    np.testing.assert_array_equal(n >= t, s.test)     # the rounded threshold splits alike


# --- run_tail ----------------------------------------------------------------------------------

def test_run_tail_holds_out_the_last_30_percent_of_each_run(family):
    x, g = family
    s = run_tail(x, g)
    np.testing.assert_array_equal(s.test, tail_mask(6))
    np.testing.assert_array_equal(s.train, ~tail_mask(6))
    assert (s.n_test, s.n_train) == (24, 56)
    assert s.test_rule == "the last 30% of each run's points by D"
    assert s.describe() == ("test: the last 30% of each run's points by D (24 points); "
                            "train: the other 56 points")
    np.testing.assert_array_equal(run_tail(x, g, fraction=0.5).test, tail_mask(10))


def test_run_tail_rounding_single_point_runs_and_ties():
    # runs of 1, 2, 3 and 5 points: 0.3 x m rounds (halves up) to 0, 1, 1, 2; at least 1
    # per run of 2 or more, and the one-point run stays in train
    g = np.repeat(np.arange(4), [1, 2, 3, 5])
    d = np.array([5.0, 1, 2, 1, 2, 3, 1, 2, 3, 4, 5])
    s = run_tail({"D": d}, g)
    np.testing.assert_array_equal(s.test, [0, 0, 1, 0, 0, 1, 0, 0, 0, 1, 1])
    assert s.n_left_out == 0
    # unordered points are ordered by D; a tie at the cut goes to test
    s = run_tail({"D": np.array([3.0, 1.0, 3.0, 2.0])}, np.zeros(4, int), fraction=0.25)
    np.testing.assert_array_equal(s.test, [True, False, True, False])


# --- hitchhiker --------------------------------------------------------------------------------

def test_hitchhiker_on_a_family_with_checkpoints(family):
    x, g = family
    s = hitchhiker(x, g)
    smaller = x["N"] < 3e9
    np.testing.assert_array_equal(s.train, smaller & (x["D"] >= 1e10))
    np.testing.assert_array_equal(s.test, ~smaller & tail_mask(6))
    np.testing.assert_array_equal(~s.train & ~s.test,
                                  (smaller & (x["D"] < 1e10)) | (~smaller & ~tail_mask(6)))
    assert (s.n_train, s.n_test, s.n_left_out) == (30, 6, 44)
    assert s.test_rule == "the last 30% of the largest model's checkpoints by D, N 3e+09"
    assert s.train_rule == "the smaller models' checkpoints with D >= 1e+10"
    assert s.rule.startswith("Hitchhiker's guide (Choshen, Zhang & Andreas 2024): test: ")
    without_runs = hitchhiker(x)                       # one model = the points of one N
    np.testing.assert_array_equal(without_runs.train, s.train)
    np.testing.assert_array_equal(without_runs.test, s.test)


def test_hitchhiker_min_tokens_is_inclusive_and_runs_of_the_largest_size(family):
    x, g = family
    s = hitchhiker(x, g, min_tokens=float(CHECKPOINTS[12]))
    np.testing.assert_array_equal(s.train, (x["N"] < 3e9) & np.tile(np.arange(20) >= 12, 4))
    # the largest size trained twice (two runs of 10 checkpoints): the tail of each run
    g2 = np.concatenate([g[:60], np.repeat([3, 4], 10)])
    s = hitchhiker(x, g2)
    big = np.arange(80) >= 60
    np.testing.assert_array_equal(s.test, big & np.tile(np.arange(10) >= 7, 8))


# --- boundary sweep ----------------------------------------------------------------------------

def test_boundary_sweep(grid):
    sweep = boundary_sweep(grid)
    assert [s.n_train for s in sweep] == [6, 12, 18, 24]
    for s, x in zip(sweep, SIZES[:-1], strict=True):
        np.testing.assert_array_equal(s.train, grid["N"] <= x)
        np.testing.assert_array_equal(s.test, grid["N"] == 1.6e9)
    assert sweep[1].rule == ("boundary sweep: test: the largest N, 1.6e+09; train: the 2 smallest "
                             "N, up to 2e+08; left out: the N between")
    assert sweep[1].describe() == ("test: the largest N, 1.6e+09 (6 points); train: the 2 "
                                   "smallest N, up to 2e+08 (12 points); left out: 12 points "
                                   "(the N between)")
    assert sweep[-1].n_left_out == 0
    assert [s.n_train for s in boundary_sweep(grid, min_train=6)] == [12, 18, 24]
    assert boundary_sweep({"N": np.ones(3)}) == []


# --- parse and split ---------------------------------------------------------------------------

@pytest.mark.parametrize("spec, expected", [
    ("largest", lambda x, g: largest(x)),
    ("largest:2", lambda x, g: largest(x, k=2)),
    ("N>=6e8", lambda x, g: above(x, "N", 6e8)),
    (" N >= 6e8 ", lambda x, g: above(x, "N", 6e8)),
    ("D>=1.28e10,D<=4e9", lambda x, g: above(x, "D", 1.28e10, train_max=4e9)),
    ("D<=4e9,D>=1.28e10", lambda x, g: above(x, "D", 1.28e10, train_max=4e9)),
    ("top", lambda x, g: top_level(x)),
    ("top:3", lambda x, g: top_level(x, ratio=3.0)),
    ("tail", lambda x, g: run_tail(x, g)),
    ("tail:0.5", lambda x, g: run_tail(x, g, fraction=0.5)),
    ("hitchhiker", lambda x, g: hitchhiker(x, g)),
    ("Largest:2", lambda x, g: largest(x, k=2)),
])
def test_parse_every_form(family, spec, expected):
    x, g = family
    rule = parse(spec)
    assert isinstance(rule, Rule) and rule.spec == "".join(spec.split())
    got, want = rule(x, g), expected(x, g)
    np.testing.assert_array_equal(got.train, want.train)
    np.testing.assert_array_equal(got.test, want.test)
    assert got.rule == want.rule
    assert split(x, g, spec).rule == want.rule


def test_split_takes_masks_callables_rules_and_splits(grid):
    mask = grid["N"] >= 8e8
    s = split(grid, None, mask)
    np.testing.assert_array_equal(s.test, mask)
    np.testing.assert_array_equal(s.train, ~mask)
    assert s.describe() == ("test: the points of the given mask (12 points); "
                            "train: the other 18 points")
    assert split(grid, None, list(mask)).n_test == 12
    assert split(grid, None, lambda x, g: largest(x, k=2)).n_test == 12
    assert split(grid, None, lambda x: x["N"] >= 8e8).n_test == 12      # a callable's mask
    assert split(grid, None, largest).n_test == 6                       # the bare rule function
    assert split(grid, None, parse("largest:2")).n_test == 12
    assert split(grid, None, above(grid, "D", 2e10)).n_test == 10
    g = np.repeat(np.arange(5), 6)
    assert split(grid, g, run_tail).n_test == 10                        # takes group by name
    assert split(grid, None, "largest", n_free=23).n_train == 24


def test_split_masks_are_read_only(grid):
    s = largest(grid)
    with pytest.raises(ValueError):
        s.test[0] = True


# --- errors ------------------------------------------------------------------------------------

def test_empty_test_side(grid):
    with pytest.raises(DataError) as e:
        split(grid, None, "N>=1e12")
    assert str(e.value) == ("holdout 'N>=1e12' leaves no test points (all 30 points have "
                            "N < 1e+12; largest N 1.6e+09). Use a threshold at or below the "
                            "largest N.")


def test_empty_training_side(grid):
    with pytest.raises(DataError, match=r"holdout 'N>=1e7' leaves no training points \(all 30 "
                                        r"points have N >= 1e\+07; smallest N 1e\+08\)"):
        split(grid, None, "N>=1e7")
    with pytest.raises(DataError, match=r"no training points \(no point has D <= 1e\+08"):
        split(grid, None, "D>=1e10,D<=1e8")
    with pytest.raises(DataError, match=r"'largest:5' leaves no training points \(N takes only 5 "
                                        r"distinct values.*Use largest:4 or fewer"):
        split(grid, None, "largest:5")
    one_size = {"N": np.full(4, 1e9), "D": np.array([1e9, 1e10, 2e10, 4e10])}
    with pytest.raises(DataError, match="all 4 points have the same N, 1e\\+09"):
        split(one_size, None, "largest")
    with pytest.raises(DataError, match="Hitchhiker split needs models of several N"):
        split(one_size, None, "hitchhiker")
    with pytest.raises(DataError, match="no smaller model has a checkpoint with D >= 1e\\+12"):
        split(grid, None, hitchhiker(grid, min_tokens=1e12))
    with pytest.raises(DataError, match=r"within a factor 1e\+03 of the largest N"):
        split(grid, None, top_level(grid, by="N", ratio=1000))
    with pytest.raises(DataError, match=r"no training points \(the mask is true at all 30 points"):
        split(grid, None, np.ones(30, bool))
    with pytest.raises(DataError, match="the mask is false at all 30 points"):
        split(grid, None, np.zeros(30, bool))


def test_run_tail_of_single_point_runs_leaves_no_test_points(grid):
    with pytest.raises(DataError, match="leaves no test points \\(each of the 30 runs has a "
                                        "single point\\)"):
        split(grid, np.arange(30), "tail")


def test_too_few_training_points_for_the_law(grid):
    with pytest.raises(DataError) as e:
        split(grid, None, "largest:4", n_free=9)
    assert str(e.value).startswith("holdout 'largest:4' leaves 6 training points but the law has "
                                   "9 free parameters; a fit needs more points than parameters.")
    with pytest.raises(DataError, match="leaves 24 training points but the law has 24"):
        split(grid, None, "largest", n_free=24)
    with pytest.raises(ValueError, match="n_free must be a non-negative integer"):
        split(grid, None, "largest", n_free=-1)


@pytest.mark.parametrize("spec, message", [
    ("biggest", "unknown holdout 'biggest'; valid forms: 'largest', 'largest:K'"),
    ("", "unknown holdout ''"),
    ("N>6e9", "thresholds are inclusive; write >="),
    ("N<6e9", "thresholds are inclusive; write <="),
    ("N=6e9", "'=' is not a comparison"),
    ("N<=6e9", "names only the training side"),
    ("N>=6e9,N>=7e9", "gives >= twice"),
    ("N>=1e9,D<=1e10", "bounds two inputs"),
    ("D>=1e10,D<=2e10", "must be below the test bound"),
    ("N>=abc", "'abc' is not a finite number"),
    ("N>=inf", "'inf' is not a finite number"),
    ("N>=1,N<=0.5,N>=2", "unknown holdout"),
    ("largest:two", "'two' is not a finite number"),
    ("largest:0", "K in 'largest:K' must be a positive integer"),
    ("largest:1.5", "K in 'largest:K' must be a positive integer"),
    ("top:0.5", "RATIO in 'top:RATIO' must be 1 or more"),
    ("tail:1", "FRACTION in 'tail:FRACTION' must lie strictly between 0 and 1"),
    ("tail:0", "FRACTION in 'tail:FRACTION'"),
    ("hitchhiker:0.3", "'hitchhiker' takes no number"),
])
def test_bad_rule_strings(spec, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        parse(spec)


def test_unknown_input(grid):
    with pytest.raises(ValueError, match=re.escape("no input 'X' to split by; the inputs are N, "
                                                   "D; C can be derived as 6·N·D")):
        split(grid, None, "X>=1")
    with pytest.raises(ValueError, match=re.escape("no input 'C' to split by; the inputs are N. "
                                                   "Name one of them.")):
        top_level({"N": SIZES})
    with pytest.raises(ValueError, match="no input 'steps'"):
        run_tail(grid, np.zeros(30, int), by="steps")


def test_run_tail_needs_group(grid):
    with pytest.raises(DataError, match=r"run_tail holds out the last points of each run, so it "
                                        r"needs the run of each point \(group=, or --group"):
        run_tail(grid, None)
    with pytest.raises(DataError, match="needs the run of each point"):
        split(grid, None, "tail")


def test_bad_options_and_data(grid):
    with pytest.raises(ValueError, match="k must be a positive integer"):
        largest(grid, k=0)
    with pytest.raises(ValueError, match="ratio must be 1 or more"):
        top_level(grid, ratio=0.9)
    with pytest.raises(ValueError, match="fraction must lie strictly between 0 and 1"):
        run_tail(grid, np.zeros(30, int), fraction=1.2)
    with pytest.raises(ValueError, match="tail must lie strictly between 0 and 1"):
        hitchhiker(grid, tail=0)
    with pytest.raises(ValueError, match="train_max \\(1e\\+10\\) must be below"):
        above(grid, "D", 1e10, train_max=1e10)
    with pytest.raises(ValueError, match="threshold must be a finite number"):
        above(grid, "D", float("nan"))
    with pytest.raises(ValueError, match="min_train must be a non-negative integer"):
        boundary_sweep(grid, min_train=-1)
    with pytest.raises(DataError, match="the inputs differ in length \\(N: 30, D: 2\\)"):
        largest({"N": grid["N"], "D": np.ones(2)})
    with pytest.raises(DataError, match="no points to split"):
        largest({"N": np.array([])})
    bad = {"N": np.array([1e8, np.nan, 2e8])}
    with pytest.raises(DataError, match="input 'N' holds 1 non-finite value\\(s\\) \\(points 1\\)"):
        largest(bad)
    with pytest.raises(DataError, match="group has shape \\(3,\\) but the inputs have 30 points"):
        run_tail(grid, np.zeros(3, int))
    with pytest.raises(DataError, match="group must hold integer run indices"):
        run_tail(grid, np.zeros(30))
    with pytest.raises(ValueError, match="a holdout mask must be boolean"):
        split(grid, None, np.array([0, 1, 2]))
    with pytest.raises(ValueError, match="a holdout mask must be boolean with one value per "
                                         "point \\(30\\)"):
        split(grid, None, np.ones(29, bool))
    with pytest.raises(ValueError, match="gives masks over 3 points, but the inputs have 30"):
        split(grid, None, Split(np.ones(3, bool), np.zeros(3, bool), "mine"))


def test_split_refuses_overlapping_or_non_boolean_masks():
    with pytest.raises(ValueError, match="overlap at 1 point \\(e.g. point 2\\)"):
        Split(np.array([True, False, True]), np.array([False, True, True]), "bad")
    with pytest.raises(ValueError, match="Split.train must be a 1-D boolean mask"):
        Split(np.array([1, 0]), np.array([False, True]), "bad")
    with pytest.raises(ValueError, match="Split.train has 2 points but Split.test has 3"):
        Split(np.array([True, False]), np.array([False, False, True]), "bad")
