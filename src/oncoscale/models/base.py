"""The small interface every model representation exposes to the shared run loop.

A representation (an ODE, a PDE on some grid, an agent-based model, ...) is physics only: it
builds an initial state, advances a state from t0 to t1, and reports fields and scalar
observables. Time control, protocols (parameter changes, injections, triggers), trackers,
checkpoints and progress belong to :mod:`oncoscale.run`.

States must be picklable (checkpoints pickle them); a stochastic representation keeps its
``numpy.random.Generator`` inside the state so that a resumed run continues the same stream.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from oncoscale.errors import InputError
from oncoscale.models.parameters import ParameterSet


@dataclass(frozen=True)
class VariableInfo:
    """Units and a human-readable name of a field, observable or coordinate."""

    units: str
    long_name: str


class Representation(ABC):
    """One representation of a model family, advanced by :func:`oncoscale.run.runner.run`."""

    family: ClassVar[str] = ""
    model: ClassVar[str] = ""  # e.g. "ode", "pde-radial", "pde-2d", "abm"
    stochastic: ClassVar[bool] = False

    def __init__(self, params: ParameterSet, numerics: Mapping[str, Any] | None = None):
        self.params = params
        self.numerics: dict[str, Any] = dict(numerics or {})

    # ---- time ---------------------------------------------------------------------------
    @property
    def time_step(self) -> float | None:
        """Fixed internal step (h) if the model only stops on multiples of it, else None."""
        return None

    # ---- state --------------------------------------------------------------------------
    @abstractmethod
    def initial_state(self, rng: np.random.Generator | None = None) -> Any:
        """The state at t = 0 (``rng`` is given to stochastic representations)."""

    @abstractmethod
    def advance(self, state: Any, t0: float, t1: float) -> Any:
        """Return the state at time t1, starting from ``state`` at time t0 (t1 > t0)."""

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

    # ---- protocol hooks -------------------------------------------------------------------
    def set_parameter(self, name: str, value: Any) -> None:
        """Change one parameter (validated); representations cache derived data in
        :meth:`parameters_changed`."""
        self.params = self.params.updated(**{name: value})
        self.parameters_changed()

    def parameters_changed(self) -> None:  # noqa: B027 (optional hook)
        """Hook: recompute anything derived from :attr:`params`."""

    def apply_action(
        self, state: Any, action: str, options: Mapping[str, Any]
    ) -> tuple[Any, dict[str, Any]]:
        """Apply an instantaneous intervention (e.g. an injection); return the new state and
        a record of what was done (added to the event log)."""
        raise InputError(f"model '{self.model}' of family '{self.family}' has no action '{action}'")


class HomogeneousRepresentation(Representation):
    """A spatially homogeneous representation (an ODE): no fields, every quantity is a scalar
    observable recorded on ``t_obs``."""

    def fields(self, state: Any) -> dict[str, np.ndarray]:
        return {}

    @property
    def field_dims(self) -> dict[str, tuple[str, ...]]:
        return {}

    def coords(self) -> dict[str, np.ndarray]:
        return {}
