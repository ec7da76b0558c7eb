"""MP4 movies of 2D fields over time (ffmpeg from imageio-ffmpeg)."""

from __future__ import annotations

from pathlib import Path

import imageio_ffmpeg
import numpy as np
import xarray as xr
from matplotlib import animation

from oncoscale.atomic import atomic_path
from oncoscale.viz.style import plt


def field_movie(
    ds: xr.Dataset, names: list[str], path: Path, labels: dict[str, str], fps: int = 10
) -> Path:
    """One frame per snapshot time, one panel per field (colour scale fixed over time)."""
    plt.rcParams["animation.ffmpeg_path"] = imageio_ffmpeg.get_ffmpeg_exe()
    fig, axes = plt.subplots(1, len(names), figsize=(3.2 * len(names), 3.3))
    images = []
    x, y = ds["x"].values, ds["y"].values
    extent = [x[0], x[-1], y[0], y[-1]]
    for ax, name in zip(np.atleast_1d(axes), names, strict=True):
        vmax = float(ds[name].max()) or 1.0
        im = ax.imshow(ds[name].isel(t=0).T, origin="lower", cmap="magma", vmin=0, vmax=vmax,
                       extent=extent, animated=True)  # fmt: skip
        ax.set_title(labels.get(name, name))
        ax.set_xticks([])
        ax.set_yticks([])
        ax.grid(False)
        images.append(im)
    title = fig.suptitle("")

    def frame(k: int):
        for im, name in zip(images, names, strict=True):
            im.set_data(ds[name].isel(t=k).values.T)
        title.set_text(f"{ds.attrs.get('scenario', '')} — t = {ds['t'].values[k]:g} h")
        return [*images, title]

    anim = animation.FuncAnimation(fig, frame, frames=ds.sizes["t"], blit=False)
    with atomic_path(path) as tmp:
        anim.save(str(tmp), writer=animation.FFMpegWriter(fps=fps, bitrate=2400), dpi=90)
    plt.close(fig)
    return path
