"""Newton iteration shared by the equilibrium and periodic-orbit continuations."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def newton_iterate(
    z0: np.ndarray,
    step: Callable[[np.ndarray], np.ndarray | None],
    tol: float,
    max_iter: int,
    admissible: Callable[[np.ndarray], bool] | None = None,
) -> tuple[np.ndarray, int, bool]:
    """z ← z + step(z) until max|step| < tol; returns (z, iterations, converged).

    ``step`` returns the Newton correction, or None when the linear system is singular (then
    the iteration stops, unconverged). An iterate that is not finite, or not ``admissible``,
    stops it too."""
    z = z0.copy()
    for it in range(1, max_iter + 1):
        dz = step(z)
        if dz is None:
            return z, it, False
        z = z + dz
        if not np.all(np.isfinite(z)) or (admissible is not None and not admissible(z)):
            return z, it, False
        if np.max(np.abs(dz)) < tol:
            return z, it, True
    return z, max_iter, False
