"""The plain-text report of a fit: parameters, objective, convergence in words, remedies."""

from __future__ import annotations

import numpy as np


def _bound_remedy(fit, name: str) -> str:
    p, v = fit.law.param(name), fit.params[name]
    lower, upper = p.lower, p.upper
    data_lower, data_upper = (fit.data.get("bounds_from_data") or {}).get(name, (None, None))
    from_data = False
    if data_lower is not None and (lower is None or data_lower > lower):
        lower, from_data = data_lower, True
    if data_upper is not None and (upper is None or data_upper < upper):
        upper, from_data = data_upper, True
    side, bound = ("lower", lower) if lower is not None and (
        upper is None or abs(v - lower) <= abs(v - upper)) else ("upper", upper)
    if from_data and bound in (data_lower, data_upper):
        return (f"{name} sits at its {side} bound {bound:g}, which {fit.law.name} sets from the "
                f"data (Law.data_bounds): the data push {name} against it.")
    if p.why:
        return f"{name} sits at its {side} bound {bound:g}, which {p.why}."
    return f"{name} sits at its {side} bound {bound:g}: widen the bound and fit again."


RUNAWAY = 1.0          # a parameter more than this many grid spans beyond its start grid ran away


def runaway(fit) -> tuple[str, str] | None:
    """For a fit that did not converge, the free parameter that ran away (furthest beyond its
    start grid, on the search scale, by more than ``RUNAWAY`` grid spans) and the finding in
    words with the remedy in command-line words; None otherwise."""
    if fit.convergence.ok:
        return None
    worst, far = None, RUNAWAY
    for name in fit.free:
        p, v = fit.law.param(name), fit.params[name]
        if name in fit.convergence.at_bound or (p.log and not v > 0):
            continue
        at = np.log(v) if p.log else v
        grid = np.log(p.grid) if p.log else np.asarray(p.grid)
        span = max(float(np.ptp(grid)), 1.0)
        beyond = max(grid.min() - at, at - grid.max()) / span
        if beyond > far:
            worst, far = name, beyond
    if worst is None:
        return None
    p, v = fit.law.param(worst), fit.params[worst]
    lo, hi = min(p.grid), max(p.grid)
    side = "below" if (np.log(v) if p.log else v) < (np.log(lo) if p.log else lo) else "above"
    toward = ("toward 0" if p.log and side == "below" else "toward infinity" if side == "above"
              else "toward minus infinity")
    diverged = [f for f in fit.data.get("flags", ()) if f["rule"] == "diverged" and not f["dropped"]]
    extra = (f", or leave out the {len(diverged)} diverged points (--drop diverged)"
             if diverged else "")
    return worst, (f"{worst} ran away {toward}: {v:.4g}, far {side} its start grid ({lo:.4g} to "
                   f"{hi:.4g}); the data do not pin it down. Fix it at a value you trust "
                   f"(--fix {worst}=VALUE), or add runs that vary the inputs more{extra}.")


COLLINEAR = 0.99999    # |correlation| of two free parameters above which the report warns
                       # (log A and alpha of Chinchilla on Epoch's points: 0.99974)
LOOSE = 1.0            # ... and a standard error above this multiple of the value


def _weakly_determined(fit) -> list[str]:
    """Warnings for a singular Hessian, or free parameters the data barely tell apart."""
    cov = fit.covariance
    free = [n for n in fit.free if n not in fit.convergence.at_bound]
    if cov is None or not free:
        return []
    idx = [fit.free.index(n) for n in free]
    if not np.all(np.isfinite(cov[np.ix_(idx, idx)])):
        return [f"warning: the Hessian at the optimum is not positive definite, so "
                f"{', '.join(free)} are not all determined by the data: fix or tie one "
                f"(--fix NAME=VALUE, --tie NAME=OTHER) or add data that vary more."]
    corr = fit.correlation.to_numpy()
    se = fit.stderr
    loose = [n for n in free if se[n] > LOOSE * abs(fit.params[n])]
    out = [f"warning: {', '.join(loose)} {'is' if len(loose) == 1 else 'are'} weakly "
           f"determined (standard error above {LOOSE:.0%} of the value): fix or tie "
           f"{'it' if len(loose) == 1 else 'one'} (--fix {loose[0]}=VALUE) or add data that "
           f"vary more."] if loose else []
    for a in range(len(fit.free)):
        for b in range(a + 1, len(fit.free)):
            if abs(corr[a, b]) > COLLINEAR:
                x, y = fit.free[a], fit.free[b]
                out.append(f"warning: {x} and {y} are correlated {corr[a, b]:+.6f}: the data "
                           f"pin down only a combination of them. Fix or tie one (--fix "
                           f"{y}={fit.params[y]:.4g}) or add data that separate them.")
    return out


def _columns(fit) -> list[str]:
    """Which column served as each input and as the loss, how it was chosen, and its range."""
    data, mapped = fit.data, fit.options.get("columns", {}) or {}
    columns = data.get("columns", {})
    out = []
    for name in [*fit.law.inputs, "loss"]:
        col = columns.get(name)
        if col is None:
            continue
        span = data.get("inputs", {}).get(name) if name != "loss" else data.get("loss")
        rng = f", {span['min']:.4g} to {span['max']:.4g}" if span else ""
        how = ("derived" if name in data.get("derived", ()) else
               "mapped by you" if name in mapped else "found by name")
        unit = f" ({data['unit']})" if name == "loss" and data.get("unit") else ""
        what = f"{col}" if how == "derived" else f"column {col!r}"
        out.append(f"{name}{unit}: {what} ({how}){rng}")
    q = data.get("quality")
    if q:
        out.append(f"fit quality: RMSE of log residuals {q['rmse_log']:.3g}, largest "
                   f"{q['max_abs_log']:.3g} (fit.residuals[{q['worst_point']}]), R² on the loss "
                   f"{q['r2']:.4f}")
    return out


SHOWN = 3   # flagged points quoted per rule


def _flags(fit) -> list[str]:
    """The flags, rule by rule: the rule and its threshold, how many, the first few points."""
    from .data.flags import RULES, describe

    records = fit.data.get("flags", ())
    thresholds = fit.options.get("thresholds", {})
    runs = bool(fit.data.get("n_groups"))
    huber = fit.options.get("loss", "huber") == "huber"
    out = []
    for rule in RULES:
        found = [f for f in records if f["rule"] == rule]
        if not found:
            continue
        gone = sum(f["dropped"] for f in found)
        what = (f"dropped ({gone} of {len(found)})" if gone else
                f"kept in the fit (--drop {rule} leaves them out)")
        out.append(f"flagged {rule}: {len(found)} point{'s' if len(found) != 1 else ''} "
                   f"({describe(rule, thresholds, runs, huber)}), {what}; see fit.flags")
        for f in found[:SHOWN]:
            where = f"line {f['line']}" if f["line"] is not None else f"row {f['row']!r}"
            run = f" (run {f['run']!r})" if f["run"] is not None else ""
            out.append(f"  {where}{run}: {f['reason']}")
        if len(found) > SHOWN:
            out.append(f"  ... and {len(found) - SHOWN} more")
    return out


def _selection(fit) -> list[str]:
    """The law="auto" choice: the candidates' backtest errors and why the winner won."""
    sel = fit.data.get("selection")
    if not sel:
        return []
    out = [f"law chosen by backtest: {sel['chosen']}: {sel['reason']}"]
    for r in sel["candidates"]:
        err = (f"held-out error {r['are']:.3%} (max {r['max_are']:.3%}, bias {r['bias']:+.3%}), "
               f"{r['n_train']} training points, {r['n_free']} free parameters"
               if r["are"] is not None else "not backtested")
        out.append(f"  {r['law']}: {err}; {r['why']}")
    return out


def report(fit, level: float = 0.95) -> str:
    """Returns the report of ``fit`` (a ``scalefit.Fit``) as lines of text."""
    c = fit.convergence
    fixed, tied = fit.options.get("fix", {}), fit.options.get("tie", {})
    lines = [f"law: {fit.law.name}  ({fit.law.reference})" if fit.law.reference
             else f"law: {fit.law.name}",
             f"data: {fit.data.get('source', '?')}: {fit.n_points} points fitted"
             + (f", {len(fit.dropped)} rows dropped (see fit.dropped)" if fit.dropped else "")]
    lines += _selection(fit)
    lines += _columns(fit)
    lines += [f"note: {n}" for n in fit.notes]
    lines += _flags(fit)
    for run, info in (fit.data.get("runs") or {}).items():
        lines.append(f"run {run}: {info['points']} points, steps {info['steps'][0]} to "
                     f"{info['steps'][1]}, schedule {info['schedule']}")
    if fit.data.get("n_groups"):
        lines.append(f"groups: {fit.data['n_groups']} runs (column "
                     f"{fit.options.get('group')!r})")
    boot = fit.resamples
    ci = fit.intervals(level) if boot is not None else None
    lines.append("parameters:" + ("  value, standard error (sandwich, exact Hessian)"
                                  + (f", {level:.0%} bootstrap interval" if ci is not None else "")))
    se = fit.stderr
    for name, value in fit.params.items():
        how = (" (fixed)" if name in fixed else f" (tied to {tied[name]})" if name in tied else "")
        spread = f" ± {se[name]:.3g}" if name not in fixed else ""
        band = (f"  [{ci.loc[name, 'lower']:.6g}, {ci.loc[name, 'upper']:.6g}]"
                if ci is not None and name not in fixed else "")
        lines.append(f"  {name:>10} = {value:.6g}{spread}{band}{how}")
    if boot is not None:
        lines.append(f"bootstrap: {boot.describe()}")
    loss = fit.options.get("loss", "huber")
    q = fit.options.get("quantile", 0.5)
    side = (f"; quantile {q:g}: points above the curve weigh {q / (1 - q):.3g}x those below, "
            f"toward the {'lower' if q < 0.5 else 'upper'} envelope" if q != 0.5 else "")
    lines.append(f"objective: {fit.objective:.10g} (sum of {loss}"
                 + (f", delta={fit.options['delta']:g}" if loss == "huber" else "")
                 + f" over log residuals{side})")
    verdict = "converged" if c.ok else "NOT converged"
    ran = runaway(fit)
    why = c.stop.message.split(";")[0] + "; see the warning below" if ran else c.stop.message
    lines.append(f"convergence: {verdict}: {why}; {c.n_steps} steps; "
                 f"max |gradient| {c.grad_norm:.2e} (tolerance {c.grad_tol:.2e})")
    stops = ", ".join(f"{n} {s.name.lower()}" for s, n in sorted(c.stops.items()))
    sub = (f" on an even subsample of {c.subsample} of the {fit.n_points} points, the best "
           f"{c.n_refined} then solved on all points" if c.subsample else "")
    lines.append(f"starts: {c.n_starts} screened, {c.n_solved} solved{sub} ({stops}); "
                 f"{c.n_best_basin} reached the best objective")
    lines += [f"warning: {_bound_remedy(fit, n)}" for n in c.at_bound]
    lines += [f"warning: {ran[1]}"] if ran else []
    lines += _weakly_determined(fit)
    return "\n".join(lines)
