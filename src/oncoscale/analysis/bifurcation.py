"""One-parameter bifurcation diagrams of a family's homogeneous ODE.

:func:`compute_diagram` continues every closed-form equilibrium a family provides (its
:class:`~oncoscale.models.bifurcation.BifurcationProblem`) over the requested parameter range
with :mod:`oncoscale.numerics.continuation`, then follows the limit cycles born at each Hopf
point with :mod:`oncoscale.numerics.periodic_orbits`. The result is JSON-serialisable: a list of
detected points ``{"param", "value", "type", ...}`` plus the branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oncoscale.errors import InputError
from oncoscale.models.bifurcation import BifurcationProblem
from oncoscale.numerics.bifurcation_types import CycleBranch, EquilibriumBranch
from oncoscale.numerics.continuation import continue_equilibria

#: Point types reported as bifurcations (branch ends are not).
BIFURCATION_TYPES = (
    "fold",
    "branch_point",
    "hopf",
    "fold_cycle",
    "period_doubling",
    "period_blowup",
)


@dataclass
class BifurcationDiagram:
    """Equilibrium and cycle branches of one problem over [p_min, p_max]."""

    problem: BifurcationProblem
    p_min: float
    p_max: float
    equilibria: list[tuple[str, EquilibriumBranch]] = field(default_factory=list)
    cycles: list[tuple[float, CycleBranch]] = field(default_factory=list)  # (Hopf value, branch)
    warnings: list[str] = field(default_factory=list)

    def points(self) -> list[dict[str, Any]]:
        """Detected bifurcation points inside [p_min, p_max], deduplicated, sorted by value."""
        found: list[dict[str, Any]] = []
        for name, branch in self.equilibria:
            for pt in branch.points:
                if pt.kind in BIFURCATION_TYPES:
                    found.append(_record(pt, self.problem.param, name))
        for hopf_value, branch in self.cycles:
            for pt in branch.points:
                if pt.kind in BIFURCATION_TYPES:
                    found.append(_record(pt, self.problem.param, f"cycle@{hopf_value:.6g}"))
        span = 1e-9 * max(1.0, abs(self.p_min), abs(self.p_max))
        inside = [d for d in found if self.p_min - span <= d["value"] <= self.p_max + span]
        unique: list[dict[str, Any]] = []
        for pt in sorted(inside, key=lambda d: d["value"]):
            duplicate = any(
                u["type"] == pt["type"]
                and abs(u["value"] - pt["value"]) <= 1e-8 * max(1.0, abs(pt["value"]))
                for u in unique
            )
            if not duplicate:
                unique.append(pt)
        return unique

    def hopf_points(self) -> list[dict[str, Any]]:
        """The Hopf points (with period, first Lyapunov coefficient and criticality)."""
        return [p for p in self.points() if p["type"] == "hopf"]

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable record of the whole diagram."""
        pr = self.problem
        return {
            "family": pr.family,
            "reduction": pr.reduction,
            "param": pr.param,
            "param_units": pr.param_units,
            "range": [self.p_min, self.p_max],
            "variables": list(pr.variables),
            "variable_units": list(pr.variable_units),
            "points": self.points(),
            "branches": [
                {"kind": "equilibrium", "start": name, **branch.to_dict()}
                for name, branch in self.equilibria
            ]
            + [
                {"kind": "limit_cycle", "hopf_value": value, **branch.to_dict()}
                for value, branch in self.cycles
            ],
            "warnings": list(self.warnings),
        }


def _record(point, param: str, branch: str) -> dict[str, Any]:
    """JSON record of a special point: its own fields plus the state and the branch name."""
    state = np.asarray(point.state, dtype=float).ravel()
    return {**point.to_dict(), "param": param, "state": state.tolist(), "branch": branch}


def _distance_to_polyline(points: np.ndarray, line: np.ndarray) -> np.ndarray:
    """Distance of each point (k, d) to the polyline through the rows of ``line`` (n, d)."""
    a, b = line[:-1], line[1:]
    ab = b - a
    t = np.einsum("kjd,jd->kj", points[:, None, :] - a[None], ab) / np.maximum(
        np.einsum("jd,jd->j", ab, ab), 1e-300
    )
    nearest = a[None] + np.clip(t, 0.0, 1.0)[..., None] * ab[None]
    return np.min(np.linalg.norm(points[:, None, :] - nearest, axis=2), axis=1)


def _same_branch(
    a: EquilibriumBranch, b: EquilibriumBranch, scale: np.ndarray, p_width: float
) -> bool:
    """Whether branch ``b`` lies on branch ``a`` (curves in scaled (p, x) space; a branch may
    pass through a fold, so points are compared with the whole curve, not at equal p)."""
    curve_a = np.column_stack([a.p / p_width, a.x / scale])
    curve_b = np.column_stack([b.p / p_width, b.x / scale])
    if len(curve_a) < 2:
        return False
    samples = curve_b[np.linspace(0, len(curve_b) - 1, min(len(curve_b), 7)).astype(int)]
    return bool(np.all(_distance_to_polyline(samples, curve_a) < 1e-2))


def compute_diagram(
    problem: BifurcationProblem,
    p_min: float,
    p_max: float,
    *,
    cycles: bool = True,
    ds_max: float | None = None,
) -> BifurcationDiagram:
    """Continue the problem's equilibria over [p_min, p_max] and the cycles from its Hopf points.

    Branches start from the closed-form equilibria at ``p_min`` (forward) and, for those that
    do not exist there, at ``p_max`` (backward).
    """
    if not (np.isfinite(p_min) and np.isfinite(p_max)) or p_min >= p_max:
        raise InputError(
            f"invalid range for '{problem.param}': --from {p_min:g} --to {p_max:g}; "
            "allowed: finite values with --from < --to"
        )
    diagram = BifurcationDiagram(problem, float(p_min), float(p_max))
    step = {} if ds_max is None else {"ds_max": ds_max}
    starts = [(s, p_min, "forward") for s in problem.starts(p_min)]
    names_at_min = {s.name for s, _, _ in starts}
    starts += [(s, p_max, "backward") for s in problem.starts(p_max) if s.name not in names_at_min]
    for start, p0, direction in starts:
        x0 = np.asarray(start.state, dtype=float)
        scale = np.maximum(np.abs(x0), 1e-3 * max(1.0, float(np.max(np.abs(x0)))))
        try:
            branch = continue_equilibria(
                problem.rhs,
                x0,
                p0,
                p_min,
                p_max,
                jac=problem.jac,
                dfdp=problem.dfdp,
                **step,
                direction=direction,
                x_scale=scale,
                param_name=problem.param,
            )
        except (ArithmeticError, np.linalg.LinAlgError, RuntimeError, InputError) as exc:
            diagram.warnings.append(f"branch from {start.name} at {p0:g} failed: {exc}")
            continue
        if any(_same_branch(b, branch, scale, p_max - p_min) for _, b in diagram.equilibria):
            continue
        diagram.equilibria.append((start.name, branch))
    if cycles:
        from oncoscale.numerics.periodic_orbits import continue_limit_cycles

        reached: list[float] = []  # Hopf points where an earlier cycle branch ended
        for _, branch in diagram.equilibria:
            for hopf in branch.special("hopf"):
                value = float(hopf.param_value)
                if any(abs(value - r) <= 1e-2 * max(abs(value), 1e-12) for r in reached):
                    continue  # the same cycle branch, already followed from its other end
                try:
                    cyc = continue_limit_cycles(
                        problem.rhs,
                        hopf,
                        p_min,
                        p_max,
                        jac=problem.jac,
                        param_name=problem.param,
                    )
                except (ArithmeticError, np.linalg.LinAlgError, RuntimeError) as exc:
                    diagram.warnings.append(
                        f"cycle branch from the Hopf point at {hopf.param_value:.6g} failed: {exc}"
                    )
                    continue
                diagram.cycles.append((value, cyc))
                reached += [
                    float(pt.data["hopf_estimate"])
                    for pt in cyc.points
                    if pt.kind == "endpoint" and pt.data.get("reason") == "hopf"
                ]
    return diagram
