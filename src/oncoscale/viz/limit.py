"""Figures and report of a kinetic → macroscopic limit study (:mod:`oncoscale.analysis.limit`)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from oncoscale.analysis.limit import POPULATIONS, LimitResult, gap_explanation
from oncoscale.viz import report as rep
from oncoscale.viz.style import plt, save

_COLORS = {"n1": "tab:red", "n2": "tab:green", "n3": "tab:blue"}


def error_figure(result: LimitResult, path: Path) -> Path:
    """log-log error vs ε with the fitted slope, per-population errors and the floor."""
    eps = np.array(result.eps)
    err = np.array(result.error)
    fig, ax = plt.subplots(figsize=(5.2, 3.8))
    ax.loglog(eps, err, "ko-", label=f"all (rel. L1), slope {result.slope:.2f}")
    ax.loglog(
        eps, result.error_l2, "k^--", ms=4, label=f"all (rel. L2), slope {result.slope_l2:.2f}"
    )
    for p in POPULATIONS:
        ax.loglog(eps, result.error_by_population[p], "o:", ms=3, color=_COLORS[p], label=p)
    if np.isfinite(result.slope) and np.all(err > 0):
        c = np.exp(np.mean(np.log(err) - result.slope * np.log(eps)))
        ax.loglog(eps, c * eps**result.slope, color="0.6", lw=0.8, label="fit")
        ax.loglog(eps, err[0] * eps / eps[0], color="0.8", lw=0.8, ls="--", label="∝ ε")
    ax.loglog(eps, result.error_to_kinetic_limit, "s-", ms=3, color="tab:purple", lw=0.8,
              label=f"to kinetic ε → 0, slope {result.slope_to_kinetic_limit:.2f}")  # fmt: skip
    if result.floor > 0:
        ax.axhline(
            result.floor, color="tab:purple", lw=0.8, ls="-.", label="floor: kinetic(1e-6) − PDE"
        )
    if result.gap_to_slides:
        ax.loglog(eps, result.gap_to_slides, "D-", ms=3, color="tab:orange", lw=0.8,
                  label=f"model gap to the slides' '{result.slides}' PDE")  # fmt: skip
        ax.axhline(result.slides_gap_of_limit, color="tab:orange", lw=0.8, ls=":",
                   label=f"'{result.reference}' PDE − '{result.slides}' PDE")  # fmt: skip
    ax.set_xlabel("ε (Knudsen number)")
    ax.set_ylabel(f"distance kinetic − PDE at t = {result.t_end:g}")
    ax.set_title(
        f"{result.regime} regime vs '{result.reference or result.regime}' PDE, {result.dim}D"
    )
    ax.legend(fontsize=7)
    return save(fig, path)


def profile_figure(result: LimitResult, path: Path) -> Path:
    """Densities at t_end: PDE (solid) and kinetic at each ε (1D; 2D: the row through the
    domain centre)."""
    prof = result.profiles
    x = prof["coords"]["x"]
    fig, axes = plt.subplots(1, 3, figsize=(10, 3.0))
    for ax, p in zip(axes, POPULATIONS, strict=True):
        pde = np.asarray(prof["pde"][p])
        row = (lambda f: f[:, f.shape[1] // 2]) if pde.ndim == 2 else (lambda f: f)
        ax.plot(x, row(pde), color="k", lw=1.5, label=f"PDE ({result.reference or 'limit'})")
        if "slides" in prof:
            ax.plot(x, row(np.asarray(prof["slides"][p])), color="tab:orange", lw=1.2,
                    ls="-.", label=f"PDE ({result.slides}, slides)")  # fmt: skip
        for k, e in enumerate(result.eps):
            kin = np.asarray(prof["kinetic"][e][p])
            color = plt.cm.viridis(k / max(1, len(result.eps) - 1))
            ax.plot(x, row(kin), lw=0.9, ls="--", color=color, label=f"ε = {e:g}")
        ax.set_title(p)
        ax.set_xlabel("x")
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    return save(fig, path)


def write_limit_report(result: LimitResult, scenario: str, out_dir: Path) -> Path:
    """error.png, profiles.png and report.html in ``out_dir``."""
    out_dir = Path(out_dir)
    figs = [
        error_figure(result, out_dir / "error.png"),
        profile_figure(result, out_dir / "profiles.png"),
    ]
    gaps = result.gap_to_slides or [float("nan")] * len(result.eps)
    rows = [
        (e, a, b, *(result.error_by_population[p][k] for p in POPULATIONS), c, gaps[k], t)
        for k, (e, a, b, c, t) in enumerate(
            zip(
                result.eps,
                result.error,
                result.error_l2,
                result.error_to_kinetic_limit,
                result.runtimes_s,
                strict=True,
            )
        )
    ]
    sections = [
        rep.section(
            "Distance kinetic – macroscopic PDE",
            rep.table(
                rows,
                (
                    "ε",
                    "rel. L1",
                    "rel. L2",
                    "n1 (L1)",
                    "n2 (L1)",
                    "n3 (L1)",
                    "to kinetic ε→0 (L1)",
                    "gap to slides (L1, model gap)",
                    "run (s)",
                ),
            )
            + rep.key_numbers(
                {
                    "regime": result.regime,
                    "reference PDE (ε → 0 limit)": result.reference,
                    "slope (L1)": result.slope,
                    "slope (L2)": result.slope_l2,
                    "floor (kinetic at ε = 1e-6 vs PDE, rel. L1)": result.floor,
                    "slope to the kinetic ε → 0 limit": result.slope_to_kinetic_limit,
                    "time extrapolated": result.extrapolated,
                    "t_end": result.t_end,
                    "norm": result.norm,
                    "PDE run (s)": result.pde_runtime_s,
                }
            )
            + (f"<p>{gap_explanation(result)}</p>" if result.slides else ""),
        ),
        rep.section("Figures", rep.figures_html(figs, out_dir)),
        rep.section("Kinetic numerics", rep.key_numbers(result.kinetic_numerics)),
        rep.section("PDE numerics", rep.key_numbers(result.pde_numerics)),
    ]
    return rep.write_report(
        out_dir / "report.html",
        f"Kinetic → macroscopic limit: {scenario}, {result.regime} regime",
        sections,
        subtitle="oncoscale limit",
    )
