"""Tridiagonal matrices: storage, products and batched solves (Thomas algorithm in Numba).

A tridiagonal matrix of size n is stored as three arrays of shape (..., n): ``lower[k]``
multiplies x[k-1] (``lower[..., 0]`` unused), ``diag[k]`` multiplies x[k], ``upper[k]``
multiplies x[k+1] (``upper[..., -1]`` unused). Leading axes batch independent systems.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np
from scipy.linalg import solve_banded


class Tridiagonal(NamedTuple):
    """Three diagonals of a (batched) tridiagonal matrix."""

    lower: np.ndarray
    diag: np.ndarray
    upper: np.ndarray

    def matvec(self, x: np.ndarray) -> np.ndarray:
        """y = T x along the last axis."""
        y = self.diag * x
        y[..., 1:] += self.lower[..., 1:] * x[..., :-1]
        y[..., :-1] += self.upper[..., :-1] * x[..., 1:]
        return y

    def scaled_identity_minus(self, c: float) -> Tridiagonal:
        """The matrix I − c T."""
        return Tridiagonal(-c * self.lower, 1.0 - c * self.diag, -c * self.upper)

    def __add__(self, other: object) -> Tridiagonal:  # type: ignore[override]
        if not isinstance(other, Tridiagonal):
            return NotImplemented
        return Tridiagonal(
            self.lower + other.lower, self.diag + other.diag, self.upper + other.upper
        )


@numba.njit(cache=True)
def _thomas_batched(lower, diag, upper, rhs, out):  # pragma: no cover - compiled
    nb, n = rhs.shape
    cp = np.empty(n)
    for b in range(nb):
        beta = diag[b, 0]
        out[b, 0] = rhs[b, 0] / beta
        for k in range(1, n):
            cp[k - 1] = upper[b, k - 1] / beta
            beta = diag[b, k] - lower[b, k] * cp[k - 1]
            out[b, k] = (rhs[b, k] - lower[b, k] * out[b, k - 1]) / beta
        for k in range(n - 2, -1, -1):
            out[b, k] -= cp[k] * out[b, k + 1]


def solve_tridiagonal(matrix: Tridiagonal, rhs: np.ndarray) -> np.ndarray:
    """Solve T x = rhs for each system in the batch (Thomas algorithm, no pivoting).

    Suitable for diagonally dominant matrices such as I − c·(diffusion + upwind advection).
    """
    shape = np.broadcast_shapes(matrix.diag.shape, rhs.shape)
    n = shape[-1]
    arrays = (*matrix, rhs)
    if all(a.shape == shape and a.flags.c_contiguous and a.dtype == np.float64 for a in arrays):
        args = [a.reshape(-1, n) for a in arrays]  # fast path: no copies
    else:
        args = [
            np.ascontiguousarray(np.broadcast_to(a, shape).reshape(-1, n), dtype=float)
            for a in arrays
        ]
    out = np.empty_like(args[3])
    _thomas_batched(args[0], args[1], args[2], args[3], out)
    return out.reshape(shape)


def solve_tridiagonal_reference(matrix: Tridiagonal, rhs: np.ndarray) -> np.ndarray:
    """Reference solve with LAPACK's banded solver (with pivoting), one system at a time."""
    shape = np.broadcast_shapes(matrix.diag.shape, rhs.shape)
    n = shape[-1]
    lo, di, up, b = (np.broadcast_to(a, shape).reshape(-1, n) for a in (*matrix, rhs))
    out = np.empty((b.shape[0], n))
    for k in range(b.shape[0]):
        ab = np.zeros((3, n))
        ab[0, 1:] = up[k, :-1]
        ab[1] = di[k]
        ab[2, :-1] = lo[k, 1:]
        out[k] = solve_banded((1, 1), ab, b[k])
    return out.reshape(shape)
