"""The movie's frames: panels painted from the colour table match matplotlib's own drawing."""

from __future__ import annotations

import imageio_ffmpeg
import numpy as np
import xarray as xr

from oncoscale.viz.movie import PanelPainter, field_movie, rgba_words
from oncoscale.viz.style import plt


def _field(nx: int, ny: int, noise: float, seed: int = 1) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    x, y = np.linspace(-10, 10, nx), np.linspace(-7.5, 7.5, ny)
    f = np.add.outer(np.sin(x), np.cos(y)) + noise * rng.random((nx, ny))
    f[f < 0] = 0.0
    f[3, 5] = np.nan
    return x, y, f


def test_painted_panel_is_matplotlibs_nearest_image_pixel_for_pixel():
    """Every pixel of a painted panel equals imshow(..., interpolation="nearest") on the
    same axes: same site under each pixel (non-square grid, site noise makes any shift
    visible), same colour table entry, NaN in the face colour."""
    x, y, f = _field(201, 151, noise=0.3)
    fig, axes = plt.subplots(1, 2, figsize=(6.4, 3.4), dpi=90)
    for ax in axes:
        ax.set_xlim(x[0], x[-1])
        ax.set_ylim(y[0], y[-1])
        ax.set_aspect("equal")
        ax.set_axis_off()
    fig.canvas.draw()
    height = fig.canvas.get_width_height()[1]
    vmax = float(np.nanmax(f))
    painter = PanelPainter(axes[1], f.shape, vmax, "magma", height)
    painter.paint(rgba_words(fig.canvas), f)
    painted = np.array(fig.canvas.buffer_rgba())
    axes[1].imshow(f.T, origin="lower", cmap="magma", vmin=0, vmax=vmax,
                   extent=[x[0], x[-1], y[0], y[-1]], interpolation="nearest")  # fmt: skip
    fig.canvas.draw()
    drawn = np.asarray(fig.canvas.buffer_rgba())
    plt.close(fig)
    assert painted.shape == drawn.shape
    assert painter.rows.stop - painter.rows.start > 100
    np.testing.assert_array_equal(painted, drawn)


def test_movie_has_one_frame_per_snapshot_with_the_fields_colours(tmp_path):
    x, y, f = _field(61, 41, noise=0.0)
    f = np.nan_to_num(f)
    data = np.stack([f * s for s in (0.2, 0.6, 1.0)])
    ds = xr.Dataset(
        {"a": (("t", "x", "y"), data), "b": (("t", "x", "y"), data[::-1])},
        coords={"t": [0.0, 1.0, 2.0], "x": x, "y": y},
        attrs={"scenario": "test", "time_label": "h"},
    )
    path = field_movie(ds, ["a", "b"], tmp_path / "movie.mp4", {"a": "A"})
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = reader.__next__()
    frames = [np.frombuffer(raw, np.uint8).reshape(meta["size"][1], meta["size"][0], 3)
              for raw in reader]  # fmt: skip
    assert len(frames) == 3
    assert list(tmp_path.iterdir()) == [path]  # no temporary file left
    # panel a brightens over time, panel b (the same snapshots reversed) darkens
    half = meta["size"][0] // 2
    a, b = [fr[:, :half].mean() for fr in frames], [fr[:, half:].mean() for fr in frames]
    assert a[0] + 5 < a[1] + 2.5 < a[2]
    assert b[0] > b[1] + 2.5 > b[2] + 5
