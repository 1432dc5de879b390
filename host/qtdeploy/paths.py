"""Where qtdeploy finds its non-Python parts.

qtdeploy runs from a checkout (``pip install -e .``): the board files, the protocol specs and
the firmware sources it builds the virtual board from live beside the package, not inside it,
because the C and Verilog sides read them too. ``QTDEPLOY_ROOT`` overrides the location.
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The checkout that holds boards/, protocol/ and firmware/."""
    env = os.environ.get("QTDEPLOY_ROOT")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2]


def boards_dir() -> Path:
    return repo_root() / "boards"


def protocol_dir() -> Path:
    return repo_root() / "protocol"


def firmware_dir() -> Path:
    return repo_root() / "firmware"


def rtl_dir() -> Path:
    return repo_root() / "rtl"


def cache_dir() -> Path:
    """Per-user cache (built virtual-board executables, default virtual flash files)."""
    import platformdirs  # here, not at the top: the firmware build imports this module stdlib-only

    env = os.environ.get("QTDEPLOY_CACHE")
    path = Path(env) if env else Path(platformdirs.user_cache_dir("qtdeploy"))
    path.mkdir(parents=True, exist_ok=True)
    return path
