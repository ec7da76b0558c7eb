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


@numba.njit(cache=True, inline="always")
def _updated(c, xr, xl, yr, yl, zr, zl, vxr, vxl, vyr, vyl, vzr, vzl, dh, lam):  # pragma: no cover
    """c − λ·(net outflow through the six faces), the neighbours (x, y, z; right then left)
    and face velocities given; a missing face is given as the cell itself with velocity 0
    (its flux is exactly 0)."""
    out = _face_flux(c, xr, vxr, dh)
    out -= _face_flux(xl, c, vxl, dh)
    out += _face_flux(c, yr, vyr, dh)
    out -= _face_flux(yl, c, vyl, dh)
    out += _face_flux(c, zr, vzr, dh)
    out -= _face_flux(zl, c, vzl, dh)
    return c - lam * out


@numba.njit(cache=True, parallel=True)
def face_gradients(f, box, h):  # pragma: no cover - compiled
    """∂f on the interior faces of ``box`` normal to each axis: arrays of the box's shape
    (face towards +1 of each cell; 0 on the box's last faces, f being finite); planes in
    parallel."""
    lo0, lo1, lo2 = box[0, 0], box[0, 1], box[0, 2]
    bx, by, bz = box[1, 0] - lo0, box[1, 1] - lo1, box[1, 2] - lo2
    gx = np.empty((bx, by, bz))
    gy = np.empty((bx, by, bz))
    gz = np.empty((bx, by, bz))
    for a in numba.prange(bx):
        for b in range(by):
            f_row = f[lo0 + a, lo1 + b, lo2 : lo2 + bz]
            x_row = f[lo0 + a + 1, lo1 + b, lo2 : lo2 + bz] if a + 1 < bx else f_row
            y_row = f[lo0 + a, lo1 + b + 1, lo2 : lo2 + bz] if b + 1 < by else f_row
            gx_row, gy_row, gz_row = gx[a, b], gy[a, b], gz[a, b]
            for e in range(bz):  # a missing face: the row itself, (v − v)/h = 0
                gx_row[e] = (x_row[e] - f_row[e]) / h
                gy_row[e] = (y_row[e] - f_row[e]) / h
            for e in range(bz - 1):
                gz_row[e] = (f_row[e + 1] - f_row[e]) / h
            if bz > 0:
                gz_row[bz - 1] = 0.0
    return gx, gy, gz


@numba.njit(cache=True)
def _copy_plane(s, x, box, out):  # pragma: no cover - compiled
    """Plane x of every slab of ``s`` (n, nx, ny, nz) inside ``box`` into ``out`` (n, by,
    bz); whether any value is nonzero."""
    lo1, lo2 = box[0, 1], box[0, 2]
    nonzero = False
    for g in range(out.shape[0]):
        for b in range(out.shape[1]):
            for e in range(out.shape[2]):
                v = s[g, x, lo1 + b, lo2 + e]
                out[g, b, e] = v
                nonzero = nonzero or v != 0.0
    return nonzero


@numba.njit(cache=True)
def move_slab(s, gx, gy, gz, d, rho, dt, h, box, n_sub, flush):  # pragma: no cover
    """``n_sub`` explicit steps of ∂t s = dΔs − ∇·(ρ s ∇f) of each slab of s (n, nx, ny, nz),
    all with the same d and ρ, inside ``box`` (zero flux at its faces: the caller's box is
    wide enough that nothing reaches them), in place; gx, gy, gz: :func:`face_gradients` of
    the box. Values below ``flush`` become 0.

    One pass per sub-step, plane by plane (axis 0) in gather form: each cell sums the fluxes
    through its own faces from the sub-step's old values, kept for three planes (previous,
    current, next) in small buffers; the slabs share the plane's face gradients while they
    are in cache. A face's flux is computed by both its cells from the same operands, so it
    cancels exactly and mass is conserved to round-off; each slab's result does not depend on
    the others; a plane whose old values and neighbours' are all 0 stays 0 and is skipped.
    """
    lo0, lo1, lo2 = box[0, 0], box[0, 1], box[0, 2]
    bx, by, bz = box[1, 0] - lo0, box[1, 1] - lo1, box[1, 2] - lo2
    n = s.shape[0]
    if bx <= 0 or by <= 0 or bz <= 0:
        return
    if gx.shape != (bx, by, bz) or gy.shape != gx.shape or gz.shape != gx.shape:
        raise ValueError("move_slab: the face gradients must be those of the box")
    lam = dt / n_sub / h
    dh = d / h
    prev, cur, nxt = np.zeros((n, by, bz)), np.empty((n, by, bz)), np.empty((n, by, bz))
    zero = np.zeros(bz)
    for _ in range(n_sub):
        any_prev = False
        any_cur = _copy_plane(s, lo0, box, cur)
        written = False
        for a in range(bx):
            x = lo0 + a
            any_nxt = _copy_plane(s, x + 1, box, nxt) if a + 1 < bx else False
            if any_prev or any_cur or any_nxt:
                written = True
                xp, xm = a + 1 < bx, a > 0
                for g in range(n):  # the plane's gradients stay in cache across slabs
                    for b in range(by):
                        # row views (indices from range need no negative-index handling);
                        # a missing x or y face reads the cell itself with gradient 0: its
                        # flux is exactly 0 (gx, gy are 0 on the box's last faces)
                        c_row = cur[g, b]
                        n_row = nxt[g, b] if xp else c_row
                        p_row = prev[g, b] if xm else c_row
                        up_row = cur[g, b + 1] if b + 1 < by else c_row
                        dn_row = cur[g, b - 1] if b > 0 else c_row
                        gx_row, gy_row, gz_row = gx[a, b], gy[a, b], gz[a, b]
                        gxm_row = gx[a - 1, b] if xm else zero
                        gym_row = gy[a, b - 1] if b > 0 else zero
                        s_row = s[g, x, lo1 + b, lo2 : lo2 + bz]
                        for e in range(1, bz - 1):  # interior: no branch on the faces
                            v = _updated(c_row[e], n_row[e], p_row[e], up_row[e], dn_row[e],
                                         c_row[e + 1], c_row[e - 1], rho * gx_row[e],
                                         rho * gxm_row[e], rho * gy_row[e], rho * gym_row[e],
                                         rho * gz_row[e], rho * gz_row[e - 1], dh, lam)  # fmt: skip
                            s_row[e] = v if v >= flush else 0.0
                        for e in range(0, bz, max(bz - 1, 1)):  # the ends: one z face each
                            c = c_row[e]
                            zr, vzr = (c_row[e + 1], rho * gz_row[e]) if e + 1 < bz else (c, 0.0)
                            zl, vzl = (c_row[e - 1], rho * gz_row[e - 1]) if e > 0 else (c, 0.0)
                            v = _updated(c, n_row[e], p_row[e], up_row[e], dn_row[e], zr, zl,
                                         rho * gx_row[e], rho * gxm_row[e], rho * gy_row[e],
                                         rho * gym_row[e], vzr, vzl, dh, lam)  # fmt: skip
                            s_row[e] = v if v >= flush else 0.0
            prev, cur, nxt = cur, nxt, prev
            any_prev, any_cur = any_cur, any_nxt
        if not written:
            return


@numba.njit(cache=True, parallel=True)
def move_slabs(slabs, active, diff, rho, gx, gy, gz, dt, h, box, n_sub, flush):
    # pragma: no cover - compiled
    """:func:`move_slab` of every ``active`` slab of ``slabs`` (n_slabs, nx, ny, nz), slab j
    with D = diff[j], ρ = rho[j], along the face gradients gx, gy, gz of the box
    (:func:`face_gradients`); slabs in parallel (each is computed alone: the result does
    not depend on the threads)."""
    for j in numba.prange(slabs.shape[0]):
        if active[j] and (diff[j] != 0.0 or rho[j] != 0.0):
            move_slab(slabs[j : j + 1], gx, gy, gz, diff[j], rho[j], dt, h, box, n_sub, flush)


@numba.njit(cache=True, parallel=True)
def max_face_gradients(f, h):  # pragma: no cover - compiled
    """max |∂f| over the interior faces normal to each axis of a (nx, ny, nz) field (planes
    in parallel; a maximum does not depend on their order)."""
    nx, ny, nz = f.shape
    per_plane = np.zeros((nx, 3))
    for a in numba.prange(nx):
        m0 = m1 = m2 = 0.0
        for b in range(ny):
            f_row = f[a, b]
            if a + 1 < nx:
                x_row = f[a + 1, b]
                for e in range(nz):
                    m0 = max(m0, abs((x_row[e] - f_row[e]) / h))
            if b + 1 < ny:
                y_row = f[a, b + 1]
                for e in range(nz):
                    m1 = max(m1, abs((y_row[e] - f_row[e]) / h))
            for e in range(nz - 1):
                m2 = max(m2, abs((f_row[e + 1] - f_row[e]) / h))
        per_plane[a, 0], per_plane[a, 1], per_plane[a, 2] = m0, m1, m2
    out = np.zeros(3)
    for a in range(nx):
        for k in range(3):
            out[k] = max(out[k], per_plane[a, k])
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
