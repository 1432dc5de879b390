"""mypy over host/ (config: [tool.mypy] in pyproject.toml): the defaults plus check_untyped_defs,
unused ignores and redundant casts; not --strict."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_host() -> None:
    mypy = Path(sys.executable).parent / "mypy"  # this environment's, found without activating it
    if not mypy.exists():
        pytest.fail("mypy is not installed: pip install -e '.[dev]' (scripts/test does)")
    proc = subprocess.run([str(mypy)], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr
