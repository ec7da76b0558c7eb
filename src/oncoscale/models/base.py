"""The small interface every model representation exposes to the shared run loop.

A representation (an ODE, a PDE on some grid, an agent-based model, ...) is physics only: it
builds an initial state, advances a state from t0 to t1 (in place), and reports fields and
scalar observables. Time control, protocols (parameter changes, injections, triggers),
trackers, checkpoints and progress belong to :mod:`oncoscale.run`.

States are data: NumPy arrays, numbers, strings, ``None``, tuples/lists/dicts of these,
``numpy.random.Generator`` and dataclasses registered with :func:`state_class`
(:mod:`oncoscale.numerics.checkpointable`). Checkpoints
store exactly that (never pickle), so a stochastic representation keeps its Generator inside
the state and a resumed run continues the same stream.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from oncoscale.errors import InputError
from oncoscale.memory import MemoryEstimate, require_memory
from oncoscale.models.parameters import ParameterSet
from oncoscale.numerics.checkpointable import state_class

__all__ = [
    "HomogeneousRepresentation",
    "MemoryEstimate",
    "Representation",
    "VariableInfo",
    "state_class",
]

#: bytes of one float64 value
F8 = 8


@dataclass(frozen=True)
class VariableInfo:
    """Units and a human-readable name of a field, observable or coordinate.

    ``units`` is a UDUNITS string (CF result files): "mm-2", "ug/mm^2", "mm", "1" for counts
    and dimensionless quantities. ``label`` is how people write the unit where it differs
    (figure axes, reports): e.g. "cells/mm^2", or the model unit a dimensionless quantity is
    measured in ("n_ref"). ``integer``: a count, stored and reported as an integer.
    """

    units: str
    long_name: str
    label: str = ""
    integer: bool = False

    @property
    def display_units(self) -> str:
        """The unit as people write it."""
        return self.label or self.units


class Representation(ABC):
    """One representation of a model family, advanced by :func:`oncoscale.run.runner.run`."""

    family: ClassVar[str] = ""
    model: ClassVar[str] = ""  # e.g. "ode", "pde-radial", "pde-2d", "abm"
    stochastic: ClassVar[bool] = False
    #: the settings that make a run of this model smaller (named when it cannot fit in memory)
    memory_settings: ClassVar[str] = "a coarser grid (numerics.dx)"
    #: the setting that gives :attr:`time_step`, for messages (e.g. "tau", "numerics.dt")
    time_step_setting: ClassVar[str] = ""

    def __init__(self, params: ParameterSet, numerics: Mapping[str, Any] | None = None):
        self.params = params
        self.numerics: dict[str, Any] = dict(numerics or {})

    # ---- time ---------------------------------------------------------------------------
    @property
    def time_units(self) -> str:
        """UDUNITS unit of the family's time (e.g. "h", "day", "1")."""
        return type(self.params).time_units

    @property
    def time_label(self) -> str:
        """How the family's time unit is written for people (e.g. "h", "day", "1/r")."""
        return type(self.params).time_label

    @property
    def time_step(self) -> float | None:
        """Fixed internal step (in :attr:`time_units`) if the model only stops on multiples of
        it, else None."""
        return None

    # ---- state --------------------------------------------------------------------------
    @abstractmethod
    def initial_state(self, rng: np.random.Generator | None = None) -> Any:
        """The state at t = 0 (``rng`` is given to stochastic representations)."""

    @abstractmethod
    def advance(self, state: Any, t0: float, t1: float) -> Any:
        """Advance ``state`` from t0 to t1 (t1 > t0) and return the state at t1: the same object
        updated in place, or one that reuses its arrays (never a copy of the whole state).
        Callers use the returned state, not the old reference."""

    # ---- outputs ------------------------------------------------------------------------
    @abstractmethod
    def fields(self, state: Any) -> dict[str, np.ndarray]:
        """Spatial fields (densities) of the state, each with dims ``field_dims[name]``."""

    @property
    @abstractmethod
    def field_dims(self) -> dict[str, tuple[str, ...]]:
        """Dimension names of each field returned by :meth:`fields`."""

    @abstractmethod
    def coords(self) -> dict[str, np.ndarray]:
        """Coordinate values for every dimension used in :attr:`field_dims`."""

    @abstractmethod
    def observables(self, state: Any) -> dict[str, float]:
        """Scalar observables of the state (totals, front positions, centre values, ...)."""

    def variable_info(self) -> dict[str, VariableInfo]:
        """Units and long names of fields, observables and coordinates."""
        return {}

    def particles(self, state: Any) -> dict[str, np.ndarray] | None:
        """Per-particle arrays (same length) for snapshot recording, for particle models."""
        return None

    def solver_stats(self) -> dict[str, float]:
        """Counters of the numerical method since construction (steps, rejections, ...)."""
        return {}

    def describe_numerics(self) -> dict[str, Any]:
        """The numerical settings actually used, recorded in the result attrs."""
        return dict(self.numerics)

    # ---- memory ---------------------------------------------------------------------------
    def memory_estimate(self) -> MemoryEstimate:
        """Peak memory (bytes) of this model from its grid and settings alone, callable before
        the state exists: parts ``state``, ``step work`` (what one :meth:`advance` allocates
        on top), ``snapshot`` (one set of :meth:`fields` and particles as recorded, or as the
        observables compute them; never at the same time as the step work; the runner
        multiplies it by the snapshots a run keeps in memory), optionally ``set-up`` (what
        building the initial state allocates on top of it) and any others it keeps (e.g.
        ``operators``). Only the largest of set-up, step work and snapshot counts towards the
        peak (:meth:`~oncoscale.memory.MemoryEstimate.peak`).

        Default: every field of :attr:`field_dims` on the grid of :meth:`coords`, float64; the
        state and the snapshot one such set, the step work four. Representations override it
        with their own count (and call :meth:`require_memory` before they allocate)."""
        sizes = {name: len(values) for name, values in self.coords().items()}
        cells = sum(int(np.prod([sizes[d] for d in dims])) for dims in self.field_dims.values())
        one = float(F8 * max(cells, 1))
        return MemoryEstimate({"state": one, "step work": 4 * one, "snapshot": one})

    def require_memory(self) -> MemoryEstimate:
        """Refuse (InputError) a model whose :meth:`memory_estimate` exceeds the memory
        available (:func:`oncoscale.memory.require_memory`); return the estimate."""
        estimate = self.memory_estimate().peak()
        require_memory(estimate, f"the {self.family} {self.model} model", self.memory_settings)
        return estimate

    # ---- protocol hooks -------------------------------------------------------------------
    def set_parameter(self, name: str, value: Any) -> None:
        """Change one parameter (validated); representations cache derived data in
        :meth:`parameters_changed`."""
        self.params = self.params.updated(**{name: value})
        self.parameters_changed()

    def parameters_changed(self) -> None:  # noqa: B027 (optional hook)
        """Hook: recompute anything derived from :attr:`params`."""

    def apply_action(self, state: Any, action: str, options: Mapping[str, Any]) -> dict[str, Any]:
        """Apply an instantaneous intervention (e.g. an injection) to ``state`` in place;
        return a record of what was done (added to the event log)."""
        raise InputError(f"model '{self.model}' of family '{self.family}' has no action '{action}'")


class HomogeneousRepresentation(Representation):
    """A spatially homogeneous representation (an ODE): no fields, every quantity is a scalar
    observable recorded on ``t_obs``."""

    memory_settings = ""  # nothing of its own grows with the problem

    def fields(self, state: Any) -> dict[str, np.ndarray]:
        return {}

    @property
    def field_dims(self) -> dict[str, tuple[str, ...]]:
        return {}

    def coords(self) -> dict[str, np.ndarray]:
        return {}

    def memory_estimate(self) -> MemoryEstimate:
        """A handful of scalars: nothing that grows with the problem."""
        return MemoryEstimate({"state": 1e4})
