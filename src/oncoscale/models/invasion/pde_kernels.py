"""Demography, births and ageing of the age-structured invasion PDE: compiled kernels (parallel
over planes, inside the support box) and NumPy references; motion is in :mod:`.pde_motion`.

Per compartment an array (phenotype, age bin, *space) of densities per age bin (mass/len^dim).
Storage (ring buffer) and formulas: docs/invasion_pde.md, section 'The kernels: storage and the
step in formulas'; parallel layout: section 'Support box and threads'.
"""

from __future__ import annotations

import math

import numba
import numpy as np


# =============================================================================================
# demography, births and ageing (NumPy references)
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
# demography, births and ageing (compiled, parallel over planes, inside the support box)
# =============================================================================================
#: φ1(x) = (1 − e^{−x})/x by its Taylor series (−1)^n x^n/(n + 1)!, 15 terms: < 1 ulp on
#: [0, 1/2] (checked against exact rational arithmetic); the closed form beyond
_PHI1_MAX = 0.5


@numba.njit(cache=True, inline="always")
def _phi1_series(x):  # pragma: no cover - compiled
    """φ1(x) for 0 ≤ x ≤ 1/2 (Horner, branch-free: vectorisable)."""
    acc = 1.0 / 1307674368000.0
    acc = -1.0 / 87178291200.0 + x * acc
    acc = 1.0 / 6227020800.0 + x * acc
    acc = -1.0 / 479001600.0 + x * acc
    acc = 1.0 / 39916800.0 + x * acc
    acc = -1.0 / 3628800.0 + x * acc
    acc = 1.0 / 362880.0 + x * acc
    acc = -1.0 / 40320.0 + x * acc
    acc = 1.0 / 5040.0 + x * acc
    acc = -1.0 / 720.0 + x * acc
    acc = 1.0 / 120.0 + x * acc
    acc = -1.0 / 24.0 + x * acc
    acc = 1.0 / 6.0 + x * acc
    acc = -1.0 / 2.0 + x * acc
    return 1.0 + x * acc


@numba.njit(cache=True, error_model="numpy")
def _phi1(x):  # pragma: no cover - compiled
    """φ1(x) = (1 − e^{−x})/x for x ≥ 0."""
    return _phi1_series(x) if x <= _PHI1_MAX else -math.expm1(-x) / x


@numba.njit(cache=True, error_model="numpy")
def _rates_row(g_mid, rows, dt, stay, f_die, f_div, keep2):  # pragma: no cover - compiled
    """Step factors of one row (competing exponential risks over dt) from ``rows[0:4]`` = O2,
    μ*, t_qp, t_pq: P bin k stays with e^{−λΔt}, λ = μ* + pr_k c, and leaves by death /
    division in the shares Δt φ1(λΔt)·μ* / ·pr_k c (φ1(x) = (1 − e^{−x})/x: stay + die +
    divide = 1); into ``rows[4:7]`` the Q factors stay / die / wake with λ = μ* + t_qp;
    ``keep2`` = 2(1 − t_pq)."""
    n_bins, bz = stay.shape
    for e in range(bz):
        m, w = rows[1, e], rows[2, e]
        x = (m + w) * dt
        ph = _phi1(x)
        rows[4, e] = 1.0 - x * ph
        rows[5, e] = dt * ph * m
        rows[6, e] = dt * ph * w
        keep2[e] = 2.0 * (1.0 - rows[3, e])
        rows[0, e] = rows[0, e] if rows[0, e] > 0.0 else 0.0
    for k in range(n_bins):
        g = g_mid[k] if k < g_mid.size else 0.0
        big = 0
        for e in range(bz):  # branch-free (vectorised)
            m = rows[1, e]
            r = g * rows[0, e]
            x = (m + r) * dt
            ph = _phi1_series(x)
            share = dt * ph
            stay[k, e] = 1.0 - x * ph
            f_die[k, e] = share * m
            f_div[k, e] = share * r
            big += x > _PHI1_MAX
        if big:  # rare: λΔt > 1/2
            for e in range(bz):
                m = rows[1, e]
                r = g * rows[0, e]
                x = (m + r) * dt
                if x > _PHI1_MAX:
                    ph = _phi1(x)
                    stay[k, e] = 1.0 - x * ph
                    f_die[k, e] = dt * ph * m
                    f_div[k, e] = dt * ph * r


@numba.njit(cache=True, parallel=True)
def demography_box(
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
    box,
    frame,
    flush,
    births,
    totals,
    necrotic,
    sums,
    occupied,
):  # pragma: no cover - compiled
    """Demography of every age bin inside ``box`` (in place), one thread per plane.

    p, q: ring buffers (n_ph, n_age, nx, ny, nz); p_old, q_old: plus bins (n_ph, nx, ny, nz);
    ``g_mid[k]`` = pr(mid age of bin k, c = 1). c (O2), mu, tpq, tqp and the outputs, zero on
    entry, cover the box ``frame`` ⊇ ``box``: ``births`` (n_ph, ...) the daughters
    2(1 − t_pq)·divisions of each parent phenotype, ``totals`` the post-demography P + Q
    density summed over age. The dead density is added to ``necrotic`` (n_ph, nx, ny, nz) and,
    integrated over each plane, to ``sums[plane, i, 2]`` (births to ``sums[plane, i, 0]``).
    Densities below ``flush`` become 0; ``occupied[a, i, k]`` (k = n_age: plus bin) is set
    where P is nonzero afterwards. Each cell is computed from its own values only, whatever the
    threads.
    """
    n_ph, n_age = p.shape[0], p.shape[1]
    lo0, lo1, lo2 = box[0, 0], box[0, 1], box[0, 2]
    bx, by, bz = box[1, 0] - lo0, box[1, 1] - lo1, box[1, 2] - lo2
    o0, o1, o2 = lo0 - frame[0, 0], lo1 - frame[0, 1], lo2 - frame[0, 2]
    nx, ny, nz = p_old.shape[1], p_old.shape[2], p_old.shape[3]
    plus_p = p_old.reshape((n_ph, 1, nx, ny, nz))
    plus_q = q_old.reshape((n_ph, 1, nx, ny, nz))
    for a in numba.prange(bx):
        rows = np.empty((7, bz))  # c, mu, t_qp, t_pq and the Q factors of one row
        stay = np.empty((n_age + 1, bz))
        f_die = np.empty((n_age + 1, bz))
        f_div = np.empty((n_age + 1, bz))
        keep2 = np.empty(bz)
        acc = np.empty((3, bz))  # births, dead, totals of one phenotype
        x, fa = lo0 + a, o0 + a
        for b in range(by):
            y, fb = lo1 + b, o1 + b
            for e in range(bz):
                rows[0, e] = c[fa, fb, o2 + e]
                rows[1, e] = mu[fa, fb, o2 + e]
                rows[2, e] = tqp[fa, fb, o2 + e]
                rows[3, e] = tpq[fa, fb, o2 + e]
            _rates_row(g_mid, rows, dt, stay, f_die, f_div, keep2)
            for i in range(n_ph):
                acc[:] = 0.0
                for k in range(n_age + 1):
                    if k < n_age:
                        hits = _demography_row(p, q, i, (head + k) % n_age, x, y, lo2, k, stay,
                                               f_die, f_div, rows, keep2, acc, flush)  # fmt: skip
                    else:
                        hits = _demography_row(plus_p, plus_q, i, 0, x, y, lo2, k, stay, f_die,
                                               f_div, rows, keep2, acc, flush)  # fmt: skip
                    if hits:
                        occupied[a, i, k] = True
                for e in range(bz):
                    births[i, fa, fb, o2 + e] = acc[0, e]
                    necrotic[i, x, y, lo2 + e] += acc[1, e]
                    totals[i, fa, fb, o2 + e] = acc[2, e]
                sums[fa, i, 0] += acc[0].sum()
                sums[fa, i, 2] += acc[1].sum()


@numba.njit(cache=True, inline="always")
def _demography_row(
    p, q, i, slot, x, y, lo2, k, stay, f_die, f_div, rows, keep2, acc, flush
):  # pragma: no cover - compiled
    """Bin k (ring slot ``slot``) of phenotype i on the row (x, y, lo2 + e), in place;
    branch-free (vectorised; zeros stay zeros). Adds births, dead and post-demography totals to
    ``acc``; returns the number of nonzero P values afterwards."""
    hits = 0
    for e in range(keep2.size):
        z = lo2 + e
        pv = p[i, slot, x, y, z]
        qv = q[i, slot, x, y, z]
        div = pv * f_div[k, e]
        new_p = pv * stay[k, e] + qv * rows[6, e]
        new_q = qv * rows[4, e] + rows[3, e] * div
        new_p = new_p if new_p >= flush else 0.0
        new_q = new_q if new_q >= flush else 0.0
        p[i, slot, x, y, z] = new_p
        q[i, slot, x, y, z] = new_q
        acc[0, e] += keep2[e] * div
        acc[1, e] += pv * f_die[k, e] + qv * rows[5, e]
        acc[2, e] += new_p + new_q
        hits += new_p != 0.0
    return hits


@numba.njit(cache=True, parallel=True)
def births_box(
    births, totals, mu, t_m, w, dt, flush, p, slot, add, necrotic, frame, load, sums, extents
):  # pragma: no cover - compiled
    """Newborns of the step inside ``frame`` (arrays (n_ph, ...) and ``mu`` over the frame):
    the daughters ``births`` of phenotype i stay i with 1 − t_m or become i + 1 with t_m (the
    last phenotype stays), and survive the half step with e^{−μ*Δt/2} (the others are added to
    ``necrotic``); newborns below ``flush`` become 0. They are added to (``add``) or written
    into slot ``slot`` of the ring buffer ``p``. Fills ``load`` (over the frame) with
    Σ_i w_i (totals_i + newborns_i), adds per plane the newborn mass before the half-step
    deaths to ``sums[plane, i, 1]`` and the deaths to ``sums[plane, i, 2]``, and records in
    ``extents`` (per plane: min/max along axes 1 and 2) where totals + newborns are nonzero.
    """
    n_ph = births.shape[0]
    fx, fy, fz = load.shape
    lo0, lo1, lo2 = frame[0, 0], frame[0, 1], frame[0, 2]
    keep = 1.0 - t_m
    for a in numba.prange(fx):
        x = lo0 + a
        for b in range(fy):
            y = lo1 + b
            for e in range(fz):
                z = lo2 + e
                survive = math.exp(-0.5 * dt * mu[a, b, e])
                ld = 0.0
                for i in range(n_ph):
                    out = keep * births[i, a, b, e]
                    if i == n_ph - 1:
                        out += t_m * births[i, a, b, e]
                    if i > 0:
                        out += t_m * births[i - 1, a, b, e]
                    nb = out * survive
                    lost = out * (1.0 - survive)
                    nb = nb if nb >= flush else 0.0
                    necrotic[i, x, y, z] += lost
                    sums[a, i, 1] += nb + lost
                    sums[a, i, 2] += lost
                    if add:
                        p[i, slot, x, y, z] += nb
                    else:
                        p[i, slot, x, y, z] = nb
                    tot = totals[i, a, b, e] + nb
                    ld += w[i] * tot
                    if tot != 0.0:
                        extents[a, 0] = min(extents[a, 0], b)
                        extents[a, 1] = max(extents[a, 1], b)
                        extents[a, 2] = min(extents[a, 2], e)
                        extents[a, 3] = max(extents[a, 3], e)
                load[a, b, e] = ld
