"""Bitstreams: simulated ones round-trip through the parser, the inspect and rtl CLIs report the
XC7S15 IDCODE and the ABI, the board check refuses other parts, malformed files are refused."""

from __future__ import annotations

import dataclasses
import json
import struct
from pathlib import Path

import pytest

from qtdeploy.boards import load_board
from qtdeploy.cli.main import main
from qtdeploy.errors import CompatibilityError, FormatError
from qtdeploy.formats import bitstream as bs

XC7S15_IDCODE = 0x03620093


@pytest.fixture(scope="module")
def board():
    return load_board("virtual")


@pytest.fixture(scope="module")
def sim(board) -> bytes:
    return bs.write_sim_bitstream(0x0102A0B7, board)


def _config(sim: bytes) -> bytes:
    """The .bin part of a .bit (what follows the 'e' field)."""
    _, config = bs.parse_bit_header(sim, "sim.bit")
    return config


def test_round_trip_gives_idcode_abi_and_real_size(sim: bytes, board) -> None:
    info = bs.describe(sim, "sim.bit")
    assert info["idcode_value"] == XC7S15_IDCODE and info["device"] == "xc7s15"
    assert info["abi_value"] == 0x0102A0B7 and info["abi"] == "0x0102a0b7"
    assert info["config_bytes"] == 538_844 == board.fpga.bitstream_bytes  # UG470 Table 1-1
    assert info["container"] == "bit" and info["simulated"] and info["desync"]
    assert info["header"]["part"] == "7s15ftgb196"
    assert "not loadable onto silicon" in info["header"]["design"]
    assert info["frames"] > 1000 and info["fdri_words"] % bs.FRAME_WORDS == 0
    assert info["commands"][-1] == "DESYNC" and "WCFG" in info["commands"]
    bs.check_part(info, board)
    bs.check_fits(info, board)


def test_unnamed_register_below_0x20_is_passed_over() -> None:
    data = _bin(*HEAD, 0x30000001 | 0x1A << 13, 0, 0x30018001, XC7S15_IDCODE, 0x30008001, bs.CMD["DESYNC"])
    assert bs.describe(data, "x.bin")["device"] == "xc7s15"


def test_bin_parses_like_bit(sim: bytes) -> None:
    as_bit, as_bin = bs.describe(sim, "a.bit"), bs.describe(_config(sim), "a.bin")
    assert as_bin["container"] == "bin" and as_bin["header"] is None
    for key in ("idcode", "abi", "fdri_words", "commands", "config_bytes"):
        assert as_bit[key] == as_bin[key], key


def test_sim_is_deterministic_and_fill_depends_on_abi(board, sim: bytes) -> None:
    assert bs.write_sim_bitstream(0x0102A0B7, board) == sim
    other = bs.write_sim_bitstream(0x0102A0B8, board)
    assert len(other) == len(sim) and other != sim
    config = _config(sim)
    zero_words = sum(1 for (w,) in struct.iter_unpack(">I", config) if w == 0)
    assert 0.8 < zero_words / (len(config) // 4) < 0.97  # sparse, like a small design; not all zeros


def test_check_part_refuses_other_fpga(sim: bytes, board) -> None:
    info = bs.describe(sim, "sim.bit")
    s50 = dataclasses.replace(
        board, fpga=dataclasses.replace(board.fpga, idcode=0x0362F093, part="xc7s50csga324-1")
    )
    with pytest.raises(CompatibilityError, match="xc7s15.*xc7s50csga324-1") as err:
        bs.check_part(info, s50)
    assert "Build the bitstream for xc7s50" in err.value.fix
    # The revision nibble (bits 31:28) is not part of the device identity.
    bs.check_part(dict(info, idcode_value=0x13620093), board)
    with pytest.raises(CompatibilityError, match="header names part 7s25"):
        bs.check_part(dict(info, header=dict(info["header"], part="7s25csga225")), board)


def test_check_fits_refuses_oversized(sim: bytes, board) -> None:
    info = bs.describe(sim, "sim.bit")
    with pytest.raises(CompatibilityError, match="bitstream regions hold"):
        bs.check_fits(dict(info, file_bytes=2 << 20), board)


def _bin(*words: int) -> bytes:
    return struct.pack(f">{len(words)}I", *words)


HEAD = (0xFFFFFFFF, 0x000000BB, 0x11220044, 0xFFFFFFFF, bs.SYNC_WORD, bs.NOOP)


def _drop_idcode(data: bytes) -> bytes:
    """Replace the IDCODE write (header + value) with two NOOPs."""
    at = data.index(_bin(0x30018001, XC7S15_IDCODE))
    return data[:at] + _bin(bs.NOOP, bs.NOOP) + data[at + 8 :]


MALFORMED = {
    "truncated preamble": (lambda s: s[:8], "truncated .bit header"),
    "header cut in a field": (lambda s: s[:40], r"field 'a' runs past|truncated \.bit header"),
    "unknown header field": (lambda s: s[:13] + b"z" + s[14:], "unknown .bit header field 'z'"),
    "e length beyond file": (lambda s: s[:-1000], "announces 538844 bytes"),
    "no sync word": (lambda s: b"\xff" * 8192, "no sync word"),
    "bad packet type": (lambda s: _bin(*HEAD, 0x80000000), "bad packet header 0x80000000"),
    "reserved opcode": (lambda s: _bin(*HEAD, 0x38008001, 0), "opcode 3"),
    "reserved register bits": (lambda s: _bin(*HEAD, 0x30000001 | 0x25 << 13, 0), "register 0x25"),
    "type 2 first": (
        lambda s: _bin(*HEAD, 0x50000004, 0, 0, 0, 0),
        "type-2 packet .* without a preceding type-1",
    ),
    "length beyond data": (
        lambda s: _bin(*HEAD, 0x30004000, 0x50001000, 0, 0),
        "announces 4096 words for FDRI",
    ),
    "idcode two words": (lambda s: _bin(*HEAD, 0x30018002, XC7S15_IDCODE, 0), "IDCODE write .* exactly 1"),
    "idcode missing": (lambda s: _drop_idcode(_config(s)), "no IDCODE packet"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_bitstream_is_refused(case: str, sim: bytes) -> None:
    make, message = MALFORMED[case]
    with pytest.raises(FormatError, match=message) as err:
        bs.describe(make(sim), "bad.bit")
    assert err.value.problem.startswith("bad.bit: ") and err.value.fix


def test_rtl_sim_bitstream_cli_writes_atomically(tmp_path: Path, capsys) -> None:
    out = tmp_path / "accel.bit"
    assert main(["rtl", "sim-bitstream", "--abi", "0xA0B1", "--out", str(out), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result == {
        "out": str(out),
        "bytes": out.stat().st_size,
        "board": "virtual",
        "idcode": "0x03620093",
        "abi": "0x0000a0b1",
    }
    assert main(["rtl", "sim-bitstream", "--abi", "not-hex", "--out", str(tmp_path / "x.bit")]) == 2
    assert main(["rtl", "sim-bitstream", "--abi", "0x1FFFFFFFF", "--out", str(tmp_path / "x.bit")]) == 2
    assert (
        main(["rtl", "sim-bitstream", "--abi", "1", "--board", "nope", "--out", str(tmp_path / "x.bit")]) == 4
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accel.bit"]  # nothing written on error


def test_inspect_cli_reports_idcode_and_abi(tmp_path: Path, capsys) -> None:
    pytest.importorskip(
        "qtdeploy.formats.blob", reason="inspect dispatches through the blob module (issue #2, blob part)"
    )
    out = tmp_path / "accel.bit"
    assert main(["rtl", "sim-bitstream", "--abi", "00c0ffee", "--board", "env5", "--out", str(out)]) == 0
    capsys.readouterr()
    assert main(["inspect", str(out), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["idcode"], info["device"], info["abi"]) == ("0x03620093", "xc7s15", "0x00c0ffee")
    assert main(["inspect", str(out)]) == 0
    human = capsys.readouterr().out
    assert "0x03620093" in human and "0x00c0ffee" in human
    (tmp_path / "junk.bit").write_bytes(b"\x00\x09" + b"\x00" * 20)
    assert main(["inspect", str(tmp_path / "junk.bit")]) == 4


def test_sim_bitstream_takes_the_abi_from_a_blob(tmp_path: Path, root: Path, capsys) -> None:
    blob = pytest.importorskip("qtdeploy.formats.blob")
    qtb, bit = tmp_path / "demo.qtb", tmp_path / "demo.bit"
    assert main(["pack", str(root / "examples" / "demo-model"), "--out", str(qtb)]) == 0
    assert main(["rtl", "sim-bitstream", "--abi", str(qtb), "--out", str(bit)]) == 0
    capsys.readouterr()
    assert bs.describe(bit.read_bytes(), str(bit))["abi_value"] == blob.load(qtb).abi
