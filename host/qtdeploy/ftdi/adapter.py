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
    return [url for url, _desc in UsbTools.build_dev_strings("ftdi", Ftdi.VENDOR_IDS, Ftdi.PRODUCT_IDS, devices)]


def _not_found(url: str, why: str) -> AdapterNotFoundError:
    urls = attached_urls()
    seen = ("attached: " + ", ".join(urls)) if urls else "no FTDI device is attached (or libusb cannot see it)"
    return AdapterNotFoundError(
        f"No FTDI adapter answers at {url} ({why}); {seen}.",
        "Plug the adapter in and pass its URL with --via (`python -m pyftdi.ftdi_urls` lists them); "
        "on Linux, the udev rule for 0403:6014 must give you access.",
    )


@contextmanager
def open_adapter(url: str, board: Board) -> Iterator[Adapter]:
    from pyftdi.ftdi import FtdiError
    from pyftdi.spi import SpiController
    from pyftdi.usbtools import UsbToolsError
    from usb.core import USBError

    from qtdeploy.ftdi.virtual.backend import find

    wiring = board.ftdi
    if wiring is None or board.flash.commands is None or board.flash.status_bits is None:
        raise UsageError(f"Board file {board.source} says nothing about direct SPI flashing.",
                         "Add [ftdi] and [flash.commands] / [flash.status_bits] (see boards/env5.toml), or flash over UART.")
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
        yield Adapter(url, SpiNor(port, board.flash, clock), ctrl.frequency, dev)
    finally:
        ctrl.close()


def virtual_flash_file() -> str | None:
    return os.environ.get(VIRTUAL_ENV) or None
