"""Parameters of the oncolytic virus + immune model (seed 003, spec oncolytic.md §2).

One instance drives the ODE, the PDEs and the ABM. Derived quantities (the ABM move
probabilities, the ODE inflow coefficient, the inflow radius) are computed here, once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import model_validator

from oncoscale.errors import InputError
from oncoscale.models.parameters import ParameterSet, param


class OncolyticParameters(ParameterSet):
    """Seed Table 2 defaults; units mm, h, cells, µg."""

    family = "oncolytic"
    variants = {  # noqa: RUF012 (class-level table of the family)
        "paper": (
            "lysis rate of the paper's Table 2 and Appendix B, q = 8.34e-3 /h (the default)",
            {"q": 8.34e-3},
        ),
        "published-code": (
            "lysis rate of the authors' published MATLAB code and its parameter file, "
            "q = 9.34e-3 /h (spec oncolytic.md §8); the published figures came from that code",
            {"q": 9.34e-3},
        ),
    }

    p: float = param(1.87e-2, "1/h", "maximal proliferation rate of uninfected cells", ge=0)
    q: float = param(8.34e-3, "1/h", "lysis (death) rate of infected cells", ge=0)
    D: float = param(1.88e-4, "mm^2/h", "diffusion coefficient of tumour cells", gt=0)
    K: float = param(1e4, "cells/mm^2", "carrying capacity", gt=0)
    beta: float = param(1.02e-1, "1/h", "infection rate", ge=0)
    D_phi: float = param(3.33e-2, "mm^2/h", "chemoattractant diffusion coefficient", gt=0)
    phi_star: float = param(2.92, "ug/mm^2", "chemoattractant saturation density", gt=0)
    alpha_phi: float = param(
        2.50e-4, "mm^2/(h*cell)", "chemoattractant secretion by infected cells", ge=0
    )
    gamma_phi: float = param(
        5.00e-6, "mm^2/(h*cell)", "chemoattractant secretion by uninfected cells", ge=0
    )
    q_phi: float = param(8.33e-2, "1/h", "chemoattractant decay rate", ge=0)
    D_z: float = param(4.20e-3, "mm^2/h", "immune cell diffusion coefficient", gt=0)
    chi: float = param(
        0.165, "mm^4/(ug*h)", "chemotactic sensitivity (whole coefficient of div(z grad phi))", ge=0
    )
    q_z: float = param(7.50e-3, "1/h", "immune cell death rate", ge=0)
    S0: float = param(5.00e-2, "cells/(mm^2*h)", "base immune inflow", ge=0)
    alpha_z: float = param(3.75e-5, "1/(mm^2*h)", "immune inflow per infected cell", ge=0)
    zeta: float = param(0.5, "1/h", "immune killing rate of tumour cells", ge=0)
    R_u: float = param(2.6, "mm", "initial radius of uninfected cells", ge=0)
    R_i: float = param(1.0, "mm", "initial radius of infected cells (0: no virotherapy)", ge=0)
    u0_fraction: float = param(0.9, "1", "initial uninfected density as a fraction of K", ge=0)
    i0_fraction: float = param(0.1, "1", "initial infected density as a fraction of K", ge=0)
    L: float = param(10.0, "mm", "half-width of the square domain (radius of the radial one)", gt=0)
    R: float | None = param(
        None, "mm", "radius of the immune inflow region (default: L, the whole domain)", gt=0
    )
    tau: float = param(0.02, "h", "ABM time step", gt=0)
    delta: float = param(
        0.1, "mm", "ABM lattice spacing (also the front threshold 1/delta^2)", gt=0
    )
    alpha: float | None = param(
        None, "1/h", "ODE inflow per infected density (default: pi*ode_radius^2*alpha_z)", ge=0
    )
    ode_radius: float = param(5.0, "mm", "radius whose disc area converts alpha_z to alpha", gt=0)

    @model_validator(mode="after")
    def _check_geometry(self) -> OncolyticParameters:
        for name in ("R_u", "R_i"):
            if getattr(self, name) > self.L:
                value = getattr(self, name)
                msg = f"invalid value for '{name}': {value!r} mm; allowed: <= L = {self.L}"
                raise ValueError(msg)
        return self

    # ---- derived quantities (the one place for each derivation) -------------------------
    @property
    def inflow_radius(self) -> float:
        """Radius R of the immune inflow region ω = {|x| <= R} (mm)."""
        return self.L if self.R is None else self.R

    @property
    def ode_alpha(self) -> float:
        """ODE coefficient α (1/h): explicit value, else π·ode_radius²·α_z (seed Fig. 2)."""
        return self.alpha if self.alpha is not None else math.pi * self.ode_radius**2 * self.alpha_z

    @property
    def front_threshold(self) -> float:
        """Density of one cell per lattice site, 1/δ² (cells/mm²): the front detection level."""
        return 1.0 / self.delta**2

    @property
    def uninfected_front_speed(self) -> float:
        """Asymptotic uninfected front speed 2√(Dp) (mm/h)."""
        return 2.0 * math.sqrt(self.D * self.p)

    def cells_scaled_changes(self, m: float) -> dict[str, float]:
        """The parameter changes for m times as many cells: K, S0 times m, α_φ, γ_φ over m
        (β, ζ act through u/K, z/K; the inflow α_z·I scales with I). Densities scale by m,
        the PDE in units of K is unchanged; the ABM's demographic noise falls (Kδ² cells per
        site). docs/ensembles.md, 'ABM vs PDE: cells per site'."""
        if not (math.isfinite(m) and m > 0):
            raise InputError(f"invalid cell scaling m = {m!r}; allowed: a finite m > 0")
        return {
            "K": self.K * m,
            "S0": self.S0 * m,
            "alpha_phi": self.alpha_phi / m,
            "gamma_phi": self.gamma_phi / m,
        }

    def cells_scaled(self, m: float) -> OncolyticParameters:
        """The same continuum model with m times as many cells (:meth:`cells_scaled_changes`)."""
        return self.updated(**self.cells_scaled_changes(m))

    @property
    def infected_front_speed(self) -> float:
        """Infected front speed into u ≈ K, 2√(D(β−q)) (mm/h); nan if β <= q."""
        return 2.0 * math.sqrt(self.D * (self.beta - self.q)) if self.beta > self.q else math.nan


@dataclass(frozen=True)
class AbmCoefficients:
    """ABM move probabilities derived from the PDE coefficients (spec §4, 2D lattice)."""

    D_tilde: float  # δ²/(4τ), mm²/h
    theta: float  # tumour move probability per step
    theta_z: float  # immune undirected move probability per step
    nu: float  # chemotactic move coefficient


def abm_coefficients(params: OncolyticParameters) -> AbmCoefficients:
    """Map PDE coefficients to ABM probabilities: D̃ = δ²/(4τ), θ = D/D̃, θ_z = D_z/D̃, ν = χφ*/D̃.

    Raises :class:`InputError` if an undirected move probability exceeds 1.
    """
    d_tilde = params.delta**2 / (4.0 * params.tau)
    if not 0.0 < d_tilde < math.inf:
        raise InputError(
            f"invalid values for 'delta' = {params.delta!r} mm and 'tau' = {params.tau!r} h: "
            f"the lattice diffusivity delta^2/(4 tau) = {d_tilde!r} mm^2/h; allowed: positive "
            "and finite"
        )
    coeffs = AbmCoefficients(
        D_tilde=d_tilde,
        theta=params.D / d_tilde,
        theta_z=params.D_z / d_tilde,
        nu=params.chi * params.phi_star / d_tilde,
    )
    for name, value, diff in (("theta", coeffs.theta, "D"), ("theta_z", coeffs.theta_z, "D_z")):
        if value > 1.0:
            raise InputError(
                f"invalid ABM settings: move probability {name} = {diff}*4*tau/delta^2 = "
                f"{value:.4g} exceeds 1 ({diff} = {getattr(params, diff)}, tau = {params.tau}, "
                f"delta = {params.delta}); allowed: tau <= delta^2/(4*{diff}) = "
                f"{params.delta**2 / (4 * getattr(params, diff)):.4g} h"
            )
    return coeffs
