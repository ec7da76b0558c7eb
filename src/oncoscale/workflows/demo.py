"""``oncoscale demo``: the main job on built-in defaults — the central-injection scenario (radial
PDE, 1000 h), the ODE's bifurcation diagrams in ζ, α and β (seed Fig. 2) — with an index page
linking every report."""

from __future__ import annotations

import html
import time
from collections.abc import Callable
from pathlib import Path

from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.viz.report import key_numbers, section, table, write_report
from oncoscale.workflows.bifurcation import bifurcation_diagram
from oncoscale.workflows.pipeline import execute_run

#: the seed's Fig. 2 diagrams: (parameter, from, to) of the oncolytic ODE (scenario "oncolytic")
DEMO_DIAGRAMS = (("zeta", 0.05, 1.5), ("alpha", 2e-4, 6e-3), ("beta", 0.003, 0.3))


def run_demo(out: Path, progress: bool = True, echo: Callable[[str], None] = print) -> Path:
    """Everything ``make demo`` shows, written into ``out``; returns the index page."""
    root = Path(out)
    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    resolved = resolve(load_scenario("oncolytic-central"), "pde-radial")
    run_dir = root / "oncolytic-central"
    result = execute_run(resolved, run_dir, progress=progress, command="oncoscale demo")
    seconds["central injection, radial PDE, 1000 h (incl. figures)"] = time.perf_counter() - t0
    echo(f"wrote {result.report}")
    diagrams = {}
    for param, lo, hi in DEMO_DIAGRAMS:
        t1 = time.perf_counter()
        diagrams[param] = bifurcation_diagram(
            "oncolytic", param, lo, hi, out=root / f"bifurcation-{param}"
        )
        seconds[f"bifurcation diagram in {param}"] = time.perf_counter() - t1
        hopf = [p["value"] for p in diagrams[param]["points"] if p["type"] == "hopf"]
        echo(f"bifurcation in {param}: Hopf at {', '.join(f'{h:.8g}' for h in hopf)}")
    seconds["total"] = time.perf_counter() - t0
    return _index(root, run_dir, result.summary, diagrams, seconds)


def _index(
    out: Path, run_dir: Path, summary: dict, diagrams: dict[str, dict], seconds: dict
) -> Path:
    rel = lambda p: html.escape(str(Path(p).relative_to(out)))  # noqa: E731
    sections = [
        section(
            "Central injection, radial PDE to 1000 h (seed Fig. 5)",
            f'<p><a href="{rel(run_dir / "report.html")}">full report</a> · '
            f'<a href="{rel(run_dir / "result.nc")}">result.nc</a></p>'
            + "".join(
                f'<img src="{rel(p)}">'
                for p in sorted((run_dir / "figures").glob("*.png"))
                if any(k in p.name for k in ("profiles", "fronts", "totals"))
            )
            + key_numbers(summary),
        )
    ]
    for param, rec in diagrams.items():
        folder = out / f"bifurcation-{param}"
        rows = [(p["type"], p["value"], p.get("criticality", "")) for p in rec["points"]]
        sections.append(
            section(
                f"ODE bifurcation diagram in {param} (seed Fig. 2)",
                f'<p><a href="{rel(folder / "report.html")}">report</a> · '
                f'<a href="{rel(folder / "diagram.json")}">diagram.json</a></p>'
                f'<img src="{rel(folder / f"bifurcation-{param}.png")}">'
                + table(rows, ("type", param, "criticality")),
            )
        )
    sections.append(
        section(
            "Wall times", table([(k, f"{v:.1f} s") for k, v in seconds.items()], ("step", "time"))
        )
    )
    return write_report(
        out / "index.html", "oncoscale demo", sections, "oncolytic virus + immune system (seed 003)"
    )
