"""The virtual board from the host: build the firmware, run it behind a pty, ``sim://`` URLs.

Importing this package registers it with pyserial (``serial.protocol_handler_packages``), so
``serial.serial_for_url("sim://...")`` opens a virtual board anywhere, including inside
:class:`qtdeploy.link.SerialTransport`.
"""

from __future__ import annotations

from qtdeploy.ports import register_sim as register
from qtdeploy.ports import sim_url
from qtdeploy.sim.board import (
    EXIT_HW_RULE,
    EXIT_POWER_CUT,
    SimOptions,
    VirtualBoard,
    default_flash_file,
    running_pty,
    start_or_attach,
)
from qtdeploy.sim.build import build_dir, executable

__all__ = [
    "EXIT_HW_RULE",
    "EXIT_POWER_CUT",
    "SimOptions",
    "VirtualBoard",
    "build_dir",
    "default_flash_file",
    "executable",
    "register",
    "running_pty",
    "sim_url",
    "start_or_attach",
]


register()
