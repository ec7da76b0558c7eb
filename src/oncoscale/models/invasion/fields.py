"""Matrix (MM), enzyme (MDE) and oxygen (O2) fields on the grid (spec §3), one step at a time.

Shared by the age-structured PDE and the IBM (which supplies its binned cell load); densities
in mass/len^dim, time in days. Positive, first-order splitting (exact MM decay, backward-Euler
DCT solves). Equations and scheme: docs/invasion_pde.md, section 'Matrix, enzyme and oxygen
fields'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba
import numpy as np
from scipy import fft

from oncoscale.errors import InputError
from oncoscale.models.invasion.params import InvasionParameters
from oncoscale.numerics.grids import CartesianGrid
from oncoscale.numerics.helmholtz import NeumannHelmholtz
from oncoscale.numerics.thread_tuner import numba_threads


def domain_grid(params: InvasionParameters, dim: int, dx: float | None = None) -> CartesianGrid:
    """The cell-centred grid on [0, L]^dim (default spacing: the spec's, by dimension)."""
    if dim not in (2, 3):
        raise InputError(f"invalid value for 'dim': {dim!r}; allowed: 2, 3")
    spacing = params.grid_spacing(dim) if dx is None else float(dx)
    return CartesianGrid.cell_centred(0.0, params.L, spacing, dim, name="dx")


def degrade_matrix(mm: np.ndarray, mde: np.ndarray, eta: float, dt: float) -> np.ndarray:
    """MM after dt of degradation by the frozen MDE density: f e^{−η m dt}."""
    return mm * np.exp(-eta * np.maximum(mde, 0.0) * dt)


@numba.njit(cache=True, parallel=True)
def _right_hand_sides(mde, o2, load, mm_new, dt_kappa, dt_omega, k_o, dt_nu, rhs_mde, rhs_o2):
    # pragma: no cover - compiled
    """The implicit solves' right-hand sides in one pass: MDE + Δt κ W, and O2 after the
    implicit uptake, c·1/(1 + Δt ω W/(c⁺ + K_O)), plus Δt ν f (the uptake factor lies in
    (0, 1]); evaluated in the order of the NumPy expressions of the test's reference, so the
    same bits."""
    m, c, w, f = mde.reshape(-1), o2.reshape(-1), load.reshape(-1), mm_new.reshape(-1)
    out_m, out_c = rhs_mde.reshape(-1), rhs_o2.reshape(-1)
    for j in numba.prange(m.size):
        out_m[j] = m[j] + dt_kappa * w[j]
        factor = 1.0 / (1.0 + dt_omega * w[j] / (max(c[j], 0.0) + k_o))
        out_c[j] = c[j] * factor + dt_nu * f[j]
    return rhs_mde, rhs_o2


@dataclass
class FieldSolver:
    """Steps (MM, MDE, O2) on ``grid`` with the parameters ``params`` (see module doc);
    ``workers``: threads of the cosine transforms and the right-hand sides (the result does
    not depend on them)."""

    grid: CartesianGrid
    params: InvasionParameters
    workers: int | None = None

    def __post_init__(self) -> None:
        self._helmholtz = NeumannHelmholtz(self.grid)

    def step(
        self,
        mm: np.ndarray,
        mde: np.ndarray,
        o2: np.ndarray,
        load: np.ndarray,
        dt: float,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """New (mm, mde, o2) after one step dt (day) with cell load W = Σ w_i N_i.

        ``load`` has the grid's shape (mass/len^dim); inputs are not modified.
        """
        if not dt > 0:
            raise InputError(f"invalid value for 'dt': {dt!r} day; allowed: > 0")
        shape = self.grid.shape
        for name, arr in (("mm", mm), ("mde", mde), ("o2", o2), ("load", load)):
            if np.shape(arr) != shape:
                raise InputError(f"field '{name}' has shape {np.shape(arr)}; expected {shape}")
        p = self.params
        mm_new = degrade_matrix(mm, mde, p.eta, dt)
        rhs_mde, rhs_o2 = np.empty(shape), np.empty(shape)
        with numba_threads(self.workers or 1):
            _right_hand_sides(np.ascontiguousarray(mde, dtype=float),
                              np.ascontiguousarray(o2, dtype=float),
                              np.ascontiguousarray(load, dtype=float),
                              np.ascontiguousarray(mm_new, dtype=float),
                              dt * p.kappa, dt * p.omega, p.K_O, dt * p.nu, rhs_mde,
                              rhs_o2)  # fmt: skip
        with fft.set_workers(self.workers or 1):
            mde_new = self._helmholtz.solve(rhs_mde, dt, p.D_m, p.sigma_m)
            o2_new = self._helmholtz.solve(rhs_o2, dt, p.D_o, p.phi)
        # the DCT round trip leaves O(1e-17) negatives where a field is exactly zero
        return mm_new, np.maximum(mde_new, 0.0, out=mde_new), np.maximum(o2_new, 0.0, out=o2_new)

    def o2_steady_state(self, mm: np.ndarray) -> np.ndarray:
        """Discrete steady O2 without cells for frozen MM: (φ − D_oΔ) c = ν f."""
        p = self.params
        if p.phi <= 0:
            raise InputError(
                f"invalid value for 'phi': {p.phi!r} 1/day; the O2 steady state needs phi > 0"
            )
        axes = tuple(range(-self.grid.dim, 0))
        spec = fft.dctn(p.nu * np.asarray(mm, dtype=float), type=2, norm="ortho", axes=axes)
        spec /= p.phi - p.D_o * self._helmholtz.eigenvalues
        return fft.idctn(spec, type=2, norm="ortho", axes=axes)
