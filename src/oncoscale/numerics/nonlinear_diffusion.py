"""Myopic (non-Fickian) diffusion Δ(φ) with φ = a(x)·u or φ = Φ(u), zero flux, implicit solves.

M-matrix solves of (I + c diag(q) − cΔ diag(a)) u = b on a uniform cell-centred grid (Thomas in
1D; in 2D/3D DCT-preconditioned CG without sink, Jacobi-preconditioned CG on the symmetric form
with a sink, sparse LU as the fallback) and Newton for nonlinear Φ. Units are the
caller's. Derivation and details: docs/numerics.md, section 'Myopic (non-Fickian) diffusion and
its implicit solves'.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import splu

from oncoscale.numerics import fv
from oncoscale.numerics.grids import CartesianGrid
from oncoscale.numerics.helmholtz import NeumannHelmholtz
from oncoscale.numerics.tridiagonal import Tridiagonal, solve_tridiagonal


@dataclass
class SolveStats:
    """Work counters of :class:`MyopicDiffusion`."""

    linear_solves: int = 0
    cg_iterations: int = 0
    newton_iterations: int = 0
    newton_failures: int = 0
    lu_fallbacks: int = 0

    def as_dict(self) -> dict[str, float]:
        """Plain dict for result attrs."""
        return {k: float(v) for k, v in self.__dict__.items()}


@dataclass
class MyopicDiffusion:
    """Δ(a u) and implicit solves on ``grid`` (zero flux on every wall)."""

    grid: CartesianGrid
    rtol: float = 1e-12  # relative residual of the CG solves
    sink_rtol: float = 1e-13  # relative residual of the Jacobi-CG solves with a sink
    max_cg: int = 500
    stats: SolveStats = field(default_factory=SolveStats)

    def __post_init__(self) -> None:
        self.helmholtz = NeumannHelmholtz(self.grid)
        if self.grid.dim == 1:
            n = self.grid.shape[0]
            self._neighbours = np.full(n, 2.0)
            self._neighbours[[0, -1]] = 1.0
        self._laplacian: sp.csc_matrix | None = None

    def laplacian_matrix(self) -> sp.csc_matrix:
        """Sparse zero-flux Laplacian of the grid (C-order flattening)."""
        if self._laplacian is None:
            h2 = self.grid.spacing**2
            ops = []
            for n in self.grid.shape:
                main = np.full(n, -2.0)
                main[[0, -1]] = -1.0
                ops.append(sp.diags([np.ones(n - 1), main, np.ones(n - 1)], [-1, 0, 1]) / h2)
            lap = ops[0]
            for k, op in enumerate(ops[1:], start=1):
                n_before = int(np.prod(self.grid.shape[:k]))
                lap = sp.kron(lap, sp.identity(op.shape[0])) + sp.kron(sp.identity(n_before), op)
            self._laplacian = sp.csc_matrix(lap)
        return self._laplacian

    # ---- operators ----------------------------------------------------------------------
    def apply(self, phi: np.ndarray) -> np.ndarray:
        """Δφ (φ = a u or Φ(u)), zero flux."""
        return fv.laplacian(self.grid, phi)

    def matrix_1d(self, a: np.ndarray, c: float, q: np.ndarray | None = None) -> Tridiagonal:
        """The tridiagonal matrix I + c diag(q) − cΔ diag(a) (1D grids)."""
        a = np.broadcast_to(np.asarray(a, dtype=float), self.grid.shape)
        k = c / self.grid.spacing**2
        lower = np.zeros_like(a)
        upper = np.zeros_like(a)
        lower[1:] = -k * a[:-1]
        upper[:-1] = -k * a[1:]
        diag = 1.0 + k * self._neighbours * a
        if q is not None:
            diag = diag + c * q
        return Tridiagonal(lower, diag, upper)

    # ---- linear solves --------------------------------------------------------------------
    def solve_linear(
        self, a: np.ndarray, rhs: np.ndarray, c: float, q: np.ndarray | None = None
    ) -> np.ndarray:
        """u with u + c q u − cΔ(a u) = rhs (a > 0, q ≥ 0 pointwise; c ≥ 0)."""
        self.stats.linear_solves += 1
        if c == 0.0:
            return rhs.copy()
        if self.grid.dim == 1:
            return solve_tridiagonal(self.matrix_1d(a, c, q), rhs)
        a = np.broadcast_to(np.asarray(a, dtype=float), rhs.shape)
        if q is None:
            return self._pcg(a, rhs, c) / a
        q = np.broadcast_to(np.asarray(q, dtype=float), rhs.shape)
        if np.ptp(a) == 0.0 and np.ptp(q) == 0.0:  # constant coefficients: one DCT solve
            return self.helmholtz.solve(rhs, c, float(a.flat[0]), float(q.flat[0]))
        w, converged = self._jacobi_cg((1.0 + c * q) / a, rhs, c, self.sink_rtol, self.max_cg)
        if converged:
            return w / a
        self.stats.lu_fallbacks += 1
        return self._sparse_lu(a, q, rhs, c)

    def _sparse_lu(self, a: np.ndarray, q: np.ndarray, rhs: np.ndarray, c: float) -> np.ndarray:
        """Direct solve of (I + c diag(q) − cΔ diag(a)) u = rhs, rows scaled by the diagonal
        (q may span many orders of magnitude); Jacobi-preconditioned CG on the symmetric form
        if the factorisation fails."""
        lap = self.laplacian_matrix()
        matrix = (lap @ sp.diags(-c * a.ravel())).tocsr()
        diag = 1.0 + c * q.ravel() + matrix.diagonal()
        matrix.setdiag(diag)
        scale = 1.0 / diag
        scaled = (sp.diags(scale) @ matrix).tocsc()
        scaled.data[np.abs(scaled.data) < 1e-250] = 0.0  # no denormals in the factorisation
        scaled.eliminate_zeros()
        try:
            return splu(scaled).solve(scale * rhs.ravel()).reshape(rhs.shape)
        except RuntimeError:
            return self._jacobi_cg((1.0 + c * q) / a, rhs, c)[0] / a

    def _jacobi_cg(
        self,
        d: np.ndarray,
        b: np.ndarray,
        c: float,
        rtol: float | None = None,
        max_iter: int | None = None,
    ) -> tuple[np.ndarray, bool]:
        """(w, converged) with (diag(d) − cΔ) w = b (d > 0), Jacobi-preconditioned CG.

        The symmetric form of (I + c diag(q) − cΔ diag(a)) u = b (d = (1 + cq)/a, w = a u):
        the Jacobi-scaled matrix has condition number ≤ 1 + 8c/(h² min d) whatever the range
        of q, and each cell with a huge sink keeps its relative accuracy (w_i ≈ b_i/d_i)."""
        inv = 1.0 / (d + c * 2 * self.grid.dim / self.grid.spacing**2)
        w = inv * b
        r = b - (d * w - c * fv.laplacian(self.grid, w))
        z = inv * r
        p = z.copy()
        rz = float(np.vdot(r, z))
        target = (self.rtol if rtol is None else rtol) * float(np.linalg.norm(b))
        for _ in range(20 * self.max_cg if max_iter is None else max_iter):
            if float(np.linalg.norm(r)) <= target:
                return w, True
            ap = d * p - c * fv.laplacian(self.grid, p)
            alpha = rz / float(np.vdot(p, ap))
            w += alpha * p
            r -= alpha * ap
            z = inv * r
            rz_new = float(np.vdot(r, z))
            p = z + (rz_new / rz) * p
            rz = rz_new
            self.stats.cg_iterations += 1
        return w, float(np.linalg.norm(r)) <= target

    def _pcg(self, a: np.ndarray, b: np.ndarray, c: float) -> np.ndarray:
        """w with (diag(1/a) − cΔ) w = b, preconditioned CG."""
        inv_a = 1.0 / a
        a_bar = math.sqrt(float(np.min(a)) * float(np.max(a)))

        def matvec(w: np.ndarray) -> np.ndarray:
            return inv_a * w - c * fv.laplacian(self.grid, w)

        def precondition(r: np.ndarray) -> np.ndarray:
            return a_bar * self.helmholtz.solve(r, c, a_bar)

        w = precondition(b)
        r = b - matvec(w)
        z = precondition(r)
        p = z.copy()
        rz = float(np.vdot(r, z))
        target = self.rtol * float(np.linalg.norm(b))
        for _ in range(self.max_cg):
            if float(np.linalg.norm(r)) <= target:
                break
            ap = matvec(p)
            alpha = rz / float(np.vdot(p, ap))
            w += alpha * p
            r -= alpha * ap
            z = precondition(r)
            rz_new = float(np.vdot(r, z))
            p = z + (rz_new / rz) * p
            rz = rz_new
            self.stats.cg_iterations += 1
        return w

    # ---- nonlinear solves -----------------------------------------------------------------
    def solve_nonlinear(
        self,
        phi: Callable[[np.ndarray], np.ndarray],
        dphi: Callable[[np.ndarray], np.ndarray],
        rhs: np.ndarray,
        c: float,
        guess: np.ndarray | None = None,
        tol: float = 1e-11,
        max_iter: int = 30,
        sink: Callable[[np.ndarray], np.ndarray] | None = None,
        dsink: Callable[[np.ndarray], np.ndarray] | None = None,
    ) -> np.ndarray:
        """u with u − cΔΦ(u) + c s(u) = rhs by Newton's method (Φ' > 0, s' ≥ 0; s = ``sink``).

        Converged when the update is below ``tol`` × (1 + max|u|); returns an all-NaN array
        if it does not converge (an adaptive integrator then shortens the step).
        """
        u = rhs.copy() if guess is None else guess.copy()
        if c == 0.0:
            return rhs.copy()
        for _ in range(max_iter):
            self.stats.newton_iterations += 1
            residual = rhs - (u - c * self.apply(phi(u)))
            q = None
            if sink is not None:
                residual -= c * sink(u)
                q = dsink(u)
            du = self.solve_linear(dphi(u), residual, c, q)
            u += du
            if float(np.max(np.abs(du))) <= tol * (1.0 + float(np.max(np.abs(u)))):
                return u
        self.stats.newton_failures += 1
        return np.full_like(rhs, np.nan)
