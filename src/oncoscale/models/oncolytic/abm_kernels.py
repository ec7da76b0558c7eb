"""Numba kernel of the oncolytic lattice ABM (spec oncolytic.md §4): many steps per call.

All cells of one site are updated together (binomial draws; the multinomial move draw is
done as "movers ~ Bin(n, total move probability)" followed by one categorical draw per
mover, which is the same distribution). One step is three sweeps over the lattice:

* sweep A1 — sub-steps 1–2: ρ = U + I; random walk of U and I; chemotactic walk of Z with
  φ at the start of the step; the move-probability check of every site;
* sweep A2 — sub-steps 3–4: arrivals merged; growth (births, then crowding deaths) with the
  pre-move ρ; lysis of I; death of Z; Σ I accumulated;
* inflow (sub-step 5) — every site of ω has the same probability τδ²S, so the number of new
  immune cells is Bin(|ω|, τδ²S) placed on that many distinct uniformly chosen sites of ω:
  the same law as one Bernoulli draw per site, at a cost proportional to the arrivals;
* sweep B — sub-steps 6–8: infection, killing, explicit φ update with the new U, I.

Random numbers come from the explicit xoshiro256** stream of :mod:`oncoscale.numerics.sampling`
(kept in the model state; see there for why). The kernel is single-threaded, so the result is
a pure function of (initial state, coefficients, stream) whatever the machine's core count.

The readable NumPy reference of the same step is :mod:`.abm_reference`; tests compare the two
statistically.
"""

from __future__ import annotations

import math

import numba
import numpy as np

from oncoscale.models.oncolytic.params import OncolyticParameters, abm_coefficients
from oncoscale.numerics.sampling import binomial, binomial_logq, sample_distinct, uniform

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


@numba.njit(cache=True, inline="always")
def _bin(s, n, p, logq):  # pragma: no cover - compiled
    """Bin(n, p) with logq = log1p(-p) precomputed when p <= 1/2 (else exact general path)."""
    if p <= 0.5:
        return binomial_logq(s, n, p, logq)
    return binomial(s, n, p)


@numba.njit(cache=True, inline="always")
def _scatter_uniform(s, m, x, y, counts, inc, n0, n1):  # pragma: no cover - compiled
    """Send m movers from (x, y) to uniformly chosen neighbours; off-lattice ones stay."""
    for _ in range(m):
        d = int(uniform(s) * 4.0)
        if d == 0:
            if x + 1 < n0:
                counts[x, y] -= 1
                inc[x + 1, y] += 1
        elif d == 1:
            if x > 0:
                counts[x, y] -= 1
                inc[x - 1, y] += 1
        elif d == 2:
            if y + 1 < n1:
                counts[x, y] -= 1
                inc[x, y + 1] += 1
        elif y > 0:
            counts[x, y] -= 1
            inc[x, y - 1] += 1


@numba.njit(cache=True)
def _moves(U, I, Z, phi, incU, incI, incZ, rho, c, s):  # pragma: no cover - compiled
    """Sweep A1 (sub-steps 1–2). Returns (status, flat site, value) of the move check."""
    n0, n1 = U.shape
    theta = c[THETA]
    logq = math.log1p(-theta) if theta <= 0.5 else 0.0
    quarter_z = 0.25 * c[THETA_Z]
    chem = c[CHEM]
    for x in range(n0):
        for y in range(n1):
            u = U[x, y]
            i = I[x, y]
            rho[x, y] = u + i
            if u > 0:
                m = _bin(s, u, theta, logq)
                if m > 0:
                    _scatter_uniform(s, m, x, y, U, incU, n0, n1)
            if i > 0:
                m = _bin(s, i, theta, logq)
                if m > 0:
                    _scatter_uniform(s, m, x, y, I, incI, n0, n1)
            # immune cells: θ_z/4 + ν(φ_k − φ_j)+/(4φ*) towards each lattice neighbour k;
            # an off-lattice neighbour (ghost φ = φ_j) keeps θ_z/4 and the cell stays
            ph = phi[x, y]
            pe = quarter_z + (chem * max(phi[x + 1, y] - ph, 0.0) if x + 1 < n0 else 0.0)
            pw = quarter_z + (chem * max(phi[x - 1, y] - ph, 0.0) if x > 0 else 0.0)
            pn = quarter_z + (chem * max(phi[x, y + 1] - ph, 0.0) if y + 1 < n1 else 0.0)
            ps = quarter_z + (chem * max(phi[x, y - 1] - ph, 0.0) if y > 0 else 0.0)
            total = pe + pw + pn + ps
            if total > 1.0:
                return MOVE_PROBABILITY, x * n1 + y, total
            z = Z[x, y]
            if z > 0 and total > 0.0:
                m = binomial(s, z, total)
                for _ in range(m):
                    r = uniform(s) * total
                    if r < pe:
                        if x + 1 < n0:
                            Z[x, y] -= 1
                            incZ[x + 1, y] += 1
                    elif r < pe + pw:
                        if x > 0:
                            Z[x, y] -= 1
                            incZ[x - 1, y] += 1
                    elif r < pe + pw + pn:
                        if y + 1 < n1:
                            Z[x, y] -= 1
                            incZ[x, y + 1] += 1
                    elif y > 0:
                        Z[x, y] -= 1
                        incZ[x, y - 1] += 1
    return OK, -1, 0.0


@numba.njit(cache=True)
def _growth_lysis_death(U, I, Z, incU, incI, incZ, rho, c, s):  # pragma: no cover - compiled
    """Sweep A2 (sub-steps 3–4); returns Σ I after lysis."""
    n0, n1 = U.shape
    tau, growth, cap = c[TAU], c[P], c[CAP]
    p_lysis = min(1.0, tau * c[Q])
    lq_lysis = math.log1p(-p_lysis) if p_lysis <= 0.5 else 0.0
    p_zdeath = min(1.0, tau * c[Q_Z])
    lq_zdeath = math.log1p(-p_zdeath) if p_zdeath <= 0.5 else 0.0
    total_i = 0
    for x in range(n0):
        for y in range(n1):
            u = U[x, y] + incU[x, y]
            i = I[x, y] + incI[x, y]
            z = Z[x, y] + incZ[x, y]
            incU[x, y] = 0
            incI[x, y] = 0
            incZ[x, y] = 0
            if u > 0:
                g = tau * growth * (1.0 - rho[x, y] / cap)
                if g > 0.0:
                    u += binomial(s, u, min(1.0, g))
                elif g < 0.0:
                    u -= binomial(s, u, min(1.0, -g))
            if i > 0:
                i -= _bin(s, i, p_lysis, lq_lysis)
            if z > 0:
                z -= _bin(s, z, p_zdeath, lq_zdeath)
            U[x, y] = u
            I[x, y] = i
            Z[x, y] = z
            total_i += i
    return total_i


@numba.njit(cache=True)
def _infection_killing_phi(U, I, Z, phi, phi_new, c, s):  # pragma: no cover - compiled
    """Sweep B (sub-steps 6–8): infection, killing, then φ with the new U, I into phi_new."""
    n0, n1 = U.shape
    tau, cap = c[TAU], c[CAP]
    inf_rate = tau * c[BETA] / cap
    kill_rate = tau * c[ZETA] / cap
    a, sec_i, sec_u, star, decay = c[A_PHI], c[SEC_I], c[SEC_U], c[PHI_STAR], c[DECAY_PHI]
    for x in range(n0):
        xe = x + 1 if x + 1 < n0 else x
        xw = x - 1 if x > 0 else x
        for y in range(n1):
            u = U[x, y]
            i = I[x, y]
            if u > 0 and i > 0:
                infected = binomial(s, u, min(1.0, inf_rate * i))
                u -= infected
                i += infected
            z = Z[x, y]
            if z > 0 and (u > 0 or i > 0):
                pk = min(1.0, kill_rate * z)
                u -= binomial(s, u, pk)
                i -= binomial(s, i, pk)
            U[x, y] = u
            I[x, y] = i
            yn = y + 1 if y + 1 < n1 else y
            ys = y - 1 if y > 0 else y
            ph = phi[x, y]
            lap = phi[xe, y] + phi[xw, y] + phi[x, yn] + phi[x, ys] - 4.0 * ph
            phi_new[x, y] = ph + a * lap + (sec_i * i + sec_u * u) * (star - ph) - decay * ph


@numba.njit(cache=True)
def run_steps(U, I, Z, phi, work, inc, rho, omega, picked, c, s, nsteps):  # pragma: no cover
    """Advance the lattice ``nsteps`` steps in place.

    U, I, Z: int32 counts (n0, n1); phi: float64 (n0, n1); work: float64 scratch like phi;
    inc: int32 (3, n0, n1) zeroed scratch; rho: int32 scratch; omega: flat indices of the
    inflow sites; picked: int64 scratch of len(omega); c: packed coefficients; s: stream.

    Returns (status, steps done, flat site, offending value); status OK when all steps ran.
    """
    n1 = U.shape[1]
    incU, incI, incZ = inc[0], inc[1], inc[2]
    n_omega = omega.size
    for k in range(nsteps):
        status, site, value = _moves(U, I, Z, phi, incU, incI, incZ, rho, c, s)
        if status != OK:
            return status, k, site, value
        total_i = _growth_lysis_death(U, I, Z, incU, incI, incZ, rho, c, s)
        p_in = c[INFLOW0] + c[INFLOW1] * total_i
        if p_in > 1.0:
            return INFLOW_PROBABILITY, k, -1, p_in
        arrivals = binomial(s, n_omega, p_in)
        sample_distinct(s, arrivals, n_omega, picked)
        for r in range(arrivals):
            flat = omega[picked[r]]
            Z[flat // n1, flat % n1] += 1
        _infection_killing_phi(U, I, Z, phi, work, c, s)
        phi[:, :] = work
    return OK, nsteps, -1, 0.0
