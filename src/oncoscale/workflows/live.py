"""A run in a background thread that live views can watch and stop.

:class:`LiveRun` runs :func:`~oncoscale.workflows.pipeline.execute_run` (the same files as
``oncoscale run``) with a :class:`~oncoscale.run.trackers.CallbackTracker` that copies a
:class:`~oncoscale.viz.explorer.frames.Frame` of the state at a multiple of the run's
observation interval (so the run stops at no extra time and its result equals the CLI's).
Stopping raises :class:`RunStopped` inside the run at the next frame; the partial record
stays in ``DIR/.partial`` (``oncoscale run --resume`` continues it).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from oncoscale.errors import InputError
from oncoscale.io.scenario import ResolvedRun
from oncoscale.run.trackers import CallbackTracker
from oncoscale.viz.explorer.frames import Frame, frame_from_state
from oncoscale.workflows.pipeline import RunOutput, execute_run

#: frames per run the live views aim at
FRAMES = 100


class RunStopped(Exception):
    """Raised inside a run when the user stops it."""


def frame_interval(resolved: ResolvedRun, frames: int = FRAMES) -> float:
    """A multiple of the observation interval giving about ``frames`` frames per run."""
    step = resolved.output.observe_interval
    return step * max(1, round(resolved.t_end / frames / step))


@dataclass
class LiveState:
    """What a live run has shown so far (read by the views under :attr:`LiveRun.lock`)."""

    frame: Frame | None = None
    times: list[float] = field(default_factory=list)
    observables: list[dict[str, float]] = field(default_factory=list)
    status: str = "starting"  # starting, running, finished, stopped, failed
    message: str = ""
    output: RunOutput | None = None


class LiveRun:
    """One run of ``resolved`` into ``out_dir`` in a daemon thread."""

    def __init__(self, resolved: ResolvedRun, out_dir: Path, command: str = "") -> None:
        self.resolved, self.out_dir, self.command = resolved, Path(out_dir), command
        self.lock = threading.Lock()
        self.state = LiveState()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._target, daemon=True, name="oncoscale-run")

    @property
    def t_end(self) -> float:
        """The run's horizon (family time unit)."""
        return self.resolved.t_end

    def start(self) -> LiveRun:
        """Start the run."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Ask the run to stop at its next frame."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the run's thread."""
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """Whether the run's thread is still going."""
        return self._thread.is_alive()

    def _record(self, t: float, rep: Any, state: Any) -> None:
        if self._stop.is_set():
            raise RunStopped(t)
        frame = frame_from_state(t, rep, state)
        with self.lock:
            self.state.frame = frame
            self.state.times.append(frame.t)
            self.state.observables.append(frame.observables)
            self.state.status = "running"

    def _target(self) -> None:
        tracker = CallbackTracker(frame_interval(self.resolved), self._record)
        try:
            out = execute_run(
                self.resolved,
                self.out_dir,
                progress=False,
                command=self.command,
                trackers=[tracker],
            )
            status, message = "finished", f"finished: wrote {out.result}"
        except RunStopped as stop:
            out, status = None, "stopped"
            message = (
                f"stopped at t = {float(stop.args[0]):g}; continue with: {self.command} --resume"
            )
        except InputError as exc:
            out, status, message = None, "failed", str(exc)
        except Exception as exc:  # shown in the page, never as a traceback
            out, status, message = None, "failed", f"the run failed: {type(exc).__name__}: {exc}"
        with self.lock:
            self.state.status, self.state.message, self.state.output = status, message, out
