"""The homogeneous reductions as a representation driven by the run loop (model "ode").

The reduced system of ``params.reduction`` is integrated in scaled variables (τ = r t,
Y1 = (d21/d12) n1) with Radau (LSODA as fallback); the state and the observables are
dimensional densities (n1, n2, n3, N) at time t. Initial data: the homogeneous start of
:func:`~oncoscale.models.kinetic.equilibria.initial_levels` with the peak of the PDE seed
added to Y1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from oncoscale.models.base import HomogeneousRepresentation, VariableInfo
from oncoscale.models.kinetic.equilibria import initial_levels
from oncoscale.models.kinetic.ode import (
    SYSTEMS,
    SlavingBreakdown,
    check_closure,
    from_common,
    reduction_of,
    to_common,
)
from oncoscale.models.kinetic.params import KineticParameters
from oncoscale.models.parameters import ParameterSet, param

OBSERVABLE_INFO: dict[str, VariableInfo] = {
    "n1": VariableInfo("1", "tumour density", "n_ref"),
    "max_n1": VariableInfo("1", "maximum tumour density (= n1: homogeneous)", "n_ref"),
    "n2": VariableInfo("1", "active immune density", "n_ref"),
    "n3": VariableInfo("1", "passive immune density", "n_ref"),
    "N": VariableInfo("1", "total immune density n2 + n3", "n_ref"),
    "Y1": VariableInfo("1", "scaled tumour density (d21/d12) n1"),
}


#: relative distance to E·Y2 = C at which the self-limit ODE stops with an error
SLAVING_MARGIN = 1e-6


def _slaving_event(g):
    """Terminal solve_ivp event: E·Y2 reaches C (1 − SLAVING_MARGIN)."""

    def event(t, y):
        return g["C"] * (1 - SLAVING_MARGIN) - g["E"] * y[1]

    event.terminal = True
    event.direction = -1
    return event


class ODENumerics(ParameterSet):
    """Numerical settings of the homogeneous integration (scipy Radau, LSODA fallback)."""

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
        check_closure(params, self.key)
        self._nfev = 0

    def parameters_changed(self) -> None:
        self.key = reduction_of(self.params)
        check_closure(self.params, self.key)

    def initial_state(self, rng: np.random.Generator | None = None) -> np.ndarray:
        p = self.params
        y1, n2, n3 = initial_levels(p)
        return np.array([(y1 + p.seed_amplitude) / p.tumour_scale, n2, n3])

    def advance(self, state: np.ndarray, t0: float, t1: float) -> np.ndarray:
        p = self.params
        g, r, s = p.groups(), p.rate, p.tumour_scale
        f, jac = SYSTEMS[self.key]
        y0 = from_common(self.key, np.array([state[0] * s, state[1], state[2]]))
        events = None
        if self.key == "pc-self-limit":
            self._check_slaving(y0[1], g, t0)
            events = [_slaving_event(g)]
        for method in ("Radau", "LSODA"):  # Radau first: LSODA can stall in an escape
            sol = solve_ivp(
                lambda t, y: r * f(y, g),
                (t0, t1),
                y0,
                method=method,
                jac=lambda t, y: r * jac(y, g),
                rtol=self.settings.rtol,
                atol=self.settings.atol,
                events=events,
            )
            self._nfev += sol.nfev
            if sol.success:
                break
        if not sol.success:
            raise FloatingPointError(f"ODE integration failed at t = {t0}: {sol.message}")
        if sol.status == 1:  # the slaving event
            self._check_slaving(sol.y_events[0][0][1], g, float(sol.t_events[0][0]), force=True)
        y1, y2, y3 = to_common(self.key, sol.y[:, -1], g)
        return np.array([y1 / s, y2, y3])

    def _check_slaving(self, y2: float, g, t: float, force: bool = False) -> None:
        if force or g["E"] * y2 >= g["C"] * (1 - SLAVING_MARGIN):
            raise SlavingBreakdown(
                f"the self-limit closure breaks down at t = {t:.6g}: E·Y2 = b32 n2/r = "
                f"{g['E'] * y2:.6g} reaches C = d35 n5/r = {g['C']:.6g} (allowed: E·Y2 < C; "
                "beyond it the passive pool's fast dynamics is not attracting and n3 = φ(n2) "
                "has no meaning): use reduction 'linear' or the kinetic model"
            )

    def observables(self, state: np.ndarray) -> dict[str, float]:
        n1, n2, n3 = (float(v) for v in state)
        return {
            "n1": n1,
            "max_n1": n1,
            "n2": n2,
            "n3": n3,
            "N": n2 + n3,
            "Y1": n1 * self.params.tumour_scale,
        }

    def variable_info(self) -> dict[str, VariableInfo]:
        return dict(OBSERVABLE_INFO)

    def solver_stats(self) -> dict[str, float]:
        return {"rhs_evaluations": float(self._nfev)}

    def describe_numerics(self) -> dict[str, Any]:
        return {**self.settings.model_dump(), "reduction": self.key}
