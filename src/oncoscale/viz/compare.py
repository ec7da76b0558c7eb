"""Figures and report of an ABM-vs-continuum comparison: section profiles (seed Fig. 3a/5a),
totals with the ABM band, discrepancy metrics over time, front positions."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.viz import report
from oncoscale.viz.style import COLORS, plt, save

_LINES = {
    "pde-2d": dict(color="k", ls=":", lw=1.3),
    "pde-radial": dict(color="0.45", ls="--", lw=1),
}


def _q(cmp: xr.Dataset, q: float) -> int:
    return int(np.flatnonzero(np.isclose(cmp["quantile"].values, q))[0])


def _pops(cmp: xr.Dataset) -> list[str]:
    return [
        str(n)[len("rel_diff_total_") :]
        for n in cmp.data_vars
        if str(n).startswith("rel_diff_total_")
    ]


def _fields(cmp: xr.Dataset) -> list[str]:
    return [str(n)[len("rel_l2_") :] for n in cmp.data_vars if str(n).startswith("rel_l2_")]


def sections_figure(cmp: xr.Dataset, out: Path, n_times: int = 4) -> Path | None:
    """ABM mean ± 5–95 % band along y = 0 against the continuum sections, a few times."""
    fields = [f for f in _fields(cmp) if f != "phi"] or _fields(cmp)
    if not fields:
        return None
    t = cmp["t"].values
    idx = np.unique(np.linspace(0, t.size - 1, n_times + 1).round().astype(int))[1:]
    lo, hi = _q(cmp, 0.05), _q(cmp, 0.95)
    fig, axes = plt.subplots(
        len(fields), idx.size, figsize=(3.3 * idx.size, 2.5 * len(fields)), squeeze=False
    )
    for r, f in enumerate(fields):
        mean = cmp[f"abm_{f}_section_mean"]
        space = mean.dims[-1]
        x = cmp[space].values
        quant = cmp[f"abm_{f}_section_quantile"].values
        for c, k in enumerate(idx):
            ax = axes[r, c]
            color = COLORS.get(f, "tab:gray")
            ax.fill_between(
                x, quant[lo, k], quant[hi, k], color=color, alpha=0.25, lw=0, label="ABM 5–95 %"
            )
            ax.plot(x, mean.values[k], color=color, lw=1.2, label="ABM mean")
            for m, model in enumerate(cmp["continuum"].values):
                ax.plot(
                    x,
                    cmp[f"pde_{f}_section"].values[m, k],
                    label=str(model),
                    **_LINES.get(str(model), {}),
                )
            if r == 0:
                ax.set_title(f"t = {t[k]:g} h")
            if c == 0:
                ax.set_ylabel(f"{f} ({mean.attrs.get('units', '')})")
            if r == len(fields) - 1:
                ax.set_xlabel(f"{space} (mm), y = 0")
    axes[0, 0].legend(fontsize=6)
    fig.suptitle(f"{cmp.attrs['scenario']}: ABM ({cmp.attrs['runs']} runs) vs continuum")
    fig.tight_layout()
    return save(fig, out / "compare_sections.png")


def totals_figure(cmp: xr.Dataset, out: Path, divergence: dict[str, Any]) -> Path:
    """Totals: ABM mean and 5–95 % band, continuum totals; dotted line at divergence."""
    pops = _pops(cmp)
    fig, axes = plt.subplots(1, len(pops), figsize=(3.6 * len(pops), 3.2), squeeze=False)
    t = cmp["t_obs"].values
    lo, hi = _q(cmp, 0.05), _q(cmp, 0.95)
    for ax, pop in zip(axes[0], pops, strict=True):
        name = f"total_{pop}"
        color = COLORS.get(pop, COLORS.get(name, "tab:gray"))
        quant = cmp[f"abm_{name}_quantile"].values
        ax.fill_between(t, quant[lo], quant[hi], color=color, alpha=0.25, lw=0, label="ABM 5–95 %")
        ax.plot(t, cmp[f"abm_{name}_mean"].values, color=color, lw=1.2, label="ABM mean")
        for m, model in enumerate(cmp["continuum"].values):
            ax.plot(t, cmp[f"pde_{name}"].values[m], label=str(model), **_LINES.get(str(model), {}))
            td = divergence.get(str(model), {}).get(pop, math.nan)
            if math.isfinite(td):
                ax.axvline(td, color=_LINES.get(str(model), {}).get("color", "k"), lw=0.8)
        ax.set_title(cmp[f"abm_{name}_mean"].attrs.get("long_name", name), fontsize=8)
        ax.set_xlabel("t (h)")
        ax.set_ylabel("cells")
    axes[0, 0].legend(fontsize=6)
    fig.tight_layout()
    return save(fig, out / "compare_totals.png")


def discrepancy_figure(cmp: xr.Dataset, out: Path) -> Path:
    """Relative difference of the totals and relative L2 distance of the sections vs time."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for m, model in enumerate(cmp["continuum"].values):
        ls = _LINES.get(str(model), {}).get("ls", "-")
        for pop in _pops(cmp):
            axes[0].plot(
                cmp["t_obs"],
                cmp[f"rel_diff_total_{pop}"].values[m],
                ls=ls,
                color=COLORS.get(pop, COLORS.get(f"total_{pop}", "tab:gray")),
                label=f"{pop}, {model}",
            )
        for f in _fields(cmp):
            axes[1].plot(
                cmp["t"],
                cmp[f"rel_l2_{f}"].values[m],
                ls=ls,
                color=COLORS.get(f, "tab:gray"),
                label=f"{f}, {model}",
            )
    axes[0].set_ylabel("(PDE − ABM mean) / max(|PDE|, |ABM|, 1)")
    axes[1].set_ylabel("relative L2 distance of sections")
    for ax in axes:
        ax.set_xlabel("t (h)")
        ax.legend(fontsize=6, ncol=2)
    fig.tight_layout()
    return save(fig, out / "compare_discrepancy.png")


def fronts_figure(cmp: xr.Dataset, out: Path) -> Path | None:
    """Front positions: ABM mean vs continuum."""
    names = [n for n in ("front_u", "front_i") if f"abm_{n}_mean" in cmp]
    if not names:
        return None
    fig, ax = plt.subplots(figsize=(5, 3.4))
    for n in names:
        color = COLORS["u" if n == "front_u" else "i"]
        ax.plot(cmp["t_obs"], cmp[f"abm_{n}_mean"], color=color, label=f"{n} ABM mean")
        for m, model in enumerate(cmp["continuum"].values):
            ax.plot(
                cmp["t_obs"],
                cmp[f"pde_{n}"].values[m],
                label=f"{n} {model}",
                **{**_LINES.get(str(model), {}), "color": color},
            )
    ax.set_xlabel("t (h)")
    ax.set_ylabel("front (mm)")
    ax.legend(fontsize=6)
    fig.tight_layout()
    return save(fig, out / "compare_fronts.png")


def comparison_figures(
    cmp: xr.Dataset, out: Path, summary: dict[str, Any] | None = None
) -> list[Path]:
    """All comparison figures."""
    out.mkdir(parents=True, exist_ok=True)
    div = {
        m: v["divergence_time_by_population_h"]
        for m, v in (summary or {}).get("continuum", {}).items()
    }
    figs = [
        sections_figure(cmp, out),
        totals_figure(cmp, out, div),
        discrepancy_figure(cmp, out),
        fronts_figure(cmp, out),
    ]
    return [f for f in figs if f is not None]


def write_comparison_report(scenario, cmp: xr.Dataset, summary: dict[str, Any], figs, out_dir):
    """report.html of a comparison."""
    parts = [
        report.section("Scenario", f"<p>{scenario.title}. {scenario.description}</p>"),
        report.section(
            "Metrics",
            "<ul>"
            + "".join(f"<li><b>{k}</b>: {v}</li>" for k, v in summary["metrics"].items())
            + f"<li>tolerance = {summary['tolerance']:g}; {summary['runs']} ABM runs</li></ul>",
        ),
    ]
    for model, v in summary["continuum"].items():
        rows = v["per_time"]
        header = tuple(rows[0].keys()) if rows else ()
        div = v["divergence_time_by_population_h"]
        parts.append(
            report.section(
                f"ABM vs {model}",
                f"<p>divergence time: {v['divergence_time_h']:.6g} h "
                f"(by population: {json.dumps(div)}); first exceedance of the relative "
                f"difference threshold: {json.dumps(v['first_exceedance_h'])}; peak lags ABM − "
                f"PDE (h): {json.dumps({p: x['lag_h'] for p, x in v['peaks'].items()})}</p>"
                + report.table([tuple(r.values()) for r in rows], header),
            )
        )
    parts.append(report.section("ABM extinction", report.key_numbers(summary["abm_extinction"])))
    parts.append(report.section("Figures", report.figures_html(figs, out_dir)))
    return report.write_report(
        out_dir / "report.html",
        f"{scenario.name} — ABM vs continuum",
        parts,
        subtitle=scenario.title,
    )
