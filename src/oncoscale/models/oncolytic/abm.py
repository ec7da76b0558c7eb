"""Stochastic lattice agent-based model of the oncolytic system (spec oncolytic.md §4).

Integer counts U, I, Z and the chemoattractant φ on the sites of [−L, L]² (the 2D PDE's cell
centres); reported as densities (counts/δ²) and cell counts. Kernels ``numba`` (default,
:mod:`.abm_kernels`) or ``numpy`` (:mod:`.abm_reference`). Lattice, initial data and random
streams: docs/abm.md, sections 'Model' and 'Random numbers and reproducibility'.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from oncoscale.errors import InputError
from oncoscale.models.base import MemoryEstimate, Representation, VariableInfo, state_class
from oncoscale.models.oncolytic import abm_kernels as kern
from oncoscale.models.oncolytic import observables as obs
from oncoscale.models.oncolytic.abm_reference import step_reference
from oncoscale.models.oncolytic.params import OncolyticParameters, abm_coefficients
from oncoscale.models.oncolytic.reactions import injection_fraction
from oncoscale.models.parameters import KernelChoice, ParameterSet, kernel_param
from oncoscale.numerics.grids import CartesianGrid
from oncoscale.numerics.sampling import key_from_generator
from oncoscale.numerics.thread_tuner import ThreadTuner, numba_threads

FIELDS = ("u", "i", "z", "phi")
_FIXED = ("tau", "delta", "L")  # define the lattice and the clock: fixed during a run
#: lattices with fewer rows run on one thread: the per-step synchronisation of the threads
#: would cost more than the rows' work (the numbers are the same either way)
PARALLEL_ROWS = 128


class ABMNumerics(ParameterSet):
    """Numerical settings of the lattice ABM (τ and δ are model parameters)."""

    kernel: KernelChoice = kernel_param("step implementation")


@state_class
@dataclass
class ABMState:
    """Counts (3, n, n) int32 = U, I, Z per site; φ (n, n) in µg/mm²; the kernel's 256-bit
    stream key; the run's Generator (the NumPy reference draws from it); the number of steps
    taken (the kernel's step counter: with the key it fixes every random number)."""

    counts: np.ndarray
    phi: np.ndarray
    key: np.ndarray
    rng: np.random.Generator
    steps: int = 0

    def copy(self) -> ABMState:
        """A deep copy (the Generator included)."""
        return ABMState(
            self.counts.copy(),
            self.phi.copy(),
            self.key.copy(),
            copy.deepcopy(self.rng),
            self.steps,
        )


#: sites per lattice axis beyond which L/delta is refused before anything is allocated (1e12
#: sites would need ~50 TB; the memory check refuses what is between)
MAX_SITES_PER_AXIS = 1e6


class OncolyticABM(Representation):
    """2D lattice ABM; one step of length τ updates all cells of a site together."""

    family = "oncolytic"
    model = "abm"
    stochastic = True
    memory_settings = "a coarser lattice (parameter delta) or a smaller domain (parameter L)"

    def __init__(self, params: OncolyticParameters, numerics: dict[str, Any] | None = None):
        super().__init__(params, numerics)
        self.settings = ABMNumerics.from_mapping(self.numerics, context="numerics of abm")
        per_axis = 2.0 * params.L / params.delta + 1.0
        if not per_axis <= MAX_SITES_PER_AXIS:
            raise InputError(
                f"invalid values for 'L' = {params.L!r} mm and 'delta' = {params.delta!r} mm: "
                f"the lattice would have {per_axis:.3g} sites per axis (2L/delta + 1); allowed: "
                f"at most {MAX_SITES_PER_AXIS:g}"
            )
        self.grid = CartesianGrid.node_centred(-params.L, params.L, params.delta, 2, name="delta")
        self.require_memory()  # the grid is only its shape so far
        self._fixed = {name: getattr(params, name) for name in _FIXED}
        self._geometry = obs.geometry_2d(self.grid, params.L)
        self._steps = 0
        self._tuner = ThreadTuner()
        self.parameters_changed()

    def _threads_for(self, steps: int):
        """One thread on small lattices (the per-step synchronisation would cost more than the
        rows' work); otherwise 1 or numba's limit, whichever measures faster right now (the
        numbers are the same either way)."""
        if self.grid.shape[0] < PARALLEL_ROWS:
            return numba_threads(1)
        return self._tuner.threads_for(steps)

    # ---- derived data -------------------------------------------------------------------
    def parameters_changed(self) -> None:
        p = self.params
        for name, value in self._fixed.items():
            if getattr(p, name) != value:
                raise InputError(
                    f"parameter '{name}' of the ABM cannot change during a run "
                    f"({value!r} -> {getattr(p, name)!r}); it defines the lattice or the step"
                )
        self._check_static(p)
        self.coeffs = kern.pack_coefficients(p)
        self.move_cdf = kern.move_table(self.coeffs)
        self.omega_mask = self.grid.radius() <= p.inflow_radius + 1e-12
        self.omega = np.flatnonzero(self.omega_mask).astype(np.int64)

    @staticmethod
    def _check_static(p: OncolyticParameters) -> None:
        """Probabilities that do not depend on the state must lie in [0, 1]."""
        abm_coefficients(p)  # θ, θ_z <= 1
        checks = (
            ("q", p.tau * p.q, "tau*q"),
            ("q_z", p.tau * p.q_z, "tau*q_z"),
            ("D_phi", p.tau * (4 * p.D_phi / p.delta**2 + p.q_phi), "tau*(4*D_phi/delta^2+q_phi)"),
        )
        for name, value, expr in checks:
            if value > 1.0:
                raise InputError(
                    f"invalid ABM settings: {expr} = {value:.4g} exceeds 1 ({name} = "
                    f"{getattr(p, name)!r}, tau = {p.tau!r}, delta = {p.delta!r}); "
                    f"allowed: {expr} <= 1 (reduce tau)"
                )

    def memory_estimate(self) -> MemoryEstimate:
        """Bytes per site: state U, I, Z int32 + φ (20); a step's buffers (φ pair 16, count
        updates 12, site order 4); radius and inflow mask (9, kept); a snapshot (or the
        observables' fields) is the four fields as float64 (32)."""
        sites = float(np.prod(self.grid.shape))
        return MemoryEstimate(
            {
                "state": 20 * sites,
                "step work": 32 * sites,
                "operators": 9 * sites,
                "snapshot": 32 * sites,
            }
        )

    # ---- time and state -----------------------------------------------------------------
    time_step_setting = "tau"

    @property
    def time_step(self) -> float:
        return self.params.tau

    def _disc(self, radius: float) -> np.ndarray:
        if radius <= 0:
            return np.zeros(self.grid.shape, dtype=bool)
        return self.grid.radius() <= radius + 1e-9

    def initial_state(self, rng: np.random.Generator | None = None) -> ABMState:
        """Initial lattice; ``rng`` (default: fresh OS entropy) seeds the run's streams."""
        p = self.params
        rng = rng if rng is not None else np.random.default_rng()
        cap = p.K * p.delta**2
        counts = np.zeros((3, *self.grid.shape), dtype=np.int32)
        counts[0][self._disc(p.R_u)] = round(p.u0_fraction * cap)
        counts[1][self._disc(p.R_i)] = round(p.i0_fraction * cap)
        phi = np.zeros(self.grid.shape)
        return ABMState(counts, phi, key_from_generator(rng), rng)

    def steps_between(self, t0: float, t1: float) -> int:
        """Number of steps τ in [t0, t1] (InputError if not a whole number)."""
        n = (t1 - t0) / self.params.tau
        if abs(n - round(n)) > 1e-6 * max(1.0, abs(n)) or n < 0:
            raise InputError(
                f"cannot advance the ABM from {t0:g} h to {t1:g} h: not a whole number of "
                f"steps tau = {self.params.tau:g} h"
            )
        return round(n)

    def advance(self, state: ABMState, t0: float, t1: float) -> ABMState:
        n = self.steps_between(t0, t1)
        new = state  # advanced in place
        U, I, Z = new.counts
        if self.settings.kernel == "numba":
            with self._threads_for(n):
                status, done, site, value = kern.run_steps(
                    U,
                    I,
                    Z,
                    new.phi,
                    np.empty((1, *new.phi.shape)),
                    np.zeros_like(new.counts),
                    np.empty_like(U),
                    self.omega,
                    np.empty_like(self.omega),
                    self.coeffs,
                    self.move_cdf,
                    new.key,
                    new.steps,
                    n,
                )
        else:
            status, done, site, value = kern.OK, n, -1, 0.0
            for k in range(n):
                status, site, value = step_reference(
                    U, I, Z, new.phi, self.coeffs, self.omega_mask, new.rng
                )
                if status != kern.OK:
                    done = k
                    break
        self._steps += done
        if status != kern.OK:
            self._raise_probability_error(status, site, value, t0 + done * self.params.tau)
        new.steps += n
        return new

    def _raise_probability_error(self, status: int, site: int, value: float, t: float) -> None:
        p = self.params
        m = abm_coefficients(p)
        if status == kern.MOVE_PROBABILITY:
            ix, iy = np.unravel_index(site, self.grid.shape)
            x, y = self.grid.axis(0)[ix], self.grid.axis(1)[iy]
            raise InputError(
                f"ABM move probabilities exceed 1 at t = {t:g} h, site (x, y) = ({x:g}, {y:g}) "
                f"mm: theta_z + nu*sum_k (phi_k - phi_j)+/(4*phi_star) = {value:.4g} with "
                f"theta_z = 4*tau*D_z/delta^2 = {m.theta_z:.4g} and nu = 4*tau*chi*phi_star/"
                f"delta^2 = {m.nu:.4g} (chi = {p.chi!r}, D_z = {p.D_z!r}, tau = {p.tau!r}, "
                f"delta = {p.delta!r}; the differences of phi grow with its secretion "
                f"alpha_phi = {p.alpha_phi!r}, gamma_phi = {p.gamma_phi!r} and shrink with its "
                f"diffusion D_phi = {p.D_phi!r}); allowed: <= 1 at every site (reduce tau or chi, "
                "or the secretion)"
            )
        raise InputError(
            f"ABM immune inflow probability tau*delta^2*(S0 + alpha_z*sum I) = {value:.4g} "
            f"exceeds 1 at t = {t:g} h (S0 = {p.S0!r}, alpha_z = {p.alpha_z!r}, "
            f"tau = {p.tau!r}, delta = {p.delta!r}); allowed: <= 1 (reduce tau)"
        )

    # ---- outputs ------------------------------------------------------------------------
    def fields(self, state: ABMState) -> dict[str, np.ndarray]:
        area = self.params.delta**2
        u, i, z = state.counts / area  # one pass over the three count arrays
        return {"u": u, "i": i, "z": z, "phi": state.phi}

    @property
    def field_dims(self) -> dict[str, tuple[str, ...]]:
        return dict.fromkeys(FIELDS, ("x", "y"))

    def coords(self) -> dict[str, np.ndarray]:
        return {"x": self.grid.axis(0), "y": self.grid.axis(1)}

    def observables(self, state: ABMState) -> dict[str, float]:
        f = self.fields(state)
        return obs.observables(f["u"], f["i"], f["z"], f["phi"], self._geometry, self.params)

    def variable_info(self) -> dict[str, VariableInfo]:
        counts = {  # whole cells on the lattice: integers
            k: replace(obs.OBSERVABLE_INFO[k], integer=True)
            for k in ("total_u", "total_i", "total_z", "total_tumour")
        }
        return {
            **obs.FIELD_INFO,
            **obs.OBSERVABLE_INFO,
            **counts,
            "x": VariableInfo("mm", "x position"),
            "y": VariableInfo("mm", "y position"),
        }

    def solver_stats(self) -> dict[str, float]:
        return {"steps": float(self._steps)}

    def describe_numerics(self) -> dict[str, Any]:
        m = abm_coefficients(self.params)
        return {
            **self.settings.model_dump(),
            "lattice": list(self.grid.shape),
            "D_tilde": m.D_tilde,
            "theta": m.theta,
            "theta_z": m.theta_z,
            "nu": m.nu,
            "stream": "counter-based: xoshiro256** per (key, step, row, phase), key from the "
            "run's Generator"
            if self.settings.kernel == "numba"
            else "numpy Generator",
        }

    # ---- protocol -----------------------------------------------------------------------
    def apply_action(self, state: ABMState, action: str, options: dict[str, Any]):
        """``inject``: at every site floor(fraction·U) uninfected cells become infected."""
        if action != "inject":
            return super().apply_action(state, action, options)
        fraction = injection_fraction(options)
        moved = np.floor(fraction * state.counts[0]).astype(np.int32)
        state.counts[0] -= moved
        state.counts[1] += moved
        return {"fraction": fraction, "cells_infected": int(moved.sum())}
