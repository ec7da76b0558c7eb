"""Motion of proliferating cells in the age-structured invasion PDE: ∂t n = D_i Δn − ∇·(ρ_i n ∇f)
per phenotype i, explicit conservative finite volumes (centred diffusion, upwind haptotaxis,
zero flux at the walls), compiled (parallel, inside the support box) and its NumPy reference.
Formulas and positivity bound: docs/invasion_pde.md, section 'The kernels: storage and the step
in formulas'; threads: section 'Support box and threads'.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from oncoscale.errors import InputError
from oncoscale.numerics import fv
from oncoscale.numerics.grids import CartesianGrid


@numba.njit(cache=True, inline="always")
def _face_flux(left, right, v, dh):  # pragma: no cover - compiled
    """Flux through a face (left → right): centred diffusion dh·(left − right) plus upwind
    haptotaxis with face velocity v."""
    return dh * (left - right) + v * (left if v > 0.0 else right)


@numba.njit(cache=True)
def face_gradients(f, box, h):  # pragma: no cover - compiled
    """∂f on the interior faces of ``box`` normal to each axis: arrays of the box's shape
    (face towards +1 of each cell; 0 on the box's last faces)."""
    lo0, lo1, lo2 = box[0, 0], box[0, 1], box[0, 2]
    bx, by, bz = box[1, 0] - lo0, box[1, 1] - lo1, box[1, 2] - lo2
    gx = np.zeros((bx, by, bz))
    gy = np.zeros((bx, by, bz))
    gz = np.zeros((bx, by, bz))
    for a in range(bx):
        for b in range(by):
            for e in range(bz):
                fc = f[lo0 + a, lo1 + b, lo2 + e]
                if a + 1 < bx:
                    gx[a, b, e] = (f[lo0 + a + 1, lo1 + b, lo2 + e] - fc) / h
                if b + 1 < by:
                    gy[a, b, e] = (f[lo0 + a, lo1 + b + 1, lo2 + e] - fc) / h
                if e + 1 < bz:
                    gz[a, b, e] = (f[lo0 + a, lo1 + b, lo2 + e + 1] - fc) / h
    return gx, gy, gz


@numba.njit(cache=True)
def move_slab(s, gx, gy, gz, d, rho, dt, h, box, n_sub, flush, tmp):  # pragma: no cover
    """``n_sub`` explicit steps of ∂t s = dΔs − ∇·(ρ s ∇f) of the (nx, ny, nz) array s inside
    ``box`` (zero flux at its faces: the caller's box is wide enough that nothing reaches
    them), in place; gx, gy, gz: :func:`face_gradients` of the box, ``tmp`` a scratch array
    of the box's shape. Values below ``flush`` become 0.

    One pass per sub-step in gather form (each cell sums the fluxes through its own faces,
    read from a copy): a face's flux is computed by both its cells from the same operands, so
    it cancels exactly and mass is conserved to round-off.
    """
    lo0, lo1, lo2 = box[0, 0], box[0, 1], box[0, 2]
    bx, by, bz = gx.shape
    lam = dt / n_sub / h
    dh = d / h
    for _ in range(n_sub):
        empty = True
        for a in range(bx):
            for b in range(by):
                for e in range(bz):
                    v = s[lo0 + a, lo1 + b, lo2 + e]
                    tmp[a, b, e] = v
                    if v != 0.0:
                        empty = False
        if empty:
            return
        for a in range(bx):
            for b in range(by):
                for e in range(bz):
                    c = tmp[a, b, e]
                    out = 0.0
                    if a + 1 < bx:
                        out += _face_flux(c, tmp[a + 1, b, e], rho * gx[a, b, e], dh)
                    if a > 0:
                        out -= _face_flux(tmp[a - 1, b, e], c, rho * gx[a - 1, b, e], dh)
                    if b + 1 < by:
                        out += _face_flux(c, tmp[a, b + 1, e], rho * gy[a, b, e], dh)
                    if b > 0:
                        out -= _face_flux(tmp[a, b - 1, e], c, rho * gy[a, b - 1, e], dh)
                    if e + 1 < bz:
                        out += _face_flux(c, tmp[a, b, e + 1], rho * gz[a, b, e], dh)
                    if e > 0:
                        out -= _face_flux(tmp[a, b, e - 1], c, rho * gz[a, b, e - 1], dh)
                    v = c - lam * out
                    s[lo0 + a, lo1 + b, lo2 + e] = v if v >= flush else 0.0


@numba.njit(cache=True, parallel=True)
def move_slabs(slabs, active, diff, rho, f, dt, h, box, n_sub, flush):  # pragma: no cover
    """:func:`move_slab` of every ``active`` slab of ``slabs`` (n_slabs, nx, ny, nz), slab j
    with D = diff[j], ρ = rho[j]; slabs in parallel (each is computed alone: the result does
    not depend on the threads)."""
    gx, gy, gz = face_gradients(f, box, h)
    for j in numba.prange(slabs.shape[0]):
        if active[j] and (diff[j] != 0.0 or rho[j] != 0.0):
            tmp = np.empty(gx.shape)
            move_slab(slabs[j], gx, gy, gz, diff[j], rho[j], dt, h, box, n_sub, flush, tmp)


@numba.njit(cache=True)
def max_face_gradients(f, h):  # pragma: no cover - compiled
    """max |∂f| over the interior faces normal to each axis of a (nx, ny, nz) field."""
    nx, ny, nz = f.shape
    out = np.zeros(3)
    for a in range(nx):
        for b in range(ny):
            for e in range(nz):
                v = f[a, b, e]
                if a + 1 < nx:
                    out[0] = max(out[0], abs((f[a + 1, b, e] - v) / h))
                if b + 1 < ny:
                    out[1] = max(out[1], abs((f[a, b + 1, e] - v) / h))
                if e + 1 < nz:
                    out[2] = max(out[2], abs((f[a, b, e + 1] - v) / h))
    return out


def motion_reference(
    p: np.ndarray,
    f: np.ndarray,
    diff: np.ndarray,
    rho: np.ndarray,
    dt: float,
    grid: CartesianGrid,
    n_sub: int = 1,
) -> np.ndarray:
    """NumPy reference of one motion step of p (n_ph, n_bins, *space) from the shared
    finite-volume operators: n + Δt (D_i Δn − ∇·(ρ_i n ∇f)), upwind haptotaxis."""
    out = p.copy()
    grads = fv.face_gradients(grid, f)
    for i in range(p.shape[0]):
        vel = [rho[i] * g for g in grads]
        for _ in range(n_sub):
            n = out[i]
            out[i] = n + (dt / n_sub) * (
                diff[i] * fv.laplacian(grid, n) + fv.advection(grid, vel, n, "upwind")
            )
    return out


#: explicit motion sub-steps per step beyond which the settings are refused (each is a pass
#: over every age bin of every phenotype: a hostile D_n = 1e16 once asked for 1e15)
MAX_SUBSTEPS = 10_000


def motion_substeps(
    f: np.ndarray,
    diff: np.ndarray,
    rho: np.ndarray,
    dt: float,
    grid: CartesianGrid,
    speed: float | None = None,
) -> int:
    """Explicit sub-steps keeping the motion step positive: Δt·rate ≤ 0.95 with
    rate = 2 dim D/h² + 2 Σ_axes max|ρ ∂f|/h (the worst phenotype; each cell loses through
    at most two faces per axis). ``speed`` = Σ_axes max|∂f| if known (else from ``f``)."""
    if speed is None:
        grads = fv.face_gradients(grid, f)
        speed = sum(float(np.max(np.abs(g), initial=0.0)) for g in grads)
    with np.errstate(over="ignore", invalid="ignore"):  # refused below if not finite
        rate = float(
            np.max(2 * grid.dim * diff / grid.spacing**2 + 2.0 * rho * speed / grid.spacing)
        )
        n_sub = dt * rate / 0.95
    if not n_sub <= MAX_SUBSTEPS:
        raise InputError(
            f"the cells' motion needs {n_sub:.3g} explicit sub-steps per step (rate "
            f"2 dim D_n w/dx^2 + 2 rho w max|grad f|/dx = {rate:.3g} per day, dt = {dt:g} day, "
            f"dx = {grid.spacing:g}); allowed: at most {MAX_SUBSTEPS} — reduce D_n, rho or "
            "numerics.dt"
        )
    return max(1, math.ceil(n_sub))
