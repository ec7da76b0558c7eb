"""Macroscopic PDEs of the kinetic family (spec §2, §4): linear, cross- and self-diffusion.

Myopic diffusion Δ(φ) with zero flux on cell-centred finite volumes over Ω = [0, length]^d
(``pde-1d``, ``pde-2d``); time stepping by adaptive IMEX ARK3(2)4L[2]SA (default) or the fixed-step
schemes ``ark3-fixed``, ``imex-euler``, ``euler``. Densities in units n, time in units t.
Equations, implicit solves and solvers: docs/kinetic.md, section 'Macroscopic PDEs'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oncoscale.errors import InputError
from oncoscale.models.base import MemoryEstimate, Representation, VariableInfo, state_class
from oncoscale.models.kinetic import macro_kernels
from oncoscale.models.kinetic.equilibria import initial_levels
from oncoscale.models.kinetic.observables import totals_and_means
from oncoscale.models.kinetic.ode import SlavingBreakdown, check_closure, reduction_of
from oncoscale.models.kinetic.params import KineticParameters
from oncoscale.models.parameters import ParameterSet, param
from oncoscale.numerics.grids import CartesianGrid
from oncoscale.numerics.helmholtz import NeumannHelmholtz
from oncoscale.numerics.imex import StepMemory
from oncoscale.numerics.nonlinear_diffusion import MyopicDiffusion
from oncoscale.numerics.time_schemes import SchemeName, make_scheme, scheme_class

FIELDS = ("n1", "n2", "n3", "N")
#: reductions whose state holds n2 itself (with its stiff sink): (n1, n2, n3) or (n1, n2)
N2_STATE = ("cc-linear", "pc-linear", "pc-self-limit")
#: loss rate of n2 (1/t) above which a step's n2 is put on its slaved manifold (project)
SLAVED_RATE = 1e8
#: relative round-off of the global implicit solves (DCT, sparse LU) in the error control
ROUNDOFF = 1e-14
#: relative distance to b32 n2 = d35 n5 at which a self-limit run stops with an error
SLAVING_MARGIN = 1e-6

FIELD_INFO: dict[str, VariableInfo] = {
    "n1": VariableInfo("1", "tumour density", "n_ref"),
    "n2": VariableInfo("1", "active immune density", "n_ref"),
    "n3": VariableInfo("1", "passive immune density", "n_ref"),
    "N": VariableInfo("1", "total immune density n2 + n3", "n_ref"),
}


def _observable_info() -> dict[str, VariableInfo]:
    info = {}
    for f, v in FIELD_INFO.items():
        info[f"total_{f}"] = VariableInfo("1", f"integral of the {v.long_name}", "n_ref x length^d")
        info[f"mean_{f}"] = VariableInfo("1", f"domain mean of the {v.long_name}", "n_ref")
    info["max_n1"] = VariableInfo("1", "maximum tumour density", "n_ref")
    info["n1_seed"] = VariableInfo("1", "tumour density at the seed centre", "n_ref")
    info["min_density"] = VariableInfo(
        "1", "smallest density of any population (positivity)", "n_ref"
    )
    return info


OBSERVABLE_INFO = _observable_info()


class MacroNumerics(ParameterSet):
    """Numerical settings of the macroscopic PDE solvers."""

    solver: SchemeName = param(
        "imex",
        "",
        "time scheme by name (numerics.time_schemes): imex, ark3-fixed, imex-euler, euler",
    )
    rtol: float = param(1e-6, "1", "relative tolerance of the adaptive solver", gt=0, lt=1)
    atol: float = param(1e-8, "n", "absolute tolerance of the adaptive solver", gt=0)
    dt: float = param(1e-2, "t", "step of the fixed-step solvers", gt=0)
    dt_max: float = param(2.0, "t", "largest step of the adaptive solver", gt=0)
    dx: float | None = param(
        None, "x", "cell width (default: length/100 in 1D, length/64 in 2D)", gt=0
    )


# =======================================================================================
# split problem
# =======================================================================================
class MacroProblem:
    """Explicit reactions + implicit (possibly nonlinear) myopic diffusion, for IMEX."""

    def __init__(self, params: KineticParameters, grid: CartesianGrid, atol: float = 1e-8):
        self.grid = grid
        self.atol = atol
        self.slaving_broken_at: float | None = None
        self.helmholtz = NeumannHelmholtz(grid)
        self.myopic = MyopicDiffusion(grid)
        self.params = params
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute coefficients after a parameter change."""
        p = self.params
        self.key = reduction_of(p)
        check_closure(p, self.key)
        self.coeffs = macro_kernels.pack_coefficients(p)
        if self.key in ("cc-cross", "pc-self", "pc-self-limit") and self.coeffs[4] <= 0:
            raise InputError(
                f"invalid value for 'd35': {p.d35!r} (n5 = {p.n5!r}); allowed: d35*n5 > 0 for "
                f"the {p.reduction} closure"
            )
        if self.key in ("cc-linear", "pc-linear"):
            self.diff = np.array([p.D1, p.D2, p.D3])
        elif self.key == "pc-self-limit":
            self.diff = np.array([p.D1, p.D2])
        else:
            self.diff = np.array([p.D1])

    # ---- closures of the nonlinear diffusions ------------------------------------------
    def d_eff_cross(self, n1: np.ndarray) -> np.ndarray:
        """D_eff[n1] = (D2 k + D3 d21 n1)/(k + d21 n1) (x²/t)."""
        p, k, d21 = self.params, self.coeffs[4], self.coeffs[3]
        n1 = np.maximum(n1, 0.0)
        return (p.D2 * k + p.D3 * d21 * n1) / (k + d21 * n1)

    def phi_self(self, big_n: np.ndarray) -> np.ndarray:
        """Φ(N) = D2 n2 + D3 n3 (n·x²/t); linear extension Φ'(0) N for N < 0."""
        p, k, b = self.params, self.coeffs[4], self.coeffs[6]
        pos = np.maximum(big_n, 0.0)
        phi = (p.D2 * k * pos + p.D3 * b * pos**2) / (k + b * pos)
        return np.where(big_n >= 0, phi, p.D2 * big_n)

    def dphi_self(self, big_n: np.ndarray) -> np.ndarray:
        """Φ'(N) = (D2 k² + 2 D3 b32 k N + D3 b32² N²)/(k + b32 N)² > 0."""
        p, k, b = self.params, self.coeffs[4], self.coeffs[6]
        pos = np.maximum(big_n, 0.0)
        return (p.D2 * k * k + 2 * p.D3 * b * k * pos + p.D3 * b * b * pos**2) / (k + b * pos) ** 2

    def potentials(self, y: np.ndarray) -> np.ndarray:
        """φ with ∂t(state) = Δφ + R: (D_i n_i) or (D1 n1, D_eff N) or (D1 n1, Φ(N))."""
        if self.key in N2_STATE:
            return self.diff.reshape((-1,) + (1,) * self.grid.dim) * y
        second = self.d_eff_cross(y[0]) * y[1] if self.key == "cc-cross" else self.phi_self(y[1])
        return np.stack([self.params.D1 * y[0], second])

    def split(self, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(n2, n3) of a state."""
        return macro_kernels.split_reference(y, self.coeffs, self.key)

    # ---- stiff losses of the active immune cells (implicit) -----------------------------
    def loss_rate(self, n1: np.ndarray) -> np.ndarray:
        """q = d21 n1 (+ κ2 in PC) (1/t): the loss rate of n2, stiff when the tumour is large"""
        kappa = self.coeffs[8] if self.key.startswith("pc") else 0.0
        return self.coeffs[3] * np.maximum(n1, 0.0) + kappa

    def _psi(self, big_n: np.ndarray) -> np.ndarray:
        """n2 = ψ(N) = kN/(k + b32 N) of the self closure (ψ(N) = N for N < 0)."""
        k, b = self.coeffs[4], self.coeffs[6]
        pos = np.maximum(big_n, 0.0)
        return np.where(big_n >= 0, k * pos / (k + b * pos), big_n)

    def _dpsi(self, big_n: np.ndarray) -> np.ndarray:
        k, b = self.coeffs[4], self.coeffs[6]
        return k * k / (k + b * np.maximum(big_n, 0.0)) ** 2

    def sink(self, y: np.ndarray) -> np.ndarray:
        """The implicit loss of the immune component: q n2 (linear, self-limit), q ψ(N) (self),
        0 (cross)."""
        if self.key in N2_STATE:
            return self.loss_rate(y[0]) * y[1]
        if self.key == "pc-self":
            return self.loss_rate(y[0]) * self._psi(y[1])
        return np.zeros_like(y[1])

    def implicit_reactions(self, y: np.ndarray) -> np.ndarray:
        """The reaction terms in the implicit part: the loss q n2 of the active cells (stiff
        under a large tumour) and, in CC, the passive gain it feeds."""
        out = np.zeros_like(y)
        out[1] = -self.sink(y)
        if self.key == "cc-linear":
            out[2] = -out[1]
        return out

    def project(self, y: np.ndarray) -> np.ndarray:
        """Each step's result, put back on the slaved manifold of n2 where the tumour makes
        n2's loss extremely fast (q ≥ SLAVED_RATE): there n2 relaxes within 1/q to the
        quasi-steady value (sources + diffusive inflow)/(q + outflow), while the ARK3
        combination y + hΣb(N + L) leaves it off by O(h² × source) (its explicit source
        enters with weights of both signs): far above the true n2 ≈ source/q, or negative,
        and the next step's explicit stage q·n2 would then carry a huge, cancelling flux
        (round-off in n2 + n3). Elsewhere a negative n2 is set to 0. In CC what n2 gives up or
        gains is taken from n3, so n2 + n3 is unchanged."""
        if self.key not in N2_STATE:
            return y
        q = self.loss_rate(y[0])
        stiff = q >= SLAVED_RATE
        if not np.any(stiff) and np.min(y[1]) >= 0:
            return y
        y = y.copy()
        n2 = np.maximum(y[1], 0.0)
        if np.any(stiff):
            kappa = self.params.D2 / self.grid.spacing**2
            inflow = kappa * self.helmholtz.neighbour_sum(n2)
            outflow = kappa * self.helmholtz.neighbour_sum(np.ones(self.grid.shape))
            source = self.explicit(0.0, y)[1]
            n2 = np.where(stiff, (np.maximum(source, 0.0) + inflow) / (q + outflow), n2)
        if self.key == "cc-linear":
            y[2] += y[1] - n2
        y[1] = n2
        return y

    # ---- SplitProblem interface ---------------------------------------------------------
    def freeze(self, t: float, y: np.ndarray) -> None:
        pass

    def explicit(self, t: float, y: np.ndarray) -> np.ndarray:
        out = macro_kernels.reactions(y, self.coeffs, self.key) - self.implicit_reactions(y)
        if self.key == "pc-self-limit" and not np.all(np.isfinite(out)):
            self.slaving_broken_at = t  # a stage reached b32 n2 >= d35 n5 (φ = inf)
        return out

    def implicit(self, t: float, y: np.ndarray) -> np.ndarray:
        return self.myopic.apply(self.potentials(y)) + self.implicit_reactions(y)

    def solve(self, t: float, rhs: np.ndarray, c: float) -> np.ndarray:
        """Stage solve, sequential: n1 (diffusion only), then n2 with its stiff loss at the new
        n1, then n3 (CC: with the gain q n2 at the new n2) — exact, since the implicit part is
        triangular in this order."""
        p = self.params
        # not a DCT: its round-off, ~1e-16 max n1 in every cell, would seed tumours far from
        # an escaping one (n1 ~ 1e20), which then grow; the positive Jacobi solve is exact
        # in each cell relative to its own value (and D1 is small: a few iterations)
        n1 = self.helmholtz.solve_positive(np.maximum(rhs[0], 0.0), c, p.D1)
        if self.key in N2_STATE:
            q = self.loss_rate(n1)
            n2 = self.myopic.solve_linear(p.D2, rhs[1], c, q)
            if self.key == "pc-self-limit":
                return np.stack([n1, n2])
            rhs3 = rhs[2] + c * q * n2 if self.key == "cc-linear" else rhs[2]
            # not clipped: in CC that would break the conservation of n2 + n3
            return np.stack([n1, n2, self.helmholtz.solve(rhs3, c, p.D3)])
        if self.key == "cc-cross":
            big_n = self.myopic.solve_linear(self.d_eff_cross(n1), rhs[1], c)
        else:
            q = self.loss_rate(n1)
            big_n = self.myopic.solve_nonlinear(
                self.phi_self,
                self.dphi_self,
                rhs[1],
                c,
                sink=lambda v: q * self._psi(v),
                dsink=lambda v: q * self._dpsi(v),
            )
        return np.stack([n1, big_n])

    def max_step(self, t: float, y: np.ndarray) -> float:
        return math.inf

    def negative_tolerance(self, y: np.ndarray) -> np.ndarray:
        """How negative an accepted step may leave each component: atol, or the round-off of
        the global solves, ROUNDOFF·max|y_i|, where that is larger (an escaping tumour)."""
        axes = tuple(range(1, y.ndim))
        return np.maximum(self.atol, ROUNDOFF * np.max(np.abs(y), axis=axes, keepdims=True))

    def filter_error(self, t: float, y: np.ndarray, err: np.ndarray, c: float) -> np.ndarray:
        """The embedded error estimate filtered through (I − cL)⁻¹ with L frozen at y (stiff,
        slaved components such as n2 under a large tumour are not over-estimated; Hairer &
        Wanner IV.8), then entries below the round-off of the global solves,
        ROUNDOFF·max|y_i|, set to 0 (an escaping tumour, n1 ~ 1e9, leaves absolute round-off
        ~1e-7 in every cell: no step size can control that)."""
        p = self.params
        out = np.empty_like(err)
        out[0] = self.helmholtz.solve(err[0], c, p.D1)
        if self.key in N2_STATE:
            q = self.loss_rate(y[0])
            out[1] = self.myopic.solve_linear(p.D2, err[1], c, q)
            if self.key == "cc-linear":  # n3 receives the implicit loss of n2 (triangular L)
                out[2] = self.helmholtz.solve(err[2] + c * q * out[1], c, p.D3)
            elif self.key == "pc-linear":
                out[2] = self.helmholtz.solve(err[2], c, p.D3)
        elif self.key == "cc-cross":
            out[1] = self.myopic.solve_linear(self.d_eff_cross(y[0]), err[1], c)
        else:
            q = self.loss_rate(y[0]) * self._dpsi(y[1])
            out[1] = self.myopic.solve_linear(self.dphi_self(y[1]), err[1], c, q)
        axes = tuple(range(1, y.ndim))
        floor = ROUNDOFF * np.max(np.abs(y), axis=axes, keepdims=True)
        return np.where(np.abs(out) <= floor, 0.0, out)

    def explicit_stability_limit(self) -> float:
        """dx²/(2 d max D): the explicit Euler diffusion limit (t)."""
        p = self.params
        return self.grid.spacing**2 / (2 * self.grid.dim * max(p.D1, p.D2, p.D3))


# =======================================================================================
# representations
# =======================================================================================
@state_class
@dataclass
class MacroState:
    """Fields (n_var, *space) plus the adaptive scheme's step memory."""

    y: np.ndarray
    memory: StepMemory = field(default_factory=StepMemory)


class MacroPDE(Representation):
    """Common machinery of ``pde-1d`` and ``pde-2d``."""

    family = "kinetic"
    dim = 1
    default_cells = 100

    def __init__(self, params: KineticParameters, numerics: dict[str, Any] | None = None):
        super().__init__(params, numerics)
        self.settings = MacroNumerics.from_mapping(
            self.numerics, context=f"numerics of {self.model}"
        )
        dx = (
            self.settings.dx if self.settings.dx is not None else params.length / self.default_cells
        )
        self.grid = CartesianGrid.cell_centred(0.0, params.length, dx, self.dim)
        self.require_memory()  # the grid is only its shape so far
        self.problem = MacroProblem(params, self.grid, self.settings.atol)
        self._build_scheme()

    def memory_estimate(self) -> MemoryEstimate:
        """State y (3 fields; 2 for the nonlinear reductions: counted as 3), the time scheme's
        stage arrays, the DCT eigenvalues and diffusion workspace (4 fields); a snapshot is
        n1, n2, n3, N."""
        field_bytes = 8.0 * float(np.prod(self.grid.shape))
        state = 3 * field_bytes
        copies = scheme_class(self.settings.solver).work_copies
        return MemoryEstimate(
            {
                "state": state,
                "step work": copies * state,
                "operators": 4 * field_bytes,
                "snapshot": 4 * field_bytes,
            }
        )

    def _build_scheme(self) -> None:
        s = self.settings
        self.scheme = make_scheme(
            s.solver,
            self.problem,
            rtol=s.rtol,
            atol=s.atol,
            dt=s.dt,
            dt_max=s.dt_max,
            negative_tolerance=self.problem.negative_tolerance,
        )
        if scheme_class(s.solver).explicit and s.dt > self.problem.explicit_stability_limit():
            raise InputError(
                f"invalid value for 'dt': {s.dt!r} t; the explicit Euler solver is unstable above "
                f"dx^2/(2*dim*max(D1, D2, D3)) = {self.problem.explicit_stability_limit():.4g} t"
            )

    # ---- interface ----------------------------------------------------------------------
    def initial_state(self, rng: np.random.Generator | None = None) -> MacroState:
        p = self.params
        r2 = sum((m - c) ** 2 for m, c in zip(self.grid.mesh(), (p.seed_x, p.seed_y), strict=False))
        y1, n2, n3 = initial_levels(p)
        n1 = (y1 + p.seed_amplitude * np.exp(-r2 / (2 * p.seed_sigma**2))) / p.tumour_scale
        if self.problem.key in ("cc-linear", "pc-linear"):
            y = np.stack([n1, np.full_like(n1, n2), np.full_like(n1, n3)])
        elif self.problem.key == "pc-self-limit":
            y = np.stack([n1, np.full_like(n1, n2)])
        else:
            y = np.stack([n1, np.full_like(n1, n2 + n3)])
        return MacroState(y)

    def advance(self, state: MacroState, t0: float, t1: float) -> MacroState:
        self._check_slaving(state.y, t0)
        self.problem.slaving_broken_at = None
        try:
            state.y = self.scheme.advance(state.y, t0, t1, state.memory)
        except FloatingPointError as exc:
            self._check_slaving(state.y, t0, near=1e-2)
            if self.problem.slaving_broken_at is not None:
                raise SlavingBreakdown(
                    f"the self-limit closure breaks down near t = "
                    f"{self.problem.slaving_broken_at:.6g}: b32 n2 reaches d35 n5 = "
                    f"{self.problem.coeffs[4]:.6g} (E·Y2 >= C; allowed: b32 n2 < d35 n5, where "
                    "the passive pool's fast dynamics is attracting and n3 = φ(n2) is "
                    "defined): use reduction 'linear' or the kinetic model"
                ) from exc
            raise FloatingPointError(
                f"{exc}; max n1 = {np.max(state.y[0]):.3g} at t = {t0:g}"
            ) from exc
        self._check_slaving(state.y, t1)
        return state

    def _check_slaving(self, y: np.ndarray, t: float, near: float = SLAVING_MARGIN) -> None:
        """SlavingBreakdown if the self-limit state reaches b32 n2 = d35 n5 (1 − near)."""
        if self.problem.key != "pc-self-limit":
            return
        k, b32 = self.problem.coeffs[4], self.problem.coeffs[6]
        top = float(np.max(y[1]))
        if b32 * top >= k * (1 - near):
            raise SlavingBreakdown(
                f"the self-limit closure breaks down near t = {t:.6g}: b32 n2 = {b32 * top:.6g} "
                f"reaches d35 n5 = {k:.6g} (E·Y2 >= C; allowed: b32 n2 < d35 n5, where the "
                "passive pool's fast dynamics is attracting and n3 = φ(n2) is defined): use "
                "reduction 'linear' or the kinetic model"
            )

    def fields(self, state: MacroState) -> dict[str, np.ndarray]:
        y = state.y
        n2, n3 = self.problem.split(y)
        if y.shape[0] == 3:
            big_n = y[1] + y[2]
        elif self.problem.key == "pc-self-limit":
            big_n = y[1] + n3
        else:
            big_n = y[1]
        return {"n1": y[0], "n2": np.asarray(n2), "n3": np.asarray(n3), "N": big_n}

    def observables(self, state: MacroState) -> dict[str, float]:
        f = self.fields(state)
        out = totals_and_means(f, self.grid, self.params.length**self.dim)
        out["max_n1"] = float(np.max(f["n1"]))
        out["n1_seed"] = float(f["n1"][self._seed_index()])
        out["min_density"] = float(min(np.min(state.y), np.min(f["n2"]), np.min(f["n3"])))
        return out

    def _seed_index(self) -> tuple[int, ...]:
        p = self.params
        centre = (p.seed_x, p.seed_y)[: self.dim]
        return tuple(int(np.argmin(np.abs(self.grid.axis(a) - centre[a]))) for a in range(self.dim))

    def variable_info(self) -> dict[str, VariableInfo]:
        coords = {
            "x": VariableInfo("1", "position", "domain length"),
            "y": VariableInfo("1", "position (2nd axis)", "domain length"),
        }
        return {**FIELD_INFO, **OBSERVABLE_INFO, **{k: coords[k] for k in self.coords()}}

    @property
    def field_dims(self) -> dict[str, tuple[str, ...]]:
        return dict.fromkeys(FIELDS, ("x", "y")[: self.dim])

    def coords(self) -> dict[str, np.ndarray]:
        return {name: self.grid.axis(a) for a, name in enumerate(("x", "y")[: self.dim])}

    def parameters_changed(self) -> None:
        old_key = self.problem.key
        self.problem.params = self.params
        self.problem.rebuild()
        if self.problem.key != old_key:
            raise InputError("the reduction cannot change during a run (the state layout differs)")

    def solver_stats(self) -> dict[str, float]:
        return {**self.scheme.stats(), **self.problem.myopic.stats.as_dict()}

    def describe_numerics(self) -> dict[str, Any]:
        out = {k: v for k, v in self.settings.model_dump().items() if v is not None}
        return {**out, "dx": self.grid.spacing, "reduction": self.problem.key}


class MacroPDE1D(MacroPDE):
    """Macroscopic PDE on [0, length] (zero flux at both ends)."""

    model = "pde-1d"
    dim = 1
    default_cells = 100


class MacroPDE2D(MacroPDE):
    """Macroscopic PDE on [0, length]² (zero flux on the walls)."""

    model = "pde-2d"
    dim = 2
    default_cells = 64
