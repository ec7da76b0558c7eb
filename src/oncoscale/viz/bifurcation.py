"""Bifurcation diagram figure (seed 003 Fig. 2 style) and its HTML report."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from oncoscale.analysis.bifurcation import BifurcationDiagram
from oncoscale.viz.report import section, table, write_report
from oncoscale.viz.style import plt, save

_MARKERS = {
    "hopf": ("H", "o"),
    "fold": ("LP", "s"),
    "branch_point": ("BP", "D"),
    "fold_cycle": ("LPC", "^"),
    "period_doubling": ("PD", "v"),
    "period_blowup": ("T→∞", "x"),
}


#: line style of an equilibrium branch by category
_STYLE = {
    "stable": {"ls": "-", "color": "tab:red", "lw": 1.6},
    "unstable": {"ls": "--", "color": "black", "lw": 1.4},
    "infeasible": {"ls": ":", "color": "0.6", "lw": 1.0},
}


def _segments(p: np.ndarray, y: np.ndarray, category: np.ndarray):
    """Split a branch into runs of equal category (each run includes its neighbour's start)."""
    start = 0
    for k in range(1, len(p) + 1):
        if k == len(p) or category[k] != category[start]:
            stop = min(k + 1, len(p))
            yield p[start:stop], y[start:stop], str(category[start])
            start = k


def _categories(x: np.ndarray, stable: np.ndarray) -> np.ndarray:
    """'infeasible' where a component is negative, else 'stable' / 'unstable'."""
    tol = 1e-9 * np.max(np.abs(x), axis=0)
    feasible = np.all(x >= -tol, axis=1)
    return np.where(~feasible, "infeasible", np.where(stable, "stable", "unstable"))


def diagram_figure(diagram: BifurcationDiagram, path: Path) -> Path:
    """Equilibria (stable red solid, unstable black dashed, negative components grey dotted),
    cycle max/min (green dots: stable filled, unstable open), special points labelled; the
    cycle period in a second panel."""
    pr = diagram.problem
    k, scale = pr.plot_variable, pr.plot_scale
    has_cycles = any(len(c.p) for _, c in diagram.cycles)
    fig, axes = plt.subplots(
        1, 2 if has_cycles else 1, figsize=(10 if has_cycles else 5.5, 4), squeeze=False
    )
    ax = axes[0, 0]
    for _, branch in diagram.equilibria:
        y = branch.x[:, k] / scale
        cats = _categories(branch.x, np.asarray(branch.stable, dtype=bool))
        for ps, ys, cat in _segments(branch.p, y, cats):
            ax.plot(ps, ys, **_STYLE[cat])
    for _, cyc in diagram.cycles:
        st = np.asarray(cyc.stable, dtype=bool)
        for arr in (cyc.x_max[:, k] / scale, cyc.x_min[:, k] / scale):
            ax.scatter(cyc.p[st], arr[st], s=8, color="tab:green", zorder=3)
            ax.scatter(
                cyc.p[~st], arr[~st], s=8, facecolors="none", edgecolors="tab:green", zorder=3
            )
    for pt in diagram.points():
        label, marker = _MARKERS.get(pt["type"], (pt["type"], "*"))
        state = pt.get("state")
        if state is None:
            continue
        yv = float(state[k]) / scale
        ax.plot(pt["value"], yv, marker, color="tab:blue", ms=6, mfc="none")
        ax.annotate(label, (pt["value"], yv), textcoords="offset points", xytext=(4, 4))
    units = f" ({pr.param_units})" if pr.param_units else ""
    ax.set_xlabel(f"{pr.param}{units}")
    ax.set_ylabel(pr.plot_label or pr.variables[k])
    ax.set_xlim(diagram.p_min, diagram.p_max)
    title = f"{pr.family}" + (f" ({pr.reduction})" if pr.reduction else "")
    ax.set_title(f"{title}: equilibria and limit cycles")
    if has_cycles:
        ax2 = axes[0, 1]
        for _, cyc in diagram.cycles:
            st = np.asarray(cyc.stable, dtype=bool)
            ax2.plot(cyc.p[st], cyc.period[st], ".", color="tab:green", ms=3)
            ax2.plot(cyc.p[~st], cyc.period[~st], ".", color="0.5", ms=3)
        ax2.set_xlabel(f"{pr.param}{units}")
        ax2.set_ylabel("period of the limit cycle")
        ax2.set_title("limit cycles (green stable, grey unstable)")
    return save(fig, path)


def points_table(diagram: BifurcationDiagram) -> str:
    """HTML table of the detected points."""
    rows = []
    for pt in diagram.points():
        extra = {
            key: pt[key]
            for key in ("criticality", "l1", "period", "omega")
            if key in pt and pt[key] is not None
        }
        rows.append((pt["type"], pt["value"], pt.get("branch", ""), extra or ""))
    if not rows:
        return "<p class='muted'>no bifurcation points in the range</p>"
    return table(rows, ("type", diagram.problem.param, "branch", "details"))


def diagram_report(diagram: BifurcationDiagram, figure: Path, out: Path) -> Path:
    """report.html for one diagram."""
    pr = diagram.problem
    body = [
        section("Diagram", f'<img src="{figure.name}" alt="bifurcation diagram">'),
        section("Detected points", points_table(diagram)),
        section(
            "Branches",
            table(
                [(n, len(b.p), float(b.p.min()), float(b.p.max())) for n, b in diagram.equilibria]
                + [(f"cycle from H at {v:.6g}", len(c.p), *_range(c.p)) for v, c in diagram.cycles],
                ("branch", "points", "from", "to"),
            ),
        ),
    ]
    if diagram.warnings:
        body.append(section("Warnings", "<br>".join(diagram.warnings)))
    sub = f"family {pr.family}; parameter {pr.param} in [{diagram.p_min:g}, {diagram.p_max:g}]"
    return write_report(out / "report.html", f"Bifurcation diagram in {pr.param}", body, sub)


def _range(p: np.ndarray) -> tuple[float, float]:
    return (float(p.min()), float(p.max())) if len(p) else (float("nan"), float("nan"))
