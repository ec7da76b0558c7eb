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

from oncoscale.models.invasion.pde_motion import face_gradients, move_slab


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


@numba.njit(cache=True, parallel=True, error_model="numpy")
def _bin_rates(g, c, mu, dt, stay, f_die, f_div):  # pragma: no cover - compiled
    """Step factors of an age bin with division rate g·c (competing exponential risks over
    dt): stay e^{−λΔt}, λ = μ* + g c, and the shares Δt φ1(λΔt)·μ* (death) and ·g c
    (division attempt); φ1(x) = (1 − e^{−x})/x, so stay + die + divide = 1 to round-off."""
    nx, ny, nz = c.shape
    for a in numba.prange(nx):
        for b in range(ny):
            big = 0
            for e in range(nz):  # branch-free (vectorised)
                m = mu[a, b, e]
                r = g * max(c[a, b, e], 0.0)
                x = (m + r) * dt
                ph = _phi1_series(x)
                stay[a, b, e] = 1.0 - x * ph
                f_die[a, b, e] = dt * ph * m
                f_div[a, b, e] = dt * ph * r
                big += x > _PHI1_MAX
            if big:  # rare: λΔt > 1/2
                for e in range(nz):
                    m = mu[a, b, e]
                    r = g * max(c[a, b, e], 0.0)
                    x = (m + r) * dt
                    if x > _PHI1_MAX:
                        ph = _phi1(x)
                        stay[a, b, e] = 1.0 - x * ph
                        f_die[a, b, e] = dt * ph * m
                        f_div[a, b, e] = dt * ph * r


@numba.njit(cache=True)
def _cells_slab(
    p, q, i, slot, rates, tpq, box, frame, flush, births, dead, totals
):  # pragma: no cover
    """Demography of bin ``slot`` of phenotype i inside ``box`` (in place): P stays / dies /
    divides with ``rates[0:3]``, Q stays / dies / wakes with ``rates[3:6]``, a division is
    quiescence with t_pq, else two daughters (2(1 − t_pq) = ``rates[6]``); adds daughters,
    dead and post-demography P + Q to the frame arrays. Returns the number of cells where
    P or Q is nonzero afterwards."""
    lo0, lo1, lo2 = box[0, 0], box[0, 1], box[0, 2]
    o0, o1, o2 = lo0 - frame[0, 0], lo1 - frame[0, 1], lo2 - frame[0, 2]
    hits = 0
    for a in range(box[1, 0] - lo0):
        x, fa = lo0 + a, o0 + a
        for b in range(box[1, 1] - lo1):
            y, fb = lo1 + b, o1 + b
            for e in range(box[1, 2] - lo2):
                z, fe = lo2 + e, o2 + e
                pv = p[i, slot, x, y, z]
                qv = q[i, slot, x, y, z]
                if pv == 0.0 and qv == 0.0:
                    continue
                div = pv * rates[2, fa, fb, fe]
                new_p = pv * rates[0, fa, fb, fe] + qv * rates[5, fa, fb, fe]
                new_q = qv * rates[3, fa, fb, fe] + tpq[fa, fb, fe] * div
                new_p = new_p if new_p >= flush else 0.0
                new_q = new_q if new_q >= flush else 0.0
                p[i, slot, x, y, z] = new_p
                q[i, slot, x, y, z] = new_q
                births[i, fa, fb, fe] += rates[6, fa, fb, fe] * div
                dead[i, fa, fb, fe] += pv * rates[1, fa, fb, fe] + qv * rates[4, fa, fb, fe]
                totals[i, fa, fb, fe] += new_p + new_q
                hits += new_p != 0.0 or new_q != 0.0
    return hits


@numba.njit(cache=True, parallel=True)
def _cells_bin(
    p,
    q,
    slot,
    rates,
    tpq,
    gx,
    gy,
    gz,
    diff,
    rho,
    dt,
    h,
    box,
    frame,
    n_sub,
    flush,
    live,
    births,
    dead,
    totals,
    hits,
    tmp,
):  # pragma: no cover - compiled
    """Demography (inside ``box``) then motion (inside ``frame``) of bin ``slot`` of every
    ``live`` phenotype, the phenotypes in parallel (each alone: the result does not depend on
    the threads); ``hits[i]``: cells with P or Q nonzero after the demography."""
    for i in numba.prange(p.shape[0]):
        hits[i] = 0
        if not live[i]:
            continue
        hits[i] = _cells_slab(p, q, i, slot, rates, tpq, box, frame, flush, births, dead, totals)
        if hits[i] and (diff[i] != 0.0 or rho[i] != 0.0):
            move_slab(p[i, slot], gx, gy, gz, diff[i], rho[i], dt, h, frame, n_sub, flush,
                      tmp[i])  # fmt: skip


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
    box,
    frame,
    flush,
    f,
    diff,
    rho,
    h,
    n_sub,
    live,
    births,
    dead,
    totals,
    tmp,
):  # pragma: no cover - compiled
    """Demography then motion of every age bin, bin by bin (a bin is moved while it is in
    cache), in place. p, q: ring buffers (n_ph, n_age, nx, ny, nz) (age bin k in slot
    (head + k) % n_age); p_old, q_old: plus bins (n_ph, nx, ny, nz); ``g_mid[k]`` = pr(mid age of
    bin k, c = 1); ``live[i, k]`` (k = n_age: plus bin) False where P and Q are 0 (skipped),
    updated. c (O2), mu, tpq, tqp and the outputs (zero on entry: daughters, dead, post-
    demography P + Q per phenotype) cover ``frame`` ⊇ ``box``; demography inside ``box``,
    motion (MM field f) inside ``frame``; densities below ``flush`` become 0."""
    n_ph, n_age = p.shape[0], p.shape[1]
    nx, ny, nz = p_old.shape[1], p_old.shape[2], p_old.shape[3]
    plus_p = p_old.reshape((n_ph, 1, nx, ny, nz))
    plus_q = q_old.reshape((n_ph, 1, nx, ny, nz))
    shape = c.shape
    rates = np.empty((7, shape[0], shape[1], shape[2]))
    q_rates(mu, tqp, tpq, dt, rates)
    gx, gy, gz = face_gradients(f, frame, h)
    hits = np.zeros(n_ph, dtype=np.int64)
    for k in range(n_age + 1):
        use = False
        for i in range(n_ph):
            use = use or live[i, k]
        if not use:
            continue
        _bin_rates(g_mid[k] if k < n_age else 0.0, c, mu, dt, rates[0], rates[1], rates[2])
        rest = (rates, tpq, gx, gy, gz, diff, rho, dt, h, box, frame, n_sub, flush, live[:, k])
        if k < n_age:
            _cells_bin(p, q, (head + k) % n_age, *rest, births, dead, totals, hits, tmp)
        else:
            _cells_bin(plus_p, plus_q, 0, *rest, births, dead, totals, hits, tmp)
        for i in range(n_ph):
            live[i, k] = hits[i] > 0


@numba.njit(cache=True, parallel=True, error_model="numpy")
def q_rates(mu, tqp, tpq, dt, rates):  # pragma: no cover - compiled
    """Quiescent factors into ``rates[3:6]`` (stay e^{−λΔt}, shares dying / waking,
    λ = μ* + t_qp) and ``rates[6]`` = 2(1 − t_pq) (daughters per division attempt)."""
    nx, ny, nz = mu.shape
    for a in numba.prange(nx):
        for b in range(ny):
            for e in range(nz):
                m, w = mu[a, b, e], tqp[a, b, e]
                x = (m + w) * dt
                ph = _phi1(x)
                rates[3, a, b, e] = 1.0 - x * ph
                rates[4, a, b, e] = dt * ph * m
                rates[5, a, b, e] = dt * ph * w
                rates[6, a, b, e] = 2.0 * (1.0 - tpq[a, b, e])


@numba.njit(cache=True, parallel=True)
def births_box(births, totals, mu, t_m, w, dt, flush, nb, lost, load, extents):  # pragma: no cover
    """Newborns of the step over a frame (arrays (n_ph, ...)): the daughters ``births`` of
    phenotype i stay i with 1 − t_m or become i + 1 with t_m (the last phenotype stays) and
    survive the half step with e^{−μ*Δt/2}; into ``nb`` the survivors (below ``flush``: 0),
    into ``lost`` the others. ``load`` = Σ_i w_i (totals_i + nb_i); ``extents`` records per
    plane (min/max along axes 1 and 2) where totals + newborns are nonzero."""
    n_ph = births.shape[0]
    fx, fy, fz = load.shape
    keep = 1.0 - t_m
    for a in numba.prange(fx):
        for b in range(fy):
            for e in range(fz):
                survive = math.exp(-0.5 * dt * mu[a, b, e])
                ld = 0.0
                for i in range(n_ph):
                    out = keep * births[i, a, b, e]
                    if i == n_ph - 1:
                        out += t_m * births[i, a, b, e]
                    if i > 0:
                        out += t_m * births[i - 1, a, b, e]
                    v = out * survive
                    nb[i, a, b, e] = v if v >= flush else 0.0
                    lost[i, a, b, e] = out * (1.0 - survive)
                    tot = totals[i, a, b, e] + nb[i, a, b, e]
                    ld += w[i] * tot
                    if tot != 0.0:
                        extents[a, 0] = min(extents[a, 0], b)
                        extents[a, 1] = max(extents[a, 1], b)
                        extents[a, 2] = min(extents[a, 2], e)
                        extents[a, 3] = max(extents[a, 3], e)
                load[a, b, e] = ld
