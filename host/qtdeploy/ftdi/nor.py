"""A small JEDEC SPI NOR driver on a pyftdi ``SpiPort``, with the part's facts from the board file.

Why not pyspiflash (protocol/ftdi.md says more): it finds its device classes by scanning its own
module for names ending in ``FlashDevice``, so adding the S25FL128S means injecting a class into
its namespace; its Spansion class hard-codes sizes and timings for other parts and sleeps in real
time. What we need is eight opcodes and three status bits, which the board file already states.

Every wait goes through a :class:`Clock`, so that against the virtual FT232H it runs on the
adapter's simulated time (datasheet maxima as timeouts, never a wall-clock guess).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from qtdeploy.boards import Flash
from qtdeploy.errors import DeviceError

READ_CHUNK = 0x8000  # pyftdi's SpiController moves at most 0xFF00 bytes per exchange


class Port(Protocol):
    def exchange(self, out: bytes = b"", readlen: int = 0) -> bytes: ...


@dataclass(frozen=True)
class Clock:
    now: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep


class FlashBusyError(DeviceError):
    """The flash stays busy past the datasheet's maximum (or was busy before we started)."""


class FlashWriteError(DeviceError):
    """The part reports a failed program or erase (P_ERR / E_ERR), or ignored WRITE ENABLE."""


class Batch(Protocol):
    """Several chip-select transactions and a delay in one USB write (:class:`qtdeploy.ftdi.adapter.MpsseBatch`)."""

    def program_page(self, wren: bytes, program: bytes, delay_us: float, status: bytes) -> int: ...


class SpiNor:
    def __init__(self, port: Port, flash: Flash, clock: Clock = Clock(), batch: Batch | None = None) -> None:
        if flash.commands is None or flash.status_bits is None:
            raise ValueError("the board file has no [flash.commands] / [flash.status_bits]")
        self.port, self.flash, self.clock = port, flash, clock
        self.cmd, self.bits = flash.commands, flash.status_bits
        self.batch = batch
        self.polls = 0  # status reads while waiting (bench, tests)

    def _addr(self, op: int, addr: int) -> bytes:
        return bytes((op,)) + addr.to_bytes(self.flash.address_bytes, "big")

    def read_id(self) -> bytes:
        return bytes(self.port.exchange(bytes((self.cmd.read_id,)), 3))

    def status(self) -> int:
        return self.port.exchange(bytes((self.cmd.read_status,)), 1)[0]

    def protected_from(self, sr: int) -> int:
        """The first address the BP bits protect (the top 1/64 .. all of the array; size: none)."""
        mask = self.bits.block_protect
        bp = (sr & mask) >> ((mask & -mask).bit_length() - 1)
        size = self.flash.size
        if bp == 0:
            return size
        return 0 if bp >= 7 else size - (size >> (7 - bp))

    def wait_idle(self, max_us: int, what: str, first_us: int = 0) -> int:
        """Poll status until not busy; ``first_us`` (the typical time) is slept before the first poll."""
        start = self.clock.now()
        if first_us:
            self.clock.sleep(first_us / 1e6)
        while True:
            sr = self.status()
            self.polls += 1
            if not sr & self.bits.busy:
                return sr
            if self.clock.now() - start > max_us / 1e6:
                raise FlashBusyError(
                    f"The flash is still busy after {what} ({max_us / 1000:.0f} ms, the datasheet maximum); status {sr:#04x}.",
                    "Power-cycle the board with the adapter attached and retry; if it repeats, the part may be damaged.",
                )

    def read(self, addr: int, length: int) -> bytes:
        out = bytearray()
        while len(out) < length:
            n = min(READ_CHUNK, length - len(out))
            out += self.port.exchange(self._addr(self.cmd.read, addr + len(out)), n)
        return bytes(out)

    def _write_enable(self) -> None:
        self.port.exchange(bytes((self.cmd.write_enable,)))

    def erase_sector(self, addr: int) -> None:
        self._write_enable()
        self.port.exchange(self._addr(self.cmd.sector_erase, addr))
        t = self.flash.sector_erase
        sr = self.wait_idle(t.max_us, f"erasing the sector at {addr:#x}", first_us=t.typ_us)
        if sr & self.bits.erase_error:
            raise FlashWriteError(
                f"The flash reports an erase error (E_ERR) at {addr:#x}; status {sr:#04x}.",
                "Check block protection (status BP bits) and retry; the previous image stays active.",
            )

    def program(self, addr: int, data: bytes) -> None:
        """Page programs, split at page boundaries (a program must never wrap inside its page)."""
        page = self.flash.page_size
        t = self.flash.page_program
        pos = 0
        while pos < len(data):
            at = addr + pos
            n = min(page - at % page, len(data) - pos)
            what = f"programming the page at {at:#x}"
            if self.batch is not None:
                # WRITE ENABLE, PAGE PROGRAM, the typical program time clocked out with CS# high, and
                # READ STATUS: one USB write and one read per page instead of three round trips
                sr = self.batch.program_page(
                    bytes((self.cmd.write_enable,)),
                    self._addr(self.cmd.page_program, at) + data[pos : pos + n],
                    t.typ_us,
                    bytes((self.cmd.read_status,)),
                )
                self.polls += 1
                if sr & self.bits.busy:
                    sr = self.wait_idle(t.max_us, what)
            else:
                self._write_enable()
                self.port.exchange(self._addr(self.cmd.page_program, at) + data[pos : pos + n])
                sr = self.wait_idle(t.max_us, what, first_us=t.typ_us)
            if sr & self.bits.program_error:
                raise FlashWriteError(
                    f"The flash reports a program error (P_ERR) at {at:#x}; status {sr:#04x}.",
                    "Check block protection (status BP bits) and retry; the previous image stays active.",
                )
            pos += n
