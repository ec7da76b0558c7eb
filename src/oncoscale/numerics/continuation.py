"""Pseudo-arclength continuation of equilibria and location of their bifurcations.

Follows equilibria of x' = f(x, p) in a scalar parameter p in scaled variables, and locates
folds, branch points and Hopf points (with ω, period and first Lyapunov coefficient) by solving
their defining systems. Derivation and details: docs/numerics.md, section 'Continuation of
equilibria and location of their bifurcations'.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
from scipy.optimize import brentq

from oncoscale.errors import InputError, out_of_range
from oncoscale.numerics.bifurcation_types import EquilibriumBranch, SpecialPoint
from oncoscale.numerics.newton import newton_iterate

RHS = Callable[[np.ndarray, float], np.ndarray]
JAC = Callable[[np.ndarray, float], np.ndarray]

_EPS = np.finfo(float).eps
#: a Hopf point with |l1| <= DEGENERATE_L1·ω/X² (X the state scale) is reported "degenerate"
DEGENERATE_L1 = 1e-7

__all__ = [
    "EquilibriumBranch",
    "SpecialPoint",
    "continue_equilibria",
    "equilibrium_stability",
    "fd_dfdp",
    "fd_jacobian",
    "first_lyapunov_coefficient",
]


# ---------------------------------------------------------------------------------------------
# derivatives
# ---------------------------------------------------------------------------------------------
def fd_jacobian(rhs: RHS, x: np.ndarray, p: float, scale: np.ndarray | None = None) -> np.ndarray:
    """Fourth-order central finite-difference Jacobian ∂f/∂x (step 1e-3·max(|x_k|, scale_k))."""
    x = np.asarray(x, dtype=float)
    n = x.size
    sc = np.ones(n) if scale is None else np.asarray(scale, dtype=float)
    h = 1e-3 * np.maximum(np.abs(x), sc)
    out = np.empty((n, n))
    for k in range(n):
        cols = []
        for m in (1.0, -1.0, 2.0, -2.0):
            xk = x.copy()
            xk[k] += m * h[k]
            cols.append(np.asarray(rhs(xk, p), dtype=float))
        out[:, k] = (8 * (cols[0] - cols[1]) - (cols[2] - cols[3])) / (12 * h[k])
    return out


def fd_dfdp(rhs: RHS, x: np.ndarray, p: float, scale: float = 1.0) -> np.ndarray:
    """Fourth-order central finite-difference ∂f/∂p (step 1e-3·max(|p|, scale))."""
    h = 1e-3 * max(abs(p), scale)
    f = [np.asarray(rhs(x, p + m * h), dtype=float) for m in (1.0, -1.0, 2.0, -2.0)]
    return (8 * (f[0] - f[1]) - (f[2] - f[3])) / (12 * h)


def equilibrium_stability(jac_matrix: np.ndarray) -> tuple[np.ndarray, bool]:
    """Eigenvalues of J sorted by real part (descending) and linear stability (all Re λ < 0)."""
    eig = np.linalg.eigvals(np.atleast_2d(np.asarray(jac_matrix, dtype=float)))
    eig = eig[np.lexsort((-eig.imag, -eig.real))].astype(complex)
    return eig, bool(np.max(eig.real) < 0)


# ---------------------------------------------------------------------------------------------
# first Lyapunov coefficient
# ---------------------------------------------------------------------------------------------
def _bilinear(jac: JAC, x: np.ndarray, p: float, u: np.ndarray, v: np.ndarray, h: float):
    """B(u, v) = d/dε [J(x + εu) v] at ε = 0 (fourth-order central differences, real u, v)."""
    j1 = jac(x + h * u, p) - jac(x - h * u, p)
    j2 = jac(x + 2 * h * u, p) - jac(x - 2 * h * u, p)
    return ((8 * j1 - j2) @ v) / (12 * h)


def _trilinear(jac: JAC, x: np.ndarray, p: float, u: np.ndarray, v: np.ndarray, h: float):
    """C(u, u, v) = d²/dε² [J(x + εu) v] at ε = 0 (fourth-order central differences)."""
    j0 = jac(x, p)
    j1 = jac(x + h * u, p) + jac(x - h * u, p)
    j2 = jac(x + 2 * h * u, p) + jac(x - 2 * h * u, p)
    return ((16 * j1 - j2 - 30 * j0) @ v) / (12 * h * h)


def _cbilinear(jac, x, p, u: np.ndarray, v: np.ndarray, h: float) -> np.ndarray:
    """Complex extension of the symmetric bilinear form B."""
    ur, ui, vr, vi = u.real, u.imag, v.real, v.imag
    b = _bilinear
    re = b(jac, x, p, ur, vr, h) - b(jac, x, p, ui, vi, h)
    im = b(jac, x, p, ur, vi, h) + b(jac, x, p, ui, vr, h)
    return re + 1j * im


def _l1_once(jac: JAC, x: np.ndarray, p: float, h1: float, h2: float) -> tuple[float, float]:
    a_mat = np.asarray(jac(x, p), dtype=float)
    n = a_mat.shape[0]
    lam, vecs = np.linalg.eig(a_mat)
    cand = np.where(lam.imag > 1e-14 * max(1.0, np.max(np.abs(lam))))[0]
    if cand.size == 0:
        raise ValueError("no complex eigenvalue pair: not a Hopf point")
    k = cand[np.argmin(np.abs(lam[cand].real))]
    omega = float(lam[k].imag)
    q = vecs[:, k] / np.linalg.norm(vecs[:, k])
    lam_t, vecs_t = np.linalg.eig(a_mat.T)
    kt = np.argmin(np.abs(lam_t - np.conj(lam[k])))
    pv = vecs_t[:, kt]
    pv = pv / np.conj(np.vdot(pv, q))  # <p, q> = p̄ᵀq = 1
    a, b = q.real, q.imag
    b_qq = _cbilinear(jac, x, p, q, q, h1)
    b_qqc = _cbilinear(jac, x, p, q, np.conj(q), h1)
    tri = _trilinear
    c_qqqc = (
        tri(jac, x, p, a, a, h2)
        + tri(jac, x, p, b, a, h2)
        + 1j * (tri(jac, x, p, a, b, h2) + tri(jac, x, p, b, b, h2))
    )
    h11 = np.linalg.solve(a_mat, b_qqc)  # A⁻¹ B(q, q̄)
    h20 = np.linalg.solve(2j * omega * np.eye(n) - a_mat, b_qq)  # (2iω − A)⁻¹ B(q, q)
    val = (
        np.vdot(pv, c_qqqc)
        - 2 * np.vdot(pv, _cbilinear(jac, x, p, q, h11, h1))
        + np.vdot(pv, _cbilinear(jac, x, p, np.conj(q), h20, h1))
    )
    return float(val.real / (2 * omega)), omega


def _l1_with_error(
    rhs: RHS, x: np.ndarray, p: float, jac: JAC | None, x_scale: float | None
) -> tuple[float, float]:
    x = np.asarray(x, dtype=float)
    scale = float(x_scale) if x_scale is not None else float(np.max(np.abs(x)))
    if not scale >= 1e-6 and x_scale is None:  # at (or next to) the origin: unit scale
        scale = 1.0
    if jac is None:
        sc = np.full(x.size, scale)

        def jac_fd(y, pp):
            return fd_jacobian(rhs, y, pp, sc)

        j = jac_fd
        h1, h2 = 1e-2 * scale, 2e-2 * scale  # nested differences: larger steps
    else:

        def j(y, pp):
            return np.asarray(jac(y, pp), dtype=float)

        h1, h2 = 1e-3 * scale, 3e-3 * scale  # ~ε^(1/5), ε^(1/6) for 4th-order stencils
    l1a, _ = _l1_once(j, x, p, h1, h2)
    l1b, _ = _l1_once(j, x, p, 2 * h1, 2 * h2)
    return l1a, abs(l1a - l1b)


def first_lyapunov_coefficient(
    rhs: RHS, x: np.ndarray, p: float, *, jac: JAC | None = None, x_scale: float | None = None
) -> float:
    """First Lyapunov coefficient l1 at a Hopf point (x, p) (Kuznetsov, Elements, eq. 3.20).

    l1 = Re[⟨p, C(q,q,q̄)⟩ − 2⟨p, B(q, A⁻¹B(q,q̄))⟩ + ⟨p, B(q̄, (2iω−A)⁻¹B(q,q))⟩] / (2ω)
    with A q = iωq, Aᵀp = −iωp, ⟨q, q⟩ = ⟨p, q⟩ = 1 (Euclidean, original coordinates). B and C
    are the second and third derivatives of f, from fourth-order central differences of the
    Jacobian with steps relative to ``x_scale`` (default ‖x‖∞, or 1 if that is below 1e-6: pass
    the natural state scale for states near 0 in small units). l1 < 0: supercritical.
    Units: 1/(time · state²). For ẋ = px − y + s x(x²+y²), ẏ = x + py + s y(x²+y²): l1 = 2s.
    """
    return _l1_with_error(rhs, x, p, jac, x_scale)[0]


# ---------------------------------------------------------------------------------------------
# scaled problem
# ---------------------------------------------------------------------------------------------
@dataclass
class _Scaled:
    """x = xs·y, p = p_ref + ps·q; z = (y, q)."""

    rhs: RHS
    jac: JAC | None
    dfdp: JAC | None
    xs: np.ndarray
    p_ref: float
    ps: float

    def xp(self, z: np.ndarray) -> tuple[np.ndarray, float]:
        return self.xs * z[:-1], float(self.p_ref + self.ps * z[-1])

    def z(self, x: np.ndarray, p: float) -> np.ndarray:
        return np.append(np.asarray(x, dtype=float) / self.xs, (p - self.p_ref) / self.ps)

    def f(self, x: np.ndarray, p: float) -> np.ndarray:
        return np.asarray(self.rhs(x, p), dtype=float)

    def jx(self, x: np.ndarray, p: float) -> np.ndarray:
        if self.jac is not None:
            return np.asarray(self.jac(x, p), dtype=float)
        return fd_jacobian(self.rhs, x, p, self.xs)

    def jp(self, x: np.ndarray, p: float) -> np.ndarray:
        if self.dfdp is not None:
            return np.asarray(self.dfdp(x, p), dtype=float).reshape(-1)
        return fd_dfdp(self.rhs, x, p, self.ps)

    def residual_and_jac(self, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """f, the scaled Jacobian [f_x·xs, f_p·ps] and the unscaled J = f_x."""
        x, p = self.xp(z)
        jx = self.jx(x, p)
        big = np.empty((x.size, x.size + 1))
        big[:, :-1] = jx * self.xs[None, :]
        big[:, -1] = self.jp(x, p) * self.ps
        return self.f(x, p), big, jx


def _newton_section(
    prob: _Scaled,
    z0: np.ndarray,
    normal: np.ndarray,
    anchor: np.ndarray,
    tol: float,
    max_iter: int,
) -> tuple[np.ndarray, int, bool]:
    """Solve f(z) = 0, normal·(z − anchor) = 0 by Newton from z0."""

    def step(z: np.ndarray) -> np.ndarray:
        f, big, _ = prob.residual_and_jac(z)
        mat = np.vstack([big, normal])
        rhs = -np.append(f, normal @ (z - anchor))
        try:
            return np.linalg.solve(mat, rhs)
        except np.linalg.LinAlgError:  # exactly singular (e.g. on a branch point): least squares
            return np.linalg.lstsq(mat, rhs, rcond=None)[0]

    return newton_iterate(z0, step, tol, max_iter)


def _tangent(big: np.ndarray, ref: np.ndarray | None) -> np.ndarray:
    """Unit null vector of the scaled n×(n+1) Jacobian, oriented along ``ref``."""
    if ref is None:
        t = np.linalg.svd(big)[2][-1]
    else:
        mat = np.vstack([big, ref])
        rhs = np.zeros(mat.shape[0])
        rhs[-1] = 1.0
        try:
            t = np.linalg.solve(mat, rhs)
        except np.linalg.LinAlgError:
            t = np.linalg.svd(big)[2][-1]
    t = t / np.linalg.norm(t)
    if ref is not None and t @ ref < 0:
        t = -t
    return t


def _hopf_psi(eig: np.ndarray) -> float:
    """Scaled bialternate test function Π_{i<j} (λ_i + λ_j)/ρ (real)."""
    n = eig.size
    if n < 2:
        return 1.0
    rho = max(float(np.max(np.abs(eig))), 1e-300)
    i, j = np.triu_indices(n, 1)
    return float(np.prod((eig[i] + eig[j]) / rho).real)


@dataclass
class _Pt:
    z: np.ndarray  # scaled (y, q), in the scaling current when the point was made
    t: np.ndarray
    ext: float  # det [[F_z], [tᵀ]]
    eig: np.ndarray
    psi: float
    x: np.ndarray  # original coordinates
    p: float


def _point(prob: _Scaled, z: np.ndarray, ref: np.ndarray | None) -> _Pt:
    _, big, jx = prob.residual_and_jac(z)
    t = _tangent(big, ref)
    ext = float(np.linalg.det(np.vstack([big, t])))
    eig, _ = equilibrium_stability(jx)
    x, p = prob.xp(z)
    return _Pt(z, t, ext, eig, _hopf_psi(eig), x, p)


def _rescaled(prob: _Scaled, pt: _Pt, new_xs: np.ndarray) -> _Pt:
    """Change the state scale to ``new_xs`` (in place on ``prob``) and re-express ``pt``."""
    t_orig = pt.t[:-1] * prob.xs
    prob.xs = new_xs
    ref = np.append(t_orig / new_xs, pt.t[-1])
    return _point(prob, prob.z(pt.x, pt.p), ref / np.linalg.norm(ref))


def _locate(
    prob: _Scaled, a: _Pt, b: _Pt, test: Callable[[_Pt], float], tol: float
) -> tuple[_Pt, bool]:
    """Zero of ``test`` on the branch between a and b (Brent on hyperplane sections)."""
    chord = b.z - a.z
    length = float(np.linalg.norm(chord))
    d = chord / length

    def at(s: float) -> _Pt:
        if s <= 0:
            return a
        if s >= length:
            return b
        guess = a.z + (s / length) * chord
        z, _, ok = _newton_section(prob, guess, d, guess, min(tol, 1e-12), 30)
        if not ok:
            raise RuntimeError("section corrector failed")
        return _point(prob, z, d if a.t @ d > 0 else -d)

    try:
        s_star = brentq(
            lambda s: test(at(s)), 0.0, length, xtol=1e-14 * length, rtol=4 * _EPS, maxiter=200
        )
        return at(s_star), True
    except (RuntimeError, ValueError):
        ta, tb = test(a), test(b)
        w = ta / (ta - tb) if ta != tb else 0.5
        z = a.z + w * chord
        return _point(prob, z, a.t), False


def _polish_branch_point(prob: _Scaled, pt: _Pt, radius: float, tol: float) -> _Pt | None:
    """Newton on the branch-point system {f + μψ = 0, [f_x f_p]ᵀψ = 0, ψᵀψ = 1} (regular at a
    simple branch point, where μ = 0), from ``pt``; None if it does not converge near ``pt``.

    Its Jacobian is taken by central differences of the residual (second derivatives of f),
    which only affects the convergence rate, not the accuracy of the solution.
    """
    _, big0, _ = prob.residual_and_jac(pt.z)
    fs = np.maximum(np.max(np.abs(big0), axis=1), 1e-300)  # row scales
    psi0 = np.linalg.svd(big0 / fs[:, None])[0][:, -1]
    n = psi0.size

    def g(w: np.ndarray) -> np.ndarray:
        z, mu, psi = w[: n + 1], w[n + 1], w[n + 2 :]
        f, big, _ = prob.residual_and_jac(z)
        return np.concatenate([f / fs + mu * psi, (big / fs[:, None]).T @ psi, [psi @ psi - 1]])

    w = np.concatenate([pt.z, [0.0], psi0])
    h = 1e-6
    for _ in range(25):
        r = g(w)
        jac = np.empty((w.size, w.size))
        for k in range(w.size):
            e = np.zeros(w.size)
            e[k] = h
            jac[:, k] = (g(w + e) - g(w - e)) / (2 * h)
        try:
            dw = np.linalg.solve(jac, -r)
        except np.linalg.LinAlgError:
            return None
        w = w + dw
        if not np.all(np.isfinite(w)) or np.linalg.norm(w[: n + 1] - pt.z) > radius:
            return None
        if np.max(np.abs(dw)) < min(tol, 1e-12):
            return _point(prob, w[: n + 1], pt.t)
    return None


# ---------------------------------------------------------------------------------------------
# branch
# ---------------------------------------------------------------------------------------------
def _newton_fixed_p(prob: _Scaled, x0: np.ndarray, p: float, tol: float) -> np.ndarray:
    x = np.asarray(x0, dtype=float).copy()
    for _ in range(60):
        f = prob.f(x, p)
        try:
            dx = np.linalg.solve(prob.jx(x, p), -f)
        except np.linalg.LinAlgError as exc:
            raise InputError(f"singular Jacobian at the starting point x0 = {x}, p = {p}") from exc
        lam = 1.0
        for _ in range(20):  # backtracking on ‖f‖
            xn = x + lam * dx
            if (
                np.all(np.isfinite(xn))
                and np.linalg.norm(prob.f(xn, p)) <= (1 - 1e-4 * lam) * np.linalg.norm(f) + 1e-300
            ):
                break
            lam *= 0.5
        x = xn
        if np.max(np.abs(lam * dx / prob.xs)) < tol:
            return x
    raise InputError(
        f"invalid starting point x0: Newton did not converge to an equilibrium at p = {p} "
        f"(last iterate {x})"
    )


def _classify_pair(eig: np.ndarray) -> tuple[str, dict]:
    """At a zero of ψ: a Hopf pair ±iω or a neutral saddle ±λ."""
    n = eig.size
    i, j = np.triu_indices(n, 1)
    k = int(np.argmin(np.abs(eig[i] + eig[j])))
    li, lj = eig[i[k]], eig[j[k]]
    scale = max(float(np.max(np.abs(eig))), 1e-300)
    if abs(li.imag) > 1e-8 * scale and abs(li - np.conj(lj)) < 1e-6 * scale:
        return "hopf", {"omega": abs(float(li.imag))}
    return "neutral_saddle", {"lambda": abs(float(li.real))}


def _special(
    kind: str, pt: _Pt, located: bool, param_name: str, extra: dict | None = None
) -> SpecialPoint:
    data: dict = {"located": bool(located)}
    data.update(extra or {})
    return SpecialPoint(kind, pt.p, pt.x.copy(), data, param_name)


def _hopf_point(prob: _Scaled, pt: _Pt, located: bool, param_name: str) -> SpecialPoint:
    kind, extra = _classify_pair(pt.eig)
    if kind == "hopf":
        x, p = pt.x, pt.p
        omega = extra["omega"]
        extra["period"] = 2 * np.pi / omega
        x_size = float(np.max(np.abs(prob.xs)))
        try:
            l1, err = _l1_with_error(prob.rhs, x, p, prob.jac, x_size)
        except (ValueError, np.linalg.LinAlgError):
            l1, err = float("nan"), float("nan")
        extra["l1"] = l1
        extra["l1_error"] = err
        # l1 has units 1/(time·state²): compare it with ω/X² (X the state scale)
        if not np.isfinite(l1) or abs(l1) <= max(10 * err, DEGENERATE_L1 * omega / x_size**2):
            extra["criticality"] = "degenerate"
        else:
            extra["criticality"] = "supercritical" if l1 < 0 else "subcritical"
    return _special(kind, pt, located, param_name, extra)


def _march(
    prob: _Scaled,
    start: _Pt,
    sign: float,
    q_lo: float,
    q_hi: float,
    ds: float,
    ds_min: float,
    ds_max: float,
    max_points: int,
    tol: float,
    param_name: str,
    grow_scale: bool,
) -> tuple[list[_Pt], list[tuple[int, SpecialPoint]], str]:
    """March from ``start`` in one direction; special points keyed by the index they follow.

    With ``grow_scale`` a state component whose size exceeds twice its scale gets a new scale
    (so that a branch growing by orders of magnitude still takes O(1) steps in scaled units).
    """
    prob = replace(prob, xs=prob.xs.copy())
    t0 = start.t * sign
    pts = [_Pt(start.z, t0, start.ext * sign, start.eig, start.psi, start.x, start.p)]
    found: list[tuple[int, SpecialPoint]] = []
    reason = "max_points"
    while len(pts) < max_points:
        cur = pts[-1]
        z_pred = cur.z + ds * cur.t
        z_new, its, ok = _newton_section(prob, z_pred, cur.t, z_pred, tol, 8)
        new = None
        if ok:
            new = _point(prob, z_new, cur.t)
            step = np.linalg.norm(z_new - cur.z)
            if new.t @ cur.t < 0.97 or step > 2 * ds or step < 0.25 * ds:
                ok = False
        if not ok:
            if ds <= ds_min * 1.0000001:
                reason = "step_failure"
                break
            ds = max(ds * 0.5, ds_min)
            continue
        # parameter bound crossed: locate the exact endpoint and stop
        q_new = new.z[-1]
        bound = q_hi if q_new > q_hi else (q_lo if q_new < q_lo else None)
        events: list[tuple[float, SpecialPoint]] = []
        if bound is not None:
            end, located = _locate(prob, cur, new, lambda pt, b=bound: pt.z[-1] - b, tol)
            new = end
        if np.sign(cur.t[-1]) * np.sign(new.t[-1]) < 0:
            sp, located = _locate(prob, cur, new, lambda pt: pt.t[-1], tol)
            events.append((np.linalg.norm(sp.z - cur.z), _special("fold", sp, located, param_name)))
        if np.sign(cur.ext) * np.sign(new.ext) < 0 and np.sign(cur.t[-1]) * np.sign(new.t[-1]) >= 0:
            sp, located = _locate(prob, cur, new, lambda pt: pt.ext, tol)
            chord = float(np.linalg.norm(new.z - cur.z))
            polished = _polish_branch_point(prob, sp, chord, tol)
            if polished is not None:
                sp, located = polished, True
            events.append(
                (
                    np.linalg.norm(sp.z - cur.z),
                    _special("branch_point", sp, located, param_name),
                )
            )
        if np.sign(cur.psi) * np.sign(new.psi) < 0:
            sp, located = _locate(prob, cur, new, lambda pt: pt.psi, tol)
            events.append(
                (np.linalg.norm(sp.z - cur.z), _hopf_point(prob, sp, located, param_name))
            )
        for _, sp in sorted(events, key=lambda e: e[0]):
            found.append((len(pts) - 1, sp))
        if np.linalg.norm(new.z - cur.z) > 1e-13:  # an endpoint can coincide with cur
            pts.append(new)
        if bound is not None:
            reason = "p_max" if bound == q_hi else "p_min"
            break
        if grow_scale and np.any(np.abs(pts[-1].x) > 2 * prob.xs):
            pts[-1] = _rescaled(prob, pts[-1], np.maximum(prob.xs, np.abs(pts[-1].x)))
        if its <= 2:
            ds = min(ds * 1.5, ds_max)
        elif its >= 5:
            ds = max(ds * 0.6, ds_min)
    return pts, found, reason


def _check_inputs(x0, p0, p_min, p_max, ds, ds_min, ds_max, max_points, direction, tol):
    if not np.isfinite(p0):
        raise out_of_range("p0", p0, "a finite number")
    if not p_min < p_max:
        raise out_of_range("p_max", p_max, f"> p_min = {p_min}")
    if not p_min <= p0 <= p_max:
        raise out_of_range("p0", p0, f"[{p_min}, {p_max}]")
    if not 0 < ds_min <= ds <= ds_max:
        raise out_of_range("ds", ds, f"ds_min = {ds_min} <= ds <= ds_max = {ds_max}, ds_min > 0")
    if max_points < 2:
        raise out_of_range("max_points", max_points, ">= 2")
    if direction not in ("both", "forward", "backward"):
        raise out_of_range("direction", direction, "'both', 'forward' or 'backward'")
    if not 0 < tol < 1e-3:
        raise out_of_range("tol", tol, "(0, 1e-3)")
    if x0.ndim != 1 or x0.size == 0 or not np.all(np.isfinite(x0)):
        raise out_of_range("x0", x0.tolist(), "a finite 1D state vector")


def continue_equilibria(
    rhs: RHS,
    x0: np.ndarray,
    p0: float,
    p_min: float,
    p_max: float,
    *,
    jac: JAC | None = None,
    dfdp: JAC | None = None,
    ds: float = 0.01,
    ds_min: float = 1e-6,
    ds_max: float = 0.05,
    max_points: int = 2000,
    direction: str = "both",
    tol: float = 1e-10,
    x_scale: np.ndarray | float | None = None,
    param_name: str = "p",
) -> EquilibriumBranch:
    """Follow the equilibrium branch of x' = rhs(x, p) through (x0, p0) within [p_min, p_max].

    ``x0`` is first corrected by Newton at p0. ``ds``/``ds_min``/``ds_max`` are arclength steps
    in scaled units (x / x_scale, p / (p_max − p_min)); ``x_scale`` (the initial state scale)
    defaults to max(|x0_k|, 1e-2‖x0‖∞) per component (1 if x0 = 0); along the branch a
    component's scale is raised to its size whenever it outgrows twice its scale, so branches
    that grow by orders of magnitude still take O(1) steps. ``direction``: "forward"
    (increasing p at the start), "backward" or "both". ``max_points`` applies to each direction.
    Returns the branch in arclength order with its folds, branch points, Hopf points (ω, period, l1,
    criticality), neutral saddles and two endpoints (``data["reason"]``: "p_min", "p_max",
    "max_points", "step_failure" or "start").
    """
    x0 = np.atleast_1d(np.asarray(x0, dtype=float))
    p0 = float(p0)
    _check_inputs(x0, p0, p_min, p_max, ds, ds_min, ds_max, max_points, direction, tol)
    ps = float(p_max - p_min) if np.isfinite(p_max - p_min) else max(abs(p0), 1.0)
    prob = _Scaled(rhs, jac, dfdp, np.ones(x0.size), p0, ps)
    if x_scale is None:
        x_start = _newton_fixed_p(prob, x0, p0, tol)
        big = float(np.max(np.abs(x_start)))
        xs = np.maximum(np.abs(x_start), 1e-2 * big) if big > 0 else np.ones(x0.size)
    else:
        xs = np.broadcast_to(np.asarray(x_scale, dtype=float), x0.shape).copy()
        if not np.all(xs > 0):
            raise out_of_range("x_scale", xs.tolist(), "> 0")
    prob.xs = xs
    x_start = _newton_fixed_p(prob, x0, p0, tol)
    z0 = prob.z(x_start, p0)
    start = _point(prob, z0, None)
    if start.t[-1] < 0:
        start.t = -start.t
        start.ext = float(np.linalg.det(np.vstack([prob.residual_and_jac(z0)[1], start.t])))
    q_lo, q_hi = (p_min - p0) / ps, (p_max - p0) / ps
    args = (q_lo, q_hi, ds, ds_min, ds_max, max_points, tol, param_name, True)
    fwd = bwd = None
    if direction in ("both", "forward"):
        fwd = _march(prob, start, 1.0, *args)
    if direction in ("both", "backward"):
        bwd = _march(prob, start, -1.0, *args)

    pts: list[_Pt] = []
    specials: list[SpecialPoint] = []
    if bwd is not None:
        b_pts, b_found, b_reason = bwd
        pts.extend(b_pts[::-1])
        end = b_pts[-1]
        specials.append(_special("endpoint", end, True, param_name, {"reason": b_reason}))
        specials.extend(sp for _, sp in b_found[::-1])
    else:
        specials.append(_special("endpoint", start, True, param_name, {"reason": "start"}))
    if fwd is not None:
        f_pts, f_found, f_reason = fwd
        pts.extend(f_pts[1:] if bwd is not None else f_pts)
        specials.extend(sp for _, sp in f_found)
        specials.append(_special("endpoint", f_pts[-1], True, param_name, {"reason": f_reason}))
    else:
        specials.append(_special("endpoint", start, True, param_name, {"reason": "start"}))

    xs_arr = np.array([pt.x for pt in pts])
    p_arr = np.array([pt.p for pt in pts])
    eig = np.array([pt.eig for pt in pts])
    stable = np.max(eig.real, axis=1) < 0
    return EquilibriumBranch(p_arr, xs_arr, eig, stable, specials, param_name)
