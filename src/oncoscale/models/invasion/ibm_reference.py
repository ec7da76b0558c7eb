"""Readable NumPy reference of one step of the invasion IBM (spec §2), independent of the Numba
kernels of :mod:`.ibm_kernels`: the rules written as in the spec with whole-population draws
from a ``numpy.random.Generator`` and ``scipy.spatial.cKDTree`` windows — slow but easy to check.
It samples the same process in another order of draws (e.g. O2 emission as one Poisson count
per MM particle instead of a Poisson number of emitters), so the two agree in law, not draw by
draw; tests compare them statistically. Model ``ibm`` with ``numerics.kernel = "numpy"``.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.spatial import cKDTree

from oncoscale.models.invasion.params import (
    N_PHENOTYPES,
    PROLIFERATING,
    QUIESCENT,
    InvasionParameters,
    division_rate,
    event_probability,
    necrosis_rate,
    quiescence_probability,
    reactivation_rate,
)
from oncoscale.numerics.particles import window_counts_reference


def window_count(points: np.ndarray, sources: np.ndarray, half: float) -> np.ndarray:
    """Number of ``sources`` in the closed window (Chebyshev ball) of half-width ``half``
    around each of ``points``."""
    if sources.shape[0] == 0 or points.shape[0] == 0:
        return np.zeros(points.shape[0])
    found = cKDTree(sources).query_ball_point(points, r=half, p=np.inf, return_length=True)
    return np.asarray(found, dtype=float)


def perceive_reference(
    cells: np.ndarray, mm: np.ndarray, o2: np.ndarray, p: InvasionParameters
) -> tuple[np.ndarray, np.ndarray]:
    """Perceived O2 density ĉ (n,) and MM gradient ∇f̂ (n, d) of each cell (spec §2): window
    counts of half-width Δ, density M·F/(2Δ)^d, gradient M·(F₊ − F₋)/((2Δ)^{d−1}Δ²)."""
    d, half = cells.shape[1], p.perception
    n_o2 = window_count(cells, o2, half)
    _, diff_mm = window_counts_reference(cells, mm, half)
    return p.M_O2 * n_o2 / (2 * half) ** d, p.M_MM * diff_mm / ((2 * half) ** (d - 1) * half**2)


def reflect(x: np.ndarray, length: float) -> np.ndarray:
    """Positions folded back into [0, length] by mirror walls."""
    y = np.mod(x, 2.0 * length)
    return np.where(y > length, 2.0 * length - y, y)


def _walls(pos: np.ndarray, length: float, open_boundary: bool) -> tuple[np.ndarray, np.ndarray]:
    """(positions, inside mask): reflected, or with open walls those outside dropped."""
    if open_boundary:
        inside = np.all((pos >= 0.0) & (pos <= length), axis=1)
        return pos[inside], inside
    return reflect(pos, length), np.ones(pos.shape[0], dtype=bool)


def demography_reference(
    age: np.ndarray,
    ctype: np.ndarray,
    comp: np.ndarray,
    c: np.ndarray,
    p: InvasionParameters,
    rng: np.random.Generator,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """One step of cell events (spec §2) for cells of ages ``age`` (day), phenotypes ``ctype``,
    compartments ``comp`` and perceived O2 ``c``: necrosis μ*(c) competes with division
    pr(a + dt/2, c) (P) or reactivation t_qp(c) (Q); a division is quiescence with t_pq(c), else
    two daughters of age −dt/2 that mutate i → i + 1 (i < 4) with t_m each.

    Returns (age, type, compartment, parent index, indices of the dead cells).
    """
    dt = p.dt
    n = age.size
    mu = necrosis_rate(c, p)
    prolif = comp == PROLIFERATING
    other = np.where(prolif, division_rate(age + 0.5 * dt, c, p), reactivation_rate(c, p))
    total = mu + other
    fire = event_probability(total, dt)
    share_death = np.divide(mu, total, out=np.zeros(n), where=total > 0)
    u = rng.random(n)
    dies = u < fire * share_death
    event = ~dies & (u < fire)
    wakes = event & ~prolif
    divides = event & prolif
    to_q = divides & (rng.random(n) < quiescence_probability(c, p))
    splits = divides & ~to_q
    stays = ~dies & ~splits
    new_comp = np.where(wakes, PROLIFERATING, np.where(to_q, QUIESCENT, comp)).astype(np.int8)
    parents = np.flatnonzero(splits)
    mutate = rng.random((parents.size, 2)) < p.t_m
    d_type = np.minimum(ctype[parents, None] + mutate, N_PHENOTYPES - 1).ravel()
    kept = np.flatnonzero(stays)
    return (
        np.concatenate([age[kept], np.full(2 * parents.size, -0.5 * dt)]),
        np.concatenate([ctype[kept], d_type]).astype(np.int8),
        np.concatenate([new_comp[kept], np.full(2 * parents.size, PROLIFERATING)]).astype(np.int8),
        np.concatenate([kept, np.repeat(parents, 2)]),
        np.flatnonzero(dies),
    )


def uptake_reference(
    cells: np.ndarray, counts: np.ndarray, o2: np.ndarray, half: float, rng: np.random.Generator
) -> np.ndarray:
    """Cells in index order each remove ``counts[i]`` O2 particles chosen at random among those
    still present in their window (all of them if fewer); returns the mask of O2 left."""
    left = np.ones(o2.shape[0], dtype=bool)
    hungry = np.flatnonzero(counts > 0)
    if hungry.size == 0 or o2.shape[0] == 0:
        return left
    windows = cKDTree(o2).query_ball_point(cells[hungry], r=half, p=np.inf)
    for i, idx in zip(hungry, windows, strict=True):
        there = np.asarray(idx, dtype=np.int64)
        there = there[left[there]]
        k = min(int(counts[i]), there.size)
        left[rng.choice(there, size=k, replace=False)] = False
    return left


def step_reference(state, t: float, p: InvasionParameters) -> dict:
    """One IBM step of dt from ``state`` (an :class:`~.ibm.IBMState`, not modified) in the
    spec's order: perceive → demography → MM degradation and O2 emission → MDE production and
    O2 uptake → motion with MDE/O2 decay → ageing. Returns the new state's fields (dict)."""
    rng, dt, half, L = state.rng, p.dt, p.perception, p.L
    open_b = p.boundary == "open"
    d = state.cell_pos.shape[1]
    mm, mde, o2 = state.living_mm(), state.mde, state.o2
    # 1. perceive
    c_hat, grad = perceive_reference(state.cell_pos, mm, o2, p)
    # 2. demography
    age, ctype, comp, parent, dead = demography_reference(
        state.cell_age, state.cell_type, state.cell_comp, c_hat, p, rng
    )
    pos, grad = state.cell_pos[parent], grad[parent]
    # 3. O2 emission by every MM particle (ν M_MM/M_O2 per day), MM degradation at rate η m̂
    emitted = rng.poisson(p.nu * p.M_MM / p.M_O2 * dt, mm.shape[0])
    new_o2 = np.repeat(mm, emitted, axis=0)
    m_hat = p.M_MDE * window_count(mm, mde, half) / (2 * half) ** d
    degraded = rng.random(mm.shape[0]) < event_probability(p.eta * m_hat, dt)
    # 4. MDE production and O2 uptake by every cell (rates scale with w_i M_cell)
    w = p.w[ctype]
    new_mde = np.repeat(pos, rng.poisson(p.kappa * w * p.M_cell / p.M_MDE * dt), axis=0)
    wanted = rng.poisson(p.omega * w * p.M_cell / p.M_O2 * dt)
    o2_left = uptake_reference(pos, wanted, o2, half, rng)
    # 5. motion: decay of the particles present at the step start, Brownian steps, drift
    bf = p.brownian_factor
    moved = {}
    for name, old, new, decay, diff in (
        ("mde", mde, new_mde, p.sigma_m, p.D_m),
        ("o2", o2[o2_left], new_o2, p.phi, p.D_o),
    ):
        survivors = old[rng.random(old.shape[0]) >= event_probability(decay, dt)]
        both = np.concatenate([survivors, new])
        step = math.sqrt(bf * diff * dt) * rng.standard_normal(both.shape)
        moved[name] = _walls(both + step, L, open_b)[0]
    prolif = comp == PROLIFERATING
    kick = p.rho * w[:, None] * grad * dt
    kick += np.sqrt(bf * p.D_n * w * dt)[:, None] * rng.standard_normal(pos.shape)
    pos = np.where(prolif[:, None], pos + kick, pos)
    pos, inside = _walls(pos, L, open_b)
    # 6. ageing
    age = age[inside] + dt
    counters = dict(state.counters)
    for name, value in (
        ("necrosis", dead.size),
        ("mm_degraded", int(degraded.sum())),
        ("o2_emitted", new_o2.shape[0]),
        ("o2_taken", int((~o2_left).sum())),
        ("mde_produced", new_mde.shape[0]),
        ("cells_left", int((~inside).sum())),
    ):
        counters[name] = counters.get(name, 0) + int(value)
    return {
        "cell_pos": pos,
        "cell_age": age,
        "cell_type": ctype[inside],
        "cell_comp": comp[inside],
        "mm": mm[~degraded],
        "mde": moved["mde"],
        "o2": moved["o2"],
        "rng": rng,
        "dead_pos": np.concatenate([state.dead_pos, state.cell_pos[dead]]),
        "dead_type": np.concatenate([state.dead_type, state.cell_type[dead]]),
        "dead_time": np.concatenate([state.dead_time, np.full(dead.size, t + dt)]),
        "steps": state.steps + 1,
        "counters": counters,
        "mm_start": None,
        "mm_alive": None,
    }
