"""Kinetic (mesoscopic) tumour–immune model, solved with an asymptotic-preserving
micro–macro scheme (spec §1, §5).

Distribution functions f_p(t, x, v, u) of tumour, active and passive immune cells at Knudsen
number ε; first-order Lemou–Mieussens micro–macro scheme on a staggered finite-volume grid,
stable for a step bound independent of ε. Model, scheme and stability: docs/kinetic.md, sections
'The kinetic model that is solved' and 'The asymptotic-preserving scheme'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np

from oncoscale.errors import InputError
from oncoscale.models.base import MemoryEstimate, Representation, VariableInfo, state_class
from oncoscale.models.kinetic import kinetic_kernels as kk
from oncoscale.models.kinetic.observables import totals_and_means
from oncoscale.models.kinetic.params import KineticParameters
from oncoscale.models.kinetic.velocity import ActivityBins, VelocitySet
from oncoscale.models.parameters import KernelChoice, ParameterSet, kernel_param, param
from oncoscale.numerics.grids import CartesianGrid

POPULATIONS = ("n1", "n2", "n3")
DEFAULT_CELLS = {1: 100, 2: 64}


#: steps per advance() beyond which a run is refused (hours of work already at 1e7)
MAX_STEPS = 10**7


class KineticNumerics(ParameterSet):
    """Numerical settings of the kinetic solver."""

    dx: float | None = param(
        None, "x", "cell width (default: length/100 in 1D, length/64 in 2D, as the PDEs)", gt=0
    )
    velocities: int = param(16, "1", "number of directions in 2D (1D: always +-s)", ge=4)
    activity_bins: int = param(2, "1", "bins of the activity u in [-1, 1] (even)", ge=2)
    dt: float = param(0.01, "t", "largest time step (first-order scheme)", gt=0)
    cfl: float = param(
        0.45,
        "1",
        "fraction of the step bound h^2/(2dD) + eps h/(d s) (stable up to 0.5)",
        gt=0,
        le=0.5,
    )
    relaxation: Literal["implicit", "explicit"] = param(
        "implicit", "", "turning relaxation: implicit (AP) or explicit (needs dt ~ eps^2)"
    )
    kernel: KernelChoice = kernel_param("transport kernel")
    time_extrapolation: bool = param(
        False, "", "Richardson extrapolation over each advance interval (2nd order, 3x cost)"
    )
    activity_output: bool = param(
        False, "", "also record the activity distributions activity_n1..3 (dims: u)"
    )


@state_class
@dataclass
class KineticState:
    """Macro part M (3, B, *cells) and micro parts g (one array in 1D, (gx, gy) in 2D)."""

    M: np.ndarray
    g: tuple[np.ndarray, ...]

    def densities(self) -> np.ndarray:
        """n_p(x) = Σ_b M[p, b] (3, *cells)."""
        return self.M.sum(axis=1)


def initial_densities(params: KineticParameters, grid: CartesianGrid) -> np.ndarray:
    """Spec §4 initial data (3, *cells), the same as the macroscopic PDEs': homogeneous levels
    (Y1, n2, n3) of :func:`~oncoscale.models.kinetic.equilibria.initial_levels` (tumour-free
    or coexistence state) plus the Gaussian seed a exp(−|x − x0|²/(2σ²)) in Y1; n1 = Y1/(d21/d12).
    """
    from oncoscale.models.kinetic.equilibria import initial_levels

    p = params
    centre = (p.seed_x, p.seed_y)[: grid.dim]
    r2 = sum((m - c) ** 2 for m, c in zip(grid.mesh(), centre, strict=True))
    y1, n2, n3 = initial_levels(p)
    n1 = (y1 + p.seed_amplitude * np.exp(-r2 / (2 * p.seed_sigma**2))) / p.tumour_scale
    return np.stack([n1, np.full(grid.shape, n2), np.full(grid.shape, n3)])


class MicroMacroSolver:
    """The AP micro–macro scheme for one parameter set on a square grid (d = 1 or 2)."""

    def __init__(self, params: KineticParameters, dim: int, settings: KineticNumerics):
        self.dim = dim
        self.settings = settings
        h = settings.dx if settings.dx is not None else params.length / DEFAULT_CELLS[dim]
        self.grid = CartesianGrid.cell_centred(0.0, params.length, h, dim, name="dx")
        self.velocity = VelocitySet(dim, 2 if dim == 1 else settings.velocities)
        self.bins = ActivityBins(settings.activity_bins)
        self.set_parameters(params)

    # ---- parameters -----------------------------------------------------------------------
    def set_parameters(self, params: KineticParameters) -> None:
        """(Re)compute speeds, turning rates and operator scalings."""
        self.params = p = params
        self.eps = p.epsilon
        self.speeds = np.array([p.speed(i, self.dim) for i in (1, 2, 3)])
        self.lam = np.array(p.turning_rates(), dtype=float)
        self.vel = self.speeds[:, None, None] * self.velocity.e[None, :, :]  # (3, K, d)
        self.sigma = {op: p.epsilon ** (-p.regime.order(op)) for op in _ALL_OPS}
        self.mirror = self.bins.mirror()
        self.star = self.bins.uniform_fractions(0.0, 1.0)  # f2* activity profile

    def _step_bounds(self) -> np.ndarray:
        """Per population p: h²/(2d D_p) + ε h/(d s_p) (and the explicit relaxation's
        bounds), the scheme's step limit before the cfl factor."""
        h, d = self.grid.spacing, self.dim
        diff = np.array(self.params.diffusivities())
        bound = h**2 / (2 * d * diff) + self.eps * h / (d * self.speeds)
        if self.settings.relaxation == "explicit":
            bound = np.minimum(bound, self.eps**2 / self.lam)
            bound = np.minimum(bound, self.eps * h / (d * self.speeds))
        return bound

    def stable_dt(self) -> float:
        """cfl · min_p [h²/(2d D_p) + ε h/(d s_p)] (the step bound of the scheme)."""
        return float(self.settings.cfl * self._step_bounds().min())

    def max_step(self) -> float:
        """The step actually used: min(dt, stable_dt)."""
        return min(self.settings.dt, self.stable_dt())

    def _refuse_endless(self, steps: float, span: float) -> None:
        """Refuse an interval needing more than :data:`MAX_STEPS` steps (a hostile D_p = 3e16
        asked for 1e18), naming the population that limits the step."""
        if steps <= MAX_STEPS:
            return
        if self.settings.dt <= self.stable_dt():
            raise InputError(
                f"the kinetic scheme needs {steps:.3g} steps of numerics.dt = "
                f"{self.settings.dt!r} for an interval of {span:g}; allowed: at most "
                f"{MAX_STEPS:.0e} — a larger numerics.dt"
            )
        h, diff = self.grid.spacing, self.params.diffusivities()
        worst = int(np.argmin(self._step_bounds()))
        raise InputError(
            f"the kinetic scheme needs {steps:.3g} steps for an interval of {span:g} (stable "
            f"step {self.stable_dt():.3g} = cfl min_p [h^2/(2 d D_p) + eps h/(d s_p)], limited "
            f"by population {worst + 1}: D{worst + 1} = {diff[worst]!r}, speed "
            f"{self.speeds[worst]:.3g}, h = {h:g}, cfl = {self.settings.cfl}); allowed: at "
            f"most {MAX_STEPS:.0e} — reduce D{worst + 1} or use a coarser numerics.dx"
        )

    # ---- state ------------------------------------------------------------------------------
    def state_from_densities(self, n: np.ndarray) -> KineticState:
        """Local equilibrium f_p = M_p (g = 0) with activity profiles: tumour uniform on
        [−1, 1], active uniform on [0, 1], passive uniform on [−1, 0]."""
        n = np.asarray(n, dtype=float)
        if n.shape != (3, *self.grid.shape):
            raise InputError(f"densities must have shape {(3, *self.grid.shape)}; got {n.shape}")
        prof = np.stack(
            [
                self.bins.uniform_fractions(-1.0, 1.0),
                self.bins.uniform_fractions(0.0, 1.0),
                self.bins.uniform_fractions(-1.0, 0.0),
            ]
        )
        M = prof.reshape(3, -1, *([1] * self.dim)) * n[:, None]
        K, B = self.velocity.count, self.bins.count
        if self.dim == 1:
            g = (np.zeros((3, B, K, self.grid.shape[0] - 1)),)
        else:
            nx, ny = self.grid.shape
            g = (np.zeros((3, B, K, nx - 1, ny)), np.zeros((3, B, K, nx, ny - 1)))
        return KineticState(M, g)

    # ---- one step ---------------------------------------------------------------------------
    def loss_rates(self, n: np.ndarray) -> np.ndarray:
        """Sink rates a_p (3, *cells) of the interaction operators (they damp g_p)."""
        p, s = self.params, self.sigma
        n1, n2, _ = n
        a = np.empty_like(n)
        a[0] = s["Q12"] * p.d12 * n2
        a[1] = s["Q21"] * p.d21 * n1
        if p.case == "pc":
            a[1] += s["K2"] * p.kappa2
        a[2] = s["Q35"] * p.d35 * p.n5
        return a

    def transport(self, state: KineticState, loss: np.ndarray, dt: float):
        """New micro parts and ∇·⟨v g⁺⟩ (3, B, *cells)."""
        st = self.settings
        implicit = st.relaxation == "implicit"
        args = (self.vel, self.velocity.w, self.lam, loss)
        h = self.grid.spacing
        if self.dim == 1:
            (g,) = state.g
            if st.kernel == "numpy":
                g_new, div = kk.transport_1d_reference(state.M, g, *args, h, dt, self.eps, implicit)
            else:
                g_new, div = np.empty_like(g), np.empty_like(state.M)
                kk.transport_1d(state.M, g, *args, h, dt, self.eps, implicit, g_new, div)
            return (g_new,), div
        gx, gy = state.g
        rx, ry = self.velocity.reflection(0), self.velocity.reflection(1)
        if st.kernel == "numpy":
            gx_new, gy_new, div = kk.transport_2d_reference(
                state.M, gx, gy, *args, rx, ry, h, dt, self.eps, implicit
            )
        else:
            gx_new, gy_new, div = np.empty_like(gx), np.empty_like(gy), np.empty_like(state.M)
            kk.transport_2d(
                state.M, gx, gy, *args, rx, ry, h, dt, self.eps, implicit, gx_new, gy_new, div
            )
        return (gx_new, gy_new), div

    def react(self, M: np.ndarray, div: np.ndarray, n: np.ndarray, dt: float) -> np.ndarray:
        """Mⁿ⁺¹ from Mⁿ, the transport divergence and linearly implicit reactions."""
        p, s = self.params, self.sigma
        n1, n2, n3 = (v[None] for v in n)  # broadcast over bins
        out = np.empty_like(M)
        # tumour: losses implicit, gains explicit
        gain = s["Q13"] * p.b13 * n3 + s["Q14"] * p.b14 * p.n4
        out[0] = (M[0] * (1.0 + dt * gain) - dt * div[0]) / (1.0 + dt * s["Q12"] * p.d12 * n2)
        # immune exchange: x = M2[b], y = M3[-b]
        x = M[1]
        y = M[2][self.mirror]
        rx = x - dt * div[1]
        ry = y - dt * div[2][self.mirror]
        if p.case == "cc":
            a11 = s["Q21"] * p.d21 * n1
            a21 = s["J3_12"] * p.d21 * n1
            a12 = s["J2_35"] * p.d35 * p.n5 * np.ones_like(a11)
            a22 = s["Q35"] * p.d35 * p.n5 * np.ones_like(a11)
        else:
            a11 = s["Q21"] * p.d21 * n1 + s["K2"] * p.kappa2
            a12 = s["J2_35"] * p.a35 * p.n5 * np.ones_like(a11)
            a21 = s["J3_22"] * p.b22 * n2
            growth = s["Q32"] * p.b32 * n2
            a22 = s["Q35"] * p.d35 * p.n5 - growth
            explicit = a22 < 0  # net growth of the passive pool: keep it explicit (positive)
            a22 = np.where(explicit, s["Q35"] * p.d35 * p.n5, a22)
            ry = ry + np.where(explicit, dt * growth * y, 0.0)
            star = self.star.reshape(-1, *([1] * self.dim))
            rx = rx + dt * s["K2"] * p.kappa2 * p.n2_star * star
        d11, d22 = 1.0 + dt * a11, 1.0 + dt * a22
        # expanded determinant: no cancellation of the O((Δt/ε)²) terms (CC: the last is 0)
        det = 1.0 + dt * (a11 + a22) + dt * dt * (a11 * a22 - a12 * a21)
        out[1] = (d22 * rx + dt * a12 * ry) / det
        out[2][self.mirror] = (dt * a21 * rx + d11 * ry) / det
        return out

    def step(self, state: KineticState, dt: float) -> KineticState:
        """One step of length dt (≤ :meth:`stable_dt` for stability)."""
        n = state.densities()
        g, div = self.transport(state, self.loss_rates(n), dt)
        return KineticState(self.react(state.M, div, n, dt), g)

    def _march(self, state: KineticState, dt: float, steps: int) -> KineticState:
        for _ in range(steps):
            state = self.step(state, dt)
        return state

    def advance(self, state: KineticState, t0: float, t1: float) -> tuple[KineticState, int]:
        """Equal steps of at most :meth:`max_step` from t0 to t1; returns (state, steps taken).

        With ``time_extrapolation`` the interval is also run with half the step and the two
        results are combined, 2 S(Δt/2) − S(Δt) (Richardson: second order at 3× the cost;
        positivity is then no longer guaranteed).
        """
        span = t1 - t0
        self._refuse_endless(span / self.max_step(), span)
        steps = max(1, math.ceil(span / self.max_step() - 1e-9))
        dt = span / steps
        out = self._march(state, dt, steps)
        taken = steps
        if self.settings.time_extrapolation:
            fine = self._march(state, 0.5 * dt, 2 * steps)
            g = tuple(2.0 * a - b for a, b in zip(fine.g, out.g, strict=True))
            out = KineticState(2.0 * fine.M - out.M, g)
            taken += 2 * steps
        if not np.all(np.isfinite(out.M)):
            raise FloatingPointError(f"kinetic solver diverged between t = {t0} and {t1}")
        return out, taken


_ALL_OPS = ("Q12", "Q13", "Q14", "Q21", "J3_12", "Q35", "J2_35", "Q32", "J3_22", "K2")


# =======================================================================================
# representations
# =======================================================================================
class KineticModel(Representation):
    """Kinetic representation: fields are the densities n1, n2, n3 (and N = n2 + n3)."""

    family = "kinetic"
    dim = 1

    def __init__(self, params: KineticParameters, numerics: dict[str, Any] | None = None):
        super().__init__(params, numerics)
        self.settings = KineticNumerics.from_mapping(
            self.numerics, context=f"numerics of {self.model}"
        )
        self.solver = MicroMacroSolver(params, self.dim, self.settings)
        self.require_memory()  # the solver holds only its grid shape and velocity set so far
        self._steps = 0

    memory_settings = (
        "a coarser grid (numerics.dx), fewer directions (numerics.velocities) or activity bins "
        "(numerics.activity_bins)"
    )

    def memory_estimate(self) -> MemoryEstimate:
        """In float64 per cell (B activity bins, K directions, d dimensions): state M (3B) and
        g (3BKd, on the faces); a step builds a new g and M, the divergence (3B) and about 10B
        reaction temporaries (Richardson extrapolation: a second state alive); a snapshot is
        n1, n2, n3, N."""
        cells = float(np.prod(self.grid.shape))
        B, K, d = self.solver.bins.count, self.solver.velocity.count, self.dim
        macro, micro = 3 * B * 8 * cells, 3 * B * K * d * 8 * cells
        work = micro + 2 * macro + 10 * B * 8 * cells
        if self.settings.time_extrapolation:
            work += micro + macro + work
        return MemoryEstimate(
            {"state": micro + macro, "step work": work, "snapshot": 4 * 8 * cells}
        )

    @property
    def grid(self) -> CartesianGrid:
        return self.solver.grid

    def initial_state(self, rng: np.random.Generator | None = None) -> KineticState:
        return self.solver.state_from_densities(initial_densities(self.params, self.grid))

    def advance(self, state: KineticState, t0: float, t1: float) -> KineticState:
        state, steps = self.solver.advance(state, t0, t1)
        self._steps += steps
        return state

    def fields(self, state: KineticState) -> dict[str, np.ndarray]:
        n = state.densities()
        out = {name: n[k] for k, name in enumerate(POPULATIONS)}
        out["N"] = n[1] + n[2]
        if self.settings.activity_output:
            # domain integral of f_p over x and v, per unit activity (density in u)
            per_bin = self.grid.integrate(state.M) / self.solver.bins.width
            out.update({f"activity_{name}": per_bin[k] for k, name in enumerate(POPULATIONS)})
        return out

    @property
    def field_dims(self) -> dict[str, tuple[str, ...]]:
        dims = ("x",) if self.dim == 1 else ("x", "y")
        out = dict.fromkeys((*POPULATIONS, "N"), dims)
        if self.settings.activity_output:
            out.update({f"activity_{name}": ("u",) for name in POPULATIONS})
        return out

    def coords(self) -> dict[str, np.ndarray]:
        names = ("x",) if self.dim == 1 else ("x", "y")
        out = {name: self.grid.axis(a) for a, name in enumerate(names)}
        if self.settings.activity_output:
            out["u"] = self.solver.bins.centers
        return out

    def observables(self, state: KineticState) -> dict[str, float]:
        f = self.fields(state)
        out = totals_and_means(f, self.grid, self.params.length**self.dim)
        out["max_n1"] = float(f["n1"].max())
        out["min_density"] = float(state.M.min())
        return out

    def variable_info(self) -> dict[str, VariableInfo]:
        vol = "n_ref x length" if self.dim == 1 else "n_ref x length^2"
        names = {"n1": "tumour", "n2": "active immune", "n3": "passive immune", "N": "immune"}
        info = {}
        for f, long in names.items():
            info[f] = VariableInfo("1", f"{long} density", "n_ref")
            info[f"total_{f}"] = VariableInfo("1", f"integral of the {long} density", vol)
            info[f"mean_{f}"] = VariableInfo("1", f"domain mean of the {long} density", "n_ref")
        info["max_n1"] = VariableInfo("1", "maximum tumour density", "n_ref")
        info["min_density"] = VariableInfo(
            "1", "smallest density per activity bin (positivity)", "n_ref"
        )
        for name in ("x", "y"):
            info[name] = VariableInfo("1", f"position {name}", "domain length")
        info["u"] = VariableInfo("1", "activity (u >= 0 active, u < 0 passive)")
        for name, long in zip(
            POPULATIONS, ("tumour", "active immune", "passive immune"), strict=True
        ):
            info[f"activity_{name}"] = VariableInfo(
                "1", f"{long} cells per unit activity (integrated over space)", vol
            )
        return info

    def parameters_changed(self) -> None:
        self.solver.set_parameters(self.params)

    def solver_stats(self) -> dict[str, float]:
        return {"steps": float(self._steps), "dt": self.solver.max_step()}

    def describe_numerics(self) -> dict[str, Any]:
        out = self.settings.model_dump()
        out["scheme"] = "micro-macro AP (Lemou-Mieussens), first order, staggered g"
        out["dt_used"] = self.solver.max_step()
        return out


class Kinetic1D(KineticModel):
    """Kinetic model on [0, length], velocities ±s_p."""

    model = "kinetic-1d"
    dim = 1


class Kinetic2D(KineticModel):
    """Kinetic model on [0, length]², ``velocities`` directions."""

    model = "kinetic-2d"
    dim = 2
