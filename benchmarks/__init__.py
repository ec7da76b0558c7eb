"""oncoscale benchmarks: machine-independent ratios and absolute times for the record.

A benchmark reports each ratio with :func:`ratio`; ``python -m benchmarks --quick --check``
compares them with the floors in ``benchmarks/floors.toml`` (CI runs it) and fails when a
ratio falls below its floor.
"""

from __future__ import annotations

RATIOS: dict[str, float] = {}


def ratio(key: str, value: float, text: str = "") -> float:
    """Print and record a speed ratio (larger is better) under ``key``."""
    RATIOS[key] = float(value)
    print(f"RATIO {key} = {value:.3g}{'  (' + text + ')' if text else ''}", flush=True)
    return value
