"""Run every benchmark module (``python -m benchmarks [--quick] [NAME ...]``).

Each ``benchmarks/bench_*.py`` exposes ``main(argv)``; output goes to stdout.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

import benchmarks


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    names = [a for a in argv if not a.startswith("-")]
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
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
