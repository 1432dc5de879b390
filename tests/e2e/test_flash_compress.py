"""Heatshrink-compressed FLASH_WRITE on the virtual board (link.md 7.7): the board advertises
the codec, decodes each frame on its own, reports the decoded length, writes nothing for a bad
stream, and `qtdeploy flash` compresses where it pays."""

from __future__ import annotations

import hashlib
import json
import os

import pytest

from qtdeploy._protocol import Codec, Command, Flag, Status
from qtdeploy.cli.main import main
from qtdeploy.errors import CompatibilityError, DeviceError
from qtdeploy.link import payloads as P
from qtdeploy.ops import flash, info
from qtdeploy.ops.compress import heatshrink_encode, resolve_mode
from qtdeploy.paths import repo_root
from support.vboard import session

VECTORS = repo_root() / "firmware" / "tests" / "vectors" / "heatshrink"


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write(
    b, offset: int, raw_length: int, data: bytes, *, codec=Codec.HEATSHRINK, flags=Flag.COMPRESSED
) -> bytes:
    payload = P.FlashWriteRequest.build(
        dict(offset=offset, raw_length=raw_length, codec=int(codec), data=data)
    )
    return b.link.request(Command.FLASH_WRITE, payload, flags=int(flags))


def _read(b, offset: int, length: int) -> bytes:
    out = b""
    while len(out) < length:
        n = min(length - len(out), 2048)
        out += b.link.request(Command.FLASH_READ, P.FlashRead.build(dict(offset=offset + len(out), length=n)))
    return out


def _erased_sector(b) -> int:
    """The first sector of the inactive slot's bitstream region, erased."""
    geo = b.caps.flash
    inactive = geo.slots[1 - int(b.caps.active_slot)]
    offset = inactive.bitstream_offset
    b.link.request(Command.FLASH_ERASE, P.FlashErase.build(dict(offset=offset, length=geo.sector_size)))
    return offset


def test_hello_advertises_heatshrink(old_board):
    _, vb = old_board
    with session(vb) as b:
        assert Codec.HEATSHRINK in b.caps.codecs and Codec.NONE in b.caps.codecs
        assert "HEATSHRINK" in info(b)["link"]["codecs"]
        assert resolve_mode("auto", b.caps.codecs) == "auto"
    with pytest.raises(CompatibilityError, match="heatshrink"):
        resolve_mode("heatshrink", (Codec.NONE,))
    assert resolve_mode("auto", (Codec.NONE,)) == "none"


@pytest.mark.parametrize("name", ["incompressible", "bitstream_like", "zeros_4k", "one_byte"])
def test_golden_stream_decoded_by_the_board_at_an_unaligned_offset(old_board, name):
    raw, stream = (VECTORS / f"{name}.bin").read_bytes(), (VECTORS / f"{name}.hs").read_bytes()
    _, vb = old_board
    with session(vb) as b:
        offset = _erased_sector(b) + 100
        answer = P.FlashWriteResponse.parse(_write(b, offset, len(raw), stream))
        assert (answer.offset, answer.raw_length) == (offset, len(raw))  # the decoded length
        assert _read(b, offset, len(raw)) == raw
        _write(b, offset, len(raw), stream)  # a repeated frame (a retry without the cache) is harmless


@pytest.mark.parametrize("case", ["longer", "shorter", "garbage"])
def test_bad_stream_is_bad_argument_and_writes_nothing(old_board, case):
    raw = (VECTORS / "bitstream_like.bin").read_bytes()
    stream = (VECTORS / "bitstream_like.hs").read_bytes()
    data, raw_length = {
        "longer": (stream, len(raw) - 1),
        "shorter": (stream[: len(stream) // 2], len(raw)),
        "garbage": (os.urandom(3000), 4096),
    }[case]
    _, vb = old_board
    with session(vb) as b:
        offset = _erased_sector(b)
        with pytest.raises(DeviceError) as err:
            _write(b, offset, raw_length, data)
        if case != "garbage" or err.value.status != Status.NOT_ERASED:
            assert err.value.status == Status.BAD_ARGUMENT
            assert "decode" in err.value.problem
        assert _read(b, offset, 4096 + 256) == b"\xff" * (4096 + 256)


def test_flag_codec_disagreement_and_unknown_codec(old_board):
    _, vb = old_board
    with session(vb) as b:
        offset = _erased_sector(b)
        stream = heatshrink_encode(bytes(300))
        with pytest.raises(DeviceError) as err:
            _write(b, offset, 300, stream, flags=0)
        assert err.value.status == Status.BAD_ARGUMENT and "COMPRESSED" in err.value.problem
        with pytest.raises(DeviceError) as err:
            _write(b, offset, 300, stream, codec=7)
        assert err.value.status == Status.UNSUPPORTED
        assert _read(b, offset, 512) == b"\xff" * 512


def test_compressed_over_programmed_bytes_is_not_erased_and_writes_nothing(old_board):
    _, vb = old_board
    with session(vb) as b:
        offset = _erased_sector(b)
        _write(b, offset + 256, 256, bytes(256), codec=Codec.NONE, flags=0)  # page 1 now zeros
        data = bytes([0xA5]) * 1024
        with pytest.raises(DeviceError) as err:
            _write(b, offset, len(data), heatshrink_encode(data))
        assert err.value.status == Status.NOT_ERASED
        assert _read(b, offset, 1024) == b"\xff" * 256 + bytes(256) + b"\xff" * 512  # page 0 untouched too


def test_flash_compresses_the_bitstream_and_verifies(images, old_board):
    _, vb = old_board
    with session(vb) as b:
        r = flash(b, bitstream=images.bitstream, blob=images.blob, compress="auto")
        i = info(b)
    c = r["compression"]
    assert c["codec"] == "HEATSHRINK" and c["compressed_frames"] >= 1 and c["raw_bytes"] == r["bytes_written"]
    assert (
        c["ratio"] > 2.0 and c["wire_bytes"] < r["bytes_written"] / 2
    )  # the simulated bitstream is mostly zeros
    bslot = i["slots"][1]
    assert i["active_slot"] == "B" and bslot["bitstream"]["sha256"] == sha(images.bitstream)
    assert bslot["blob"]["sha256"] == sha(images.blob)


def test_cli_compress_option_and_json(images, base_flash, tmp_path, capsys):
    path = tmp_path / "f.bin"
    path.write_bytes(base_flash.read_bytes())
    url = f"sim://?flash={path}&time_scale=0.01"
    assert (
        main(["flash", "--port", url, "--bitstream", str(images.bitstream), "--compress", "none", "--json"])
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert r["compression"]["codec"] == "NONE" and r["compression"]["ratio"] == 1.0
    assert (
        main(
            [
                "flash",
                "--port",
                url,
                "--bitstream",
                str(images.bitstream),
                "--compress",
                "heatshrink",
                "--no-resume",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "compression: HEATSHRINK (heatshrink)" in out and "ratio" in out
