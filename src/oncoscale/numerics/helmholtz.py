"""Fast implicit solves of (I − c(DΔ − q)) x = b on uniform Cartesian grids with zero flux.

The cell-centred Neumann Laplacian of :func:`oncoscale.numerics.fv.laplacian` is diagonalised
by the type-II discrete cosine transform, so each solve costs two DCTs (O(N log N)); its
round-off, ~1e-16·max|x|, is spread over every cell. :meth:`NeumannHelmholtz.solve_positive`
(Jacobi / Neumann series) is exact in each cell relative to its own value instead.
"""

from __future__ import annotations

import math

import numba
import numpy as np
from scipy import fft

from oncoscale.numerics.grids import CartesianGrid

#: spectral denominators kept per solver (coefficient sets used in turn: MDE and O2)
_CACHED = 4


class NeumannHelmholtz:
    """Solver for (I − c(DΔ − q)) x = b, Δ the zero-flux 2nd-order Laplacian of ``grid``."""

    def __init__(self, grid: CartesianGrid):
        self.grid = grid
        eig = np.zeros(grid.shape)
        for a, n in enumerate(grid.shape):
            k = np.arange(n)
            lam = -4.0 / grid.spacing**2 * np.sin(np.pi * k / (2 * n)) ** 2
            shape = [1] * grid.dim
            shape[a] = n
            eig = eig + lam.reshape(shape)
        self.eigenvalues = eig  # eigenvalues of Δ (≤ 0)
        self._axes = tuple(range(-grid.dim, 0))
        self._cache: dict[tuple, np.ndarray] = {}

    def solve(self, rhs: np.ndarray, c: float, diffusion, decay=0.0) -> np.ndarray:
        """x with (I − c(DΔ − q)) x = rhs over the last ``dim`` axes (c, D, q ≥ 0).

        ``diffusion`` and ``decay`` may be arrays over the leading axes of ``rhs`` (several
        fields with different coefficients solved in one batched transform).
        """
        lead = rhs.ndim - self.grid.dim
        d = np.asarray(diffusion, dtype=float).reshape(np.shape(diffusion) + (1,) * self.grid.dim)
        q = np.asarray(decay, dtype=float).reshape(np.shape(decay) + (1,) * self.grid.dim)
        if lead < 0 or d.ndim > rhs.ndim or q.ndim > rhs.ndim:
            raise ValueError("coefficient arrays must match the leading axes of rhs")
        spec = fft.dctn(rhs, type=2, norm="ortho", axes=self._axes)
        spec /= self._denominator(float(c), d, q)
        return fft.idctn(spec, type=2, norm="ortho", axes=self._axes)

    def _denominator(self, c: float, d: np.ndarray, q: np.ndarray) -> np.ndarray:
        """1 − c(DΔ̂ − q) in spectral space, kept for the last :data:`_CACHED` coefficient sets
        (a time loop solves with the same c, D, q every step; a 3D grid's array is 14 MB)."""
        key = (c, d.shape, d.tobytes(), q.shape, q.tobytes())
        denom = self._cache.pop(key, None)
        if denom is None:
            denom = 1.0 - c * (d * self.eigenvalues - q)
            if len(self._cache) >= _CACHED:
                self._cache.pop(next(iter(self._cache)))
        self._cache[key] = denom  # most recently used last
        return denom

    def __getstate__(self) -> dict:
        """Pickled without the cached denominators (rebuilt on the first solve)."""
        return {**self.__dict__, "_cache": {}}

    def apply(self, f: np.ndarray, diffusion: float, decay: float = 0.0) -> np.ndarray:
        """(DΔ − q) f computed spectrally (for tests: equals the finite-volume stencil)."""
        spec = fft.dctn(f, type=2, norm="ortho", axes=self._axes)
        spec *= diffusion * self.eigenvalues - decay
        return fft.idctn(spec, type=2, norm="ortho", axes=self._axes)

    def neighbour_sum(self, x: np.ndarray) -> np.ndarray:
        """Σ of the existing neighbours of every cell (zero flux: none beyond a wall)."""
        out = np.zeros_like(x)
        for a in range(-self.grid.dim, 0):
            lo = [slice(None)] * x.ndim
            hi = [slice(None)] * x.ndim
            lo[a], hi[a] = slice(None, -1), slice(1, None)
            out[tuple(lo)] += x[tuple(hi)]
            out[tuple(hi)] += x[tuple(lo)]
        return out

    def solve_positive(
        self, rhs: np.ndarray, c: float, diffusion: float, decay: float = 0.0, tol: float = 1e-17
    ) -> np.ndarray:
        """x with (I − c(DΔ − q)) x = rhs (scalars c, D, q ≥ 0) by the Jacobi iteration
        x ← (rhs + κ Σ_neighbours x)/(1 + cq + κ n), κ = cD/h²: a Neumann series of non-negative
        terms, so x ≥ 0 for rhs ≥ 0 and each cell is accurate relative to its own value (no
        round-off spread from large to small values, unlike a DCT). Converges like ρ^k,
        ρ = 2dκ/(1 + cq + 2dκ); stops when ρ^k/(1 − ρ) < tol (at most 400 iterations, then the
        DCT solve)."""
        kappa = c * diffusion / self.grid.spacing**2
        if kappa == 0.0:
            return rhs / (1.0 + c * decay)
        count = self.neighbour_sum(np.ones(self.grid.shape))
        denom = 1.0 + c * decay + kappa * count
        rho = 2 * self.grid.dim * kappa / (1.0 + c * decay + 2 * self.grid.dim * kappa)
        iterations = math.ceil(math.log(tol * (1.0 - rho)) / math.log(rho))
        if iterations > 400:
            return self.solve(rhs, c, diffusion, decay)
        x = rhs / denom
        for _ in range(iterations):
            x = (rhs + kappa * self.neighbour_sum(x)) / denom
        return x

    def solve_lines(self, rhs: np.ndarray, c: float, diffusion: float, decay: float = 0.0):
        """Same solution as :meth:`solve` for a 2D ``rhs`` (scalar D, q ≥ 0) with half the
        transforms: a DCT along axis 1, then a tridiagonal (Thomas) solve along axis 0 for each
        mode; faster where the transform length has a large prime factor (401: the 2D
        oncolytic grid at dx = 0.05). Other dimensions fall back to :meth:`solve`."""
        if self.grid.dim != 2 or rhs.ndim != 2:
            return self.solve(rhs, c, diffusion, decay)
        h2 = self.grid.spacing**2
        n1 = self.grid.shape[1]
        lam = -4.0 / h2 * np.sin(np.pi * np.arange(n1) / (2 * n1)) ** 2
        spec = fft.dct(rhs, type=2, norm="ortho", axis=1)
        out = np.empty_like(spec)
        _neumann_lines_axis0(c * diffusion / h2, 1.0 + c * (decay - diffusion * lam), spec, out)
        return fft.idct(out, type=2, norm="ortho", axis=1)


@numba.njit(cache=True)
def _neumann_lines_axis0(w, base, rhs, out):  # pragma: no cover - compiled
    """Solve (base_j + w·(number of neighbours)) x_k − w(x_{k−1} + x_{k+1}) = rhs_k along
    axis 0 for each column j (zero-flux ends), by the Thomas algorithm."""
    n0, n1 = rhs.shape
    cp = np.empty((n0, n1))
    for j in range(n1):
        pivot = base[j] + w
        out[0, j] = rhs[0, j] / pivot
        cp[0, j] = -w / pivot
    for k in range(1, n0):
        neighbours = 2.0 if k < n0 - 1 else 1.0
        for j in range(n1):
            pivot = base[j] + neighbours * w + w * cp[k - 1, j]
            out[k, j] = (rhs[k, j] + w * out[k - 1, j]) / pivot
            cp[k, j] = -w / pivot
    for k in range(n0 - 2, -1, -1):
        for j in range(n1):
            out[k, j] -= cp[k, j] * out[k + 1, j]
