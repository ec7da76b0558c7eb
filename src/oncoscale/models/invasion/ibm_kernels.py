"""Numba kernels of one IBM step (spec §2); the independent NumPy reference of the step is
:mod:`.ibm_reference` (tested against these statistically).

Draws come from a ``numpy.random.Generator`` passed in, in a fixed order; rate constants travel
as one float array ``rc`` (see :func:`rate_constants`). Event rules: docs/invasion_ibm.md,
section 'The step'.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from oncoscale.models.invasion.params import QUIESCENT, InvasionParameters
from oncoscale.numerics.particles import bin_coords, neighbour_flat

# indices into the rate-constant array rc
PR_A, PR_K, PR_Q, PR_AMIN, PR_AMAX, MU_MAX, C_N, C_Q, QP, C_R, T_M = range(11)
#: compartment code of necrotic cells in particle snapshots
NECROTIC = 2


def rate_constants(p: InvasionParameters) -> np.ndarray:
    """The constants of the rate functions as the float array the kernels read."""
    return np.array(
        [
            p.pr_amplitude,
            p.pr_decay,
            p.pr_power,
            p.pr_age_min,
            p.pr_age_max,
            p.mu_max,
            p.c_necrosis,
            p.c_quiescence,
            p.qp_rate,
            p.c_reactivation,
            p.t_m,
        ]
    )


# ---- rate functions (scalar; same formulas as params.division_rate & co.) ---------------------
@numba.njit(cache=True)
def division_rate(a, c, rc):
    """pr(a, c) (1/day)."""
    if a <= rc[PR_AMIN] or a >= rc[PR_AMAX] or c <= 0.0:
        return 0.0
    b = 2.0 * a - 1.0
    s = abs(b) ** rc[PR_Q]
    if b < 0:
        s = -s
    return rc[PR_A] * c * math.exp(-rc[PR_K] * (a - 1.0)) * s


@numba.njit(cache=True)
def necrosis_rate(c, rc):
    """μ*(c) (1/day)."""
    return rc[MU_MAX] * max(1.0 - c / rc[C_N], 0.0)


@numba.njit(cache=True)
def quiescence_probability(c, rc):
    """t_pq(c), a probability per division event."""
    return min(max(1.0 - c / rc[C_Q], 0.0), 1.0)


@numba.njit(cache=True)
def reactivation_rate(c, rc):
    """t_qp(c) (1/day)."""
    return rc[QP] * max(c - rc[C_R], 0.0)


# ---- demography -----------------------------------------------------------------------------
@numba.njit(cache=True)
def demography(age, ctype, comp, c, rc, dt, n_types, rng):
    """One demographic event at most per cell (rates at the mid-step age a + dt/2).

    Returns (age, type, compartment, parent, necrotic) of the cells after the step's events:
    ``parent[j]`` is the index of the cell j comes from (daughters share their mother's
    position and perception); ``necrotic`` lists the indices of the cells that died. Daughters
    get age −dt/2, i.e. dt/2 after the step's ageing (mean birth time mid-step).
    """
    n = age.size
    new_age = np.empty(2 * n)
    new_type = np.empty(2 * n, dtype=np.int8)
    new_comp = np.empty(2 * n, dtype=np.int8)
    parent = np.empty(2 * n, dtype=np.int64)
    dead = np.empty(n, dtype=np.int64)
    m = 0
    nd = 0
    t_m = rc[T_M]
    for i in range(n):
        ci = c[i]
        mu = necrosis_rate(ci, rc)
        if comp[i] == QUIESCENT:
            other = reactivation_rate(ci, rc)
        else:
            other = division_rate(age[i] + 0.5 * dt, ci, rc)
        total = mu + other
        event = 0  # 0 none, 1 necrosis, 2 division / reactivation
        if total > 0.0:
            fire = -math.expm1(-total * dt)
            u = rng.random()
            if u < fire * (mu / total):
                event = 1
            elif u < fire:
                event = 2
        if event == 1:
            dead[nd] = i
            nd += 1
            continue
        if event == 2 and comp[i] == QUIESCENT:
            new_age[m], new_type[m], new_comp[m], parent[m] = age[i], ctype[i], 0, i
            m += 1
            continue
        if event == 2:
            if rng.random() < quiescence_probability(ci, rc):
                new_age[m], new_type[m], new_comp[m], parent[m] = age[i], ctype[i], QUIESCENT, i
                m += 1
                continue
            for _ in range(2):
                k = ctype[i]
                if k < n_types - 1 and rng.random() < t_m:
                    k += 1
                new_age[m], new_type[m], new_comp[m], parent[m] = -0.5 * dt, k, 0, i
                m += 1
            continue
        new_age[m], new_type[m], new_comp[m], parent[m] = age[i], ctype[i], comp[i], i
        m += 1
    return (
        new_age[:m].copy(),
        new_type[:m].copy(),
        new_comp[:m].copy(),
        parent[:m].copy(),
        dead[:nd].copy(),
    )


# ---- small helpers ------------------------------------------------------------------------------
@numba.njit(cache=True)
def _in_window(spos, j, x, half):
    for k in range(x.size):
        if abs(spos[j, k] - x[k]) > half:
            return False
    return True


# ---- MM degradation (thinning) and O2 emission ------------------------------------------------
@numba.njit(cache=True)
def degrade_matrix(mm, alive, mm_start, mde, mde_start, nbins, offsets, half, eta_m, dt, rng):
    """Degrade the (bin-sorted) MM particles at rate η m̂: clears ``alive`` (in place) of the
    degraded ones and returns their number.

    m̂ = M_MDE · (MDE in the window)/(2Δ)^d, ``eta_m`` = η · M_MDE/(2Δ)^d. Exact thinning: in
    bin b every MM particle is a candidate with probability 1 − e^{−η_m U_b dt}, U_b the MDE
    count in the 3^d bins around b (>= every window count in b); a candidate with window count
    F is degraded with probability (1 − e^{−η_m F dt})/(1 − e^{−η_m U_b dt}). Bins without MDE
    around cost nothing beyond one pass over the bins. Slots already dead are skipped (each
    living particle is still a candidate with the same probability).
    """
    d = nbins.size
    nb_total = mm_start.size - 1
    degraded = 0
    b = np.empty(d, dtype=np.int64)
    ub = np.zeros(nb_total, dtype=np.int64)
    for g in range(nb_total):  # scatter each MDE bin's count to its neighbours
        cnt = mde_start[g + 1] - mde_start[g]
        if cnt == 0:
            continue
        _unravel(g, nbins, b)
        for o in range(offsets.shape[0]):
            f = neighbour_flat(b, offsets[o], nbins)
            if f >= 0:
                ub[f] += cnt
    scratch = np.empty(0, dtype=np.int64)
    for f in range(nb_total):
        n_b = mm_start[f + 1] - mm_start[f]
        if n_b == 0 or ub[f] == 0:
            continue
        p_bound = -math.expm1(-eta_m * ub[f] * dt)
        k_c = rng.binomial(n_b, p_bound)
        if k_c == 0:
            continue
        _unravel(f, nbins, b)
        if scratch.size < n_b:
            scratch = np.empty(2 * n_b, dtype=np.int64)
        for j in range(n_b):
            scratch[j] = mm_start[f] + j
        for j in range(k_c):  # partial Fisher-Yates: k_c distinct candidates
            s = j + rng.integers(0, n_b - j)
            tmp = scratch[j]
            scratch[j] = scratch[s]
            scratch[s] = tmp
            i = scratch[j]
            if not alive[i]:
                continue
            cnt = 0
            for o in range(offsets.shape[0]):
                g = neighbour_flat(b, offsets[o], nbins)
                if g < 0:
                    continue
                for q in range(mde_start[g], mde_start[g + 1]):
                    if _in_window(mde, q, mm[i], half):
                        cnt += 1
            if cnt > 0 and rng.random() * p_bound < -math.expm1(-eta_m * cnt * dt):
                alive[i] = False
                degraded += 1
    return degraded


@numba.njit(cache=True)
def _unravel(f, nbins, b):
    for k in range(nbins.size - 1, -1, -1):
        b[k] = f % nbins[k]
        f //= nbins[k]


@numba.njit(cache=True)
def emit_from(src, alive, n_alive, rate, dt, rng):
    """Positions of new particles emitted by the ``n_alive`` living ``src`` particles at
    ``rate`` each: Poisson(n_alive·rate·dt) emitters drawn uniformly among the living."""
    n, d = src.shape
    if n_alive == 0 or rate <= 0.0:
        return np.empty((0, d))
    k = rng.poisson(n_alive * rate * dt)
    out = np.empty((k, d))
    for j in range(k):
        i = rng.integers(0, n)
        while not alive[i]:
            i = rng.integers(0, n)
        for a in range(d):
            out[j, a] = src[i, a]
    return out


@numba.njit(cache=True)
def produce_at(pos, rates, dt, rng):
    """New particles at ``pos[i]``, Poisson(rates[i]·dt) of them for each i."""
    n, d = pos.shape
    counts = np.empty(n, dtype=np.int64)
    total = 0
    for i in range(n):
        counts[i] = rng.poisson(rates[i] * dt) if rates[i] > 0 else 0
        total += counts[i]
    out = np.empty((total, d))
    m = 0
    for i in range(n):
        for _ in range(counts[i]):
            for a in range(d):
                out[m, a] = pos[i, a]
            m += 1
    return out


# ---- O2 uptake ------------------------------------------------------------------------------
@numba.njit(cache=True)
def uptake(cells, rates, o2, o2_start, alive, lo, width, nbins, offsets, half, dt, rng):
    """Each cell removes Poisson(rates·dt) O2 particles chosen at random among the alive ones in
    its window (all of them if fewer); ``alive`` (bin-sorted O2) is updated in place.
    Returns the number taken."""
    n, d = cells.shape
    b = np.empty(d, dtype=np.int64)
    scratch = np.empty(64, dtype=np.int64)
    taken = 0
    for i in range(n):
        if rates[i] <= 0:
            continue
        k = rng.poisson(rates[i] * dt)
        if k == 0:
            continue
        bin_coords(cells[i], lo, width, nbins, b)
        m = 0
        for o in range(offsets.shape[0]):
            g = neighbour_flat(b, offsets[o], nbins)
            if g < 0:
                continue
            for q in range(o2_start[g], o2_start[g + 1]):
                if alive[q] and _in_window(o2, q, cells[i], half):
                    if m == scratch.size:
                        bigger = np.empty(2 * scratch.size, dtype=np.int64)
                        bigger[:m] = scratch[:m]
                        scratch = bigger
                    scratch[m] = q
                    m += 1
        if m <= k:
            for j in range(m):
                alive[scratch[j]] = False
            taken += m
            continue
        for j in range(k):
            s = j + rng.integers(0, m - j)
            tmp = scratch[j]
            scratch[j] = scratch[s]
            scratch[s] = tmp
            alive[scratch[j]] = False
        taken += k
    return taken


# ---- motion -----------------------------------------------------------------------------------
@numba.njit(cache=True)
def _wall(x, length, open_boundary):
    """Reflect x into [0, length] (any number of reflections, in constant time; a non-finite
    x gives NaN: the cell leaves); with open boundaries return NaN when outside."""
    if open_boundary:
        if x < 0.0 or x > length:
            return math.nan
        return x
    if 0.0 <= x <= length:
        return x
    if -length <= x < 0.0:  # one reflection, as the walls do
        return -x
    if length < x <= 2.0 * length:
        return 2.0 * length - x
    if not math.isfinite(x):
        return math.nan
    y = x % (2.0 * length)  # the walls unfolded: period 2 length
    return 2.0 * length - y if y > length else y


@numba.njit(cache=True)
def brownian(old, alive, new, p_decay, step_sd, length, open_boundary, rng):
    """Survivors after decay of the ``alive`` rows of ``old`` (each with probability
    ``p_decay``; the ``new`` rows, made during this step, do not decay) and a Brownian step of
    standard deviation ``step_sd`` per axis, with the walls. Returns (m, d) positions."""
    n_old, d = old.shape
    out = np.empty((n_old + new.shape[0], d))
    m = 0
    for i in range(n_old + new.shape[0]):
        if i < n_old:
            if not alive[i] or (p_decay > 0.0 and rng.random() < p_decay):
                continue
        ok = True
        for a in range(d):
            x0 = old[i, a] if i < n_old else new[i - n_old, a]
            x = _wall(x0 + step_sd * rng.standard_normal(), length, open_boundary)
            if math.isnan(x):
                ok = False
            out[m, a] = x
        if ok:
            m += 1
    return out[:m].copy()


@numba.njit(cache=True)
def move_cells(pos, comp, w, grad, drift, sd, dt, length, open_boundary, rng):
    """Proliferating cells: x += ρ w ∇f̂ dt + sd·√w·ξ (``drift`` = ρ, ``sd`` = √(c D_n dt));
    quiescent cells stay. Returns the new positions and the mask of cells still in the domain."""
    n, d = pos.shape
    out = pos.copy()
    inside = np.ones(n, dtype=np.bool_)
    for i in range(n):
        if comp[i] == QUIESCENT:
            continue
        s = sd * math.sqrt(w[i])
        for a in range(d):
            x = pos[i, a] + drift * w[i] * grad[i, a] * dt + s * rng.standard_normal()
            x = _wall(x, length, open_boundary)
            if math.isnan(x):
                inside[i] = False
            out[i, a] = x
    return out, inside
