"""`qtdeploy firmware`: build the board's own firmware (the RP2040 UF2), install it, reboot a
running board into its USB bootloader."""

from __future__ import annotations

from pathlib import Path

import click

from qtdeploy.cli.options import board_option, json_option, open_board, port_options
from qtdeploy.cli.output import emit, stdout


@click.group("firmware")
def command() -> None:
    """The MCU firmware of a real board: a UF2 for the enV5's RP2040."""


@command.command("build")
@board_option
@click.option("--rebuild", is_flag=True, help="Run make even if the cached build is current.")
@click.option("--emulator", is_flag=True, help="Also build the emulator's part models (parts.wasm).")
@json_option
def build_cmd(board: str | None, rebuild: bool, emulator: bool, as_json: bool) -> None:
    """Build the firmware (ELF + UF2) for a board file; prints the UF2, the ELF and the build id."""
    from qtdeploy.firmware import build

    fw = build(board or "env5", emulator=emulator, rebuild=rebuild)
    result = {
        "board": fw.board,
        "uf2": str(fw.uf2),
        "elf": str(fw.elf),
        "build_id": fw.build_id,
        "size": fw.as_dict()["size"],
        "size_measured": "from the built ELF (arm-none-eabi-size)",
    }
    if fw.parts_wasm:
        result["parts_wasm"] = str(fw.parts_wasm)

    def human(r: dict) -> None:
        stdout.print(f"[bold]{r['board']}[/] firmware, build id {r['build_id']}", highlight=False)
        stdout.print(f"UF2 {r['uf2']}\nELF {r['elf']}", highlight=False, soft_wrap=True)
        for line in fw.size.lines():
            stdout.print(line + "  (measured from the ELF)", highlight=False)

    emit(result, as_json, human)


@command.command("install")
@click.argument("uf2_file", required=False, type=click.Path(dir_okay=False, exists=True))
@board_option
@click.option(
    "--drive", default=None, help="Mount point of the RPI-RP2 drive (default: find the one mounted)."
)
@port_options
@click.option("--timeout", type=float, default=15.0, show_default=True, help="Seconds to wait for each step.")
@json_option
def install_cmd(
    uf2_file: str | None,
    board: str | None,
    drive: str | None,
    port: str | None,
    baud: int | None,
    trace: bool,
    timeout: float,
    as_json: bool,
) -> None:
    """Copy the UF2 (default: the one built for --board) onto the RPI-RP2 drive, wait for the board.

    With --port, a board running our firmware is first rebooted into its USB bootloader (RESET
    mode 1, the ROM's reset_usb_boot), so no BOOTSEL button is needed.
    """
    from qtdeploy.boards import load_board
    from qtdeploy.firmware import build
    from qtdeploy.firmware.install import find_drives, install
    from qtdeploy.formats import uf2 as uf2_format

    b = load_board(board or "env5")
    path = Path(uf2_file) if uf2_file else build(b.id).uf2
    uf2_format.check_firmware(path.read_bytes(), name=str(path))  # before the running board is touched
    if port:
        reboot_to_bootloader(port, baud, trace, board)
        _wait_drive(timeout, find_drives)
    assert b.usb is not None, "the board file has no [usb]: nothing to wait for"
    res = install(path, vid=b.usb.vid, pid=b.usb.pid, drive=drive, timeout=timeout)
    emit(
        res.__dict__,
        as_json,
        lambda r: stdout.print(
            f"wrote {r['uf2']} ({r['blocks']} blocks) to {r['drive']}; the board is back on {r['port']}",
            highlight=False,
            soft_wrap=True,
        ),
    )


@command.command("bootloader")
@port_options
@board_option
@json_option
def bootloader_cmd(port: str | None, baud: int | None, trace: bool, board: str | None, as_json: bool) -> None:
    """Reboot a board running our firmware into the RP2040's USB bootloader (the RPI-RP2 drive)."""
    reboot_to_bootloader(port, baud, trace, board)
    emit({"rebooted": True}, as_json, lambda r: stdout.print("rebooting into the USB bootloader (RPI-RP2)"))


def reboot_to_bootloader(port: str | None, baud: int | None, trace: bool, board: str | None) -> None:
    from qtdeploy._protocol import Command
    from qtdeploy.link import payloads as P

    with open_board(port, baud, trace, board) as session:
        session.link.request(Command.RESET, P.ResetRequest.build({"mode": P.RESET_MODE_BOOTLOADER}))


def _wait_drive(timeout: float, find_drives) -> None:
    import time

    from qtdeploy.errors import LinkError

    deadline = time.monotonic() + timeout
    while not find_drives():
        if time.monotonic() > deadline:
            raise LinkError(
                f"No RPI-RP2 drive appeared within {timeout:.0f} s of the bootloader reboot.",
                "Mount it if your desktop does not (udisksctl mount), or hold BOOTSEL and replug.",
            )
        time.sleep(0.25)
