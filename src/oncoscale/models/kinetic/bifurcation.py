"""The homogeneous reductions as one-parameter problems for ``oncoscale bifurcation``.

The free parameter is either a dimensionless group (A, B, C, D, E, F, G, H, I) or a
dimensional parameter of :class:`KineticParameters` (d12, b13, kappa2, ...); the state is the
reduced state in scaled variables (:mod:`oncoscale.models.kinetic.ode`), time τ = r t.
Branches start from the feasible closed-form equilibria (:mod:`.equilibria`); the exact
bifurcation values known for the problem (AI = 1, B̃, B̄) are listed in ``notes`` so that the
continuation can be checked against them.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from oncoscale.errors import InputError
from oncoscale.models.bifurcation import BifurcationProblem, StartingPoint
from oncoscale.models.kinetic.equilibria import b_bar, b_tilde, equilibria, transcritical_value
from oncoscale.models.kinetic.ode import SYSTEMS, VARIABLES, check_closure, reduction_of
from oncoscale.models.kinetic.params import KineticParameters

GROUPS = ("A", "B", "C", "D", "E", "F", "G", "H", "I")
#: dimensional parameters the homogeneous reductions depend on
ODE_PARAMETERS = (
    "n4", "n5", "b14", "d12", "b13", "d21", "d35", "a35", "b32", "b22", "kappa2", "n2_star",
    "immune_mass",
)  # fmt: skip


def groups_at(params: KineticParameters, param: str) -> Callable[[float], dict[str, float]]:
    """value ↦ groups with ``param`` (a group or a dimensional parameter) set to value."""
    base = params.groups()
    if param in GROUPS:

        def with_group(value: float) -> dict[str, float]:
            g = {**base, param: float(value)}
            g["P"] = g["E"] / g["C"] if g["C"] > 0 else math.inf
            return g

        return with_group
    if param in ODE_PARAMETERS:
        return lambda value: params.model_copy(update={param: float(value)}).groups()
    raise InputError(
        f"invalid bifurcation parameter '{param}'; allowed: {', '.join(GROUPS)} "
        f"or {', '.join(ODE_PARAMETERS)}"
    )


def exact_values(params: KineticParameters, param: str, key: str) -> dict[str, float]:
    """Bifurcation values of ``param`` known exactly (closed form or eigenvalue bisection)."""
    g = params.groups()
    out: dict[str, float] = {}
    if key.startswith("cc") and param in ("A", "I"):
        out["transcritical AI = 1"] = transcritical_value(g, param)
    if key.startswith("pc") and param == "B":
        out["B_tilde (E3/E4 fold)"] = b_tilde(g, key)
        bb = b_bar(g, key)
        if math.isfinite(bb):
            out["B_bar (E4 stability change)"] = bb
    return out


def bifurcation_problem(
    params: KineticParameters, param: str, reduction: str | None = None
) -> BifurcationProblem:
    """A homogeneous reduction of ``params`` (default: ``params.reduction``) in ``param``."""
    key = reduction_of(params, reduction)
    check_closure(params, key)
    at = groups_at(params, param)
    f, jac = SYSTEMS[key]

    def starts(value: float) -> list[StartingPoint]:
        return [
            StartingPoint(eq.name, eq.state.copy())
            for eq in equilibria(key, at(value), feasible_only=True)
        ]

    value = params.groups()[param] if param in GROUPS else float(getattr(params, param))
    units = "1" if param in GROUPS else params.units_of(param)
    notes = {name: f"{v:.10g}" for name, v in exact_values(params, param, key).items()}
    notes["reduction"] = key
    return BifurcationProblem(
        family="kinetic",
        param=param,
        param_units=units,
        param_value=float(value),
        rhs=lambda x, p: f(np.asarray(x, dtype=float), at(p)),
        jac=lambda x, p: jac(np.asarray(x, dtype=float), at(p)),
        starts=starts,
        variables=VARIABLES[key],
        variable_units=("1",) * len(VARIABLES[key]),
        plot_variable=0,
        plot_scale=1.0,
        plot_label="Y1 (scaled tumour density)",
        reduction=key.split("-", 1)[1],
        notes=notes,
    )


#: the parameters the reductions can be continued in: groups first (the explorer lists them)
bifurcation_problem.parameters = GROUPS + ODE_PARAMETERS  # type: ignore[attr-defined]
