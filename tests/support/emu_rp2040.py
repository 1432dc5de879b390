"""Helpers for the end-to-end tests through the emulated RP2040 (the enV5's UF2 in rp2040js)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from qtdeploy.link import Link, SerialTransport
from qtdeploy.ops import Board
from qtdeploy.ports import EMULATOR_LINK_TIMEOUT as LINK_TIMEOUT
from qtdeploy.sim.rp2040 import EmulatedBoard

TIME_SCALE = 0.01  # flash and FPGA busy times x 0.01, as the posix e2e tests run them


def firmware():
    """The env5 firmware and parts.wasm (built once per source change), or skip with the reason."""
    for tool, why in (
        ("arm-none-eabi-gcc", "the RP2040 build"),
        ("node", "rp2040js"),
        ("wasm-ld", "parts.wasm"),
    ):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed ({why}); scripts/setup-env installs it")
    from qtdeploy.errors import NotAvailableError
    from qtdeploy.firmware import build
    from qtdeploy.sim.rp2040 import node_modules

    try:
        node_modules()
    except NotAvailableError as err:
        pytest.skip(f"{err.problem} {err.fix}")
    return build("env5", emulator=True)


def start(fw, flash_file: Path, **kw) -> EmulatedBoard:
    """An emulated board on ``flash_file``, published so that sim://?mcu=rp2040 attaches to it."""
    kw.setdefault("time_scale", TIME_SCALE)
    board = EmulatedBoard(fw.uf2, fw.parts_wasm, flash_file, **kw).start()
    board.publish()
    return board


def session(eb: EmulatedBoard) -> Board:
    url = f"sim://?mcu=rp2040&flash={eb.flash_file}"  # attaches to eb (its state file)
    return Board(Link(SerialTransport(url), timeout=LINK_TIMEOUT), port=url)
