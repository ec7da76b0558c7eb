"""Parameters of the continuous individual-based invasion model (seed 004, spec invasion.md §4).

One instance drives the IBM (``ibm``) and the age-structured PDE (``pde``). Time and age are in
days, length in the nondimensional unit ``len`` of the domain [0, L]^dim (L = 10). The functional
forms the seed leaves open (division rate, necrosis, P<->Q switching) are written here once as
vectorised functions of the parameters (:func:`division_rate`, :func:`necrosis_rate`,
:func:`quiescence_probability`, :func:`reactivation_rate`); their constants are parameters so the
published forms can be dropped in later.
"""

from __future__ import annotations

import math

import numpy as np
from pydantic import field_validator, model_validator

from oncoscale.models.parameters import ParameterSet, param

#: number of phenotypes (0 = wild type ... 4 = most aggressive)
N_PHENOTYPES = 5
#: compartment codes used by both representations
PROLIFERATING, QUIESCENT = 0, 1
#: allowed values of the string parameters
CHOICES = {
    "diffusion_convention": ("pde", "literal"),
    "boundary": ("reflecting", "open"),
    "mm_case": ("homogeneous", "heterogeneous"),
}


def check_choice(name: str, value: object, allowed: tuple) -> object:
    """Return ``value`` if it is one of ``allowed``, else raise a ValueError naming both."""
    if value not in allowed:
        raise ValueError(
            f"invalid value for '{name}': {value!r}; allowed: {', '.join(map(str, allowed))}"
        )
    return value


class InvasionParameters(ParameterSet):
    """Spec §4 defaults (days, len = domain length unit, densities = mass/len^dim)."""

    family = "invasion"
    time_units = "day"
    time_label = "day"

    # ---- cells (spec §4 table) -------------------------------------------------------------
    D_n: float = param(5e-4, "len^2/day", "cell diffusivity of the wild type", ge=0)
    rho: float = param(0.02, "len^(2+dim)/(mass*day)", "haptotaxis coefficient (wild type)", ge=0)
    aggressiveness: tuple[float, ...] = param(
        (1.0, 1.5, 2.0, 2.5, 3.0),
        "1",
        "phenotype factors w_i (scale D_n, rho, kappa, omega), one per phenotype 0..4",
    )
    t_m: float = param(0.1, "1", "mutation probability per daughter (i -> i+1)", ge=0, le=1)
    # ---- matrix (MM), enzymes (MDE), oxygen (O2) ---------------------------------------------
    eta: float = param(1.0, "len^dim/(mass*day)", "MM degradation rate per MDE density", ge=0)
    D_m: float = param(0.01, "len^2/day", "MDE diffusivity", ge=0)
    kappa: float = param(0.5, "1/day", "MDE production per cell density", ge=0)
    sigma_m: float = param(0.1, "1/day", "MDE decay rate", ge=0)
    D_o: float = param(0.25, "len^2/day", "O2 diffusivity", ge=0)
    nu: float = param(0.25, "1/day", "O2 production per MM density", ge=0)
    phi: float = param(0.025, "1/day", "O2 decay rate", ge=0)
    omega: float = param(0.5, "1/day", "O2 uptake per cell density", ge=0)
    K_O: float = param(0.05, "mass/len^dim", "O2 uptake saturation constant (PDE)", gt=0)
    # ---- rate functions (spec §2; the seed's missing eq. (2) as decisions) -------------------
    pr_amplitude: float = param(10.0, "len^dim/(mass*day)", "division rate prefactor", ge=0)
    pr_decay: float = param(10.0, "1/day", "division rate age decay e^{-decay (a - 1)}", ge=0)
    pr_power: float = param(5.0, "1", "exponent of (2a - 1) in the division rate", ge=0)
    pr_age_min: float = param(0.5, "day", "minimum age for division", ge=0)
    pr_age_max: float = param(6.0, "day", "maximum age for division", gt=0)
    mu_max: float = param(1.0, "1/day", "necrosis rate at zero oxygen", ge=0)
    c_necrosis: float = param(1.0, "mass/len^dim", "O2 level above which no necrosis", gt=0)
    c_quiescence: float = param(
        2.0, "mass/len^dim", "O2 level above which a division never yields quiescence", gt=0
    )
    qp_rate: float = param(1.0, "len^dim/(mass*day)", "Q->P rate per O2 above threshold", ge=0)
    c_reactivation: float = param(1.0, "mass/len^dim", "O2 threshold for Q->P", ge=0)
    # ---- IBM particles and perception ---------------------------------------------------------
    M_cell: float = param(0.05, "mass", "mass of one tumour cell particle", gt=0)
    M_MM: float = param(1e-4, "mass", "mass of one MM particle", gt=0)
    M_O2: float = param(2e-3, "mass", "mass of one O2 particle", gt=0)
    M_MDE: float = param(5e-3, "mass", "mass of one MDE particle", gt=0)
    perception: float = param(0.125, "len", "half-width Delta of the perception window", gt=0)
    dt: float = param(0.01, "day", "IBM time step (the PDE's in 2D)", gt=0)
    dt_pde_3d: float = param(0.005, "day", "PDE time step in 3D", gt=0)
    diffusion_convention: str = param(
        "pde",
        "",
        "'pde': Brownian step sqrt(2 D dt) (D a PDE diffusivity); 'literal': the seed's sqrt(D dt)",
    )
    boundary: str = param(
        "reflecting", "", "particle boundary: reflecting walls or open (particles leave S)"
    )
    # ---- domain and grids ----------------------------------------------------------------
    L: float = param(10.0, "len", "side of the square/cubic domain [0, L]^dim", gt=0)
    dx_2d: float = param(0.125, "len", "PDE / binning grid spacing in 2D", gt=0)
    dx_3d: float = param(1.0 / 12.0, "len", "PDE / binning grid spacing in 3D", gt=0)
    a_max: float = param(8.0, "day", "maximum age of the PDE age grid", gt=0)
    # ---- initial conditions (spec §5) ------------------------------------------------------
    mm_case: str = param("homogeneous", "", "initial MM: (A) homogeneous or (B) two Gaussian peaks")
    cell_mass0: float = param(
        5.0, "mass", "initial tumour mass (IBM: cell_mass0/M_cell cells)", gt=0
    )
    cell_sigma0: float = param(1.0, "len", "width of the initial Gaussian cell density", gt=0)
    cell_age_max0: float = param(2.0, "day", "initial ages uniform on [0, cell_age_max0]", ge=0)
    cell_truncation0: float = param(
        3.0, "len", "PDE: initial Gaussian truncated at this radius and rescaled", gt=0
    )
    mde_fraction0: float = param(0.5, "1", "initial MDE density / proliferating density", ge=0)
    f0: float = param(0.3, "mass/len^dim", "homogeneous MM density (case A)", ge=0)
    f_base: float = param(0.2, "mass/len^dim", "MM background of case B", ge=0)
    f_peak: float = param(0.3, "mass", "mass of each Gaussian MM peak of case B", ge=0)
    f_peak_sigma: float = param(1.0, "len", "width of the MM peaks of case B", gt=0)
    f_peak_offset: float = param(
        2.5, "len", "MM peaks at (offset, ...) and (L - offset, ...) along the diagonal", ge=0
    )

    @field_validator("diffusion_convention", "boundary", "mm_case")
    @classmethod
    def _choices(cls, value: str, info) -> str:
        return check_choice(info.field_name, value, CHOICES[info.field_name])

    @model_validator(mode="after")
    def _check(self) -> InvasionParameters:
        if len(self.aggressiveness) != N_PHENOTYPES or min(self.aggressiveness) < 0:
            raise ValueError(
                f"invalid value for 'aggressiveness': {self.aggressiveness!r}; allowed: "
                f"{N_PHENOTYPES} values >= 0"
            )
        if self.pr_age_max <= self.pr_age_min:
            raise ValueError(
                f"invalid value for 'pr_age_max': {self.pr_age_max!r} day; allowed: > "
                f"pr_age_min = {self.pr_age_min}"
            )
        if 2.0 * self.perception >= self.L:
            raise ValueError(
                f"invalid value for 'perception': {self.perception!r} len; allowed: < L/2 = "
                f"{self.L / 2}"
            )
        if self.f_peak_offset > self.L:
            raise ValueError(
                f"invalid value for 'f_peak_offset': {self.f_peak_offset!r} len; allowed: <= L"
            )
        return self

    # ---- derived quantities ---------------------------------------------------------------
    @property
    def w(self) -> np.ndarray:
        """Phenotype factors w_i as an array of length 5."""
        return np.asarray(self.aggressiveness, dtype=float)

    @property
    def o2_equilibrium_ratio(self) -> float:
        """ν/φ: O2 at equilibrium with MM density f and no cells is (ν/φ) f."""
        return self.nu / self.phi if self.phi > 0 else math.inf

    @property
    def n_cells0(self) -> int:
        """Initial number of IBM cells, cell_mass0/M_cell (100 with the defaults)."""
        return max(1, round(self.cell_mass0 / self.M_cell))

    @property
    def brownian_factor(self) -> float:
        """Brownian step is sqrt(factor · D · dt): 2 for the PDE convention, 1 literal."""
        return 2.0 if self.diffusion_convention == "pde" else 1.0

    def grid_spacing(self, dim: int) -> float:
        """Spacing of the PDE / binning grid in ``dim`` dimensions (spec §3)."""
        return self.dx_2d if dim == 2 else self.dx_3d

    def pde_time_step(self, dim: int) -> float:
        """PDE time step in ``dim`` dimensions (spec §3: 0.01 in 2D, 0.005 in 3D)."""
        return self.dt if dim == 2 else self.dt_pde_3d


# ---- rate functions (NumPy, vectorised; the IBM kernels inline the same formulas) -------------
def division_rate(a: np.ndarray, c: np.ndarray, p: InvasionParameters) -> np.ndarray:
    """pr(a, c) = A c e^{−k(a−1)} (2a − 1)^q on pr_age_min < a < pr_age_max, else 0 (1/day)."""
    a = np.asarray(a, dtype=float)
    c = np.asarray(c, dtype=float)
    inside = (a > p.pr_age_min) & (a < p.pr_age_max)
    base = np.where(inside, 2.0 * a - 1.0, 0.0)
    shape = np.where(
        inside,
        np.exp(-p.pr_decay * (a - 1.0)) * np.abs(base) ** p.pr_power * np.sign(base),
        0.0,
    )
    return p.pr_amplitude * np.maximum(c, 0.0) * shape


def necrosis_rate(c: np.ndarray, p: InvasionParameters) -> np.ndarray:
    """μ*(c) = μ_max · max(1 − c/c_n, 0) (1/day); the spec's max(1 − c, 0) by default."""
    return p.mu_max * np.maximum(1.0 - np.asarray(c, dtype=float) / p.c_necrosis, 0.0)


def quiescence_probability(c: np.ndarray, p: InvasionParameters) -> np.ndarray:
    """t_pq(c) = clip(1 − c/c_q, 0, 1): probability that a division event yields quiescence."""
    return np.clip(1.0 - np.asarray(c, dtype=float) / p.c_quiescence, 0.0, 1.0)


def reactivation_rate(c: np.ndarray, p: InvasionParameters) -> np.ndarray:
    """t_qp(c) = k_qp · max(c − c_r, 0): quiescent → proliferating rate (1/day)."""
    return p.qp_rate * np.maximum(np.asarray(c, dtype=float) - p.c_reactivation, 0.0)


def event_probability(rate: np.ndarray, dt: float) -> np.ndarray:
    """Probability 1 − e^{−λ dt} that an event of rate λ fires in one step (spec §2)."""
    return -np.expm1(-np.asarray(rate, dtype=float) * dt)
