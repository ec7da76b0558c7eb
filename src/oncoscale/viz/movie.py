"""MP4 movies of 2D fields over time (ffmpeg from imageio-ffmpeg).

The panels, titles and axes are drawn once; each frame then only redraws the images and the
time label (blitting) and sends the RGB buffer to ffmpeg — one image draw per panel and frame
instead of two full figure draws.
"""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import numpy as np
import xarray as xr

from oncoscale.atomic import atomic_path
from oncoscale.viz.style import plt, time_label


def field_movie(
    ds: xr.Dataset, names: list[str], path: Path, labels: dict[str, str], fps: int = 10
) -> Path:
    """One frame per snapshot time, one panel per field (colour scale fixed over time)."""
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.4), dpi=90)
    x, y = ds["x"].values, ds["y"].values
    extent = [x[0], x[-1], y[0], y[-1]]
    images = []
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        vmax = float(ds[name].max()) or 1.0
        im = ax.imshow(ds[name].isel(t=0).values.T, origin="lower", cmap="magma", vmin=0,
                       vmax=vmax, extent=extent, animated=True)  # fmt: skip
        ax.set_title(labels.get(name, name))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        images.append(im)
    title = fig.suptitle(" ", animated=True)
    canvas = fig.canvas
    canvas.draw()  # everything but the animated artists
    background = canvas.copy_from_bbox(fig.bbox)
    width, height = canvas.get_width_height()
    scenario, unit = ds.attrs.get("scenario", ""), time_label(ds)
    with atomic_path(path) as tmp:
        writer = imageio_ffmpeg.write_frames(
            str(tmp), (width, height), fps=fps, bitrate="2400k", macro_block_size=2,
            ffmpeg_log_level="error",
        )  # fmt: skip
        writer.send(None)
        try:
            for k in range(ds.sizes["t"]):
                canvas.restore_region(background)
                for im, name in zip(images, names, strict=True):
                    im.set_data(ds[name].isel(t=k).values.T)
                    im.axes.draw_artist(im)
                title.set_text(f"{scenario} — t = {ds['t'].values[k]:g} {unit}")
                fig.draw_artist(title)
                writer.send(np.ascontiguousarray(np.asarray(canvas.buffer_rgba())[..., :3]))
        finally:
            writer.close()
    plt.close(fig)
    return path
