"""Open an FTDI adapter as the flash's SPI master, the other bus masters held off the bus.

The transport layer of the direct-SPI path: pyftdi's ``SpiController`` on the URL, the board
file's hold pins ([ftdi.hold]) driven to their asserted level from the first MPSSE command on
(pyftdi's ``configure`` sets direction and initial value together) until the port is closed
(pyftdi then resets the bit mode: every pin an input again, the board runs).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from qtdeploy.boards import Board
from qtdeploy.errors import LinkError, UsageError
from qtdeploy.ftdi.nor import Clock, SpiNor

# Set to a flash file path, ``qtdeploy flash --via`` talks to a virtual FT232H on that file
# instead of USB (tests, demos, the bench; protocol/ftdi.md).
VIRTUAL_ENV = "QTDEPLOY_FTDI_VIRTUAL"


class AdapterNotFoundError(LinkError):
    """No FTDI device matches the URL (the message lists those attached)."""


@dataclass
class Adapter:
    url: str
    nor: SpiNor
    spi_hz: float
    virtual: object | None  # the VirtualFt232h when simulated


def attached_urls() -> list[str]:
    """pyftdi URLs of every FTDI device on the bus (empty when none or no USB backend)."""
    from pyftdi.ftdi import Ftdi
    from pyftdi.usbtools import UsbTools

    try:
        devices = Ftdi.list_devices()
    except (ValueError, OSError):  # ValueError: no libusb backend at all
        return []
    return [
        url for url, _desc in UsbTools.build_dev_strings("ftdi", Ftdi.VENDOR_IDS, Ftdi.PRODUCT_IDS, devices)
    ]


def _not_found(url: str, why: str) -> AdapterNotFoundError:
    urls = attached_urls()
    seen = (
        ("attached: " + ", ".join(urls)) if urls else "no FTDI device is attached (or libusb cannot see it)"
    )
    return AdapterNotFoundError(
        f"No FTDI adapter answers at {url} ({why}); {seen}.",
        "Plug the adapter in and pass its URL with --via (`python -m pyftdi.ftdi_urls` lists them); "
        "on Linux, the udev rule for 0403:6014 must give you access.",
    )


class MpsseBatch:
    """Chip-select transactions strung together in one MPSSE command stream (FTDI AN_108 §3).

    pyftdi's ``SpiPort.exchange`` is one transaction per USB write (and a read round trip when it
    reads); a page program needs three (WRITE ENABLE, PAGE PROGRAM, READ STATUS) and the program
    time between the last two. Here they go out as one write on the controller's own ``Ftdi``, the
    wait clocked out with CS# high (0x8F: n bytes of SCK, no data), then one read of the status.
    Mode 0, CS0, the hold pins kept as the controller keeps them (its GPIO output value).
    """

    def __init__(self, ctrl, hz: float) -> None:
        self.ftdi, self.hz = ctrl.ftdi, hz
        gpio = ctrl._gpio_low  # noqa: SLF001 - the value pyftdi itself ORs into every CS edge
        direction = ctrl.direction & 0xFF
        self.select = bytes((0x80, gpio & ~0x0B & 0xFF, direction))  # CS# low, SCK low, MOSI low
        self.deselect = bytes((0x80, (gpio | 0x08) & ~0x03 & 0xFF, direction))

    @staticmethod
    def _write(data: bytes) -> bytes:
        return bytes((0x11,)) + (len(data) - 1).to_bytes(2, "little") + data

    def program_page(self, wren: bytes, program: bytes, delay_us: float, status: bytes) -> int:
        clocks = max(1, min(0x10000, int(delay_us * 1e-6 * self.hz / 8) + 1))
        cmd = (
            self.select
            + self._write(wren)
            + self.deselect
            + self.select
            + self._write(program)
            + self.deselect
            + bytes((0x8F,))
            + (clocks - 1).to_bytes(2, "little")
            + self.select
            + self._write(status)
            + bytes((0x20, 0, 0))
            + self.deselect
            + bytes((0x87,))
        )
        self.ftdi.write_data(cmd)
        data = self.ftdi.read_data_bytes(1, 4)
        if len(data) != 1:
            raise LinkError(
                "The FTDI adapter did not return the flash status.", "Reconnect the adapter and retry."
            )
        return data[0]


@contextmanager
def open_adapter(url: str, board: Board, *, batch: bool = True) -> Iterator[Adapter]:
    from pyftdi.ftdi import FtdiError
    from pyftdi.spi import SpiController
    from pyftdi.usbtools import UsbToolsError
    from usb.core import USBError

    from qtdeploy.ftdi.virtual.backend import find

    wiring = board.ftdi
    if wiring is None or board.flash.commands is None or board.flash.status_bits is None:
        raise UsageError(
            f"Board file {board.source} says nothing about direct SPI flashing.",
            "Add [ftdi] and [flash.commands] / [flash.status_bits] (see boards/env5.toml), or flash over UART.",
        )
    hold_mask = sum(p.mask for p in wiring.hold)
    hold_value = sum(0 if p.active_low else p.mask for p in wiring.hold)
    hz = float(min(wiring.spi_hz, board.flash.read_max_hz or wiring.spi_hz))
    ctrl = SpiController(cs_count=1)
    try:
        ctrl.configure(url, frequency=hz, direction=hold_mask, initial=hold_value)
    except (UsbToolsError, FtdiError, USBError, OSError, ValueError) as exc:
        raise _not_found(url, str(exc) or type(exc).__name__) from exc
    try:
        ctrl.write_gpio(hold_value)  # pyftdi re-asserts these bits around every transfer from now on
        port = ctrl.get_port(0, hz, mode=0)
        dev = find(ctrl.ftdi)
        clock = Clock(dev.now_s, dev.sleep) if dev is not None else Clock()
        batcher = MpsseBatch(ctrl, ctrl.frequency) if batch else None
        yield Adapter(url, SpiNor(port, board.flash, clock, batcher), ctrl.frequency, dev)
    finally:
        ctrl.close()


def virtual_flash_file() -> str | None:
    return os.environ.get(VIRTUAL_ENV) or None
