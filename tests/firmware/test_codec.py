"""FLASH_WRITE's HEATSHRINK codec, host encoder against firmware decoder: golden vectors
(firmware/tests/vectors/heatshrink, encoded by heatshrink2) decoded by the firmware's
core/flash_codec.c through firmware/tests/test_codec.c, including incompressible data, pieces
cut on pages for unaligned writes, and streams that decode to more or fewer bytes than asked."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from qtdeploy._protocol import Status
from qtdeploy.ops.compress import heatshrink_decode, heatshrink_encode
from qtdeploy.paths import repo_root

VECTORS = repo_root() / "firmware" / "tests" / "vectors" / "heatshrink"
NAMES = sorted(p.stem for p in VECTORS.glob("*.bin"))


@pytest.fixture(scope="module")
def decode_c(fw_build: Path):
    """Run the C decoder on (base, max_out, stream) lines; returns [(status, bytes) | 'BADPIECE']."""

    def run(jobs: list[tuple[int, int, bytes]]) -> list:
        text = "".join(f"{base} {max_out} {stream.hex()}\n" for base, max_out, stream in jobs)
        proc = subprocess.run(
            [str(fw_build / "tests" / "test_codec")], input=text, capture_output=True, text=True, timeout=60
        )
        assert proc.returncode == 0, proc.stderr
        out = []
        for line in proc.stdout.splitlines():
            if line == "BADPIECE":
                out.append(line)
                continue
            st, n, *data = line.split(" ")
            raw = bytes.fromhex(data[0]) if data else b""
            assert len(raw) == int(n)
            out.append((int(st), raw))
        return out

    return run


def test_vectors_present():
    assert {"incompressible", "zeros_4k", "bitstream_like", "one_byte"} <= set(NAMES)


@pytest.mark.parametrize("name", NAMES)
def test_host_encoder_reproduces_golden_stream(name):
    raw, stream = (VECTORS / f"{name}.bin").read_bytes(), (VECTORS / f"{name}.hs").read_bytes()
    assert heatshrink_encode(raw) == stream
    assert heatshrink_decode(stream) == raw


def test_firmware_decodes_every_golden_vector_at_any_page_offset(decode_c):
    jobs, want = [], []
    for name in NAMES:
        raw, stream = (VECTORS / f"{name}.bin").read_bytes(), (VECTORS / f"{name}.hs").read_bytes()
        for base in (0, 1, 100, 255):
            jobs.append((base, len(raw), stream))
            want.append((int(Status.OK), raw))
    assert decode_c(jobs) == want


def test_incompressible_vector_really_expands():
    raw, stream = (VECTORS / "incompressible.bin").read_bytes(), (VECTORS / "incompressible.hs").read_bytes()
    assert len(stream) > len(raw)


def test_longer_than_raw_length_is_bad_argument_and_shorter_stops_early(decode_c):
    raw, stream = (VECTORS / "bitstream_like.bin").read_bytes(), (VECTORS / "bitstream_like.hs").read_bytes()
    too_long, truncated, garbage = decode_c(
        [(0, len(raw) - 1, stream), (0, len(raw), stream[: len(stream) // 2]), (0, 4096, os.urandom(64))]
    )
    assert too_long[0] == int(Status.BAD_ARGUMENT) and too_long[1] == raw[: len(too_long[1])]
    assert truncated[0] == int(Status.OK) and 0 < len(truncated[1]) < len(
        raw
    )  # the command turns this into BAD_ARGUMENT
    assert raw.startswith(truncated[1])
    assert garbage[0] in (int(Status.OK), int(Status.BAD_ARGUMENT))  # any bytes decode to something bounded


@pytest.mark.parametrize("kind", ["zeros", "random", "mixed"])
def test_host_frames_compress_only_where_it_pays_and_cover_the_sector(kind):
    """write_requests: every frame fits the payload, stays page-aligned inside the sector,
    and the frames together program exactly the data; random data goes raw under ``auto``."""
    from qtdeploy._protocol import Codec, Flag
    from qtdeploy.link import payloads as P
    from qtdeploy.ops.compress import WriteStats, write_requests

    rnd = os.urandom(65536)
    data = {"zeros": bytes(65536), "random": rnd, "mixed": rnd[:20000] + bytes(30000) + rnd[:15536]}[kind]
    stats = WriteStats()
    rebuilt = bytearray()
    codecs = []
    for req in write_requests(0x40000, data, max_payload=4096, page=256, mode="auto", stats=stats):
        assert len(req.payload) <= 4096
        w = P.FlashWriteRequest.parse(req.payload)
        assert w.offset == 0x40000 + len(rebuilt) and w.offset % 256 == 0
        assert bool(req.flags & Flag.COMPRESSED) == (w.codec == Codec.HEATSHRINK)
        piece = heatshrink_decode(w.data) if w.codec == Codec.HEATSHRINK else w.data
        assert len(piece) == w.raw_length
        rebuilt += piece
        codecs.append(Codec(w.codec))
    assert bytes(rebuilt) == data and stats.raw_bytes == len(data)
    if kind == "random":
        assert set(codecs) == {Codec.NONE} and stats.wire_bytes == len(data)
    else:
        assert Codec.HEATSHRINK in codecs and stats.wire_bytes < len(data) * 0.9
    if kind == "mixed":
        assert Codec.NONE in codecs  # the random stretches went raw
