"""Readable NumPy reference of one step of the oncolytic lattice ABM (spec oncolytic.md §4).

The rules are written as in the spec, with whole-lattice multinomial and binomial draws from a
``numpy.random.Generator`` — slow but easy to check. The Numba kernel (:mod:`.abm_kernels`)
samples the same process; tests compare the two statistically.
"""

from __future__ import annotations

import numpy as np

from oncoscale.models.oncolytic import abm_kernels as k


def _shift_moves(draws: np.ndarray) -> np.ndarray:
    """Counts after a walk: ``draws[..., d]`` movers towards E (+x), W, N (+y), S, stayers in
    ``draws[..., 4]``; movers that would leave the lattice stay (zero flux)."""
    east, west, north, south, new = (draws[..., d] for d in range(5))
    new = new.copy()
    new[1:, :] += east[:-1, :]
    new[-1, :] += east[-1, :]
    new[:-1, :] += west[1:, :]
    new[0, :] += west[0, :]
    new[:, 1:] += north[:, :-1]
    new[:, -1] += north[:, -1]
    new[:, :-1] += south[:, 1:]
    new[:, 0] += south[:, 0]
    return new


def _walk(n: np.ndarray, pvals: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One multinomial draw per site over (E, W, N, S, stay); pvals (..., 4)."""
    stay = 1.0 - pvals.sum(axis=-1, keepdims=True)
    probs = np.concatenate([pvals, np.clip(stay, 0.0, 1.0)], axis=-1)
    return _shift_moves(rng.multinomial(n, probs))


def chemotactic_move_probabilities(phi: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Immune move probabilities (n0, n1, 4) towards E, W, N, S: θ_z/4 + ν(φ_k − φ_j)+/(4φ*);
    ghost neighbours beyond the edge copy φ_j (Neumann), so only θ_z/4 remains there."""
    padded = np.pad(phi, 1, mode="edge")
    neighbours = (padded[2:, 1:-1], padded[:-2, 1:-1], padded[1:-1, 2:], padded[1:-1, :-2])
    return np.stack(
        [0.25 * c[k.THETA_Z] + c[k.CHEM] * np.maximum(nb - phi, 0.0) for nb in neighbours],
        axis=-1,
    )


def step_reference(
    U: np.ndarray,
    I: np.ndarray,
    Z: np.ndarray,
    phi: np.ndarray,
    c: np.ndarray,
    omega: np.ndarray,
    rng: np.random.Generator,
) -> tuple[int, int, float]:
    """One step (τ) in place on the counts U, I, Z and on φ; ``omega`` is the boolean mask of
    the inflow region. Returns (status, flat site, value) like the kernel (status OK = 0)."""
    tau, cap = c[k.TAU], c[k.CAP]
    # 1. ρ before movement
    rho = U + I
    # 2. random walks (U, I: θ/4 per direction) and the chemotactic walk of Z (φ at step start)
    moves_z = chemotactic_move_probabilities(phi, c)
    total = moves_z.sum(axis=-1)
    if np.any(total > 1.0):
        site = int(np.argmax(total))
        return k.MOVE_PROBABILITY, site, float(total.flat[site])
    tumour = np.full((*U.shape, 4), 0.25 * c[k.THETA])
    U[...] = _walk(U, tumour, rng)
    I[...] = _walk(I, tumour, rng)
    Z[...] = _walk(Z, moves_z, rng)
    # 3. growth with the pre-move ρ: births, then crowding deaths
    g = tau * c[k.P] * (1.0 - rho / cap)
    U += rng.binomial(U, np.clip(g, 0.0, 1.0))
    U -= rng.binomial(U, np.clip(-g, 0.0, 1.0))
    # 4. lysis of I, death of Z (survivors)
    I[...] = rng.binomial(I, 1.0 - min(1.0, tau * c[k.Q]))
    Z[...] = rng.binomial(Z, 1.0 - min(1.0, tau * c[k.Q_Z]))
    # 5. inflow: one Bernoulli draw per site of ω with probability τδ²(S0 + α_z Σ I)
    p_in = c[k.INFLOW0] + c[k.INFLOW1] * int(I.sum())
    if p_in > 1.0:
        return k.INFLOW_PROBABILITY, -1, float(p_in)
    Z += (rng.random(Z.shape) < p_in) & omega
    # 6. infection
    infected = rng.binomial(U, np.minimum(1.0, tau * c[k.BETA] * I / cap))
    U -= infected
    I += infected
    # 7. killing (U and I survive with 1 − min(1, τζZ/(Kδ²)))
    survive = 1.0 - np.minimum(1.0, tau * c[k.ZETA] * Z / cap)
    U[...] = rng.binomial(U, survive)
    I[...] = rng.binomial(I, survive)
    # 8. chemoattractant, explicit, Neumann ghosts copying the edge
    padded = np.pad(phi, 1, mode="edge")
    lap = padded[2:, 1:-1] + padded[:-2, 1:-1] + padded[1:-1, 2:] + padded[1:-1, :-2] - 4.0 * phi
    secretion = c[k.SEC_I] * I + c[k.SEC_U] * U
    phi += c[k.A_PHI] * lap + secretion * (c[k.PHI_STAR] - phi) - c[k.DECAY_PHI] * phi
    return k.OK, -1, 0.0
