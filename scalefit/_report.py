"""The plain-text report of a fit: parameters, objective, convergence in words, remedies."""

from __future__ import annotations


def _bound_remedy(fit, name: str) -> str:
    p, v = fit.law.param(name), fit.params[name]
    side, bound = ("lower", p.lower) if p.lower is not None and (
        p.upper is None or abs(v - p.lower) <= abs(v - p.upper)) else ("upper", p.upper)
    return f"{name} sits at its {side} bound {bound:g}: widen the bound and fit again."


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


def report(fit, level: float = 0.95) -> str:
    """Returns the report of ``fit`` (a ``scalefit.Fit``) as lines of text."""
    c = fit.convergence
    fixed, tied = fit.options.get("fix", {}), fit.options.get("tie", {})
    lines = [f"law: {fit.law.name}  ({fit.law.reference})" if fit.law.reference
             else f"law: {fit.law.name}",
             f"data: {fit.data.get('source', '?')}: {fit.n_points} points fitted"
             + (f", {len(fit.dropped)} rows dropped (see fit.dropped)" if fit.dropped else "")]
    lines += _columns(fit)
    lines += [f"note: {n}" for n in fit.notes]
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
    lines.append(f"objective: {fit.objective:.10g} (sum of {loss}"
                 + (f", delta={fit.options['delta']:g}" if loss == "huber" else "")
                 + " over log residuals)")
    verdict = "converged" if c.ok else "NOT converged"
    lines.append(f"convergence: {verdict}: {c.stop.message}; {c.n_steps} steps; "
                 f"max |gradient| {c.grad_norm:.2e} (tolerance {c.grad_tol:.2e})")
    stops = ", ".join(f"{n} {s.name.lower()}" for s, n in sorted(c.stops.items()))
    sub = (f" on an even subsample of {c.subsample} of the {fit.n_points} points, the best "
           f"{c.n_refined} then solved on all points" if c.subsample else "")
    lines.append(f"starts: {c.n_starts} screened, {c.n_solved} solved{sub} ({stops}); "
                 f"{c.n_best_basin} reached the best objective")
    lines += [f"warning: {_bound_remedy(fit, n)}" for n in c.at_bound]
    return "\n".join(lines)
