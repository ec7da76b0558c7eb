"""Run every benchmark module (``python -m benchmarks [--quick] [--check] [NAME ...]``).

Each ``benchmarks/bench_*.py`` exposes ``main(argv)``; output goes to stdout. ``--check``
compares the recorded ratios with ``benchmarks/floors.toml`` and exits 1 if one is below
its floor (or a floored ratio was not measured by the modules that ran). ``--check`` without
names runs only the modules that have floors (what CI needs); name others to run them too.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
import tomllib
from pathlib import Path

import benchmarks


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("-")]
    if "--check" in argv and not names:
        names = sorted({key.split(".")[0] for key in _floors()})
    modules = sorted(
        m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_")
    )
    failed = []
    for name in modules:
        if names and name not in names and name.removeprefix("bench_") not in names:
            continue
        print(f"\n=== {name} ===", flush=True)
        t0 = time.perf_counter()
        try:
            importlib.import_module(f"benchmarks.{name}").main(["--quick"] if quick else [])
        except Exception as exc:  # report and continue with the others
            failed.append(name)
            print(f"FAILED: {exc!r}")
        print(f"--- {name}: {time.perf_counter() - t0:.1f} s", flush=True)
    if "--check" in argv:
        failed += _check_floors(modules if not names else names)
    return 1 if failed else 0


def _floors() -> dict[str, float]:
    """The floors of benchmarks/floors.toml ("module.ratio" → lowest accepted value)."""
    return tomllib.loads((Path(__file__).parent / "floors.toml").read_text())


def _check_floors(ran: list[str]) -> list[str]:
    """Ratios below their floors (only for the modules that ran)."""
    floors = _floors()
    stems = {n.removeprefix("bench_") for n in ran}
    bad = []
    print("\n=== floors ===")
    for key, floor in floors.items():
        if key.split(".")[0] not in stems:
            continue
        value = benchmarks.RATIOS.get(key)
        ok = value is not None and value >= floor
        shown = "not measured" if value is None else f"{value:.3g}"
        print(f"{'ok  ' if ok else 'FAIL'} {key}: {shown} (floor {floor:g})")
        if not ok:
            bad.append(key)
    return bad


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
