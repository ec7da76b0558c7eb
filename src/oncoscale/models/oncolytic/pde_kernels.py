"""Explicit right-hand sides of the 2D oncolytic PDE: fused Numba kernels and their readable
NumPy references built from the shared finite-volume operators (tested equal).

Both: tumour reactions, explicit diffusion of u and i, immune inflow S, chemoattractant
secretion; φ's diffusion and decay are implicit and not included.

* ``explicit_rhs_2d`` (transport "explicit"): also the whole immune drift–diffusion
  ∇·(D_z∇z − χ z∇φ) (Scharfetter–Gummel or upwind drift) and the immune decay.
* ``imex_rhs_2d`` (transport "implicit"): the immune transport and decay are implicit with the
  drift frozen at the step start; here only the correction (current − frozen drift operator)
  applied to z. Tumour diffusion: central or exponentially fitted fluxes (numerics.fv).
"""

from __future__ import annotations

import math

import numba
import numpy as np

from oncoscale.models.oncolytic.params import OncolyticParameters
from oncoscale.models.oncolytic.reactions import chemoattractant_production, tumour_reactions
from oncoscale.numerics import flux2d, fv
from oncoscale.numerics.grids import CartesianGrid


def pack_coefficients(p: OncolyticParameters) -> np.ndarray:
    """Packed coefficients for the kernel."""
    return np.array(
        [
            p.p,
            p.q,
            p.D,
            p.K,
            p.beta,
            p.zeta,
            p.D_z,
            p.chi,
            p.q_z,
            p.alpha_phi,
            p.gamma_phi,
            p.phi_star,
        ]
    )


@numba.njit(cache=True, inline="always")
def _bern(x):  # pragma: no cover - compiled
    """B(x) = x/(eˣ − 1); note B(−x) = B(x) + x."""
    if abs(x) < 1e-6:
        return 1.0 - 0.5 * x
    if x > 700.0:
        return 0.0
    return x / math.expm1(x)


@numba.njit(cache=True, inline="always")
def _zflux(zl, zr, phil, phir, dz, chi, h, sg):  # pragma: no cover - compiled
    """Immune flux from the left/lower cell to the right/upper one, per unit face length."""
    v = chi * (phir - phil) / h
    if sg:
        pe = v * h / dz
        return dz / h * (_bern(pe) * (zl - zr) + pe * zl)
    up = zl if v > 0 else zr
    return dz * (zl - zr) / h + v * up


@numba.njit(cache=True)
def explicit_rhs_2d(y, source, coeff, h, sg, out):  # pragma: no cover - compiled
    """Fill ``out`` (4, nx, ny) with the explicit terms; ``source`` is S(x) (cells/(mm²·h))."""
    p, q, d, k, beta, zeta, dz, chi, qz, aphi, gphi, phistar = coeff
    nx, ny = y.shape[1], y.shape[2]
    dh2 = d / (h * h)
    for a in range(nx):
        for b in range(ny):
            u = y[0, a, b]
            i = y[1, a, b]
            z = y[2, a, b]
            phi = y[3, a, b]
            infection = beta / k * u * i
            out[0, a, b] = p * u * (1.0 - (u + i) / k) - infection - zeta / k * u * z
            out[1, a, b] = infection - q * i - zeta / k * i * z
            out[2, a, b] = source[a, b] - qz * z
            out[3, a, b] = (aphi * i + gphi * u) * (phistar - phi)
    # each interior face once: diffusion of u, i and the immune drift-diffusion flux
    for a in range(nx - 1):
        for b in range(ny):
            fu = dh2 * (y[0, a, b] - y[0, a + 1, b])
            fi = dh2 * (y[1, a, b] - y[1, a + 1, b])
            fz = _zflux(y[2, a, b], y[2, a + 1, b], y[3, a, b], y[3, a + 1, b], dz, chi, h, sg) / h
            out[0, a, b] -= fu
            out[0, a + 1, b] += fu
            out[1, a, b] -= fi
            out[1, a + 1, b] += fi
            out[2, a, b] -= fz
            out[2, a + 1, b] += fz
    for a in range(nx):
        for b in range(ny - 1):
            fu = dh2 * (y[0, a, b] - y[0, a, b + 1])
            fi = dh2 * (y[1, a, b] - y[1, a, b + 1])
            fz = _zflux(y[2, a, b], y[2, a, b + 1], y[3, a, b], y[3, a, b + 1], dz, chi, h, sg) / h
            out[0, a, b] -= fu
            out[0, a, b + 1] += fu
            out[1, a, b] -= fi
            out[1, a, b + 1] += fi
            out[2, a, b] -= fz
            out[2, a, b + 1] += fz


def explicit_rhs_2d_reference(
    y: np.ndarray, source: np.ndarray, params: OncolyticParameters, grid: CartesianGrid, sg: bool
) -> np.ndarray:
    """The same terms from the vectorised shared operators (readable reference)."""
    u, i, z, phi = y
    du, di = tumour_reactions(u, i, z, params)
    drift = [params.chi * g for g in fv.face_gradients(grid, phi)]
    if sg:
        dzz = fv.drift_diffusion(grid, params.D_z, drift, z)
    else:
        dzz = params.D_z * fv.laplacian(grid, z) + fv.advection(grid, drift, z, "upwind")
    return np.stack(
        [
            du + params.D * fv.laplacian(grid, u),
            di + params.D * fv.laplacian(grid, i),
            dzz - params.q_z * z + source,
            chemoattractant_production(u, i, phi, params),
        ]
    )


@numba.njit(cache=True, inline="always")
def _tumour_flux(a, b, shift):  # pragma: no cover - compiled
    """Tumour-cell flux × h/D from the cell holding a to the cell holding b: fitted with the
    shift ε if ``shift`` ≥ 0, else central."""
    if shift >= 0.0:
        return fv.fitted_flux_factor(a, b, shift)
    return a - b


@numba.njit(cache=True)
def imex_rhs_2d(y, source, coeff, h, shift, sg, frozen, out):  # pragma: no cover - compiled
    """Fill ``out`` (4, nx, ny) with the explicit terms of the implicit-transport scheme
    (tumour fluxes fitted with the shift ε = ``shift`` ≥ 0, or central if ``shift`` < 0);
    ``frozen`` = (a0, b0, a1, b1, φ), the face coefficients of the frozen immune operator and
    the φ they were built from (faces where φ is unchanged have no drift correction)."""
    p, q, d, k, beta, zeta, dz, chi, _qz, aphi, gphi, phistar = coeff  # (q_z is implicit)
    fa0, fb0, fa1, fb1, fphi = frozen
    nx, ny = y.shape[1], y.shape[2]
    dh2 = d / (h * h)
    for a in range(nx):
        for b in range(ny):
            u = y[0, a, b]
            i = y[1, a, b]
            z = y[2, a, b]
            phi = y[3, a, b]
            infection = beta / k * u * i
            out[0, a, b] = p * u * (1.0 - (u + i) / k) - infection - zeta / k * u * z
            out[1, a, b] = infection - q * i - zeta / k * i * z
            out[2, a, b] = source[a, b]
            out[3, a, b] = (aphi * i + gphi * u) * (phistar - phi)
    for a in range(nx - 1):
        for b in range(ny):
            fu = dh2 * _tumour_flux(y[0, a, b], y[0, a + 1, b], shift)
            fi = dh2 * _tumour_flux(y[1, a, b], y[1, a + 1, b], shift)
            fz = 0.0
            if y[3, a, b] != fphi[a, b] or y[3, a + 1, b] != fphi[a + 1, b]:
                ca, cb = flux2d.drift_face(dz, chi * (y[3, a + 1, b] - y[3, a, b]) / h, h, sg)
                fz = (ca - fa0[a, b]) * y[2, a, b] - (cb - fb0[a, b]) * y[2, a + 1, b]
            out[0, a, b] -= fu
            out[0, a + 1, b] += fu
            out[1, a, b] -= fi
            out[1, a + 1, b] += fi
            out[2, a, b] -= fz
            out[2, a + 1, b] += fz
    for a in range(nx):
        for b in range(ny - 1):
            fu = dh2 * _tumour_flux(y[0, a, b], y[0, a, b + 1], shift)
            fi = dh2 * _tumour_flux(y[1, a, b], y[1, a, b + 1], shift)
            fz = 0.0
            if y[3, a, b] != fphi[a, b] or y[3, a, b + 1] != fphi[a, b + 1]:
                ca, cb = flux2d.drift_face(dz, chi * (y[3, a, b + 1] - y[3, a, b]) / h, h, sg)
                fz = (ca - fa1[a, b]) * y[2, a, b] - (cb - fb1[a, b]) * y[2, a, b + 1]
            out[0, a, b] -= fu
            out[0, a, b + 1] += fu
            out[1, a, b] -= fi
            out[1, a, b + 1] += fi
            out[2, a, b] -= fz
            out[2, a, b + 1] += fz


def imex_rhs_2d_reference(
    y: np.ndarray,
    source: np.ndarray,
    params: OncolyticParameters,
    grid: CartesianGrid,
    shift: float,
    sg: bool,
    frozen: flux2d.FaceOperator2D,
) -> np.ndarray:
    """The same terms from the vectorised shared operators (readable reference); ``frozen``
    carries the frozen immune face coefficients."""
    u, i, z, phi = y
    du, di = tumour_reactions(u, i, z, params)
    if shift >= 0:
        lu, li = (fv.fitted_diffusion(grid, params.D, f, shift) for f in (u, i))
    else:
        lu, li = (params.D * fv.laplacian(grid, f) for f in (u, i))
    drift = [params.chi * g for g in fv.face_gradients(grid, phi)]
    build = flux2d.drift_diffusion_operator if sg else flux2d.upwind_drift_diffusion_operator
    current = build(grid, params.D_z, drift)
    dzz = current.apply_reference(z) - frozen._replace(decay=0.0).apply_reference(z)
    return np.stack([du + lu, di + li, dzz + source, chemoattractant_production(u, i, phi, params)])
