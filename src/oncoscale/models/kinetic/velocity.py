"""Discrete velocity sets and activity bins of the kinetic solver (spec §5).

:class:`VelocitySet` (unit directions with weights, exact first to third moments) and
:class:`ActivityBins` (B equal bins of u ∈ [−1, 1] with the mirror map u ↦ −u). Details:
docs/kinetic.md, section 'The kinetic model that is solved'.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from oncoscale.errors import InputError


@dataclass(frozen=True)
class VelocitySet:
    """Unit directions ``e`` (K, d) with weights ``w`` (K,) of a discrete velocity model."""

    dim: int
    count: int
    e: np.ndarray = field(init=False, repr=False)
    w: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.dim not in (1, 2):
            raise InputError(f"invalid dimension {self.dim!r}; allowed: 1, 2")
        if self.dim == 1:
            if self.count != 2:
                raise InputError(
                    f"invalid value for 'velocities': {self.count!r}; allowed: 2 in 1D"
                )
            e = np.array([[1.0], [-1.0]])
        else:
            if self.count < 4 or self.count % 2:
                raise InputError(
                    f"invalid value for 'velocities': {self.count!r}; allowed: an even number >= 4"
                )
            theta = 2.0 * np.pi * (np.arange(self.count) + 0.5) / self.count
            e = np.stack([np.cos(theta), np.sin(theta)], axis=1)
        object.__setattr__(self, "e", e)
        object.__setattr__(self, "w", np.full(self.count, 1.0 / self.count))

    def reflection(self, axis: int) -> np.ndarray:
        """Index map k ↦ k' with e_k' = e_k mirrored at a wall normal to ``axis``."""
        if self.dim == 1:
            return np.array([1, 0])
        k = np.arange(self.count)
        if axis == 0:  # v_x -> -v_x: theta -> pi - theta
            return (self.count // 2 - 1 - k) % self.count
        return self.count - 1 - k  # v_y -> -v_y: theta -> -theta

    def second_moment(self) -> np.ndarray:
        """⟨e⊗e⟩ (d, d); equals I/d."""
        return np.einsum("k,ka,kb->ab", self.w, self.e, self.e)


@dataclass(frozen=True)
class ActivityBins:
    """``count`` equal bins of u ∈ [−1, 1] (count even: bins never straddle u = 0)."""

    count: int
    edges: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if self.count < 2 or self.count % 2:
            raise InputError(
                f"invalid value for 'activity_bins': {self.count!r}; allowed: an even number >= 2"
            )
        object.__setattr__(self, "edges", np.linspace(-1.0, 1.0, self.count + 1))

    @property
    def centers(self) -> np.ndarray:
        """Bin centres (activity u)."""
        return 0.5 * (self.edges[1:] + self.edges[:-1])

    @property
    def width(self) -> float:
        """Bin width Δu."""
        return 2.0 / self.count

    def mirror(self) -> np.ndarray:
        """Index map b ↦ b' with u_b' = −u_b."""
        return self.count - 1 - np.arange(self.count)

    def uniform_fractions(self, lo: float, hi: float) -> np.ndarray:
        """Fraction of the uniform distribution on [lo, hi] ⊂ [−1, 1] in each bin (sums to 1)."""
        if not -1.0 <= lo < hi <= 1.0:
            raise InputError(f"invalid activity interval [{lo}, {hi}]; allowed: within [-1, 1]")
        a, b = self.edges[:-1], self.edges[1:]
        overlap = np.clip(np.minimum(b, hi) - np.maximum(a, lo), 0.0, None)
        return overlap / (hi - lo)

    @property
    def active(self) -> np.ndarray:
        """Boolean mask of the bins with u ≥ 0."""
        return self.centers > 0.0


def check_moments(vs: VelocitySet, tol: float = 1e-12) -> None:
    """Raise if ⟨e⟩ ≠ 0 or ⟨e⊗e⟩ ≠ I/d (a guard used by the tests)."""
    first = vs.w @ vs.e
    second = vs.second_moment()
    if np.abs(first).max() > tol or np.abs(second - np.eye(vs.dim) / vs.dim).max() > tol:
        raise InputError("velocity set does not reproduce the first two moments")
    if not math.isclose(vs.w.sum(), 1.0, rel_tol=tol):
        raise InputError("velocity weights do not sum to 1")
