"""Space–age kernels of the age-structured invasion PDE: Numba versions and NumPy references.

Per compartment an array (phenotype, age bin, *space) of densities per age bin (mass/len^dim);
one step = demography, births, motion of proliferating cells (Lie splitting). Storage (ring
buffer), formulas and positivity bound: docs/invasion_pde.md, section 'The kernels: storage and
the step in formulas'.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from oncoscale.numerics import fv
from oncoscale.numerics.grids import CartesianGrid


# =============================================================================================
# demography (NumPy references; the compiled version is fused with motion in step_cells)
# =============================================================================================
def _competing_risks(dt: float, *rates: np.ndarray) -> tuple[np.ndarray, list[np.ndarray]]:
    """Competing exponential risks over dt: the staying fraction e^{−λΔt}, λ = Σ rates, and
    the share (1 − e^{−λΔt})·rate/λ leaving by each rate (0 where λ = 0)."""
    lam = sum(rates)
    stay = np.exp(-lam * dt)
    safe = np.where(lam > 0, lam, 1.0)
    return stay, [np.where(lam > 0, (1.0 - stay) * rate / safe, 0.0) for rate in rates]


def demography_reference(
    p: np.ndarray,
    q: np.ndarray,
    p_old: np.ndarray,
    q_old: np.ndarray,
    g_mid: np.ndarray,
    c: np.ndarray,
    mu: np.ndarray,
    tpq: np.ndarray,
    tqp: np.ndarray,
    dt: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """NumPy reference of :func:`demography` with the age bins in age order (arrays
    (n_ph, n_age, *space)); returns new p, q, p_old, q_old, births, dead."""
    g_all = np.concatenate([g_mid, [0.0]])
    pa = np.concatenate([p, p_old[:, None]], axis=1)
    qa = np.concatenate([q, q_old[:, None]], axis=1)
    shape = (len(g_all),) + (1,) * c.ndim
    r = g_all.reshape(shape) * np.maximum(c, 0.0)
    stay, (f_die, f_div) = _competing_risks(dt, mu, r)
    stay_q, (q_die, q_wake) = _competing_risks(dt, mu, tqp)
    div = pa * f_div
    wake = qa * q_wake
    new_p = pa * stay + wake
    new_q = qa * stay_q + tpq * div
    births = 2.0 * (1.0 - tpq) * div.sum(axis=1)
    dead = (pa * f_die + qa * q_die).sum(axis=1)
    return new_p[:, :-1], new_q[:, :-1], new_p[:, -1], new_q[:, -1], births, dead


def newborns(
    births: np.ndarray, t_m: float, mu: np.ndarray, dt: float
) -> tuple[np.ndarray, np.ndarray]:
    """Age-0 densities (n_ph, *space) from the daughters ``births`` of each parent phenotype
    (mutation i → i + 1 with probability t_m, the last phenotype does not mutate), with the
    half-step survival e^{−μ*Δt/2}; returns (newborn densities, their dead mass)."""
    out = (1.0 - t_m) * births
    out[-1] += t_m * births[-1]
    out[1:] += t_m * births[:-1]
    survive = np.exp(-0.5 * dt * mu)
    return out * survive, out * (1.0 - survive)


def age_ring(p: np.ndarray, p_old: np.ndarray, head: int, newborn: np.ndarray) -> int:
    """Age a ring buffer by one bin in place: the oldest bin joins the plus bin, its slot
    becomes age bin 0 and receives ``newborn``. Returns the new head."""
    n_age = p.shape[1]
    slot = (head + n_age - 1) % n_age
    p_old += p[:, slot]
    p[:, slot] = newborn
    return slot


def age_shift_reference(
    p: np.ndarray, p_old: np.ndarray, newborn: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Reference ageing in age order: shift every bin by one, the oldest joins the plus bin."""
    return np.concatenate([newborn[:, None], p[:, :-1]], axis=1), p_old + p[:, -1]


def ring_to_age_order(p: np.ndarray, head: int) -> np.ndarray:
    """The ring buffer's bins in age order (a copy)."""
    n_age = p.shape[1]
    return p[:, (head + np.arange(n_age)) % n_age]


# =============================================================================================
# motion (diffusion + upwind haptotaxis of proliferating cells)
# =============================================================================================
@numba.njit(cache=True)
def _face_flux(left, right, v, dh):  # pragma: no cover - compiled
    """Flux through a face (left → right): centred diffusion dh·(left − right) plus upwind
    haptotaxis with face velocity v."""
    return dh * (left - right) + v * (left if v > 0.0 else right)


@numba.njit(cache=True)
def _move_slab(s, gx, gy, gz, d, rho, dt, h, tmp):  # pragma: no cover - compiled
    """One explicit step of ∂t s = dΔs − ∇·(ρ s ∇f) on a (nx, ny, nz) slab, in place; gx,
    gy, gz are ∂f on the interior faces of each axis.

    One fused pass in gather form (each cell sums the fluxes through its own faces, read from
    a copy of the slab): a face's flux is computed by both its cells from the same operands,
    so it cancels exactly and mass is conserved to round-off.
    """
    nx, ny, nz = s.shape
    empty = True
    for a in range(nx):
        for b in range(ny):
            for e in range(nz):
                v = s[a, b, e]
                tmp[a, b, e] = v
                if v != 0.0:
                    empty = False
    if empty:
        return
    lam = dt / h
    dh = d / h
    for a in range(nx):
        for b in range(ny):
            for e in range(nz):
                c = tmp[a, b, e]
                out = 0.0
                if a + 1 < nx:
                    out += _face_flux(c, tmp[a + 1, b, e], rho * gx[a, b, e], dh)
                if a > 0:
                    out -= _face_flux(tmp[a - 1, b, e], c, rho * gx[a - 1, b, e], dh)
                if b + 1 < ny:
                    out += _face_flux(c, tmp[a, b + 1, e], rho * gy[a, b, e], dh)
                if b > 0:
                    out -= _face_flux(tmp[a, b - 1, e], c, rho * gy[a, b - 1, e], dh)
                if e + 1 < nz:
                    out += _face_flux(c, tmp[a, b, e + 1], rho * gz[a, b, e], dh)
                if e > 0:
                    out -= _face_flux(tmp[a, b, e - 1], c, rho * gz[a, b, e - 1], dh)
                s[a, b, e] = c - lam * out


@numba.njit(cache=True)
def _face_gradients(f, h):  # pragma: no cover - compiled
    """∂f on the interior faces normal to x, y, z of a (nx, ny, nz) field."""
    nx, ny, nz = f.shape
    gx = np.zeros((max(nx - 1, 0), ny, nz))
    gy = np.zeros((nx, max(ny - 1, 0), nz))
    gz = np.zeros((nx, ny, max(nz - 1, 0)))
    for a in range(nx - 1):
        for b in range(ny):
            for e in range(nz):
                gx[a, b, e] = (f[a + 1, b, e] - f[a, b, e]) / h
    for a in range(nx):
        for b in range(ny - 1):
            for e in range(nz):
                gy[a, b, e] = (f[a, b + 1, e] - f[a, b, e]) / h
    for a in range(nx):
        for b in range(ny):
            for e in range(nz - 1):
                gz[a, b, e] = (f[a, b, e + 1] - f[a, b, e]) / h
    return gx, gy, gz


@numba.njit(cache=True)
def move_bins(bins, f, diff, rho, dt, h, n_sub):  # pragma: no cover - compiled
    """Motion step of bins (n_ph, n_bins, nx, ny, nz) with per-phenotype diffusivity
    ``diff`` and haptotaxis ``rho`` up the MM field ``f``; ``n_sub`` explicit sub-steps."""
    n_ph, n_bins, nx, ny, nz = bins.shape
    gx, gy, gz = _face_gradients(f, h)
    tmp = np.empty((nx, ny, nz))
    sub = dt / n_sub
    for i in range(n_ph):
        if diff[i] == 0.0 and rho[i] == 0.0:
            continue
        for k in range(n_bins):
            for _ in range(n_sub):
                _move_slab(bins[i, k], gx, gy, gz, diff[i], rho[i], sub, h, tmp)


@numba.njit(cache=True)
def step_cells(
    p,
    q,
    p_old,
    q_old,
    head,
    g_mid,
    c,
    mu,
    tpq,
    tqp,
    dt,
    f,
    diff,
    rho,
    h,
    n_sub,
    births,
    necrotic,
    totals,
):  # pragma: no cover - compiled
    """Demography then motion of every age bin, fused bin by bin (each bin is updated while
    it is in cache), in place.

    p, q: ring buffers (n_ph, n_age, nx, ny, nz); p_old, q_old: plus bins (n_ph, nx, ny, nz);
    ``g_mid[k]`` = pr(mid age of bin k, c = 1) (the rate is max(c, 0)·g); c, mu, tpq, tqp:
    O2 and the rates on the grid; f: MM at the step start (haptotaxis). Fills ``births``
    (n_ph, ...) with the daughters 2(1 − t_pq)·divisions of each parent phenotype and
    ``totals`` with the post-demography P + Q density summed over age (before motion); adds
    the dead mass to ``necrotic``. Loss shares come from 1 − e^{−λΔt}, so that
    stay + die + divide = 1 to round-off (exact bookkeeping).
    """
    n_ph, n_age, nx, ny, nz = p.shape
    births[:] = 0.0
    totals[:] = 0.0
    q_stay = np.exp(-(mu + tqp) * dt)
    q_die = np.zeros_like(c)
    q_wake = np.zeros_like(c)
    p0_stay = np.exp(-mu * dt)
    keep = 1.0 - tpq
    for a in range(nx):
        for b in range(ny):
            for e in range(nz):
                lam = mu[a, b, e] + tqp[a, b, e]
                if lam > 0.0:
                    share = (1.0 - q_stay[a, b, e]) / lam
                    q_die[a, b, e] = share * mu[a, b, e]
                    q_wake[a, b, e] = share * tqp[a, b, e]
    stay = np.empty_like(c)
    f_die = np.empty_like(c)
    f_div = np.empty_like(c)
    gx, gy, gz = _face_gradients(f, h)
    tmp = np.empty((nx, ny, nz))
    sub = dt / n_sub
    for k in range(n_age + 1):
        g = g_mid[k] if k < n_age else 0.0
        slot = (head + k) % n_age
        for a in range(nx):
            for b in range(ny):
                for e in range(nz):
                    cc = c[a, b, e]
                    if g > 0.0 and cc > 0.0:
                        r = g * cc
                        lam = mu[a, b, e] + r
                        st = math.exp(-lam * dt)
                        share = (1.0 - st) / lam
                        stay[a, b, e] = st
                        f_die[a, b, e] = share * mu[a, b, e]
                        f_div[a, b, e] = share * r
                    else:
                        stay[a, b, e] = p0_stay[a, b, e]
                        f_die[a, b, e] = 1.0 - p0_stay[a, b, e]
                        f_div[a, b, e] = 0.0
        for i in range(n_ph):
            if k < n_age:
                ps = p[i, slot]
                qs = q[i, slot]
            else:
                ps = p_old[i]
                qs = q_old[i]
            occupied = False
            for a in range(nx):
                for b in range(ny):
                    for e in range(nz):
                        pv = ps[a, b, e]
                        qv = qs[a, b, e]
                        if pv == 0.0 and qv == 0.0:
                            continue
                        occupied = True
                        div = pv * f_div[a, b, e]
                        wake = qv * q_wake[a, b, e]
                        new_p = pv * stay[a, b, e] + wake
                        new_q = qv * q_stay[a, b, e] + tpq[a, b, e] * div
                        ps[a, b, e] = new_p
                        qs[a, b, e] = new_q
                        births[i, a, b, e] += 2.0 * keep[a, b, e] * div
                        necrotic[i, a, b, e] += pv * f_die[a, b, e] + qv * q_die[a, b, e]
                        totals[i, a, b, e] += new_p + new_q
            if occupied and (diff[i] != 0.0 or rho[i] != 0.0):
                for _ in range(n_sub):
                    _move_slab(ps, gx, gy, gz, diff[i], rho[i], sub, h, tmp)


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
    f: np.ndarray, diff: np.ndarray, rho: np.ndarray, dt: float, grid: CartesianGrid
) -> int:
    """Explicit sub-steps keeping the motion step positive: Δt·rate ≤ 0.95 with
    rate = 2 dim D/h² + 2 Σ_axes max|ρ ∂f|/h (the worst phenotype; each cell loses through
    at most two faces per axis)."""
    grads = fv.face_gradients(grid, f)
    speed = sum(float(np.max(np.abs(g), initial=0.0)) for g in grads)
    rate = float(np.max(2 * grid.dim * diff / grid.spacing**2 + 2.0 * rho * speed / grid.spacing))
    return max(1, math.ceil(dt * rate / 0.95))
