"""Off-lattice individual-based model of tumour invasion (seed 004, spec §2), 2D and 3D.

Particles: tumour cells (position, age, phenotype 0..4, compartment), MM, MDE and O2; time in
days, lengths in ``len``. One step of dt in the spec's order, O(number of particles) through
cell lists (:mod:`oncoscale.numerics.particles`); ``numerics.kernel = "numpy"`` runs the
independent NumPy reference :mod:`.ibm_reference` instead. The step and its choices:
docs/invasion_ibm.md, section 'The step'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from oncoscale.errors import InputError
from oncoscale.memory import require_memory
from oncoscale.models.base import MemoryEstimate, Representation, VariableInfo, state_class
from oncoscale.models.invasion import ibm_kernels as K
from oncoscale.models.invasion import initial
from oncoscale.models.invasion import observables as obs
from oncoscale.models.invasion.ibm_reference import step_reference
from oncoscale.models.invasion.params import (
    PROLIFERATING,
    QUIESCENT,
    InvasionParameters,
)
from oncoscale.models.parameters import KernelChoice, ParameterSet, kernel_param, param
from oncoscale.numerics.particles import (
    CellList,
    build_cell_list,
    compact_cell_list,
    sorted_cell_list,
    window_counts,
)

#: dead MM slots are compacted away once they exceed this fraction of the MM array
COMPACT_FRACTION = 0.02
#: the compiled kernels of one step (``numerics.kernel = "numpy"`` runs ibm_reference instead)
KERNELS = ("demography", "degrade_matrix", "emit_from", "produce_at", "uptake", "brownian",
           "move_cells")  # fmt: skip


class IBMNumerics(ParameterSet):
    """Numerical settings of the invasion IBM."""

    dim: int = param(2, "", "space dimension (2 or 3)", ge=2, le=3)
    dx: float | None = param(
        None, "len", "spacing of the grid the particles are binned on (default: the PDE's)", gt=0
    )
    kernel: KernelChoice = kernel_param("step ('numpy': the independent reference, ibm_reference)")


@state_class
@dataclass
class IBMState:
    """All particles, the time step counter and the random stream (picklable)."""

    cell_pos: np.ndarray  # (n, d)
    cell_age: np.ndarray  # (n,) day
    cell_type: np.ndarray  # (n,) int8 phenotype 0..4
    cell_comp: np.ndarray  # (n,) int8 PROLIFERATING / QUIESCENT
    mm: np.ndarray  # (n_mm, d), sorted by perception bin when mm_start is set
    mde: np.ndarray  # (n_mde, d)
    o2: np.ndarray  # (n_o2, d)
    rng: np.random.Generator
    dead_pos: np.ndarray  # (n_dead, d) necrotic cells (no longer in the dynamics)
    dead_type: np.ndarray  # (n_dead,) int8
    dead_time: np.ndarray  # (n_dead,) day of death
    steps: int = 0
    counters: dict[str, int] = field(default_factory=dict)
    mm_start: np.ndarray | None = None  # bin starts of the sorted MM (immobile: kept sorted)
    mm_alive: np.ndarray | None = None  # living MM slots (dead slots are compacted lazily)

    def living_mm(self) -> np.ndarray:
        """Positions of the living MM particles."""
        return self.mm if self.mm_alive is None else self.mm[self.mm_alive]


@dataclass(frozen=True)
class Perception:
    """What each cell perceives at the start of a step."""

    o2: np.ndarray  # (n,) perceived oxygen density ĉ
    mm: np.ndarray  # (n,) perceived MM density f̂
    grad_mm: np.ndarray  # (n, d) perceived MM gradient ∇f̂


def perceive(
    cell_pos: np.ndarray,
    mm_list: CellList,
    o2_list: CellList,
    p: InvasionParameters,
    mm_alive: np.ndarray | None = None,
) -> Perception:
    """Window densities M·F/(2Δ)^d and gradients M·(F₊ − F₋)/((2Δ)^{d−1}Δ²) (spec §2);
    ``mm_alive`` (sorted order) masks dead MM slots."""
    half = p.perception
    d = cell_pos.shape[1]
    volume = (2 * half) ** d
    n_o2, _ = window_counts(cell_pos, o2_list, half)
    if mm_alive is None:
        n_mm, diff_mm = window_counts(cell_pos, mm_list, half)
    else:
        n_mm, diff_mm = window_counts(cell_pos, mm_list, half, mask=mm_alive)
    grad_norm = (2 * half) ** (d - 1) * half**2
    return Perception(p.M_O2 * n_o2 / volume, p.M_MM * n_mm / volume, p.M_MM * diff_mm / grad_norm)


class InvasionIBM(Representation):
    """The spec §2 IBM: stochastic, fixed step dt, dim 2 or 3 (``numerics.dim``)."""

    family = "invasion"
    model = "ibm"
    stochastic = True

    def __init__(self, params: InvasionParameters, numerics: dict[str, Any] | None = None):
        super().__init__(params, numerics)
        self.settings = IBMNumerics.from_mapping(self.numerics, context="numerics of ibm")
        self.dim = int(self.settings.dim)
        self.grid = obs.grid_for(params, self.dim, self.settings.dx)
        self.require_memory()  # the grid is only its shape so far
        self._kernels = {n: getattr(K, n) for n in KERNELS}
        self._steps = 0
        self.parameters_changed()

    memory_settings = (
        "heavier particles (parameters M_MM, M_O2, M_MDE, M_cell), a smaller domain (L) or a "
        "coarser output grid (numerics.dx)"
    )

    def memory_estimate(self) -> MemoryEstimate:
        """From the initial particle counts (MM at its peak density everywhere, an upper
        bound; O2 at o2_equilibrium_ratio of it; MDE mde_fraction0 of the cell mass): float64
        positions (8d bytes per particle) and a living-MM flag. Set-up: the stratified
        sampling's strata (about one per particle), counts, corners and jitter, 16(d + 1)
        bytes per particle. A step sorts O2 and MDE into cell lists (bin, order, sorted copy)
        and moves them into new arrays; the first step also sorts the MM (bin, order, sorted
        copy: 8d + 16 bytes each), a later compaction copies the living ones. A snapshot is
        the five binned fields, the cells and the binning's index arrays (``BIN_CHUNK``
        particles at a time). The cells grow with the tumour during a run (about 8d + 10
        bytes each), which this does not foresee. Checked against the measured peak in 2D
        (tests/reliability/test_memory.py)."""
        p, d = self.params, self.dim
        volume = p.L**d
        n_mm = initial.mm_density_max(p, d) * volume / p.M_MM
        n_o2 = p.o2_equilibrium_ratio * n_mm * p.M_MM / p.M_O2
        n_mde = p.mde_fraction0 * p.cell_mass0 / p.M_MDE
        cells = max(1.0, p.cell_mass0 / p.M_cell) * (8 * d + 10)  # n_cells0, as a float
        pos = 8 * d
        grid_fields = 5 * 8 * float(np.prod(self.grid.shape))
        binning = obs.BIN_CHUNK * (3 * pos + 8)
        return MemoryEstimate(
            {
                "state": n_mm * (pos + 1) + (n_o2 + n_mde) * pos + cells,
                "set-up": 16 * (d + 1) * (n_mm + n_o2 + n_mde),
                "step work": (n_o2 + n_mde) * (2 * pos + 17) + (pos + 18) * n_mm + grid_fields,
                "snapshot": grid_fields + cells + binning,
            }
        )

    # ---- parameters ------------------------------------------------------------------------
    def parameters_changed(self) -> None:
        self.rc = K.rate_constants(self.params)

    time_step_setting = "dt"

    @property
    def time_step(self) -> float:
        return self.params.dt

    # ---- state -------------------------------------------------------------------------------
    def initial_state(self, rng: np.random.Generator | None = None) -> IBMState:
        if rng is None:
            raise InputError("the invasion IBM is stochastic: it needs a random generator (seed)")
        p, d = self.params, self.dim
        cells = initial.sample_cells(rng, p, d)
        species = initial.sample_fields(rng, p, d)
        return IBMState(
            cell_pos=cells["pos"],
            cell_age=cells["age"],
            cell_type=cells["phenotype"],
            cell_comp=cells["compartment"],
            mm=species["mm"],
            mde=species["mde"],
            o2=species["o2"],
            rng=rng,
            dead_pos=np.empty((0, d)),
            dead_type=np.empty(0, dtype=np.int8),
            dead_time=np.empty(0),
        )

    def advance(self, state: IBMState, t0: float, t1: float) -> IBMState:
        n = round((t1 - t0) / self.params.dt)
        if abs(n * self.params.dt - (t1 - t0)) > 1e-6 * self.params.dt:
            raise InputError(
                f"the IBM advances in steps of dt = {self.params.dt} day; got an interval "
                f"{t1 - t0!r} that is not a multiple of it"
            )
        for k in range(n):
            state = self.step(state, t0 + k * self.params.dt)
        return state

    def step(self, s: IBMState, t: float) -> IBMState:
        """One step of dt (spec §2 order); returns the new state (``s`` is not modified)."""
        self._steps += 1
        self._check_production(s)
        if self.settings.kernel == "numpy":
            return IBMState(**step_reference(s, t, self.params))
        p, kr = self.params, self._kernels
        dt, half, L = p.dt, p.perception, p.L
        d = self.dim
        open_b = p.boundary == "open"
        rng = s.rng
        volume = (2 * half) ** d
        # 1. perceive (state at step start)
        if s.mm_start is None:
            mm_list = build_cell_list(s.mm, 0.0, L, half)
        else:
            mm_list = sorted_cell_list(s.mm, s.mm_start, 0.0, L, half)
        mm_alive = np.ones(s.mm.shape[0], dtype=bool) if s.mm_alive is None else s.mm_alive.copy()
        o2_list = build_cell_list(s.o2, 0.0, L, half)
        mde_list = build_cell_list(s.mde, 0.0, L, half)
        seen = perceive(s.cell_pos, mm_list, o2_list, p, s.mm_alive)
        # 2. demography
        age, ctype, comp, parent, dead = kr["demography"](
            s.cell_age, s.cell_type, s.cell_comp, seen.o2, self.rc, dt, 5, rng
        )
        pos = s.cell_pos[parent]
        grad = seen.grad_mm[parent]
        dead_pos = np.concatenate([s.dead_pos, s.cell_pos[dead]])
        dead_type = np.concatenate([s.dead_type, s.cell_type[dead]])
        dead_time = np.concatenate([s.dead_time, np.full(dead.size, t + dt)])
        # 3. MM degradation (rate η m̂) and O2 emission (rate ν M_MM/M_O2 per MM particle)
        n_mm_alive = int(np.count_nonzero(mm_alive))
        new_o2 = kr["emit_from"](
            mm_list.sorted_pos, mm_alive, n_mm_alive, p.nu * p.M_MM / p.M_O2, dt, rng
        )
        degraded = kr["degrade_matrix"](
            mm_list.sorted_pos, mm_alive, mm_list.start, mde_list.sorted_pos, mde_list.start,
            mm_list.nbins, mm_list.offsets, half, p.eta * p.M_MDE / volume, dt, rng,
        )  # fmt: skip
        if n_mm_alive - degraded < (1.0 - COMPACT_FRACTION) * mm_alive.size:
            mm_list = compact_cell_list(mm_list, mm_alive)
            mm_alive = np.ones(mm_list.sorted_pos.shape[0], dtype=bool)
        # 4. MDE production by cells, O2 uptake by cells (decays happen in the motion pass)
        w = p.w[ctype]
        new_mde = kr["produce_at"](pos, p.kappa * w * p.M_cell / p.M_MDE, dt, rng)
        alive_o2 = np.ones(o2_list.sorted_pos.shape[0], dtype=bool)
        taken = kr["uptake"](
            pos, p.omega * w * p.M_cell / p.M_O2, o2_list.sorted_pos, o2_list.start, alive_o2,
            0.0, o2_list.width, o2_list.nbins, o2_list.offsets, half, dt, rng,
        )  # fmt: skip
        # 5. motion (with MDE and O2 decay of the particles present at step start)
        bf = p.brownian_factor
        mde = kr["brownian"](
            mde_list.sorted_pos, np.ones(mde_list.sorted_pos.shape[0], dtype=bool), new_mde,
            -math.expm1(-p.sigma_m * dt), math.sqrt(bf * p.D_m * dt), L, open_b, rng,
        )  # fmt: skip
        o2 = kr["brownian"](
            o2_list.sorted_pos, alive_o2, new_o2, -math.expm1(-p.phi * dt),
            math.sqrt(bf * p.D_o * dt), L, open_b, rng,
        )  # fmt: skip
        pos, inside = kr["move_cells"](
            pos, comp, w, grad, p.rho, math.sqrt(bf * p.D_n * dt), dt, L, open_b, rng
        )
        # 6. ageing
        age = age + dt
        if not inside.all():
            pos, age, ctype, comp = pos[inside], age[inside], ctype[inside], comp[inside]
        counters = dict(s.counters)
        for name, value in (
            ("necrosis", dead.size),
            ("mm_degraded", int(degraded)),
            ("o2_emitted", new_o2.shape[0]),
            ("o2_taken", int(taken)),
            ("mde_produced", new_mde.shape[0]),
            ("cells_left", int((~inside).sum())),
        ):
            counters[name] = counters.get(name, 0) + int(value)
        return IBMState(
            pos, age, ctype, comp, mm_list.sorted_pos, mde, o2, rng, dead_pos, dead_type,
            dead_time, s.steps + 1, counters, mm_list.start,
            None if mm_alive.all() else mm_alive,
        )  # fmt: skip

    def _check_production(self, s: IBMState) -> None:
        """Refuse (InputError, :func:`oncoscale.memory.require_memory`) a step whose expected
        new O2 and MDE particles alone would not fit in memory (positions, sorted and moved: 3
        copies of 8d bytes each): huge rates would otherwise overflow the Poisson draws or
        exhaust the memory mid-run."""
        p, d = self.params, self.dim
        n_mm = s.mm.shape[0] if s.mm_alive is None else int(np.count_nonzero(s.mm_alive))
        w_total = float(p.w[s.cell_type].sum()) if s.cell_type.size else 0.0
        expected = {
            "O2 (nu, M_MM, M_O2)": n_mm * p.nu * p.M_MM / p.M_O2 * p.dt,
            "MDE (kappa, w, M_cell, M_MDE)": w_total * p.kappa * p.M_cell / p.M_MDE * p.dt,
        }
        for species, count in expected.items():
            needed = 3 * 8 * d * count
            require_memory(
                MemoryEstimate({"new particles": needed if needed == needed else math.inf}),
                f"one step of dt = {p.dt} day, making about {count:.3g} new {species} particles,",
                "smaller rates or dt, or heavier particles",
            )

    # ---- outputs ---------------------------------------------------------------------------
    def fields(self, state: IBMState) -> dict[str, np.ndarray]:
        p, g = self.params, self.grid
        prolif = state.cell_comp == PROLIFERATING
        return {
            "cells_p": obs.bin_cells(state.cell_pos, state.cell_type, prolif, g, p.M_cell),
            "cells_q": obs.bin_cells(state.cell_pos, state.cell_type, ~prolif, g, p.M_cell),
            "mm": obs.bin_density(state.mm, g, p.M_MM, mask=state.mm_alive),
            "mde": obs.bin_density(state.mde, g, p.M_MDE),
            "o2": obs.bin_density(state.o2, g, p.M_O2),
        }

    @property
    def field_dims(self) -> dict[str, tuple[str, ...]]:
        return obs.field_dims(self.dim)

    def coords(self) -> dict[str, np.ndarray]:
        return obs.coords(self.grid)

    def observables(self, state: IBMState) -> dict[str, float]:
        p = self.params
        out = obs.field_observables(self.fields(state), self.grid, p)
        prolif = state.cell_comp == PROLIFERATING
        for i in range(5):
            out[f"n_p{i}"] = float(np.sum(prolif & (state.cell_type == i)))
            out[f"n_q{i}"] = float(np.sum(~prolif & (state.cell_type == i)))
            out[f"n_necrotic{i}"] = float(np.sum(state.dead_type == i))
        out["n_p"] = float(prolif.sum())
        out["n_q"] = float((~prolif).sum())
        out["n_necrotic"] = float(state.dead_type.size)
        out["mass_necrotic"] = p.M_cell * out["n_necrotic"]
        alive = state.mm_alive
        out["n_mm"] = float(state.mm.shape[0] if alive is None else np.count_nonzero(alive))
        out["n_mde"] = float(state.mde.shape[0])
        out["n_o2"] = float(state.o2.shape[0])
        return out

    def particles(self, state: IBMState) -> dict[str, np.ndarray]:
        """Living and necrotic cells: coordinates, phenotype, compartment (0 P, 1 Q, 2
        necrotic), age (necrotic: −time of death)."""
        pos = np.concatenate([state.cell_pos, state.dead_pos])
        out = {name: pos[:, a].copy() for a, name in enumerate(obs.space_dims(self.dim))}
        out["phenotype"] = np.concatenate([state.cell_type, state.dead_type]).astype(np.int8)
        out["compartment"] = np.concatenate(
            [state.cell_comp, np.full(state.dead_type.size, K.NECROTIC, dtype=np.int8)]
        )
        out["age"] = np.concatenate([state.cell_age, -state.dead_time])
        return out

    def variable_info(self) -> dict[str, VariableInfo]:
        info = {**obs.FIELD_INFO, **obs.observable_info()}
        for i in range(5):
            info[f"n_p{i}"] = VariableInfo(
                "1", f"proliferating cells of phenotype {i}", "cells", True
            )
            info[f"n_q{i}"] = VariableInfo("1", f"quiescent cells of phenotype {i}", "cells", True)
            info[f"n_necrotic{i}"] = VariableInfo(
                "1", f"necrotic cells of phenotype {i}", "cells", True
            )
        for name, text in (
            ("n_p", "proliferating cells"),
            ("n_q", "quiescent cells"),
            ("n_necrotic", "necrotic cells (cumulative)"),
            ("n_mm", "MM particles"),
            ("n_mde", "MDE particles"),
            ("n_o2", "O2 particles"),
        ):
            info[name] = VariableInfo(
                "1", text, "particles" if name[2:] in ("mm", "mde", "o2") else "cells", True
            )
        info["mass_necrotic"] = VariableInfo("1", "necrotic cells (cumulative)", "model mass unit")
        info["particle_age"] = VariableInfo(
            self.time_units, "cell age (necrotic cells: minus the time of death)", "day"
        )
        info["particle_phenotype"] = VariableInfo("1", "phenotype (0 wild type ... 4)")
        info["particle_compartment"] = VariableInfo(
            "1", "compartment (0 proliferating, 1 quiescent, 2 necrotic)"
        )
        return info

    def solver_stats(self) -> dict[str, float]:
        return {"steps": float(self._steps)}

    def describe_numerics(self) -> dict[str, Any]:
        out = {k: v for k, v in self.settings.model_dump().items() if v is not None}
        out["grid_dx"] = self.grid.spacing
        return out


__all__ = ["QUIESCENT", "IBMNumerics", "IBMState", "InvasionIBM", "Perception", "perceive"]
