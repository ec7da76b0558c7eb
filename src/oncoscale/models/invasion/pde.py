"""Age-structured continuum limit of the invasion model (spec §3): representation ``pde``.

Densities n_ip, n_iq (phenotypes 0..4, P/Q) on (x, age), x ∈ [0, L]^dim (dim 2 or 3), with MM,
MDE and O2 on the same grid; time and age in days, densities in mass/len^dim. Ageing along the
characteristics (age bins Δa = kΔt), kernels in :mod:`.pde_kernels`, memory guard
``max_state_gb``. Details: docs/invasion_pde.md, sections 'State and step' and 'Age bins wider
than Δt'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

import numba
import numpy as np

from oncoscale.errors import InputError
from oncoscale.models.base import MemoryEstimate, Representation, VariableInfo, state_class
from oncoscale.models.invasion import observables as obs
from oncoscale.models.invasion import pde_box, pde_motion
from oncoscale.models.invasion import pde_kernels as kern
from oncoscale.models.invasion.fields import FieldSolver, domain_grid
from oncoscale.models.invasion.initial import initial_age_profile, initial_fields
from oncoscale.models.invasion.params import (
    N_PHENOTYPES,
    InvasionParameters,
    division_rate,
    necrosis_rate,
    quiescence_probability,
    reactivation_rate,
)
from oncoscale.models.parameters import KernelChoice, ParameterSet, kernel_param, param
from oncoscale.numerics.grids import CartesianGrid
from oncoscale.numerics.thread_tuner import numba_threads

#: boxes with fewer cells run on one thread (results do not depend on the thread count)
PARALLEL_MIN_CELLS = 32_768


class InvasionPDENumerics(ParameterSet):
    """Numerical settings of the age-structured invasion PDE."""

    dim: int = param(2, "", "space dimension (2 or 3)", ge=2, le=3)
    dx: float | None = param(
        None, "len", "grid spacing (default: dx_2d or dx_3d of the parameters)", gt=0
    )
    dt: float | None = param(None, "day", "time step (default: dt in 2D, dt_pde_3d in 3D)", gt=0)
    da: float | None = param(
        None, "day", "age-bin width, an integer multiple of dt (default: dt, exact shift)", gt=0
    )
    kernel: KernelChoice = kernel_param("space-age update")
    max_state_gb: float = param(4.0, "GB", "largest allowed state (age-resolved densities)", gt=0)
    box: bool = param(
        True, "", "update the cells only inside the box where they are nonzero (numba kernel)"
    )
    flush: float = param(
        1e-30,
        "len-dim",
        "cell densities per age bin below this become 0 (numba kernel; 0: none)",
        ge=0,
    )
    threads: int | None = param(
        None, "", "threads of the compiled update and field transforms (default: all)", ge=1
    )


@state_class
@dataclass
class Ledger:
    """Cumulative masses per phenotype since t = 0 (mass = density integrated over space)."""

    daughters: np.ndarray = field(default_factory=lambda: np.zeros(N_PHENOTYPES))
    newborn: np.ndarray = field(default_factory=lambda: np.zeros(N_PHENOTYPES))
    dead: np.ndarray = field(default_factory=lambda: np.zeros(N_PHENOTYPES))

    def copy(self) -> Ledger:
        return Ledger(self.daughters.copy(), self.newborn.copy(), self.dead.copy())


@state_class
@dataclass
class InvasionPDEState:
    """Age-resolved densities (ring buffers, see :mod:`pde_kernels`) and fields.

    ``p``, ``q``: (phenotype, age bin, *space), density of each bin (mass/len^dim); age bin k
    is slot ``(head + k) % n_age``. ``p_old``, ``q_old``: the plus bins (phenotype, *space).
    ``necrotic``: cumulative dead density per phenotype. ``ledger``: cumulative masses of
    daughters (per parent phenotype), newborns (per phenotype after mutation) and deaths.
    ``box``: (2, 3) [lo; hi] cell indices (2D: axes (x, 1, y)) outside which every cell
    density is 0; ``live``: (phenotype, ring slot | plus bin), False where P and Q are 0
    everywhere (None: not known, computed from the densities).
    """

    p: np.ndarray
    q: np.ndarray
    p_old: np.ndarray
    q_old: np.ndarray
    head: int
    mm: np.ndarray
    mde: np.ndarray
    o2: np.ndarray
    necrotic: np.ndarray
    ledger: Ledger
    steps: int = 0
    box: np.ndarray | None = None
    live: np.ndarray | None = None

    def copy(self) -> InvasionPDEState:
        arrays = {
            k: getattr(self, k).copy()
            for k in ("p", "q", "p_old", "q_old", "mm", "mde", "o2", "necrotic")
        }
        box = None if self.box is None else self.box.copy()
        live = None if self.live is None else self.live.copy()
        return replace(self, **arrays, ledger=self.ledger.copy(), box=box, live=live)

    def p_by_age(self) -> np.ndarray:
        """Proliferating densities (phenotype, age bin, *space) in age order."""
        return kern.ring_to_age_order(self.p, self.head)

    def q_by_age(self) -> np.ndarray:
        """Quiescent densities (phenotype, age bin, *space) in age order."""
        return kern.ring_to_age_order(self.q, self.head)

    def cells_p(self) -> np.ndarray:
        """Proliferating density per phenotype summed over age (phenotype, *space)."""
        return self.p.sum(axis=1) + self.p_old

    def cells_q(self) -> np.ndarray:
        """Quiescent density per phenotype summed over age (phenotype, *space)."""
        return self.q.sum(axis=1) + self.q_old


class InvasionPDE(Representation):
    """Age-structured PDE of the invasion model, 2D or 3D (numerics ``dim``)."""

    family = "invasion"
    model = "pde"

    def __init__(self, params: InvasionParameters, numerics: dict[str, Any] | None = None):
        super().__init__(params, numerics)
        self.settings = InvasionPDENumerics.from_mapping(self.numerics, context="numerics of pde")
        s = self.settings
        self.dim = int(s.dim)
        self.dt = float(s.dt if s.dt is not None else params.pde_time_step(self.dim))
        da = self.dt if s.da is None else float(s.da)
        self.age_steps = round(da / self.dt)
        if self.age_steps < 1 or abs(self.age_steps * self.dt - da) > 1e-9 * da:
            raise InputError(
                f"invalid value for 'da': {da!r} day; allowed: an integer multiple of "
                f"dt = {self.dt} day (the age bins must move with the characteristics)"
            )
        self.da = self.age_steps * self.dt
        self.grid: CartesianGrid = domain_grid(params, self.dim, s.dx)
        g = self.grid.shape
        # kernel axes: 3D as is; 2D as (x, 1, y), so that the planes (x) run in parallel
        self.shape3 = g if self.dim == 3 else (g[0], 1, g[1])
        self.threads = min(s.threads or numba.config.NUMBA_NUM_THREADS,
                           numba.config.NUMBA_NUM_THREADS)  # fmt: skip
        self._n_steps = 0
        self._max_substeps = 1
        self._buffers: np.ndarray | None = None  # per-step work arrays, see _step_buffers
        self.parameters_changed()

    # ---- set-up ---------------------------------------------------------------------------
    def parameters_changed(self) -> None:
        p = self.params
        if p.a_max < p.pr_age_max:
            raise InputError(
                f"invalid value for 'a_max': {p.a_max!r} day; the PDE lumps ages beyond the "
                f"division window, allowed: a_max >= pr_age_max = {p.pr_age_max}"
            )
        k = self.age_steps
        # the plus bin receives cohorts from ((n_age − 1)k + 2)Δt on: one more bin when k > 1
        n_age = math.ceil(p.pr_age_max / self.da - 1e-9) + (1 if k > 1 else 0)
        if hasattr(self, "n_age") and n_age != self.n_age:
            raise InputError("pr_age_max cannot change during a run (it sets the age grid)")
        self.n_age = n_age
        self._check_memory()
        if not hasattr(self, "solver"):  # the first call (from __init__): nothing allocated yet
            self.require_memory()
        self.g_table = self._division_table(k, n_age)
        for c in (0.37, 2.9):
            g_c = self._division_table(k, n_age, c)
            if not np.allclose(g_c, c * self.g_table, rtol=1e-12, atol=0):
                raise InputError(
                    "the PDE kernel needs a division rate linear in oxygen, pr(a, c) = c pr(a, 1)"
                )
        self.plus_from = ((n_age - 1) * k + 2) * self.dt  # youngest mid-step age in the plus bin
        if np.any(division_rate(self.plus_from + np.linspace(0.0, 1.0, 11), 1.0, p)):
            raise InputError("the division rate must vanish beyond pr_age_max")
        with np.errstate(over="ignore"):  # refused just below
            self.diff = p.D_n * p.w
            self.rho = p.rho * p.w
        if not (np.all(np.isfinite(self.diff)) and np.all(np.isfinite(self.rho))):
            raise InputError(
                f"invalid values for 'D_n' = {p.D_n!r}, 'rho' = {p.rho!r} with phenotype factors "
                f"'w' = {list(p.w)}: the phenotypes' motility D_n w or haptotaxis rho w "
                "overflows; allowed: finite products"
            )
        self.solver = FieldSolver(
            self.grid, p, workers=self._threads_for(int(np.prod(self.grid.shape)))
        )

    def _division_table(self, k: int, n_age: int, c: float = 1.0) -> np.ndarray:
        """pr at the mid-step ages, averaged over the cohorts of each bin: table (k, n_age),
        row m − 1 for the m-th step after a shift (m = 1..k).

        Bin j ≥ 1 holds the cohorts born in k consecutive steps, r = 0..k − 1 steps apart:
        mid-step ages (jk + m − r)Δt. Bin 0 holds the m cohorts born since the shift: ages
        (m − r)Δt, r < m. With k = 1 this is pr((j + 1)Δt), the seed's scheme.
        """
        p, dt = self.params, self.dt
        m = np.arange(1, k + 1)[:, None, None]
        j = np.arange(n_age)[None, :, None]
        r = np.arange(k)[None, None, :]
        ages = (j * k + m - r) * dt
        present = (j > 0) | (r < m)
        rate = np.where(present, division_rate(np.maximum(ages, 0.0), c, p), 0.0)
        return rate.sum(axis=2) / present.sum(axis=2)

    def _phase(self, steps: int) -> int:
        """Row of the division table for the step with index ``steps`` (0-based): the
        initial bins are complete, so step 0 is the last of its cycle."""
        return (steps - 1) % self.age_steps

    def _shifts_after(self, steps: int) -> bool:
        """Whether the age bins shift at the end of step ``steps`` (every k-th step)."""
        return steps % self.age_steps == 0

    def _check_memory(self) -> None:
        cells = int(np.prod(self.grid.shape))
        gb = 2 * N_PHENOTYPES * (self.n_age + 1) * cells * 8 / 1e9
        if gb > self.settings.max_state_gb:
            raise InputError(
                f"the age-structured state needs {gb:.3g} GB (dim={self.dim}, "
                f"L={self.params.L:.4g}, dx={self.grid.spacing:.4g}, dt={self.dt:.4g}, "
                f"da={self.da:.4g}, {self.n_age} age bins x {cells} cells); allowed: "
                f"max_state_gb = {self.settings.max_state_gb} — use wider age bins 'da' (a "
                "multiple of dt), a coarser 'dx', a smaller domain 'L' or raise 'max_state_gb'"
            )

    memory_settings = "wider age bins (numerics.da, a multiple of dt), a coarser grid (numerics.dx)"

    def memory_estimate(self) -> MemoryEstimate:
        """In cell-sized float64 arrays (F = 5 phenotypes, A age bins): state p, q (2FA) and
        p_old, q_old, necrotic, mm, mde, o2 (3F + 3); a step's rates, births, deaths, totals,
        newborns, load and field update (7F + 12; the numpy reference also copies p and q three
        times); a snapshot is the six fields (3F + 3), the observables compute them again."""
        field_bytes = 8.0 * float(np.prod(self.grid.shape))
        n_ph, ages = N_PHENOTYPES, self.n_age
        age_resolved = 2 * n_ph * ages * field_bytes
        snapshot = (3 * n_ph + 3) * field_bytes
        work = (7 * n_ph + 12) * field_bytes + snapshot
        if self.settings.kernel == "numpy":
            work += 3 * age_resolved
        return MemoryEstimate(
            {
                "state": age_resolved + (3 * n_ph + 3) * field_bytes,
                "step work": work,
                "snapshot": snapshot,
            }
        )

    time_step_setting = "numerics.dt"

    @property
    def time_step(self) -> float:
        return self.dt

    def initial_state(self, rng: np.random.Generator | None = None) -> InvasionPDEState:
        p, g = self.params, self.grid
        init = initial_fields(g, p, truncate=True)
        cells = init["cells"]
        mass = float(g.integrate(cells))
        if mass > 0:
            cells = cells * (p.cell_mass0 / mass)  # the discrete mass is exactly cell_mass0
        centres = (np.arange(self.n_age) + 0.5) * self.da
        weights = np.zeros(self.n_age)
        if p.cell_age_max0 > 0:
            weights = np.asarray(initial_age_profile(centres, p), dtype=float)
        if not weights.sum() > 0:  # all initial ages inside the first bin
            weights[0] = 1.0
        weights = weights / weights.sum()
        shape = (N_PHENOTYPES, self.n_age, *g.shape)
        prolif = np.zeros(shape)
        prolif[0] = weights.reshape((-1,) + (1,) * self.dim) * cells
        zeros_ph = np.zeros((N_PHENOTYPES, *g.shape))
        state = InvasionPDEState(
            p=prolif,
            q=np.zeros(shape),
            p_old=zeros_ph.copy(),
            q_old=zeros_ph.copy(),
            head=0,
            mm=init["mm"].astype(float),
            mde=p.mde_fraction0 * cells,
            o2=init["o2"].astype(float),
            necrotic=zeros_ph.copy(),
            ledger=Ledger(),
        )
        state.box = self._support(state)
        return state

    def _support(self, s: InvasionPDEState) -> np.ndarray:
        """The box of the nonzero cell densities (the whole grid when ``box`` is off)."""
        if not self.settings.box:
            return pde_box.whole(self.shape3)
        return pde_box.of_nonzero(
            *(x.reshape(-1, *self.shape3) for x in (s.p, s.q, s.p_old, s.q_old))
        )

    # ---- time stepping --------------------------------------------------------------------
    def advance(self, state: InvasionPDEState, t0: float, t1: float) -> InvasionPDEState:
        n = round((t1 - t0) / self.dt)
        if n < 0 or abs(n * self.dt - (t1 - t0)) > 1e-6 * self.dt:
            raise InputError(
                f"the PDE advances in steps of dt = {self.dt} day; got an interval "
                f"{t1 - t0!r} that is not a multiple"
            )
        for _ in range(n):
            self.step(state)  # in place: the state may be gigabytes
        return state

    def _rates(self, c: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        p = self.params
        mu = np.asarray(necrosis_rate(c, p), dtype=float)
        tpq = np.asarray(quiescence_probability(c, p), dtype=float)
        tqp = np.asarray(reactivation_rate(c, p), dtype=float)
        return mu, tpq, tqp

    def step(self, s: InvasionPDEState) -> None:
        """One step Δt in place (demography → births and ageing → fields → motion)."""
        if self.settings.kernel == "numba":
            self._step_numba(s)
        else:
            self._step_numpy(s)
        s.steps += 1
        self._n_steps += 1

    def _bookkeep(self, s: InvasionPDEState, births, newborn_raw, dead_space) -> None:
        """Add the step's masses to the ledger and its dead density to ``necrotic``."""
        vol = self.grid.cell_volume
        axes = tuple(range(1, births.ndim))
        s.ledger.daughters += births.sum(axis=axes) * vol
        s.ledger.newborn += newborn_raw.sum(axis=axes) * vol
        s.ledger.dead += dead_space.sum(axis=axes) * vol
        s.necrotic += dead_space

    def _newborns(self, births: np.ndarray, mu: np.ndarray):
        nb, dead_nb = kern.newborns(births, self.params.t_m, mu, self.dt)
        return nb, dead_nb, nb + dead_nb

    def _threads_for(self, cells: int) -> int:
        """Threads for work on ``cells`` grid cells: one below :data:`PARALLEL_MIN_CELLS`
        (thread start-up would cost more than it saves; the result is the same)."""
        return self.threads if cells >= PARALLEL_MIN_CELLS else 1

    def _step_numba(self, s: InvasionPDEState) -> None:
        """Compiled step inside the support box (docs/invasion_pde.md, 'Support box and
        threads'): demography inside the box B of the step start, motion, births and ageing
        inside F = B grown by the motion's reach; the new box is the support after demography
        and births grown by that reach (⊆ F)."""
        dt, h, n_ph, n_age, shape3 = (
            self.dt,
            self.grid.spacing,
            N_PHENOTYPES,
            self.n_age,
            self.shape3,
        )
        flush = self.settings.flush
        p3 = s.p.reshape(n_ph, n_age, *shape3)
        q3 = s.q.reshape(n_ph, n_age, *shape3)
        p_old3 = s.p_old.reshape(n_ph, *shape3)
        q_old3 = s.q_old.reshape(n_ph, *shape3)
        mm3 = s.mm.reshape(shape3)
        with numba_threads(self._threads_for(mm3.size)):
            speed = float(pde_motion.max_face_gradients(mm3, h).sum())
        n_sub = self._substeps(s.mm, speed)
        box = self._support(s) if s.box is None or not self.settings.box else s.box
        frame = pde_box.grow(box, n_sub, shape3)
        sl = pde_box.slices(frame)
        region = (slice(None), *sl)
        local = pde_box.shape_of(frame)
        live = self._live(s)
        slot_of_age = (s.head + np.arange(n_age)) % n_age
        live_by_age = np.concatenate([live[:, slot_of_age], live[:, n_age:]], axis=1)
        with numba_threads(self._threads_for(int(np.prod(local)))):
            o2 = np.ascontiguousarray(s.o2.reshape(shape3)[sl])
            mu, tpq, tqp = self._rates(o2)
            births, dead, totals, nb, lost = self._step_buffers(local)
            grads = kern.step_cells(
                p3, q3, p_old3, q_old3, s.head, self.g_table[self._phase(s.steps)], o2, mu,
                tpq, tqp, dt, box, frame, flush, mm3, self.diff, self.rho, h, n_sub,
                live_by_age, births, dead, totals,
            )  # fmt: skip
            load_local = np.empty(local)
            extents = pde_box.new_extents(frame)
            necrotic = s.necrotic.reshape(n_ph, *shape3)
            sums = np.empty((local[0], 3, n_ph))
            kern.births_box(births, totals, dead, mu, self.params.t_m, self.params.w, dt, flush,
                            nb, lost, load_local, extents, necrotic, frame[0], sums)  # fmt: skip
            pde_motion.move_slabs(nb, np.ones(n_ph, dtype=np.bool_), self.diff, self.rho, *grads,
                                  dt, h, pde_box.whole(local), n_sub, flush)  # fmt: skip
        live[:, slot_of_age] = live_by_age[:, :n_age]
        live[:, n_age] = live_by_age[:, n_age]
        if self._shifts_after(s.steps):  # the oldest bin joins the plus bin, its slot: age 0
            oldest = int(slot_of_age[-1])
            p_old3[region] += p3[:, oldest][region]
            q_old3[region] += q3[:, oldest][region]
            q3[:, oldest][region] = 0.0
            p3[:, oldest][region] = nb
            live[:, n_age] |= live[:, oldest]
            live[:, oldest] = nb.reshape(n_ph, -1).any(axis=1)
            s.head = oldest
        else:  # the newborns join the cohorts of age bin 0
            p3[:, s.head][region] += nb
            live[:, s.head] |= nb.reshape(n_ph, -1).any(axis=1)
        s.live = live
        vol, born, lost_mass, died = self.grid.cell_volume, *sums.sum(axis=0)
        s.ledger.daughters += born * vol
        s.ledger.newborn += (nb.sum(axis=(1, 2, 3)) + lost_mass) * vol  # nb after its motion
        s.ledger.dead += died * vol
        s.box = frame
        if self.settings.box:
            s.box = pde_box.grow(pde_box.from_extents(extents, frame), n_sub, shape3)
        load = np.zeros(shape3)
        load[sl] = load_local
        s.mm, s.mde, s.o2 = self.solver.step(s.mm, s.mde, s.o2, load.reshape(self.grid.shape), dt)

    def _step_buffers(self, local: tuple[int, int, int]) -> list[np.ndarray]:
        """Daughters, dead and totals (zeroed) and newborns, lost (to be written) of one step
        over a frame of shape ``local``, per phenotype: views of buffers kept for the run, so
        that a step does not fault fresh pages in (~0.2 s per step on the seed's 3D grid)."""
        size = N_PHENOTYPES * int(np.prod(local))
        if self._buffers is None:
            self._buffers = np.empty((5, N_PHENOTYPES * int(np.prod(self.shape3))))
        out = [buf[:size].reshape(N_PHENOTYPES, *local) for buf in self._buffers]
        for zeroed in out[:3]:
            zeroed.fill(0.0)
        return out

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the step buffers (work arrays, rebuilt on the next step)."""
        return {**self.__dict__, "_buffers": None}

    def _live(self, s: InvasionPDEState) -> np.ndarray:
        """Which (phenotype, ring slot | plus bin) may hold P or Q (a copy)."""
        if s.live is not None:
            return s.live.copy()
        live = np.zeros((N_PHENOTYPES, self.n_age + 1), dtype=bool)
        for i in range(N_PHENOTYPES):  # slab by slab: no state-sized temporaries
            for k in range(self.n_age):
                live[i, k] = bool(np.any(s.p[i, k]) or np.any(s.q[i, k]))
            live[i, -1] = bool(np.any(s.p_old[i]) or np.any(s.q_old[i]))
        return live

    def _step_numpy(self, s: InvasionPDEState) -> None:
        if s.head != 0:
            s.p, s.q = s.p_by_age(), s.q_by_age()
            s.head = 0
        mu, tpq, tqp = self._rates(s.o2)
        p, q, p_old, q_old, births, dead = kern.demography_reference(
            s.p,
            s.q,
            s.p_old,
            s.q_old,
            self.g_table[self._phase(s.steps)],
            s.o2,
            mu,
            tpq,
            tqp,
            self.dt,
        )
        nb, dead_nb, raw = self._newborns(births, mu)
        if self._shifts_after(s.steps):
            s.p, s.p_old = kern.age_shift_reference(p, p_old, nb)
            s.q, s.q_old = kern.age_shift_reference(q, q_old, np.zeros_like(nb))
        else:
            p[:, 0] += nb
            s.p, s.p_old, s.q, s.q_old = p, p_old, q, q_old
        self._bookkeep(s, births, raw, dead + dead_nb)
        self._fields_and_motion(s, s.cells_p() + s.cells_q())
        s.box = pde_box.whole(self.shape3)  # no flush: every cell may be nonzero
        s.live = None

    def _substeps(self, mm: np.ndarray, speed: float | None = None) -> int:
        n_sub = pde_motion.motion_substeps(mm, self.diff, self.rho, self.dt, self.grid, speed)
        self._max_substeps = max(self._max_substeps, n_sub)
        return n_sub

    def _fields_and_motion(self, s: InvasionPDEState, cells: np.ndarray) -> None:
        """Field step with the load of ``cells`` (P + Q per phenotype), then motion with the
        MM of the step start (reference path)."""
        mm_start = s.mm
        load = np.tensordot(self.params.w, cells, axes=(0, 0))
        s.mm, s.mde, s.o2 = self.solver.step(s.mm, s.mde, s.o2, load, self.dt)
        n_sub = self._substeps(mm_start)
        s.p = pde_motion.motion_reference(
            s.p, mm_start, self.diff, self.rho, self.dt, self.grid, n_sub
        )
        s.p_old = pde_motion.motion_reference(
            s.p_old[:, None], mm_start, self.diff, self.rho, self.dt, self.grid, n_sub
        )[:, 0]

    # ---- outputs --------------------------------------------------------------------------
    def fields(self, state: InvasionPDEState) -> dict[str, np.ndarray]:
        return {
            "cells_p": state.cells_p(),
            "cells_q": state.cells_q(),
            "cells_necrotic": state.necrotic.copy(),
            "mm": state.mm.copy(),
            "mde": state.mde.copy(),
            "o2": state.o2.copy(),
        }

    @property
    def field_dims(self) -> dict[str, tuple[str, ...]]:
        dims = obs.field_dims(self.dim)
        dims["cells_necrotic"] = dims["cells_p"]
        return dims

    def coords(self) -> dict[str, np.ndarray]:
        return obs.coords(self.grid)

    def observables(self, state: InvasionPDEState) -> dict[str, float]:
        """The IBM's observables (:func:`observables.field_observables`), necrotic masses, and
        cell-count equivalents n_* = mass/M_cell (the IBM's counts)."""
        p = self.params
        out = obs.field_observables(self.fields(state), self.grid, p)
        necrotic = self.grid.integrate(state.necrotic)
        for i in range(N_PHENOTYPES):
            out[f"mass_necrotic{i}"] = float(necrotic[i])
        out["mass_necrotic"] = float(necrotic.sum())
        for comp in ("p", "q", "necrotic"):
            for i in range(N_PHENOTYPES):
                out[f"n_{comp}{i}"] = out[f"mass_{comp}{i}"] / p.M_cell
            out[f"n_{comp}"] = out[f"mass_{comp}"] / p.M_cell
        out["o2_min"] = float(np.min(state.o2))
        return out

    def variable_info(self) -> dict[str, VariableInfo]:
        info = {**obs.FIELD_INFO, **obs.observable_info()}
        info["cells_necrotic"] = VariableInfo(
            "1", "cumulative necrotic cell density", "model mass per length^d"
        )
        words = {"p": "proliferating", "q": "quiescent", "necrotic": "necrotic (cumulative)"}
        for comp, word in words.items():
            for i in range(N_PHENOTYPES):
                info[f"n_{comp}{i}"] = VariableInfo(
                    "1", f"{word} cells of phenotype {i} (mass / M_cell)"
                )
                if comp == "necrotic":
                    info[f"mass_necrotic{i}"] = VariableInfo(
                        "1", f"{word} cells, type {i}", "model mass unit"
                    )
            info[f"n_{comp}"] = VariableInfo("1", f"{word} cells (mass / M_cell)")
        info["mass_necrotic"] = VariableInfo("1", "necrotic cells (cumulative)", "model mass unit")
        info["o2_min"] = VariableInfo("1", "minimum oxygen density", "model mass per length^d")
        return info

    def solver_stats(self) -> dict[str, float]:
        return {"steps": float(self._n_steps), "max_motion_substeps": float(self._max_substeps)}

    def describe_numerics(self) -> dict[str, Any]:
        return {
            "dim": self.dim,
            "dx": self.grid.spacing,
            "dt": self.dt,
            "age_bins": self.n_age,
            "age_bin_width": self.da,
            "age_plus_from": self.n_age * self.da,
            "kernel": self.settings.kernel,
        }
