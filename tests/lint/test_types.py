"""mypy over host/ (config: [tool.mypy] in pyproject.toml): the defaults plus check_untyped_defs,
unused ignores and redundant casts; not --strict."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from qtdeploy.extras import find_tool

ROOT = Path(__file__).resolve().parents[2]


def test_mypy_host() -> None:
    mypy = find_tool("mypy")  # this environment's first, found without activating it
    if mypy is None:
        pytest.fail("mypy is not installed: pip install -e '.[dev]' (scripts/test does)")
    proc = subprocess.run([mypy], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr
