"""Where qtdeploy finds its non-Python parts.

The board files, the protocol data, the firmware sources it builds the virtual board from, the
RTL and the example forecaster live at the top of the repository, beside the package, because
the C and Verilog sides read them too. An installed wheel carries a copy of them in
``qtdeploy/_data/``, laid out as in the checkout (setup.py makes it at build time; nothing is
committed twice). So :func:`repo_root` is the wheel's ``_data`` when it is there, else the
checkout (a checkout or an editable install); ``QTDEPLOY_ROOT`` overrides both.
"""

from __future__ import annotations

import os
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def repo_root() -> Path:
    """The tree that holds boards/, protocol/, firmware/ and rtl/: the installed package's data,
    or the checkout."""
    env = os.environ.get("QTDEPLOY_ROOT")
    if env:
        return Path(env)
    installed = _PACKAGE / "_data"
    return installed if installed.is_dir() else _PACKAGE.parents[1]


def examples_dir() -> Path:
    """The example forecaster (examples/forecaster) and the demo model."""
    return repo_root() / "examples"


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
