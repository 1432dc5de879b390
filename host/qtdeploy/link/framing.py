"""Frames on the wire: header + payload + CRC-32, COBS-encoded, 0x00-delimited (protocol/link.md §2-4).

The decoder is a streaming state machine rather than a "read until 0x00" helper because the
transport hands us arbitrary chunks: a frame may arrive one byte at a time, or ten frames in one
read. Rejected runs come back as :class:`BadFrame` values (not exceptions) so the caller can count
them and keep going; the link must survive garbage, which is the whole point of the framing.
The check order and error names are fixed by link.md §4 and shared with the C firmware through
protocol/vectors/link/*.json.
"""

from __future__ import annotations

import struct
import zlib
from collections import Counter
from dataclasses import dataclass, field
from enum import Enum

from cobs import cobs

from qtdeploy._protocol import (
    LINK_CRC_SIZE,
    LINK_DELIMITER,
    LINK_HEADER_SIZE,
    LINK_MAX_ENCODED,
    LINK_MAX_PAYLOAD,
    LINK_PROTOCOL_VERSION,
    Command,
    Flag,
    Status,
)

HEADER = struct.Struct("<BBHBBH")
CRC = struct.Struct("<I")
MAX_RAW = LINK_HEADER_SIZE + LINK_MAX_PAYLOAD + LINK_CRC_SIZE
_DELIM = bytes([LINK_DELIMITER])
assert HEADER.size == LINK_HEADER_SIZE and CRC.size == LINK_CRC_SIZE
assert LINK_MAX_ENCODED == MAX_RAW + -(-MAX_RAW // 254), "LINK_MAX_ENCODED disagrees with COBS overhead"


class FrameErrorKind(str, Enum):
    """Why a delimited run was rejected. The values are the stable names used in the vectors."""

    TOO_LONG = "too_long"
    COBS = "cobs"
    SHORT = "short"
    CRC = "crc"
    VERSION = "version"
    LENGTH = "length"


@dataclass(frozen=True)
class Frame:
    """One decoded frame. ``payload`` excludes header and CRC."""

    command: int
    payload: bytes = b""
    seq: int = 0
    flags: int = 0
    status: int = 0
    version: int = LINK_PROTOCOL_VERSION

    @property
    def is_response(self) -> bool:
        return bool(self.flags & Flag.RESPONSE)

    @property
    def is_event(self) -> bool:
        return bool(self.flags & Flag.EVENT)

    def describe(self) -> str:
        """One line for traces: seq, command and status by name, flags, payload length."""
        cmd = _name(Command, self.command)
        st = _name(Status, self.status)
        flags = "|".join(str(f.name) for f in Flag if self.flags & f) or "-"
        return f"seq={self.seq:5d} cmd={cmd} status={st} flags={flags} len={len(self.payload)}"


@dataclass(frozen=True)
class BadFrame:
    """A rejected run. ``header`` is set only when the CRC was good, i.e. the header is trusted."""

    kind: FrameErrorKind
    header: Frame | None = None


def _name(enum: type, value: int) -> str:
    try:
        return enum(value).name
    except ValueError:
        return f"0x{value:02x}"


def build_raw(frame: Frame, *, length: int | None = None, crc: int | None = None) -> bytes:
    """Header + payload + CRC, before COBS. ``length``/``crc`` override fields (for vectors only)."""
    n = len(frame.payload) if length is None else length
    body = HEADER.pack(frame.version, frame.flags, frame.seq, frame.command, frame.status, n) + frame.payload
    return body + CRC.pack(zlib.crc32(body) if crc is None else crc)


def encode(frame: Frame) -> bytes:
    """The exact bytes to put on the wire: COBS(header + payload + CRC) followed by 0x00."""
    if len(frame.payload) > LINK_MAX_PAYLOAD:
        raise ValueError(
            f"payload of {len(frame.payload)} bytes exceeds LINK_MAX_PAYLOAD ({LINK_MAX_PAYLOAD})"
        )
    if not (0 <= frame.seq <= 0xFFFF):
        raise ValueError(f"seq {frame.seq} does not fit in u16")
    return cobs.encode(build_raw(frame)) + _DELIM


def parse_run(run: bytes) -> Frame | BadFrame | None:
    """Check one delimited run (without its 0x00) in link.md §4 order; None for an empty run."""
    if not run:
        return None
    if len(run) > LINK_MAX_ENCODED:
        return BadFrame(FrameErrorKind.TOO_LONG)
    try:
        raw = cobs.decode(run)
    except cobs.DecodeError:
        return BadFrame(FrameErrorKind.COBS)
    if len(raw) < LINK_HEADER_SIZE + LINK_CRC_SIZE:
        return BadFrame(FrameErrorKind.SHORT)
    if len(raw) > MAX_RAW:
        return BadFrame(FrameErrorKind.TOO_LONG)
    (crc,) = CRC.unpack_from(raw, len(raw) - LINK_CRC_SIZE)
    if zlib.crc32(raw[:-LINK_CRC_SIZE]) != crc:
        return BadFrame(FrameErrorKind.CRC)
    version, flags, seq, command, status, length = HEADER.unpack_from(raw)
    frame = Frame(command, bytes(raw[LINK_HEADER_SIZE:-LINK_CRC_SIZE]), seq, flags, status, version)
    if version != LINK_PROTOCOL_VERSION:
        return BadFrame(FrameErrorKind.VERSION, frame)
    if length != len(frame.payload):
        return BadFrame(FrameErrorKind.LENGTH, frame)
    return frame


@dataclass
class Decoder:
    """Streaming receiver: ``feed`` any chunk, get back the frames and rejections it completed.

    Its buffer never holds more than LINK_MAX_ENCODED bytes: a longer run is reported once as
    ``too_long`` and skipped up to the next delimiter, which is where resynchronisation happens.
    ``counters`` counts ``frames`` and every error name.
    """

    counters: Counter[str] = field(default_factory=Counter)
    _buf: bytearray = field(default_factory=bytearray)
    _discarding: bool = False

    def feed(self, data: bytes) -> list[Frame | BadFrame]:
        out: list[Frame | BadFrame] = []
        start = 0
        while True:
            end = data.find(_DELIM, start)
            self._take(data[start : len(data) if end < 0 else end], out)
            if end < 0:
                return out
            if self._discarding:
                self._discarding = False
            else:
                result = parse_run(bytes(self._buf))
                if result is not None:
                    self._count(result, out)
            self._buf.clear()
            start = end + 1

    @property
    def pending(self) -> int:
        """Bytes held for a frame whose delimiter has not arrived yet."""
        return len(self._buf)

    def _take(self, segment: bytes, out: list[Frame | BadFrame]) -> None:
        if self._discarding or not segment:
            return
        if len(self._buf) + len(segment) > LINK_MAX_ENCODED:
            self._buf.clear()
            self._discarding = True
            self._count(BadFrame(FrameErrorKind.TOO_LONG), out)
            return
        self._buf += segment

    def _count(self, result: Frame | BadFrame, out: list[Frame | BadFrame]) -> None:
        self.counters["frames" if isinstance(result, Frame) else result.kind.value] += 1
        out.append(result)
