"""Continuum (PDE) oncolytic model, seed eqs. 2.5 / 2.7 (spec §3).

Conservative finite volumes with zero-flux walls; state (4, ...) of u, i, z (cells/mm²) and
φ (µg/mm²), time in h, lengths in mm; geometries ``pde-radial``, ``pde-1d``, ``pde-2d``.
Adaptive IMEX time stepping (default) or the seed's explicit Euler (``solver = "euler"``).
Scheme and details: docs/oncolytic.md, section 'Numerics'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from oncoscale.errors import InputError
from oncoscale.models.base import MemoryEstimate, Representation, VariableInfo, state_class
from oncoscale.models.oncolytic import observables as obs
from oncoscale.models.oncolytic import pde_kernels
from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.models.oncolytic.reactions import (
    chemoattractant_production,
    injection_fraction,
    tumour_reactions,
)
from oncoscale.models.parameters import ParameterSet, param
from oncoscale.numerics import flux2d, fv
from oncoscale.numerics.grids import CartesianGrid, Grid1D
from oncoscale.numerics.helmholtz import NeumannHelmholtz
from oncoscale.numerics.imex import StepMemory, explicit_stability_interval
from oncoscale.numerics.time_schemes import SchemeName, make_scheme, scheme_class
from oncoscale.numerics.tridiagonal import Tridiagonal, solve_tridiagonal

FIELDS = ("u", "i", "z", "phi")


class PDENumerics(ParameterSet):
    """Numerical settings of the oncolytic PDE solvers."""

    solver: SchemeName = param(
        "imex",
        "",
        "time scheme by name (numerics.time_schemes): imex, ark3-fixed, imex-euler, euler",
    )
    rtol: float | None = param(
        None,
        "1",
        "relative tolerance of the adaptive solver (default: 1e-6 in 1D, 1e-4 in 2D)",
        gt=0,
        lt=1,
    )
    atol: float | None = param(
        None,
        "cells/mm^2",
        "absolute tolerance for u, i, z, phi scaled by phi_star/K (default: 1e-2 in 1D, 1 in 2D)",
        gt=0,
    )
    dt: float = param(1e-4, "h", "fixed step of the explicit Euler solver", gt=0)
    dt_max: float = param(5.0, "h", "largest step of the adaptive solver", gt=0)
    dr: float = param(0.01, "mm", "cell width of the radial and planar grids", gt=0)
    dx: float | None = param(
        None, "mm", "cell width of the 2D grid (default: the lattice spacing delta)", gt=0
    )
    length: float | None = param(None, "mm", "length of the planar domain (default: L)", gt=0)
    chemotaxis: Literal["sg", "upwind"] = param(
        "sg", "", "chemotactic flux: Scharfetter-Gummel, or upwind (the ABM's mean field)"
    )
    cfl: float = param(
        0.9, "1", "safety factor on the stability limit of the explicit terms (2D)", gt=0, le=1
    )
    transport: Literal["implicit", "explicit"] = param(
        "implicit",
        "",
        "2D immune drift-diffusion: implicit (frozen drift, BiCGSTAB + ADI per stage) or "
        "explicit under a CFL limit (the scheme before issue 12)",
    )
    diffusion: Literal["fitted", "central"] | None = param(
        None,
        "",
        "tumour-cell diffusion fluxes: exponentially fitted or central "
        "(default: fitted in 2D, central in 1D)",
    )
    solve_tol: float = param(
        1e-3, "1", "RMS residual of the implicit immune solves, as a fraction of atol", gt=0, lt=1
    )


# =======================================================================================
# split problems (what the IMEX integrator needs)
# =======================================================================================
class _Common:
    """Explicit reaction and inflow terms, shared by all geometries."""

    params: OncolyticParameters
    inflow_region: np.ndarray

    def _integrate(self, f: np.ndarray) -> float:
        raise NotImplementedError

    def reactions(self, y: np.ndarray) -> np.ndarray:
        """Explicit non-transport terms: growth, infection, killing, inflow, secretion."""
        u, i, z, phi = y
        p = self.params
        du, di = tumour_reactions(u, i, z, p)
        source = (p.S0 + p.alpha_z * self._integrate(i)) * self.inflow_region
        return np.stack([du, di, source, chemoattractant_production(u, i, phi, p)])

    def max_step(self, t: float, y: np.ndarray) -> float:
        return math.inf


class Split1D(_Common):
    """Radial or planar 1D problem: all transport implicit (batched tridiagonal solves)."""

    def __init__(
        self,
        params: OncolyticParameters,
        grid: Grid1D,
        chemotaxis: str,
        fitted: bool = False,
        fitted_shift: float = 0.0,
    ):
        self.grid = grid
        self.chemotaxis = chemotaxis
        self.fitted = fitted
        self.fitted_shift = fitted_shift
        self.params = params
        self.inflow_region = grid.cell_average_of_indicator(params.inflow_radius)
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute the constant operators after a parameter change."""
        p, g = self.params, self.grid
        self.inflow_region = g.cell_average_of_indicator(p.inflow_radius)
        self._t_cells = fv.diffusion_matrix_1d(g, p.D)
        t_phi = fv.diffusion_matrix_1d(g, p.D_phi)
        self._t_phi = Tridiagonal(t_phi.lower, t_phi.diag - p.q_phi, t_phi.upper)
        self._frozen: Tridiagonal | None = None

    def _integrate(self, f: np.ndarray) -> float:
        return float(self.grid.integrate(f))

    def _z_operator(self, phi: np.ndarray) -> Tridiagonal:
        p = self.params
        drift = p.chi * fv.face_gradient_1d(self.grid, phi)
        if self.chemotaxis == "sg":
            t = fv.drift_diffusion_matrix_1d(self.grid, p.D_z, drift)
        else:
            t = fv.diffusion_matrix_1d(self.grid, p.D_z) + fv.upwind_advection_matrix_1d(
                self.grid, drift
            )
        return Tridiagonal(t.lower, t.diag - p.q_z, t.upper)

    def _tumour_operator(self, f: np.ndarray) -> Tridiagonal:
        """Diffusion of u or i: central, or fitted with the face factors of f."""
        if not self.fitted:
            return self._t_cells
        kappa = fv.fitted_kappa(f[:-1], f[1:], self.fitted_shift)
        return fv.diffusion_matrix_1d(self.grid, self.params.D * kappa)

    def freeze(self, t: float, y: np.ndarray) -> None:
        self._z_frozen = self._z_operator(y[3])
        self._u_frozen, self._i_frozen = (self._tumour_operator(f) for f in y[:2])
        parts = (self._u_frozen, self._i_frozen, self._z_frozen, self._t_phi)
        self._frozen = Tridiagonal(
            *(np.stack([getattr(m, k) for m in parts]) for k in Tridiagonal._fields)
        )
        self._solve_cache: dict[float, Tridiagonal] = {}

    def implicit(self, t: float, y: np.ndarray) -> np.ndarray:
        return self._frozen.matvec(y)

    def solve(self, t: float, rhs: np.ndarray, c: float) -> np.ndarray:
        matrix = self._solve_cache.get(c)
        if matrix is None:
            matrix = self._solve_cache[c] = self._frozen.scaled_identity_minus(c)
        return solve_tridiagonal(matrix, rhs)

    def explicit(self, t: float, y: np.ndarray) -> np.ndarray:
        out = self.reactions(y)
        # correction: true drift operator at the current φ minus the frozen one
        out[2] += self._z_operator(y[3]).matvec(y[2]) - self._z_frozen.matvec(y[2])
        if self.fitted:
            for k, frozen in ((0, self._u_frozen), (1, self._i_frozen)):
                flux = fv.fitted_diffusion_flux_1d(
                    self.grid, self.params.D, y[k], self.fitted_shift
                )
                out[k] += fv.flux_divergence_1d(self.grid, flux) - frozen.matvec(y[k])
        return out


class Split2DExplicit(_Common):
    """2D Cartesian problem, explicit transport (``transport = "explicit"``, the scheme before
    issue 12). Implicit (DCT solve): diffusion and decay of φ. Explicit (fused Numba kernel):
    reactions, inflow, diffusion of u, i and z and the chemotactic drift, under a stability
    limit on the step."""

    def __init__(
        self, params: OncolyticParameters, grid: CartesianGrid, chemotaxis: str, cfl: float
    ):
        self.grid = grid
        self.sg = chemotaxis == "sg"
        self.cfl = cfl
        self.params = params
        self.helmholtz = NeumannHelmholtz(grid)
        self.rebuild()

    def rebuild(self) -> None:
        """Recompute coefficients after a parameter change."""
        p = self.params
        self.inflow_region = (self.grid.radius() <= p.inflow_radius + 1e-12).astype(float)
        self.coeffs = pde_kernels.pack_coefficients(p)

    def _integrate(self, f: np.ndarray) -> float:
        return float(self.grid.integrate(f))

    def freeze(self, t: float, y: np.ndarray) -> None:
        pass

    def implicit(self, t: float, y: np.ndarray) -> np.ndarray:
        p = self.params
        out = np.zeros_like(y)
        out[3] = p.D_phi * fv.laplacian(self.grid, y[3]) - p.q_phi * y[3]
        return out

    def solve(self, t: float, rhs: np.ndarray, c: float) -> np.ndarray:
        out = rhs.copy()
        out[3] = self.helmholtz.solve(rhs[3], c, self.params.D_phi, self.params.q_phi)
        return out

    def source(self, y: np.ndarray) -> np.ndarray:
        """Immune inflow S(x) (cells/(mm²·h)), non-local in i."""
        p = self.params
        return (p.S0 + p.alpha_z * self._integrate(y[1])) * self.inflow_region

    def explicit(self, t: float, y: np.ndarray) -> np.ndarray:
        out = np.empty_like(y)
        pde_kernels.explicit_rhs_2d(y, self.source(y), self.coeffs, self.grid.spacing, self.sg, out)
        return out

    def max_step(self, t: float, y: np.ndarray) -> float:
        p, g = self.params, self.grid
        drift = [p.chi * gr for gr in fv.face_gradients(g, y[3])]
        diffusive = 2 * g.dim * max(p.D, p.D_z) / g.spacing**2
        rate = diffusive + fv.max_face_speed_rate(g, drift)
        return self.cfl / rate

    def solver_stats(self) -> dict[str, float]:
        return {}


class Split2DImplicit(Split2DExplicit):
    """2D Cartesian problem, implicit transport (``transport = "implicit"``, the default).

    Implicit: the immune drift–diffusion and decay with the chemotactic drift frozen at the
    step start (Scharfetter–Gummel or upwind faces, an M-matrix; each stage one BiCGSTAB solve
    preconditioned by ADI line solves, numerics/flux2d.py; the factorisation is shared by the
    stages of a step) and φ's diffusion and decay (DCT). Explicit (fused Numba kernel):
    reactions, inflow, secretion, the drift correction (current − frozen operator) and the
    tiny tumour-cell diffusion (central or exponentially fitted fluxes), whose stability limit
    is h ≤ cfl·3.66/(8D/dx²) (≈ 22 h at dx = 0.1, 0.6 h at dx = 0.02).
    """

    def __init__(
        self,
        params: OncolyticParameters,
        grid: CartesianGrid,
        chemotaxis: str,
        cfl: float,
        fitted: bool,
        fitted_shift: float,
        solve_tol: float,
    ):
        self.fitted = fitted
        self.fitted_shift = fitted_shift
        self.solve_tol = solve_tol
        self.solve_stats = flux2d.SolveStats()
        super().__init__(params, grid, chemotaxis, cfl)

    def rebuild(self) -> None:
        super().rebuild()
        self._z_frozen: flux2d.FaceOperator2D | None = None

    def freeze(self, t: float, y: np.ndarray) -> None:
        p = self.params
        scheme = "sg" if self.sg else "upwind"
        self._z_frozen = flux2d.chemotaxis_operator(
            self.grid, p.D_z, p.chi, y[3], scheme, decay=p.q_z
        )
        self._phi_frozen = y[3].copy()
        self._solvers: dict[float, flux2d.ImplicitSolver2D] = {}

    def implicit(self, t: float, y: np.ndarray) -> np.ndarray:
        out = super().implicit(t, y)
        out[2] = self._z_frozen.apply(y[2])
        return out

    def solve(self, t: float, rhs: np.ndarray, c: float) -> np.ndarray:
        p = self.params
        out = rhs.copy()
        out[3] = self.helmholtz.solve_lines(rhs[3], c, p.D_phi, p.q_phi)
        solver = self._solvers.get(c)
        if solver is None:
            solver = self._solvers[c] = flux2d.ImplicitSolver2D(
                self._z_frozen, c, tol=self.solve_tol, stats=self.solve_stats
            )
        out[2] = solver.solve(rhs[2])
        return out

    def explicit(self, t: float, y: np.ndarray) -> np.ndarray:
        out = np.empty_like(y)
        z = self._z_frozen
        shift = self.fitted_shift if self.fitted else -1.0
        pde_kernels.imex_rhs_2d(y, self.source(y), self.coeffs, self.grid.spacing, shift,
                                self.sg, (z.a0, z.b0, z.a1, z.b1, self._phi_frozen),
                                out)  # fmt: skip
        return out

    def max_step(self, t: float, y: np.ndarray) -> float:
        rate = 4 * self.grid.dim * self.params.D / self.grid.spacing**2
        return self.cfl * explicit_stability_interval() / rate

    def solver_stats(self) -> dict[str, float]:
        return self.solve_stats.as_dict("z_")


# =======================================================================================
# representations
# =======================================================================================
@state_class
@dataclass
class PDEState:
    """Fields (4, ...) plus the adaptive scheme's step memory (for bit-identical resumes)."""

    y: np.ndarray
    memory: StepMemory = field(default_factory=StepMemory)


class OncolyticPDE(Representation):
    """Common machinery of the oncolytic PDE representations."""

    family = "oncolytic"
    default_diffusion = "central"
    #: (rtol, atol) when the settings give none: 1D grids are fine (Δr = 0.01 mm) and cheap
    default_tolerances: tuple[float, float] = (1e-6, 1e-2)
    memory_settings = "a coarser grid (numerics.dr in 1D, numerics.dx in 2D)"
    #: field-sized arrays of the operators (1D: tridiagonals and grid arrays; 2D: eigenvalues)
    operator_fields = 2
    #: field-sized temporaries of the split problem in a step (2D: the explicit kernel's
    #: output and source, the spectral solve)
    problem_fields = 6

    def __init__(self, params: OncolyticParameters, numerics: dict[str, Any] | None = None):
        super().__init__(params, numerics)
        self.settings = PDENumerics.from_mapping(self.numerics, context=f"numerics of {self.model}")
        self.require_memory()  # before the grid and operators are allocated
        self.problem = self._build_problem()
        s = self.settings
        scale = np.ones((4,) + (1,) * (self._ndim()))
        scale[3] = params.phi_star / params.K
        self.scheme = make_scheme(
            s.solver,
            self.problem,
            rtol=self.tolerances[0],
            atol=self.tolerances[1] * scale,
            dt=s.dt,
            dt_max=s.dt_max,
            negative_tolerance=self.negative_tolerance * scale,
        )
        if scheme_class(s.solver).explicit:
            self._check_euler_stability()

    # ---- geometry-specific ------------------------------------------------------------
    def _build_problem(self):
        raise NotImplementedError

    def _cells(self) -> float:
        """Number of grid cells, from the settings alone (nothing allocated; a float, so that
        a hostile domain size gives inf and the memory refusal, not an overflow)."""
        raise NotImplementedError

    def memory_estimate(self) -> MemoryEstimate:
        """State y (4 fields), the time scheme's stage arrays and the problem's temporaries,
        the operators; a snapshot is the 4 fields."""
        field_bytes = 8.0 * max(self._cells(), 1)
        state = len(FIELDS) * field_bytes
        copies = scheme_class(self.settings.solver).work_copies
        return MemoryEstimate(
            {
                "state": state,
                "step work": copies * state + self.problem_fields * field_bytes,
                "operators": self.operator_fields * field_bytes,
                "snapshot": state,
            }
        )

    def _ndim(self) -> int:
        return 1

    def _initial_fractions(self, radius: float) -> np.ndarray:
        raise NotImplementedError

    def _geometry(self) -> obs.ProfileGeometry:
        raise NotImplementedError

    def _spacing(self) -> float:
        raise NotImplementedError

    # ---- interface ----------------------------------------------------------------------
    def _check_euler_stability(self) -> None:
        p, h = self.params, self._spacing()
        limit = h**2 / (2 * self._ndim() * max(p.D, p.D_z, p.D_phi))
        if self.settings.dt > limit:
            raise InputError(
                f"invalid value for 'dt': {self.settings.dt!r} h; the explicit Euler solver is "
                f"unstable above dx^2/(2*dim*max(D, D_z, D_phi)) = {limit:.4g} h for this grid"
            )

    def initial_state(self, rng: np.random.Generator | None = None) -> PDEState:
        p = self.params
        u = p.u0_fraction * p.K * self._initial_fractions(p.R_u)
        i = p.i0_fraction * p.K * self._initial_fractions(p.R_i)
        zeros = np.zeros_like(u)
        return PDEState(np.stack([u, i, zeros, zeros.copy()]))

    def advance(self, state: PDEState, t0: float, t1: float) -> PDEState:
        state.y = self.scheme.advance(state.y, t0, t1, state.memory)
        return state

    def fields(self, state: PDEState) -> dict[str, np.ndarray]:
        return {name: state.y[k] for k, name in enumerate(FIELDS)}

    def observables(self, state: PDEState) -> dict[str, float]:
        return obs.observables(*state.y, self._geometry(), self.params)

    def variable_info(self) -> dict[str, VariableInfo]:
        return {**obs.FIELD_INFO, **obs.OBSERVABLE_INFO, **self._coord_info()}

    def _coord_info(self) -> dict[str, VariableInfo]:
        return {}

    def parameters_changed(self) -> None:
        self.problem.params = self.params
        self.problem.rebuild()

    def apply_action(self, state: PDEState, action: str, options: dict[str, Any]):
        if action != "inject":
            return super().apply_action(state, action, options)
        fraction = injection_fraction(options)
        moved = fraction * state.y[0]
        state.y[0] -= moved
        state.y[1] += moved
        return {"fraction": fraction, "cells_infected": self._geometry().integrate(moved)}

    def solver_stats(self) -> dict[str, float]:
        extra = getattr(self.problem, "solver_stats", dict)
        return {**self.scheme.stats(), **extra()}

    @property
    def negative_tolerance(self) -> float:
        """Most negative density an accepted step may hold (cells/mm²): 1e-6·atol; also the
        shift of the fitted fluxes' logarithm."""
        return 1e-6 * self.tolerances[1]

    @property
    def tolerances(self) -> tuple[float, float]:
        """(rtol, atol in cells/mm²) in use: the settings, else the representation's
        defaults (:attr:`default_tolerances`)."""
        s, (rtol, atol) = self.settings, self.default_tolerances
        return (s.rtol if s.rtol is not None else rtol, s.atol if s.atol is not None else atol)

    @property
    def diffusion(self) -> str:
        """Tumour-cell diffusion fluxes in use: the setting, else the geometry's default."""
        return self.settings.diffusion or self.default_diffusion

    def describe_numerics(self) -> dict[str, Any]:
        out = {k: v for k, v in self.settings.model_dump().items() if v is not None}
        rtol, atol = self.tolerances
        return {**out, "diffusion": self.diffusion, "rtol": rtol, "atol": atol}


class OncolyticPDE1D(OncolyticPDE):
    """Shared 1D set-up (radial or planar)."""

    geometry: str = "radial"
    # tridiagonals (3 arrays each: cells, φ, z; frozen and factorised per field), grid arrays
    operator_fields = 40
    # reactions and their temporaries, the chemotactic operator, the batched Thomas solve
    problem_fields = 20

    def _length(self) -> float:
        if self.geometry == "planar" and self.settings.length is not None:
            return self.settings.length
        return self.params.L

    def _cells(self) -> float:
        return float(np.rint(self._length() / self.settings.dr))

    def _build_problem(self) -> Split1D:
        length = self._length()
        self.grid = Grid1D.uniform(0.0, length, self.settings.dr, self.geometry)  # type: ignore[arg-type]
        s = self.settings
        return Split1D(self.params, self.grid, s.chemotaxis, fitted=self.diffusion == "fitted",
                       fitted_shift=self.negative_tolerance)  # fmt: skip

    def _initial_fractions(self, radius: float) -> np.ndarray:
        return self.grid.cell_average_of_indicator(radius)

    def _geometry(self) -> obs.ProfileGeometry:
        return obs.geometry_1d(self.grid)

    def _spacing(self) -> float:
        return self.settings.dr

    @property
    def field_dims(self) -> dict[str, tuple[str, ...]]:
        return dict.fromkeys(FIELDS, ("r",) if self.geometry == "radial" else ("x",))

    def coords(self) -> dict[str, np.ndarray]:
        return {"r" if self.geometry == "radial" else "x": self.grid.centers}

    def _coord_info(self) -> dict[str, VariableInfo]:
        name = "r" if self.geometry == "radial" else "x"
        return {name: VariableInfo("mm", "radius" if name == "r" else "position")}


class OncolyticPDERadial(OncolyticPDE1D):
    """Radially symmetric PDE on the disc of radius L (seed eq. 2.7)."""

    model = "pde-radial"
    geometry = "radial"


class OncolyticPDEPlanar(OncolyticPDE1D):
    """Planar 1D PDE on [0, length] (zero flux at both ends): planar front-speed checks."""

    model = "pde-1d"
    geometry = "planar"


class OncolyticPDE2D(OncolyticPDE):
    """2D Cartesian PDE on [−L, L]², cells centred at the ABM lattice sites (seed eq. 2.5)."""

    model = "pde-2d"

    #: implicit transport: the frozen face operator (4 fields), its ADI line factors and
    #: BiCGSTAB's vectors per stage coefficient, the explicit kernel's output and source
    problem_fields = 24

    def _cells(self) -> float:
        dx = self.settings.dx if self.settings.dx is not None else self.params.delta
        side = float(np.rint(2 * self.params.L / dx)) + 1.0
        return side * side  # (inf, not OverflowError, for a hostile L)

    @property
    def diffusion(self) -> str:
        """Tumour-cell diffusion fluxes: the setting, else fitted (central with the explicit
        transport of the scheme before issue 12)."""
        s = self.settings
        return s.diffusion or ("central" if s.transport == "explicit" else "fitted")

    @property
    def default_tolerances(self) -> tuple[float, float]:  # type: ignore[override]
        """(1e-4, 1 cells/mm²) with implicit transport: time errors ≤ 0.1 % of the totals at
        300 h, far below the spatial error of any affordable 2D grid (docs/oncolytic.md,
        'Numerics'); the explicit scheme before issue 12 keeps its (1e-6, 1e-2)."""
        return (1e-6, 1e-2) if self.settings.transport == "explicit" else (1e-4, 1.0)

    def _build_problem(self) -> Split2DExplicit:
        s = self.settings
        dx = s.dx if s.dx is not None else self.params.delta
        self.grid = CartesianGrid.node_centred(-self.params.L, self.params.L, dx, 2)
        if s.transport == "explicit":
            if s.diffusion == "fitted":
                raise InputError(
                    "invalid value for 'diffusion': 'fitted'; allowed with transport = "
                    "'explicit': central (fitted fluxes need transport = 'implicit')"
                )
            return Split2DExplicit(self.params, self.grid, s.chemotaxis, s.cfl)
        return Split2DImplicit(self.params, self.grid, s.chemotaxis, s.cfl,
                               fitted=self.diffusion == "fitted",
                               fitted_shift=self.negative_tolerance,
                               solve_tol=s.solve_tol * self.tolerances[1])  # fmt: skip

    def _ndim(self) -> int:
        return 2

    def _initial_fractions(self, radius: float) -> np.ndarray:
        """Indicator of the closed disc of ``radius`` at the sites (empty for radius 0)."""
        if radius <= 0:
            return np.zeros(self.grid.shape)
        return (self.grid.radius() <= radius + 1e-9).astype(float)

    def _geometry(self) -> obs.ProfileGeometry:
        return obs.geometry_2d(self.grid, self.params.L)

    def _spacing(self) -> float:
        return self.grid.spacing

    @property
    def field_dims(self) -> dict[str, tuple[str, ...]]:
        return dict.fromkeys(FIELDS, ("x", "y"))

    def coords(self) -> dict[str, np.ndarray]:
        return {"x": self.grid.axis(0), "y": self.grid.axis(1)}

    def _coord_info(self) -> dict[str, VariableInfo]:
        return {"x": VariableInfo("mm", "x position"), "y": VariableInfo("mm", "y position")}
