"""Spatially homogeneous ODE of the oncolytic model (seed eq. 3.1, spec §5).

State vector y = (u, i, z) in cells/mm², time in h. Equations: docs/oncolytic.md, section
'Homogeneous ODE'.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from oncoscale.errors import InputError
from oncoscale.models.bifurcation import BifurcationProblem, Equilibrium, StartingPoint
from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.models.oncolytic.reactions import tumour_reactions

#: Parameters that the ODE depends on (the others are spatial or ABM-only).
ODE_PARAMETERS = ("p", "q", "K", "beta", "zeta", "q_z", "S0", "alpha", "alpha_z", "ode_radius")


def rhs(y: np.ndarray, params: OncolyticParameters) -> np.ndarray:
    """Right-hand side of eq. 3.1 (cells/(mm²·h))."""
    u, i, z = y
    du, di = tumour_reactions(u, i, z, params)
    dz = params.ode_alpha * i - params.q_z * z + params.S0
    return np.array([du, di, dz])


def jacobian(y: np.ndarray, params: OncolyticParameters) -> np.ndarray:
    """Jacobian ∂(u', i', z')/∂(u, i, z) (1/h)."""
    u, i, z = y
    p, K, beta, zeta = params.p, params.K, params.beta, params.zeta
    return np.array(
        [
            [p * (1 - (2 * u + i) / K) - beta / K * i - zeta / K * z,
             -p * u / K - beta / K * u, -zeta / K * u],
            [beta / K * i, beta / K * u - params.q - zeta / K * z, -zeta / K * i],
            [0.0, params.ode_alpha, -params.q_z],
        ]
    )  # fmt: skip


def coexistence_state(params: OncolyticParameters) -> np.ndarray:
    """Closed-form coexistence equilibrium E* (seed eq. 3.2 with the corrected u*)."""
    p, q, K, beta, zeta = params.p, params.q, params.K, params.beta, params.zeta
    qz, s, alpha = params.q_z, params.S0, params.ode_alpha
    if beta == 0:
        return np.full(3, np.nan)
    factor = zeta * (1 + p / beta)
    i_star = (K * p * qz * (beta - q) - s * beta * factor) / (
        beta * (qz * (beta + p) + alpha * factor)
    )
    z_star = (alpha * i_star + s) / qz
    u_star = (q * K + zeta * z_star) / beta
    return np.array([u_star, i_star, z_star])


def equilibria(params: OncolyticParameters) -> list[Equilibrium]:
    """The equilibria E0 (no tumour), E1 (no infection) and E* (coexistence)."""
    s, qz = params.S0, params.q_z
    if qz == 0:
        raise InputError("invalid value for 'q_z': 0.0 1/h; allowed: > 0 for equilibria")
    states = {
        "E0 (tumour-free)": np.array([0.0, 0.0, s / qz]),
        "E1 (infection-free)": np.array([params.K - params.zeta * s / (params.p * qz), 0.0, s / qz])
        if params.p > 0
        else np.full(3, np.nan),
        "E* (coexistence)": coexistence_state(params),
    }
    out = []
    for name, state in states.items():
        if not np.all(np.isfinite(state)):
            continue
        eig = np.linalg.eigvals(jacobian(state, params))
        eig = eig[np.argsort(-eig.real)]
        out.append(Equilibrium(name, state, eig, bool(np.all(state >= 0)), ("u", "i", "z")))
    return out


def system_in(
    params: OncolyticParameters, name: str
) -> tuple[Callable[[np.ndarray, float], np.ndarray], Callable[[np.ndarray, float], np.ndarray]]:
    """rhs(y, value) and jac(y, value) with parameter ``name`` set to ``value`` (continuation)."""
    if name not in ODE_PARAMETERS:
        raise InputError(
            f"invalid bifurcation parameter '{name}'; allowed: {', '.join(ODE_PARAMETERS)}"
        )

    def at(value: float) -> OncolyticParameters:
        return params.model_copy(update={name: float(value)})

    return (lambda y, v: rhs(y, at(v))), (lambda y, v: jacobian(y, at(v)))


def bifurcation_problem(
    params: OncolyticParameters, param: str, reduction: str | None = None
) -> BifurcationProblem:
    """The ODE (eq. 3.1) as a one-parameter problem for ``oncoscale bifurcation``.

    Branches start from the closed-form equilibria E1 and E*; the diagram shows u/K.
    """
    if reduction is not None:
        raise InputError(
            f"invalid value for 'reduction': '{reduction}'; the oncolytic ODE has none"
        )
    f, jac = system_in(params, param)

    def starts(value: float) -> list[StartingPoint]:
        at = params.model_copy(update={param: float(value)})
        return [
            StartingPoint(eq.name, eq.state)
            for eq in equilibria(at)
            if eq.feasible and not eq.name.startswith("E0")
        ]

    return BifurcationProblem(
        family="oncolytic",
        param=param,
        param_units=params.units_of(param),
        param_value=float(params.ode_alpha if param == "alpha" else getattr(params, param)),
        rhs=f,
        jac=jac,
        starts=starts,
        variables=("u", "i", "z"),
        variable_units=("cells/mm^2",) * 3,
        plot_variable=0,
        plot_scale=params.K,
        plot_label="u / K",
    )


#: the parameters the ODE can be continued in (the explorer lists them)
bifurcation_problem.parameters = ODE_PARAMETERS  # type: ignore[attr-defined]
