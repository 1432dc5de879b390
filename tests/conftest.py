"""Shared fixtures. Plain `pytest` needs no hardware; `-m slow` runs the long sweeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from qtdeploy.paths import repo_root


@pytest.fixture(scope="session")
def root() -> Path:
    return repo_root()
