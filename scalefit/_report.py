"""The plain-text report of a fit: parameters, objective, convergence in words, remedies."""

from __future__ import annotations


def _bound_remedy(fit, name: str) -> str:
    p, v = fit.law.param(name), fit.params[name]
    side, bound = ("lower", p.lower) if p.lower is not None and (
        p.upper is None or abs(v - p.lower) <= abs(v - p.upper)) else ("upper", p.upper)
    return f"{name} sits at its {side} bound {bound:g}: widen the bound and fit again."


def report(fit) -> str:
    """Returns the report of ``fit`` (a ``scalefit.Fit``) as lines of text."""
    c = fit.convergence
    fixed, tied = fit.options.get("fix", {}), fit.options.get("tie", {})
    lines = [f"law: {fit.law.name}  ({fit.law.reference})" if fit.law.reference
             else f"law: {fit.law.name}",
             f"data: {fit.data.get('source', '?')}: {fit.n_points} points fitted"
             + (f", {len(fit.dropped)} rows dropped (see fit.dropped)" if fit.dropped else "")]
    lines += [f"note: {n}" for n in fit.notes]
    lines.append("parameters:")
    for name, value in fit.params.items():
        how = (" (fixed)" if name in fixed else f" (tied to {tied[name]})" if name in tied else "")
        lines.append(f"  {name:>10} = {value:.6g}{how}")
    loss = fit.options.get("loss", "huber")
    lines.append(f"objective: {fit.objective:.10g} (sum of {loss}"
                 + (f", delta={fit.options['delta']:g}" if loss == "huber" else "")
                 + " over log residuals)")
    verdict = "converged" if c.ok else "NOT converged"
    lines.append(f"convergence: {verdict}: {c.stop.message}; {c.n_steps} steps; "
                 f"max |gradient| {c.grad_norm:.2e} (tolerance {c.grad_tol:.2e})")
    stops = ", ".join(f"{n} {s.name.lower()}" for s, n in sorted(c.stops.items()))
    lines.append(f"starts: {c.n_starts} screened, {c.n_solved} solved ({stops}); "
                 f"{c.n_best_basin} reached the best objective")
    lines += [f"warning: {_bound_remedy(fit, n)}" for n in c.at_bound]
    return "\n".join(lines)
