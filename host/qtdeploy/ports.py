"""Which serial port is the board: explicit --port, the virtual board, or USB auto-detection.

Why match on USB VID:PID from the board file rather than on port names: names differ per OS
(/dev/ttyACM0, COM7, /dev/cu.usbmodem1101) and change with plug order, while the VID:PID is
what the firmware's USB descriptor says. When detection is not unambiguous we refuse and list
what is attached, instead of guessing and writing a flash image to the wrong device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from serial.tools import list_ports

from qtdeploy.errors import LinkError


@dataclass(frozen=True)
class PortInfo:
    """One attached serial port, as much as the OS tells about it."""

    device: str
    vid: int | None
    pid: int | None
    description: str
    serial_number: str | None

    @property
    def usb_id(self) -> str:
        return (
            f"{self.vid:04X}:{self.pid:04X}" if self.vid is not None and self.pid is not None else "no USB id"
        )

    def line(self) -> str:
        serial = f", serial {self.serial_number}" if self.serial_number else ""
        return f"{self.device} [{self.usb_id}] {self.description}{serial}"


# The link's base timeout toward the emulated board (wall seconds): the emulator runs the M0+ at
# ~15 M cycles/s on a shared 2-core machine (~0.12x real time, firmware/emu/harness.mjs --speed),
# so the board's worst answer (SHA-256 of a 1 MiB slot, ~1 s on silicon) takes ~10 s here.
EMULATOR_LINK_TIMEOUT = 20.0


def is_rp2040_url(url: str) -> bool:
    """A sim:// URL that names the emulated RP2040."""
    import urllib.parse

    if not url.startswith("sim://"):
        return False
    return urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("mcu", [""])[-1] == "rp2040"


def is_sim(port: str) -> bool:
    """'sim' or a sim:// URL: the virtual board, opened by its own transport."""
    return port == "sim" or port.startswith("sim://")


_SIM_PACKAGE = "qtdeploy.sim"  # holds protocol_sim, pyserial's handler for sim://


def sim_url(port: str) -> str:
    """``sim`` -> ``sim://`` (the default virtual board); other ports unchanged."""
    return "sim://" if port == "sim" else port


def register_sim() -> None:
    """Make ``sim://`` known to pyserial (idempotent), without importing the virtual board here.

    pyserial imports ``qtdeploy.sim.protocol_sim`` by name the first time a sim:// URL opens, so the
    link and operation layers open a virtual board without depending on :mod:`qtdeploy.sim`.
    """
    import serial

    if _SIM_PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(_SIM_PACKAGE)


def attached_ports() -> list[PortInfo]:
    """Every serial port the OS lists, sorted by device name (stable messages and choices)."""
    ports = [
        PortInfo(p.device, p.vid, p.pid, p.description or "", p.serial_number) for p in list_ports.comports()
    ]
    return sorted(ports, key=lambda p: p.device)


def find_ports(board: Any) -> list[PortInfo]:
    """The attached ports whose USB VID:PID is the board file's ``[usb]``; none for a board without USB."""
    if board.usb is None:
        return []
    return [p for p in attached_ports() if (p.vid, p.pid) == (board.usb.vid, board.usb.pid)]


def resolve_port(port_arg: str | None, board: Any) -> str:
    """The port to open: --port as given, 'sim'/'sim://...' unchanged, else the one matching board.

    Raises LinkError (exit 6) when auto-detection finds no board or more than one.
    """
    if port_arg:
        return port_arg
    if board.usb is None:
        raise LinkError(
            f"board {board.id} has no USB id to auto-detect it by.",
            "Pass --port sim for the virtual board, or --port with the serial device.",
        )
    want = f"{board.usb.vid:04X}:{board.usb.pid:04X}"
    matches = find_ports(board)
    if len(matches) == 1:
        return matches[0].device
    if not matches:
        attached = attached_ports()
        listing = "; ".join(p.line() for p in attached) if attached else "no serial ports at all"
        raise LinkError(
            f"no {board.name} found: no serial port has USB id {want}. Attached: {listing}.",
            "Plug the board in (a data cable, not a charge-only one) and retry, pass --port PORT "
            "for a port listed above, or --port sim for the virtual board.",
        )
    listing = "; ".join(p.line() for p in matches)
    raise LinkError(
        f"{len(matches)} boards with USB id {want} are attached: {listing}.",
        f"Choose one with --port, e.g. --port {matches[0].device}.",
    )
