"""Two-point-flux operators on uniform 2D Cartesian grids and their implicit solves.

An operator L acts on a field f (nx, ny) through the fluxes across the interior faces,
J = a f_left − b f_right (a, b ≥ 0 in 1/time: per unit face length, divided by h²), with zero
flux at the walls, minus a decay q f. Diffusion (a = b = D/h²), Scharfetter–Gummel
drift–diffusion and fitted diffusion with frozen coefficients have this form; their matrix is
an M-matrix, and so is I − cL for c > 0 (implicit steps keep non-negative data non-negative).

(I − cL) x = r is solved by BiCGSTAB (van der Vorst 1992; compiled, no BLAS threads)
right-preconditioned with the ADI factorisation (I − c(L₀ − q/2))(I − c(L₁ − q/2)) of the
two directions (tridiagonal line solves along axis 1, then axis 0).
Method and measurements: docs/numerics.md, 'Implicit 2D transport'.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numba
import numpy as np

from oncoscale.errors import InputError
from oncoscale.numerics import fv
from oncoscale.numerics.grids import CartesianGrid


class FaceOperator2D(NamedTuple):
    """L f = Σ over faces (inflow − outflow) − decay·f, flux J = a f_left − b f_right.

    ``a0``, ``b0``: (nx − 1, ny) faces normal to axis 0; ``a1``, ``b1``: (nx, ny − 1) faces
    normal to axis 1; all ≥ 0, in 1/time (units of the caller)."""

    a0: np.ndarray
    b0: np.ndarray
    a1: np.ndarray
    b1: np.ndarray
    decay: float = 0.0

    def apply(self, f: np.ndarray) -> np.ndarray:
        """L f (compiled)."""
        out = np.empty_like(f)
        _apply(self.a0, self.b0, self.a1, self.b1, self.decay, f, 0.0, out)
        return out

    def apply_reference(self, f: np.ndarray) -> np.ndarray:
        """L f from NumPy slices (readable reference of :meth:`apply`)."""
        out = -self.decay * f
        j0 = self.a0 * f[:-1] - self.b0 * f[1:]
        out[:-1] -= j0
        out[1:] += j0
        j1 = self.a1 * f[:, :-1] - self.b1 * f[:, 1:]
        out[:, :-1] -= j1
        out[:, 1:] += j1
        return out


def drift_diffusion_operator(
    grid: CartesianGrid, coefficient: float, velocities: list[np.ndarray], decay: float = 0.0
) -> FaceOperator2D:
    """∇·(D∇f − v f) − q f with Scharfetter–Gummel fluxes; v_a on the faces of axis a."""
    _check_2d(grid)
    h2 = grid.spacing**2
    coeffs = [fv.sg_face_coefficients(coefficient, v, grid.spacing) for v in velocities]
    (a0, b0), (a1, b1) = ((a * grid.spacing / h2, b * grid.spacing / h2) for a, b in coeffs)
    return FaceOperator2D(a0, b0, a1, b1, float(decay))


def diffusion_operator(
    grid: CartesianGrid, coefficient: float, decay: float = 0.0
) -> FaceOperator2D:
    """DΔf − q f (central fluxes)."""
    _check_2d(grid)
    nx, ny = grid.shape
    c = coefficient / grid.spacing**2
    f0, f1 = np.full((nx - 1, ny), c), np.full((nx, ny - 1), c)
    return FaceOperator2D(f0, f0, f1, f1, float(decay))


def upwind_drift_diffusion_operator(
    grid: CartesianGrid, coefficient: float, velocities: list[np.ndarray], decay: float = 0.0
) -> FaceOperator2D:
    """∇·(D∇f − v f) − q f with central diffusion and first-order upwind drift."""
    _check_2d(grid)
    h, d = grid.spacing, coefficient / grid.spacing**2
    (a0, b0), (a1, b1) = ((d + np.maximum(v, 0) / h, d + np.maximum(-v, 0) / h) for v in velocities)
    return FaceOperator2D(a0, b0, a1, b1, float(decay))


def chemotaxis_operator(
    grid: CartesianGrid,
    coefficient: float,
    sensitivity: float,
    potential: np.ndarray,
    scheme: str = "sg",
    decay: float = 0.0,
) -> FaceOperator2D:
    """∇·(D∇f − χ f∇φ) − q f (compiled builder): drift χ∂φ/∂n on each face from the cell
    values of the potential φ; ``scheme`` "sg" (Scharfetter–Gummel) or "upwind"."""
    _check_2d(grid)
    if scheme not in ("sg", "upwind"):
        raise InputError(f"invalid value for 'chemotaxis': {scheme!r}; allowed: sg, upwind")
    nx, ny = grid.shape
    arrays = (np.empty((nx - 1, ny)), np.empty((nx - 1, ny)))
    arrays += (np.empty((nx, ny - 1)), np.empty((nx, ny - 1)))
    _chemotaxis_coefficients(
        np.ascontiguousarray(potential, dtype=float), coefficient, sensitivity, grid.spacing,
        scheme == "sg", *arrays,
    )  # fmt: skip
    return FaceOperator2D(*arrays, float(decay))


def _check_2d(grid: CartesianGrid) -> None:
    if grid.dim != 2:
        raise InputError(f"a 2D face operator needs a 2D grid; got dimension {grid.dim}")


# ---------------------------------------------------------------------------------------
# compiled kernels
# ---------------------------------------------------------------------------------------
@numba.njit(cache=True, inline="always")
def drift_face(d, v, h, sg):  # pragma: no cover - compiled
    """(a, b) of the face flux J = a f_left − b f_right (divided by h²) of −D∂f + v f:
    Scharfetter–Gummel if ``sg``, else central diffusion + upwind drift."""
    if sg:
        pe = v * h / d
        base = d / (h * h)
        b_minus, b_plus = fv.bernoulli_pair(pe)
        return base * b_minus, base * b_plus
    base = d / (h * h)
    return base + max(v, 0.0) / h, base + max(-v, 0.0) / h


@numba.njit(cache=True)
def _chemotaxis_coefficients(phi, d, chi, h, sg, a0, b0, a1, b1):  # pragma: no cover
    nx, ny = phi.shape
    for k in range(nx - 1):
        for j in range(ny):
            a0[k, j], b0[k, j] = drift_face(d, chi * (phi[k + 1, j] - phi[k, j]) / h, h, sg)
    for k in range(nx):
        for j in range(ny - 1):
            a1[k, j], b1[k, j] = drift_face(d, chi * (phi[k, j + 1] - phi[k, j]) / h, h, sg)


@numba.njit(cache=True)
def _apply(a0, b0, a1, b1, q, f, c, out):  # pragma: no cover - compiled
    """out = L f if c == 0, else out = f − c L f."""
    nx, ny = f.shape
    for k in range(nx):
        for j in range(ny):
            out[k, j] = -q * f[k, j]
    for k in range(nx - 1):
        for j in range(ny):
            flux = a0[k, j] * f[k, j] - b0[k, j] * f[k + 1, j]
            out[k, j] -= flux
            out[k + 1, j] += flux
    for k in range(nx):
        for j in range(ny - 1):
            flux = a1[k, j] * f[k, j] - b1[k, j] * f[k, j + 1]
            out[k, j] -= flux
            out[k, j + 1] += flux
    if c != 0.0:
        for k in range(nx):
            for j in range(ny):
                out[k, j] = f[k, j] - c * out[k, j]


@numba.njit(cache=True)
def _factor_lines(a, b, c, half_q, axis, lower, inv_pivot, cp):  # pragma: no cover
    """Thomas factors of I − c(L_axis − q/2) along ``axis`` (0 or 1) for every line."""
    nx, ny = lower.shape
    n = nx if axis == 0 else ny
    m = ny if axis == 0 else nx
    for line in range(m):
        prev_cp = 0.0
        for k in range(n):
            if axis == 0:
                idx_k, idx_j = k, line
            else:
                idx_k, idx_j = line, k
            diag = 1.0 + c * half_q
            lo = 0.0
            up = 0.0
            if k > 0:
                if axis == 0:
                    lo = -c * a[k - 1, line]
                    diag += c * b[k - 1, line]
                else:
                    lo = -c * a[line, k - 1]
                    diag += c * b[line, k - 1]
            if k < n - 1:
                if axis == 0:
                    up = -c * b[k, line]
                    diag += c * a[k, line]
                else:
                    up = -c * b[line, k]
                    diag += c * a[line, k]
            pivot = diag - lo * prev_cp
            lower[idx_k, idx_j] = lo
            inv_pivot[idx_k, idx_j] = 1.0 / pivot
            prev_cp = up / pivot
            cp[idx_k, idx_j] = prev_cp


@numba.njit(cache=True)
def _solve_axis1(lower, inv_pivot, cp, rhs, out):  # pragma: no cover - compiled
    nx, ny = rhs.shape
    for k in range(nx):
        out[k, 0] = rhs[k, 0] * inv_pivot[k, 0]
        for j in range(1, ny):
            out[k, j] = (rhs[k, j] - lower[k, j] * out[k, j - 1]) * inv_pivot[k, j]
        for j in range(ny - 2, -1, -1):
            out[k, j] -= cp[k, j] * out[k, j + 1]


@numba.njit(cache=True)
def _solve_axis0(lower, inv_pivot, cp, rhs, out):  # pragma: no cover - compiled
    nx, ny = rhs.shape
    for j in range(ny):
        out[0, j] = rhs[0, j] * inv_pivot[0, j]
    for k in range(1, nx):
        for j in range(ny):
            out[k, j] = (rhs[k, j] - lower[k, j] * out[k - 1, j]) * inv_pivot[k, j]
    for k in range(nx - 2, -1, -1):
        for j in range(ny):
            out[k, j] -= cp[k, j] * out[k + 1, j]


@numba.njit(cache=True)
def _precondition(factors0, factors1, r, tmp, out):  # pragma: no cover - compiled
    _solve_axis1(factors1[0], factors1[1], factors1[2], r, tmp)
    _solve_axis0(factors0[0], factors0[1], factors0[2], tmp, out)


@numba.njit(cache=True)
def _dot(x, y):  # pragma: no cover - compiled
    total = 0.0
    for k in range(x.shape[0]):
        for j in range(x.shape[1]):
            total += x[k, j] * y[k, j]
    return total


@numba.njit(cache=True)
def _bicgstab(a0, b0, a1, b1, q, c, factors0, factors1, rhs, x, tol2, maxiter):  # pragma: no cover
    """Right-preconditioned BiCGSTAB on (I − cL) x = rhs, in place on x; stops when
    ‖r‖² ≤ tol2. Returns the iterations used, or −1 without convergence."""
    nx, ny = rhs.shape
    r = np.empty((nx, ny))
    _apply(a0, b0, a1, b1, q, x, c, r)
    for k in range(nx):
        for j in range(ny):
            r[k, j] = rhs[k, j] - r[k, j]
    if _dot(r, r) <= tol2:
        return 0
    r_hat = r.copy()
    p = np.zeros((nx, ny))
    v = np.zeros((nx, ny))
    p_hat = np.empty((nx, ny))
    s_hat = np.empty((nx, ny))
    t = np.empty((nx, ny))
    tmp = np.empty((nx, ny))
    rho = alpha = omega = 1.0
    for it in range(1, maxiter + 1):
        rho_new = _dot(r_hat, r)
        if rho_new == 0.0 or omega == 0.0:
            return -1
        beta = (rho_new / rho) * (alpha / omega)
        rho = rho_new
        for k in range(nx):
            for j in range(ny):
                p[k, j] = r[k, j] + beta * (p[k, j] - omega * v[k, j])
        _precondition(factors0, factors1, p, tmp, p_hat)
        _apply(a0, b0, a1, b1, q, p_hat, c, v)
        denom = _dot(r_hat, v)
        if denom == 0.0:
            return -1
        alpha = rho / denom
        for k in range(nx):
            for j in range(ny):
                r[k, j] -= alpha * v[k, j]  # r is now s
                x[k, j] += alpha * p_hat[k, j]
        if _dot(r, r) <= tol2:
            return it
        _precondition(factors0, factors1, r, tmp, s_hat)
        _apply(a0, b0, a1, b1, q, s_hat, c, t)
        tt = _dot(t, t)
        if tt == 0.0:
            return -1
        omega = _dot(t, r) / tt
        for k in range(nx):
            for j in range(ny):
                x[k, j] += omega * s_hat[k, j]
                r[k, j] -= omega * t[k, j]
        if _dot(r, r) <= tol2:
            return it
    return -1


# ---------------------------------------------------------------------------------------
# implicit solves
# ---------------------------------------------------------------------------------------
@dataclass
class SolveStats:
    """Work of the implicit solves: calls, BiCGSTAB iterations, failures to converge."""

    solves: int = 0
    iterations: int = 0
    failures: int = 0

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        """Plain dict (keys prefixed) for result attrs."""
        return {prefix + k: float(v) for k, v in self.__dict__.items()}


@dataclass
class ImplicitSolver2D:
    """Solves (I − cL) x = r for a fixed operator L and c > 0 (factorised once).

    ``tol``: the BiCGSTAB iteration stops when the RMS residual is at most ``tol`` (units of
    the field); ``maxiter``: a solve that needs more returns NaN (the caller's integrator
    then rejects the step and retries a shorter one)."""

    op: FaceOperator2D
    c: float
    tol: float
    maxiter: int = 50
    stats: SolveStats = field(default_factory=SolveStats)

    def __post_init__(self) -> None:
        if not self.c > 0:
            raise InputError(f"invalid implicit coefficient c = {self.c!r}; allowed: > 0")
        if not self.tol > 0:
            raise InputError(f"invalid value for 'tol': {self.tol!r}; allowed: > 0")
        self.shape = (self.op.a1.shape[0], self.op.a0.shape[1])
        factors = []
        for axis, (a, b) in enumerate(((self.op.a0, self.op.b0), (self.op.a1, self.op.b1))):
            arrays = tuple(np.empty(self.shape) for _ in range(3))
            _factor_lines(a, b, self.c, 0.5 * self.op.decay, axis, *arrays)
            factors.append(arrays)
        self._factors = tuple(factors)

    def apply(self, x: np.ndarray) -> np.ndarray:
        """(I − cL) x."""
        out = np.empty(self.shape)
        op = self.op
        _apply(op.a0, op.b0, op.a1, op.b1, op.decay, x, self.c, out)
        return out

    def precondition(self, r: np.ndarray) -> np.ndarray:
        """ADI approximation of (I − cL)⁻¹ r: line solves along axis 1, then axis 0."""
        out = np.empty(self.shape)
        _precondition(*self._factors, np.ascontiguousarray(r), np.empty(self.shape), out)
        return out

    def solve(self, rhs: np.ndarray, x0: np.ndarray | None = None) -> np.ndarray:
        """x with (I − cL) x = rhs to the RMS residual ``tol`` (NaN if not reached);
        the first guess is ``x0`` or the preconditioner applied to ``rhs``."""
        self.stats.solves += 1
        rhs = np.ascontiguousarray(rhs, dtype=float)
        x = self.precondition(rhs) if x0 is None else np.array(x0, dtype=float)
        op = self.op
        tol2 = self.tol**2 * rhs.size
        its = _bicgstab(op.a0, op.b0, op.a1, op.b1, op.decay, self.c, *self._factors, rhs, x,
                        tol2, self.maxiter)  # fmt: skip
        if its < 0:
            self.stats.failures += 1
            self.stats.iterations += self.maxiter
            return np.full(self.shape, np.nan)
        self.stats.iterations += its
        return x
