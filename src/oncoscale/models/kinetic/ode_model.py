"""The homogeneous reductions as a representation driven by the run loop (model "ode").

The reduced system of ``params.reduction`` is integrated in scaled variables (τ = r t,
Y1 = (d21/d12) n1) with LSODA; the state and the observables are dimensional densities
(n1, n2, n3, N) at time t. Initial data: the homogeneous start of
:func:`~oncoscale.models.kinetic.equilibria.initial_levels` with the peak of the PDE seed
added to Y1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from oncoscale.models.base import HomogeneousRepresentation, VariableInfo
from oncoscale.models.kinetic.equilibria import initial_levels
from oncoscale.models.kinetic.ode import SYSTEMS, from_common, reduction_of, to_common
from oncoscale.models.kinetic.params import KineticParameters
from oncoscale.models.parameters import ParameterSet, param

OBSERVABLE_INFO: dict[str, VariableInfo] = {
    "n1": VariableInfo("1", "tumour density", "n_ref"),
    "n2": VariableInfo("1", "active immune density", "n_ref"),
    "n3": VariableInfo("1", "passive immune density", "n_ref"),
    "N": VariableInfo("1", "total immune density n2 + n3", "n_ref"),
    "Y1": VariableInfo("1", "scaled tumour density (d21/d12) n1"),
}


class ODENumerics(ParameterSet):
    """Numerical settings of the homogeneous integration (scipy LSODA)."""

    rtol: float = param(1e-9, "1", "relative tolerance", gt=0, lt=1)
    atol: float = param(1e-12, "1", "absolute tolerance (scaled variables)", gt=0)


class KineticODE(HomogeneousRepresentation):
    """Spatially homogeneous reduction; state = common coordinates (n1, n2, n3)."""

    family = "kinetic"
    model = "ode"

    def __init__(self, params: KineticParameters, numerics: dict[str, Any] | None = None):
        super().__init__(params, numerics)
        self.settings = ODENumerics.from_mapping(self.numerics, context="numerics of ode")
        self.key = reduction_of(params)
        self._nfev = 0

    def parameters_changed(self) -> None:
        self.key = reduction_of(self.params)

    def initial_state(self, rng: np.random.Generator | None = None) -> np.ndarray:
        p = self.params
        y1, n2, n3 = initial_levels(p)
        return np.array([(y1 + p.seed_amplitude) / p.tumour_scale, n2, n3])

    def advance(self, state: np.ndarray, t0: float, t1: float) -> np.ndarray:
        p = self.params
        g, r, s = p.groups(), p.rate, p.tumour_scale
        f, jac = SYSTEMS[self.key]
        y0 = from_common(self.key, np.array([state[0] * s, state[1], state[2]]))
        for method in ("LSODA", "Radau"):  # Radau: fallback when LSODA's switching fails
            sol = solve_ivp(
                lambda t, y: r * f(y, g),
                (t0, t1),
                y0,
                method=method,
                jac=lambda t, y: r * jac(y, g),
                rtol=self.settings.rtol,
                atol=self.settings.atol,
            )
            self._nfev += sol.nfev
            if sol.success:
                break
        if not sol.success:
            raise FloatingPointError(f"ODE integration failed at t = {t0}: {sol.message}")
        y1, y2, y3 = to_common(self.key, sol.y[:, -1], g)
        return np.array([y1 / s, y2, y3])

    def observables(self, state: np.ndarray) -> dict[str, float]:
        n1, n2, n3 = (float(v) for v in state)
        return {"n1": n1, "n2": n2, "n3": n3, "N": n2 + n3, "Y1": n1 * self.params.tumour_scale}

    def variable_info(self) -> dict[str, VariableInfo]:
        return dict(OBSERVABLE_INFO)

    def solver_stats(self) -> dict[str, float]:
        return {"rhs_evaluations": float(self._nfev)}

    def describe_numerics(self) -> dict[str, Any]:
        return {**self.settings.model_dump(), "reduction": self.key}
