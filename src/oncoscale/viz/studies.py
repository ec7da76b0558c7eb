"""Figures of multi-parameter studies: Sobol index bars with their intervals, the Morris
plane, calibration posteriors and predictive bands, optimisation traces."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

from oncoscale.viz.style import save


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in name)


def sobol_figure(indices: Mapping[str, Mapping[str, Mapping[str, float]]], qoi: str, out: Path):
    """Bars of S1 and ST per parameter with their bootstrap intervals, for one QoI."""
    names = list(indices["S1"][qoi])
    x = np.arange(len(names))
    fig, ax = plt.subplots(figsize=(max(4.5, 0.9 * len(names) + 2), 3.6))
    for shift, key, color in ((-0.2, "S1", "tab:blue"), (0.2, "ST", "tab:orange")):
        vals = [indices[key][qoi][n] for n in names]
        errs = [indices[f"{key}_conf"][qoi][n] for n in names]
        ax.bar(x + shift, vals, 0.4, yerr=errs, capsize=3, color=color, label=key)
    ax.axhline(0, color="k", lw=0.6)
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel("Sobol index")
    ax.set_title(f"{qoi}: first-order (S1) and total (ST), 95 % bootstrap intervals", fontsize=9)
    ax.legend(fontsize=8)
    return save(fig, out / f"sobol-{_safe(qoi)}.png")


def morris_figure(indices: Mapping[str, Mapping[str, Mapping[str, float]]], qoi: str, out: Path):
    """The Morris plane (μ*, σ) for one QoI: important parameters to the right, interacting
    or nonlinear ones high."""
    mu, sigma = indices["mu_star"][qoi], indices["sigma"][qoi]
    conf = indices["mu_star_conf"][qoi]
    fig, ax = plt.subplots(figsize=(5, 4))
    for n in mu:
        ax.errorbar(mu[n], sigma[n], xerr=conf[n], fmt="o", capsize=3)
        ax.annotate(n, (mu[n], sigma[n]), textcoords="offset points", xytext=(4, 4), fontsize=8)
    top = max([*mu.values(), *sigma.values(), 1e-300])
    ax.plot([0, top], [0, top], "k:", lw=0.7, label="σ = μ*")
    ax.set_xlabel("μ* (mean |elementary effect| per unit scaled range)")
    ax.set_ylabel("σ")
    ax.set_title(f"Morris screening: {qoi}", fontsize=9)
    ax.legend(fontsize=8)
    return save(fig, out / f"morris-{_safe(qoi)}.png")


def posterior_figure(
    names: Sequence[str],
    samples: np.ndarray,
    weights: np.ndarray,
    truth: Mapping[str, float] | None,
    intervals: Mapping[str, Sequence[float]],
    log: Sequence[bool],
    out: Path,
    title: str = "",
):
    """Weighted posterior histograms per parameter with the 95 % interval (and the true
    value, for synthetic data)."""
    fig, axes = plt.subplots(1, len(names), figsize=(3.4 * len(names), 3), squeeze=False)
    for j, (name, ax) in enumerate(zip(names, axes[0], strict=True)):
        x = samples[:, j]
        bins = np.geomspace(x.min(), x.max(), 25) if log[j] and x.min() > 0 else 25
        ax.hist(x, bins=bins, weights=weights, color="tab:blue", alpha=0.7)
        for v in intervals[name]:
            ax.axvline(v, color="k", ls="--", lw=0.8)
        if truth and name in truth:
            ax.axvline(truth[name], color="tab:red", lw=1.5, label="true")
            ax.legend(fontsize=7)
        if log[j]:
            ax.set_xscale("log")
        ax.set_xlabel(name)
    fig.suptitle(title, fontsize=9)
    return save(fig, out / "posterior.png")


def predictive_figure(
    panels: Mapping[str, Mapping[str, np.ndarray]], time_label: str, out: Path, title: str = ""
):
    """Data (with ±sd) against the model: per observable, ``t``, ``data``, ``sd`` and either
    the fitted curve ``fit`` or the posterior-predictive band ``lo``/``median``/``hi``."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.5 * len(panels), 3.4), squeeze=False)
    for (name, p), ax in zip(panels.items(), axes[0], strict=True):
        if "lo" in p:
            ax.fill_between(p["t"], p["lo"], p["hi"], color="tab:blue", alpha=0.3, label="95 %")
            ax.plot(p["t"], p["median"], color="tab:blue", label="posterior median")
        if "fit" in p:
            ax.plot(p["t_fit"], p["fit"], color="tab:blue", label="fit")
        ax.errorbar(p["t"], p["data"], yerr=p["sd"], fmt="o", ms=3, color="k", label="data")
        ax.set_xlabel(f"t ({time_label})")
        ax.set_ylabel(name)
        ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=9)
    return save(fig, out / "predictive.png")


def profile_figure(profiles: Mapping[str, Mapping[str, Sequence[float]]], threshold: float, out):
    """Profile likelihoods: −2 Δlog L against each parameter, with the 95 % threshold."""
    fig, axes = plt.subplots(1, len(profiles), figsize=(3.4 * len(profiles), 3), squeeze=False)
    for (name, p), ax in zip(profiles.items(), axes[0], strict=True):
        order = np.argsort(p["value"])
        ax.plot(np.asarray(p["value"])[order], np.asarray(p["deviance"])[order], "o-", ms=3)
        ax.axhline(threshold, color="k", ls="--", lw=0.8)
        ax.set_xlabel(name)
        ax.set_ylabel("−2 Δ log L")
    return save(fig, out / "profiles.png")


def optimisation_figure(
    names: Sequence[str],
    x: np.ndarray,
    f: np.ndarray,
    best: np.ndarray,
    best_value: float,
    objective: str,
    out: Path,
):
    """Objective at every evaluated point against each protocol field, optimum marked."""
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for j, (name, ax) in enumerate(zip(names, axes[0], strict=True)):
        ax.plot(x[:, j], f, "o", ms=4, alpha=0.7, label="evaluated")
        ax.plot(best[j], best_value, "r*", ms=12, label="optimum")
        ax.set_xlabel(name)
        ax.set_ylabel(objective)
        ax.ticklabel_format(axis="both", style="sci", scilimits=(-3, 4))
    return save(fig, out / "objective.png")


def design_figure(
    names: Sequence[str],
    x: np.ndarray,
    y: np.ndarray,
    qoi: str,
    out: Path,
    log: Sequence[bool] = (),
):
    """A QoI against each varied parameter at every design point (log axes for log
    ranges)."""
    fig, axes = plt.subplots(1, len(names), figsize=(3.6 * len(names), 3.2), squeeze=False)
    for j, (name, ax) in enumerate(zip(names, axes[0], strict=True)):
        ax.plot(x[:, j], y, "o", ms=3, alpha=0.7)
        if j < len(log) and log[j]:
            ax.set_xscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel(qoi)
    return save(fig, out / f"design-{_safe(qoi)}.png")
