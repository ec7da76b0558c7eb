"""Numba kernel of the oncolytic lattice ABM (spec oncolytic.md §4): many steps per call.

Binomial updates of whole sites, row by row on all cores: the moves in two passes over
alternate blocks of rows (blocks of one pass never write the same cells), then the reactions
and the explicit φ update of every row; the inflow by distinct uniform sites. Random numbers
come from counter-based streams keyed on (run key, step, row, phase), so a run is
bit-identical for any number of threads. The readable NumPy reference is
:mod:`.abm_reference` (tested statistically). Order of the sub-steps, exactness and cost:
docs/abm.md, sections 'The compiled step' and 'Sampling at the speed of the events'.
"""

from __future__ import annotations

import numba
import numpy as np

from oncoscale.models.oncolytic.params import OncolyticParameters, abm_coefficients
from oncoscale.numerics.sampling import (
    bernoulli_block,
    binomial,
    binomial_cdf_table,
    chain_binomial,
    chain_binomial_table,
    counter_hash,
    geometric_gap,
    keyed_stream,
    sample_distinct,
    uniform,
)

# indices into the packed coefficient vector
THETA, THETA_Z, CHEM, TAU, P, CAP, Q, Q_Z, BETA, ZETA = range(10)
INFLOW0, INFLOW1, A_PHI, SEC_I, SEC_U, PHI_STAR, DECAY_PHI = range(10, 17)
N_COEFF = 17

#: kernel status codes
OK, MOVE_PROBABILITY, INFLOW_PROBABILITY = 0, 1, 2
#: stream numbers of the phases of a step (with the row: the stream's second counter)
PHASE_MOVE, PHASE_REACT, PHASE_INFLOW = 0, 1, 2


def pack_coefficients(params: OncolyticParameters) -> np.ndarray:
    """Per-step probabilities and rates of the lattice model, from the one PDE↔ABM mapping
    (:func:`~oncoscale.models.oncolytic.params.abm_coefficients`). Counts are per site; the
    per-site capacity is Kδ²."""
    p = params
    m = abm_coefficients(p)
    d2 = p.delta**2
    c = np.zeros(N_COEFF)
    c[THETA] = m.theta
    c[THETA_Z] = m.theta_z
    c[CHEM] = m.nu / (4.0 * p.phi_star)  # per unit φ difference, per direction
    c[TAU] = p.tau
    c[P] = p.p
    c[CAP] = p.K * d2
    c[Q] = p.q
    c[Q_Z] = p.q_z
    c[BETA] = p.beta
    c[ZETA] = p.zeta
    c[INFLOW0] = p.tau * d2 * p.S0  # per site and step
    c[INFLOW1] = p.tau * d2 * p.alpha_z  # per site, step and infected cell
    c[A_PHI] = p.tau * p.D_phi / d2
    c[SEC_I] = p.tau * p.alpha_phi / d2  # per infected cell on the site
    c[SEC_U] = p.tau * p.gamma_phi / d2
    c[PHI_STAR] = p.phi_star
    c[DECAY_PHI] = p.tau * p.q_phi
    return c


def move_table(c: np.ndarray) -> np.ndarray:
    """Binomial CDF table of the tumour move probability θ (sites with < 256 cells)."""
    return binomial_cdf_table(float(c[THETA]))


@numba.njit(cache=True, inline="always")
def _move_one(x, y, d, counts, inc, n0, n1):  # pragma: no cover - compiled
    """Move one cell from (x, y) towards d = 0 (E, +x), 1 (W), 2 (N, +y), 3 (S) unless that
    leaves the lattice (zero flux: the cell stays). Branch-free choice of the target."""
    tx = x + (d == 0) - (d == 1)
    ty = y + (d == 2) - (d == 3)
    if 0 <= tx < n0 and 0 <= ty < n1:
        counts[x, y] -= 1
        inc[tx, ty] += 1


@numba.njit(cache=True, inline="always")
def _scatter_uniform(s, m, x, y, counts, inc, n0, n1):  # pragma: no cover - compiled
    """Send m movers from (x, y) to uniformly chosen neighbours; off-lattice ones stay."""
    for _ in range(m):
        _move_one(x, y, int(uniform(s) * 4.0), counts, inc, n0, n1)


@numba.njit(cache=True, inline="always")
def _z_move_probabilities(phi, x, y, n0, n1, quarter_z, chem):  # pragma: no cover
    """θ_z/4 + ν(φ_k − φ_j)+/(4φ*) towards E, W, N, S; an off-lattice neighbour (ghost φ =
    φ_j, Neumann) keeps θ_z/4, and a cell drawing it stays."""
    ph = phi[x, y]
    pe = quarter_z + (chem * max(phi[x + 1, y] - ph, 0.0) if x + 1 < n0 else 0.0)
    pw = quarter_z + (chem * max(phi[x - 1, y] - ph, 0.0) if x > 0 else 0.0)
    pn = quarter_z + (chem * max(phi[x, y + 1] - ph, 0.0) if y + 1 < n1 else 0.0)
    ps = quarter_z + (chem * max(phi[x, y - 1] - ph, 0.0) if y > 0 else 0.0)
    return pe, pw, pn, ps


@numba.njit(cache=True, inline="always")
def _walk_z(s, m, x, y, Z, incZ, n0, n1, pe, pw, pn, total):  # pragma: no cover - compiled
    """Send m immune movers from (x, y) to neighbour k with probability p_k/total."""
    for _ in range(m):
        r = uniform(s) * total
        d = (r >= pe) + (r >= pe + pw) + (r >= pe + pw + pn)
        _move_one(x, y, d, Z, incZ, n0, n1)


@numba.njit(cache=True, inline="always")
def _move_site(U, I, Z, phi, total_z, incU, incI, incZ, c, cdf, s, x, y, v):  # pragma: no cover
    """Movers of one site (slow path): one chain of binomials U, I, Z on the uniform v;
    ``cdf`` is the binomial table of θ, ``total_z`` the site's total immune move
    probability."""
    n0, n1 = U.shape
    theta = c[THETA]
    m, v = chain_binomial_table(s, v, U[x, y], theta, cdf)
    if m > 0:
        _scatter_uniform(s, m, x, y, U, incU, n0, n1)
    m, v = chain_binomial_table(s, v, I[x, y], theta, cdf)
    if m > 0:
        _scatter_uniform(s, m, x, y, I, incI, n0, n1)
    z = Z[x, y]
    if z > 0:
        pe, pw, pn, _ = _z_move_probabilities(phi, x, y, n0, n1, 0.25 * c[THETA_Z], c[CHEM])
        m, v = chain_binomial(s, v, z, total_z)
        if m > 0:
            _walk_z(s, m, x, y, Z, incZ, n0, n1, pe, pw, pn, total_z)


@numba.njit(cache=True, inline="always")
def _moves_row(x, U, I, Z, phi, incU, incI, incZ, rho, c, cdf, s):  # pragma: no cover
    """Sub-steps 1–2 on row x: ρ = U + I, then the walks; arrivals go to inc* (rows x − 1,
    x, x + 1). Returns the row's largest total immune move probability
    θ_z + ν Σ_k (φ_k − φ_j)+/(4φ*) (the spec's run-time check: <= 1 at every site).

    Per site, the movers of U, I and Z are one chain of binomials on one uniform
    (:func:`~oncoscale.numerics.sampling.chain_binomial`): nobody moves if the uniform is
    below 1 − (U + I)θ − Z·p_z, p_z being the site's total immune move probability."""
    n0, n1 = U.shape
    theta, theta_z, chem = c[THETA], c[THETA_Z], c[CHEM]
    here = phi[x]
    east = phi[x + 1] if x + 1 < n0 else here
    west = phi[x - 1] if x > 0 else here
    row_max = 0.0
    for y in range(n1):
        ph = here[y]
        north = here[y + 1] if y + 1 < n1 else ph
        south = here[y - 1] if y > 0 else ph
        rise = (
            max(east[y] - ph, 0.0)
            + max(west[y] - ph, 0.0)
            + max(north - ph, 0.0)
            + max(south - ph, 0.0)
        )
        total_z = theta_z + chem * rise
        row_max = max(row_max, total_z)
        u = U[x, y]
        i = I[x, y]
        z = Z[x, y]
        rho[x, y] = u + i
        if u == 0 and i == 0 and z == 0:
            continue
        v = uniform(s)
        if v >= 1.0 - (u + i) * theta - z * total_z:
            _move_site(U, I, Z, phi, total_z, incU, incI, incZ, c, cdf, s, x, y, v)
    return row_max


@numba.njit(cache=True)
def _react_site(u, i, z, g, c, s, v):  # pragma: no cover - compiled
    """Sub-steps 3, 6, 7 of one site (slow path) as one chain on the uniform v, after
    lysis and immune death. Returns the new (u, i)."""
    tau, cap = c[TAU], c[CAP]
    # 3. births, then crowding deaths (one of the two probabilities is zero)
    k, v = chain_binomial(s, v, u, min(1.0, max(g, 0.0)))
    u += k
    k, v = chain_binomial(s, v, u, min(1.0, max(-g, 0.0)))
    u -= k
    # 6. infection (with I after lysis)
    k, v = chain_binomial(s, v, u, min(1.0, tau * c[BETA] / cap * i))
    u -= k
    i += k
    # 7. killing (with Z after death; the inflow is completed in _inflow)
    p_kill = min(1.0, tau * c[ZETA] / cap * z)
    k, v = chain_binomial(s, v, u, p_kill)
    u -= k
    k, v = chain_binomial(s, v, i, p_kill)
    i -= k
    return u, i


@numba.njit(cache=True, inline="always")
def _reactions_row(x, U, I, Z, incU, incI, incZ, rho, phi, phi_new, c, s):  # pragma: no cover
    """Row x: arrivals merged; sub-steps 4 (lysis, immune death), 3 (growth with the
    pre-move ρ), 6 (infection) and 7 (killing, with Z before the inflow; see
    :func:`_inflow`); then φ of the row for the next step (sub-step 8, with the row's new U,
    I; :func:`_inflow` corrects the sites whose cells it kills). Returns the row's Σ I after 4.

    Lysis and immune death have fixed per-cell probabilities: they walk one Bernoulli
    process each along the row (:func:`~oncoscale.numerics.sampling.bernoulli_block`, gaps
    drawn when first needed); they touch only I and Z, so doing them before growth (U)
    changes nothing. Infection touches only U, I and the inflow only Z, so doing 6 before 5
    changes nothing; Σ I is taken after 4, as the spec says. The remaining draws of a site
    are one chain of binomials on one uniform; nothing happens below 1 − Σ n_k p_k (most
    sites, most steps)."""
    n1 = U.shape[1]
    tau, cap = c[TAU], c[CAP]
    growth = tau * c[P]
    inv_cap = 1.0 / cap
    p_lysis = min(1.0, tau * c[Q])
    p_zdeath = min(1.0, tau * c[Q_Z])
    inf_rate = tau * c[BETA] * inv_cap
    kill_rate = tau * c[ZETA] * inv_cap
    gap_l = -1
    gap_z = -1
    total_i = 0
    for y in range(n1):
        u = U[x, y] + incU[x, y]
        i = I[x, y] + incI[x, y]
        z = Z[x, y] + incZ[x, y]
        if u == 0 and i == 0 and z == 0:
            continue
        incU[x, y] = 0
        incI[x, y] = 0
        incZ[x, y] = 0
        if i > 0:  # 4. lysis
            if gap_l < 0:
                gap_l = geometric_gap(s, p_lysis)
            k, gap_l = bernoulli_block(s, i, p_lysis, gap_l)
            i -= k
            total_i += i
        if z > 0:  # 4. immune death
            if gap_z < 0:
                gap_z = geometric_gap(s, p_zdeath)
            k, gap_z = bernoulli_block(s, z, p_zdeath, gap_z)
            z -= k
        if u > 0 or i > 0:
            g = growth * (1.0 - rho[x, y] * inv_cap)
            bound = u * (abs(g) + inf_rate * i) + (u + i) * (kill_rate * z)
            v = uniform(s)
            if v >= 1.0 - bound:
                u, i = _react_site(u, i, z, g, c, s, v)
        U[x, y] = u
        I[x, y] = i
        Z[x, y] = z
    _phi_row(x, U, I, phi, phi_new, c)
    return total_i


@numba.njit(cache=True, fastmath=True, inline="always")
def _phi_row(x, U, I, phi, out, c):  # pragma: no cover - compiled
    """Sub-step 8 on row x: φ + τD_φΔ_δφ + τ(α_φ i + γ_φ u)(φ* − φ) − τq_φφ into ``out``
    (Neumann: ghost sites copy the edge)."""
    n0, n1 = phi.shape
    a, sec_i, sec_u, star, decay = c[A_PHI], c[SEC_I], c[SEC_U], c[PHI_STAR], c[DECAY_PHI]
    here = phi[x]
    east = phi[x + 1] if x + 1 < n0 else here
    west = phi[x - 1] if x > 0 else here
    u_row, i_row, o_row = U[x], I[x], out[x]
    for y in range(n1):
        ph = here[y]
        north = here[y + 1] if y + 1 < n1 else ph
        south = here[y - 1] if y > 0 else ph
        lap = east[y] + west[y] + north + south - 4.0 * ph
        source = (sec_i * i_row[y] + sec_u * u_row[y]) * (star - ph)
        o_row[y] = ph + a * lap + source - decay * ph


@numba.njit(cache=True)
def _inflow(U, I, Z, phi, phi_new, omega, picked, p_in, c, s):  # pragma: no cover - compiled
    """Sub-step 5 and the completion of 7 on the sites that received a new immune cell.

    Every site of ω has probability p_in, so Bin(|ω|, p_in) cells go to as many distinct
    uniform sites of ω. Killing at such a site ran with Z − 1; tumour cells that survived it
    are killed again with p' = 1 − (1 − pk(Z))/(1 − pk(Z − 1)), so that they survive with
    probability 1 − pk(Z) overall (two independent thinnings compose exactly); the new φ of
    the site is corrected for the killed cells' secretion (φ's update is linear in U, I)."""
    n1 = U.shape[1]
    kill_rate = c[TAU] * c[ZETA] / c[CAP]
    sec_i, sec_u, star = c[SEC_I], c[SEC_U], c[PHI_STAR]
    arrivals = binomial(s, omega.size, p_in)
    sample_distinct(s, arrivals, omega.size, picked)
    for r in range(arrivals):
        flat = omega[picked[r]]
        x, y = flat // n1, flat % n1
        z = Z[x, y]
        Z[x, y] = z + 1
        if U[x, y] > 0 or I[x, y] > 0:
            before = min(1.0, kill_rate * z)
            after = min(1.0, kill_rate * (z + 1))
            extra = 1.0 if before >= 1.0 else 1.0 - (1.0 - after) / (1.0 - before)
            du = binomial(s, U[x, y], extra)
            di = binomial(s, I[x, y], extra)
            if du > 0 or di > 0:
                U[x, y] -= du
                I[x, y] -= di
                phi_new[x, y] -= (sec_i * di + sec_u * du) * (star - phi[x, y])


#: rows per block of the move passes: blocks of one parity are >= 2 rows apart, so their
#: arrivals (rows x − 1 … x + 1 of a moving row x) never touch the same cells
BLOCK = 4


@numba.njit(cache=True, parallel=True)
def _step(U, I, Z, phi, phi_new, incU, incI, incZ, rho, streams, row_max, row_i, c, cdf, base):
    # pragma: no cover - compiled
    """Moves (even, then odd blocks of rows) and reactions + φ of one step, on all threads;
    each row draws from its own keyed stream and arrivals are integer sums, so the result
    does not depend on the number of threads or the order of the rows. Returns Σ I after
    sub-step 4 and the largest total immune move probability."""
    n0 = U.shape[0]
    blocks = (n0 + BLOCK - 1) // BLOCK
    for parity in range(2):
        for j in numba.prange((blocks - parity + 1) // 2):
            first = (2 * j + parity) * BLOCK
            for x in range(first, min(first + BLOCK, n0)):
                s = streams[x]
                keyed_stream(base, x, PHASE_MOVE, s)
                row_max[x] = _moves_row(x, U, I, Z, phi, incU, incI, incZ, rho, c, cdf, s)
    for x in numba.prange(n0):
        s = streams[x]
        keyed_stream(base, x, PHASE_REACT, s)
        row_i[x] = _reactions_row(x, U, I, Z, incU, incI, incZ, rho, phi, phi_new, c, s)
    total_i = 0
    for x in range(n0):
        total_i += row_i[x]
    return total_i, row_max.max()


@numba.njit(cache=True)
def _first_excess(phi, c):  # pragma: no cover - compiled
    """(flat site, value) of the largest total immune move probability (error report)."""
    n0, n1 = phi.shape
    best, site = -1.0, -1
    for x in range(n0):
        for y in range(n1):
            ph = phi[x, y]
            rise = 0.0
            if x + 1 < n0:
                rise += max(phi[x + 1, y] - ph, 0.0)
            if x > 0:
                rise += max(phi[x - 1, y] - ph, 0.0)
            if y + 1 < n1:
                rise += max(phi[x, y + 1] - ph, 0.0)
            if y > 0:
                rise += max(phi[x, y - 1] - ph, 0.0)
            total = c[THETA_Z] + c[CHEM] * rise
            if total > best:
                best, site = total, x * n1 + y
    return site, best


@numba.njit(cache=True)
def run_steps(U, I, Z, phi, work, inc, rho, omega, picked, c, cdf, key, step0, nsteps):
    # pragma: no cover - compiled
    """Advance the lattice ``nsteps`` steps in place, from step number ``step0``.

    U, I, Z: int32 counts (n0, n1); phi: float64 (n0, n1); work: float64 (1, n0, n1) scratch;
    inc: int32 (3, n0, n1) zeroed scratch; rho: int32 scratch; omega: flat indices of the
    inflow sites; picked: int64 scratch of len(omega); c: packed coefficients; cdf: the
    binomial table of θ (:func:`move_table`); key: the run's 256-bit stream key.

    Returns (status, steps done, flat site, offending value); status OK when all steps ran.
    """
    n0 = U.shape[0]
    incU, incI, incZ = inc[0], inc[1], inc[2]
    streams = np.empty((n0, 4), dtype=np.uint64)
    inflow_stream = np.empty(4, dtype=np.uint64)
    row_max = np.zeros(n0)
    row_i = np.zeros(n0, dtype=np.int64)
    old, new = phi, work[0]  # φ of the step start and of its end: swapped, not copied
    status, done, site, value = OK, nsteps, -1, 0.0
    for k in range(nsteps):
        base = counter_hash(key, step0 + k)
        total_i, worst = _step(
            U, I, Z, old, new, incU, incI, incZ, rho, streams, row_max, row_i, c, cdf, base
        )
        if worst > 1.0:
            site, value = _first_excess(old, c)
            status, done = MOVE_PROBABILITY, k
            break
        p_in = c[INFLOW0] + c[INFLOW1] * total_i
        if p_in > 1.0:
            status, done, value = INFLOW_PROBABILITY, k, p_in
            break
        keyed_stream(base, 0, PHASE_INFLOW, inflow_stream)
        _inflow(U, I, Z, old, new, omega, picked, p_in, c, inflow_stream)
        old, new = new, old
    if done % 2:  # after an odd number of swaps the current φ is in the scratch array
        phi[:, :] = old
    return status, done, site, value
