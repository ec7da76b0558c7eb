"""Finished results in the explorer: a run (result.nc: fields and observables scrubbed
through time, key numbers), an ensemble (ensemble.nc: runs, mean and quantiles) or a study
(study.nc: metrics against the swept value), and two runs side by side."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import panel as pn
import xarray as xr
from bokeh.models import ColumnDataSource, Span
from bokeh.plotting import figure

from oncoscale.io.results import open_result, parameters_of
from oncoscale.models.registry import families, family
from oncoscale.viz.explorer.fields import FieldView
from oncoscale.viz.explorer.frames import frame_from_result
from oncoscale.viz.explorer.series import SeriesView
from oncoscale.viz.report import key_numbers_keyed

#: the files that make a folder a result, in the order they are looked for
RESULT_FILES = ("result.nc", "ensemble.nc", "study.nc")


def find_results(root: Path, limit: int = 500) -> list[str]:
    """Folders under ``root`` holding a result file, as paths relative to ``root``
    (the explorer never lists or opens anything outside it)."""
    root = Path(root).resolve()
    found: set[str] = set()
    for name in RESULT_FILES:
        for path in sorted(root.rglob(name)):
            if ".partial" in path.parts:
                continue
            found.add(str(path.parent.relative_to(root)) or ".")
            if len(found) >= limit:
                break
    return sorted(found)


def inside(root: Path, relative: str) -> Path:
    """``root/relative`` if it stays inside ``root`` (no ``..`` or links out), else an error."""
    root = Path(root).resolve()
    path = (root / relative).resolve()
    if path != root and root not in path.parents:
        raise PermissionError(f"{relative!r} is outside the explorer's folder {root}")
    return path


def _summary(folder: Path) -> dict:
    path = folder / "summary.json"
    return json.loads(path.read_text()) if path.is_file() else {}


class RunResultView:
    """A finished run: fields and observables at the snapshot chosen with a slider."""

    def __init__(self, folder: Path) -> None:
        self.ds = open_result(folder / "result.nc")
        times = self.ds["t"].values if "t" in self.ds.dims else np.array([0.0])
        unit = str(self.ds.attrs.get("time_label", ""))
        self.slider = pn.widgets.DiscreteSlider(
            name=f"snapshot time ({unit})",
            options={f"{t:g}": k for k, t in enumerate(times)},
            value=len(times) - 1,
            css_classes=["time-slider"],
        )
        self.fields = FieldView()
        self.series = SeriesView(unit)
        self._theory_lines()
        scalars = [str(n) for n, v in self.ds.data_vars.items() if v.dims == ("t_obs",)]
        self._table = {n: self.ds[n].values for n in scalars}
        summary = _summary(folder)
        self.numbers = pn.pane.HTML(
            key_numbers_keyed({k: v for k, v in summary.items() if k != "events"}, self.ds),
            css_classes=["key-numbers"],
        )
        self.slider.param.watch(lambda e: self.show(e.new), "value")
        title = f"**{self.ds.attrs.get('scenario', '')} — {self.ds.attrs.get('model', '')}**"
        self.layout = pn.Column(
            pn.pane.Markdown(title),
            self.slider,
            self.fields.layout,
            self.series.layout,
            pn.Card(self.numbers, title="key numbers", collapsed=False),
            sizing_mode="stretch_width",
        )
        self.show(self.slider.value)

    def _theory_lines(self) -> None:
        """The family's travelling-wave theory on the fronts plot, if it has one."""
        name = self.ds.attrs.get("family", "")
        if name not in families():
            return
        theory = family(name).part("front_theory")
        if theory is not None and "t_obs" in self.ds:
            t_end = float(self.ds["t_obs"].values[-1])
            self.series.set_guides(theory(parameters_of(self.ds)), t_end)

    def show(self, k: int) -> None:
        """Snapshot ``k``."""
        frame = frame_from_result(self.ds, int(k))
        if "t" in self.ds.dims:
            self.fields.update(frame)
        if self._table:
            self.series.show(self.ds["t_obs"].values, self._table, now=frame.t)


def _stems(ds: xr.Dataset) -> list[str]:
    names = [str(n) for n in ds.data_vars]
    stems = {n.removesuffix("_mean").removesuffix("_quantile") for n in names}
    return sorted(s for s in stems if any(d in ds[n].dims for n in names if n.startswith(s)
                                            for d in ("t_obs", "t", "value")))  # fmt: skip


class DatasetView:
    """An ensemble or a study: one quantity (its runs, mean and quantiles) against time or the
    swept value; profiles on (t, x) at the time chosen with a slider."""

    def __init__(self, folder: Path, filename: str) -> None:
        self.ds = open_result(folder / filename)
        stems = _stems(self.ds)
        self.choice = pn.widgets.Select(name="quantity", options=stems, value=stems[0])
        axis = "t" if "t" in self.ds.dims else "t_obs" if "t_obs" in self.ds.dims else None
        self.axis = axis
        options = {f"{t:g}": k for k, t in enumerate(self.ds[axis].values)} if axis else {"-": 0}
        self.slider = pn.widgets.DiscreteSlider(
            name="time", options=options, value=len(options) - 1, css_classes=["time-slider"]
        )
        self.fig = figure(height=320, sizing_mode="stretch_width", tools="pan,wheel_zoom,reset")
        self.cursor = Span(location=0, dimension="height", line_dash="dotted")
        self.fig.add_layout(self.cursor)
        self.choice.param.watch(lambda e: self.draw(), "value")
        self.slider.param.watch(lambda e: self.draw(), "value")
        self.layout = pn.Column(
            pn.pane.Markdown(f"**{filename}** — {self.ds.attrs.get('title', '')}"),
            pn.Row(self.choice, self.slider),
            pn.pane.Bokeh(self.fig),
            sizing_mode="stretch_width",
        )
        self.draw()

    def draw(self) -> None:
        """Draw the chosen quantity at the chosen time."""
        stem, k = self.choice.value, int(self.slider.value)
        self.fig.renderers = []
        for name in (stem, f"{stem}_mean", f"{stem}_quantile"):
            if name not in self.ds:
                continue
            var = self.ds[name]
            if self.axis in var.dims and "x" in var.dims:
                var = var.isel({self.axis: k})
            x_dim = next((d for d in var.dims if d in ("t_obs", "t", "x", "value")), None)
            if x_dim is None:
                continue
            x = self.ds[x_dim].values
            other = [d for d in var.dims if d != x_dim]
            rows = (
                var.transpose(*other, x_dim).values.reshape(-1, x.size) if other else [var.values]
            )
            style = {"_mean": ("black", 3, "solid"), "_quantile": ("steelblue", 1, "dashed")}
            color, width, dash = style.get(name[len(stem) :], ("gray", 1, "solid"))
            for row in rows:
                src = ColumnDataSource({"x": x, "y": np.asarray(row, dtype=float)})
                self.fig.line("x", "y", source=src, color=color, line_width=width, line_dash=dash)
                if x_dim == "value":
                    self.fig.scatter("x", "y", source=src, size=6)
            self.fig.xaxis.axis_label = x_dim
        self.fig.title.text = stem
        if self.axis == "t_obs":
            self.cursor.location = float(self.ds["t_obs"].values[k])


def result_view(folder: Path):
    """The view of a result folder (run, ensemble or study)."""
    if (folder / "result.nc").is_file():
        return RunResultView(folder)
    for name in RESULT_FILES[1:]:
        if (folder / name).is_file():
            return DatasetView(folder, name)
    raise FileNotFoundError(f"no result file in {folder}")
