"""MP4 movies of 2D fields over time (ffmpeg from imageio-ffmpeg).

Matplotlib draws the panels' frame once (titles, layout); each frame then only redraws the
clock and writes the fields into the panels' pixels of the canvas itself: every pixel shows
the colour of the lattice site under its centre (the colour map's 256-entry table, the scale
fixed over time) — what ``imshow(..., interpolation="nearest")`` draws, pixel for pixel
(test), without matplotlib's resampling per panel and frame. Encoded by x264 at its
"ultrafast" preset (:data:`PRESET`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import imageio_ffmpeg
import numpy as np
import xarray as xr
from matplotlib.colors import to_rgb

from oncoscale.atomic import atomic_path
from oncoscale.viz.style import plt, time_label

#: x264 speed preset: at the fixed bitrate "ultrafast" encodes the oncolytic ABM's 151 frames
#: with 0.42 s of ffmpeg CPU instead of 2.76 s ("medium", the default), PSNR 40.7 vs 40.9 dB
#: against the frames sent (benchmarks/bench_figures.py)
PRESET = "ultrafast"


class PanelPainter:
    """Paints one 2D field into its axes' pixels of an RGBA frame.

    ``field`` is indexed (x, y) with x to the right and y upwards (``origin="lower"``); the
    colour of a value v is entry ``floor(256 v / vmax)`` (clipped to 0…255) of ``cmap``'s
    table, NaN takes the axes' face colour. Frames are the canvas' RGBA buffer seen as one
    uint32 per pixel (H × W): a pixel is one table entry, one store.
    """

    def __init__(self, ax, shape: tuple[int, int], vmax: float, cmap: str, height: int):
        nx, ny = shape
        x0, y0, x1, y1 = (float(e) for e in ax.get_window_extent().extents)
        self.cols = slice(round(x0), round(x1))
        self.rows = slice(round(height - y1), round(height - y0))
        # the site under each pixel centre (pixel rows count from the top of the frame)
        cx = np.arange(self.cols.start, self.cols.stop) + 0.5
        cy = height - (np.arange(self.rows.start, self.rows.stop) + 0.5)
        ix = np.clip(((cx - x0) / (x1 - x0) * nx).astype(np.intp), 0, nx - 1)
        iy = np.clip(((cy - y0) / (y1 - y0) * ny).astype(np.intp), 0, ny - 1)
        self.sites = iy[:, None] + ny * ix[None, :]  # flat (x, y) index per pixel
        table = plt.get_cmap(cmap, 256)(np.arange(256))
        bad = np.array([[*to_rgb(ax.get_facecolor()), 1.0]])
        rgba = (255 * np.vstack([table, bad])).astype(np.uint8)  # as cmap(..., bytes=True)
        rgba[:, 3] = 255
        self.table = rgba.view(np.uint32).ravel()
        self.scale = 256.0 / vmax
        self._level = np.empty(self.sites.shape)

    def paint(self, frame: np.ndarray, field: np.ndarray) -> None:
        """Write ``field``'s colours into ``frame`` (H × W uint32: RGBA bytes) in place."""
        level = np.take(np.ravel(field), self.sites, out=self._level)
        level *= self.scale
        np.clip(level, 0.0, 255.0, out=level)  # NaN stays NaN
        with np.errstate(invalid="ignore"):  # NaN: replaced below
            index = level.astype(np.intp)
        if np.isnan(level.sum()):
            index[np.isnan(level)] = self.table.size - 1
        frame[self.rows, self.cols] = self.table[index]


def rgba_words(canvas) -> np.ndarray:
    """The canvas' RGBA pixels as one uint32 per pixel (H × W), a view: writes show."""
    return np.asarray(canvas.buffer_rgba()).view(np.uint32)[..., 0]


def movie_figure(ds: xr.Dataset, names: list[str], labels: dict[str, str]):
    """The movie's figure: one titled panel per field (x, y limits of ``ds``, no axes), the
    scenario's name, and the clock (animated: not drawn by ``canvas.draw``).
    Returns (figure, axes, clock)."""
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), dpi=90)
    axes = list(np.atleast_1d(axes))
    x, y = ds["x"].values, ds["y"].values
    for ax, name in zip(axes, names, strict=True):
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(y[0], y[-1])
        ax.set_aspect("equal")
        ax.set_title(labels.get(name, name))
        ax.set_axis_off()
    fig.suptitle(ds.attrs.get("scenario", ""), x=0.02, ha="left")
    clock = fig.text(0.98, 0.98, " ", ha="right", va="top", fontsize="large", animated=True)
    return fig, axes, clock


def clock_text(ds: xr.Dataset, k: int) -> str:
    """The clock of frame k."""
    return f"t = {ds['t'].values[k]:g} {time_label(ds)}"


def movie_frames(ds: xr.Dataset, names: list[str], labels: dict[str, str]) -> Iterator[np.ndarray]:
    """The frames, one per snapshot time: the canvas' RGBA pixels (H × W × 4 uint8, a view
    valid until the next frame). Everything but the clock and the panels' pixels is drawn
    once; the colour scale of a field is fixed over time."""
    fig, axes, clock = movie_figure(ds, names, labels)
    canvas = fig.canvas
    canvas.draw()  # everything but the clock
    background = canvas.copy_from_bbox(fig.bbox)
    height = canvas.get_width_height()[1]
    shape = (ds.sizes["x"], ds.sizes["y"])
    painters = []
    for ax, name in zip(axes, names, strict=True):
        vmax = float(ds[name].max())
        vmax = vmax if np.isfinite(vmax) and vmax > 0 else 1.0
        painters.append((name, PanelPainter(ax, shape, vmax, "magma", height)))
    try:
        for k in range(ds.sizes["t"]):
            canvas.restore_region(background)
            clock.set_text(clock_text(ds, k))
            fig.draw_artist(clock)
            words = rgba_words(canvas)  # the canvas' own pixels
            for name, painter in painters:
                painter.paint(words, ds[name].isel(t=k).values)
            yield np.asarray(canvas.buffer_rgba())
    finally:
        plt.close(fig)


def field_movie(
    ds: xr.Dataset, names: list[str], path: Path, labels: dict[str, str], fps: int = 10
) -> Path:
    """The :func:`movie_frames` of ``ds`` as an MP4 file (written atomically)."""
    frames = movie_frames(ds, names, labels)
    first = next(frames)
    height, width = first.shape[:2]
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (width, height), pix_fmt_in="rgba", fps=fps, bitrate="2400k",
            macro_block_size=2, ffmpeg_log_level="error", output_params=["-preset", PRESET],
        )  # fmt: skip
        writer.send(None)
        try:
            for frame in itertools.chain([first], frames):
                writer.send(frame)
        finally:
            writer.close()
            frames.close()
    return path
