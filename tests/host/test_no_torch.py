"""The deployment path imports without torch: a field gateway installs the base package only.

Each module of the board-side packages is imported in a fresh interpreter in which ``import torch``
raises, as it does where the ``train`` extra is not installed."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import pytest

BOARD_SIDE = ("cli", "ops", "forecast", "energy", "formats", "link", "model", "sim", "ftdi", "rtl")

_BLOCK = """
import importlib.abc, sys
class _NoTorch(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError("No module named 'torch' (blocked by the test)", name=name)
        return None
sys.meta_path.insert(0, _NoTorch())
import importlib
for name in sys.argv[1:]:
    importlib.import_module(name)
assert not any(m == "torch" or m.startswith("torch.") for m in sys.modules)
print("imported", len(sys.argv) - 1)
"""


def _modules() -> list[str]:
    names = []
    for pkg in BOARD_SIDE:
        mod = __import__(f"qtdeploy.{pkg}", fromlist=["_"])
        names.append(mod.__name__)
        for info in pkgutil.walk_packages(mod.__path__, prefix=f"{mod.__name__}."):
            names.append(info.name)
    return names


def test_board_side_imports_without_torch() -> None:
    names = _modules()
    assert "qtdeploy.cli.main" in names and "qtdeploy.forecast.window" in names
    proc = subprocess.run([sys.executable, "-c", _BLOCK, *names], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"imported {len(names)}" in proc.stdout


def test_the_block_bites() -> None:
    """The blocker itself works: the training package does need torch."""
    pytest.importorskip("torch")
    proc = subprocess.run(
        [sys.executable, "-c", _BLOCK, "qtdeploy.train.net"], capture_output=True, text=True
    )
    assert proc.returncode != 0 and "blocked by the test" in proc.stderr
