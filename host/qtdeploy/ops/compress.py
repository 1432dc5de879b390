"""FLASH_WRITE requests for one sector, heatshrink-compressed where it pays (link.md 7.7).

Which compression and why: heatshrink (LZSS, window 2^8, lookahead 2^4: ``Codec.HEATSHRINK``).
The board decodes it in 302 bytes of static RAM with no heap (the core's 32 KiB RAM budget has
~2.8 KiB left; zlib's inflate needs a 32 KiB window) at ~80 cycles per byte on a Cortex-M0+
(bench/flash_codec_m0.py), and the host encodes with the ``heatshrink2`` package, a wrapper
around the same C library the firmware vendors, so both sides run one implementation of the
format. FPGA bitstreams are mostly zero runs: the simulated XC7S15 image (protocol/bitstream.md)
shrinks 4.87x in 16 KiB frames; how far a real design shrinks depends on its utilisation.

Each frame carries one self-contained stream (no state across frames), so a retried or resumed
frame is as idempotent as a raw one. Per frame the encoder takes the longest page-aligned run
of the sector whose stream fits the payload; it is sent compressed only when that saves at
least ``PAYS`` of the bytes (``auto``), otherwise that part goes raw. ``MAX_RAW_PER_FRAME``
bounds how much one frame programs, so that a window of such frames is answered well inside
the link's timeout (16 KiB: 64 pages, 16 ms typical / 48 ms worst case on the S25FL128S).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass

import heatshrink2

from qtdeploy._protocol import Codec, Command, Flag
from qtdeploy.errors import CompatibilityError, UsageError
from qtdeploy.link import Request
from qtdeploy.link import payloads as P

MODES = ("auto", "none", "heatshrink")
HEATSHRINK_PARAMS = {"window_sz2": 8, "lookahead_sz2": 4}  # protocol.toml Codec HEATSHRINK
WRITE_HEADER = 12  # FlashWriteRequest before its data
PAYS = 0.9  # compressed only if it carries the same bytes in <= 90 % of the wire bytes
MAX_RAW_PER_FRAME = 16384


def heatshrink_encode(data: bytes) -> bytes:
    """One self-contained heatshrink stream with the parameters the firmware decodes."""
    return heatshrink2.compress(data, **HEATSHRINK_PARAMS)


def heatshrink_decode(data: bytes) -> bytes:
    return heatshrink2.decompress(data, **HEATSHRINK_PARAMS)


@dataclass
class WriteStats:
    """What the FLASH_WRITE frames of a flash carried: raw bytes programmed, data bytes on the wire."""

    raw_bytes: int = 0
    wire_bytes: int = 0
    frames: int = 0
    compressed_frames: int = 0

    def as_dict(self) -> dict:
        ratio = self.raw_bytes / self.wire_bytes if self.wire_bytes else None
        return {
            "raw_bytes": self.raw_bytes,
            "wire_bytes": self.wire_bytes,
            "frames": self.frames,
            "compressed_frames": self.compressed_frames,
            "ratio": None if ratio is None else round(ratio, 3),
        }


def resolve_mode(mode: str, codecs: tuple[Codec, ...]) -> str:
    """The mode to use with a board that accepts ``codecs``: ``auto`` (compress where it pays)
    falls back to ``none`` on a board without heatshrink; ``heatshrink`` (every frame) insists."""
    if mode not in MODES:
        raise UsageError(f"Unknown compression {mode!r}.", f"Use one of: {', '.join(MODES)}.")
    if mode == "auto" and Codec.HEATSHRINK not in codecs:
        return "none"
    if mode == "heatshrink" and Codec.HEATSHRINK not in codecs:
        raise CompatibilityError(
            "The board's firmware does not accept heatshrink-compressed writes (HELLO codecs: "
            + ", ".join(c.name for c in codecs)
            + ").",
            "Use --compress none or auto, or update the firmware.",
        )
    return mode


def _longest_fit(data: bytes, start: int, limit: int, page: int) -> tuple[int, bytes]:
    """Largest page-multiple n (or the rest of data) whose stream of data[start:start+n] fits
    ``limit`` bytes, with that stream. Binary search over pages: the stream of a longer prefix is
    never shorter in practice, and a miss only costs a smaller frame."""
    rest = min(len(data) - start, MAX_RAW_PER_FRAME)
    best = (0, b"")
    lo, hi = 1, -(-rest // page)  # in pages; the last may be partial
    while lo <= hi:
        mid = (lo + hi) // 2
        n = min(mid * page, rest)
        stream = heatshrink_encode(data[start : start + n])
        if len(stream) <= limit:
            best = (n, stream)
            lo = mid + 1
        else:
            hi = mid - 1
    return best


def write_requests(
    offset: int, data: bytes, *, max_payload: int, page: int, mode: str, stats: WriteStats | None = None
) -> Iterator[Request]:
    """FLASH_WRITE requests programming ``data`` at ``offset`` (one sector: the board refuses
    writes that cross one). ``mode`` as :func:`resolve_mode` returns it: ``none`` sends raw,
    ``auto`` compresses where it pays and sends the rest raw, ``heatshrink`` compresses every
    frame (to measure the codec's cost on data it cannot shrink)."""
    limit = max_payload - WRITE_HEADER
    raw_chunk = max(page, limit // page * page)
    stats = stats if stats is not None else WriteStats()
    pos = 0
    while pos < len(data):
        n, stream = _longest_fit(data, pos, limit, page) if mode != "none" else (0, b"")
        if n and (mode == "heatshrink" or len(stream) <= PAYS * n):
            codec, body, flags = Codec.HEATSHRINK, stream, int(Flag.COMPRESSED)
            stats.compressed_frames += 1
        else:
            n = min(len(data) - pos, raw_chunk)
            codec, body, flags = Codec.NONE, data[pos : pos + n], 0
        payload = P.FlashWriteRequest.build(
            dict(offset=offset + pos, raw_length=n, codec=int(codec), data=body)
        )
        stats.raw_bytes += n
        stats.wire_bytes += len(body)
        stats.frames += 1
        raw = data[pos : pos + n]
        yield Request(
            Command.FLASH_WRITE,
            payload,
            flags,
            split=functools.partial(_split, offset + pos, raw, page, mode),
        )
        pos += n


def _split(offset: int, data: bytes, page: int, mode: str, max_payload: int) -> list[Request]:
    """The same write as smaller frames (``Request.split``): the link re-sends a frame the line
    keeps damaging as pieces that fit the line now. Writes of one sector may run in any order
    and are idempotent (link.md §7.7), so the pieces together do exactly what the frame did."""
    return list(write_requests(offset, data, max_payload=max_payload, page=page, mode=mode))


def raw_length(request: Request) -> int:
    """Bytes a FLASH_WRITE request programs (its raw_length field), for progress."""
    return int.from_bytes(request.payload[4:8], "little")
