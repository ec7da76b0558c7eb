"""What a model family hands to the bifurcation tool: a homogeneous ODE in one free parameter.

Each family that supports ``oncoscale bifurcation`` provides a builder
``bifurcation_problem(params, param, reduction=None) -> BifurcationProblem`` and names it in
its registry entry (:attr:`oncoscale.models.registry.Family.bifurcation`). The command then
continues every starting equilibrium with :mod:`oncoscale.numerics.continuation`, follows the
limit cycles born at Hopf points, and draws the diagram. Nothing here is family-specific.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

#: f(x, p) -> dx/dt for state x (1D array) at parameter value p
RHS = Callable[[np.ndarray, float], np.ndarray]
#: J(x, p) -> ∂f/∂x (square array)
Jacobian = Callable[[np.ndarray, float], np.ndarray]


@dataclass(frozen=True)
class StartingPoint:
    """An equilibrium to start a branch from: its name and state at ``param_value``."""

    name: str
    state: np.ndarray


@dataclass(frozen=True)
class BifurcationProblem:
    """A homogeneous ODE x' = f(x, p) in the free parameter ``param``.

    ``starts(p)`` returns the equilibria known in closed form at parameter value ``p`` (the
    continuation starts from them at the lower end of the requested range); ``variables`` name
    the state components with their units; ``plot_variable`` is the component drawn on the
    diagram, divided by ``plot_scale`` (e.g. u/K).
    """

    family: str
    param: str
    param_units: str
    param_value: float  # the parameter's value in the given parameter set
    rhs: RHS
    jac: Jacobian
    starts: Callable[[float], list[StartingPoint]]
    variables: tuple[str, ...]
    variable_units: tuple[str, ...]
    plot_variable: int = 0
    plot_scale: float = 1.0
    plot_label: str = ""
    reduction: str | None = None
    dfdp: Callable[[np.ndarray, float], np.ndarray] | None = None
    notes: dict[str, str] = field(default_factory=dict)
