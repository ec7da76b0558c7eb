"""Time series of scalar observables: totals (cells, masses) and fronts/radii, drawn while a
run goes on or from a result, with a cursor at the current time."""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.models import ColumnDataSource, Span
from bokeh.palettes import Category10_10
from bokeh.plotting import figure


def is_front(name: str) -> bool:
    """Observables that are positions (fronts, radii)."""
    return name.startswith(("front", "radius"))


def default_totals(names: list[str]) -> list[str]:
    """The observables drawn by default: totals and masses (all, for small systems)."""
    chosen = [n for n in names if n.startswith(("total", "mass_cells", "mass_p", "n_p"))]
    chosen = [n for n in chosen if n[-1:] not in "0123456789"]
    return chosen[:6] or [n for n in names if not is_front(n)][:6]


class SeriesView:
    """Totals and fronts against time, from a growing table of observables."""

    def __init__(self, time_label: str = "") -> None:
        self.time_label = time_label
        self.totals = figure(
            height=260,
            sizing_mode="stretch_width",
            title="totals",
            tools="pan,wheel_zoom,box_zoom,reset",
        )
        self.fronts = figure(
            height=260,
            sizing_mode="stretch_width",
            title="fronts and radii",
            tools="pan,wheel_zoom,box_zoom,reset",
        )
        for fig in (self.totals, self.fronts):
            fig.xaxis.axis_label = f"t ({time_label})" if time_label else "t"
        self.cursor = [Span(location=0, dimension="height", line_dash="dotted") for _ in range(2)]
        self.totals.add_layout(self.cursor[0])
        self.fronts.add_layout(self.cursor[1])
        self.source = ColumnDataSource({"t": []})
        self._names: tuple[str, ...] = ()
        self._guides: list[tuple[str, float, float]] = []
        self._guide_span = (0.0, 1.0)
        self.layout = pn.Row(
            pn.pane.Bokeh(self.totals), pn.pane.Bokeh(self.fronts), sizing_mode="stretch_width"
        )

    def set_time_label(self, time_label: str) -> None:
        """The time unit on the x axes (h, day, 1/r)."""
        for fig in (self.totals, self.fronts):
            fig.xaxis.axis_label = f"t ({time_label})" if time_label else "t"

    def set_guides(self, guides: dict[str, tuple[str, float, float]], t_end: float) -> None:
        """Theory lines on the fronts plot: observable → (label, position at t = 0, speed),
        drawn dashed over [0, t_end] in the colour of the observable's line."""
        self._guides = [(name, *g) for name, g in guides.items()]
        self._guide_span = (0.0, float(t_end))
        self._names = ()  # redraw with the guides at the next frame

    def _lines(self, names: list[str]) -> None:
        for fig in (self.totals, self.fronts):
            fig.renderers = []
        fronts = [n for n in names if is_front(n)]
        t0, t1 = self._guide_span
        for name, label, start, speed in self._guides:
            if name in fronts:
                self.fronts.line(
                    [t0, t1],
                    [start + speed * t0, start + speed * t1],
                    legend_label=label,
                    color=Category10_10[fronts.index(name) % 10],
                    line_dash="dashed",
                    line_width=1,
                )
        for j, n in enumerate(default_totals(names)):
            self.totals.line(
                "t",
                n,
                source=self.source,
                legend_label=n,
                color=Category10_10[j % 10],
                line_width=2,
            )
        for j, n in enumerate(fronts):
            self.fronts.line(
                "t",
                n,
                source=self.source,
                legend_label=n,
                color=Category10_10[j % 10],
                line_width=2,
            )
        for fig in (self.totals, self.fronts):
            if fig.renderers:
                fig.legend.label_text_font_size = "8pt"
                fig.legend.location = "top_left"
        self.fronts.visible = bool(fronts)

    def show(self, t: np.ndarray, table: dict[str, np.ndarray], now: float | None = None) -> None:
        """Draw the observables ``table`` (name → values on ``t``); cursor at ``now``."""
        names = tuple(table)
        if names != self._names:
            self.source.data = {"t": np.asarray(t), **{k: np.asarray(v) for k, v in table.items()}}
            self._lines(list(names))
            self._names = names
        else:
            self.source.data = {"t": np.asarray(t), **{k: np.asarray(v) for k, v in table.items()}}
        where = float(t[-1]) if now is None and len(t) else (now or 0.0)
        for span in self.cursor:
            span.location = where
