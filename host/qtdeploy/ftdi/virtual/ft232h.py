"""The FT232H's MPSSE engine, enough of it for pyftdi's SpiController, with a timing model.

What it does with the bytes pyftdi writes to the bulk OUT endpoint (FTDI AN_108, "Command
Processor for MPSSE and MCU Host Bus Emulation Modes"):

- 0x80 / 0x82 set ADBUS / ACBUS value and direction; 0x81 / 0x83 read them back;
- 0x8E / 0x8F clock bits / bytes with no data (a delay); 0x86 sets the clock divisor, 0x8A / 0x8B turn the divide-by-5 off / on, 0x8C / 0x8D three-phase
  clocking on / off, 0x96 / 0x97 adaptive clocking, 0x84 / 0x85 loopback, 0x87 send immediate;
- 0x10/0x11 (write bytes), 0x20/0x24 (read bytes), 0x31/0x34 (read + write bytes) MSB first,
  and the bit variants 0x12/0x13/0x22/0x26/0x33/0x36 (parsed; a bit-level transfer is not a
  NOR transaction, so the flash records a violation);
- anything else answers 0xFA followed by the opcode ("bad command"), as the chip does.

ADBUS0 SCK, ADBUS1 MOSI, ADBUS2 MISO, ADBUS3 CS#: chip-select edges select / deselect the NOR
model. The ``hold`` pins of the board file ([ftdi.hold]) are watched: the NOR model is told the
bus is granted only while every hold pin is driven to its asserted level.

Timing model (simulated time, protocol/ftdi.md): each bulk transfer costs ``USB_TRANSFER_US``
plus its bytes at ``USB_BYTES_PER_US``; the engine runs a command stream once it has arrived and
after the previous one, shifting bytes at the MPSSE clock 60 MHz / ((1 + divisor) * 2) (x 1.5
with three-phase clocking, / 5 with the divide-by-5), each GPIO write ``GPIO_US``; a read returns
once the engine has produced its bytes. The FT232H's 1 KiB receive buffer means the host's next
write waits until the engine has started on the previous one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from qtdeploy.boards import HoldPin
from qtdeploy.ftdi.virtual.nor import NorModel

SCK, MOSI, MISO, CS = 0x01, 0x02, 0x04, 0x08
BITMODE_RESET, BITMODE_MPSSE = 0x00, 0x02


@dataclass(frozen=True)
class Timing:
    """The adapter's timing model; defaults documented (with sources) in protocol/ftdi.md."""

    usb_transfer_us: float = 125.0  # one USB 2.0 high-speed microframe per bulk transfer
    usb_bytes_per_us: float = 40.0  # 40 MB/s: FT232H's bulk ceiling (FTDI AN_130, FT245 sync FIFO)
    gpio_us: float = 0.5  # between two SET_BITS (pyftdi Ftdi.mpsse_bit_delay, measured on an FT2232H)
    base_clock_hz: float = 60e6  # MPSSE master clock with the divide-by-5 off (FT232H datasheet §4.4)


@dataclass
class Counters:
    bulk_writes: int = 0
    bulk_reads: int = 0
    bytes_out: int = 0  # host -> adapter
    bytes_in: int = 0  # adapter -> host, payload only
    spi_bytes: int = 0
    spi_us: float = 0.0  # time the SPI clock was running
    bad_commands: list[int] = field(default_factory=list)


class Mpsse:
    """The engine: command parser, pins, clock, output FIFO, simulated time."""

    def __init__(self, hold: tuple[HoldPin, ...] = (), timing: Timing = Timing()) -> None:
        self.timing = timing
        self.hold = hold
        self.nor: NorModel | None = None
        self.host_us = 0.0  # when the host side is done with its last transfer
        self.engine_us = 0.0  # when the engine is done with the commands it has
        self._exec_us = 0.0  # the engine's clock while it executes
        self.counters = Counters()
        self.reset()

    def reset(self) -> None:
        self.bitmode = BITMODE_RESET
        self.low_value, self.low_dir = 0, 0
        self.high_value, self.high_dir = 0, 0
        self.divisor, self.div5, self.three_phase, self.loopback = 0, True, False, False
        self.latency_ms = 16
        self.out = bytearray()  # bytes waiting for the host
        self._out_base = 0  # bytes the host has taken so far
        self._ready: list[tuple[int, int, float, float]] = []  # (begin, end, first ready, last ready)
        self._pending = bytearray()  # an incomplete command at the end of a write
        self._cs_low = False

    # --- pins -------------------------------------------------------------------------------

    def _level(self, mask: int) -> int:
        """A line's level: driven if an output, else pulled up (CS#, RUN, PROG_B, MISO idle)."""
        return (self.low_value & mask) if self.low_dir & mask else mask

    def bus_granted(self) -> bool:
        """Every hold pin driven to its asserted level (MCU in reset, FPGA off the bus)."""
        for pin in self.hold:
            if not self.low_dir & pin.mask:
                return False
            if bool(self.low_value & pin.mask) == pin.active_low:
                return False
        return True

    def _update_cs(self) -> None:
        low = self.bitmode == BITMODE_MPSSE and not self._level(CS)
        if low and not self._cs_low and self.nor is not None:
            self.nor.select()
        elif not low and self._cs_low and self.nor is not None:
            self.nor.deselect()
        self._cs_low = low

    def set_bitmode(self, mask: int, mode: int) -> None:
        self.bitmode = mode
        if mode == BITMODE_RESET:
            self.low_dir = 0  # every pin an input again: the hold pins release the board
        else:
            self.low_dir = mask & 0xFF
        self._update_cs()

    # --- time -------------------------------------------------------------------------------

    def now_us(self) -> float:
        """The engine's clock (what the NOR model sees)."""
        return self._exec_us

    def spi_hz(self) -> float:
        base = self.timing.base_clock_hz / (5 if self.div5 else 1)
        return base / ((1 + self.divisor) * 2)

    def _byte_us(self) -> float:
        return 8e6 / self.spi_hz() * (1.5 if self.three_phase else 1.0)

    def _shift(self, count: int) -> None:
        us = count * self._byte_us()
        self._exec_us += us
        self.counters.spi_bytes += count
        self.counters.spi_us += us

    # --- USB side ---------------------------------------------------------------------------

    def host_write(self, data: bytes) -> None:
        t = self.timing
        self.counters.bulk_writes += 1
        self.counters.bytes_out += len(data)
        self.host_us += t.usb_transfer_us + len(data) / t.usb_bytes_per_us
        start = max(self.engine_us, self.host_us)
        self._exec_us = start
        if self.bitmode == BITMODE_MPSSE:
            self._run(bytes(self._pending) + bytes(data))
        self.engine_us = self._exec_us
        self.host_us = max(self.host_us, start)  # the 1 KiB buffer: wait until the engine took it

    def host_read(self, size: int) -> bytes:
        """Up to ``size`` payload bytes (the caller adds the modem status header per packet)."""
        t = self.timing
        self.counters.bulk_reads += 1
        data, self.out = bytes(self.out[:size]), self.out[size:]
        # the read completes once its last byte has been shifted in (reads stream as the SPI runs)
        self.host_us = max(self.host_us, self._ready_at(self._out_base + len(data) - 1)) + t.usb_transfer_us
        self._out_base += len(data)
        self.host_us += (len(data) + 2) / t.usb_bytes_per_us
        self.counters.bytes_in += len(data)
        return data

    def _produce(self, data: bytes, us: float) -> None:
        """Append engine output shifted in over ``us`` from now (0: at once)."""
        if not data:
            return
        begin = self._out_base + len(self.out)
        self.out += data
        self._ready.append((begin, begin + len(data), self._exec_us + us / len(data), self._exec_us + us))

    def _ready_at(self, index: int) -> float:
        """When output byte ``index`` (counted since the start) was available to the host."""
        while self._ready and self._ready[0][1] <= self._out_base:
            self._ready.pop(0)  # segments the host has fully taken
        for begin, end, first, last in self._ready:
            if begin <= index < end:
                frac = (index - begin) / (end - begin - 1) if end - begin > 1 else 1.0
                return first + (last - first) * frac
        return self.engine_us

    def host_sleep(self, seconds: float) -> None:
        self.host_us += seconds * 1e6

    def purge(self, rx: bool, tx: bool) -> None:
        if rx:
            self._pending = bytearray()
        if tx:
            self._out_base += len(self.out)
            self.out = bytearray()
            self._ready = []

    # --- the command processor --------------------------------------------------------------

    def _run(self, data: bytes) -> None:
        self._exec_us = max(self._exec_us, self.engine_us)
        i, n = 0, len(data)
        while i < n:
            op = data[i]
            need = _length(op, data, i)
            if need is None or i + need > n:
                if need is None:  # unknown opcode: "bad command" answer, go on with the next byte
                    self._produce(bytes((0xFA, op)), 0)
                    self.counters.bad_commands.append(op)
                    i += 1
                    continue
                break  # an incomplete command: keep it for the next write
            self._execute(op, data[i : i + need])
            i += need
        self._pending = bytearray(data[i:])

    def _execute(self, op: int, cmd: bytes) -> None:
        nor = self.nor if self._cs_low else None
        if op == 0x80:
            self.low_value, self.low_dir = cmd[1], cmd[2]
            self._exec_us += self.timing.gpio_us
            self._update_cs()
        elif op == 0x82:
            self.high_value, self.high_dir = cmd[1], cmd[2]
            self._exec_us += self.timing.gpio_us
        elif op == 0x81:
            self._produce(
                bytes(((self.low_value & self.low_dir) | (~self.low_dir & 0xFF),)), 0
            )  # inputs pulled up
        elif op == 0x83:
            self._produce(bytes(((self.high_value & self.high_dir) | (~self.high_dir & 0xFF),)), 0)
        elif op == 0x86:
            self.divisor = cmd[1] | cmd[2] << 8
        elif op in (0x8A, 0x8B):
            self.div5 = op == 0x8B
        elif op in (0x8C, 0x8D):
            self.three_phase = op == 0x8C
        elif op in (0x84, 0x85):
            self.loopback = op == 0x84
        elif op in (0x87, 0x96, 0x97):
            pass  # send immediate: reads are always flushed at once here; adaptive clock: no RTCK
        elif op in (0x10, 0x11):  # write bytes
            count = (cmd[1] | cmd[2] << 8) + 1
            if nor is not None:
                nor.clock(cmd[3:], count)
            self._shift(count)
        elif op in (0x20, 0x24):  # read bytes
            count = (cmd[1] | cmd[2] << 8) + 1
            self._produce(
                nor.clock(None, count) if nor is not None else b"\xff" * count, count * self._byte_us()
            )
            self._shift(count)
        elif op in (0x31, 0x34):  # read and write bytes
            count = (cmd[1] | cmd[2] << 8) + 1
            self._produce(
                nor.clock(cmd[3:], count) if nor is not None else b"\xff" * count, count * self._byte_us()
            )
            self._shift(count)
        elif op == 0x8F:  # clock n bytes with no data (a delay while CS# is high)
            self._exec_us += ((cmd[1] | cmd[2] << 8) + 1) * self._byte_us()
        elif op == 0x8E:
            self._exec_us += (cmd[1] + 1) * self._byte_us() / 8
        elif op in (0x12, 0x13, 0x22, 0x26, 0x33, 0x36):  # bit transfers: no NOR transaction has them
            if nor is not None:
                nor.violations.append(f"MPSSE bit-level transfer {op:#04x} inside a flash transaction")
            if op in (0x22, 0x26, 0x33, 0x36):
                self._produce(b"\xff", 0)
            self._exec_us += (cmd[1] + 1) * self._byte_us() / 8


def _length(op: int, data: bytes, i: int) -> int | None:
    """Bytes of the command starting at ``data[i]`` (0 if its length field is not here yet)."""
    fixed = {
        0x80: 3,
        0x82: 3,
        0x81: 1,
        0x83: 1,
        0x86: 3,
        0x8A: 1,
        0x8B: 1,
        0x8C: 1,
        0x8D: 1,
        0x84: 1,
        0x85: 1,
        0x87: 1,
        0x96: 1,
        0x97: 1,
        0x8E: 2,
        0x8F: 3,
        0x20: 3,
        0x24: 3,
        0x12: 3,
        0x13: 3,
        0x22: 2,
        0x26: 2,
        0x33: 3,
        0x36: 3,
    }
    if op in fixed:
        return fixed[op]
    if op in (0x10, 0x11, 0x31, 0x34):
        if i + 3 > len(data):
            return len(data) - i + 1  # incomplete header: wait for more
        return 3 + (data[i + 1] | data[i + 2] << 8) + 1
    return None
