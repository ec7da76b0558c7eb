"""Physics: parameters, the homogeneous ODE, the 1D PDE (Fisher-KPP with harvesting) and the
bifurcation problem in the harvesting rate h."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oncoscale.models.base import (
    HomogeneousRepresentation,
    Representation,
    VariableInfo,
    state_class,
)
from oncoscale.models.bifurcation import BifurcationProblem, StartingPoint
from oncoscale.models.parameters import ParameterSet, param
from oncoscale.numerics import fv
from oncoscale.numerics.grids import Grid1D
from oncoscale.numerics.imex import StepMemory
from oncoscale.numerics.time_schemes import make_scheme
from oncoscale.numerics.tridiagonal import solve_tridiagonal


class LogisticParameters(ParameterSet):
    """Growth rate r, capacity K, harvesting h, diffusion D on [0, L]; time in days."""

    family = "logistic"
    time_units = "day"
    time_label = "day"

    r: float = param(0.5, "1/day", "growth rate", ge=0)
    K: float = param(100.0, "cells/mm", "carrying capacity", gt=0)
    h: float = param(0.1, "1/day", "harvesting (death) rate", ge=0)
    D: float = param(0.01, "mm^2/day", "diffusion coefficient", gt=0)
    L: float = param(5.0, "mm", "domain length", gt=0)
    u0: float = param(5.0, "cells/mm", "initial density inside the seed", ge=0)
    seed_length: float = param(0.5, "mm", "initial seed [0, seed_length]", ge=0)


def rhs(u: np.ndarray, p: LogisticParameters) -> np.ndarray:
    """r u (1 − u/K) − h u."""
    return p.r * u * (1 - u / p.K) - p.h * u


INFO = {
    "u": VariableInfo("mm-1", "cell density", "cells/mm"),
    "total": VariableInfo("1", "total cells", "cells"),
    "front": VariableInfo("mm", "front position (u = K/2)"),
    "x": VariableInfo("mm", "position"),
}


class LogisticODE(HomogeneousRepresentation):
    """du/dt = r u (1 − u/K) − h u, solved exactly (closed form)."""

    family = "logistic"
    model = "ode"

    def initial_state(self, rng=None) -> np.ndarray:
        return np.array([self.params.u0])

    def advance(self, state: np.ndarray, t0: float, t1: float) -> np.ndarray:
        p, u = self.params, float(state[0])
        g = p.r - p.h  # net growth; capacity K g / r
        if u > 0 and g != 0:
            cap = p.K * g / p.r
            state[0] = cap / (1 + (cap / u - 1) * math.exp(-g * (t1 - t0)))
        elif u > 0:
            state[0] = u / (1 + p.r * u / p.K * (t1 - t0))
        return state

    def observables(self, state: np.ndarray) -> dict[str, float]:
        return {"u": float(state[0])}

    def variable_info(self) -> dict[str, VariableInfo]:
        return {"u": INFO["u"]}


@state_class
@dataclass
class PDEState:
    """Density on the cells and the adaptive scheme's step memory."""

    u: np.ndarray
    memory: StepMemory = field(default_factory=StepMemory)


class _Split:
    """Diffusion implicit (tridiagonal), reaction explicit."""

    def __init__(self, rep: LogisticPDE):
        self.rep = rep

    def freeze(self, t, y):
        pass

    def explicit(self, t, y):
        return rhs(y, self.rep.params)

    def implicit(self, t, y):
        return self.rep.diffusion.matvec(y)

    def solve(self, t, rhs_, c):
        return solve_tridiagonal(self.rep.diffusion.scaled_identity_minus(c), rhs_)

    def max_step(self, t, y):
        return math.inf


class LogisticPDE(Representation):
    """Fisher–KPP with harvesting on [0, L], zero flux (numerics: dx, solver, rtol)."""

    family = "logistic"
    model = "pde-1d"

    def __init__(self, params: LogisticParameters, numerics: dict[str, Any] | None = None):
        super().__init__(params, numerics)
        dx = float(self.numerics.get("dx", 0.05))
        self.grid = Grid1D.uniform(0.0, params.L, dx, "planar", name="dx")
        self.parameters_changed()
        self.scheme = make_scheme(
            str(self.numerics.get("solver", "imex")),
            _Split(self),
            rtol=float(self.numerics.get("rtol", 1e-6)),
            atol=1e-6 * params.K,
            dt=float(self.numerics.get("dt", 0.01)),
        )

    def parameters_changed(self) -> None:
        self.diffusion = fv.diffusion_matrix_1d(self.grid, self.params.D)

    def initial_state(self, rng=None) -> PDEState:
        p = self.params
        return PDEState(p.u0 * self.grid.cell_average_of_indicator(p.seed_length))

    def advance(self, state: PDEState, t0: float, t1: float) -> PDEState:
        state.u = self.scheme.advance(state.u, t0, t1, state.memory)
        return state

    def fields(self, state: PDEState) -> dict[str, np.ndarray]:
        return {"u": state.u}

    @property
    def field_dims(self) -> dict[str, tuple[str, ...]]:
        return {"u": ("x",)}

    def coords(self) -> dict[str, np.ndarray]:
        return {"x": self.grid.centers}

    def observables(self, state: PDEState) -> dict[str, float]:
        half = 0.5 * self.params.K
        above = np.nonzero(state.u >= half)[0]
        front = float(self.grid.centers[above[-1]]) if above.size else 0.0
        return {"total": float(self.grid.integrate(state.u)), "front": front}

    def variable_info(self) -> dict[str, VariableInfo]:
        return dict(INFO)

    def solver_stats(self) -> dict[str, float]:
        return self.scheme.stats()


def bifurcation_problem(params: LogisticParameters, param: str, reduction=None):
    """The ODE in the harvesting rate h: equilibria 0 and K(1 − h/r), transcritical at h = r."""
    if param != "h":
        from oncoscale.errors import InputError

        raise InputError(f"invalid value for '--param': {param!r}; allowed: h")
    p = params

    def f(x, h):
        return np.array([p.r * x[0] * (1 - x[0] / p.K) - h * x[0]])

    def jac(x, h):
        return np.array([[p.r * (1 - 2 * x[0] / p.K) - h]])

    def starts(h):
        return [
            StartingPoint("extinct", np.array([0.0])),
            StartingPoint("capacity", np.array([p.K * (1 - h / p.r)])),
        ]

    return BifurcationProblem(
        family="logistic",
        param="h",
        param_units="1/day",
        param_value=p.h,
        rhs=f,
        jac=jac,
        starts=starts,
        variables=("u",),
        variable_units=("cells/mm",),
        plot_scale=p.K,
        plot_label="u/K",
        dfdp=lambda x, h: np.array([-x[0]]),
    )
