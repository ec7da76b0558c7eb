"""Field views: radial/1D profiles, 2D heat maps (PDE fields, ABM lattices, the middle slice
of 3D runs) and particles coloured by phenotype, updated in place frame after frame."""

from __future__ import annotations

import numpy as np
import panel as pn
from bokeh.models import ColorBar, ColumnDataSource, LinearColorMapper
from bokeh.palettes import Category10_10, Magma256
from bokeh.plotting import figure

from oncoscale.viz.explorer.frames import Frame

#: size of one small plot (px)
PLOT = 300


def _title(name: str, frame: Frame) -> str:
    unit = frame.units.get(name, "")
    return f"{name} ({unit})" if unit and unit != "1" else name


def _plane(values: np.ndarray) -> np.ndarray:
    """A 2D array to draw: the array itself, or the middle z-slice of a 3D one."""
    return values if values.ndim == 2 else values[:, :, values.shape[2] // 2]


class FieldView:
    """Profiles (1D), heat maps (2D, 3D middle slice) and particles of a sequence of frames."""

    def __init__(self) -> None:
        self.panel = pn.GridBox(ncols=3, css_classes=["field-view"])
        self.caption = pn.pane.Markdown("", css_classes=["field-caption"])
        self.layout = pn.Column(self.caption, self.panel, sizing_mode="stretch_width")
        self._key: tuple = ()
        self._sources: dict[str, ColumnDataSource] = {}
        self._mappers: dict[str, LinearColorMapper] = {}

    # ---- building -----------------------------------------------------------------------
    def _build(self, frame: Frame) -> None:
        self._sources, self._mappers = {}, {}
        plots = []
        if len(frame.dims) == 1:
            plots += [self._profile(name, frame) for name in frame.fields]
        elif len(frame.dims) >= 2:
            plots += [self._heatmap(name, frame) for name in frame.fields]
        if frame.particles:
            plots.append(self._particles(frame))
        self.panel.objects = [pn.pane.Bokeh(p) for p in plots]

    def _profile(self, name: str, frame: Frame):
        (dim,) = frame.dims
        fig = figure(
            width=PLOT, height=220, title=_title(name, frame), tools="pan,wheel_zoom,reset"
        )
        src = self._sources[name] = ColumnDataSource(
            {"s": frame.coords[dim], "v": frame.fields[name]}
        )
        fig.line("s", "v", source=src, line_width=2)
        fig.xaxis.axis_label = dim
        return fig

    def _heatmap(self, name: str, frame: Frame):
        x, y = frame.coords[frame.dims[0]], frame.coords[frame.dims[1]]
        dx = x[1] - x[0] if x.size > 1 else 1.0
        dy = y[1] - y[0] if y.size > 1 else 1.0
        where = " (middle z-slice)" if len(frame.dims) == 3 else ""
        fig = figure(
            width=PLOT,
            height=PLOT,
            title=_title(name, frame) + where,
            x_range=(x[0] - dx / 2, x[-1] + dx / 2),
            y_range=(y[0] - dy / 2, y[-1] + dy / 2),
            tools="pan,wheel_zoom,reset,hover",
            tooltips=[("value", "@image")],
            match_aspect=True,
        )
        mapper = self._mappers[name] = LinearColorMapper(palette=Magma256, low=0, high=1)
        src = self._sources[name] = ColumnDataSource(self._image_data(name, frame, x, y))
        fig.image("image", x="x0", y="y0", dw="dw", dh="dh", source=src, color_mapper=mapper)
        fig.add_layout(ColorBar(color_mapper=mapper, width=8), "right")
        fig.grid.visible = False
        return fig

    def _image_data(self, name: str, frame: Frame, x: np.ndarray, y: np.ndarray) -> dict:
        plane = _plane(frame.fields[name]).T  # bokeh images are (rows = y, columns = x)
        dx = x[1] - x[0] if x.size > 1 else 1.0
        dy = y[1] - y[0] if y.size > 1 else 1.0
        high = float(np.nanmax(plane)) if plane.size else 1.0
        if name in self._mappers:
            self._mappers[name].high = high if high > 0 else 1.0
        return {
            "image": [np.ascontiguousarray(plane)],
            "x0": [x[0] - dx / 2],
            "y0": [y[0] - dy / 2],
            "dw": [x[-1] - x[0] + dx],
            "dh": [y[-1] - y[0] + dy],
        }

    def _particles(self, frame: Frame):
        fig = figure(
            width=PLOT + 60,
            height=PLOT,
            title="particles by phenotype",
            tools="pan,wheel_zoom,reset",
            match_aspect=True,
        )
        src = self._sources["__particles__"] = ColumnDataSource(self._particle_data(frame))
        fig.scatter("x", "y", source=src, color="color", size=3, legend_field="phenotype")
        fig.legend.location = "top_right"
        fig.legend.label_text_font_size = "8pt"
        return fig

    @staticmethod
    def _particle_data(frame: Frame) -> dict:
        parts = frame.particles or {}
        x = np.asarray(parts.get("x", []), dtype=float)
        y = np.asarray(parts.get("y", np.zeros_like(x)), dtype=float)
        kind = np.asarray(parts.get("phenotype", np.zeros(x.size, dtype=int))).astype(int)
        return {
            "x": x,
            "y": y,
            "phenotype": [f"phenotype {k}" for k in kind],
            "color": [Category10_10[k % 10] for k in kind],
        }

    # ---- updating -----------------------------------------------------------------------
    def update(self, frame: Frame) -> None:
        """Show ``frame`` (the plots are rebuilt only when the fields or their grid change)."""
        key = (
            frame.dims,
            tuple(frame.fields),
            tuple(np.shape(v) for v in frame.fields.values()),
            frame.particles is not None,
        )
        if key != self._key:
            self._build(frame)
            self._key = key
        for name, values in frame.fields.items():
            src = self._sources[name]
            if len(frame.dims) == 1:
                src.data = {"s": frame.coords[frame.dims[0]], "v": values}
            else:
                x, y = frame.coords[frame.dims[0]], frame.coords[frame.dims[1]]
                src.data = self._image_data(name, frame, x, y)
        if frame.particles is not None:
            self._sources["__particles__"].data = self._particle_data(frame)
        self.caption.object = f"**t = {frame.t:.6g}**"
