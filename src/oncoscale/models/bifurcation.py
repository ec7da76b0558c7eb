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
class Equilibrium:
    """An equilibrium of a family's homogeneous ODE with its linear stability (the one type
    every family uses).

    ``state`` is in the ODE's own variables (named ``variables``); ``eigenvalues`` of the
    Jacobian there, sorted by real part (descending); ``feasible``: biologically admissible
    (non-negative populations). ``reduction`` names the system where a family has several;
    ``labelled`` gives the state in the family's reporting variables (e.g. the kinetic
    family's common Y1, Y2, Y3) when they differ from ``variables``.
    """

    name: str
    state: np.ndarray
    eigenvalues: np.ndarray
    feasible: bool
    variables: tuple[str, ...] = ()
    reduction: str = ""
    labelled: dict[str, float] = field(default_factory=dict)

    @property
    def stable(self) -> bool:
        """Linearly asymptotically stable (all eigenvalues with negative real part)."""
        return bool(np.max(self.eigenvalues.real) < 0)

    @property
    def kind(self) -> str:
        """'stable node', 'stable focus', 'saddle (k unstable)', 'unstable node',
        'unstable focus' or 'non-hyperbolic'."""
        re = self.eigenvalues.real
        if np.any(np.abs(re) < 1e-10):
            return "non-hyperbolic"
        focus = bool(np.any(np.abs(self.eigenvalues.imag) > 1e-12))
        if np.all(re < 0):
            return "stable focus" if focus else "stable node"
        if np.all(re > 0):
            return "unstable focus" if focus else "unstable node"
        return f"saddle ({int(np.sum(re > 0))} unstable)"

    def to_dict(self) -> dict:
        """JSON-serialisable record."""
        out: dict = {"name": self.name}
        if self.reduction:
            out["reduction"] = self.reduction
        if self.variables:
            out.update({v: float(x) for v, x in zip(self.variables, self.state, strict=True)})
        else:
            out["state"] = [float(v) for v in self.state]
        out.update({k: float(v) for k, v in self.labelled.items()})
        out.update(
            {
                "eigenvalues": [[float(e.real), float(e.imag)] for e in self.eigenvalues],
                "stable": self.stable,
                "kind": self.kind,
                "feasible": self.feasible,
            }
        )
        return out


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
