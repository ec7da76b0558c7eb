"""Time schemes for split problems y' = N(t, y) + L y, chosen by name.

A scheme is one registered class (``imex``, ``ark3-fixed``, ``imex-euler``, ``euler``);
representations pick one by their ``solver`` setting. Units are the caller's.
Details: docs/numerics.md, section 'Time schemes by name'.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from typing import Annotated, ClassVar

import numpy as np
from pydantic import AfterValidator

from oncoscale.errors import InputError
from oncoscale.numerics.imex import (
    IMEXIntegrator,
    SplitProblem,
    StepMemory,
    check_step,
    explicit_euler,
)

_SCHEMES: dict[str, type[TimeScheme]] = {}


class TimeScheme(ABC):
    """Advances a :class:`~oncoscale.numerics.imex.SplitProblem`; subclasses register by name.

    Settings: ``rtol``, ``atol`` (scalar or per-component array), ``dt`` (fixed step),
    ``dt_max`` (largest adaptive step), ``negative_tolerance`` (positivity guard of the
    adaptive schemes), all in the problem's own units.
    """

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    #: True for explicit schemes: the caller must check ``dt`` against its stability limit
    explicit: ClassVar[bool] = False
    #: state-sized arrays one step holds besides the state (memory estimates): stage values,
    #: right-hand sides, the new solution, the error estimate, the problem's temporaries
    work_copies: ClassVar[int] = 6

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        if cls.name:
            _SCHEMES[cls.name] = cls

    def __init__(
        self,
        problem: SplitProblem,
        *,
        rtol: float = 1e-6,
        atol: float | np.ndarray = 1e-8,
        dt: float = 1e-2,
        dt_max: float = math.inf,
        negative_tolerance: float | np.ndarray | None = None,
    ):
        if not dt > 0:
            raise InputError(f"invalid value for 'dt': {dt!r}; allowed: > 0")
        self.problem = problem
        self.rtol, self.atol, self.dt, self.dt_max = rtol, atol, dt, dt_max
        self.negative_tolerance = negative_tolerance
        self.steps = 0

    @abstractmethod
    def advance(self, y: np.ndarray, t0: float, t1: float, memory: StepMemory) -> np.ndarray:
        """y(t1) from y(t0); ``memory`` (the step-size history) is updated in place."""

    def stats(self) -> dict[str, float]:
        """Work counters since construction."""
        return {"steps": float(self.steps)}


class _ARK(TimeScheme):
    fixed: ClassVar[bool] = False
    # the caller's y, its copy, 4 explicit + 4 implicit stage terms, the stage right-hand side
    # and solution, the new solution, the error estimate, their sum term
    work_copies = 15

    def __init__(self, problem: SplitProblem, **settings):
        super().__init__(problem, **settings)
        self.integrator = IMEXIntegrator(
            problem,
            rtol=self.rtol,
            atol=self.atol,
            max_step_size=self.dt_max,
            fixed_step=self.dt if self.fixed else None,
            negative_tolerance=self.negative_tolerance,
        )

    def advance(self, y: np.ndarray, t0: float, t1: float, memory: StepMemory) -> np.ndarray:
        return self.integrator.advance(y, t0, t1, memory)

    def stats(self) -> dict[str, float]:
        return self.integrator.stats.as_dict()


class AdaptiveARK3(_ARK):
    """Adaptive IMEX ARK3(2)4L[2]SA (3rd order, embedded 2nd-order error estimate)."""

    name = "imex"
    description = "adaptive IMEX ARK3(2)4L[2]SA with error control"


class FixedARK3(_ARK):
    """IMEX ARK3(2)4L[2]SA with the fixed step ``dt``."""

    name = "ark3-fixed"
    description = "IMEX ARK3(2)4L[2]SA with a fixed step dt"
    fixed = True


class ForwardBackwardEuler(TimeScheme):
    """First-order IMEX: y ← (I − hL)⁻¹(y + hN(y)), fixed step (shortened to hit t1)."""

    name = "imex-euler"
    description = "first-order forward-backward (IMEX) Euler with a fixed step dt"

    def advance(self, y: np.ndarray, t0: float, t1: float, memory: StepMemory) -> np.ndarray:
        t = t0
        y = np.array(y, dtype=float, copy=True)
        while t < t1 - 1e-12 * max(1.0, abs(t1)):
            h = min(self.dt, t1 - t)
            check_step(t, h)
            self.problem.freeze(t, y)
            y = self.problem.solve(t + h, y + h * self.problem.explicit(t, y), h)
            if not np.all(np.isfinite(y)):
                raise FloatingPointError(f"non-finite solution at t = {t + h:g} (step {h:g})")
            t += h
            self.steps += 1
        return y


class ExplicitEuler(TimeScheme):
    """Forward Euler on N + L with the fixed step ``dt`` (stability is the caller's check)."""

    name = "euler"
    description = "explicit Euler with a fixed step dt (the accuracy reference)"
    explicit = True

    def advance(self, y: np.ndarray, t0: float, t1: float, memory: StepMemory) -> np.ndarray:
        y, steps = explicit_euler(self.problem, y, t0, t1, self.dt)
        self.steps += steps
        return y


def scheme_names() -> list[str]:
    """Names of the registered schemes."""
    return list(_SCHEMES)


def scheme_class(name: str) -> type[TimeScheme]:
    """The scheme registered as ``name`` (InputError naming the allowed ones otherwise)."""
    if not isinstance(name, str) or name not in _SCHEMES:
        raise InputError(
            f"invalid value for 'solver': {name!r}; allowed: {', '.join(scheme_names())}"
        )
    return _SCHEMES[name]


def make_scheme(name: str, problem: SplitProblem, **settings) -> TimeScheme:
    """Build the scheme ``name`` for ``problem`` with the given settings."""
    return scheme_class(name)(problem, **settings)


def _check_scheme_name(value: str) -> str:
    if not isinstance(value, str) or value not in _SCHEMES:
        raise ValueError(
            f"invalid value for 'solver': {value!r}; allowed: {', '.join(scheme_names())}"
        )
    return value


#: a field type for a representation's ``solver`` setting: a registered scheme name
SchemeName = Annotated[str, AfterValidator(_check_scheme_name)]
