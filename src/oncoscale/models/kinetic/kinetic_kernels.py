"""Transport–relaxation step of the micro–macro kinetic scheme: Numba kernels and the NumPy
references of the same step (tested equal).

One call updates the micro part g on the cell faces (implicit relaxation) and returns the
macro flux divergence ∇·⟨v g⁺⟩ at the cell centres. Formulas, walls and array shapes:
docs/kinetic.md, section 'The transport–relaxation kernels'.
"""

from __future__ import annotations

import numba
import numpy as np


# =======================================================================================
# 1D
# =======================================================================================
@numba.njit(cache=True)
def transport_1d(
    M, g, vel, w, lam, loss, dx, dt, eps, implicit, g_out, div_out
):  # pragma: no cover
    """Numba kernel of the 1D step (fills ``g_out`` and ``div_out``)."""
    P, B, K, nf = g.shape
    nx = nf + 1
    inv_eps = 1.0 / eps
    inv_eps2 = inv_eps * inv_eps
    A = np.empty(K)
    for p in range(P):
        relax = lam[p] * inv_eps2
        for b in range(B):
            for f in range(nf):
                grad = (M[p, b, f + 1] - M[p, b, f]) / dx
                aface = 0.5 * (loss[p, f] + loss[p, f + 1])
                abar = 0.0
                for k in range(K):
                    v = vel[p, k, 0]
                    gk = g[p, b, k, f]
                    if v > 0.0:
                        gl = g[p, b, k, f - 1] if f > 0 else 0.0
                        A[k] = v * (gk - gl) / dx
                    else:
                        gr = g[p, b, k, f + 1] if f < nf - 1 else 0.0
                        A[k] = v * (gr - gk) / dx
                    abar += w[k] * A[k]
                for k in range(K):
                    v = vel[p, k, 0]
                    gk = g[p, b, k, f]
                    num = gk - dt * inv_eps * (A[k] - abar) - dt * inv_eps2 * v * grad
                    if implicit:
                        g_out[p, b, k, f] = num / (1.0 + dt * (relax + aface))
                    else:
                        g_out[p, b, k, f] = num - dt * (relax + aface) * gk
            left = 0.0
            for j in range(nx):
                right = 0.0
                if j < nf:
                    for k in range(K):
                        right += w[k] * vel[p, k, 0] * g_out[p, b, k, j]
                div_out[p, b, j] = (right - left) / dx
                left = right


def transport_1d_reference(M, g, vel, w, lam, loss, dx, dt, eps, implicit):
    """NumPy reference of :func:`transport_1d`; returns (g_out, div)."""
    v = vel[:, :, 0][:, None, :, None]  # (P, 1, K, 1)
    zeros = np.zeros((*g.shape[:-1], 1))
    padded = np.concatenate([zeros, g, zeros], axis=-1)
    back = (padded[..., 1:-1] - padded[..., :-2]) / dx
    fwd = (padded[..., 2:] - padded[..., 1:-1]) / dx
    A = v * np.where(v > 0, back, fwd)
    A -= np.einsum("k,pbkf->pbf", w, A)[:, :, None, :]
    grad = np.diff(M, axis=-1)[:, :, None, :] / dx
    aface = 0.5 * (loss[:, 1:] + loss[:, :-1])[:, None, None, :]
    rate = lam[:, None, None, None] / eps**2 + aface
    num = g - dt / eps * A - dt / eps**2 * v * grad
    g_out = num / (1.0 + dt * rate) if implicit else num - dt * rate * g
    flux = np.einsum("k,pk,pbkf->pbf", w, vel[:, :, 0], g_out)
    wall = np.zeros((*flux.shape[:-1], 1))
    flux = np.concatenate([wall, flux, wall], axis=-1)
    return g_out, np.diff(flux, axis=-1) / dx


# =======================================================================================
# 2D
# =======================================================================================
@numba.njit(cache=True, inline="always")
def _upwind_x(g, p, b, k, kt, f, j, vx, vy, inv_h, nfx, ny):  # pragma: no cover - compiled
    """(v·∇)ᵘᵖ g at x-face (f, j): 0 beyond the x-walls, mirror image kt beyond y-walls."""
    gk = g[p, b, k, f, j]
    if vx > 0.0:
        nb = g[p, b, k, f - 1, j] if f > 0 else 0.0
        a = vx * (gk - nb)
    else:
        nb = g[p, b, k, f + 1, j] if f < nfx - 1 else 0.0
        a = vx * (nb - gk)
    if vy > 0.0:
        nb = g[p, b, k, f, j - 1] if j > 0 else g[p, b, kt, f, 0]
        a += vy * (gk - nb)
    else:
        nb = g[p, b, k, f, j + 1] if j < ny - 1 else g[p, b, kt, f, ny - 1]
        a += vy * (nb - gk)
    return a * inv_h


@numba.njit(cache=True, inline="always")
def _upwind_y(g, p, b, k, kt, i, f, vx, vy, inv_h, nx, nfy):  # pragma: no cover - compiled
    """(v·∇)ᵘᵖ g at y-face (i, f): 0 beyond the y-walls, mirror image kt beyond x-walls."""
    gk = g[p, b, k, i, f]
    if vy > 0.0:
        nb = g[p, b, k, i, f - 1] if f > 0 else 0.0
        a = vy * (gk - nb)
    else:
        nb = g[p, b, k, i, f + 1] if f < nfy - 1 else 0.0
        a = vy * (nb - gk)
    if vx > 0.0:
        nb = g[p, b, k, i - 1, f] if i > 0 else g[p, b, kt, 0, f]
        a += vx * (gk - nb)
    else:
        nb = g[p, b, k, i + 1, f] if i < nx - 1 else g[p, b, kt, nx - 1, f]
        a += vx * (nb - gk)
    return a * inv_h


@numba.njit(cache=True, error_model="numpy")
def transport_2d(
    M, gx, gy, vel, w, lam, loss, refl_x, refl_y, h, dt, eps, implicit, gx_out, gy_out, div_out
):  # pragma: no cover - compiled
    """Numba kernel of the 2D step on a square grid of spacing ``h``.

    Per face family two passes with the velocity index outermost (contiguous access): the
    average ⟨(v·∇)ᵘᵖ g⟩, then the update (recomputing the cheap upwind term) and the flux.
    """
    P, B, K = gx.shape[0], gx.shape[1], gx.shape[2]
    nx, ny = M.shape[2], M.shape[3]
    inv_h = 1.0 / h
    c_tr = dt / eps
    c_src = dt / (eps * eps)
    cx = np.empty((nx, ny))
    cy = np.empty((nx, ny))
    sx_n = np.empty((nx - 1, ny))  # compact normal gradient at x-faces
    sx_t = np.empty((nx - 1, ny))  # tangential gradient at x-faces
    dx_ = np.empty((nx - 1, ny))  # relaxation denominator (or rate) at x-faces
    sy_n = np.empty((nx, ny - 1))
    sy_t = np.empty((nx, ny - 1))
    dy_ = np.empty((nx, ny - 1))
    abx = np.empty((nx - 1, ny))
    aby = np.empty((nx, ny - 1))
    fx = np.empty((nx - 1, ny))
    fy = np.empty((nx, ny - 1))
    for p in range(P):
        relax = lam[p] / (eps * eps)
        for b in range(B):
            for i in range(nx):
                for j in range(ny):
                    cx[i, j] = (
                        0.5 * inv_h * (M[p, b, min(i + 1, nx - 1), j] - M[p, b, max(i - 1, 0), j])
                    )
                    cy[i, j] = (
                        0.5 * inv_h * (M[p, b, i, min(j + 1, ny - 1)] - M[p, b, i, max(j - 1, 0)])
                    )
            for i in range(nx - 1):
                for j in range(ny):
                    sx_n[i, j] = inv_h * (M[p, b, i + 1, j] - M[p, b, i, j])
                    sx_t[i, j] = 0.5 * (cy[i, j] + cy[i + 1, j])
                    dx_[i, j] = dt * (relax + 0.5 * (loss[p, i, j] + loss[p, i + 1, j]))
            for i in range(nx):
                for j in range(ny - 1):
                    sy_n[i, j] = inv_h * (M[p, b, i, j + 1] - M[p, b, i, j])
                    sy_t[i, j] = 0.5 * (cx[i, j] + cx[i, j + 1])
                    dy_[i, j] = dt * (relax + 0.5 * (loss[p, i, j] + loss[p, i, j + 1]))
            # ---- x-faces (f, j): between cells (f, j) and (f + 1, j)
            abx[:] = 0.0
            for k in range(K):
                vx, vy, kt = vel[p, k, 0], vel[p, k, 1], refl_y[k]
                for f in range(nx - 1):
                    for j in range(ny):
                        abx[f, j] += w[k] * _upwind_x(
                            gx, p, b, k, kt, f, j, vx, vy, inv_h, nx - 1, ny
                        )
            fx[:] = 0.0
            for k in range(K):
                vx, vy, kt = vel[p, k, 0], vel[p, k, 1], refl_y[k]
                for f in range(nx - 1):
                    for j in range(ny):
                        a = _upwind_x(gx, p, b, k, kt, f, j, vx, vy, inv_h, nx - 1, ny)
                        gk = gx[p, b, k, f, j]
                        num = (
                            gk
                            - c_tr * (a - abx[f, j])
                            - c_src * (vx * sx_n[f, j] + vy * sx_t[f, j])
                        )
                        new = num / (1.0 + dx_[f, j]) if implicit else num - dx_[f, j] * gk
                        gx_out[p, b, k, f, j] = new
                        fx[f, j] += w[k] * vx * new
            # ---- y-faces (i, f): between cells (i, f) and (i, f + 1)
            aby[:] = 0.0
            for k in range(K):
                vx, vy, kt = vel[p, k, 0], vel[p, k, 1], refl_x[k]
                for i in range(nx):
                    for f in range(ny - 1):
                        aby[i, f] += w[k] * _upwind_y(
                            gy, p, b, k, kt, i, f, vx, vy, inv_h, nx, ny - 1
                        )
            fy[:] = 0.0
            for k in range(K):
                vx, vy, kt = vel[p, k, 0], vel[p, k, 1], refl_x[k]
                for i in range(nx):
                    for f in range(ny - 1):
                        a = _upwind_y(gy, p, b, k, kt, i, f, vx, vy, inv_h, nx, ny - 1)
                        gk = gy[p, b, k, i, f]
                        num = (
                            gk
                            - c_tr * (a - aby[i, f])
                            - c_src * (vy * sy_n[i, f] + vx * sy_t[i, f])
                        )
                        new = num / (1.0 + dy_[i, f]) if implicit else num - dy_[i, f] * gk
                        gy_out[p, b, k, i, f] = new
                        fy[i, f] += w[k] * vy * new
            # ---- divergence of the fluxes ⟨v g⁺⟩ (zero on the walls)
            for i in range(nx):
                for j in range(ny):
                    d = 0.0
                    if i < nx - 1:
                        d += fx[i, j]
                    if i > 0:
                        d -= fx[i - 1, j]
                    if j < ny - 1:
                        d += fy[i, j]
                    if j > 0:
                        d -= fy[i, j - 1]
                    div_out[p, b, i, j] = d * inv_h


def _upwind(g, v, axis, h, ghost_lo, ghost_hi):
    """v ∂g along ``axis`` (an axis of g), first-order upwind with the given ghost layers."""
    padded = np.concatenate([ghost_lo, g, ghost_hi], axis=axis)
    n = g.shape[axis]
    sl = [slice(None)] * g.ndim

    def take(lo, hi):
        s = list(sl)
        s[axis] = slice(lo, hi)
        return padded[tuple(s)]

    back = (take(1, n + 1) - take(0, n)) / h
    fwd = (take(2, n + 2) - take(1, n + 1)) / h
    return v * np.where(v > 0, back, fwd)


def _cell_grads(M, h):
    """Central differences (Neumann mirror) of M (P, B, nx, ny) along x and y."""
    px = np.concatenate([M[:, :, :1], M, M[:, :, -1:]], axis=2)
    py = np.concatenate([M[:, :, :, :1], M, M[:, :, :, -1:]], axis=3)
    return (px[:, :, 2:] - px[:, :, :-2]) / (2 * h), (py[:, :, :, 2:] - py[:, :, :, :-2]) / (2 * h)


def _face_update(g, A, w, src, rate, dt, eps, implicit):
    A = A - np.einsum("k,pbk...->pb...", w, A)[:, :, None]
    num = g - dt / eps * A - dt / eps**2 * src
    return num / (1.0 + dt * rate) if implicit else num - dt * rate * g


def transport_2d_reference(M, gx, gy, vel, w, lam, loss, refl_x, refl_y, h, dt, eps, implicit):
    """NumPy reference of :func:`transport_2d`; returns (gx_out, gy_out, div)."""
    vx = vel[:, :, 0][:, None, :, None, None]
    vy = vel[:, :, 1][:, None, :, None, None]
    cx, cy = _cell_grads(M, h)
    lam5 = lam[:, None, None, None, None] / eps**2
    # x-faces
    zx = np.zeros_like(gx[..., :1, :])
    ax = _upwind(gx, vx, 3, h, zx, zx)
    ay = _upwind(gx, vy, 4, h, gx[:, :, refl_y, :, :1], gx[:, :, refl_y, :, -1:])
    src = (
        vx * (np.diff(M, axis=2) / h)[:, :, None]
        + vy * (0.5 * (cy[:, :, 1:] + cy[:, :, :-1]))[:, :, None]
    )
    rate = lam5 + (0.5 * (loss[:, 1:] + loss[:, :-1]))[:, None, None]
    gx_out = _face_update(gx, ax + ay, w, src, rate, dt, eps, implicit)
    # y-faces
    zy = np.zeros_like(gy[..., :1])
    ay = _upwind(gy, vy, 4, h, zy, zy)
    ax = _upwind(gy, vx, 3, h, gy[:, :, refl_x, :1, :], gy[:, :, refl_x, -1:, :])
    src = (
        vy * (np.diff(M, axis=3) / h)[:, :, None]
        + vx * (0.5 * (cx[:, :, :, 1:] + cx[:, :, :, :-1]))[:, :, None]
    )
    rate = lam5 + (0.5 * (loss[:, :, 1:] + loss[:, :, :-1]))[:, None, None]
    gy_out = _face_update(gy, ax + ay, w, src, rate, dt, eps, implicit)
    # fluxes and divergence
    fx = np.einsum("k,pk,pbkij->pbij", w, vel[:, :, 0], gx_out)
    fy = np.einsum("k,pk,pbkij->pbij", w, vel[:, :, 1], gy_out)
    zfx = np.zeros_like(fx[:, :, :1])
    zfy = np.zeros_like(fy[:, :, :, :1])
    fx = np.concatenate([zfx, fx, zfx], axis=2)
    fy = np.concatenate([zfy, fy, zfy], axis=3)
    return gx_out, gy_out, (np.diff(fx, axis=2) + np.diff(fy, axis=3)) / h
