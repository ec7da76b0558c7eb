"""What a run costs after its last step: the movie, the figures and the result file.

On the central ABM run (201² lattice; 1500 h and 151 snapshots, ``--quick``: 150 h and 16):

* movie frames: painted from the colour table (:func:`oncoscale.viz.movie.movie_frames`) vs
  matplotlib's image drawn per panel and frame on the same figure (the round-4 blitted loop,
  kept here as the reference), frames only (no encoder); the two sets compared pixel by pixel;
* movie encoding: x264 "ultrafast" (used) vs "medium" (the default before), CPU seconds of
  ffmpeg and PSNR of the decoded frames against the frames sent;
* the result file: every field zlib level 4 (before) vs level 1 where it saves >= 25 %
  (:func:`oncoscale.io.results.compresses`), time and size;
* the run's figures one by one (absolute times, for the record).

Ratios are machine-independent; absolute times are for the record (2-core machine).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import netCDF4
import numpy as np

from benchmarks import ratio
from oncoscale.io.results import COMPLEVEL, compresses
from oncoscale.io.scenario import load_scenario, resolve
from oncoscale.viz import oncolytic as figures
from oncoscale.viz.movie import clock_text, movie_figure, movie_frames
from oncoscale.viz.style import LABELS, plt
from oncoscale.workflows.pipeline import simulate

FIELDS = ["u", "i", "z", "phi"]


def matplotlib_frames(ds) -> list[np.ndarray]:
    """Reference: the movie's figure with an image per panel; per frame restore the
    background, draw the clock and each panel's image, copy the RGBA buffer."""
    fig, axes, clock = movie_figure(ds, FIELDS, LABELS)
    x, y = ds["x"].values, ds["y"].values
    images = []
    for ax, name in zip(axes, FIELDS, strict=True):
        vmax = float(ds[name].max()) or 1.0
        images.append(ax.imshow(ds[name].isel(t=0).values.T, origin="lower", cmap="magma", vmin=0,
                                vmax=vmax, extent=[x[0], x[-1], y[0], y[-1]],
                                interpolation="nearest", animated=True))  # fmt: skip
    canvas = fig.canvas
    canvas.draw()
    background = canvas.copy_from_bbox(fig.bbox)
    frames = []
    for k in range(ds.sizes["t"]):
        canvas.restore_region(background)
        clock.set_text(clock_text(ds, k))
        fig.draw_artist(clock)
        for im, name in zip(images, FIELDS, strict=True):
            im.set_data(ds[name].isel(t=k).values.T)
            im.axes.draw_artist(im)
        frames.append(np.array(canvas.buffer_rgba()))
    plt.close(fig)
    return frames


def frames_compared(ds) -> list[np.ndarray]:
    t0 = time.perf_counter()
    reference = matplotlib_frames(ds)
    t_ref = time.perf_counter() - t0
    t0 = time.perf_counter()
    painted = [np.array(frame) for frame in movie_frames(ds, FIELDS, LABELS)]
    t_new = time.perf_counter() - t0
    equal = np.mean([np.array_equal(a, b) for a, b in zip(reference, painted, strict=True)])
    print(f"  {len(painted)} frames of {painted[0].shape[1]}x{painted[0].shape[0]} px: "
          f"matplotlib images {t_ref:.3f} s, painted {t_new:.3f} s; "
          f"{equal:.0%} of the frames identical pixel for pixel")  # fmt: skip
    ratio("figures.movie_frames_matplotlib_over_painted", t_ref / t_new, "frames only")
    return painted


def _encode(frames: list[np.ndarray], preset: str, path: Path) -> tuple[float, float]:
    """(ffmpeg CPU seconds, PSNR in dB of the decoded frames vs the frames sent)."""
    height, width = frames[0].shape[:2]
    before = os.times()
    writer = imageio_ffmpeg.write_frames(
        str(path), (width, height), pix_fmt_in="rgba", fps=10, bitrate="2400k",
        macro_block_size=2, ffmpeg_log_level="error", output_params=["-preset", preset],
    )  # fmt: skip
    writer.send(None)
    for frame in frames:
        writer.send(frame)
    writer.close()
    after = os.times()
    cpu = (after.children_user + after.children_system) - (
        before.children_user + before.children_system
    )
    reader = imageio_ffmpeg.read_frames(str(path))
    next(reader)
    errors = [
        np.mean((np.frombuffer(raw, np.uint8).reshape(height, width, 3).astype(float)
                 - frame[..., :3]) ** 2)
        for raw, frame in zip(reader, frames, strict=False)
    ]  # fmt: skip
    return cpu, 10 * np.log10(255.0**2 / max(np.mean(errors), 1e-12))


def movie_encoding(frames: list[np.ndarray], folder: Path) -> None:
    results = {}
    for preset in ("medium", "ultrafast"):
        path = folder / f"{preset}.mp4"
        cpu, psnr = _encode(frames, preset, path)
        results[preset] = cpu
        print(f"  x264 {preset:9s}: ffmpeg CPU {cpu:.2f} s, {path.stat().st_size / 1e6:.2f} MB, "
              f"PSNR {psnr:.1f} dB")  # fmt: skip
    ratio("figures.encode_medium_over_ultrafast", results["medium"] / results["ultrafast"], "CPU")


def result_writing(ds, folder: Path) -> None:
    def write(path: Path, level_of) -> float:
        t0 = time.perf_counter()
        with netCDF4.Dataset(path, "w") as nc:
            for dim in ("t", "x", "y"):
                nc.createDimension(dim, ds.sizes[dim])
            for name in FIELDS:
                level = level_of(name)
                var = nc.createVariable(name, "f8", ("t", "x", "y"), zlib=level > 0,
                                        complevel=max(level, 1),
                                        chunksizes=(1, ds.sizes["x"], ds.sizes["y"]))  # fmt: skip
                for k in range(ds.sizes["t"]):
                    var[k] = ds[name].values[k]
        return time.perf_counter() - t0

    last = {name: ds[name].values[-1] for name in FIELDS}
    kept = {name: COMPLEVEL if compresses(last[name]) else 0 for name in FIELDS}
    t_old = write(folder / "level4.nc", lambda name: 4)
    t_new = write(folder / "used.nc", kept.__getitem__)
    mb = {p: (folder / p).stat().st_size / 1e6 for p in ("level4.nc", "used.nc")}
    levels = ", ".join(f"{name}: {level or 'none'}" for name, level in kept.items())
    print(f"  fields, all zlib 4: {t_old:.2f} s, {mb['level4.nc']:.1f} MB; used ({levels}): "
          f"{t_new:.2f} s, {mb['used.nc']:.1f} MB")  # fmt: skip
    ratio("figures.result_write_level4_over_used", t_old / t_new, "fields only")


def each_figure(ds, folder: Path) -> None:
    for draw in (figures.totals_figure, figures.fronts_figure, figures.snapshots_figure,
                 figures.section_figure):  # fmt: skip
        t0 = time.perf_counter()
        draw(ds, folder)
        print(f"  {draw.__name__}: {time.perf_counter() - t0:.2f} s")
    t0 = time.perf_counter()
    figures.field_movie(ds, FIELDS, folder / "movie.mp4", LABELS)
    print(f"  field_movie ({ds.sizes['t']} frames, encoded): {time.perf_counter() - t0:.2f} s")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="bench_figures")
    ap.add_argument("--quick", action="store_true", help="150 h (16 snapshots), not 1500 h")
    args = ap.parse_args(argv)
    hours = 150.0 if args.quick else 1500.0
    t0 = time.perf_counter()
    ds = simulate(resolve(load_scenario("oncolytic-central"), "abm", {}, hours, seed=1))
    print(f"central ABM run to {hours:g} h in memory: {time.perf_counter() - t0:.1f} s, "
          f"{ds.sizes['t']} snapshots")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        print("movie frames:")
        frames = frames_compared(ds)
        print("movie encoding:")
        movie_encoding(frames, folder)
        print("result file (the four fields):")
        result_writing(ds, folder)
        print("the run's figures:")
        each_figure(ds, folder)


if __name__ == "__main__":
    main()
