"""Numba kernel of the oncolytic lattice ABM (spec oncolytic.md §4): many steps per call.

Binomial updates of whole sites in one sweep over the rows, inflow by distinct uniform sites,
explicit φ update; draws from the explicit xoshiro256** stream kept in the model state. The
readable NumPy reference is :mod:`.abm_reference` (tested statistically). Order of the
sub-steps, exactness and cost: docs/abm.md, sections 'The compiled step' and 'Sampling at the
speed of the events'.
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
    geometric_gap,
    sample_distinct,
    uniform,
)

# indices into the packed coefficient vector
THETA, THETA_Z, CHEM, TAU, P, CAP, Q, Q_Z, BETA, ZETA = range(10)
INFLOW0, INFLOW1, A_PHI, SEC_I, SEC_U, PHI_STAR, DECAY_PHI = range(10, 17)
N_COEFF = 17

#: kernel status codes
OK, MOVE_PROBABILITY, INFLOW_PROBABILITY = 0, 1, 2


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


@numba.njit(cache=True, fastmath=True)
def immune_move_totals(phi, c, out):  # pragma: no cover - compiled
    """out[j] = θ_z + ν Σ_k (φ_k − φ_j)+/(4φ*): the total immune move probability of every
    site (ghost neighbours copy φ_j, so they add 0). Returns the column-wise maxima's max:
    the spec's run-time check is that it is <= 1. Branch-free, so the loops vectorise."""
    n0, n1 = phi.shape
    theta_z, chem = c[THETA_Z], c[CHEM]
    col_max = np.zeros(n1)
    for x in range(n0):
        here = phi[x]
        east = phi[x + 1] if x + 1 < n0 else here
        west = phi[x - 1] if x > 0 else here
        row = out[x]
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
            total = theta_z + chem * rise
            row[y] = total
            col_max[y] = max(col_max[y], total)
    return col_max.max()


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
def _move_site(U, I, Z, phi, ptot, incU, incI, incZ, c, cdf, s, x, y, v):  # pragma: no cover
    """Movers of one site (slow path): one chain of binomials U, I, Z on the uniform v;
    ``cdf`` is the binomial table of θ."""
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
        total = ptot[x, y]  # = pe + pw + pn + ps (the same value as in the shortcut)
        m, v = chain_binomial(s, v, z, total)
        if m > 0:
            _walk_z(s, m, x, y, Z, incZ, n0, n1, pe, pw, pn, total)


@numba.njit(cache=True, inline="always")
def _moves_row(x, U, I, Z, phi, ptot, incU, incI, incZ, rho, c, cdf, s):  # pragma: no cover
    """Sub-steps 1–2 on row x: ρ = U + I, then the walks; arrivals go to inc*.

    Per site, the movers of U, I and Z are one chain of binomials on one uniform
    (:func:`~oncoscale.numerics.sampling.chain_binomial`): nobody moves if the uniform is
    below 1 − (U + I)θ − Z·ptot, ``ptot`` being the site's total immune move probability."""
    theta = c[THETA]
    for y in range(U.shape[1]):
        u = U[x, y]
        i = I[x, y]
        z = Z[x, y]
        rho[x, y] = u + i
        if u == 0 and i == 0 and z == 0:
            continue
        v = uniform(s)
        if v >= 1.0 - (u + i) * theta - z * ptot[x, y]:
            _move_site(U, I, Z, phi, ptot, incU, incI, incZ, c, cdf, s, x, y, v)


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
def _reactions_row(x, U, I, Z, incU, incI, incZ, rho, c, s, gap_l, gap_z):  # pragma: no cover
    """Row x: arrivals merged; sub-steps 4 (lysis, immune death), 3 (growth with the
    pre-move ρ), 6 (infection) and 7 (killing, with Z before the inflow; see
    :func:`_inflow`). Returns the row's Σ I after 4 and the two gaps.

    Lysis and immune death have fixed per-cell probabilities: they walk one Bernoulli
    process each through the sweep (:func:`~oncoscale.numerics.sampling.bernoulli_block`,
    gaps ``gap_l``, ``gap_z``); they touch only I and Z, so doing them before growth (U)
    changes nothing. Infection touches only U, I and the inflow only Z, so doing 6 before 5
    changes nothing; Σ I is taken after 4, as the spec says. The remaining draws of a site
    are one chain of binomials on one uniform; nothing happens below 1 − Σ n_k p_k (most
    sites, most steps)."""
    tau, cap = c[TAU], c[CAP]
    growth = tau * c[P]
    inv_cap = 1.0 / cap
    p_lysis = min(1.0, tau * c[Q])
    p_zdeath = min(1.0, tau * c[Q_Z])
    inf_rate = tau * c[BETA] * inv_cap
    kill_rate = tau * c[ZETA] * inv_cap
    total_i = 0
    for y in range(U.shape[1]):
        u = U[x, y] + incU[x, y]
        i = I[x, y] + incI[x, y]
        z = Z[x, y] + incZ[x, y]
        if u == 0 and i == 0 and z == 0:
            continue
        incU[x, y] = 0
        incI[x, y] = 0
        incZ[x, y] = 0
        if i > 0:  # 4. lysis
            k, gap_l = bernoulli_block(s, i, p_lysis, gap_l)
            i -= k
            total_i += i
        if z > 0:  # 4. immune death
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
    return total_i, gap_l, gap_z


@numba.njit(cache=True)
def _sweep(U, I, Z, phi, ptot, incU, incI, incZ, rho, c, cdf, s):  # pragma: no cover - compiled
    """Moves of row x, then the reactions of row x − 1 (all its arrivals are in by then):
    one pass over the lattice with the rows in cache. Returns Σ I after sub-step 4."""
    n0 = U.shape[0]
    total_i = 0
    gap_l = geometric_gap(s, min(1.0, c[TAU] * c[Q]))
    gap_z = geometric_gap(s, min(1.0, c[TAU] * c[Q_Z]))
    for x in range(n0 + 1):
        if x < n0:
            _moves_row(x, U, I, Z, phi, ptot, incU, incI, incZ, rho, c, cdf, s)
        if x > 0:
            row_i, gap_l, gap_z = _reactions_row(
                x - 1, U, I, Z, incU, incI, incZ, rho, c, s, gap_l, gap_z
            )
            total_i += row_i
    return total_i


@numba.njit(cache=True)
def _inflow(U, I, Z, omega, picked, p_in, c, s):  # pragma: no cover - compiled
    """Sub-step 5 and the completion of 7 on the sites that received a new immune cell.

    Every site of ω has probability p_in, so Bin(|ω|, p_in) cells go to as many distinct
    uniform sites of ω. Killing at such a site ran with Z − 1; tumour cells that survived it
    are killed again with p' = 1 − (1 − pk(Z))/(1 − pk(Z − 1)), so that they survive with
    probability 1 − pk(Z) overall (two independent thinnings compose exactly)."""
    n1 = U.shape[1]
    kill_rate = c[TAU] * c[ZETA] / c[CAP]
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
            U[x, y] -= binomial(s, U[x, y], extra)
            I[x, y] -= binomial(s, I[x, y], extra)


@numba.njit(cache=True, fastmath=True)
def update_phi(U, I, phi, out, c):  # pragma: no cover - compiled
    """Sub-step 8: φ + τD_φΔ_δφ + τ(α_φ i + γ_φ u)(φ* − φ) − τq_φφ into ``out`` (Neumann:
    ghost sites copy the edge)."""
    n0, n1 = phi.shape
    a, sec_i, sec_u, star, decay = c[A_PHI], c[SEC_I], c[SEC_U], c[PHI_STAR], c[DECAY_PHI]
    for x in range(n0):
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
def run_steps(U, I, Z, phi, work, inc, rho, omega, picked, c, cdf, s, nsteps):  # pragma: no cover
    """Advance the lattice ``nsteps`` steps in place.

    U, I, Z: int32 counts (n0, n1); phi: float64 (n0, n1); work: float64 (2, n0, n1) scratch;
    inc: int32 (3, n0, n1) zeroed scratch; rho: int32 scratch; omega: flat indices of the
    inflow sites; picked: int64 scratch of len(omega); c: packed coefficients; cdf: the
    binomial table of θ (:func:`move_table`); s: stream.

    Returns (status, steps done, flat site, offending value); status OK when all steps ran.
    """
    incU, incI, incZ = inc[0], inc[1], inc[2]
    phi_new, ptot = work[0], work[1]
    for k in range(nsteps):
        if immune_move_totals(phi, c, ptot) > 1.0:
            site = np.argmax(ptot)
            return MOVE_PROBABILITY, k, site, ptot.ravel()[site]
        total_i = _sweep(U, I, Z, phi, ptot, incU, incI, incZ, rho, c, cdf, s)
        p_in = c[INFLOW0] + c[INFLOW1] * total_i
        if p_in > 1.0:
            return INFLOW_PROBABILITY, k, -1, p_in
        _inflow(U, I, Z, omega, picked, p_in, c, s)
        update_phi(U, I, phi, phi_new, c)
        phi[:, :] = phi_new
    return OK, nsteps, -1, 0.0
