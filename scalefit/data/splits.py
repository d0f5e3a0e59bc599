"""Hold-out rules for backtesting a scaling law: fit on a training part, predict a test part.

Pure numpy. Every rule takes the points as ``inputs`` (name -> 1-D float array, e.g. N and D)
and, where it needs runs, ``group`` (the integer run of each point, 0..n_runs-1), and returns a
:class:`Split`: two boolean masks that never overlap (points in neither are left out of both),
and the rule in words with its numbers. Every threshold is inclusive: a point exactly at a
test threshold goes to the test side.

Rules:

- ``largest(inputs, k=1, by="N")``: test = the points at the k largest distinct values of ``by``;
  train = the rest.
- ``above(inputs, by, threshold, train_max=None)``: test = ``by >= threshold``; train =
  ``by < threshold``, or with ``train_max`` only ``by <= train_max`` (points between are left out,
  e.g. Farseer's S3 split: train D <= 9.05e10, test D >= 1.28e11).
- ``top_level(inputs, by="C", ratio=1.5)``: test = the top scale level, ``by >= max(by) / ratio``.
- ``run_tail(inputs, group, fraction=0.3, by="D")``: test = the last ``fraction`` of each run's
  points ordered by ``by``; train = each run's earlier points.
- ``hitchhiker(inputs, group=None, ...)``: the protocol of Choshen, Zhang & Andreas (2024), "A
  Hitchhiker's Guide to Scaling Law Estimation": train = the checkpoints of every model smaller
  than the largest with at least 10B tokens; test = the last 30% of the largest model's.
- ``boundary_sweep(inputs, by="N")``: for each size x below the largest, train on ``by <= x`` and
  test on the largest.

``by="C"`` works without a C input when N and D are inputs: C = 6·N·D, and the rule says so.
``parse`` reads a rule from a short string (for the CLI); ``split`` is the one entry point: it
takes a string, a rule, a callable or a boolean test mask, and refuses a split with an empty
side, or with no more training points than the law has free parameters.
"""

from __future__ import annotations

import inspect
import math
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from scalefit.errors import DataError

__all__ = ["FORMS", "Rule", "Split", "above", "boundary_sweep", "hitchhiker", "largest", "parse",
           "run_tail", "split", "top_level"]

FORMS = ("'largest', 'largest:K' (the K largest N), 'X>=T' (e.g. 'N>=6e9': test X >= T, train "
         "the rest), 'X>=T,X<=U' (test X >= T, train X <= U, the points between left out), "
         "'top', 'top:RATIO' (the top C level: C >= max C / RATIO, default 1.5), 'tail', "
         "'tail:FRACTION' (the last FRACTION of each run's points by D, default 0.3), "
         "'hitchhiker' (Choshen et al. 2024)")

_OPS = {">=": operator.ge, "<=": operator.le, "<": operator.lt, ">": operator.gt}
_SIDES = {"test": "test", "train": "training"}


@dataclass(frozen=True, eq=False)
class Split:
    """Which points a backtest fits (train) and which it predicts (test).

    Attributes:
        train: boolean mask of the points fitted.
        test: boolean mask of the points predicted; never overlaps ``train``. Points in neither
            are left out of both.
        rule: the rule in words with its numbers, e.g. "test: N >= 1e+09; train: N < 1e+09".
        test_rule: the test side's condition alone, e.g. "N >= 1e+09" (used by ``describe``).
        train_rule: the training side's condition alone.
        left_out_rule: which points are left out of both, in words ("" when none can be).
        hints: why a side may be empty and the fix, per side ("test", "train"), as
            ``(reason, fix)``; ``check`` quotes them.

    The masks are stored as read-only copies.
    """

    train: np.ndarray
    test: np.ndarray
    rule: str
    test_rule: str = ""
    train_rule: str = ""
    left_out_rule: str = ""
    hints: Mapping[str, tuple[str, str]] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        masks = {}
        for side in ("train", "test"):
            m = np.asarray(getattr(self, side))
            if m.dtype != np.bool_ or m.ndim != 1:
                raise ValueError(f"Split.{side} must be a 1-D boolean mask, not an array of "
                                 f"dtype {m.dtype} and shape {m.shape}.")
            masks[side] = np.array(m, dtype=bool)
            masks[side].setflags(write=False)
        if len(masks["train"]) != len(masks["test"]):
            raise ValueError(f"Split.train has {len(masks['train'])} points but Split.test has "
                             f"{len(masks['test'])}; give both masks over the same points.")
        both = np.flatnonzero(masks["train"] & masks["test"])
        if len(both):
            raise ValueError(f"Split.train and Split.test overlap at {_pts(len(both))} (e.g. "
                             f"point {both[0]}); a point is fitted or predicted, never both.")
        object.__setattr__(self, "train", masks["train"])
        object.__setattr__(self, "test", masks["test"])
        object.__setattr__(self, "hints", MappingProxyType(dict(self.hints)))

    @property
    def n_train(self) -> int:
        """The number of points fitted."""
        return int(self.train.sum())

    @property
    def n_test(self) -> int:
        """The number of points predicted."""
        return int(self.test.sum())

    @property
    def n_left_out(self) -> int:
        """The number of points in neither side."""
        return len(self.train) - self.n_train - self.n_test

    def describe(self) -> str:
        """One line: each side's condition and how many points it got, and the points left out.

        E.g. "test: N >= 6.37e+09 (12 points); train: the other 329 points".
        """
        out = f"test: {self.test_rule or 'the held-out points'} ({_pts(self.n_test)}); "
        if not self.n_left_out:
            other = "the other point" if self.n_train == 1 else f"the other {self.n_train} points"
            return out + f"train: {other}"
        out += f"train: {self.train_rule or 'the training points'} ({_pts(self.n_train)}); "
        why = f" ({self.left_out_rule})" if self.left_out_rule else ""
        return out + f"left out: {_pts(self.n_left_out)}{why}"

    def check(self, n_free: int | None = None, holdout: str | None = None) -> Split:
        """Refuse a split a backtest cannot use; returns the split itself when it can.

        Args:
            n_free: the law's number of free parameters: the training side must hold more points.
            holdout: how messages name the hold-out (default: the rule).

        Raises:
            DataError: a side is empty, or the training side has no more than ``n_free`` points.
            ValueError: ``n_free`` is not a non-negative integer.
        """
        name = self.rule if holdout is None else holdout
        n = len(self.train)
        for side, count in (("test", self.n_test), ("train", self.n_train)):
            if count:
                continue
            reason, fix = self.hints.get(side, (
                f"{self.n_test} test, {self.n_train} training and {self.n_left_out} left-out "
                f"points of {n}", "Choose a rule that puts points on both sides."))
            raise DataError(f"holdout {name!r} leaves no {_SIDES[side]} points ({reason}). {fix}")
        if n_free is not None:
            if not _is_count(n_free, 0):
                raise ValueError(f"n_free must be a non-negative integer (the law's free "
                                 f"parameters), not {n_free!r}.")
            if self.n_train <= n_free:
                noun = "training point" + ("" if self.n_train == 1 else "s")
                raise DataError(f"holdout {name!r} leaves {self.n_train} {noun} but the law has "
                                f"{n_free} free parameters; a fit needs more points than "
                                f"parameters. Hold out fewer points, or fit a law with fewer "
                                f"parameters. The split: {self.describe()}.")
        return self


@dataclass(frozen=True)
class Rule:
    """A hold-out rule read by :func:`parse`: ``rule(inputs, group)`` gives its :class:`Split`.

    Attributes:
        spec: the string it was read from, blanks removed (e.g. "N>=6e9").
        make: the function ``(inputs, group) -> Split``.
    """

    spec: str
    make: Callable[[Mapping[str, np.ndarray], np.ndarray | None], Split] = field(repr=False)

    def __call__(self, inputs: Mapping[str, np.ndarray], group: np.ndarray | None = None) -> Split:
        return self.make(inputs, group)

    def __str__(self) -> str:
        return self.spec


# --- the rules ---------------------------------------------------------------------------------

def largest(inputs: Mapping[str, np.ndarray], k: int = 1, by: str = "N") -> Split:
    """Hold out the points at the ``k`` largest distinct values of ``by``; train on the rest.

    Args:
        inputs: name -> 1-D array of each point's value.
        k: how many of the largest distinct values to hold out (1 or more).
        by: the input to rank by ("C" may be derived as 6·N·D).

    Raises:
        ValueError: ``k`` is not a positive integer, or ``by`` names no input.
        DataError: the inputs are malformed, or ``by`` holds a non-finite value.
    """
    if not _is_count(k, 1):
        raise ValueError(f"largest: k must be a positive integer (how many of the largest {by} "
                         f"values to hold out), not {k!r}.")
    inputs, n = _arrays(inputs)
    x, label = _column(inputs, by)
    levels = np.unique(x)
    top = levels[-k:]
    test = x >= top[0]
    what = f"the largest {label}" if k == 1 else f"the {k} largest {label}"
    test_rule = f"{what}, {_values(top)}"
    train_rule = f"the smaller {by}"
    if len(levels) == 1:
        hint = (f"all {_pts(n)} have the same {by}, {_g(levels[0])}",
                f"Hold out by another input (e.g. 'D>=T'), or add points at other {by}.")
    else:
        hint = (f"{by} takes only {len(levels)} distinct values, so the {k} largest are all the "
                f"points", f"Use largest:{len(levels) - 1} or fewer.")
    return Split(~test, test, f"test: {test_rule}; train: {train_rule}", test_rule, train_rule,
                 hints={"train": hint})


def above(inputs: Mapping[str, np.ndarray], by: str, threshold: float, *,
          train_max: float | None = None) -> Split:
    """Hold out the points with ``by >= threshold``; train on ``by < threshold``.

    Args:
        inputs: name -> 1-D array of each point's value.
        by: the input compared ("C" may be derived as 6·N·D).
        threshold: the smallest value held out (inclusive).
        train_max: if given, train only on ``by <= train_max`` (inclusive) and leave out the
            points between, e.g. Farseer's S3 split: ``above(x, "D", 1.28e11, train_max=9.05e10)``.

    Raises:
        ValueError: a bound is not finite, ``train_max >= threshold``, or ``by`` names no input.
        DataError: the inputs are malformed, or ``by`` holds a non-finite value.
    """
    t = _finite(threshold, "threshold")
    inputs, n = _arrays(inputs)
    x, label = _column(inputs, by)
    test = x >= t
    test_rule = f"{label} >= {_num(t)}"
    hints = {"test": (f"all {_pts(n)} have {by} < {_num(t)}; largest {by} {_g(x.max())}",
                      f"Use a threshold at or below the largest {by}.")}
    if train_max is None:
        train, train_rule, left_rule = x < t, f"{by} < {_num(t)}", ""
        hints["train"] = (f"all {_pts(n)} have {by} >= {_num(t)}; smallest {by} {_g(x.min())}",
                          f"Use a threshold above the smallest {by}.")
    else:
        u = _finite(train_max, "train_max")
        if u >= t:
            raise ValueError(f"train_max ({_num(u)}) must be below the test threshold "
                             f"({_num(t)}): the points between would be in both sides.")
        train, train_rule = x <= u, f"{by} <= {_num(u)}"
        left_rule = f"{_num(u)} < {by} < {_num(t)}"
        hints["train"] = (f"no point has {by} <= {_num(u)}; smallest {by} {_g(x.min())}",
                          f"Raise train_max to at least the smallest {by}.")
    rule = f"test: {test_rule}; train: {train_rule}" + (f"; left out: {left_rule}"
                                                        if left_rule else "")
    return Split(train, test, rule, test_rule, train_rule, left_rule, hints)


def top_level(inputs: Mapping[str, np.ndarray], by: str = "C", ratio: float = 1.5) -> Split:
    """Hold out the top scale level: the points with ``by >= max(by) / ratio``; train on the rest.

    Args:
        inputs: name -> 1-D array of each point's value.
        by: the scale ("C" may be derived as 6·N·D).
        ratio: how far below the largest value the top level reaches (1 or more; 1 holds out
            only the points at the largest value).

    Raises:
        ValueError: ``ratio`` is below 1 or not finite, or ``by`` names no input.
        DataError: the inputs are malformed, or ``by`` holds a non-finite value.
    """
    r = _finite(ratio, "ratio")
    if r < 1:
        raise ValueError(f"top_level: ratio must be 1 or more (the top level is max {by} / "
                         f"ratio and up), not {_num(r)}.")
    inputs, n = _arrays(inputs)
    x, label = _column(inputs, by)
    top = float(x.max())
    t = top / r
    test = x >= t
    cut = _cut(t, x, ">=")
    test_rule = f"the top {by} level, {label} >= {cut} = largest / {_num(r)}"
    train_rule = f"{by} < {cut}"
    hint = (f"all {_pts(n)} are within a factor {_num(r)} of the largest {by}, {_g(top)}",
            "Use a ratio closer to 1, or another rule (e.g. largest).")
    return Split(~test, test, f"test: {test_rule}; train: {train_rule}", test_rule, train_rule,
                 hints={"train": hint})


def run_tail(inputs: Mapping[str, np.ndarray], group: np.ndarray | None,
             fraction: float = 0.3, by: str = "D") -> Split:
    """Hold out the last ``fraction`` of each run's points ordered by ``by``; train on the rest.

    A run of m >= 2 points holds out round(fraction·m) points (halves rounded up), at least 1
    and at most m - 1; the test side starts at that point's ``by`` and, thresholds being
    inclusive, takes every point of the run at or beyond it (ties at the cut go to test). A run
    of a single point stays in train.

    Args:
        inputs: name -> 1-D array of each point's value.
        group: the integer run of each point (required).
        fraction: the share of each run's points held out, in (0, 1).
        by: the input that orders a run's points (default D, the tokens seen).

    Raises:
        DataError: ``group`` is None or malformed, the inputs are malformed, or ``by`` holds a
            non-finite value.
        ValueError: ``fraction`` is not in (0, 1), or ``by`` names no input.
    """
    f = _fraction(fraction, "run_tail: fraction")
    inputs, n = _arrays(inputs)
    runs = _group(group, n, "run_tail")
    x, label = _column(inputs, by)
    test = _tails(x, runs, np.ones(n, bool), f, single=False)
    n_runs = len(np.unique(runs))
    test_rule = f"the last {_pct(f)} of each run's points by {label}"
    train_rule = "each run's earlier points"
    rule = (f"test: {test_rule} (at least 1 per run of 2 or more points, ties at the cut "
            f"included); train: {train_rule} and the runs of a single point")
    hints = {"test": (f"each of the {n_runs} runs has a single point",
                      "run_tail needs runs of several points (checkpoints); use another rule, "
                      "e.g. largest or 'N>=T'."),
             "train": (f"the points of each run share one {by} value",
                       f"Order the runs by another input than {by}.")}
    return Split(~test, test, rule, test_rule, train_rule, hints=hints)


def hitchhiker(inputs: Mapping[str, np.ndarray], group: np.ndarray | None = None,
               by_size: str = "N", by_tokens: str = "D", min_tokens: float = 1e10,
               tail: float = 0.3) -> Split:
    """The hold-out of Choshen, Zhang & Andreas (2024), "A Hitchhiker's Guide to Scaling Law
    Estimation", for model families with intermediate checkpoints.

    Train = the checkpoints of every model smaller than the largest (``by_size`` < its maximum)
    with ``by_tokens >= min_tokens`` (inclusive; early checkpoints are noisy); test = the last
    ``tail`` of the largest model's checkpoints by ``by_tokens`` (round(tail·m) of its m, halves
    rounded up, at least 1, ties at the cut included); the largest model's earlier checkpoints
    and the smaller models' before ``min_tokens`` are left out of both.

    Args:
        inputs: name -> 1-D array of each point's value.
        group: the integer run of each point; the tail is taken per run of the largest model.
            None: the checkpoints of one model are the points with the same ``by_size``.
        by_size: the model size (default N).
        by_tokens: the tokens seen at each checkpoint (default D).
        min_tokens: the fewest tokens a training checkpoint has seen (default 1e10).
        tail: the share of the largest model's checkpoints held out, in (0, 1).

    Raises:
        ValueError: ``tail`` is not in (0, 1), ``min_tokens`` is not finite, or an input is
            unknown.
        DataError: the inputs or ``group`` are malformed, or an input holds a non-finite value.
    """
    f = _fraction(tail, "hitchhiker: tail")
    m = _finite(min_tokens, "min_tokens")
    inputs, n = _arrays(inputs)
    runs = _group(group, n)
    size, slabel = _column(inputs, by_size)
    tokens, tlabel = _column(inputs, by_tokens)
    top = float(size.max())
    big = size == top
    train = ~big & (tokens >= m)
    test = _tails(tokens, np.zeros(n, int) if runs is None else runs, big, f, single=True)
    test_rule = (f"the last {_pct(f)} of the largest model's checkpoints by {tlabel}, "
                 f"{slabel} {_g(top)}")
    train_rule = f"the smaller models' checkpoints with {by_tokens} >= {_num(m)}"
    left_rule = (f"the largest model's earlier checkpoints and the smaller models' with "
                 f"{by_tokens} < {_num(m)}")
    rule = (f"Hitchhiker's guide (Choshen, Zhang & Andreas 2024): test: {test_rule}; "
            f"train: {train_rule}; left out: {left_rule}")
    if big.all():
        hint = (f"all {_pts(n)} have the same {by_size}, {_g(top)}",
                f"The Hitchhiker split needs models of several {by_size}.")
    else:
        hint = (f"no smaller model has a checkpoint with {by_tokens} >= {_num(m)}; they reach "
                f"{by_tokens} {_g(tokens[~big].max())}", "Lower min_tokens.")
    return Split(train, test, rule, test_rule, train_rule, left_rule, {"train": hint})


def boundary_sweep(inputs: Mapping[str, np.ndarray], by: str = "N", *,
                   min_train: int = 0) -> list[Split]:
    """The boundary sweep: for each distinct ``by`` value x below the largest, in increasing
    order, the split "train: by <= x; test: by == the largest" (the points between are left out),
    each worded as "test: the largest N, 6.37e+09; train: the 3 smallest N, up to 1.41e+08".

    Args:
        inputs: name -> 1-D array of each point's value.
        by: the input swept ("C" may be derived as 6·N·D).
        min_train: skip the x whose training side has no more than this many points (pass the
            law's number of free parameters).

    Returns:
        One Split per x kept; an empty list when ``by`` takes a single value.

    Raises:
        ValueError: ``min_train`` is not a non-negative integer, or ``by`` names no input.
        DataError: the inputs are malformed, or ``by`` holds a non-finite value.
    """
    if not _is_count(min_train, 0):
        raise ValueError(f"boundary_sweep: min_train must be a non-negative integer, "
                         f"not {min_train!r}.")
    inputs, n = _arrays(inputs)
    x, label = _column(inputs, by)
    levels = np.unique(x)
    test = x == levels[-1]
    test_rule = f"the largest {label}, {_g(levels[-1])}"
    out = []
    for i, v in enumerate(levels[:-1]):
        train = x <= v
        if train.sum() <= min_train:
            continue
        train_rule = (f"the smallest {label}, {_g(v)}" if i == 0
                      else f"the {i + 1} smallest {label}, up to {_g(v)}")
        left_rule = f"the {by} between" if i + 2 < len(levels) else ""
        rule = f"boundary sweep: test: {test_rule}; train: {train_rule}"
        rule += f"; left out: {left_rule}" if left_rule else ""
        out.append(Split(train, test, rule, test_rule, train_rule, left_rule))
    return out


# --- strings and the entry point ---------------------------------------------------------------

_KEYWORD = re.compile(r"^(largest|top|tail|hitchhiker)(?::(.*))?$", re.IGNORECASE)
_BOUND = re.compile(r"^([A-Za-z_]\w*)(>=|<=|=>|=<|>|<|==|=)(.+)$")


def parse(spec: str) -> Rule:
    """Read a hold-out rule from a short string (blanks ignored).

    Forms: "largest" and "largest:K" (``largest(k=K)``, by N); "X>=T" (``above(X, T)``);
    "X>=T,X<=U" or "X<=U,X>=T" (``above(X, T, train_max=U)``); "top" and "top:RATIO"
    (``top_level(by="C", ratio=RATIO)``); "tail" and "tail:FRACTION" (``run_tail(fraction=...)``,
    by D); "hitchhiker" (``hitchhiker()`` with its defaults).

    Raises:
        ValueError: the string is none of these forms, or its number is out of range; the
            message lists the valid forms. (Unknown input names are refused when the rule is
            applied, naming the inputs.)
    """
    if not isinstance(spec, str):
        raise ValueError(f"a hold-out rule string is needed, not {type(spec).__name__}; valid "
                         f"forms: {FORMS}.")
    s = "".join(spec.split())
    hit = _KEYWORD.match(s)
    if hit:
        return _keyword(s, hit.group(1).lower(), hit.group(2), spec)
    parts = s.split(",")
    bounds = [_BOUND.match(p) for p in parts]
    if not s or len(parts) > 2 or not all(bounds):
        raise ValueError(f"unknown holdout {spec!r}; valid forms: {FORMS}.")
    found: dict[str, tuple[str, float]] = {}
    for b in bounds:
        name, op, text = b.groups()
        if op in (">", "<"):
            raise ValueError(f"holdout {spec!r}: thresholds are inclusive; write {op}= "
                             f"({name}{op}={text}). Valid forms: {FORMS}.")
        if op not in (">=", "<="):
            raise ValueError(f"holdout {spec!r}: {op!r} is not a comparison a rule uses; write "
                             f"'>=' for the test side and '<=' for the training side. Valid "
                             f"forms: {FORMS}.")
        if op in found:
            raise ValueError(f"holdout {spec!r} gives {op} twice; give one '>=' (test) and at "
                             f"most one '<=' (train). Valid forms: {FORMS}.")
        found[op] = (name, _number(text, spec))
    if ">=" not in found:
        name, u = found["<="]
        raise ValueError(f"holdout {spec!r} names only the training side; add the test side, "
                         f"e.g. '{name}>=T,{name}<={_num(u)}', or hold out '{name}>=T' alone. "
                         f"Valid forms: {FORMS}.")
    by, t = found[">="]
    if "<=" not in found:
        return Rule(s, lambda inputs, group: above(inputs, by, t))
    other, u = found["<="]
    if other != by:
        raise ValueError(f"holdout {spec!r} bounds two inputs ({by} and {other}); both sides "
                         f"must be on one input, e.g. '{by}>=T,{by}<=U'.")
    if u >= t:
        raise ValueError(f"holdout {spec!r}: the training bound ({by}<={_num(u)}) must be below "
                         f"the test bound ({by}>={_num(t)}), or the sides would overlap.")
    return Rule(s, lambda inputs, group: above(inputs, by, t, train_max=u))


def split(inputs: Mapping[str, np.ndarray], group: np.ndarray | None,
          holdout: str | Rule | Split | Callable | np.ndarray, *,
          n_free: int | None = None) -> Split:
    """The split of a backtest, checked.

    Args:
        inputs: name -> 1-D array of each point's value.
        group: the integer run of each point, or None.
        holdout: a rule string (see :func:`parse`), a :class:`Rule`, a :class:`Split`, a
            callable returning a Split or a boolean test mask (called as ``f(inputs,
            group=group)`` when it has a ``group`` parameter, ``f(inputs, group)`` when it takes
            two arguments, else ``f(inputs)``; so ``largest`` or ``run_tail`` may be passed
            as they are), or a boolean test mask (train = the other points).
        n_free: the law's number of free parameters: the training side must hold more points.

    Raises:
        DataError: a side is empty, the training side has no more than ``n_free`` points, or the
            inputs or ``group`` are malformed.
        ValueError: an unknown rule string or input, or a mask that is not boolean with one
            value per point.
    """
    inputs, n = _arrays(inputs)
    if isinstance(holdout, str):
        name, out = holdout, parse(holdout)(inputs, group)
    elif isinstance(holdout, Split):
        name, out = None, holdout
    elif isinstance(holdout, Rule):
        name, out = holdout.spec, holdout(inputs, group)
    elif callable(holdout):
        name = getattr(holdout, "__name__", None)
        name = None if name in (None, "<lambda>") else name
        out = _call(holdout, inputs, group)
    else:
        name, out = None, holdout
    if not isinstance(out, Split):
        out = _mask_split(out, n)
    if len(out.train) != n:
        raise ValueError(f"holdout {name or out.rule!r} gives masks over {len(out.train)} "
                         f"points, but the inputs have {n}; give one value per point.")
    return out.check(n_free, name)


# --- helpers -----------------------------------------------------------------------------------

def _keyword(s: str, word: str, arg: str | None, spec: str) -> Rule:
    """The Rule of a keyword form ("largest:2", "top", "tail:0.3", "hitchhiker")."""
    if word == "hitchhiker":
        if arg is not None:
            raise ValueError(f"holdout {spec!r}: 'hitchhiker' takes no number (it holds out the "
                             f"last 30% of the largest model's checkpoints). Valid forms: {FORMS}.")
        return Rule(s, lambda inputs, group: hitchhiker(inputs, group))
    if word == "largest":
        k = 1 if arg is None else _number(arg, spec)
        if k != int(k) or k < 1:
            raise ValueError(f"holdout {spec!r}: K in 'largest:K' must be a positive integer. "
                             f"Valid forms: {FORMS}.")
        return Rule(s, lambda inputs, group: largest(inputs, k=int(k)))
    if word == "top":
        r = 1.5 if arg is None else _number(arg, spec)
        if r < 1:
            raise ValueError(f"holdout {spec!r}: RATIO in 'top:RATIO' must be 1 or more (the top "
                             f"level is C >= max C / RATIO). Valid forms: {FORMS}.")
        return Rule(s, lambda inputs, group: top_level(inputs, ratio=r))
    f = 0.3 if arg is None else _number(arg, spec)
    if not 0 < f < 1:
        raise ValueError(f"holdout {spec!r}: FRACTION in 'tail:FRACTION' must lie strictly "
                         f"between 0 and 1 (e.g. tail:0.3). Valid forms: {FORMS}.")
    return Rule(s, lambda inputs, group: run_tail(inputs, group, fraction=f))


def _number(text: str, spec: str) -> float:
    try:
        v = float(text)
    except ValueError:
        v = math.nan
    if not math.isfinite(v):
        raise ValueError(f"holdout {spec!r}: {text!r} is not a finite number. Valid forms: "
                         f"{FORMS}.")
    return v


def _call(f: Callable, inputs: dict[str, np.ndarray], group: np.ndarray | None):
    """Call a user's rule with the arguments its signature takes."""
    try:
        params = inspect.signature(f).parameters
    except (TypeError, ValueError):
        return f(inputs, group)
    if "group" in params:
        return f(inputs, group=group)
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    required = [p for p in params.values() if p.kind in kinds and p.default is p.empty]
    varargs = any(p.kind is inspect.Parameter.VAR_POSITIONAL for p in params.values())
    return f(inputs, group) if len(required) >= 2 or varargs else f(inputs)


def _mask_split(mask: object, n: int) -> Split:
    """The Split of a user's boolean test mask: train = the other points."""
    m = np.asarray(mask)
    if m.dtype != np.bool_ or m.shape != (n,):
        raise ValueError(f"a holdout mask must be boolean with one value per point ({n}), not "
                         f"an array of dtype {m.dtype} and shape {m.shape}. To hold out points "
                         f"by index, build one: mask = np.zeros({n}, bool); mask[idx] = True.")
    total = _pts(n)
    hints = {"test": (f"the mask is false at all {total}", "Mark the held-out points True."),
             "train": (f"the mask is true at all {total}", "Leave some points False to fit.")}
    return Split(~m, m, "test: the points of the given mask; train: the other points",
                 "the points of the given mask", "the other points", hints=hints)


def _arrays(inputs: Mapping[str, np.ndarray]) -> tuple[dict[str, np.ndarray], int]:
    """The inputs as 1-D float64 arrays of one length, and that length."""
    if not isinstance(inputs, Mapping) or not inputs:
        raise DataError(f"a hold-out rule needs the inputs as a mapping of name -> 1-D array "
                        f"(e.g. {{'N': ..., 'D': ...}}), not {inputs!r:.60}.")
    out = {}
    for name, v in inputs.items():
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise DataError(f"input {name!r} must be numeric ({err}).") from err
        if a.ndim != 1:
            raise DataError(f"input {name!r} must be 1-D, one value per point, not of shape "
                            f"{a.shape}.")
        out[str(name)] = a
    lengths = {k: len(a) for k, a in out.items()}
    if len(set(lengths.values())) > 1:
        shown = ", ".join(f"{k}: {v}" for k, v in lengths.items())
        raise DataError(f"the inputs differ in length ({shown}); give one value per point in "
                        f"each.")
    n = next(iter(lengths.values()))
    if not n:
        raise DataError("no points to split: the inputs are empty.")
    return out, n


def _column(inputs: dict[str, np.ndarray], by: str) -> tuple[np.ndarray, str]:
    """The values of ``by`` (C derived as 6·N·D when absent), and how rules name it."""
    if isinstance(by, str) and by in inputs:
        x, label = inputs[by], by
    elif by == "C" and "N" in inputs and "D" in inputs:
        x, label = 6.0 * inputs["N"] * inputs["D"], "C = 6·N·D"
    else:
        extra = "; C can be derived as 6·N·D" if "N" in inputs and "D" in inputs else ""
        raise ValueError(f"no input {by!r} to split by; the inputs are {', '.join(inputs)}"
                         f"{extra}. Name one of them.")
    bad = np.flatnonzero(~np.isfinite(x))
    if len(bad):
        shown = ", ".join(map(str, bad[:5])) + (", ..." if len(bad) > 5 else "")
        raise DataError(f"input {label!r} holds {len(bad)} non-finite value(s) (points "
                        f"{shown}); drop those points before splitting by {by}.")
    return x, label


def _group(group: np.ndarray | None, n: int, needed_by: str | None = None) -> np.ndarray | None:
    """The run of each point as integers, or None; a DataError when ``needed_by`` needs runs."""
    if group is None:
        if needed_by:
            raise DataError(f"{needed_by} holds out the last points of each run, so it needs the "
                            f"run of each point (group=, or --group COLUMN), and none was given. "
                            f"Pass the runs, or use a rule that needs none: largest, 'N>=T', "
                            f"top.")
        return None
    g = np.asarray(group)
    if g.ndim != 1 or len(g) != n:
        raise DataError(f"group has shape {g.shape} but the inputs have {n} points; give one "
                        f"run index per point.")
    if not np.issubdtype(g.dtype, np.integer):
        raise DataError(f"group must hold integer run indices, not dtype {g.dtype}; encode the "
                        f"runs with np.unique(labels, return_inverse=True)[1].")
    return g


def _tails(x: np.ndarray, runs: np.ndarray, among: np.ndarray, fraction: float,
           single: bool) -> np.ndarray:
    """Test mask: the last ``fraction`` of each run's points (within ``among``) by ``x``.

    round(fraction·m) of a run's m points, halves up; at least 1; at most m - 1 (so a run of
    one point stays out of test) unless ``single``, when a run's one point is its tail.
    """
    test = np.zeros(len(x), bool)
    for r in np.unique(runs[among]):
        idx = np.flatnonzero(among & (runs == r))
        m = len(idx)
        k = max(1, int(math.floor(fraction * m + 0.5 + 1e-9)))
        k = min(m, k) if single else min(m - 1, k)
        if k < 1:
            continue
        cut = np.sort(x[idx])[m - k]
        test[idx[x[idx] >= cut]] = True
    return test


def _is_count(v: object, minimum: int) -> bool:
    """True for a whole number (not a bool) of at least ``minimum``."""
    return not isinstance(v, bool) and isinstance(v, (int, np.integer)) and v >= minimum


def _finite(v: object, name: str) -> float:
    try:
        f = float(v)
    except (TypeError, ValueError):
        f = math.nan
    if isinstance(v, bool) or not math.isfinite(f):
        raise ValueError(f"{name} must be a finite number, not {v!r}.")
    return f


def _fraction(v: object, name: str) -> float:
    f = _finite(v, name)
    if not 0 < f < 1:
        raise ValueError(f"{name} must lie strictly between 0 and 1 (e.g. 0.3), not {v!r}.")
    return f


def _pts(n: int) -> str:
    return f"{n} point" if n == 1 else f"{n} points"


def _pct(f: float) -> str:
    return f"{f * 100:.3g}%"


def _g(v: float) -> str:
    """A data value as a label, 3 significant digits."""
    return f"{v:.3g}"


def _values(v: np.ndarray) -> str:
    """Distinct values as a label: "a", "a and b", "a, b and c", or "a to z"."""
    s = [_g(x) for x in v]
    if len(s) > 3:
        return f"{s[0]} to {s[-1]}"
    return s[0] if len(s) == 1 else ", ".join(s[:-1]) + f" and {s[-1]}"


def _num(v: float) -> str:
    """A given number, short: the fewest significant digits (3 or more) that give it back."""
    for d in range(3, 18):
        s = f"{v:.{d}g}"
        if float(s) == v:
            return s
    return repr(float(v))


def _cut(t: float, x: np.ndarray, op: str) -> str:
    """A threshold computed from data, as text true of the data: at the fewest significant
    digits (3 or more) where ``x op t`` is unchanged for every point, rounded to nearest, or else
    toward the side that keeps it unchanged (down for ">=", up for "<=")."""
    ref = _OPS[op](x, t)
    for d in range(3, 18):
        near = f"{t:.{d}g}"
        scale = 10.0 ** (math.floor(math.log10(abs(t))) - d + 1) if t else 1.0
        step = math.floor if op in (">=", ">") else math.ceil
        for s in (near, f"{step(t / scale) * scale:.{d}g}"):
            if np.array_equal(_OPS[op](x, float(s)), ref):
                return s
    return repr(float(t))
