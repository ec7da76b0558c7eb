"""Result types of the continuation tool: special points, equilibrium and limit-cycle branches.

Plain dataclasses holding NumPy arrays; ``to_dict()`` gives JSON-serialisable records (the
``oncoscale bifurcation`` command writes them to ``bifurcation.json``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: kinds of special point reported on branches
POINT_KINDS = (
    "fold",
    "branch_point",
    "hopf",
    "neutral_saddle",
    "endpoint",
    "fold_cycle",
    "period_doubling",
    "period_blowup",
)


def json_safe(value: object) -> object:
    """Convert NumPy scalars/arrays (and complex numbers) to JSON-serialisable Python objects."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [json_safe(v) for v in value]
    if isinstance(value, np.ndarray):
        return json_safe(value.tolist())
    if isinstance(value, complex | np.complexfloating):
        return [float(value.real), float(value.imag)]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        v = float(value)
        return v if np.isfinite(v) else None
    return value


@dataclass
class SpecialPoint:
    """A located special point: ``kind`` (see :data:`POINT_KINDS`) at ``param_value``.

    ``data`` holds kind-specific extras, e.g. for a Hopf point ``omega`` (rad per time unit),
    ``period`` = 2π/ω, ``l1`` (first Lyapunov coefficient) and ``criticality``.
    """

    kind: str
    param_value: float
    state: np.ndarray
    data: dict = field(default_factory=dict)
    param_name: str = "p"

    def to_dict(self) -> dict:
        """JSON-serialisable record {"param", "value", "type", "state", **data}."""
        out = {
            "param": self.param_name,
            "value": float(self.param_value),
            "type": self.kind,
            "state": json_safe(np.asarray(self.state, dtype=float)),
        }
        out.update({k: json_safe(v) for k, v in self.data.items() if not k.startswith("_")})
        return out


class _Branch:
    """What equilibrium and cycle branches share: their list of special points."""

    points: list[SpecialPoint]

    def special(self, kind: str) -> list[SpecialPoint]:
        """The special points of one kind, in branch order."""
        return [pt for pt in self.points if pt.kind == kind]


@dataclass
class EquilibriumBranch(_Branch):
    """A continued equilibrium branch, ordered along arclength.

    ``p`` (n,), ``x`` (n, dim), ``eigenvalues`` (n, dim) complex sorted by descending real part,
    ``stable`` (n,) bool, ``points`` the located special points (and the two endpoints).
    """

    p: np.ndarray
    x: np.ndarray
    eigenvalues: np.ndarray
    stable: np.ndarray
    points: list[SpecialPoint]
    param_name: str = "p"

    def to_dict(self) -> dict:
        """JSON-serialisable record {"param", "p", "x", "stable", "points"}."""
        return {
            "param": self.param_name,
            "p": json_safe(self.p),
            "x": json_safe(self.x),
            "stable": json_safe(self.stable),
            "points": [pt.to_dict() for pt in self.points],
        }


@dataclass
class CycleBranch(_Branch):
    """A continued branch of periodic orbits (limit cycles), ordered along arclength.

    ``p`` (n,), ``period`` (n,), ``x_min``/``x_max`` (n, dim) the extrema of each component over
    the orbit, ``multipliers`` (n, dim) Floquet multipliers sorted by descending modulus,
    ``stable`` (n,), ``points`` special points (fold_cycle, period_doubling, period_blowup,
    endpoint), ``orbits`` a list of (times (m,), states (m, dim)) per branch point.
    """

    p: np.ndarray
    period: np.ndarray
    x_min: np.ndarray
    x_max: np.ndarray
    multipliers: np.ndarray
    stable: np.ndarray
    points: list[SpecialPoint]
    orbits: list[tuple[np.ndarray, np.ndarray]]
    param_name: str = "p"

    def to_dict(self) -> dict:
        """JSON-serialisable record (orbits omitted: they go to the NetCDF/figures)."""
        return {
            "param": self.param_name,
            "p": json_safe(self.p),
            "period": json_safe(self.period),
            "x_min": json_safe(self.x_min),
            "x_max": json_safe(self.x_max),
            "multipliers_abs": json_safe(np.abs(self.multipliers)),
            "stable": json_safe(self.stable),
            "points": [pt.to_dict() for pt in self.points],
        }
