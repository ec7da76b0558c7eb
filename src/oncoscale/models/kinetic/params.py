"""Parameters of the kinetic tumour–immune family (seed 000, spec kinetic.md).

One :class:`KineticParameters` instance drives every representation of the family (ODE
reductions, macroscopic PDEs, kinetic solver). Scaled units: time ``t`` = 1/r with r = b14 n4,
length ``x`` = side of Ω = [0, 1]^d, density ``n`` = ``n_ref``. Units, the mapping to the
dimensionless groups A … I, P (and :func:`from_groups`), transport and regimes:
docs/kinetic.md, section 'Parameters and scalings'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import model_validator

from oncoscale.errors import InputError
from oncoscale.models.parameters import ParameterSet, param

Case = Literal["cc", "pc"]
Reduction = Literal["linear", "cross", "self", "self-limit"]

#: the interaction operators of spec §1 (K2 is the PC relaxation K[f2]).
OPERATORS: tuple[str, ...] = (
    "Q12",
    "Q13",
    "Q14",
    "Q21",
    "J3_12",
    "Q35",
    "J2_35",
    "Q32",
    "J3_22",
    "K2",
)

#: operators present in each case (spec §1).
CASE_OPERATORS: dict[str, tuple[str, ...]] = {
    "cc": ("Q12", "Q13", "Q14", "Q21", "J3_12", "Q35", "J2_35"),
    "pc": ("Q12", "Q13", "Q14", "Q21", "Q35", "J2_35", "Q32", "J3_22", "K2"),
}


@dataclass(frozen=True)
class Regime:
    """A hydrodynamic scaling: the ε-order of each operator.

    The kinetic equation is written in the diffusive form (spec §2 with k = 1, multiplied by
    1/ε)::

        ∂t f_i + (1/ε) v·∇x f_i = (1/ε²) L_i[f_i] + Σ_op ε^(-m_op) op[f],

    so ``fast_operators`` (m = 1) act one order faster than the macroscopic time scale and all
    other operators (m = 0) act on it. On the slides' ε^δ Q + ε^γ J + ε^η K form with k = 1 this
    is δ, γ, η = 1 - m (after dividing the slides' equation by ε).
    """

    name: str
    cases: tuple[str, ...]
    fast_operators: tuple[str, ...]
    description: str
    #: the macroscopic reduction that is the ε → 0 limit of this scaling ("" = ``name``)
    limit: str = ""
    #: the slides' macroscopic system for this scaling where it is not the limit ("" = none)
    slides: str = ""

    @property
    def limit_reduction(self) -> str:
        """The reduction the kinetic model converges to as ε → 0."""
        return self.limit or self.name

    def order(self, operator: str) -> int:
        """m such that ``operator`` enters with the factor ε^(-m) (0 or 1)."""
        if operator not in OPERATORS:
            raise InputError(f"unknown operator '{operator}'; allowed: {', '.join(OPERATORS)}")
        return 1 if operator in self.fast_operators else 0


#: the three hydrodynamic regimes of the slides (spec §2).
REGIMES: dict[str, Regime] = {
    "linear": Regime(
        name="linear",
        cases=("cc", "pc"),
        fast_operators=(),
        description=(
            "all interaction operators at the macroscopic order (turning at 1/ε²): "
            "linear diffusion ∂t n_i = Δ(D_i n_i) + R_i"
        ),
    ),
    "cross": Regime(
        name="cross",
        cases=("cc",),
        fast_operators=("Q21", "J3_12", "Q35", "J2_35"),
        description=(
            "CC: turning 1/ε², immune switching (Q21, J3_12, Q35, J2_35) 1/ε, tumour "
            "(Q12, Q13, Q14) order 1: slaved immune split, cross-diffusion ∂t N = Δ(D_eff[n1] N)"
        ),
    ),
    "self": Regime(
        name="self",
        cases=("pc",),
        fast_operators=("Q35", "Q32", "J3_22"),
        description=(
            "PC: turning 1/ε², passive dynamics (Q35, Q32, J3_22) 1/ε, the rest order 1. "
            "As a macroscopic reduction: the slides' closure, slaved split N = n2 + n3 with "
            "∂t N = Δ(D2 n2 + D3 n3) + R_N (needs b22 = b32) — not the ε → 0 limit of this "
            "scaling, which is 'self-limit'"
        ),
        limit="self-limit",
        slides="self",
    ),
    "self-limit": Regime(
        name="self-limit",
        cases=("pc",),
        fast_operators=("Q35", "Q32", "J3_22"),
        description=(
            "PC, the self scaling (as 'self') and its derived ε → 0 limit: n3 = φ(n2) = "
            "b22 n2²/(d35 n5 − b32 n2) slaved, ∂t n2 = Δ(D2 n2) + R2(n1, n2, φ(n2)) "
            "(valid while b32 n2 < d35 n5)"
        ),
        slides="self",
    ),
}

DEFAULT_REDUCTION: dict[str, str] = {"cc": "linear", "pc": "linear"}


class KineticParameters(ParameterSet):
    """Kinetic tumour–immune model, conservative (CC) or proliferative (PC) case.

    Defaults: the ``kinetic-cc-escape`` groups (A = 0.5, B = 0.5, C = 1, I = 1) with the
    spatial set-up of spec §4.
    """

    family = "kinetic"
    time_units = "1"
    time_label = "1/r"
    time_long_name = "dimensionless time, in units of 1/r (r = b14 n4, the tumour growth rate)"

    # ---- structure -----------------------------------------------------------------------
    case: Case = param("cc", "", "interaction structure: 'cc' conservative, 'pc' proliferative")
    reduction: Reduction = param(
        "linear",
        "",
        "hydrodynamic scaling: 'linear' (CC, PC), 'cross' (CC only), 'self' (PC only, the "
        "slides' closure), 'self-limit' (PC only, the ε → 0 limit of the self scaling)",
    )

    # ---- background populations ------------------------------------------------------------
    n4: float = param(1.0, "n", "host environment density (static, homogeneous)", ge=0)
    n5: float = param(1.0, "n", "cytokine density (static, homogeneous)", ge=0)

    # ---- interaction frequencies (spec §1 table) --------------------------------------------
    b14: float = param(1.0, "1/(t*n)", "tumour proliferation on meeting the host (Q14)", gt=0)
    d12: float = param(0.5, "1/(t*n)", "tumour killing by active immune cells (Q12)", ge=0)
    b13: float = param(0.5, "1/(t*n)", "tumour proliferation on meeting passive cells (Q13)", ge=0)
    d21: float = param(
        0.5, "1/(t*n)", "active-cell inactivation (CC) / death (PC) on meeting tumour (Q21)", ge=0
    )
    d35: float = param(1.0, "1/(t*n)", "passive cells leaving the passive pool via cytokines", ge=0)
    a35: float = param(
        1.0, "1/(t*n)", "PC: passive + cytokine -> active (J2_35); CC uses d35 instead", ge=0
    )
    b32: float = param(
        0.2, "1/(t*n)", "PC: passive proliferation on meeting active cells (Q32)", ge=0
    )
    b22: float = param(0.2, "1/(t*n)", "PC: two active cells generate a passive cell (J3_22)", ge=0)
    kappa2: float = param(1.0, "1/t", "PC: relaxation rate of active cells to n2_star (K)", ge=0)
    n2_star: float = param(1.0, "n", "PC: relaxation target density of active cells", ge=0)
    immune_mass: float = param(
        1.0, "n", "CC: total immune density I = n2 + n3 of the tumour-free state", gt=0
    )

    # ---- transport ----------------------------------------------------------------------
    #: diffusivities up to 1e6 x^2/t (a hostile 3e16 stalled the 2D macro solver's CG)
    D1: float = param(
        1e-4, "x^2/t", "tumour diffusivity s1^2/(d lambda1) (spec delta_1)", gt=0, le=1e6
    )
    D2: float = param(1e-3, "x^2/t", "active immune diffusivity (spec delta_2)", gt=0, le=1e6)
    D3: float = param(1e-4, "x^2/t", "passive immune diffusivity (spec delta_3)", gt=0, le=1e6)
    lambda1: float = param(1.0, "1/t", "tumour turning rate (at epsilon = 1)", gt=0)
    lambda2: float = param(1.0, "1/t", "active immune turning rate (at epsilon = 1)", gt=0)
    lambda3: float = param(1.0, "1/t", "passive immune turning rate (at epsilon = 1)", gt=0)
    epsilon: float = param(
        1e-2, "1", "Knudsen number of the diffusive scaling (kinetic solver)", gt=0, le=1
    )

    # ---- domain and initial data (spec §4) -------------------------------------------------
    length: float = param(1.0, "x", "side of the domain [0, length]^d", gt=0, le=1e6)
    seed_amplitude: float = param(0.1, "n", "peak Y1 of the Gaussian tumour seed (a)", ge=0)
    seed_sigma: float = param(0.05, "x", "width of the Gaussian tumour seed", gt=0)
    seed_x: float = param(0.5, "x", "seed centre, first coordinate", ge=0)
    seed_y: float = param(0.5, "x", "seed centre, second coordinate (2D)", ge=0)
    initial_state: Literal["tumour-free", "coexistence"] = param(
        "tumour-free",
        "",
        "start: immune cells at the stable tumour-free state (spec §4), or every population at "
        "the coexistence equilibrium E4 (PC sets without a tumour-free state); seed added on top",
    )
    escape_density: float = param(
        1e6,
        "n",
        "tumour density (anywhere) at which a run ends with the outcome 'escape' (the "
        "scenarios' stop_when protocol entry reads it); inf: never stop",
        gt=0,
        allow_inf=True,
    )
    tumour_background: float = param(
        0.0, "n", "uniform Y1 added to the seed (a > 0 with seed_amplitude 0: homogeneous)", ge=0
    )

    @model_validator(mode="after")
    def _check_structure(self) -> KineticParameters:
        regime = REGIMES[self.reduction]
        if self.case not in regime.cases:
            allowed = [r for r, g in REGIMES.items() if self.case in g.cases]
            raise ValueError(
                f"invalid value for 'reduction': {self.reduction!r} with case {self.case!r}; "
                f"allowed: {', '.join(allowed)}"
            )
        for name in ("seed_x", "seed_y"):
            if getattr(self, name) > self.length:
                raise ValueError(
                    f"invalid value for '{name}': {getattr(self, name)!r} x; "
                    f"allowed: <= length = {self.length}"
                )
        return self

    # ---- derived quantities --------------------------------------------------------------
    @property
    def rate(self) -> float:
        """r = b14 n4 (1/t): the time scale of the homogeneous reductions, tau = r t."""
        return self.b14 * self.n4

    @property
    def regime(self) -> Regime:
        """The hydrodynamic regime selected by ``reduction``."""
        return REGIMES[self.reduction]

    def groups(self) -> dict[str, float]:
        """Dimensionless groups A..I, P of the homogeneous reductions (spec §3)."""
        r = self.rate
        c = self.d35 * self.n5 / r
        e = self.b32 / r
        return {
            "A": self.d12 / r,
            "B": self.b13 / r,
            "C": c,
            "D": self.a35 * self.n5 / r,
            "E": e,
            "F": self.b22 / r,
            "G": self.kappa2 / r,
            "H": self.kappa2 * self.n2_star / r,
            "I": self.immune_mass,
            "P": e / c if c > 0 else math.inf,
        }

    def groups_text(self) -> str:
        """The groups with their definitions and values (for error messages)."""
        defs = {
            "A": "d12/r", "B": "b13/r", "C": "d35 n5/r", "D": "a35 n5/r", "E": "b32/r",
            "F": "b22/r", "G": "kappa2/r", "H": "kappa2 n2_star/r", "I": "immune_mass",
        }  # fmt: skip
        g = self.groups()
        parts = ", ".join(f"{k} = {d} = {g[k]:.4g}" for k, d in defs.items())
        return f"{parts}; r = b14 n4 = {self.rate:.4g}"

    @property
    def tumour_scale(self) -> float:
        """Y1/n1 = d21/d12 (1): the tumour variable of the reductions (1 if d12 = 0)."""
        return self.d21 / self.d12 if self.d12 > 0 else 1.0

    def diffusivities(self) -> tuple[float, float, float]:
        """(D1, D2, D3) in x^2/t."""
        return (self.D1, self.D2, self.D3)

    def turning_rates(self) -> tuple[float, float, float]:
        """(lambda1, lambda2, lambda3) in 1/t at epsilon = 1."""
        return (self.lambda1, self.lambda2, self.lambda3)

    def speed(self, population: int, dim: int) -> float:
        """Speed s_i = sqrt(d lambda_i D_i) (x/t, at epsilon = 1) of population 1, 2 or 3."""
        if population not in (1, 2, 3):
            raise InputError(f"invalid population {population!r}; allowed: 1, 2, 3")
        if dim not in (1, 2):
            raise InputError(f"invalid dimension {dim!r}; allowed: 1, 2")
        lam = self.turning_rates()[population - 1]
        diff = self.diffusivities()[population - 1]
        return math.sqrt(dim * lam * diff)


#: named parameter sets of spec §3: scenario name -> (case, groups).
NAMED_SETS: dict[str, tuple[str, dict[str, float]]] = {
    "kinetic-cc-eradication": ("cc", {"A": 2.0, "B": 0.5, "C": 1.0, "I": 1.0}),
    "kinetic-cc-escape": ("cc", {"A": 0.5, "B": 0.5, "C": 1.0, "I": 1.0}),
    "kinetic-pc-tumour-free": (
        "pc",
        {"A": 1.0, "B": 0.5, "C": 2.0, "D": 1.0, "E": 0.2, "F": 0.2, "G": 1.0, "H": 1.0},
    ),
    "kinetic-pc-coexistence": (
        "pc",
        {"A": 1.0, "B": 2.0, "C": 2.0, "D": 1.0, "E": 0.2, "F": 0.2, "G": 1.0, "H": 2.0},
    ),
    "kinetic-pc-oscillation": (
        "pc",
        {"A": 1.0, "B": 2.0, "C": 2.0, "D": 1.0, "E": 0.2, "F": 0.2, "G": 0.5, "H": 2.0},
    ),
    "kinetic-pc-window": (
        "pc",
        {"A": 3.0, "B": 5.0, "C": 2.0, "D": 0.5, "E": 0.5, "F": 0.5, "G": 0.3, "H": 0.5},
    ),
}

_GROUP_TO_PARAM = {
    "A": "d12",
    "B": "b13",
    "C": "d35",
    "D": "a35",
    "E": "b32",
    "F": "b22",
    "G": "kappa2",
    "I": "immune_mass",
}


def group_values(case: str, groups: dict[str, float]) -> dict[str, float]:
    """Dimensional parameter values giving ``groups`` (n4 = n5 = b14 = 1, d21 = d12).

    ``H`` maps to n2_star = H/G (G > 0 required when H is given).
    """
    unknown = set(groups) - set(_GROUP_TO_PARAM) - {"H"}
    if unknown:
        raise InputError(
            f"unknown group(s) {sorted(unknown)}; allowed: {', '.join([*_GROUP_TO_PARAM, 'H'])}"
        )
    values: dict[str, float] = {"case": case, "n4": 1.0, "n5": 1.0, "b14": 1.0}
    for g, v in groups.items():
        if g in _GROUP_TO_PARAM:
            values[_GROUP_TO_PARAM[g]] = float(v)
    if "A" in groups:
        values["d21"] = float(groups["A"])
    if "H" in groups:
        g_val = float(groups.get("G", KineticParameters.model_fields["kappa2"].default))
        if g_val <= 0:
            raise InputError(f"invalid group 'G': {g_val!r} with H given; allowed: > 0")
        values["n2_star"] = float(groups["H"]) / g_val
    return values


def from_groups(case: str, groups: dict[str, float], **extra) -> KineticParameters:
    """A validated parameter set with the given groups (and any other parameters in ``extra``)."""
    return KineticParameters.from_mapping({**group_values(case, groups), **extra})


def named(name: str, **extra) -> KineticParameters:
    """The named parameter set ``name`` of spec §3 (e.g. 'kinetic-pc-window')."""
    if name not in NAMED_SETS:
        raise InputError(f"unknown named parameter set '{name}'; allowed: {', '.join(NAMED_SETS)}")
    case, groups = NAMED_SETS[name]
    return from_groups(case, groups, **extra)
