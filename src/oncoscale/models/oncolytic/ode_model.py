"""The homogeneous ODE (eq. 3.1) as a representation driven by the run loop."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from oncoscale.models.base import HomogeneousRepresentation, VariableInfo
from oncoscale.models.oncolytic import ode
from oncoscale.models.oncolytic.observables import FIELD_INFO
from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.models.oncolytic.reactions import injection_fraction
from oncoscale.models.parameters import ParameterSet, param


class ODENumerics(ParameterSet):
    """Numerical settings of the ODE integration (scipy LSODA)."""

    rtol: float = param(1e-8, "1", "relative tolerance", gt=0, lt=1)
    atol: float = param(1e-6, "cells/mm^2", "absolute tolerance", gt=0)


class OncolyticODE(HomogeneousRepresentation):
    """Spatially homogeneous model: u, i, z (cells/mm²); initial state u0 = 0.9K,
    i0 = 0.1K (0 without virus, i.e. R_i = 0), z0 = 0."""

    family = "oncolytic"
    model = "ode"

    def __init__(self, params: OncolyticParameters, numerics: dict[str, Any] | None = None):
        super().__init__(params, numerics)
        self.settings = ODENumerics.from_mapping(self.numerics, context="numerics of ode")
        self._nfev = 0

    def initial_state(self, rng: np.random.Generator | None = None) -> np.ndarray:
        p = self.params
        infected = p.i0_fraction * p.K if p.R_i > 0 else 0.0
        return np.array([p.u0_fraction * p.K, infected, 0.0])

    def advance(self, state: np.ndarray, t0: float, t1: float) -> np.ndarray:
        sol = solve_ivp(
            lambda t, y: ode.rhs(y, self.params),
            (t0, t1),
            state,
            method="LSODA",
            jac=lambda t, y: ode.jacobian(y, self.params),
            rtol=self.settings.rtol,
            atol=self.settings.atol,
        )
        self._nfev += sol.nfev
        if not sol.success:
            raise FloatingPointError(f"ODE integration failed at t = {t0}: {sol.message}")
        state[:] = sol.y[:, -1]
        return state

    def observables(self, state: np.ndarray) -> dict[str, float]:
        u, i, z = (float(v) for v in state)
        return {"u": u, "i": i, "z": z, "total_tumour": u + i}

    def variable_info(self) -> dict[str, VariableInfo]:
        info = {k: FIELD_INFO[k] for k in ("u", "i", "z")}
        info["total_tumour"] = VariableInfo("mm-2", "tumour density u + i", "cells/mm^2")
        return info

    def apply_action(self, state: np.ndarray, action: str, options: dict[str, Any]):
        if action != "inject":
            return super().apply_action(state, action, options)
        f = injection_fraction(options)
        moved = f * state[0]
        state[0] -= moved
        state[1] += moved
        return {"fraction": f, "density_infected": float(moved)}

    def solver_stats(self) -> dict[str, float]:
        return {"rhs_evaluations": float(self._nfev)}
