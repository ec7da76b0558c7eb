"""Kinetic → macroscopic limit study, the measures (the runs are made by
:mod:`oncoscale.workflows.limit`): distance between the kinetic densities at Knudsen number
ε and the macroscopic PDE of the same regime, as ε → 0 (spec §2, §5).

Relative L1/L2 distances at t_end (dimensionless), their slope in ε, the floor at ``floor_eps``,
the distance to the kinetic model's own limit, and (self scaling) the model gap to the slides'
system. Definitions: docs/kinetic.md, section '`oncoscale limit`'.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from oncoscale.errors import InputError

POPULATIONS = ("n1", "n2", "n3")


@dataclass
class LimitResult:
    """Errors of the kinetic model against the macroscopic PDE for a list of ε."""

    regime: str
    eps: list[float]
    error: list[float]  # relative L1 (all populations)
    error_l2: list[float]
    error_by_population: dict[str, list[float]]
    slope: float  # fit of log(error L1) vs log(eps)
    slope_l2: float
    floor: float  # relative L1 of the kinetic scheme at floor_eps (discretisation floor)
    floor_eps: float
    error_to_kinetic_limit: list[float]  # relative L1 to the kinetic run at floor_eps
    slope_to_kinetic_limit: float
    extrapolated: bool
    t_end: float
    dim: int
    norm: str = "relative L1 over n1, n2, n3 at t_end (error); relative L2 (error_l2)"
    #: the reduction of the reference PDE: the ε → 0 limit of the regime's scaling
    reference: str = ""
    #: the slides' system where it is not the limit (e.g. 'self'), else ""
    slides: str = ""
    #: relative L1 distance of the kinetic densities at each ε to the slides' PDE: a model gap
    gap_to_slides: list[float] = field(default_factory=list)
    #: relative L1 distance between the limit PDE and the slides' PDE (ε-independent)
    slides_gap_of_limit: float = math.nan
    #: why gap_to_slides is empty (e.g. b22 != b32), or ""
    slides_note: str = ""
    runtimes_s: list[float] = field(default_factory=list)
    pde_runtime_s: float = 0.0
    kinetic_numerics: dict[str, Any] = field(default_factory=dict)
    pde_numerics: dict[str, Any] = field(default_factory=dict)
    profiles: dict[str, Any] = field(default_factory=dict, repr=False)  # for the figures

    def to_json(self) -> dict[str, Any]:
        """The JSON record (without the profiles)."""
        out = asdict(self)
        out.pop("profiles")
        return out


def fit_slope(eps: Sequence[float], err: Sequence[float]) -> float:
    """Least-squares slope of log(err) against log(eps) (NaN if fewer than 2 positive pairs)."""
    pairs = [(e, r) for e, r in zip(eps, err, strict=True) if e > 0 and r > 0]
    if len(pairs) < 2:
        return math.nan
    x, y = np.log(np.array(pairs).T)
    return float(np.polyfit(x, y, 1)[0])


def distances(
    kin: dict[str, np.ndarray], ref: dict[str, np.ndarray], volume: float
) -> tuple[float, float, dict[str, float]]:
    """(relative L1, relative L2, per-population relative L1) of densities ``kin`` to ``ref``."""
    num1 = den1 = num2 = den2 = 0.0
    per = {}
    for p in POPULATIONS:
        diff = np.abs(kin[p] - ref[p])
        a1, b1 = float(diff.sum()) * volume, float(np.abs(ref[p]).sum()) * volume
        num1, den1 = num1 + a1, den1 + b1
        num2 += float((diff**2).sum()) * volume
        den2 += float((ref[p] ** 2).sum()) * volume
        per[p] = a1 / b1 if b1 > 0 else math.nan
    return num1 / den1, math.sqrt(num2 / den2), per


#: how the gap to the slides' system is explained wherever it is shown
GAP_EXPLANATION = (
    "gap_to_slides is a model gap, not a numerical error: the slides' system ('{slides}') is "
    "not the ε → 0 limit of this scaling (the limit is '{reference}'), so the kinetic "
    "densities approach the slides' solution only up to the PDE–PDE distance "
    "{gap:.3g} (relative L1 at t_end)"
)


def gap_explanation(result: LimitResult) -> str:
    """One sentence explaining ``gap_to_slides`` (empty if there is no slides' system)."""
    if not result.slides:
        return ""
    if not result.gap_to_slides:
        return f"no gap to the slides' system '{result.slides}': {result.slides_note}"
    return GAP_EXPLANATION.format(
        slides=result.slides, reference=result.reference, gap=result.slides_gap_of_limit
    )


def check_eps(eps: Sequence[float]) -> list[float]:
    values = [float(e) for e in eps]
    if len(values) < 2:
        raise InputError(f"invalid value for '--eps': {values!r}; allowed: at least 2 values")
    for e in values:
        if not 0 < e <= 1:
            raise InputError(f"invalid value for '--eps': {e!r}; allowed: 0 < eps <= 1")
    return sorted(values, reverse=True)
