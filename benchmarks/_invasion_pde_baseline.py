"""Today's (round 2) compiled step of the age-structured invasion PDE, frozen for the benchmark
ratio of :mod:`benchmarks.bench_invasion_pde` (not used by the package): demography and motion
fused slab by slab over the whole grid on one thread, full-grid NumPy bookkeeping, one-thread
cosine transforms. Same numerics as ``InvasionPDE`` with ``box = false, flush = 0``.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy import fft

from oncoscale.models.invasion.params import N_PHENOTYPES
from oncoscale.numerics.helmholtz import NeumannHelmholtz


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


def age_ring(p: np.ndarray, p_old: np.ndarray, head: int, newborn: np.ndarray) -> int:
    """Age a ring buffer by one bin in place (the oldest bin joins the plus bin, its slot
    becomes age bin 0 and receives ``newborn``); returns the new head."""
    n_age = p.shape[1]
    slot = (head + n_age - 1) % n_age
    p_old += p[:, slot]
    p[:, slot] = newborn
    return slot


def _field_step(helmholtz, params, mm, mde, o2, load, dt):
    """The round-2 field step (NumPy expressions, one-thread transforms, the spectral
    denominator rebuilt for every solve), frozen."""
    p, axes = params, tuple(range(-helmholtz.grid.dim, 0))

    def solve(rhs, diffusion, decay):
        spec = fft.dctn(rhs, type=2, norm="ortho", axes=axes)
        spec /= 1.0 - dt * (diffusion * helmholtz.eigenvalues - decay)
        return fft.idctn(spec, type=2, norm="ortho", axes=axes)

    mm_new = mm * np.exp(-p.eta * np.maximum(mde, 0.0) * dt)
    o2_mid = o2 * (1.0 / (1.0 + dt * p.omega * load / (np.maximum(o2, 0.0) + p.K_O)))
    mde_new = solve(mde + dt * p.kappa * load, p.D_m, p.sigma_m)
    o2_new = solve(o2_mid + dt * p.nu * mm_new, p.D_o, p.phi)
    return mm_new, np.maximum(mde_new, 0.0), np.maximum(o2_new, 0.0)


class BaselineStepper:
    """Steps an ``InvasionPDE`` state in place with the frozen round-2 kernel."""

    def __init__(self, rep):
        self.rep = rep
        self.helmholtz = NeumannHelmholtz(rep.grid)

    def step(self, s) -> None:
        rep, g, dt, n_ph = self.rep, self.rep.grid, self.rep.dt, N_PHENOTYPES
        shape3 = (1,) * (3 - rep.dim) + g.shape
        mu, tpq, tqp = rep._rates(s.o2)
        births = np.empty((n_ph, *shape3))
        dead = np.zeros((n_ph, *shape3))
        totals = np.empty((n_ph, *shape3))
        mm_start = s.mm
        n_sub = rep._substeps(mm_start)
        step_cells(
            s.p.reshape(n_ph, rep.n_age, *shape3), s.q.reshape(n_ph, rep.n_age, *shape3),
            s.p_old.reshape(n_ph, *shape3), s.q_old.reshape(n_ph, *shape3), s.head,
            rep.g_table[rep._phase(s.steps)], s.o2.reshape(shape3), mu.reshape(shape3),
            tpq.reshape(shape3), tqp.reshape(shape3), dt, mm_start.reshape(shape3), rep.diff,
            rep.rho, g.spacing, n_sub, births, dead, totals,
        )  # fmt: skip
        births = births.reshape(n_ph, *g.shape)
        nb, dead_nb, raw = rep._newborns(births, mu)
        load = np.tensordot(rep.params.w, totals.reshape(n_ph, *g.shape) + nb, axes=(0, 0))
        moved = nb.reshape(n_ph, 1, *shape3)
        move_bins(moved, mm_start.reshape(shape3), rep.diff, rep.rho, dt, g.spacing, n_sub)
        if rep._shifts_after(s.steps):
            head = age_ring(s.p, s.p_old, s.head, nb)
            age_ring(s.q, s.q_old, s.head, 0.0)
            s.head = head
        else:
            s.p[:, s.head] += nb
        rep._bookkeep(s, births, raw, dead.reshape(n_ph, *g.shape) + dead_nb)
        s.mm, s.mde, s.o2 = _field_step(self.helmholtz, rep.params, s.mm, s.mde, s.o2, load, dt)
        s.steps += 1
