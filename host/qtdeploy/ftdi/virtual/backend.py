"""A pyusb backend (``usb.backend.IBackend``) whose only devices are virtual FT232Hs.

pyftdi finds devices through ``UsbTools``, which loads the first module of ``UsbTools.BACKENDS``
whose ``get_backend()`` answers (pyftdi's own tests swap in a virtual backend the same way).
:func:`attached` puts this module there for the duration of a ``with`` block; everything above
it, pyftdi's ``Ftdi`` and ``SpiController`` included, runs unchanged. What a device answers:

- descriptors: VID 0x0403, PID 0x6014, bcdDevice 0x0900 (FT232H), one configuration, one
  vendor interface with bulk IN 0x81 and OUT 0x02 of 512 bytes (USB 2.0 high speed);
- string descriptors (language 0x0409): "FTDI", "Single RS232-HS", the serial number;
- FTDI vendor requests: reset / purge, latency timer (set and get), bitmode, baud rate, modem and
  flow control, event / error characters (accepted), modem status (0x32 0x60), pins, EEPROM
  reads (blank);
- bulk OUT bytes go to the MPSSE engine (:mod:`.ft232h`); bulk IN answers carry the FTDI 2-byte
  modem status header in front of every 512-byte packet.
"""

from __future__ import annotations

import array
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from usb.backend import IBackend

from qtdeploy.boards import Board
from qtdeploy.ftdi.virtual.ft232h import BITMODE_MPSSE, Mpsse, Timing
from qtdeploy.ftdi.virtual.nor import NorModel, map_flash_file

VID, PID, BCD = 0x0403, 0x6014, 0x0900
PACKET = 512
EP_IN, EP_OUT = 0x81, 0x02
STRINGS = {1: "FTDI", 2: "Single RS232-HS"}
MODEM_STATUS = bytes((0x32, 0x60))  # CTS|DSR + 1, THRE|TEMT: what an idle FT232H reports
_addresses = itertools.count(10)


@dataclass(eq=False)  # identity: pyftdi keeps devices in sets
class VirtualFt232h:
    """One adapter, its SPI bus wired to a NOR model on ``flash_file`` (and its hold pins watched)."""

    board: Board
    flash_file: Path
    serial: str = "QTD00001"
    timing: Timing = field(default_factory=Timing)

    def __post_init__(self) -> None:
        self.flash_file = Path(self.flash_file)
        self.address = next(_addresses)
        hold = self.board.ftdi.hold if self.board.ftdi else ()
        self.mpsse = Mpsse(hold, self.timing)
        self._mm, mem = map_flash_file(self.flash_file, self.board.flash.size)
        self.nor = NorModel(mem, self.board.flash, self.mpsse.now_us, self.mpsse.bus_granted)
        self.mpsse.nor = self.nor
        self.latency = 16

    @property
    def violations(self) -> list[str]:
        return self.nor.violations

    def now_s(self) -> float:
        """The host side's simulated time, seconds."""
        return self.mpsse.host_us / 1e6

    def sleep(self, seconds: float) -> None:
        self.mpsse.host_sleep(seconds)

    def close(self) -> None:
        self.nor.mem = None  # type: ignore[assignment]  # drop the numpy view before the map goes
        if not self._mm.closed:
            self._mm.flush()
            self._mm.close()

    # --- USB ------------------------------------------------------------------------------

    def vendor_out(self, request: int, value: int) -> None:
        if request == 0x00:  # SIO_REQ_RESET: 0 reset, 1 purge RX (host->chip), 2 purge TX
            if value == 0:
                self.mpsse.purge(True, True)
            else:
                self.mpsse.purge(value == 1, value == 2)
        elif request == 0x09:
            self.latency = value & 0xFF
        elif request == 0x0B:  # SET_BITMODE: mask in the low byte, mode in the high byte
            self.mpsse.set_bitmode(value & 0xFF, (value >> 8) & 0xFF)
        # baud rate, modem control, flow control, data, event/error characters: accepted

    def vendor_in(self, request: int, length: int) -> bytes:
        if request == 0x0A:
            return bytes((self.latency,))
        if request == 0x05:
            return MODEM_STATUS
        if request == 0x0C:
            m = self.mpsse
            return bytes(((m.low_value & m.low_dir) | (~m.low_dir & 0xFF),))
        if request == 0x90:
            return b"\xff\xff"
        return bytes(length)

    def bulk_in(self, size: int) -> bytes:
        packets = max(1, size // PACKET)
        data = self.mpsse.host_read(packets * (PACKET - 2))
        out = bytearray()
        for start in range(0, max(len(data), 1), PACKET - 2):
            out += MODEM_STATUS + data[start : start + PACKET - 2]
        return bytes(out)

    @property
    def in_mpsse(self) -> bool:
        return self.mpsse.bitmode == BITMODE_MPSSE


def _device_descriptor(dev: VirtualFt232h) -> SimpleNamespace:
    return SimpleNamespace(
        bLength=18,
        bDescriptorType=1,
        bcdUSB=0x0200,
        bDeviceClass=0,
        bDeviceSubClass=0,
        bDeviceProtocol=0,
        bMaxPacketSize0=64,
        idVendor=VID,
        idProduct=PID,
        bcdDevice=BCD,
        iManufacturer=1,
        iProduct=2,
        iSerialNumber=3,
        bNumConfigurations=1,
        address=dev.address,
        bus=1,
        port_number=dev.address,
        port_numbers=(dev.address,),
        speed=3,  # usb.util.SPEED_HIGH
    )


_CONFIG = SimpleNamespace(
    bLength=9,
    bDescriptorType=2,
    wTotalLength=32,
    bNumInterfaces=1,
    bConfigurationValue=1,
    iConfiguration=0,
    bmAttributes=0x80,
    bMaxPower=45,
    extra_descriptors=[],
)
_INTERFACE = SimpleNamespace(
    bLength=9,
    bDescriptorType=4,
    bInterfaceNumber=0,
    bAlternateSetting=0,
    bNumEndpoints=2,
    bInterfaceClass=0xFF,
    bInterfaceSubClass=0xFF,
    bInterfaceProtocol=0xFF,
    iInterface=2,
    extra_descriptors=[],
)
_ENDPOINTS = [
    SimpleNamespace(
        bLength=7,
        bDescriptorType=5,
        bEndpointAddress=a,
        bmAttributes=2,
        wMaxPacketSize=PACKET,
        bInterval=0,
        bRefresh=0,
        bSynchAddress=0,
        extra_descriptors=[],
    )
    for a in (EP_IN, EP_OUT)
]


class VirtualBackend(IBackend):
    """The pyusb backend over a list of :class:`VirtualFt232h`."""

    def __init__(self, devices: list[VirtualFt232h]) -> None:
        self.devices = devices

    def enumerate_devices(self):
        return iter(self.devices)

    def get_device_descriptor(self, dev):
        return _device_descriptor(dev)

    def get_configuration_descriptor(self, dev, config):
        if config != 0:
            raise IndexError(config)
        return _CONFIG

    def get_interface_descriptor(self, dev, intf, alt, config):
        if (intf, alt, config) != (0, 0, 0):
            raise IndexError(intf)
        return _INTERFACE

    def get_endpoint_descriptor(self, dev, ep, intf, alt, config):
        return _ENDPOINTS[ep]

    def open_device(self, dev):
        return dev

    def close_device(self, dev_handle):
        pass

    def set_configuration(self, dev_handle, config_value):
        pass

    def get_configuration(self, dev_handle):
        return 1

    def set_interface_altsetting(self, dev_handle, intf, altsetting):
        pass

    def claim_interface(self, dev_handle, intf):
        pass

    def release_interface(self, dev_handle, intf):
        pass

    def clear_halt(self, dev_handle, ep):
        pass

    def reset_device(self, dev_handle):
        dev_handle.mpsse.reset()

    def is_kernel_driver_active(self, dev_handle, intf):
        return False

    def detach_kernel_driver(self, dev_handle, intf):
        pass

    def attach_kernel_driver(self, dev_handle, intf):
        pass

    def bulk_write(self, dev_handle, ep, intf, data, timeout):
        dev_handle.mpsse.host_write(bytes(data))
        return len(data)

    def bulk_read(self, dev_handle, ep, intf, buff, timeout):
        data = dev_handle.bulk_in(len(buff) * buff.itemsize)
        buff[: len(data)] = array.array("B", data)
        return len(data)

    def ctrl_transfer(self, dev_handle, bmRequestType, bRequest, wValue, wIndex, data, timeout):
        kind = bmRequestType & 0x60
        if kind == 0x40:  # vendor (FTDI SIO requests)
            if bmRequestType & 0x80:
                return _fill(data, dev_handle.vendor_in(bRequest, len(data)))
            dev_handle.vendor_out(bRequest, wValue)
            return 0
        if bRequest == 0x06 and wValue >> 8 == 3:  # GET_DESCRIPTOR(string)
            index = wValue & 0xFF
            text = {**STRINGS, 3: dev_handle.serial}.get(index)
            raw = b"\x09\x04" if index == 0 else (text or "").encode("utf-16-le")
            return _fill(data, bytes((2 + len(raw), 3)) + raw)
        if bRequest == 0x08:  # GET_CONFIGURATION
            return _fill(data, b"\x01")
        return 0


def _fill(buff, payload: bytes) -> int:
    n = min(len(buff), len(payload))
    buff[:n] = array.array("B", payload[:n])
    return n


_current: VirtualBackend | None = None


def get_backend() -> VirtualBackend | None:
    """What ``UsbTools._load_backend`` calls on each module named in ``UsbTools.BACKENDS``."""
    return _current


@contextmanager
def attached(*devices: VirtualFt232h) -> Iterator[VirtualBackend]:
    """pyftdi sees exactly ``devices`` (none: an empty bus) inside the block; closed after it."""
    global _current
    from pyftdi.usbtools import UsbTools

    saved, previous = UsbTools.BACKENDS, _current
    _current = VirtualBackend(list(devices))
    UsbTools.BACKENDS = (__name__,)
    UsbTools.flush_cache()
    try:
        yield _current
    finally:
        UsbTools.release_all_devices()
        UsbTools.flush_cache()
        UsbTools.BACKENDS, _current = saved, previous
        for dev in devices:
            dev.close()


def find(handle) -> VirtualFt232h | None:
    """The virtual adapter behind a pyftdi ``Ftdi`` (None for real hardware)."""
    dev = getattr(getattr(handle, "_usb_dev", None), "_ctx", None)
    dev = getattr(dev, "dev", None)
    return dev if isinstance(dev, VirtualFt232h) else None
