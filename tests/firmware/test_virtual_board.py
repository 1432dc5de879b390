"""End to end: start the virtual board executable, open its pseudo-terminal with pyserial and
talk to it with the host's own framing (host/qtdeploy/link/framing.py)."""

from __future__ import annotations

import hashlib
import struct
import subprocess
import time

import pytest
import serial

from qtdeploy._protocol import Command, Status
from qtdeploy.link.framing import Decoder, Frame, encode


class Board:
    def __init__(self, exe, flash, *extra):
        self.proc = subprocess.Popen(
            [str(exe), "--flash-file", str(flash), "--time-scale", "0.01", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.path = self.proc.stdout.readline().strip()
        self.port = serial.Serial(self.path, 921600, timeout=0.2)
        self.decoder = Decoder()
        self.seq = 100

    def request(self, command, payload=b"", flags=0, seq=None, timeout=5.0):
        try:
            return self._request(command, payload, flags, seq, timeout)
        except serial.SerialException as e:  # the pty closed: say what the board said, if it exited
            raise AssertionError(
                f"the board's port failed on {command!r} ({e}); board: {self.stderr()}"
            ) from e

    def _request(self, command, payload, flags, seq, timeout):
        self.seq = self.seq + 1 if seq is None else seq
        self.port.write(b"\0" + encode(Frame(command=command, payload=payload, seq=self.seq, flags=flags)))
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for item in self.decoder.feed(self.port.read(4200)):
                if isinstance(item, Frame) and item.seq == self.seq:
                    return item
        raise AssertionError(f"no answer to {command!r}; stderr: {self.stderr()}")

    def stderr(self):
        if self.proc.poll() is None:
            return "(running)"
        return f"exit {self.proc.returncode}: {self.proc.stderr.read()}"

    def close(self):
        self.port.close()
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(5)


@pytest.fixture
def board(fw_build, tmp_path):
    b = Board(fw_build / "qtd-virtual-board", tmp_path / "flash.bin")
    yield b
    b.close()


def test_hello_and_ping(board):
    assert board.path.startswith("/dev/pts/")
    r = board.request(Command.HELLO, struct.pack("<BBH", 1, 8, 4096))
    assert r.status == Status.OK and r.is_response
    assert r.payload[0] == 1
    assert r.payload[4:11] == b"virtual"
    assert len(r.payload) == 104
    max_payload, window = struct.unpack_from("<HB", r.payload, 20)
    assert (max_payload, window) == (4096, 8)
    assert r.payload[32] == 0xFF  # no slot committed on a fresh flash
    r = board.request(Command.PING, b"hello board")
    assert (r.status, r.payload, r.command) == (Status.OK, b"hello board", Command.PING)


def test_no_model_and_unknown_command(board):
    r = board.request(Command.INFER, b"\0\0\0\0")  # engine FPGA, nothing loaded
    assert r.status == Status.NO_MODEL and b"MODEL_LOAD" in r.payload
    r = board.request(0x7E)
    assert r.status == Status.UNKNOWN_COMMAND


def test_flash_erase_write_read_hash_and_guards(board):
    data = bytes(range(256)) * 8
    assert board.request(Command.FLASH_ERASE, struct.pack("<II", 0x200000, 0x10000)).status == Status.OK
    r = board.request(Command.FLASH_WRITE, struct.pack("<IIB3x", 0x200010, len(data), 0) + data)
    assert r.status == Status.OK and r.payload == struct.pack("<II", 0x200010, len(data))
    # a retried write of the same bytes is harmless; different bytes over them are not
    flags_retry = 0x08
    r = board.request(
        Command.FLASH_WRITE,
        struct.pack("<IIB3x", 0x200010, len(data), 0) + data,
        flags=flags_retry,
        seq=board.seq,
    )
    assert r.status == Status.OK
    r = board.request(Command.FLASH_WRITE, struct.pack("<IIB3x", 0x200010, 4, 0) + b"\xff\xff\xff\xff")
    assert r.status == Status.NOT_ERASED
    assert board.request(Command.FLASH_READ, struct.pack("<II", 0x200010, 2048)).payload == data
    r = board.request(Command.FLASH_HASH, struct.pack("<II", 0x200010, 2048))
    assert r.payload == hashlib.sha256(data).digest()
    assert (
        board.request(Command.FLASH_ERASE, struct.pack("<II", 0x200100, 0x10000)).status == Status.MISALIGNED
    )
    assert (
        board.request(Command.FLASH_ERASE, struct.pack("<II", 0x400000, 0x10000)).status
        == Status.OUT_OF_RANGE
    )
    r = board.request(Command.FLASH_WRITE, struct.pack("<IIB3x", 0x20FFFE, 4, 0) + b"abcd")
    assert r.status == Status.MISALIGNED  # crosses a sector
    r = board.request(Command.FLASH_WRITE, struct.pack("<IIB3x", 0x200000, 4, 1) + b"abcd", flags=0x02)
    assert (
        r.status == Status.BAD_ARGUMENT
    )  # not a heatshrink stream of 4 bytes (tests/e2e/test_flash_compress.py)
    r = board.request(Command.FLASH_WRITE, struct.pack("<IIB3x", 0x200000, 4, 2) + b"abcd", flags=0x02)
    assert r.status == Status.UNSUPPORTED  # no codec 2
    r = board.request(Command.SLOT_INFO)
    assert r.status == Status.OK and r.payload[:2] == bytes([0xFF, 2]) and len(r.payload) == 164


def test_power_cut_option_exits_abruptly(fw_build, tmp_path):
    b = Board(fw_build / "qtd-virtual-board", tmp_path / "flash.bin", "--die-after-flash-ops", "2")
    try:
        assert b.request(Command.FLASH_ERASE, struct.pack("<II", 0x200000, 0x10000)).status == Status.OK
        b.port.write(
            b"\0"
            + encode(
                Frame(
                    command=Command.FLASH_WRITE,
                    seq=7,
                    payload=struct.pack("<IIB3x", 0x200000, 4, 0) + b"abcd",
                )
            )
        )
        assert b.proc.wait(5) == 75
        assert "power cut during flash operation 2" in b.proc.stderr.read()
    finally:
        b.close()


def _damaged(frame: Frame, *, at: int, drop: bool = False) -> bytes:
    """``frame`` with byte ``at`` of its raw form flipped (or dropped), COBS-encoded anew: what a
    noisy line leaves of a frame whose header survived."""
    from cobs import cobs

    from qtdeploy.link.framing import build_raw

    raw = bytearray(build_raw(frame))
    if drop:
        del raw[at]
    else:
        raw[at] ^= 0x5A
    return b"\0" + cobs.encode(bytes(raw)) + b"\0"


def _answers(board, seconds: float = 0.5) -> list:
    got, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        got += [f for f in board.decoder.feed(board.port.read(4200)) if isinstance(f, Frame)]
    return got


def test_damaged_frame_with_a_plausible_header_is_naked_not_run(board):
    """link.md §4: a CRC failure whose header is plausible (our version, a request, a known command,
    a length within 8 bytes of the run) is answered DAMAGED with its seq and command, and not run;
    a corrupted header gets no answer. The retransmission then runs normally."""
    board.request(Command.HELLO, struct.pack("<BBH", 1, 8, 4096))
    ping = Frame(Command.PING, b"x" * 40, seq=7)
    for bad in (_damaged(ping, at=20), _damaged(ping, at=30, drop=True)):
        board.port.write(bad)
        got = _answers(board)
        assert [(f.seq, f.command, f.status, f.payload) for f in got] == [
            (7, Command.PING, Status.DAMAGED, b"")
        ]
    board.port.write(_damaged(ping, at=0))  # the version byte: header not plausible, no answer
    assert _answers(board) == []
    board.port.write(_damaged(Frame(0x7E, b"x" * 40, seq=8), at=20))  # unknown command: no answer
    assert _answers(board) == []
    r = board.request(Command.PING, b"x" * 40, seq=7, flags=0x08)  # the retry runs
    assert (r.status, r.payload) == (Status.OK, b"x" * 40)
