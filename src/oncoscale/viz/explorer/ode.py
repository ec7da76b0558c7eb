"""The homogeneous ODE at interactive speed: phase portrait and time series recomputed as a
parameter slider moves, and the bifurcation diagram with a marker at the current value.

Everything comes from the family's bifurcation problem (:class:`BifurcationProblem`: the
right-hand side and Jacobian of the homogeneous system in its own variables, time in the
family's unit) integrated with ``scipy.integrate.solve_ivp`` (LSODA) in one call per start:
a few milliseconds, so the view follows the slider. Starts: the model's initial state where
the system's variables are observables of the model (e.g. u, i, z), and points near each
closed-form equilibrium (±5 %).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, Span
from bokeh.palettes import Category10_10
from bokeh.plotting import figure
from scipy.integrate import solve_ivp

from oncoscale.analysis.bifurcation import BifurcationDiagram
from oncoscale.models.bifurcation import BifurcationProblem

#: relative offset of the starts near each equilibrium
NEAR = 0.05


@dataclass
class Trajectory:
    """One solution of the homogeneous system: its start name, times and states (n, dim)."""

    name: str
    t: np.ndarray
    y: np.ndarray


def starts(problem: BifurcationProblem, value: float, initial: dict[str, float]) -> dict:
    """Named initial states: the model's own (if its observables name the system's
    variables) and one beside each closed-form equilibrium at ``value``."""
    out = {}
    if all(v in initial for v in problem.variables):
        out["model initial state"] = np.array([initial[v] for v in problem.variables])
    for point in problem.starts(value):
        state = np.asarray(point.state, dtype=float)
        out[f"near {point.name}"] = state * (1 + NEAR) + NEAR * (state == 0)
    return out


def trajectories(
    problem: BifurcationProblem,
    value: float,
    initial: dict[str, float],
    t_end: float,
    n: int = 400,
) -> list[Trajectory]:
    """Solve the system at parameter ``value`` from every start to ``t_end``."""
    t_eval = np.linspace(0.0, t_end, n)
    out = []
    for name, y0 in starts(problem, value, initial).items():
        sol = solve_ivp(
            lambda t, y: problem.rhs(y, value),
            (0.0, t_end),
            y0,
            method="LSODA",
            jac=lambda t, y: problem.jac(y, value),
            t_eval=t_eval,
            rtol=1e-7,
            atol=1e-9,
        )
        out.append(Trajectory(name, sol.t, sol.y.T))
    return out


def diagram_lines(diagram: BifurcationDiagram) -> dict[str, dict[str, list]]:
    """Stable and unstable equilibrium branches as multi-line data (NaN-separated) of the
    diagram's plotted variable, and the cycles' max/min."""
    pr = diagram.problem
    k, scale = pr.plot_variable, pr.plot_scale
    lines: dict[str, dict[str, list]] = {
        "stable": {"p": [], "y": []},
        "unstable": {"p": [], "y": []},
    }
    for _, branch in diagram.equilibria:
        stable = np.asarray(branch.stable, dtype=bool)
        y = branch.x[:, k] / scale
        for cat, mask in (("stable", stable), ("unstable", ~stable)):
            lines[cat]["p"].append(np.where(mask, branch.p, np.nan))
            lines[cat]["y"].append(np.where(mask, y, np.nan))
    cycles = {"p": [], "y": []}
    for _, cyc in diagram.cycles:
        for arr in (cyc.x_max[:, k], cyc.x_min[:, k]):
            cycles["p"] += list(cyc.p)
            cycles["y"] += list(arr / scale)
    lines["cycles"] = cycles
    return lines


class ODEView:
    """Time series, phase portrait (two chosen variables) and bifurcation diagram."""

    def __init__(self, time_label: str = "") -> None:
        tools = "pan,wheel_zoom,box_zoom,reset"
        self.series = figure(height=280, width=420, title="time series", tools=tools)
        self.series.xaxis.axis_label = f"t ({time_label})" if time_label else "t"
        self.phase = figure(height=280, width=320, title="phase portrait", tools=tools)
        self.diagram = figure(height=280, width=420, title="bifurcation diagram", tools=tools)
        self.marker = Span(location=0, dimension="height", line_color="steelblue", line_width=2)
        self.diagram.add_layout(self.marker)
        self.src_series = ColumnDataSource({"t": [], "y": [], "c": []})
        self.src_phase = ColumnDataSource({"xs": [], "ys": [], "c": [], "name": []})
        self.src_ends = ColumnDataSource({"x": [], "y": [], "c": []})
        self.src_diag = {
            k: ColumnDataSource({"p": [], "y": []}) for k in ("stable", "unstable", "cycles")
        }
        self.src_now = ColumnDataSource({"p": [], "y": []})
        self._series_lines = self.series.multi_line(
            "xs",
            "ys",
            color="c",
            source=ColumnDataSource({"xs": [], "ys": [], "c": [], "label": []}),
            legend_field="label",
            line_width=2,
        )
        self.phase.multi_line(
            "xs", "ys", color="c", source=self.src_phase, line_width=2, legend_field="name"
        )
        self.phase.scatter("x", "y", color="c", source=self.src_ends, size=8)
        self.diagram.line(
            "p",
            "y",
            source=self.src_diag["stable"],
            color="crimson",
            line_width=2,
            legend_label="stable equilibria",
        )
        self.diagram.line(
            "p",
            "y",
            source=self.src_diag["unstable"],
            color="black",
            line_dash="dashed",
            legend_label="unstable equilibria",
        )
        self.diagram.scatter(
            "p",
            "y",
            source=self.src_diag["cycles"],
            color="green",
            size=3,
            legend_label="cycle max/min",
        )
        self.diagram.scatter(
            "p",
            "y",
            source=self.src_now,
            marker="diamond",
            size=12,
            color="steelblue",
            legend_label="current value",
        )
        for fig in (self.series, self.phase, self.diagram):
            fig.legend.label_text_font_size = "8pt"
        self.layout = pn.Row(
            pn.pane.Bokeh(self.series), pn.pane.Bokeh(self.phase), pn.pane.Bokeh(self.diagram)
        )

    def show_trajectories(
        self, problem: BifurcationProblem, runs: list[Trajectory], axes: tuple[int, int], main: int
    ) -> None:
        """Time series of every variable of trajectory ``main``; phase portrait of all."""
        var = problem.variables
        if runs:
            tr = runs[main]
            self._series_lines.data_source.data = {
                "xs": [tr.t] * len(var),
                "ys": [tr.y[:, j] for j in range(len(var))],
                "c": [Category10_10[j % 10] for j in range(len(var))],
                "label": [f"{v} ({tr.name})" for v in var],
            }
        a, b = axes
        self.src_phase.data = {
            "xs": [tr.y[:, a] for tr in runs],
            "ys": [tr.y[:, b] if b < len(var) else tr.t for tr in runs],
            "c": [Category10_10[j % 10] for j in range(len(runs))],
            "name": [tr.name for tr in runs],
        }
        self.src_ends.data = {
            "x": [tr.y[-1, a] for tr in runs],
            "y": [tr.y[-1, b] if b < len(var) else tr.t[-1] for tr in runs],
            "c": [Category10_10[j % 10] for j in range(len(runs))],
        }
        self.phase.xaxis.axis_label = var[a]
        self.phase.yaxis.axis_label = var[b] if b < len(var) else "t"

    def show_diagram(self, diagram: BifurcationDiagram) -> None:
        """Draw a computed diagram (equilibria, cycles)."""
        pr = diagram.problem
        for cat, data in diagram_lines(diagram).items():
            if cat == "cycles":
                self.src_diag[cat].data = data
            else:
                self.src_diag[cat].data = {
                    "p": np.concatenate([np.append(p, np.nan) for p in data["p"]] or [[]]),
                    "y": np.concatenate([np.append(y, np.nan) for y in data["y"]] or [[]]),
                }
        units = f" ({pr.param_units})" if pr.param_units and pr.param_units != "1" else ""
        self.diagram.xaxis.axis_label = f"{pr.param}{units}"
        self.diagram.yaxis.axis_label = pr.plot_label or pr.variables[pr.plot_variable]

    def mark(self, problem: BifurcationProblem, value: float, runs: list[Trajectory]) -> None:
        """Marker at the current value: the late-time range of each trajectory's plotted
        variable (a point for a steady state, a bar for an oscillation)."""
        self.marker.location = value
        k, scale = problem.plot_variable, problem.plot_scale
        ys = []
        for tr in runs:
            late = tr.y[len(tr.t) // 2 :, k] / scale
            ys += [float(late.min()), float(late.max())]
        self.src_now.data = {"p": [value] * len(ys), "y": ys}
