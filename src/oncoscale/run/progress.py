"""Progress bars: tqdm's automatic bar, without tqdm's monitor thread.

The monitor only tunes how often a slow bar redraws; without it a run's process has no Python
thread but the main one, which is what lets it fork a writer beside it
(:mod:`oncoscale.run.beside`). Set on tqdm.auto's class only: other tqdm bars keep theirs.
"""

from __future__ import annotations

from tqdm.auto import tqdm

tqdm.monitor_interval = 0

__all__ = ["tqdm"]
