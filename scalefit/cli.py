"""The ``scalefit`` command: a thin layer over the public API (no logic of its own).

Exit codes: 0 fitted and converged, 2 bad input (one-line message on stderr), 3 fitted but
not converged.
"""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Annotated

import typer

from scalefit._options import DEFAULTS

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Fit neural scaling laws to logged training runs; predict loss and compute.")


def _pairs(items: list[str], what: str, convert=str) -> dict:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key or not value:
            raise ValueError(f"--{what} takes NAME=VALUE, got {item!r}.")
        try:
            out[key.strip()] = convert(value.strip())
        except ValueError:
            raise ValueError(f"--{what} {item!r}: {value!r} is not a number.") from None
    return out


def _warnings(caught) -> None:
    """Prints warnings caught during a command on stderr, one line each."""
    for w in caught:
        typer.echo(f"warning: {w.message}", err=True)


@contextlib.contextmanager
def _live(*columns, transient: bool):
    """A rich ``Progress`` with ``columns`` drawn on stderr while the block runs, or None when
    stderr is not a terminal (a file, a pipe: nothing is drawn)."""
    from rich.console import Console

    console = Console(stderr=True)
    if not console.is_terminal:
        yield None
        return
    from rich.progress import Progress

    with Progress(*columns, console=console, transient=transient) as progress:
        yield progress


@contextlib.contextmanager
def _progress():
    """A live line on stderr (spinner, stage, elapsed time) while a long job runs; yields the
    callback that names each stage (None off a terminal). Cleared when the job ends."""
    from rich.progress import BarColumn, SpinnerColumn, TextColumn, TimeElapsedColumn

    with _live(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               TimeElapsedColumn(), transient=True) as bar:
        if bar is None:
            yield None
            return
        task = bar.add_task("starting", total=None)
        yield lambda stage: bar.update(task, description=stage)


class DownloadBar:
    """pooch's progress-bar protocol (``total``; ``update``, ``reset``, ``close``) drawn as one
    task of a rich ``Progress``."""

    def __init__(self, progress, task) -> None:
        self._progress, self._task, self._total = progress, task, None

    @property
    def total(self):
        return self._total

    @total.setter
    def total(self, value) -> None:
        self._total = value or None          # 0: the server did not say the size
        self._progress.update(self._task, total=self._total)

    def update(self, n) -> None:
        self._progress.advance(self._task, n)

    def reset(self) -> None:
        self._progress.reset(self._task, total=self._total)

    def close(self) -> None:
        self._progress.stop_task(self._task)


@contextlib.contextmanager
def _download_bars():
    """Yields ``remote -> DownloadBar`` for downloads drawn on stderr (on a terminal; else
    None: downloads stay silent)."""
    from rich.progress import BarColumn, DownloadColumn, TextColumn, TransferSpeedColumn

    with _live(TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn(), transient=False) as progress:
        yield None if progress is None else (
            lambda remote: DownloadBar(progress, progress.add_task(remote.name, total=None)))


def _fail(err: Exception) -> None:
    typer.echo(f"error: {err}", err=True)
    raise typer.Exit(code=2)


@app.command()
def fit(
    path: Annotated[Path, typer.Argument(help="Runs (CSV or Parquet) with N, D (or C) and loss; "
                                         "or a run log: a W&B export, JSON Lines, TensorBoard "
                                         "events.")],
    law: Annotated[str, typer.Option(help="Law name; `scalefit laws` lists them.")] = "chinchilla",
    metric: Annotated[str | None, typer.Option(help="The logged metric to fit (a unique part "
                                               "of its name will do).")] = None,
    last: Annotated[bool, typer.Option(help="Fit only the last point of each run.")] = False,
    tokens_per_step: Annotated[float | None, typer.Option(help="Tokens per optimizer step: "
                                                          "D = step x this when D is not "
                                                          "logged.")] = None,
    column: Annotated[list[str], typer.Option(help="Map a column: NAME=YOUR_COLUMN, e.g. "
                                              "N=model_size. Repeatable.")] = [],  # noqa: B006
    loss: Annotated[str | None, typer.Option(help=f"huber or squared (default {DEFAULTS.loss}, "
                                             "or the law's own).")] = None,
    delta: Annotated[float | None, typer.Option(help="Huber delta on log residuals (default "
                                                f"{DEFAULTS.delta:g}).")] = None,
    quantile: Annotated[float, typer.Option(help="Below 0.5, fit toward the lower envelope of "
                                            "the points (e.g. 0.1: a point above the curve "
                                            "costs 1/9 of one below); 0.5: the middle.")
                        ] = DEFAULTS.quantile,
    fix: Annotated[list[str], typer.Option(help="Hold a parameter: NAME=VALUE. Repeatable.")] = [],  # noqa: B006
    tie: Annotated[list[str], typer.Option(help="Tie a parameter: NAME=OTHER. Repeatable.")] = [],  # noqa: B006
    weight: Annotated[str | None, typer.Option(help="Column of per-point weights.")] = None,
    group: Annotated[str | None, typer.Option(help="Column naming each point's run (default: "
                                              "a column called 'run', if any).")] = None,
    bootstrap: Annotated[int, typer.Option(help="Refit this many resamples for intervals "
                                           "and bands (e.g. 4000).")] = 0,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    by: Annotated[str | None, typer.Option(help="Resample 'row', 'block' or 'group' (default: group "
                                           "when there are runs).")] = None,
    level: Annotated[float, typer.Option(help="Level of bootstrap intervals.")] = 0.95,
    unit: Annotated[str | None, typer.Option(help="Unit of the loss (nats, bits, bits per "
                                             "character, perplexity), reported and saved.")] = None,
    drop_invalid: Annotated[bool, typer.Option(help="Drop rows with NaN, inf or non-positive "
                                               "values (listed) instead of failing.")] = False,
    drop: Annotated[list[str], typer.Option(help="Leave out the points a rule flags: diverged, "
                                            "duplicates, leverage or outliers (listed). "
                                            "Repeatable.")] = [],  # noqa: B006
    threshold: Annotated[list[str], typer.Option(help="A rule's threshold: RULE=VALUE, e.g. "
                                                 "diverged=2 (loss ratio), leverage=2 "
                                                 "(decades), outliers=5 (standard deviations). "
                                                 "Repeatable.")] = [],  # noqa: B006
    budget: Annotated[list[float], typer.Option(help="FLOP budget for the compute-optimal "
                                                "table (default: powers of 10 from a decade "
                                                "below the data's compute to three above). "
                                                "Repeatable.")] = [],  # noqa: B006
    max_steps: Annotated[int | None, typer.Option(help="Solver steps per start (default "
                                                  f"{DEFAULTS.max_steps}, or the law's own)."
                                                  )] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the fit as JSON ('-': to stdout, "
                                            "the report then goes to stderr).")] = None,
    json: Annotated[bool, typer.Option("--json", help="The fit as one JSON document on stdout "
                                       "(the report goes to stderr); same as --out -.")] = False,
) -> None:
    """Fit a law to logged runs; print parameters, convergence and compute-optimal sizes.

    Examples: scalefit fit runs.csv --law chinchilla --bootstrap 1000 --out fit.json;
    scalefit fit wandb_export.csv --law power_D --metric val --tokens-per-step 4194304
    """
    if json:
        if out is not None and str(out) != "-":
            _fail(ValueError("--json writes the fit to stdout; give --out FILE or --json, not both."))
        out = Path("-")
    import scalefit
    from scalefit._compile_cache import enable_compile_cache
    from scalefit.predict import FAR

    try:
        columns, fixed = _pairs(column, "column"), _pairs(fix, "fix", float)
        tied, thresholds = _pairs(tie, "tie"), _pairs(threshold, "threshold", float)
        bad = [b for b in budget if not (b > 0 and b != float("inf"))]
        if bad:
            raise ValueError(f"--budget must be a positive, finite number of FLOPs, got {bad[0]:g}.")
        enable_compile_cache()
        with warnings.catch_warnings(), _progress() as progress:
            warnings.simplefilter("ignore", scalefit.ConvergenceWarning)
            result = scalefit.fit(path, law=law, columns=columns or None, loss=loss, delta=delta,
                                  quantile=quantile,
                                  fix=fixed or None, tie=tied or None, weight=weight,
                                  group=group, drop_invalid=drop_invalid, max_steps=max_steps,
                                  bootstrap=bootstrap, seed=seed, by=by, unit=unit, drop=drop,
                                  thresholds=thresholds, metric=metric, last=last,
                                  tokens_per_step=tokens_per_step, progress=progress)
        text = result.report(level)
    except (scalefit.DataError, ValueError) as err:
        _fail(err)
    to_stderr = out is not None and str(out) == "-"     # stdout holds the JSON alone
    echo = lambda line: typer.echo(line, err=to_stderr)  # noqa: E731
    echo(text)
    for d in result.dropped:
        where = f"line {d.line}" if d.line is not None else f"row {d.row}"
        echo(f"dropped: {where}: {d.reason}")
    if {"N", "D"} == set(result.law.inputs) and not (result.convergence.ok or budget):
        typer.echo("no compute-optimal table: the fit did not converge (pass --budget to print "
                   "it anyway).", err=True)
    elif {"N", "D"} == set(result.law.inputs):
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                table = result.optimal(list(budget) or None, level=level).to_frame()
        except ValueError as err:
            typer.echo(f"warning: no compute-optimal allocation: {err}", err=True)
        else:
            band = f"; {level:.0%} bootstrap bands" if result.resamples is not None else ""
            echo(f"compute-optimal allocation (C = 6ND{band}; decades_beyond: how far (N, D) "
                 "lies outside the fitted data):")
            _emit(table, False, digits=4, err=to_stderr)
            for w in caught:      # the decades_beyond column shows extrapolation itself
                if not issubclass(w.category, scalefit.ExtrapolationWarning):
                    typer.echo(f"warning: {w.message}", err=True)
            far = table[table["decades_beyond"] > FAR]
            if len(far):
                typer.echo(f"warning: {len(far)} of {len(table)} budgets put N or D more than "
                           f"{FAR:g} decade beyond the fitted data (from C = {far['C'].min():.3g}"
                           "): extrapolations; treat them with care.", err=True)
    if out is not None:
        try:
            saved = result.save(out)
        except OSError as err:
            _fail(err)
        if not to_stderr:
            echo(f"fit written to {saved}")
    raise typer.Exit(code=0 if result.convergence.ok else 3)


@app.command()
def backtest(
    path: Annotated[Path, typer.Argument(help="Runs (CSV or Parquet) with the laws' inputs and "
                                         "a loss column.")],
    law: Annotated[list[str], typer.Option(help="A law to backtest. Repeatable (default "
                                           "chinchilla).")] = [],  # noqa: B006
    holdout: Annotated[list[str], typer.Option(help="What to hold out: largest, largest:K, "
                                               "N>=X, D>=X,D<=Y (test, train), top, top:R, "
                                               "tail:F, hitchhiker. Repeatable.")] = [],  # noqa: B006
    sweep: Annotated[str | None, typer.Option(help="Instead, the boundary sweep over this input "
                                              "(e.g. N): fit on each size and below, predict "
                                              "the largest.")] = None,
    column: Annotated[list[str], typer.Option(help="Map a column: NAME=YOUR_COLUMN. "
                                              "Repeatable.")] = [],  # noqa: B006
    group: Annotated[str | None, typer.Option(help="Column naming each point's run.")] = None,
    drop: Annotated[list[str], typer.Option(help="Leave out points a rule flags. "
                                            "Repeatable.")] = [],  # noqa: B006
    json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Fit each law on part of the runs and score its predictions of the rest."""
    import scalefit
    from scalefit._compile_cache import enable_compile_cache

    try:
        columns = _pairs(column, "column")
        enable_compile_cache()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scalefit.ConvergenceWarning)
            common = {"columns": columns or None, "group": group, "drop": drop}
            if sweep is not None:
                result = scalefit.boundary_sweep(path, law or ["chinchilla"], by=sweep, **common)
            else:
                result = scalefit.backtest(path, law or ["chinchilla"], holdout or ["largest"],
                                           **common)
    except (scalefit.DataError, ValueError) as err:
        _fail(err)
    table = result.summary.drop(columns=["params", "n_free"])
    if json:
        _emit(table, True)
        return
    pct = {c: "{:.3%}".format for c in ("are", "max_are", "bias")}
    if sweep is not None:
        typer.echo(f"boundary sweep: fit on {sweep} up to train_max_{sweep}, predict the largest "
                   f"{sweep}")
        for name, rows in table.groupby("law", sort=False):
            typer.echo(f"{name}:")
            typer.echo(rows[[f"train_max_{sweep}", "n_train", "n_test", "are", "max_are", "bias",
                             "converged"]].to_string(index=False, formatters={
                                 **pct, f"train_max_{sweep}": "{:.4g}".format}))
    for split, rows in ([] if sweep is not None else table.groupby("split", sort=False)):
        typer.echo(f"{split}:")
        typer.echo(rows.drop(columns="split").to_string(index=False, formatters=pct))
    typer.echo("are: mean |predicted - observed| / observed over the held-out points; bias: the "
               "mean signed relative error.")


def _schedules(items: list[str]):
    """--schedule values: RUN=SPEC for one run, or a bare SPEC for every run."""
    if not items:
        return None
    named, bare = {}, []
    for item in items:
        head, sep, tail = item.partition("=")
        if sep and ":" not in head:
            named[head.strip()] = tail.strip()
        else:
            bare.append(item.strip())
    if bare and (named or len(bare) > 1):
        raise ValueError("--schedule takes one SPEC for every run, or RUN=SPEC for each run; "
                         f"got {', '.join(map(repr, items))}.")
    return bare[0] if bare else named


@app.command()
def curve(
    path: Annotated[Path, typer.Argument(help="Logged runs (CSV or Parquet): run, step, loss "
                                         "(and lr when logged at every step).")],
    law: Annotated[str, typer.Option(help="multi_power or lr_annealing.")] = "multi_power",
    schedule: Annotated[list[str], typer.Option(help="A run's schedule, RUN=SPEC (or one SPEC "
                                                "for every run), e.g. cosine_24000=cosine:"
                                                "peak=3e-4,floor=3e-5,warmup=2160,total=24000; "
                                                "default each run's lr column. Repeatable.")] = [],  # noqa: B006
    block: Annotated[int | None, typer.Option(help="Fit block means of this many steps.")] = None,
    min_step: Annotated[int, typer.Option(help="Leave out steps before this one.")] = 0,
    predict: Annotated[str | None, typer.Option(help="Predict the curve under this schedule "
                                                "spec; prints its final loss.")] = None,
    out: Annotated[Path | None, typer.Option(help="Write the predicted curve (step, lr, loss) "
                                            "as CSV ('-': stdout).")] = None,
    column: Annotated[list[str], typer.Option(help="Map a column: NAME=YOUR_COLUMN (step, "
                                              "loss, lr, run). Repeatable.")] = [],  # noqa: B006
    metric: Annotated[str | None, typer.Option(help="The logged metric to fit, for a run log "
                                               "(W&B export, JSON Lines, TensorBoard).")] = None,
    json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout: the "
                                       "predicted curve's records with --predict, else the "
                                       "fit.")] = False,
) -> None:
    """Fit a loss-curve law to logged runs; predict the curve of a run under another schedule.

    Example: scalefit curve runs.csv --law multi_power --schedule a=cosine:peak=3e-4,total=24000
    --predict wsd:peak=3e-4,decay_start=20000,total=24000 --out curve.csv
    """
    import scalefit
    from scalefit._compile_cache import enable_compile_cache

    try:
        columns = _pairs(column, "column")
        enable_compile_cache()
        if out is not None and predict is None:
            raise ValueError("--out writes the predicted curve: give --predict SPEC too.")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scalefit.ConvergenceWarning)
            result = scalefit.fit(path, law=law, schedules=_schedules(schedule), block=block,
                                  min_step=min_step, columns=columns or None, metric=metric)
        predicted = result.predict_curve(predict) if predict else None
    except (scalefit.DataError, ValueError) as err:
        _fail(err)
    if json:
        import json as json_module

        typer.echo(result.report(), err=True)
        if predicted is not None:
            _emit(predicted, True)
        else:
            typer.echo(json_module.dumps(result.to_dict()))
        raise typer.Exit(code=0 if result.convergence.ok else 3)
    to_stderr = out is not None and str(out) == "-"
    echo = lambda line: typer.echo(line, err=to_stderr)  # noqa: E731
    echo(result.report())
    if predicted is not None:
        echo(f"predicted under {predicted.attrs['schedule']}: final loss "
             f"{predicted.attrs['final_loss']:.6g} at step {int(predicted['step'].iloc[-1])}")
        if out is not None:
            if to_stderr:
                typer.echo(predicted.to_csv(index=False), nl=False)
            else:
                predicted.to_csv(out, index=False)
                echo(f"predicted curve written to {out}")
    raise typer.Exit(code=0 if result.convergence.ok else 3)


@app.command()
def laws(json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False
         ) -> None:
    """List the laws scalefit knows: inputs, parameters and source."""
    import pandas as pd

    from scalefit.laws import LAW_NAMES, get_law

    if json:
        _emit(pd.DataFrame([{"name": n, "inputs": list(get_law(n).inputs),
                             "params": [p.name for p in get_law(n).params],
                             "reference": get_law(n).reference} for n in LAW_NAMES]), True)
        return
    for name in LAW_NAMES:
        law = get_law(name)
        params = ", ".join(p.name for p in law.params)
        typer.echo(f"{name}: inputs {', '.join(law.inputs)}; parameters {params}\n"
                   f"    {law.reference}")


@app.command()
def optimal(
    path: Annotated[Path, typer.Argument(help="Runs (CSV or Parquet) with N, D (or C) and loss, "
                                         "or a run log / tidy table (with --metric).")],
    approach: Annotated[list[str], typer.Option(help="1 (envelope), 2 (IsoFLOP profiles), 3 "
                                                "(parametric Chinchilla fit) or all. "
                                                "Repeatable.")] = [],  # noqa: B006
    budget: Annotated[list[float], typer.Option(help="FLOP budget at which to give N_opt, D_opt "
                                                "and D/N. Repeatable (default 1e21, 5.88e23, "
                                                "1e25).")] = [],  # noqa: B006
    isoflop: Annotated[list[float], typer.Option(help="Approach 2's profile budgets; runs within "
                                                 "--tolerance of one form its profile "
                                                 "(default: binned from C = 6ND). "
                                                 "Repeatable.")] = [],  # noqa: B006
    tolerance: Annotated[float, typer.Option(help="A run joins a profile when its C is within "
                                             "this factor of the budget.")] = 1.25,
    smoother: Annotated[str, typer.Option(help="Approach 2's profile fit: parabola (Hoffmann's) "
                                          "or huber.")] = "parabola",
    bootstrap: Annotated[int, typer.Option(help="Resamples for every interval.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstraps.")] = 0,
    metric: Annotated[str | None, typer.Option(help="The logged metric, for a run log.")] = None,
    tokens_per_step: Annotated[float | None, typer.Option(help="D = step x this when D is not "
                                                          "logged.")] = None,
    column: Annotated[list[str], typer.Option(help="Map a column: NAME=YOUR_COLUMN. "
                                              "Repeatable.")] = [],  # noqa: B006
    json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Compute-optimal N, D and D/N for FLOP budgets: from a saved fit (fit.json), or three ways
    from runs (Hoffmann et al. 2022: envelope, IsoFLOP profiles, parametric).

    Examples: scalefit optimal fit.json --budget 1e22 --budget 5.88e23;
    scalefit optimal runs.csv --approach all --isoflop 1e19 --isoflop 1e20
    """
    if path.suffix.lower() == ".json":
        from scalefit import DataError
        from scalefit.predict import allocation

        try:
            fit = _load_fit(path)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                table = allocation(fit, list(budget) or None).columns()
        except (DataError, ValueError) as err:
            _fail(err)
        _emit(table, json, f"{fit.law.name}: compute-optimal allocation (C = 6ND)")
        _warnings(caught)
        return
    import scalefit
    from scalefit._compile_cache import enable_compile_cache
    from scalefit.approaches import DEFAULT_BUDGETS, compare_approaches

    try:
        chosen = sorted({1, 2, 3} if not approach or "all" in approach else
                        {_approach(a) for a in approach})
        enable_compile_cache()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.simplefilter("ignore", scalefit.ConvergenceWarning)
            result = compare_approaches(path, chosen, list(budget) or DEFAULT_BUDGETS,
                                        bootstrap=bootstrap, seed=seed,
                                        isoflop_budgets=list(isoflop) or None,
                                        tolerance=tolerance, smoother=smoother, metric=metric,
                                        tokens_per_step=tokens_per_step,
                                        columns=_pairs(column, "column") or None)
    except (scalefit.DataError, ValueError) as err:
        _fail(err)
    if json:
        _emit(result.table, True)
    else:
        typer.echo(result.report())
    _warnings(caught)


def _approach(text: str) -> int:
    if text.strip() not in ("1", "2", "3"):
        raise ValueError(f"--approach takes 1, 2, 3 or all, got {text!r}.")
    return int(text)


def _load_fit(path: Path):
    """A fit saved by ``scalefit fit --out``; a DataError-style message when it is not one."""
    from scalefit._fit import load

    try:
        return load(path)
    except OSError as err:
        raise ValueError(f"{path}: {err.strerror or err}; give a fit saved by `scalefit fit "
                         "--out fit.json`.") from None


def _columns(table) -> dict[str, list]:
    """A table's columns as lists of plain values: from a DataFrame or a mapping of arrays."""
    if hasattr(table, "to_dict") and hasattr(table, "columns"):          # a pandas DataFrame
        return {str(k): [v.item() if hasattr(v, "item") else v for v in table[k].tolist()]
                for k in table.columns}
    import numpy as np

    return {str(k): np.atleast_1d(v).tolist() for k, v in table.items()}


def _text(value, digits: int) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    return str(value)


def _emit(table, as_json: bool, header: str | None = None, digits: int = 6, err: bool = False) -> None:
    """Prints a table (a DataFrame or a mapping of columns) as a rich table, or as one JSON
    document (a list of records; NaN and inf as null) on stdout."""
    cols = _columns(table)
    n = max((len(v) for v in cols.values()), default=0)
    rows = [{k: v[i] for k, v in cols.items()} for i in range(n)]
    if as_json:
        import json
        import math

        clean = lambda v: None if isinstance(v, float) and not math.isfinite(v) else v  # noqa: E731
        typer.echo(json.dumps([{k: clean(v) for k, v in row.items()} for row in rows]))
        return
    from rich import box
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=err, highlight=False)
    if not console.is_terminal:          # a file or a pipe: never wrap or cut a column
        console = Console(stderr=err, highlight=False, width=10_000)
    out = Table(box=box.SIMPLE_HEAD, show_edge=False, title=header, title_justify="left",
                title_style="bold")
    for k, v in cols.items():
        numeric = all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in v)
        out.add_column(k, justify="right" if numeric else "left", no_wrap=True)
    for row in rows:
        out.add_row(*(_text(v, digits) for v in row.values()))
    console.print(out)


def _points(fit, items: list[str], csv: Path | None) -> dict:
    """The inputs to predict at, name -> array: --at NAME=VALUE,... (repeatable) or a CSV."""
    import numpy as np

    inputs = fit.law.inputs
    if csv is not None:
        from scalefit.data.table import read_inputs

        return read_inputs(csv, inputs, columns=fit.options.get("columns") or None)
    if not items:
        raise ValueError(f"give the points to predict at: --at {','.join(f'{n}=VALUE' for n in inputs)}"
                         " (repeatable) or --csv FILE.")
    rows = []
    for item in items:
        pairs = _pairs([p for p in item.split(",") if p], "at", float)
        if set(pairs) != set(inputs):
            raise ValueError(f"--at takes {','.join(f'{n}=VALUE' for n in inputs)} for this law, "
                             f"got {item!r}.")
        rows.append(pairs)
    return {n: np.array([r[n] for r in rows]) for n in inputs}


@app.command("predict")
def predict_command(
    fit_path: Annotated[Path, typer.Argument(help="A fit saved by `scalefit fit --out fit.json`.")],
    at: Annotated[list[str], typer.Option(help="A point, e.g. N=7e10,D=1.4e12. "
                                          "Repeatable.")] = [],  # noqa: B006
    csv: Annotated[Path | None, typer.Option(help="A CSV (or Parquet) of points, one column per "
                                             "input.")] = None,
    level: Annotated[float, typer.Option(help="Level of the bootstrap band.")] = 0.95,
    json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout, nothing "
                                       "else.")] = False,
) -> None:
    """Predict the loss at planned (N, D) from a saved fit, with the bootstrap band if saved.

    Example: scalefit fit runs.csv --bootstrap 1000 --out fit.json;
    scalefit predict fit.json --at N=7e10,D=1.4e12
    """
    import numpy as np

    from scalefit import DataError
    from scalefit.predict import loss_columns

    try:
        fit = _load_fit(fit_path)
        points = _points(fit, at, csv)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = loss_columns(fit, points, level)
    except (DataError, ValueError) as err:
        _fail(err)
    table = {**{k: np.ravel(np.broadcast_arrays(*points.values())[i])
                for i, k in enumerate(points)}, **{k: np.ravel(v) for k, v in out.items()}}
    unit = fit.data.get("unit")
    _emit(table, json, f"{fit.law.name}: predicted loss" + (f" ({unit})" if unit else ""))
    _warnings(caught)


@app.command()
def tokens(
    fit_path: Annotated[Path, typer.Argument(help="A fit saved by `scalefit fit --out fit.json`.")],
    loss: Annotated[float, typer.Option(help="The target loss.")],
    N: Annotated[list[float], typer.Option("--N", help="Model size(s). Repeatable.")] = [],  # noqa: B006
    level: Annotated[float, typer.Option(help="Level of the bootstrap band.")] = 0.95,
    json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Tokens a model of N parameters needs to reach a target loss, from a saved fit.

    Example: scalefit tokens fit.json --loss 2.0 --N 7e10
    """
    import numpy as np

    from scalefit import DataError
    from scalefit.predict import tokens_columns

    try:
        fit = _load_fit(fit_path)
        if "N" in fit.law.inputs and not N:
            raise ValueError("give the model size: --N VALUE (repeatable).")
        sizes = np.asarray(N or [np.nan], float)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = tokens_columns(fit, loss, sizes, level)
    except (DataError, ValueError) as err:
        _fail(err)
    table = {"N": sizes, "loss": np.full(len(sizes), loss), **{k: np.ravel(v) for k, v in out.items()}}
    _emit(table, json, f"{fit.law.name}: tokens to reach loss {loss:g}")
    _warnings(caught)


@app.command()
def show(
    fit_path: Annotated[Path, typer.Argument(help="A fit saved by `scalefit fit --out fit.json`.")],
    json: Annotated[bool, typer.Option("--json", help="The saved fit as one JSON document.")] = False,
) -> None:
    """Print a saved fit's report: parameters, intervals, convergence, data."""
    import json as json_module

    import scalefit

    try:
        fit = _load_fit(fit_path)
    except (scalefit.DataError, ValueError) as err:
        _fail(err)
    typer.echo(json_module.dumps(fit.to_dict()) if json else fit.report())


PLOTS = ("fit", "residuals", "frontier", "curve", "approaches", "isoflop")


@app.command()
def plot(
    kind: Annotated[str, typer.Argument(help=f"What to draw: {', '.join(PLOTS)}.")],
    path: Annotated[Path, typer.Argument(help="Runs (CSV, Parquet, a run log) to fit, or a fit "
                                         "saved by `scalefit fit --out fit.json`.")],
    out: Annotated[Path, typer.Option(help="The figure: .png, .svg or .pdf.")],
    law: Annotated[str, typer.Option(help="The law to fit when PATH holds runs.")] = "chinchilla",
    data: Annotated[Path | None, typer.Option(help="The runs a saved fit was fitted to (fit and "
                                              "residuals plots of a saved fit).")] = None,
    x: Annotated[str | None, typer.Option(help="fit plot: loss against D (default) or C.")] = None,
    budget: Annotated[list[float], typer.Option(help="frontier plot: budgets to mark. "
                                                "Repeatable.")] = [],  # noqa: B006
    schedule: Annotated[list[str], typer.Option(help="curve plot, fitting runs: RUN=SPEC (or one "
                                                "SPEC for every run). Repeatable.")] = [],  # noqa: B006
    predict: Annotated[str | None, typer.Option(help="curve plot: draw the prediction under this "
                                                "schedule spec (default: the fitted runs).")] = None,
    isoflop: Annotated[list[float], typer.Option(help="approaches and isoflop plots: IsoFLOP "
                                                 "budgets. Repeatable.")] = [],  # noqa: B006
    bootstrap: Annotated[int, typer.Option(help="Resamples for bands (fits made here; the "
                                           "approaches).")] = 0,
    metric: Annotated[str | None, typer.Option(help="The logged metric, for a run log.")] = None,
    dpi: Annotated[float, typer.Option(help="Resolution of a PNG.")] = 150,
    json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout: the plot, "
                                       "the file and its size.")] = False,
) -> None:
    """Draw a figure: the data and fitted law, residuals, the compute-optimal frontier, a loss
    curve under a schedule, the three approaches, or IsoFLOP profiles.

    Examples: scalefit plot fit runs.csv --out fit.pdf;
    scalefit plot frontier fit.json --budget 5.88e23 --out frontier.png;
    scalefit plot curve runs.csv --law multi_power --schedule a=cosine:peak=3e-4,total=24000
    --predict wsd:peak=3e-4,decay_start=20000,total=24000 --out curve.png
    """
    import scalefit
    from scalefit import plot as plots
    from scalefit._compile_cache import enable_compile_cache

    try:
        if kind not in PLOTS:
            raise ValueError(f"unknown plot {kind!r}; choose one of {', '.join(PLOTS)}.")
        enable_compile_cache()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            common = {"path": out, "dpi": dpi}
            if kind in ("approaches", "isoflop"):
                from scalefit.approaches import compare_approaches, isoflop as iso

                if kind == "isoflop":
                    plots.isoflop_plot(iso(path, list(isoflop) or None, bootstrap=bootstrap,
                                           metric=metric), **common)
                else:
                    plots.approaches_plot(compare_approaches(
                        path, bootstrap=bootstrap, isoflop_budgets=list(isoflop) or None,
                        metric=metric), **common)
            else:
                saved = path.suffix.lower() == ".json"
                fit = _load_fit(path) if saved else scalefit.fit(
                    path, law=law, metric=metric, bootstrap=bootstrap,
                    **({"schedules": _schedules(schedule)} if schedule else {}))
                runs = data if saved else path
                if kind == "fit":
                    plots.fit_plot(fit, runs, x=x, **common)
                elif kind == "residuals":
                    plots.residuals_plot(fit, None if fit.law.inputs == _curve_inputs() else runs,
                                         **common)
                elif kind == "frontier":
                    plots.frontier_plot(fit, list(budget) or None, **common)
                else:
                    plots.curve_plot(fit, predict, **common)
    except (scalefit.DataError, ValueError) as err:
        _fail(err)
    if json:
        _emit({"plot": [kind], "path": [str(out)], "bytes": [out.stat().st_size]}, True)
    else:
        typer.echo(f"{kind} plot written to {out}")


def _curve_inputs() -> tuple:
    from scalefit.laws._curves import CURVE_INPUTS

    return CURVE_INPUTS


def _planned(items: list[str]) -> list[tuple[float, float]]:
    """--predict N=...,D=... values as (N, D) pairs."""
    out = []
    for item in items:
        pairs = _pairs([p for p in item.split(",") if p], "predict", float)
        if set(pairs) != {"N", "D"}:
            raise ValueError(f"--predict takes N=VALUE,D=VALUE, got {item!r}.")
        out.append((pairs["N"], pairs["D"]))
    return out


@app.command()
def hyper(
    path: Annotated[Path, typer.Argument(help="An LR x batch-size grid (CSV or Parquet): N, D, "
                                         "lr, batch size (bs in sequences with --seq-len, or "
                                         "batch_size in tokens), loss or smooth loss.")],
    predict: Annotated[list[str], typer.Option(help="A planned run, N=VALUE,D=VALUE: its optimal "
                                               "lr and batch size, refit and preset. "
                                               "Repeatable.")] = [],  # noqa: B006
    near: Annotated[float, typer.Option(help="Keep runs within this fraction of their (N, D) "
                                        "cell's best loss.")] = 0.0025,
    seq_len: Annotated[int | None, typer.Option(help="Tokens per sequence, to turn a batch in "
                                                "sequences into tokens.")] = None,
    bootstrap: Annotated[int, typer.Option(help="Resamples for the bands.")] = 1000,
    seed: Annotated[int, typer.Option(help="Seed of the bootstrap.")] = 0,
    column: Annotated[list[str], typer.Option(help="Map a column: NAME=YOUR_COLUMN (N, D, lr, "
                                              "bs, batch_size, loss, run). Repeatable.")] = [],  # noqa: B006
    json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout.")] = False,
) -> None:
    """Optimal learning rate and batch size from an LR x batch-size grid (Step Law)."""
    import pandas as pd

    import scalefit
    from scalefit.hyper import STEP_LAW, fit_hyper

    try:
        planned = _planned(predict)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fit_hyper(path, near=near, seq_len=seq_len, bootstrap=bootstrap, seed=seed,
                               columns=_pairs(column, "column") or None)
            rows = [law.predict(n, d).assign(law=name) for n, d in planned
                    for name, law in (("refit", result), (STEP_LAW.name, STEP_LAW))]
    except (scalefit.DataError, ValueError) as err:
        _fail(err)
    if json:
        laws = pd.concat([law.intervals().assign(law=name) for name, law in
                          (("refit", result), (STEP_LAW.name, STEP_LAW))], ignore_index=True)
        _emit(pd.concat([laws, *rows], ignore_index=True), True)
        return
    typer.echo(result.report())
    if rows:
        _emit(pd.concat(rows, ignore_index=True), False, digits=4)
    for w in caught:
        if "SparseGrid" not in type(w.message).__name__:    # the report states those
            typer.echo(f"warning: {w.message}", err=True)


data_app = typer.Typer(no_args_is_help=True, help="Public datasets: list, fetch and inspect "
                       "them (SCALEFIT_DATA_DIR: a local mirror).")
app.add_typer(data_app, name="data")


@data_app.command("list")
def data_list(json: Annotated[bool, typer.Option("--json", help="One JSON document on "
                                                "stdout.")] = False) -> None:
    """List the registered public datasets, their licences and papers."""
    import pandas as pd

    from scalefit.data.datasets import _registry

    if json:
        _emit(pd.DataFrame([{"name": n, "description": d.description, "licence": d.licence,
                             "citation": d.citation, "files": [r.url for r in d.files.values()]}
                            for n, d in sorted(_registry().items())]), True)
        return
    for name, ds in sorted(_registry().items()):
        typer.echo(f"{name}: {ds.description}\n    licence: {ds.licence}; cite: {ds.citation}")


@data_app.command("fetch")
def data_fetch(name: Annotated[str, typer.Argument(help="A dataset from `scalefit data list`.")],
               json: Annotated[bool, typer.Option("--json", help="One JSON document on stdout: "
                                                  "each file's key and path.")] = False,
               ) -> None:
    """Download a dataset's pinned files into the cache (sha256-checked); print their paths."""
    import scalefit
    from scalefit.data.datasets import fetch_dataset

    try:
        with _download_bars() as bars:
            paths = fetch_dataset(name, progress=bars)
    except scalefit.DataError as err:
        _fail(err)
    if json:
        _emit({"file": list(paths), "path": [str(p) for p in paths.values()]}, True)
        return
    for key, path in paths.items():
        typer.echo(f"{key}: {path}")


@data_app.command("show")
def data_show(
    name: Annotated[str, typer.Argument(help="A dataset from `scalefit data list`.")],
    option: Annotated[list[str], typer.Option(help="A parser option: NAME=VALUE (see the "
                                              "dataset's options below). Repeatable.")] = [],  # noqa: B006
    out: Annotated[Path | None, typer.Option(help="Also write the tidy table as CSV.")] = None,
    json: Annotated[bool, typer.Option("--json", help="The per-metric summary as one JSON "
                                       "document on stdout.")] = False,
) -> None:
    """Load a dataset into the tidy table; print its runs, sizes, token ranges, metrics, units."""
    import scalefit
    from scalefit.data import tidy
    from scalefit.data.datasets import dataset, load

    try:
        ds = dataset(name)
        table = load(name, **{k: _option_value(v) for k, v in _pairs(option, "option").items()})
    except (scalefit.DataError, ValueError) as err:
        _fail(err)
    record = table.attrs.get("scalefit", {})
    if out is not None:
        table.to_csv(out, index=False)
    if json:
        _emit(tidy.describe(table), True)
        return
    typer.echo(f"{name}: {ds.description}\nlicence: {ds.licence}\ncite: {ds.citation}")
    for key, remote in ds.files.items():
        typer.echo(f"file {key}: {remote.url} (sha256 {remote.sha256[:16]}...)")
    for opt, words in ds.options.items():
        typer.echo(f"option {opt}: {words}")
    typer.echo(f"{len(table)} rows, {table['run'].nunique()} runs")
    _emit(tidy.describe(table), False, digits=4)
    for note in record.get("notes", []):
        typer.echo(f"note: {note}")
    dropped = record.get("dropped", [])
    if dropped:
        typer.echo(f"dropped: {len(dropped)} rows (the first: {dropped[0]['reason']})")
    if out is not None:
        typer.echo(f"tidy table written to {out}")


def _option_value(text: str):
    """A parser option from the command line: a number, true/false/none, or the text."""
    low = text.lower()
    if low in ("true", "false"):
        return low == "true"
    if low == "none":
        return None
    try:
        return float(text) if any(c in text for c in ".e") else int(text)
    except ValueError:
        return text


def _print_version(value: bool) -> None:
    if value:
        from scalefit._version import __version__

        typer.echo(__version__)
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", help="Print the version.",
                                                callback=_print_version, is_eager=True)] = False) -> None:
    """Fit neural scaling laws to logged training runs; predict loss and compute."""


def _stdout_closed() -> bool:
    """True when nothing reads standard output any more (the reader of a pipe has exited)."""
    import select
    import sys

    try:
        poll = select.poll()
        poll.register(sys.__stdout__.fileno(), select.POLLERR)
        return any(event & select.POLLERR for _, event in poll.poll(0))
    except (AttributeError, OSError, ValueError):
        return False


def main() -> None:
    """Entry point of the ``scalefit`` command; a closed pipe (``| head``) ends quietly, exit 0."""
    try:
        app()
    except SystemExit as done:
        if done.code not in (0, None) and _stdout_closed():
            raise SystemExit(0) from None
        raise
