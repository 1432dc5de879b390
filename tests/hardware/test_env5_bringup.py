"""Bring-up of a real enV5 (firmware/README.md, "RP2040 bring-up"): the same checks the emulated
board passes, against silicon. Marked `hardware`; without QTD_HW_PORT each skips and says why (CI has no board).

    QTD_HW_PORT=/dev/ttyACM0 pytest -m hardware tests/hardware          # a board running our UF2
    QTD_HW_DRIVE=/media/$USER/RPI-RP2 ... -k install                     # + a board in BOOTSEL

Each test names the checklist step it proves. They skip (saying why) without QTD_HW_PORT.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from qtdeploy.boards import load_board
from qtdeploy.ports import attached_ports

pytestmark = pytest.mark.hardware
PORT = os.environ.get("QTD_HW_PORT")


@pytest.fixture(scope="module")
def board():
    if not PORT:
        pytest.skip("set QTD_HW_PORT to the enV5's serial port (a board running our UF2)")
    from qtdeploy.ops import Board

    with Board.open(PORT, board="env5") as b:
        yield b


@pytest.fixture(scope="module")
def fw():
    from qtdeploy.firmware import build

    return build("env5")


def test_step3_usb_identity() -> None:
    """Step 3: the board enumerates as our CDC device: VID:PID from the board file, product
    string and a serial number (Linux read every descriptor to get here)."""
    if not PORT:
        pytest.skip("set QTD_HW_PORT")
    env5 = load_board("env5")
    mine = [p for p in attached_ports() if p.device == os.path.realpath(PORT) or p.device == PORT]
    assert mine, f"{PORT} is not in the OS port list"
    p = mine[0]
    assert (p.vid, p.pid) == (env5.usb.vid, env5.usb.pid) and "qtdeploy" in p.description
    assert p.serial_number and p.serial_number != "0" * 16  # the program flash's unique id


def test_step4_runs_the_build_we_made(board, fw) -> None:
    """Step 4: BUILD_INFO's build-id is the ELF's: the board runs exactly this binary."""
    from qtdeploy.ops.info import build_info

    b = build_info(board)
    assert b["target"] == "rp2040" and b["build_id"] == fw.build_id


def test_step5_flash_chip_and_clocks(board) -> None:
    """Step 5: the S25FL128S answers on SPI0 (GPIO 0-3) with the board file's JEDEC id (boot OK),
    and the timer runs at 1 MHz from the 12 MHz crystal (PING round trips keep time)."""
    from qtdeploy.ops import info

    r = info(board)
    assert r["build"]["boot_status"] == "OK"
    assert r["flash"]["jedec_id"] == f"{load_board('env5').flash.jedec_id_u32:#08x}"


def test_step6_power_monitors(board) -> None:
    """Step 6: both PAC1934s answer on I2C1 (GPIO 6/7) and every rail reads a plausible voltage."""
    from qtdeploy.ops import power

    sample = power.read(board)
    nominal = {r.name: r.nominal_mv for r in load_board("env5").rails}
    for reading in sample.rails:
        assert not reading.invalid, reading.name
        assert 0.8 * nominal[reading.name] < reading.bus_v * 1000 < 1.2 * nominal[reading.name], reading.name


def test_step7_fpga_from_the_shared_flash(board, tmp_path) -> None:
    """Step 7: a Vivado bitstream of our accelerator (QTD_HW_BITSTREAM) + its blob (QTD_HW_BLOB)
    flashed over USB, the FPGA configured from the shared flash (power pins, PROG_B, the MCU's
    pins floating), MODEL_LOAD and forecast --check on the FPGA engine over the fabric SPI."""
    bit, qtb = os.environ.get("QTD_HW_BITSTREAM"), os.environ.get("QTD_HW_BLOB")
    if not bit or not qtb:
        pytest.skip("set QTD_HW_BITSTREAM (a Vivado .bit from `qtdeploy rtl vivado`) and QTD_HW_BLOB")
    import numpy as np

    from qtdeploy._protocol import Engine
    from qtdeploy.formats import blob
    from qtdeploy.model import reference
    from qtdeploy.model.intmodel import load
    from qtdeploy.ops import flash, info
    from qtdeploy.ops.stream import infer, load_model

    flash(board, bitstream=Path(bit), blob=Path(qtb))
    r = info(board)
    assert r["fpga"]["state"] == "CONFIGURED" and r["fpga"]["abi"] == f"{blob.load(Path(qtb)).abi:#010x}"
    load_model(board, Engine.FPGA)
    im = load(Path(qtb))
    rng = np.random.default_rng(0)
    x = rng.integers(-128, 128, size=(im.config.window, im.config.features)).astype(np.int8)
    res = infer(board, x, Engine.FPGA)
    want = reference.forward(im, x[None].astype(np.int64))[0]
    assert res.ok and res.outputs.astype(np.int64).tolist() == want.tolist()


def test_step8_bootloader_and_install(fw) -> None:
    """Step 8: RESET mode 1 brings up the RPI-RP2 drive; `install` puts the UF2 back and the board
    re-enumerates with the same build id (no BOOTSEL button)."""
    drive = os.environ.get("QTD_HW_DRIVE")
    if not PORT or not drive:
        pytest.skip("set QTD_HW_PORT and QTD_HW_DRIVE (where the RPI-RP2 drive mounts)")
    from qtdeploy.cli.firmware import reboot_to_bootloader
    from qtdeploy.firmware.install import install, is_rp2040_drive

    reboot_to_bootloader(PORT, None, False, "env5")
    deadline = time.monotonic() + 15
    while not is_rp2040_drive(Path(drive)):
        assert time.monotonic() < deadline, "no RPI-RP2 drive after RESET mode 1"
        time.sleep(0.5)
    env5 = load_board("env5")
    res = install(fw.uf2, vid=env5.usb.vid, pid=env5.usb.pid, drive=drive)
    assert res.port
