"""The habits CI keeps: ruff (lint and format) over the Python tree, clang-format over the
firmware's hand-written C. Generated sources (they carry a GENERATED banner) are left to codegen,
whose own tests check them against protocol/."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from qtdeploy.extras import find_tool

ROOT = Path(__file__).resolve().parents[2]


def _tool(name: str) -> str:
    """The tool from this interpreter's environment first: CI runs the venv's python without activating it."""
    found = find_tool(name)
    if found is None:
        pytest.fail(f"{name} is not installed: pip install -e '.[dev]' (scripts/test does)")
    return found


def _tracked(*patterns: str) -> list[str]:
    out = subprocess.run(["git", "ls-files", *patterns], cwd=ROOT, capture_output=True, text=True, check=True)
    return [line for line in out.stdout.splitlines() if (ROOT / line).exists()]


def test_ruff_lint() -> None:
    proc = subprocess.run(
        [_tool("ruff"), "check", "--output-format", "concise", *_tracked("*.py")],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_ruff_format() -> None:
    proc = subprocess.run(
        [_tool("ruff"), "format", "--check", *_tracked("*.py")], cwd=ROOT, capture_output=True, text=True
    )
    assert proc.returncode == 0, "run `ruff format` over these:\n" + proc.stdout + proc.stderr


def test_clang_format_firmware() -> None:
    files = [
        f
        for f in _tracked("firmware/core/*.[ch]", "firmware/include/qtd/*.h", "firmware/hal/*.[ch]")
        if "GENERATED" not in (ROOT / f).read_text(errors="replace")[:400]
    ]
    assert len(files) > 20
    proc = subprocess.run(
        [_tool("clang-format"), "--dry-run", "-Werror", "--style=file", *files],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, "run `clang-format -i` over these:\n" + proc.stderr[-4000:]
