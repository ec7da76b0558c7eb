"""Figures and report of a stochastic ensemble: fan charts of the totals, section profiles
(mean and quantile bands along y = 0), and the violin plot comparing several ensembles
(seed Fig. 10)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from oncoscale.viz import report
from oncoscale.viz.style import COLORS, plt, save, time_axis_label, time_label, units_label


def _band(q: np.ndarray, lo: float, hi: float) -> tuple[int, int] | None:
    """Indices of quantiles lo and hi in q, if both are there."""
    i, j = np.flatnonzero(np.isclose(q, lo)), np.flatnonzero(np.isclose(q, hi))
    return (int(i[0]), int(j[0])) if i.size and j.size else None


def _fan(ax, x, mean, quant, q, color, label: str) -> None:
    for (lo, hi), alpha in (((0.05, 0.95), 0.18), ((0.25, 0.75), 0.35)):
        b = _band(q, lo, hi)
        if b is not None:
            ax.fill_between(
                x,
                quant[b[0]],
                quant[b[1]],
                color=color,
                alpha=alpha,
                lw=0,
                label=f"{label} {100 * lo:.0f}–{100 * hi:.0f} %",
            )
    ax.plot(x, mean, color=color, lw=1.4, label=f"{label} mean")
    med = np.flatnonzero(np.isclose(q, 0.5))
    if med.size:
        ax.plot(x, quant[med[0]], color=color, lw=0.8, ls="--", label=f"{label} median")


def _populations(ens: xr.Dataset) -> list[str]:
    return [str(n)[len("extinct_") :] for n in ens.data_vars if str(n).startswith("extinct_")]


def _panels(ens: xr.Dataset) -> list[tuple[str, str]]:
    """(observable, label) per panel: the population totals, or else the first 9 observables."""
    pops = _populations(ens)
    if pops:
        return [(f"total_{pop}", pop) for pop in pops]
    names = [
        str(n)
        for n, v in ens.data_vars.items()
        if v.dims == ("run", "t_obs") and f"{n}_mean" in ens
    ]
    return [(n, n) for n in names[:9]]


def fan_chart(ens: xr.Dataset, out: Path) -> Path:
    """Totals over time: mean, median, 25–75 % and 5–95 % bands over runs, one panel each."""
    panels = _panels(ens)
    ncol = min(3, max(1, len(panels)))
    nrow = max(1, -(-len(panels) // ncol))
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.2 * nrow), squeeze=False)
    q = ens["quantile"].values
    t = ens["t_obs"].values
    for ax, (name, pop) in zip(axes.flat, panels, strict=False):
        color = COLORS.get(pop, COLORS.get(name, "tab:gray"))
        _fan(ax, t, ens[f"{name}_mean"].values, ens[f"{name}_quantile"].values, q, color, pop)
        title = ens[name].attrs.get("long_name", name)
        if f"extinct_{pop}" in ens:
            title += f"\nextinct in {100 * float(ens[f'extinct_{pop}'].mean()):.0f} %"
        ax.set_title(title)
        ax.set_xlabel(time_axis_label(ens))
        ax.set_ylabel(ens[name].attrs.get("units", ""))
    for ax in list(axes.flat)[len(panels) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=6)
    fig.suptitle(f"{ens.attrs['scenario']} — {ens.attrs['model']}: {ens.sizes['run']} runs")
    fig.tight_layout()
    return save(fig, out / "fan_totals.png")


def section_figure(ens: xr.Dataset, out: Path, n_times: int = 4) -> Path | None:
    """Section profiles along y = 0 at a few times: mean with 25–75 % and 5–95 % bands."""
    fields = [
        str(n)[: -len("_section_mean")] for n in ens.data_vars if str(n).endswith("_section_mean")
    ]
    if not fields:
        return None
    t = ens["t"].values
    idx = np.unique(np.linspace(0, t.size - 1, n_times).round().astype(int))
    q = ens["quantile"].values
    fig, axes = plt.subplots(
        len(fields), idx.size, figsize=(3.2 * idx.size, 2.4 * len(fields)), squeeze=False
    )
    for r, name in enumerate(fields):
        mean = ens[f"{name}_section_mean"]
        space = mean.dims[-1]
        quant = ens[f"{name}_section_quantile"].values
        for c, k in enumerate(idx):
            ax = axes[r, c]
            _fan(ax, ens[space].values, mean.values[k], quant[:, k], q, COLORS.get(name, "k"), name)
            if r == 0:
                ax.set_title(f"t = {t[k]:g} h")
            if c == 0:
                ax.set_ylabel(f"{name} ({mean.attrs.get('units', '')})")
            if r == len(fields) - 1:
                ax.set_xlabel(units_label(ens[space]))
    axes[0, 0].legend(fontsize=6)
    y = json.loads(ens.attrs.get("section", "{}")).get(fields[0], {}).get("y")
    where = f"y = {y:g}" if y is not None else "the 1D profile"
    fig.suptitle(f"{ens.attrs['scenario']} — sections along {where}, {ens.sizes['run']} runs")
    fig.tight_layout()
    return save(fig, out / "sections.png")


def ensemble_figures(ens: xr.Dataset, out: Path) -> list[Path]:
    """All figures of one ensemble."""
    out.mkdir(parents=True, exist_ok=True)
    figs = [fan_chart(ens, out), section_figure(ens, out)]
    return [f for f in figs if f is not None]


def write_ensemble_report(resolved, ens: xr.Dataset, summary: dict[str, Any], figs, out_dir):
    """report.html of an ensemble."""
    sc = resolved.scenario
    ext = summary["extinction"]
    rows = [
        (
            pop,
            e["runs_extinct"],
            e["fraction_extinct"],
            e["mean_extinction_time"],
            e["first_extinction_time"],
            summary["final_totals"][pop]["mean"],
            summary["final_totals"][pop].get("q50", float("nan")),
        )
        for pop, e in ext.items()
    ]
    header = (
        "population",
        "runs extinct",
        "fraction extinct",
        f"mean extinction time ({time_label(ens)})",
        f"first extinction ({time_label(ens)})",
        "final total: mean",
        "final total: median",
    )
    params = json.loads(ens.attrs["parameters"])
    units = json.loads(ens.attrs["parameter_units"])
    sections = [
        report.section("Scenario", f"<p>{sc.description}</p>"),
        report.section(
            "Ensemble",
            f"<p>{summary['runs']} runs of model {summary['model']}, seeds "
            f"{ens.attrs['seeding']}; statistics in ensemble.nc, one result per run in "
            "runs/run-NNNN/result.nc. A population is extinct from the first observation "
            "time after which its total stays 0.</p>",
        ),
        report.section("Extinction and final totals", report.table(rows, header)),
        report.section("Figures", report.figures_html(figs, out_dir)),
        report.section("Parameters", report.parameters_html(params, units)),
        report.section("Reproduce", f"<pre>{ens.attrs['scenario_resolved']}</pre>"),
    ]
    return report.write_report(
        out_dir / "report.html",
        f"{sc.name} — ensemble of {summary['runs']} {resolved.model} runs",
        sections,
        subtitle=sc.title,
    )


# ---------------------------------------------------------------------------------------
# several ensembles (seed Fig. 10)
# ---------------------------------------------------------------------------------------
def violin_figure(comparison: dict[str, Any], out: Path) -> Path:
    """Violin plots of the final values per ensemble with single runs (jittered), median
    (white dot), mean (bar) and the fraction of runs at 0 above each violin."""
    rows = comparison["ensembles"]
    fig, ax = plt.subplots(figsize=(2.4 + 1.8 * len(rows), 4))
    rng = np.random.default_rng(0)  # jitter only
    for k, row in enumerate(rows):
        x = np.asarray(row["values"])
        if np.ptp(x) > 0:
            parts = ax.violinplot([x], positions=[k], widths=0.8, showextrema=False)
            for body in parts["bodies"]:
                body.set_facecolor("tab:blue")
                body.set_alpha(0.3)
        ax.vlines(k, row["q25"], row["q75"], color="navy", lw=6)
        nz = x[x > 0]
        ax.scatter(k + rng.uniform(-0.15, 0.15, nz.size), nz, s=6, color="tab:blue", zorder=3)
        ax.scatter([k], [row["median"]], color="white", edgecolor="k", s=30, zorder=4)
        ax.hlines(row["mean"], k - 0.25, k + 0.25, color="tab:blue", lw=1.5, zorder=4)
        lo, hi = row["fraction_zero_ci95"]
        ax.annotate(
            f"{100 * row['fraction_zero']:.0f} % at 0\n(95 % CI {100 * lo:.0f}-{100 * hi:.0f} %,"
            f"\n{row['runs']} runs)",
            (k, 1.0),
            xycoords=("data", "axes fraction"),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.set_xticks(range(len(rows)), [r["label"] for r in rows])
    t_end = rows[0]["t_end"] if rows else float("nan")
    unit = rows[0]["time_label"] if rows else ""
    ax.set_ylabel(f"{comparison['observable']} at t = {t_end:g} {unit}")
    fig.tight_layout()
    return save(fig, out / "violin_final.png")


def write_comparison_report(comparison: dict[str, Any], figs: list[Path], out_dir: Path) -> Path:
    """report.html across several ensembles."""
    rows = [
        (
            r["label"],
            r["scenario"],
            r["runs"],
            r["fraction_zero"],
            "{:.3f}-{:.3f}".format(*r["fraction_zero_ci95"]),
            r["mean"],
            r["median"],
        )
        for r in comparison["ensembles"]
    ]
    header = ("ensemble", "scenario", "runs", "fraction at 0", "95 % CI", "mean", "median")
    varied = _varied_parameters([r["parameters"] for r in comparison["ensembles"]])
    prow = [
        (r["label"], *[r["parameters"].get(p) for p in varied]) for r in comparison["ensembles"]
    ]
    pairs = [
        (" vs ".join(p["labels"]), p["fisher_p"], p["runs_to_separate"])
        for p in comparison.get("pairs", [])
    ]
    sections = [
        report.section(f"Final {comparison['observable']}", report.table(rows, header)),
        report.section(
            "Fractions at 0, pairwise",
            report.table(pairs, ("ensembles", "Fisher's exact p", "runs each to separate"))
            + "<p class='muted'>runs each to separate: a two-sided 5 % test with power 80 % "
            "for the observed fractions (normal approximation).</p>",
        ),
        report.section("Parameters that differ", report.table(prow, ("ensemble", *varied))),
        report.section("Figures", report.figures_html(figs, out_dir)),
    ]
    return report.write_report(
        out_dir / "report.html", f"Ensembles compared: {comparison['observable']}", sections
    )


def _varied_parameters(params: list[dict[str, Any]]) -> list[str]:
    if not params:
        return []
    return [k for k in params[0] if len({json.dumps(p.get(k)) for p in params}) > 1]
