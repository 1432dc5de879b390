"""A byte-stream SPI NOR model behind the virtual FT232H: the rules of firmware/hal/posix/nor_model.c.

Why a second model: the C model is command-level (one call per chip-select), the FTDI adapter
shifts bytes between chip-select edges, so this one is driven by select / clock / deselect. The
rules and the file format are the C model's, so a flash file written through the virtual FT232H
is the one the virtual board boots:

- the memory is the flash file itself (mmap, created erased at the board's size if new or short,
  as board_posix.c's ``map_flash`` does);
- PAGE PROGRAM only clears bits (a 0 -> 1 is a violation; the byte becomes old & new) and wraps
  inside its page; more than one page is a violation;
- PAGE PROGRAM, the erases and WRITE STATUS need WRITE ENABLE, which each of them clears;
- while an operation runs (its datasheet typical time, on the adapter's clock) every opcode but
  READ STATUS is a violation and is ignored;
- block protection: BP2..BP0 protect the top 1/64 .. all of the array (the C ``protected_from``);
- any access while the other bus masters are not held off the bus is a violation and is ignored.

One addition the C model does not need: SRWD (status bit 7) is kept, so that the host driver's
write-protect check can be tested. Violations are counted with a message, as in C.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable
from pathlib import Path

import numpy as np

from qtdeploy.boards import Flash

# The C model's defaults for what the board file does not give (nor_model.c / board_posix.c):
# a 4 KiB erase takes a quarter of the 64 KiB one, a status write 10 ms.
_WRITE_STATUS_US = 10_000


class PowerCut(Exception):
    """Raised by the model when the cut chosen with ``die_after`` happens (the power is gone)."""


def map_flash_file(path: str | os.PathLike[str], size: int) -> tuple[mmap.mmap, np.ndarray]:
    """The flash file mapped shared, created or extended erased (0xFF) to ``size`` bytes."""
    path = Path(path)
    with open(path, "a+b") as f:
        have = f.seek(0, os.SEEK_END)
        if have < size:
            f.write(b"\xff" * (size - have))
    fd = os.open(path, os.O_RDWR)
    try:
        mm = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
    finally:
        os.close(fd)
    return mm, np.frombuffer(mm, dtype=np.uint8)


class NorModel:
    """The flash part on the adapter's SPI bus. ``now_us`` is the adapter's (simulated) clock."""

    def __init__(
        self,
        mem: np.ndarray,
        flash: Flash,
        now_us: Callable[[], float],
        bus_granted: Callable[[], bool] | None = None,
    ) -> None:
        if flash.commands is None or flash.status_bits is None:
            raise ValueError("the board file's [flash] has no commands/status_bits tables")
        self.mem = mem
        self.size = flash.size
        self.page_size = flash.page_size
        self.sector_size = flash.sector_size
        self.jedec_id = bytes(flash.jedec_id)
        self.cmd = flash.commands
        self.bits = flash.status_bits
        self.page_program_us = flash.page_program.typ_us
        self.erase_sector_us = flash.sector_erase.typ_us
        self.erase_4k_us = flash.sector_erase.typ_us // 4
        self.write_status_us = _WRITE_STATUS_US
        self.now_us = now_us
        self.bus_granted = bus_granted
        self.sr = 0  # BP bits and SRWD; BUSY and WEL are derived
        self.wel = False
        self.busy_until_us = 0.0
        self.die_after = 0  # the n-th program/erase/status write (1-based) is cut half-way; 0 = never
        self.write_ops = 0
        self.violations: list[str] = []
        self.selects = 0  # chip-select assertions (transactions), for tests and the bench
        self._selected = False
        self._ignored = False
        self._bytes = bytearray()

    # --- status ---------------------------------------------------------------------------

    def busy(self) -> bool:
        return self.now_us() < self.busy_until_us

    def status(self) -> int:
        keep = self.bits.block_protect | self.bits.write_protect
        return (
            (self.sr & keep)
            | (self.bits.busy if self.busy() else 0)
            | (self.bits.write_enable if self.wel else 0)
        )

    def protected_from(self) -> int:
        """The first protected address (BP2..BP0 protect the top 1/64 .. all; nor_model.c)."""
        mask = self.bits.block_protect
        bp = (self.sr & mask) >> ((mask & -mask).bit_length() - 1)
        if bp == 0:
            return self.size
        return 0 if bp >= 7 else self.size - (self.size >> (7 - bp))

    def _violation(self, message: str) -> None:
        self.violations.append(message)

    # --- the bus --------------------------------------------------------------------------

    def select(self) -> None:
        self.selects += 1
        self._selected, self._bytes = True, bytearray()
        self._ignored = False
        if self.bus_granted is not None and not self.bus_granted():
            self._violation("flash access while the MCU/FPGA are not held off the shared bus")
            self._ignored = True

    def clock(self, mosi: bytes | None, count: int) -> bytes:
        """Shift ``count`` bytes (MOSI don't-care when None); returns MISO."""
        if not self._selected:
            return b"\xff" * count
        start = len(self._bytes)
        self._bytes += mosi if mosi is not None else b"\xff" * count
        if self._ignored:
            return b"\xff" * count
        if start == 0 and self._bytes[0] != self.cmd.read_status and self.busy():
            self._violation(f"opcode {self._bytes[0]:#04x} while the flash is busy (poll READ STATUS first)")
            self._ignored = True
            return b"\xff" * count
        op = self._bytes[0]
        out = bytearray(b"\xff" * count)
        if op == self.cmd.read_status:
            sr = self.status()
            for i in range(max(1, start) - start, count):
                out[i] = sr
        elif op == self.cmd.read_id:
            for i in range(count):
                n = start + i
                if n >= 1:
                    out[i] = self.jedec_id[n - 1] if n <= 3 else 0
        elif op == self.cmd.read and len(self._bytes) >= 4:
            addr = int.from_bytes(self._bytes[1:4], "big")
            first = max(start, 4)
            if first < start + count:
                idx = (addr + np.arange(first - 4, start + count - 4)) % self.size  # reads wrap
                out[first - start :] = self.mem[idx].tobytes()
        return bytes(out)

    def deselect(self) -> None:
        """Chip select rises: program, erase, status write and WEL changes take effect."""
        if not self._selected:
            return
        self._selected = False
        data, self._bytes = bytes(self._bytes), bytearray()
        if self._ignored or not data:
            return
        op, c = data[0], self.cmd
        is_erase = op in (c.sector_erase, 0x20)
        if op in (c.read, c.page_program) or is_erase:
            if len(data) < 4 or (is_erase and len(data) != 4):
                self._violation(f"opcode {op:#04x} with {len(data) - 1} address bytes (expected 3)")
                return
        if (op == c.page_program or is_erase or op == c.write_status) and not self.wel:
            self._violation(f"opcode {op:#04x} without WRITE ENABLE (the part ignores it)")
            return
        addr = int.from_bytes(data[1:4], "big") if len(data) >= 4 else 0
        if op == c.write_enable:
            self.wel = True
        elif op == c.write_disable:
            self.wel = False
        elif op == c.page_program:
            self._page_program(addr, data[4:])
        elif op == c.sector_erase:
            self._erase(addr, self.sector_size, self.erase_sector_us)
        elif op == 0x20:  # 4 KiB erase: the C model answers it too; our drivers never send it
            self._erase(addr, 4096, self.erase_4k_us)
        elif op == c.write_status:
            apply = self._start_write_op(1)
            if len(data) >= 2 and apply == 1:
                self.sr = data[1] & (self.bits.block_protect | self.bits.write_protect)
            self._finish_write_op(apply, 1, self.write_status_us)
        elif op not in (c.read, c.read_status, c.read_id):
            self._violation(f"unknown opcode {op:#04x}")

    # --- operations (nor_model.c's page_program / erase / start_write_op / finish_write_op) -

    def _start_write_op(self, n: int) -> int:
        self.write_ops += 1
        return n // 2 if self.die_after and self.write_ops == self.die_after else n

    def _finish_write_op(self, applied: int, n: int, busy_us: int) -> None:
        self.wel = False
        self.busy_until_us = self.now_us() + busy_us
        if applied != n:
            raise PowerCut(f"power cut during flash write operation {self.write_ops}")

    def _page_program(self, addr: int, data: bytes) -> None:
        if addr >= self.size:
            self._violation(f"page program at {addr:#010x} beyond the {self.size}-byte array")
            return
        if addr >= self.protected_from():
            self._violation(f"page program at {addr:#010x} into block-protected space")
            self.wel = False
            return
        if len(data) > self.page_size:
            self._violation(
                f"page program of {len(data)} bytes: more than one page (the part keeps the last {self.page_size})"
            )
        base = addr - addr % self.page_size
        apply = self._start_write_op(len(data))
        new = np.frombuffer(data, dtype=np.uint8)
        at = base + (addr - base + np.arange(len(data))) % self.page_size  # wraps inside the page
        raised = new & ~self.mem[at]
        if raised.any():
            i = int(np.flatnonzero(raised)[0])
            self._violation(
                f"page program sets a 0 bit back to 1 at {int(at[i]):#010x} "
                f"({int(new[i]):#04x} over {int(self.mem[at[i]]):#04x})"
            )
        if len(data) <= self.page_size:
            self.mem[at[:apply]] &= new[:apply]
        else:
            for i in range(apply):  # in order: a longer-than-page program ANDs its wrapped bytes in turn
                self.mem[at[i]] &= new[i]
        self._finish_write_op(apply, len(data), self.page_program_us)

    def _erase(self, addr: int, unit: int, busy_us: int) -> None:
        if addr >= self.size:
            self._violation(f"erase at {addr:#010x} beyond the array")
            return
        base = addr - addr % unit  # the part ignores the low address bits
        if base + unit > self.protected_from():
            self._violation(f"erase at {addr:#010x} in block-protected space")
            self.wel = False
            return
        apply = self._start_write_op(unit)
        self.mem[base : base + apply] = 0xFF
        self._finish_write_op(apply, unit, busy_us)
