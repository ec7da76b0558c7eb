"""Motion of proliferating cells in the age-structured invasion PDE: ∂t n = D_i Δn − ∇·(ρ_i n ∇f)
per phenotype i, explicit conservative finite volumes (centred diffusion, upwind haptotaxis,
zero flux at the walls), compiled (parallel, inside the support box) and its NumPy reference.
Formulas and positivity bound: docs/invasion_pde.md, section 'The kernels: storage and the step
in formulas'; parallel layout: section 'Support box and threads'.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from oncoscale.numerics import fv
from oncoscale.numerics.grids import CartesianGrid


@numba.njit(cache=True, inline="always")
def _face_flux(left, right, v, dh):  # pragma: no cover - compiled
    """Flux through a face (left → right): centred diffusion dh·(left − right) plus upwind
    haptotaxis with face velocity v."""
    return dh * (left - right) + v * (left if v > 0.0 else right)


@numba.njit(cache=True)
def _gradients(f, a, box, h, g):  # pragma: no cover - compiled
    """∂f on the faces of plane ``a`` inside the box, into ``g`` (3, by + 1, bz + 1):
    [0, b, e] towards a + 1, [1, b + 1, e] towards b + 1, [2, b, e + 1] towards e + 1; 0 on
    the box faces."""
    lo1, lo2, hi0 = box[0, 1], box[0, 2], box[1, 0]
    by, bz = g.shape[1] - 1, g.shape[2] - 1
    g[:] = 0.0
    for b in range(by):
        y = lo1 + b
        for e in range(bz):
            z = lo2 + e
            fc = f[a, y, z]
            if a + 1 < hi0:
                g[0, b, e] = (f[a + 1, y, z] - fc) / h
            if b + 1 < by:
                g[1, b + 1, e] = (f[a, y + 1, z] - fc) / h
            if e + 1 < bz:
                g[2, b, e + 1] = (f[a, y, z + 1] - fc) / h


@numba.njit(cache=True)
def _move_plane(
    out, lo1, lo2, prev, cur, nxt, g, g_prev, rho, dh, lam, flush
):  # pragma: no cover - compiled
    """New values of one plane (``out`` (ny, nz), the box part at (lo1 + b, lo2 + e)) from the
    old padded planes before (``prev``), at (``cur``, ghost cells equal to their neighbours)
    and after it (``nxt``), and the face gradients of f of the plane (``g``) and of the plane
    before (``g_prev``), zero on the box faces so that nothing crosses them. Branch-free rows
    (vectorised)."""
    by, bz = cur.shape[0] - 2, cur.shape[1] - 2
    for b in range(by):
        y = lo1 + b
        for e in range(bz):
            c = cur[b + 1, e + 1]
            acc = 0.0
            acc += _face_flux(c, nxt[b + 1, e + 1], rho * g[0, b, e], dh)
            acc -= _face_flux(prev[b + 1, e + 1], c, rho * g_prev[0, b, e], dh)
            acc += _face_flux(c, cur[b + 2, e + 1], rho * g[1, b + 1, e], dh)
            acc -= _face_flux(cur[b, e + 1], c, rho * g[1, b, e], dh)
            acc += _face_flux(c, cur[b + 1, e + 2], rho * g[2, b, e + 1], dh)
            acc -= _face_flux(cur[b + 1, e], c, rho * g[2, b, e], dh)
            v = c - lam * acc
            out[y, lo2 + e] = v if v >= flush else 0.0


@numba.njit(cache=True)
def _pad(buf, plane, lo1, lo2):  # pragma: no cover - compiled
    """Copy the box part of ``plane`` (ny, nz) into ``buf`` (by + 2, bz + 2) with ghost cells
    equal to their neighbours."""
    by, bz = buf.shape[0] - 2, buf.shape[1] - 2
    for b in range(by):
        for e in range(bz):
            buf[b + 1, e + 1] = plane[lo1 + b, lo2 + e]
        buf[b + 1, 0] = buf[b + 1, 1]
        buf[b + 1, bz + 1] = buf[b + 1, bz]
    for e in range(bz + 2):
        buf[0, e] = buf[1, e]
        buf[by + 1, e] = buf[by, e]


@numba.njit(cache=True, parallel=True)
def move_box(
    slabs, active, diff, rho, f, dt, h, box, n_sub, flush, n_chunks
):  # pragma: no cover - compiled
    """``n_sub`` explicit steps of ∂t s = DΔs − ∇·(ρ s ∇f) for every ``active`` slab s of
    ``slabs`` (n_slabs, nx, ny, nz), in place, inside ``box`` (zero flux at its faces: the
    caller's box is wide enough that nothing reaches them); f: MM on the same grid. The slabs
    come in len(diff) equal groups (phenotypes), group g with D = diff[g], ρ = rho[g]. Values
    below ``flush`` become 0.

    Gather form: each cell sums the fluxes through its own faces from the old values, so a
    face's flux is computed by both its cells from the same operands and cancels exactly. The
    planes along axis 0 are cut into ``n_chunks`` chunks (one per thread), each keeping the old
    values of its neighbours' boundary planes and, per slab, of its last two planes: every
    value is computed from the same operands whatever the number of chunks and threads.
    """
    lo0, lo1, lo2 = box[0, 0], box[0, 1], box[0, 2]
    hi0, hi1, hi2 = box[1, 0], box[1, 1], box[1, 2]
    bx, by, bz = hi0 - lo0, hi1 - lo1, hi2 - lo2
    n_s, n_g = slabs.shape[0], diff.size
    size = n_s // n_g
    if bx <= 0 or by <= 0 or bz <= 0:
        return
    n_chunks = max(1, min(n_chunks, bx))
    starts = np.empty(n_chunks + 1, dtype=np.int64)
    for ch in range(n_chunks + 1):
        starts[ch] = lo0 + (bx * ch) // n_chunks
    halo = np.empty((n_chunks, 2, n_s, by + 2, bz + 2) if n_chunks > 1 else (1, 2, 1, 1, 1))
    lam = dt / n_sub / h
    for _ in range(n_sub):
        for ch in numba.prange(n_chunks):
            a0, a1 = starts[ch], starts[ch + 1]
            for j in range(n_s):
                if active[j] and (diff[j // size] != 0.0 or rho[j // size] != 0.0):
                    if a0 > lo0:
                        _pad(halo[ch, 0, j], slabs[j, a0 - 1], lo1, lo2)
                    if a1 < hi0:
                        _pad(halo[ch, 1, j], slabs[j, a1], lo1, lo2)
        for ch in numba.prange(n_chunks):
            a0, a1 = starts[ch], starts[ch + 1]
            bufs = np.empty((size, 3, by + 2, bz + 2))  # per slab: old planes a − 1, a, a + 1
            grads = np.empty((2, 3, by + 1, bz + 1))  # face gradients of planes a − 1 and a
            for grp in range(n_g):
                d, r = diff[grp], rho[grp]
                if d == 0.0 and r == 0.0:
                    continue
                dh = d / h
                if a0 > lo0:
                    _gradients(f, a0 - 1, box, h, grads[1])
                else:
                    grads[1] = 0.0
                for a in range(a0, a1):
                    gn = (a - a0) % 2
                    _gradients(f, a, box, h, grads[gn])
                    i_prev, i_cur, i_next = (a - a0 + 2) % 3, (a - a0) % 3, (a - a0 + 1) % 3
                    for m in range(size):
                        j = grp * size + m
                        if not active[j]:
                            continue
                        buf = bufs[m]
                        if a == a0:
                            _pad(buf[i_cur], slabs[j, a], lo1, lo2)
                            if a0 > lo0:
                                buf[i_prev] = halo[ch, 0, j]
                            else:
                                buf[i_prev] = buf[i_cur]  # box face: no flux
                        if a + 1 == hi0:
                            buf[i_next] = buf[i_cur]  # box face: no flux (gradient 0)
                        elif a + 1 == a1:
                            buf[i_next] = halo[ch, 1, j]
                        else:
                            _pad(buf[i_next], slabs[j, a + 1], lo1, lo2)
                        _move_plane(slabs[j, a], lo1, lo2, buf[i_prev], buf[i_cur],
                                    buf[i_next], grads[gn], grads[1 - gn], r, dh, lam,
                                    flush)  # fmt: skip


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
    rate = float(np.max(2 * grid.dim * diff / grid.spacing**2 + 2.0 * rho * speed / grid.spacing))
    return max(1, math.ceil(dt * rate / 0.95))
