"""Demography, births and ageing of the age-structured invasion PDE: compiled kernels (parallel
over blocks of cells or slabs, inside the support box) and NumPy references; motion is in
:mod:`.pde_motion`.

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


#: cells per block of the demography (a sub-box of whole planes, or of rows of one plane):
#: the block's rate factors and accumulators stay in a core's L2 cache while every age bin
#: and phenotype streams through it
_BLOCK_CELLS = 8192


@numba.njit(cache=True, inline="always")
def _competing_shares(m, r, dt):  # pragma: no cover - compiled
    """Step factors of competing exponential risks m, r over dt: stay e^{−λΔt} (λ = m + r)
    and the shares Δt φ1(λΔt)·m and ·r leaving by each; φ1(x) = (1 − e^{−x})/x, so the three
    add up to 1 to round-off."""
    x = (m + r) * dt
    ph = _phi1(x)
    return 1.0 - x * ph, dt * ph * m, dt * ph * r


@numba.njit(cache=True, error_model="numpy")
def _p_factors(g, c, mu, dt, f, stay, die, div):  # pragma: no cover - compiled
    """Proliferating factors of a block: competing risks μ* and g·c over dt (stay, die,
    divide; arrays of the block's shape) from the fields c, mu of the frame, the block's
    first cell at frame index ``f``. (Inner loops over row views: indices from ``range``
    need no negative-index handling, so they vectorise.)"""
    nx, ny, nz = stay.shape
    f0, f1, f2 = f[0], f[1], f[2]
    for a in range(nx):
        for b in range(ny):
            c_row, mu_row = c[f0 + a, f1 + b, f2 : f2 + nz], mu[f0 + a, f1 + b, f2 : f2 + nz]
            stay_row, die_row, div_row = stay[a, b], die[a, b], div[a, b]
            big = 0
            for e in range(nz):  # branch-free (vectorised)
                m = mu_row[e]
                r = g * max(c_row[e], 0.0)
                x = (m + r) * dt
                ph = _phi1_series(x)
                stay_row[e] = 1.0 - x * ph
                die_row[e] = dt * ph * m
                div_row[e] = dt * ph * r
                big += x > _PHI1_MAX
            if big:  # rare: λΔt > 1/2
                for e in range(nz):
                    m = mu_row[e]
                    r = g * max(c_row[e], 0.0)
                    if (m + r) * dt > _PHI1_MAX:
                        stay_row[e], die_row[e], div_row[e] = _competing_shares(m, r, dt)


@numba.njit(cache=True)
def _block_cells(pk, qk, x0, fac, tpq, f, flush, births, dead, totals):  # pragma: no cover
    """Demography of one (phenotype, age bin) in a block (in place): P (slab pk) stays / dies
    / divides with fac[0:3], Q (qk) stays / dies / wakes with fac[3:6], a division is
    quiescence with t_pq, else 2(1 − t_pq) = fac[6] daughters; adds daughters, dead and
    post-demography P + Q to the frame arrays. The block's first cell: x0 in the slab, f in
    the frame. Returns the cells where P or Q is nonzero afterwards."""
    n_hit = 0
    s0, s1, s2, f0, f1, f2 = x0[0], x0[1], x0[2], f[0], f[1], f[2]
    nz = fac.shape[3]
    for a in range(fac.shape[1]):
        for b in range(fac.shape[2]):
            p_row, q_row = pk[s0 + a, s1 + b, s2 : s2 + nz], qk[s0 + a, s1 + b, s2 : s2 + nz]
            t_row = tpq[f0 + a, f1 + b, f2 : f2 + nz]
            b_row, d_row = births[f0 + a, f1 + b, f2 : f2 + nz], dead[f0 + a, f1 + b, f2 : f2 + nz]
            n_row = totals[f0 + a, f1 + b, f2 : f2 + nz]
            p_stay, p_die, p_div = fac[0, a, b], fac[1, a, b], fac[2, a, b]
            q_stay, q_die, q_wake = fac[3, a, b], fac[4, a, b], fac[5, a, b]
            daughters = fac[6, a, b]
            for e in range(nz):
                pv, qv = p_row[e], q_row[e]
                if pv == 0.0 and qv == 0.0:  # (then nothing changes)
                    continue
                div = pv * p_div[e]
                new_p = pv * p_stay[e] + qv * q_wake[e]
                new_q = qv * q_stay[e] + t_row[e] * div
                new_p = new_p if new_p >= flush else 0.0
                new_q = new_q if new_q >= flush else 0.0
                p_row[e], q_row[e] = new_p, new_q
                b_row[e] += daughters[e] * div
                d_row[e] += pv * p_die[e] + qv * q_die[e]
                n_row[e] += new_p + new_q
                n_hit += new_p != 0.0 or new_q != 0.0
    return n_hit


@numba.njit(cache=True, error_model="numpy")
def _demography_block(
    p, q, p_old, q_old, head, g_mid, c, mu, tpq, tqp, dt, sub, f, flush, live, use, births,
    dead, totals, hits,
):  # fmt: skip  # pragma: no cover - compiled
    """Demography of the block ``sub`` ([lo; hi] cell indices; ``f``: its first cell in the
    frame of c, mu, tpq, tqp and the outputs) for :func:`_demography`; ``hits[i, k]``: cells
    of the block where P or Q of (i, k) is nonzero afterwards."""
    n_ph, n_age = p.shape[0], p.shape[1]
    x0, f0, f1, f2 = sub[0], f[0], f[1], f[2]
    fac = np.empty((7, sub[1, 0] - x0[0], sub[1, 1] - x0[1], sub[1, 2] - x0[2]))
    for a in range(fac.shape[1]):  # quiescent stay / die / wake, daughters per division
        for b in range(fac.shape[2]):
            for e in range(fac.shape[3]):
                m, w = mu[f0 + a, f1 + b, f2 + e], tqp[f0 + a, f1 + b, f2 + e]
                fac[3, a, b, e], fac[4, a, b, e], fac[5, a, b, e] = _competing_shares(m, w, dt)
                fac[6, a, b, e] = 2.0 * (1.0 - tpq[f0 + a, f1 + b, f2 + e])
    for k in range(n_age + 1):
        if not use[k]:
            continue
        _p_factors(g_mid[k] if k < n_age else 0.0, c, mu, dt, f, fac[0], fac[1], fac[2])
        slot = (head + k) % n_age
        for i in range(n_ph):
            if live[i, k]:
                pk, qk = (p[i, slot], q[i, slot]) if k < n_age else (p_old[i], q_old[i])
                hits[i, k] = _block_cells(pk, qk, x0, fac, tpq, f, flush, births[i], dead[i],
                                          totals[i])  # fmt: skip


@numba.njit(cache=True, parallel=True)
def _demography(
    p, q, p_old, q_old, head, g_mid, c, mu, tpq, tqp, dt, blocks, frame, flush, live, births,
    dead, totals, hits,
):  # fmt: skip  # pragma: no cover - compiled
    """Demography of every ``live`` (phenotype, age bin) inside the ``blocks`` (n, 2, 3) of
    the box, in place, blocks in parallel (each cell computed from its own values, so the
    result does not depend on the threads): per block the quiescent factors once, per age
    bin the proliferating factors once, then every phenotype's P and Q of that bin;
    daughters, dead and post-demography P + Q are summed per cell in age order.
    ``hits[block, i, k]``: cells of the block where P or Q of (i, k) is nonzero afterwards."""
    n_ph, n_age = p.shape[0], p.shape[1]
    use = np.zeros(n_age + 1, dtype=np.bool_)
    for k in range(n_age + 1):
        for i in range(n_ph):
            use[k] = use[k] or live[i, k]
    for j in numba.prange(blocks.shape[0]):
        sub = blocks[j]
        _demography_block(p, q, p_old, q_old, head, g_mid, c, mu, tpq, tqp, dt, sub,
                          sub[0] - frame[0], flush, live, use, births, dead, totals,
                          hits[j])  # fmt: skip


def demography_blocks(box: np.ndarray, cells: int = _BLOCK_CELLS) -> np.ndarray:
    """The box split into blocks (n, 2, 3) of about ``cells`` cells: whole planes (axis 0)
    where a plane is smaller, else rows (axis 1) of one plane."""
    lo, hi = box[0], box[1]
    plane = int((hi[1] - lo[1]) * (hi[2] - lo[2]))
    out = []
    if plane <= 0 or hi[0] <= lo[0]:
        return np.zeros((0, 2, 3), dtype=np.int64)
    if plane <= cells:
        step = max(1, cells // plane)
        for a in range(int(lo[0]), int(hi[0]), step):
            out.append([[a, lo[1], lo[2]], [min(a + step, hi[0]), hi[1], hi[2]]])
    else:
        step = max(1, cells // int(hi[2] - lo[2]))
        for a in range(int(lo[0]), int(hi[0])):
            for b in range(int(lo[1]), int(hi[1]), step):
                out.append([[a, b, lo[2]], [a + 1, min(b + step, hi[1]), hi[2]]])
    return np.array(out, dtype=np.int64)


#: age-bin slots moved together (they share each read of the face gradients: 5 measured
#: 0.32 s against 0.36 s for 2 per motion of the filled 120³ state on two threads)
_MOTION_GROUP = 5


@numba.njit(cache=True, parallel=True)
def _motion(p, p_old, gx, gy, gz, diff, rho, dt, h, frame, n_sub, flush, moving):
    # pragma: no cover - compiled
    """Motion inside ``frame`` (face gradients gx, gy, gz of the frame) of the ring slots and
    plus bins with ``moving[i, slot]`` (slot n_age: the plus bin): per phenotype, groups of
    :data:`_MOTION_GROUP` consecutive slots, each group trimmed to the range from its first
    to its last moving slot (a slot inside that range that does not move is all zero and
    stays zero), the groups in parallel (each slab computed alone)."""
    n_ph, n_age = p.shape[0], p.shape[1]
    per_ph = (n_age + _MOTION_GROUP - 1) // _MOTION_GROUP + 1
    for j in numba.prange(n_ph * per_ph):
        i, grp = j // per_ph, j % per_ph
        d, r = diff[i], rho[i]
        if grp == per_ph - 1:
            if moving[i, n_age]:
                move_slab(p_old[i : i + 1], gx, gy, gz, d, r, dt, h, frame, n_sub, flush)
            continue
        lo = grp * _MOTION_GROUP
        hi = min(lo + _MOTION_GROUP, n_age)
        while lo < hi and not moving[i, lo]:  # from the first to the last moving slot
            lo += 1
        while hi > lo and not moving[i, hi - 1]:
            hi -= 1
        if lo < hi:
            move_slab(p[i, lo:hi], gx, gy, gz, d, r, dt, h, frame, n_sub, flush)


def step_cells(
    p, q, p_old, q_old, head, g_mid, c, mu, tpq, tqp, dt, box, frame, flush, f, diff, rho, h,
    n_sub, live, births, dead, totals,
):  # fmt: skip
    """Demography then motion of every age bin, in place. p, q: ring buffers (n_ph, n_age,
    nx, ny, nz) (age bin k in slot (head + k) % n_age); p_old, q_old: plus bins (n_ph, nx,
    ny, nz); ``g_mid[k]`` = pr(mid age of bin k, c = 1); ``live[i, k]`` (k = n_age: plus bin)
    False where P and Q are 0 (skipped), updated from the demography. c (O2), mu, tpq, tqp
    and the outputs (zero on entry: daughters, dead, post-demography P + Q per phenotype)
    cover ``frame`` ⊇ ``box``; demography inside ``box``, motion (MM field f, ``n_sub``
    explicit sub-steps) inside ``frame``; densities below ``flush`` become 0. Returns the
    face gradients of f in the frame (:func:`~.pde_motion.face_gradients`, for the newborns).

    Each age-resolved array is streamed about once per pass: the demography computes the
    rate factors of a block of cells (in cache) and runs every age bin and phenotype through
    it; the motion moves :data:`_MOTION_GROUP` age bins of a phenotype at a time, plane by
    plane, along face gradients computed once
    (docs/invasion_pde.md, 'Support box and threads')."""
    n_ph, n_age = p.shape[0], p.shape[1]
    blocks = demography_blocks(box)
    hits = np.zeros((len(blocks), n_ph, n_age + 1), dtype=np.int64)
    _demography(p, q, p_old, q_old, head, g_mid, c, mu, tpq, tqp, dt, blocks, frame, flush,
                live, births, dead, totals, hits)  # fmt: skip
    live[...] = hits.any(axis=0) & live
    moving = np.zeros_like(live)  # by ring slot
    moving[:, (head + np.arange(n_age)) % n_age] = live[:, :n_age]
    moving[:, n_age] = live[:, n_age]
    moving &= ((diff != 0.0) | (rho != 0.0))[:, None]
    grads = face_gradients(f, frame, h)
    _motion(p, p_old, *grads, diff, rho, dt, h, frame, n_sub, flush, moving)
    return grads


@numba.njit(cache=True, parallel=True)
def births_box(
    births, totals, dead, mu, t_m, w, dt, flush, nb, lost, load, extents, necrotic, f, sums,
):  # fmt: skip  # pragma: no cover - compiled
    """Newborns of the step over a frame (arrays (n_ph, ...)): the daughters ``births`` of
    phenotype i stay i with 1 − t_m or become i + 1 with t_m (the last phenotype stays) and
    survive the half step with e^{−μ*Δt/2}; into ``nb`` the survivors (below ``flush``: 0),
    into ``lost`` the others. ``load`` = Σ_i w_i (totals_i + nb_i); ``extents`` records per
    plane (min/max along axes 1 and 2) where totals + newborns are nonzero. The step's dead
    mass, ``dead`` + ``lost``, joins ``necrotic`` (n_ph, whole grid; the frame's first cell
    at grid index ``f``); ``sums[a, :, i]``: Σ over plane a of births, lost and dead + lost
    of phenotype i (in row order: the totals do not depend on the threads)."""
    n_ph = births.shape[0]
    fx, fy, fz = load.shape
    f0, f1, f2 = f[0], f[1], f[2]
    keep = 1.0 - t_m
    for a in numba.prange(fx):
        lo_b, hi_b, lo_e, hi_e = extents[a, 0], extents[a, 1], extents[a, 2], extents[a, 3]
        survive = np.empty(fz)
        nonzero = np.empty(fz, dtype=np.bool_)
        for i in range(n_ph):
            sums[a, 0, i] = sums[a, 1, i] = sums[a, 2, i] = 0.0
        for b in range(fy):  # row by row, each array streamed along its rows
            mu_row, ld = mu[a, b], load[a, b]
            for e in range(fz):
                survive[e] = math.exp(-0.5 * dt * mu_row[e])
                ld[e] = 0.0
                nonzero[e] = False
            for i in range(n_ph):
                born, nb_row, lost_row = births[i, a, b], nb[i, a, b], lost[i, a, b]
                tot_row, mutants = totals[i, a, b], births[max(i - 1, 0), a, b]
                dead_row, nec_row = dead[i, a, b], necrotic[i, f0 + a, f1 + b, f2 : f2 + fz]
                last, first = i == n_ph - 1, i == 0
                s_born = s_lost = s_dead = 0.0
                for e in range(fz):
                    out = keep * born[e]
                    if last:
                        out += t_m * born[e]
                    if not first:
                        out += t_m * mutants[e]
                    v = out * survive[e]
                    v = v if v >= flush else 0.0
                    nb_row[e] = v
                    gone = out * (1.0 - survive[e])
                    lost_row[e] = gone
                    died = dead_row[e] + gone
                    nec_row[e] += died
                    s_born += born[e]
                    s_lost += gone
                    s_dead += died
                    tot = tot_row[e] + v
                    ld[e] += w[i] * tot
                    nonzero[e] = nonzero[e] or tot != 0.0
                sums[a, 0, i] += s_born
                sums[a, 1, i] += s_lost
                sums[a, 2, i] += s_dead
            for e in range(fz):
                if nonzero[e]:
                    lo_b, hi_b = min(lo_b, b), max(hi_b, b)
                    lo_e, hi_e = min(lo_e, e), max(hi_e, e)
        extents[a, 0], extents[a, 1], extents[a, 2], extents[a, 3] = lo_b, hi_b, lo_e, hi_e
