"""Learning-rate schedules (scalefit.schedules): exact rates, the warmup convention, spec round
trips, every error, and the reference curves of Luo et al. (2025) and the GPT-100M course runs."""

import os
import re
from pathlib import Path

import numpy as np
import pytest

from scalefit import schedules as S
from scalefit.errors import DataError
from conftest import requires_dataset

MPL = ("thu-yao-01-luo/MultiPowerLaw/8da9f1902602f3391b971a811e3cc51604541769/"
       "loss_curve_repo/csv_{size}/{name}.csv")
MPL_NAMES = ("constant_24000", "constant_72000", "cosine_24000", "cosine_72000",
             "wsd_20000_24000", "wsdld_20000_24000", "wsdcon_3", "wsdcon_9", "wsdcon_18")
COURSE = "converted/mpl-gpt-100m-20b/{name}.csv"
COURSE_MISSING = {"cosine": [22493], "wsd": [20815], "811": []}   # steps absent from each log
PEAK, W = 3e-4, 2160


def read_csv(rel: str) -> dict[str, np.ndarray]:
    """A mirrored CSV's columns (step, lr, loss) as float arrays (steps as int64)."""
    path = Path(os.environ["SCALEFIT_DATA_DIR"]) / rel
    data = np.loadtxt(path, delimiter=",", skiprows=1)
    return {"step": data[:, 0].astype(np.int64), "lr": data[:, 1], "loss": data[:, 2]}


def every_kind() -> list[S.Schedule]:
    """One schedule of each parametric kind, most with warmup and non-default options."""
    return [S.constant(1e-3, 1000), S.constant(1e-3, 1000, warmup=100, warmup_from=1e-5),
            S.cosine(PEAK, 24000, floor=3e-5, warmup=W), S.cosine(1e-3, 500),
            S.linear(1e-3, 800, floor=1e-4, warmup=50), S.linear(2.0, 10),
            S.wsd(PEAK, 24000, 20000, floor=3e-5, shape="geometric", warmup=W),
            S.wsd(1e-3, 1000, 800, shape="1-sqrt"), S.wsd(1e-3, 1000, 900.5, 1e-5, "cosine", 10),
            S.step(PEAK, 16000, 8000, 9e-5, warmup=W), S.step(1e-3, 100, (20, 60.5), (5e-4, 0.0)),
            S.inverse_sqrt(1e-3, 10000, 1000), S.inverse_sqrt(1e-3, 10, 1),
            S.power(0.02, 10000, a=4.0 * 512, b=0.51, tokens_per_step=2**21, warmup=100),
            S.power(0.02, 10000, 2048.0, 0.51, 2**21, warmup=100, decay_start=9000,
                    floor=2e-4, shape="geometric")]


# --- the warmup --------------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", [s for s in every_kind() if s.warmup >= 2 and
                                      s.kind != "power"], ids=str)
def test_warmup_ramp_is_exact(schedule):
    w, peak, start = schedule.warmup, schedule.peak, schedule.get("warmup_from")
    r = schedule.rates()
    assert r[0] == start and r[w - 1] == peak and r[w] == peak
    k = np.arange(w)
    np.testing.assert_allclose(r[:w], start + (peak - start) * k / (w - 1), rtol=1e-15, atol=0)


def test_warmup_starts_at_zero_and_reaches_the_peak_at_w_minus_1():
    r = S.constant(PEAK, 24000, warmup=W).rates()
    assert r[0] == 0.0 and r[W - 1] == PEAK and r[W - 2] < PEAK
    assert r[1] == pytest.approx(PEAK / (W - 1), rel=1e-15)
    r = S.cosine(1.0, 20, warmup=5, warmup_from=0.2).rates()
    np.testing.assert_allclose(r[:5], [0.2, 0.4, 0.6, 0.8, 1.0], rtol=1e-15)


def test_one_warmup_step_runs_at_the_peak():
    np.testing.assert_array_equal(S.constant(1e-3, 4, warmup=1).rates(), [1e-3] * 4)
    np.testing.assert_allclose(S.inverse_sqrt(1e-3, 5, 1).rates(),
                               1e-3 * np.array([1, 1, 1 / np.sqrt(2), 1 / np.sqrt(3), 0.5]))


def test_power_warms_up_to_its_rate_at_the_end_of_the_warmup():
    s = S.power(1.0, 100, a=1.0, b=0.5, tokens_per_step=1.0, warmup=5)
    r = s.rates()
    target = 1 / np.sqrt(5)                        # min(1, 1·5^-0.5): below the cap
    np.testing.assert_allclose(r[:6], [0, target / 4, target / 2, 3 * target / 4, target, target],
                               rtol=1e-15)
    np.testing.assert_allclose(r[5:], 1 / np.sqrt(np.arange(5, 100)), rtol=1e-15)


# --- every kind's rates ------------------------------------------------------------------------

def test_constant():
    s = S.constant(1e-3, 5)
    np.testing.assert_array_equal(s.rates(), [1e-3] * 5)
    np.testing.assert_array_equal(s.rates(7), [1e-3] * 7)
    assert s.rates().dtype == np.float64 and s.total == 5


def test_cosine_values_and_floor_at_total():
    s = S.cosine(1.0, 110, floor=0.1, warmup=10)
    r = s.rates()
    assert r[10] == 1.0
    assert r[60] == pytest.approx(0.55, rel=1e-15)                 # halfway: the mean
    assert r[35] == pytest.approx(0.1 + 0.9 * (1 + np.cos(np.pi / 4)) / 2, rel=1e-15)
    assert r[109] == pytest.approx(0.1 + 0.9 * (1 + np.cos(np.pi * 99 / 100)) / 2, rel=1e-15)
    assert r[109] > 0.1
    np.testing.assert_array_equal(s.rates(115)[110:], 0.1)          # past total: the floor
    np.testing.assert_array_equal(s.rates(50), r[:50])
    assert np.all(np.diff(r[10:]) < 0)
    assert S.cosine(2.0, 4).rates()[2] == pytest.approx(1.0, rel=1e-15)


def test_linear():
    r = S.linear(1.0, 12, floor=0.2, warmup=2).rates(13)
    np.testing.assert_allclose(r, [0, 1] + [1 - 0.8 * k / 10 for k in range(10)] + [0.2],
                               rtol=1e-15)


@pytest.mark.parametrize("shape, x_to_rate", [
    ("linear", lambda x: 0.1 + 0.9 * (1 - x)),
    ("cosine", lambda x: 0.1 + 0.9 * (1 + np.cos(np.pi * x)) / 2),
    ("1-sqrt", lambda x: 0.1 + 0.9 * (1 - np.sqrt(x))),
    ("geometric", lambda x: 0.1 ** x)])
def test_wsd_shapes(shape, x_to_rate):
    s = S.wsd(1.0, 200, decay_start=100, floor=0.1, shape=shape, warmup=10)
    r = s.rates(201)
    np.testing.assert_array_equal(r[9:101], 1.0)                  # the rate at decay_start: peak
    x = np.arange(100, 201) / 100 - 1.0
    np.testing.assert_allclose(r[100:], np.minimum(x_to_rate(np.minimum(x, 1)), 1.0), rtol=1e-14)
    assert r[200] == pytest.approx(0.1, rel=1e-15)
    assert r[150] == pytest.approx(x_to_rate(0.5), rel=1e-15)


def test_wsd_fractional_decay_start_and_no_decay():
    r = S.wsd(1.0, 10, decay_start=5.5, floor=0.0).rates(11)
    x = (np.arange(11) - 5.5) / 4.5
    np.testing.assert_allclose(r, np.clip(1 - x, 0, 1), rtol=1e-14, atol=1e-16)
    flat = S.wsd(1.0, 10, decay_start=10, floor=0.5)
    np.testing.assert_array_equal(flat.rates(), 1.0)
    np.testing.assert_array_equal(flat.rates(12)[10:], 0.5)


def test_step_boundaries_apply_from_their_step():
    r = S.step(1.0, 100, boundaries=(20, 60.5), values=(0.5, 0.0)).rates()
    np.testing.assert_array_equal(r[:20], 1.0)
    np.testing.assert_array_equal(r[20:61], 0.5)
    np.testing.assert_array_equal(r[61:], 0.0)
    s = S.step(PEAK, 16000, 8000, 9e-5)
    assert s.get("boundaries") == (8000,) and s.get("values") == (9e-5,)
    assert s.rates(16002)[-1] == 9e-5


def test_inverse_sqrt():
    r = S.inverse_sqrt(1e-3, 10000, 100).rates()
    assert r[99] == r[100] == 1e-3 and r[0] == 0
    assert r[400] == pytest.approx(5e-4, rel=1e-15) and r[2500] == pytest.approx(2e-4, rel=1e-15)
    assert S.inverse_sqrt(1e-3, 100, 4).rates(1601)[1600] == pytest.approx(1e-3 / 20, rel=1e-15)


def test_power():
    s = S.power(0.02, 1000, a=4.0, b=0.5, tokens_per_step=1e4)
    r = s.rates()
    assert r[0] == 0.02                                # n = 0: capped at the peak
    n = np.arange(1, 1000) * 1e4
    np.testing.assert_allclose(r[1:], np.minimum(0.02, 4.0 / np.sqrt(n)), rtol=1e-15)
    assert r[100] == pytest.approx(4.0 / 1000, rel=1e-15)
    d = S.power(0.02, 1000, 4.0, 0.5, 1e4, decay_start=800, floor=1e-4, shape="linear")
    rd = d.rates(1001)
    np.testing.assert_array_equal(rd[:801], r[:801])
    hi = 4.0 / np.sqrt(800 * 1e4)
    assert rd[900] == pytest.approx(1e-4 + (hi - 1e-4) / 2, rel=1e-14)
    assert rd[1000] == pytest.approx(1e-4, rel=1e-15)


def test_at_matches_rates_and_keeps_shape():
    for s in every_kind():
        r = s.rates()
        idx = np.array([[0, 1], [s.total // 2, s.total - 1]])
        np.testing.assert_array_equal(s.at(idx), r[idx])
        assert s.at(3).shape == ()
    assert S.linear(1.0, 10).at(2.5) == pytest.approx(0.75)


# --- from_log ----------------------------------------------------------------------------------

def test_from_log_fills_gaps_linearly_and_says_so():
    s = S.from_log([0, 1, 4, 5, 8], [1.0, 1.0, 0.4, 0.4, 0.1])
    assert s.kind == "array" and s.total == 9 and s.warmup == 0
    np.testing.assert_allclose(s.rates(), [1, 1, 0.8, 0.6, 0.4, 0.4, 0.3, 0.2, 0.1], rtol=1e-15)
    assert s.notes == ("filled 4 missing steps by linear interpolation between logged rates "
                       "(2 gaps; the first: steps 2..3)",)
    assert s.spec == str(s) == "array:9 steps"
    np.testing.assert_array_equal(s.at([0, 8, 20]), [1.0, 0.1, 0.1])


def test_from_log_without_gaps_and_with_a_longer_total():
    s = S.from_log(np.arange(3), [3.0, 2.0, 1.0])
    assert s.notes == ()
    t = S.from_log(np.arange(3), [3.0, 2.0, 1.0], total=5)
    np.testing.assert_array_equal(t.rates(), [3, 2, 1, 1, 1])
    assert t.notes == ("carried the last logged rate, 1.0 at step 2, on through step 4 (2 steps) "
                       "to reach total=5",)
    np.testing.assert_array_equal(s.rates(5), t.rates())


def test_from_log_is_hashable_by_content():
    a = S.from_log([0, 2], [1.0, 0.0])
    b = S.from_log(np.array([0.0, 1.0, 2.0]), np.array([1.0, 0.5, -0.0]))
    assert a == b and hash(a) == hash(b) and len({a, b}) == 1
    assert a != S.from_log([0, 2], [1.0, 0.1])
    r = a.rates()
    r[0] = 9.0                                             # a copy: the schedule is unchanged
    assert a.rates()[0] == 1.0
    assert not dict(a.params)["rates"].array.flags.writeable


@pytest.mark.parametrize("steps, lrs, message", [
    ([0, 1, 1, 2], [1, 1, 1, 1], "step 1 at position 2 repeats the step at position 1"),
    ([0, 2, 1], [1, 1, 1], "step 1 at position 2 comes after step 2 at position 1; .*sort"),
    ([0, -1], [1, 1], r"step -1 at position 1 is not a whole number >= 0"),
    ([0, 1.5], [1, 1], r"step 1.5 at position 1 is not a whole number"),
    ([0, np.nan], [1, 1], r"step nan at position 1"),
    ([0, 1, 2], [1, np.nan, 1], r"learning rate at step 1 \(position 1\) is nan"),
    ([0, 1, 2], [1, 1, -1e-4], r"learning rate at step 2 \(position 2\) is -0.0001"),
    ([0, 1, 2], [1, np.inf, 1], r"is inf; rates must be finite"),
    ([0, 1], [1, 1, 1], "2 steps but 3 learning rates"),
    ([], [], "the log is empty"),
    ([5, 6], [1, 1], r"starts at step 5, not 0, so the rates of steps 0..4 are unknown"),
    ([[0, 1]], [[1, 1]], "must be 1-D"),
    (["a", "b"], [1, 1], "steps must be numbers"),
    ([0, 10**10], [1, 1], "are these token counts"),
])
def test_from_log_errors(steps, lrs, message):
    with pytest.raises(DataError, match=message):
        S.from_log(steps, lrs)


def test_from_log_total_errors():
    with pytest.raises(ValueError, match=r"total=2 ends before the last logged step 4; give "
                                         r"total >= 5"):
        S.from_log([0, 4], [1, 1], total=2)
    with pytest.raises(ValueError, match=r"total=2.5 must be a positive whole number"):
        S.from_log([0, 1], [1, 1], total=2.5)


# --- spec and parse ----------------------------------------------------------------------------

@pytest.mark.parametrize("schedule", every_kind(), ids=str)
def test_spec_round_trips(schedule):
    back = S.parse(schedule.spec)
    assert back == schedule and hash(back) == hash(schedule) and str(back) == schedule.spec
    np.testing.assert_array_equal(back.rates(), schedule.rates())


def test_spec_strings():
    assert (S.cosine(PEAK, 24000, floor=3e-5, warmup=W).spec
            == "cosine:peak=0.0003,floor=3e-5,warmup=2160,total=24000")
    assert (S.wsd(PEAK, 24000, 20000, 3e-5, "geometric", W).spec
            == "wsd:peak=0.0003,floor=3e-5,warmup=2160,decay_start=20000,total=24000,"
               "shape=geometric")
    assert (S.step(PEAK, 16000, (8000, 12000), (9e-5, 3e-5)).spec
            == "step:peak=0.0003,total=16000,boundaries=8000/12000,values=9e-5/3e-5")
    assert S.constant(1, 10).spec == "constant:peak=1.0,total=10"
    assert (S.power(0.02, 100, 4.0, 0.51, 2**21, decay_start=90, floor=1e-4).spec
            == "power:peak=0.02,floor=0.0001,decay_start=90,total=100,a=4.0,b=0.51,"
               "tokens_per_step=2097152")
    assert S.inverse_sqrt(1e-3, 100, 10, warmup_from=1e-4).spec == (
        "inverse_sqrt:peak=0.001,warmup=10,warmup_from=0.0001,total=100")


def test_parse_examples_blanks_order_and_whole_floats():
    a = S.parse("wsd:peak=3e-4,warmup=2160,decay_start=20000,total=24000,shape=geometric,"
                "floor=3e-5")
    assert a == S.wsd(3e-4, 24000, 20000, floor=3e-5, shape="geometric", warmup=2160)
    b = S.parse(" cosine : total = 2.4e4 , floor=3e-5, peak=3e-4,warmup=2160 ")
    assert b == S.cosine(3e-4, 24000, 3e-5, 2160) and b.total == 24000
    assert isinstance(b.total, int) and isinstance(b.warmup, int)
    assert S.parse("WSD:peak=1,total=10,decay_start=5,shape=Cosine").get("shape") == "cosine"
    assert S.parse("step:peak=1,total=10,boundaries=5,values=0.5") == S.step(1.0, 10, [5], [0.5])
    assert {a: 1, b: 2}[S.parse(a.spec)] == 1


@pytest.mark.parametrize("spec, message", [
    ("cosin:peak=1,total=10", r"unknown schedule kind 'cosin' .*did you mean 'cosine'.*valid "
                              r"kinds: constant, cosine, linear, wsd, step, inverse_sqrt, power"),
    ("array:100 steps", r"cannot be rebuilt from its spec; use from_log\(steps, lrs\)"),
    ("cosine:peak=1,total=10,flor=0.1", r"unknown key 'flor' for cosine \(did you mean 'floor'"
                                        r"\?\); valid keys: warmup, peak, total, floor, "
                                        r"warmup_from"),
    ("cosine:peak=1,total=10,decay_start=5", r"unknown key 'decay_start' for cosine"),
    ("wsd:peak=1,total=10", r"lacks decay_start; a wsd schedule needs peak, total, decay_start"),
    ("step:peak=1", r"lacks total, boundaries, values"),
    ("inverse_sqrt:peak=1,total=10", r"lacks warmup"),
    ("constant", r"lacks peak, total"),
    ("cosine:peak=1,peak=2,total=10", r"gives peak twice \(peak=1 and peak=2\)"),
    ("cosine:peak,total=10", r"'peak' is not key=value"),
    ("cosine:peak=3e-4x,total=10", r"peak='3e-4x' is not a number"),
    ("step:peak=1,total=10,boundaries=5;6,values=1/2", r"boundaries='5;6' is not a number list"),
    ("cosine:peak=1,total=10,warmup=2.5", r"warmup=2.5 must be a non-negative whole number"),
])
def test_parse_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        S.parse(spec)


def test_parse_needs_a_string():
    with pytest.raises(ValueError, match="a schedule spec string is needed, not int"):
        S.parse(3)


# --- every check -------------------------------------------------------------------------------

@pytest.mark.parametrize("make, message", [
    (lambda: S.constant(0.0, 10), r"peak=0.0 must be > 0"),
    (lambda: S.constant(-1e-3, 10), r"peak=-0.001 must be > 0"),
    (lambda: S.constant(np.nan, 10), r"peak=nan must be finite"),
    (lambda: S.cosine(np.inf, 10), r"peak=inf must be finite"),
    (lambda: S.constant("3e-4", 10), r"peak='3e-4' must be a number"),
    (lambda: S.cosine(1e-3, 10, floor=-1e-5), r"floor=-1e-5 must lie between 0 and peak=0.001"),
    (lambda: S.linear(1e-3, 10, floor=2e-3), r"floor=0.002 must lie between 0 and peak=0.001"),
    (lambda: S.wsd(1e-3, 10, decay_start=11), r"decay_start=11 must lie between warmup=0 and "
                                              r"total=10"),
    (lambda: S.wsd(1e-3, 10, decay_start=2, warmup=3), r"decay_start=2 must lie between "
                                                       r"warmup=3"),
    (lambda: S.wsd(1e-3, 10, 5, shape="exp"), r"unknown shape 'exp'; valid shapes: linear, "
                                              r"cosine, 1-sqrt, geometric"),
    (lambda: S.wsd(1e-3, 10, 5, shape="geometric"), r"never reaches floor=0; give floor > 0"),
    (lambda: S.cosine(1e-3, 10, warmup=10), r"warmup=10 must be below total=10"),
    (lambda: S.cosine(1e-3, 10, warmup=-1), r"warmup=-1 must be a non-negative whole number"),
    (lambda: S.cosine(1e-3, 0), r"total=0 must be a positive whole number"),
    (lambda: S.cosine(1e-3, -5), r"total=-5 must be a positive whole number"),
    (lambda: S.cosine(1e-3, 10.5), r"total=10.5 must be a positive whole number"),
    (lambda: S.cosine(1e-3, True), r"total=True must be a positive whole number"),
    (lambda: S.constant(1e-3, 10, warmup_from=1e-4), r"warmup_from=0.0001 has no effect with "
                                                     r"warmup=0"),
    (lambda: S.constant(1e-3, 10, 5, warmup_from=2e-3), r"warmup_from=0.002 must lie between 0 "
                                                        r"and peak=0.001"),
    (lambda: S.inverse_sqrt(1e-3, 10, 0), r"warmup=0 must be >= 1"),
    (lambda: S.step(1e-3, 10, (2, 4), (1e-4,)), r"2 boundaries but 1 values"),
    (lambda: S.step(1e-3, 10, (), ()), r"0 boundaries but 0 values"),
    (lambda: S.step(1e-3, 10, (4, 2), (1e-4, 1e-5)), r"boundaries must increase, but 2 "
                                                     r"\(boundary 1\) follows 4"),
    (lambda: S.step(1e-3, 10, 10, 1e-4), r"boundary 10 must lie between warmup=0 and total=10"),
    (lambda: S.step(1e-3, 10, 2, 1e-4, warmup=3), r"boundary 2 must lie between warmup=3"),
    (lambda: S.step(1e-3, 10, 5, -1e-4), r"values\[0\]=-0.0001 must be >= 0"),
    (lambda: S.step(1e-3, 10, 5, np.nan), r"values=nan must be finite"),
    (lambda: S.power(1e-2, 10, 0.0, 0.5, 1e4), r"a=0.0 must be > 0"),
    (lambda: S.power(1e-2, 10, 1.0, -0.5, 1e4), r"b=-0.5 must be > 0"),
    (lambda: S.power(1e-2, 10, 1.0, 0.5, 0), r"tokens_per_step=0 must be > 0"),
    (lambda: S.power(1e-2, 10, 1.0, 0.5, 1e4, floor=1e-4), r"floor=0.0001 applies to a "
                                                           r"cooldown; give decay_start too"),
    (lambda: S.power(1e-2, 10, 1.0, 0.5, 1e4, decay_start=4, floor=9e-3),
     r"floor=0.009 must lie between 0 and the Power rate at decay_start=4, 0.005"),
    (lambda: S.power(1e-2, 10, 1.0, 0.5, 1e4, decay_start=4, shape="geometric"),
     r"never reaches floor=0"),
    (lambda: S.Schedule("exponential", ()), r"unknown schedule kind 'exponential'; valid kinds"),
    (lambda: S.Schedule("cosine", (("peak", 1.0), ("total", 5), ("warmup", 2))),
     r"give warmup as Schedule\(..., warmup=2\)"),
    (lambda: S.Schedule("cosine", (("peak", 1.0), ("total", 5), ("floors", 0.1))),
     r"unknown parameter 'floors' \(did you mean 'floor'\?\)"),
    (lambda: S.Schedule("cosine", (("peak", 1.0), ("total", 5), ("peak", 2.0))),
     r"parameter 'peak' given twice"),
    (lambda: S.Schedule("cosine", (("peak", 1.0),)), r"cosine schedule lacks total"),
    (lambda: S.Schedule("cosine", 5), r"params must be \(name, value\) pairs"),
    (lambda: S.Schedule("array", (("rates", [1.0, -1.0]),)), r"the rate at step 1 is -1.0"),
    (lambda: S.Schedule("array", (("rates", [1.0]),), warmup=2), r"warmup=2 does not apply"),
])
def test_every_check(make, message):
    with pytest.raises(ValueError, match=message):
        make()


def test_rates_and_at_refuse_bad_steps():
    s = S.cosine(1e-3, 10)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match=re.escape(f"total={bad!r} must be a positive whole")):
            s.rates(bad)
    with pytest.raises(ValueError, match=r"step -1.0 \(position 1\) is not a finite step >= 0"):
        s.at([0, -1])
    with pytest.raises(ValueError, match=r"step nan \(position 0\)"):
        s.at(np.nan)


def test_schedules_are_frozen_and_hashable():
    a = S.parse("wsd:peak=3e-4,decay_start=2e4,total=24000")
    b = S.wsd(3e-4, 24000, 20000.0)
    assert a == b and hash(a) == hash(b) and a.get("decay_start") == 20000
    assert len({*every_kind(), *every_kind()}) == len(every_kind())
    with pytest.raises(AttributeError):
        a.kind = "cosine"


def test_long_schedules_are_vectorised():
    """100,000 steps in one numpy pass (about 1-2 ms here; timed in the report, not asserted)."""
    for s in (S.cosine(PEAK, 100_000, 3e-5, warmup=1000),
              S.wsd(PEAK, 100_000, 80_000, 3e-5, "1-sqrt", warmup=1000)):
        r = s.rates()
        assert r.shape == (100_000,) and np.all(np.isfinite(r)) and r.max() == PEAK


# --- reference curves --------------------------------------------------------------------------

def mpl_schedule(name: str) -> S.Schedule:
    """The schedule behind one official multi-power-law curve (Luo et al. 2025)."""
    kind, _, rest = name.partition("_")
    if kind == "constant":
        return S.constant(PEAK, int(rest), warmup=W)
    if kind == "cosine":
        return S.cosine(PEAK, int(rest), floor=3e-5, warmup=W)
    if kind == "wsdcon":                        # two stages: K·1e-5 from step 8,000 to 16,000
        return S.step(PEAK, 16000, 8000, int(rest) * 1e-5, warmup=W)
    shape = {"wsd": "geometric", "wsdld": "linear"}[kind]
    return S.wsd(PEAK, 24000, 20000, floor=3e-5, shape=shape, warmup=W)


@pytest.mark.parametrize("size, name", [
    pytest.param(size, name, marks=requires_dataset(MPL.format(size=size, name=name)))
    for size in (25, 100, 400) for name in MPL_NAMES])
def test_official_multi_power_law_schedules(size, name):
    log = read_csv(MPL.format(size=size, name=name))
    s = mpl_schedule(name)
    assert log["step"].max() < s.total and log["step"].min() >= W
    np.testing.assert_allclose(s.rates()[log["step"]], log["lr"], rtol=2e-15, atol=0)
    np.testing.assert_allclose(s.at(log["step"]), log["lr"], rtol=2e-15, atol=0)


COURSE_PARAMETRIC = {                           # peak 1e-3, floor 1e-4, no warmup, floor at 33,907
    "cosine": S.cosine(1e-3, 33907, floor=1e-4),
    "wsd": S.wsd(1e-3, 33907, decay_start=0.8 * 33907, floor=1e-4, shape="geometric"),
    "811": S.step(1e-3, 33907, boundaries=(0.8 * 33907, 0.9 * 33907),
                  values=(1e-3 / np.sqrt(10), 1e-4)),
}


@pytest.mark.parametrize("name", [
    pytest.param(name, marks=requires_dataset(COURSE.format(name=name)))
    for name in ("cosine", "wsd", "811")])
def test_course_runs_from_log(name):
    log = read_csv(COURSE.format(name=name))
    s = S.from_log(log["step"], log["lr"])
    assert s.total == 33908 and log["step"][-1] == 33907
    np.testing.assert_array_equal(s.rates()[log["step"]], log["lr"])
    missing = sorted(set(range(33908)) - set(log["step"].tolist()))
    assert missing == COURSE_MISSING[name]
    if missing:
        assert s.notes == (f"filled 1 missing step by linear interpolation between logged rates "
                           f"(1 gap; the first: step {missing[0]:,})",)
    else:
        assert s.notes == ()
    # The log is the parametric schedule, run one step past its total (step 33,907 at the floor):
    # exact at the logged steps, and the filled step within 3e-9 of it.
    p = COURSE_PARAMETRIC[name].rates(33908)
    np.testing.assert_allclose(p[log["step"]], log["lr"], rtol=4e-15, atol=0)
    np.testing.assert_allclose(s.rates(), p, rtol=3e-9, atol=0)
