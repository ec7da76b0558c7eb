"""Periodic orbits by orthogonal collocation, their continuation and Floquet multipliers.

Cycles of x' = f(x, p) started at a Hopf point, continued in p (Gauss–Legendre collocation,
adaptive mesh, sparse Newton), with folds of cycles, period doublings and period blow-up
reported. Derivation and details: docs/numerics.md, section 'Periodic orbits by orthogonal
collocation'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.optimize import brentq

from oncoscale.errors import out_of_range
from oncoscale.numerics.bifurcation_types import CycleBranch, SpecialPoint
from oncoscale.numerics.newton import newton_iterate

RHS = Callable[[np.ndarray, float], np.ndarray]

__all__ = ["Collocation", "CycleBranch", "continue_limit_cycles", "floquet_multipliers"]


# ---------------------------------------------------------------------------------------------
# collocation scheme
# ---------------------------------------------------------------------------------------------
def _lagrange(nodes: np.ndarray, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Values and derivatives of the Lagrange basis on ``nodes`` at points ``x``."""
    m1 = nodes.size
    val = np.ones((x.size, m1))
    der = np.zeros((x.size, m1))
    for k in range(m1):
        others = [i for i in range(m1) if i != k]
        denom = np.prod(nodes[k] - nodes[others])
        for i in others:
            val[:, k] *= x - nodes[i]
        for r in others:
            term = np.ones(x.size)
            for i in others:
                if i != r:
                    term *= x - nodes[i]
            der[:, k] += term
        val[:, k] /= denom
        der[:, k] /= denom
    return val, der


@dataclass
class Collocation:
    """Mesh and matrices of degree-m orthogonal collocation with N intervals on [0, 1]."""

    mesh: np.ndarray  # (N+1,)
    degree: int

    def __post_init__(self) -> None:
        m = self.degree
        self.sigma = np.linspace(0.0, 1.0, m + 1)  # nodes within an interval
        gl, w = np.polynomial.legendre.leggauss(m)
        self.sigma_c = 0.5 * (gl + 1.0)  # Gauss points on [0, 1]
        self.w_c = 0.5 * w
        self.L, self.D = _lagrange(self.sigma, self.sigma_c)  # (m, m+1)
        n_int = self.n_intervals
        self.h = np.diff(self.mesh)
        self.idx = (np.arange(n_int)[:, None] * m + np.arange(m + 1)[None, :]) % (n_int * m)

    @property
    def n_intervals(self) -> int:
        return self.mesh.size - 1

    @property
    def n_nodes(self) -> int:
        return self.n_intervals * self.degree

    def node_times(self) -> np.ndarray:
        """τ of the N·m distinct nodes."""
        return (self.mesh[:-1, None] + self.h[:, None] * self.sigma[None, :-1]).ravel()

    def node_weights(self) -> np.ndarray:
        """Quadrature-like weights of the nodes (sum 1) for the arclength inner product."""
        m = self.degree
        w = np.repeat(self.h / m, m)
        w[::m] = 0.5 * (self.h + np.roll(self.h, 1)) / m
        return w

    def at_collocation(self, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """u and du/dτ at the collocation points, each (N, m, n), from node values (N·m, n)."""
        loc = u[self.idx]  # (N, m+1, n)
        x_c = np.einsum("ik,jkn->jin", self.L, loc)
        dx_c = np.einsum("ik,jkn->jin", self.D, loc) / self.h[:, None, None]
        return x_c, dx_c

    def evaluate(self, u: np.ndarray, tau: np.ndarray) -> np.ndarray:
        """The piecewise polynomial at times ``tau`` ∈ [0, 1] (len(tau), n)."""
        tau = np.mod(np.asarray(tau, dtype=float), 1.0)
        j = np.clip(np.searchsorted(self.mesh, tau, side="right") - 1, 0, self.n_intervals - 1)
        s = (tau - self.mesh[j]) / self.h[j]
        val, _ = _lagrange(self.sigma, s)
        return np.einsum("pk,pkn->pn", val, u[self.idx[j]])


# ---------------------------------------------------------------------------------------------
# model evaluation (vectorised when the right-hand side allows it)
# ---------------------------------------------------------------------------------------------
class _Model:
    def __init__(self, rhs: RHS, jac, dfdp, n: int, x_probe: np.ndarray, p_probe: float):
        self.rhs, self.jac, self.dfdp, self.n = rhs, jac, dfdp, n
        self.vec_rhs = self._probe_rhs(x_probe, p_probe)

    def _probe_rhs(self, x: np.ndarray, p: float) -> bool:
        pts = np.stack([x, 1.01 * x + 0.01])
        try:
            out = np.asarray(self.rhs(pts.T, p), dtype=float)
        except Exception:  # any failure means "not vectorised"
            return False
        ref = np.stack([np.asarray(self.rhs(pt, p), dtype=float) for pt in pts], axis=1)
        return out.shape == ref.shape and bool(np.allclose(out, ref, rtol=1e-13, atol=0))

    def f(self, xs: np.ndarray, p: float) -> np.ndarray:
        """f at points (M, n) -> (M, n)."""
        if self.vec_rhs:
            return np.asarray(self.rhs(xs.T, p), dtype=float).T
        return np.array([np.asarray(self.rhs(x, p), dtype=float) for x in xs])

    def jx(self, xs: np.ndarray, p: float, scale: np.ndarray) -> np.ndarray:
        """∂f/∂x at points (M, n) -> (M, n, n)."""
        if self.jac is not None:
            return np.array([np.asarray(self.jac(x, p), dtype=float) for x in xs])
        h = 1e-7 * np.maximum(np.abs(xs), scale[None, :])
        out = np.empty((xs.shape[0], self.n, self.n))
        for k in range(self.n):
            xp, xm = xs.copy(), xs.copy()
            xp[:, k] += h[:, k]
            xm[:, k] -= h[:, k]
            out[:, :, k] = (self.f(xp, p) - self.f(xm, p)) / (xp[:, k] - xm[:, k])[:, None]
        return out

    def fp(self, xs: np.ndarray, p: float, p_scale: float) -> np.ndarray:
        """∂f/∂p at points (M, n) -> (M, n)."""
        if self.dfdp is not None:
            return np.array([np.asarray(self.dfdp(x, p), dtype=float).ravel() for x in xs])
        h = 1e-7 * max(abs(p), p_scale)
        return (self.f(xs, p + h) - self.f(xs, p - h)) / (2 * h)


# ---------------------------------------------------------------------------------------------
# the collocation system
# ---------------------------------------------------------------------------------------------
@dataclass
class _System:
    model: _Model
    coll: Collocation
    xs: np.ndarray  # state scale (n,)
    t_scale: float
    p_ref: float
    p_scale: float

    @property
    def size(self) -> int:
        return self.coll.n_nodes * self.model.n + 2

    def unpack(self, z: np.ndarray) -> tuple[np.ndarray, float, float]:
        n = self.model.n
        u = z[:-2].reshape(-1, n) * self.xs
        return u, float(z[-2] * self.t_scale), float(self.p_ref + self.p_scale * z[-1])

    def pack(self, u: np.ndarray, period: float, p: float) -> np.ndarray:
        return np.concatenate(
            [(u / self.xs).ravel(), [period / self.t_scale, (p - self.p_ref) / self.p_scale]]
        )

    def weights(self) -> np.ndarray:
        w = np.repeat(self.coll.node_weights(), self.model.n)
        return np.concatenate([w, [1.0, 1.0]])

    def phase_row(self, u_ref: np.ndarray) -> np.ndarray:
        """Coefficients of ∫⟨u, u_ref'⟩dτ in the scaled unknowns (row over U only)."""
        c = self.coll
        _, du_ref = c.at_collocation(u_ref)  # (N, m, n)
        wts = c.h[:, None] * c.w_c[None, :]  # (N, m)
        contrib = np.einsum("ji,ik,jin->jkn", wts, c.L, du_ref)  # (N, m+1, n)
        row = np.zeros((c.n_nodes, self.model.n))
        np.add.at(row, c.idx.ravel(), contrib.reshape(-1, self.model.n))
        row = row * self.xs
        return np.concatenate([row.ravel(), [0.0, 0.0]])

    def residual(self, z: np.ndarray) -> np.ndarray:
        """Collocation residual, scaled by 1/x_scale (N·m·n,)."""
        u, period, p = self.unpack(z)
        x_c, dx_c = self.coll.at_collocation(u)
        n = self.model.n
        f_c = self.model.f(x_c.reshape(-1, n), p).reshape(x_c.shape)
        return ((dx_c - period * f_c) / self.xs).ravel()

    def jacobian(self, z: np.ndarray) -> tuple[np.ndarray, sp.csr_matrix, np.ndarray]:
        """Residual, its sparse Jacobian w.r.t. z (N·m·n × N·m·n+2) and J at collocation."""
        c, n = self.coll, self.model.n
        u, period, p = self.unpack(z)
        x_c, dx_c = c.at_collocation(u)
        pts = x_c.reshape(-1, n)
        f_c = self.model.f(pts, p).reshape(x_c.shape)
        j_c = self.model.jx(pts, p, self.xs).reshape(c.n_intervals, c.degree, n, n)
        fp_c = self.model.fp(pts, p, self.p_scale).reshape(x_c.shape)
        res = ((dx_c - period * f_c) / self.xs).ravel()
        m, n_int = c.degree, c.n_intervals
        eye = np.eye(n)
        # block[j, i, k, a, b] = (D_ik / h_j δ_ab − T L_ik J_jiab) · xs_b / xs_a
        blocks = (c.D[None, :, :, None, None] / c.h[:, None, None, None, None]) * eye - period * (
            c.L[None, :, :, None, None] * j_c[:, :, None, :, :]
        )
        blocks = blocks * self.xs[None, None, None, None, :] / self.xs[None, None, None, :, None]
        rows = (
            np.arange(n_int)[:, None, None, None, None] * m
            + np.arange(m)[None, :, None, None, None]
        ) * n + np.arange(n)[None, None, None, :, None]
        cols = c.idx[:, None, :, None, None] * n + np.arange(n)[None, None, None, None, :]
        rows, cols = np.broadcast_arrays(rows, cols, blocks)[:2]
        nu = c.n_nodes * n
        col_t = (-f_c * self.t_scale / self.xs).ravel()
        col_p = (-period * fp_c * self.p_scale / self.xs).ravel()
        r_all = np.concatenate([rows.ravel(), np.arange(nu), np.arange(nu)])
        c_all = np.concatenate([cols.ravel(), np.full(nu, nu), np.full(nu, nu + 1)])
        v_all = np.concatenate([blocks.ravel(), col_t, col_p])
        mat = sp.csr_matrix((v_all, (r_all, c_all)), shape=(nu, nu + 2))
        return res, mat, j_c


def _solve_bordered(mat: sp.csr_matrix, rows: list[np.ndarray], rhs: np.ndarray) -> np.ndarray:
    """Solve [[mat], [rows…]] x = rhs (rows scaled to unit max)."""
    extra = np.array([r / max(np.max(np.abs(r)), 1e-300) for r in rows])
    scale = np.array([max(np.max(np.abs(r)), 1e-300) for r in rows])
    full = sp.vstack([mat, sp.csr_matrix(extra)]).tocsc()
    b = rhs.copy()
    b[-len(rows) :] = b[-len(rows) :] / scale
    return spla.splu(full).solve(b)


def _newton(
    sysm: _System,
    z0: np.ndarray,
    phase: np.ndarray,
    normal: np.ndarray,
    anchor: np.ndarray,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int, bool]:
    """Newton on collocation + phase (row ``phase``) + normal·(z − anchor) = 0."""

    def step(z: np.ndarray) -> np.ndarray | None:
        res, mat, _ = sysm.jacobian(z)
        rhs = -np.concatenate([res, [phase @ z, normal @ (z - anchor)]])
        try:
            return _solve_bordered(mat, [phase, normal], rhs)
        except RuntimeError:  # singular factor
            return None

    return newton_iterate(z0, step, tol, max_iter, admissible=lambda z: z[-2] > 0)


def _tangent(sysm: _System, z: np.ndarray, phase: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Unit tangent (weighted norm) of the branch at z, oriented along ``ref``."""
    _, mat, _ = sysm.jacobian(z)
    w = sysm.weights()
    rhs = np.zeros(mat.shape[0] + 2)
    rhs[-1] = 1.0
    t = _solve_bordered(mat, [phase, w * ref], rhs)
    t = t / np.sqrt(t @ (w * t))
    return t if t @ (w * ref) >= 0 else -t


def floquet_multipliers(sysm: _System, z: np.ndarray) -> np.ndarray:
    """Floquet multipliers by condensation of the linearised collocation equations.

    On interval j the linearised equations A_j [δu_0; δu_1..m] = 0 give δu_m = M_j δu_0; the
    monodromy matrix is M_{N−1}⋯M_0. Returned sorted by descending modulus.
    """
    return _floquet(sysm, z)[0]


def _floquet(sysm: _System, z: np.ndarray) -> tuple[np.ndarray, int]:
    """Multipliers (descending modulus) and the index of the trivial one: the multiplier whose
    eigenvector is most nearly parallel to the flow f(u(0)) (not merely the one closest to 1,
    which is ambiguous near a Hopf point where a second multiplier is also ≈ 1)."""
    c, n = sysm.coll, sysm.model.n
    u, period, p = sysm.unpack(z)
    x_c, _ = c.at_collocation(u)
    j_c = sysm.model.jx(x_c.reshape(-1, n), p, sysm.xs).reshape(c.n_intervals, c.degree, n, n)
    m = c.degree
    # blocks[j, i, a, k, b] = D_ik/h_j δ_ab − T L_ik J_jiab
    blocks = (c.D[None, :, None, :, None] / c.h[:, None, None, None, None]) * np.eye(n)[
        None, None, :, None, :
    ] - period * c.L[None, :, None, :, None] * j_c.transpose(0, 1, 2, 3)[:, :, :, None, :]
    blocks = blocks.reshape(c.n_intervals, m * n, (m + 1) * n)
    sols = -np.linalg.solve(blocks[:, :, n:], blocks[:, :, :n])  # (N, m n, n)
    mono = np.eye(n)
    for j in range(c.n_intervals):
        mono = sols[j, -n:] @ mono
    mu, vecs = np.linalg.eig(mono)
    order = np.argsort(-np.abs(mu))
    mu, vecs = mu[order], vecs[:, order] / sysm.xs[:, None]
    flow = sysm.model.f(u[:1], p)[0] / sysm.xs
    cos = np.abs(flow @ vecs) / (np.linalg.norm(vecs, axis=0) * np.linalg.norm(flow) + 1e-300)
    return mu, int(np.argmax(cos))


# ---------------------------------------------------------------------------------------------
# mesh adaptation
# ---------------------------------------------------------------------------------------------
def _adapted_mesh(coll: Collocation, u_scaled: np.ndarray) -> np.ndarray:
    """New mesh equidistributing |u^(m+1)|^(1/(m+1)) (AUTO), with a floor against empty zones."""
    m, n_int, h = coll.degree, coll.n_intervals, coll.h
    loc = u_scaled[coll.idx]  # (N, m+1, n)
    # m-th derivative on each interval (constant): m-th difference of equispaced nodes
    diff = loc
    for _ in range(m):
        diff = np.diff(diff, axis=1)
    dm = diff[:, 0, :] / (h[:, None] / m) ** m  # (N, n)
    hm = 0.5 * (h + np.roll(h, 1))
    w_mesh = np.linalg.norm(dm - np.roll(dm, 1, axis=0), axis=1) / hm  # at mesh point j
    rho = (0.5 * (w_mesh + np.roll(w_mesh, -1))) ** (1.0 / (m + 1))
    rho = np.maximum(rho, 0.05 * np.mean(rho) + 1e-300)
    cum = np.concatenate([[0.0], np.cumsum(rho * h)])
    targets = np.linspace(0.0, cum[-1], n_int + 1)
    new = np.interp(targets, cum, coll.mesh)
    new[0], new[-1] = 0.0, 1.0
    return new


def _remesh(sysm: _System, z: np.ndarray, new_mesh: np.ndarray) -> np.ndarray:
    """Interpolate the z-vector (profile part) onto a new mesh of the same size."""
    new_coll = Collocation(new_mesh, sysm.coll.degree)
    u = z[:-2].reshape(-1, sysm.model.n)
    u_new = sysm.coll.evaluate(u, new_coll.node_times())
    return np.concatenate([u_new.ravel(), z[-2:]])


# ---------------------------------------------------------------------------------------------
# branch
# ---------------------------------------------------------------------------------------------
@dataclass
class _Cyc:
    z: np.ndarray
    t: np.ndarray
    mu: np.ndarray
    pd: float  # Π(1 + μ) over the non-trivial multipliers, real
    trivial: int  # index of the trivial multiplier in mu


def _orbit_data(sysm: _System, z: np.ndarray, n_fine: int = 16):
    """Times and node states of the orbit, and the min/max of each component."""
    coll = sysm.coll
    u, period, _ = sysm.unpack(z)
    tau_f = (
        coll.mesh[:-1, None] + coll.h[:, None] * np.linspace(0, 1, n_fine + 1)[None, :-1]
    ).ravel()
    uf = coll.evaluate(u, tau_f)
    ext = []
    for arr, fn in ((uf, np.argmin), (-uf, np.argmin)):
        vals = np.empty(uf.shape[1])
        for k in range(uf.shape[1]):
            i = int(fn(arr[:, k]))
            y0, y1, y2 = arr[i - 1, k], arr[i, k], arr[(i + 1) % len(arr), k]
            den = y0 - 2 * y1 + y2  # parabolic refinement at the discrete extremum
            d = 0.5 * (y0 - y2) / den if den > 0 else 0.0
            dt = (tau_f[(i + 1) % len(tau_f)] - tau_f[i - 1]) % 1.0 / 2
            vals[k] = coll.evaluate(u, np.array([tau_f[i] + d * dt]))[0, k]
        ext.append(vals)
    times = np.append(coll.node_times(), 1.0) * period
    states = np.vstack([u, u[:1]])
    return (times, states), ext[0], ext[1]


def _amplitude2(sysm: _System, z: np.ndarray) -> float:
    """Weighted mean square deviation of the scaled orbit from its mean."""
    w = sysm.coll.node_weights()[:, None]
    d = z[:-2].reshape(-1, sysm.model.n)
    d = d - (w * d).sum(axis=0)
    return float((w * d * d).sum())


def _profile_correlation(sysm: _System, z1: np.ndarray, z2: np.ndarray) -> float:
    """Weighted correlation of the two orbits' deviations from their means (same mesh)."""
    w = sysm.coll.node_weights()[:, None]
    n = sysm.model.n
    d1, d2 = z1[:-2].reshape(-1, n), z2[:-2].reshape(-1, n)
    d1 = d1 - (w * d1).sum(axis=0)
    d2 = d2 - (w * d2).sum(axis=0)
    return float((w * d1 * d2).sum() / np.sqrt((w * d1 * d1).sum() * (w * d2 * d2).sum()))


def _is_stable(mu: np.ndarray, trivial: int) -> bool:
    """All multipliers but the trivial one inside the unit circle."""
    rest = np.delete(mu, trivial)
    return bool(rest.size == 0 or np.max(np.abs(rest)) < 1.0)


#: the monodromy matrix is trusted (for period-doubling detection) while the computed trivial
#: multiplier is within this distance of 1; near a homoclinic orbit (period → ∞) the other
#: multipliers reach 1e±10 and the sign of Π(1 + μ) becomes noise
TRIVIAL_MULTIPLIER_TOL = 1e-3


def _reliable(cycle: _Cyc) -> bool:
    return bool(abs(cycle.mu[cycle.trivial] - 1.0) < TRIVIAL_MULTIPLIER_TOL)


def _pd_test(mu: np.ndarray, trivial: int) -> float:
    return float(np.prod(1.0 + np.delete(mu, trivial)).real)


def _check(hopf, p_min, p_max, n_intervals, degree, ds, ds_min, ds_max, max_points, amplitude):
    if not isinstance(hopf, SpecialPoint) or hopf.kind != "hopf":
        raise out_of_range("hopf", getattr(hopf, "kind", hopf), "a SpecialPoint of kind 'hopf'")
    if not p_min < p_max:
        raise out_of_range("p_max", p_max, f"> p_min = {p_min}")
    if not p_min <= hopf.param_value <= p_max:
        raise out_of_range("hopf", hopf.param_value, f"a Hopf point inside [{p_min}, {p_max}]")
    if not 4 <= n_intervals <= 2000:
        raise out_of_range("n_intervals", n_intervals, "4..2000")
    if not 1 <= degree <= 7:
        raise out_of_range("degree", degree, "1..7")
    if not 0 < ds_min <= ds <= ds_max:
        raise out_of_range("ds", ds, f"ds_min = {ds_min} <= ds <= ds_max = {ds_max}, ds_min > 0")
    if max_points < 2:
        raise out_of_range("max_points", max_points, ">= 2")
    if not 0 < amplitude < 0.5:
        raise out_of_range("amplitude", amplitude, "(0, 0.5) (relative to the state scale)")


def continue_limit_cycles(
    rhs: RHS,
    hopf: SpecialPoint,
    p_min: float,
    p_max: float,
    *,
    jac: Callable[[np.ndarray, float], np.ndarray] | None = None,
    dfdp: Callable[[np.ndarray, float], np.ndarray] | None = None,
    n_intervals: int = 60,
    degree: int = 4,
    ds: float = 0.02,
    ds_min: float = 1e-6,
    ds_max: float = 0.2,
    max_points: int = 200,
    amplitude: float = 1e-3,
    tol: float = 1e-9,
    x_scale: np.ndarray | float | None = None,
    period_max_factor: float = 20.0,
    adapt_mesh: bool = True,
    param_name: str | None = None,
) -> CycleBranch:
    """Follow the limit cycles born at ``hopf`` while p stays in [p_min, p_max].

    The first cycle is u = x_H + amplitude·x_scale·Re(q e^{2πiτ}) (q the critical eigenvector,
    normalised in the scaled norm), corrected by Newton. ``ds`` etc. are pseudo-arclength steps
    in the scaled unknowns (u/x_scale, T/T_Hopf, p/(p_max − p_min)); ``x_scale`` defaults to
    max(|x_H,k|, 1e-3‖x_H‖∞). Stops at the parameter bounds, after ``max_points`` cycles, on
    step-size failure, when T > ``period_max_factor``·T_Hopf ("period_blowup"), or when the
    cycles shrink onto another Hopf point (endpoint reason "hopf", ``data["hopf_estimate"]`` an
    extrapolated parameter value of that point; locate it on the equilibrium branch).
    """
    _check(hopf, p_min, p_max, n_intervals, degree, ds, ds_min, ds_max, max_points, amplitude)
    name = param_name if param_name is not None else hopf.param_name
    x_h = np.asarray(hopf.state, dtype=float)
    p_h = float(hopf.param_value)
    n = x_h.size
    if x_scale is None:
        big = float(np.max(np.abs(x_h)))
        xs = np.maximum(np.abs(x_h), 1e-3 * big) if big > 0 else np.ones(n)
    else:
        xs = np.broadcast_to(np.asarray(x_scale, dtype=float), (n,)).copy()
    model = _Model(rhs, jac, dfdp, n, x_h, p_h)
    a_mat = model.jx(x_h[None, :], p_h, xs)[0]
    lam, vecs = np.linalg.eig(a_mat)
    k = int(np.argmin(np.abs(lam.real) + 1e300 * (lam.imag <= 0)))
    omega = float(lam[k].imag)
    if not omega > 0:
        raise out_of_range("hopf", p_h, "a point with a complex pair ±iω (ω > 0)")
    q = vecs[:, k]
    period_h = 2 * np.pi / omega
    coll = Collocation(np.linspace(0.0, 1.0, n_intervals + 1), degree)
    sysm = _System(model, coll, xs, period_h, p_h, float(p_max - p_min))
    q_lo, q_hi = (p_min - p_h) / sysm.p_scale, (p_max - p_h) / sysm.p_scale

    tau = coll.node_times()
    phi = np.real(q[None, :] * np.exp(2j * np.pi * tau)[:, None]) / xs  # scaled profile
    t0 = np.concatenate([phi.ravel(), [0.0, 0.0]])
    t0 = t0 / np.sqrt(t0 @ (sysm.weights() * t0))
    z_h = sysm.pack(np.tile(x_h, (coll.n_nodes, 1)), period_h, p_h)
    for amp in (amplitude, 0.1 * amplitude, 0.01 * amplitude):
        z_pred = z_h + amp * t0
        phase = sysm.phase_row(sysm.unpack(z_pred)[0])
        z1, _, ok = _newton(sysm, z_pred, phase, sysm.weights() * t0, z_pred, tol, 20)
        if ok:
            break
    else:
        raise RuntimeError(
            f"could not converge the first cycle at the Hopf point {name} = {p_h} "
            f"(amplitudes {amplitude:g} to {0.01 * amplitude:g} tried)"
        )
    t1 = _tangent(sysm, z1, phase, t0)
    mu, triv = _floquet(sysm, z1)
    cur = _Cyc(z1, t1, mu, _pd_test(mu, triv), triv)
    records = [(sysm.coll, cur)]
    points: list[SpecialPoint] = []
    reason = "max_points"
    hopf_end = float("nan")

    def special(kind: str, c: _Cyc, extra: dict) -> SpecialPoint:
        u, period, p = sysm.unpack(c.z)
        _, lo, hi = _orbit_data(sysm, c.z)
        data = {"period": period, "x_min": lo, "x_max": hi, **extra}
        return SpecialPoint(kind, p, u[0], data, name)

    while len(records) < max_points:
        phase = sysm.phase_row(sysm.unpack(cur.z)[0])
        z_pred = cur.z + ds * cur.t
        w = sysm.weights()
        z_new, its, ok = _newton(sysm, z_pred, phase, w * cur.t, z_pred, tol, 8)
        if ok:
            t_new = _tangent(sysm, z_new, phase, cur.t)
            step = np.sqrt((z_new - cur.z) @ (w * (z_new - cur.z)))
            if t_new @ (w * cur.t) < 0.95 or step > 2 * ds:
                ok = False
        if not ok:
            if ds <= ds_min * 1.0000001:
                reason = "step_failure"
                break
            ds = max(0.5 * ds, ds_min)
            continue
        mu, triv = _floquet(sysm, z_new)
        new = _Cyc(z_new, t_new, mu, _pd_test(mu, triv), triv)
        bound = None
        if z_new[-1] > q_hi or z_new[-1] < q_lo:
            bound = q_hi if z_new[-1] > q_hi else q_lo
            new, _ = _locate(sysm, phase, cur, new, lambda c, b=bound: c.z[-1] - b, tol)
        if np.sign(cur.t[-1]) * np.sign(new.t[-1]) < 0:
            fc, located = _locate(sysm, phase, cur, new, lambda c: c.t[-1], tol)
            if _profile_correlation(sysm, cur.z, new.z) < 0:
                # the profile flipped: the branch went through zero amplitude, i.e. it ended at
                # another Hopf point; stop at the last cycle, estimate the Hopf value from
                # amplitude² ∝ p − p_H over the last two cycles
                prev = records[-2][1] if len(records) > 1 else cur
                a0, a1 = _amplitude2(sysm, prev.z), _amplitude2(sysm, cur.z)
                p0, p1 = sysm.unpack(prev.z)[2], sysm.unpack(cur.z)[2]
                hopf_end = p1 + (p1 - p0) * a1 / (a0 - a1) if a0 > a1 else p1
                reason = "hopf"
                break
            points.append(special("fold_cycle", fc, {"located": located}))
        if np.sign(cur.pd) * np.sign(new.pd) < 0 and _reliable(cur) and _reliable(new):
            pd, located = _locate(sysm, phase, cur, new, lambda c: c.pd, tol)
            points.append(special("period_doubling", pd, {"located": located}))
        records.append((sysm.coll, new))
        cur = new
        period = sysm.unpack(cur.z)[1]
        if bound is not None:
            reason = "p_max" if bound == q_hi else "p_min"
            break
        if period > period_max_factor * period_h:
            points.append(special("period_blowup", cur, {"period_hopf": period_h}))
            reason = "period_blowup"
            break
        if its <= 3:
            ds = min(1.5 * ds, ds_max)
        elif its >= 6:
            ds = max(0.6 * ds, ds_min)
        if adapt_mesh:
            new_mesh = _adapted_mesh(sysm.coll, cur.z[:-2].reshape(-1, n))
            z_r, t_r = _remesh(sysm, cur.z, new_mesh), _remesh(sysm, cur.t, new_mesh)
            sysm.coll = Collocation(new_mesh, degree)
            ph = sysm.phase_row(sysm.unpack(z_r)[0])
            z_c, _, ok = _newton(sysm, z_r, ph, sysm.weights() * t_r, z_r, tol, 8)
            if ok:
                cur = _Cyc(z_c, _tangent(sysm, z_c, ph, t_r), cur.mu, cur.pd, cur.trivial)
            else:  # keep the old mesh
                sysm.coll = records[-1][0]

    extra = {"reason": reason}
    if reason == "hopf":
        extra["hopf_estimate"] = hopf_end
    end = special("endpoint", cur, extra)
    points.append(end)
    p_arr, per, xmin, xmax, mus, stab, orbits = [], [], [], [], [], [], []
    saved = sysm.coll
    for coll_k, c in records:
        sysm.coll = coll_k
        _, period, p = sysm.unpack(c.z)
        orbit, lo, hi = _orbit_data(sysm, c.z)
        p_arr.append(p)
        per.append(period)
        xmin.append(lo)
        xmax.append(hi)
        mus.append(c.mu)
        stab.append(_is_stable(c.mu, c.trivial))
        orbits.append(orbit)
    sysm.coll = saved
    return CycleBranch(
        np.array(p_arr),
        np.array(per),
        np.array(xmin),
        np.array(xmax),
        np.array(mus),
        np.array(stab),
        points,
        orbits,
        name,
    )


def _locate(
    sysm: _System, phase: np.ndarray, a: _Cyc, b: _Cyc, test: Callable[[_Cyc], float], tol: float
) -> tuple[_Cyc, bool]:
    """Zero of ``test`` between cycles a and b (Brent on hyperplane sections of the branch)."""
    w = sysm.weights()
    chord = b.z - a.z
    length = float(np.sqrt(chord @ (w * chord)))
    d = chord / length

    def at(s: float) -> _Cyc:
        if s <= 0:
            return a
        if s >= length:
            return b
        guess = a.z + (s / length) * chord
        z, _, ok = _newton(sysm, guess, phase, w * d, guess, min(tol, 1e-10), 20)
        if not ok:
            raise RuntimeError("section corrector failed")
        t = _tangent(sysm, z, phase, a.t)
        mu, triv = _floquet(sysm, z)
        return _Cyc(z, t, mu, _pd_test(mu, triv), triv)

    try:
        s_star = brentq(lambda s: test(at(s)), 0.0, length, xtol=1e-12 * length, maxiter=100)
        return at(s_star), True
    except (RuntimeError, ValueError):
        ta, tb = test(a), test(b)
        wgt = ta / (ta - tb) if ta != tb else 0.5
        return (a if wgt < 0.5 else b), False
