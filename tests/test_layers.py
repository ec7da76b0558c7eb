"""The house has one direction: numerics < models < run < io < analysis < viz < workflows <
cli (families beside cli); analysis never imports the engine; the foundation modules import
nothing; the model families are independent. Checked with import-linter (contracts in
pyproject.toml), which sees function-level imports too."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]


def test_import_contracts_hold():
    lint = Path(sys.executable).parent / "lint-imports"
    res = subprocess.run(
        [str(lint), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def test_every_package_says_what_its_room_holds():
    for init in (ROOT / "src" / "oncoscale").rglob("__init__.py"):
        text = init.read_text().strip()
        assert text.startswith('"""') and len(text) > 40, init
