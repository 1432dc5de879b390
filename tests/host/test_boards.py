"""Board files: the shipped boards load with the facts the rest of the system relies on, and
bad files are refused with the file, the key and a fix (tests/data/boards/ holds the bad ones)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qtdeploy.boards import load_board
from qtdeploy.errors import BoardFileError

BAD = Path(__file__).resolve().parents[1] / "data" / "boards"


def test_env5_facts() -> None:
    b = load_board("env5")
    assert (b.id, b.virtual, b.fpga.part) == ("env5", False, "xc7s15ftgb196-1")
    assert b.fpga.idcode == 0x03620093  # UG470 Table 1-1, XC7S15
    assert b.fpga.bitstream_bytes * 8 == 4_310_752
    assert b.flash.jedec_id == (0x01, 0x20, 0x18) and b.flash.jedec_id_u32 == 0x012018
    assert (b.flash.size, b.flash.sector_size, b.flash.page_size) == (16 << 20, 64 << 10, 256)
    assert (b.usb.vid, b.usb.pid) == (0x2E8A, 0x000A)
    assert (b.fpga_spi.mode, b.fpga_spi.max_hz, b.uart.default_baud) == (1, 62_000_000, 921_600)
    assert b.fpga.pins["prog_b"].gpio == 12 and b.fpga.pins["done"].gpio is None


def test_env5_layout_is_safe_for_both_sector_options() -> None:
    b = load_board("env5")
    for r in b.layout.regions:
        assert r.offset % (256 << 10) == 0 and r.size % (256 << 10) == 0, r.name
    assert b.layout.slots["A"].multiboot_address == 0
    assert b.layout.slots["B"].multiboot_address == b.layout.slots["B"].bitstream.offset == 0x200000
    assert all(s.bitstream.size >= b.fpga.bitstream_bytes for s in b.layout.slots.values())
    assert [m.name for m in b.layout.meta] == ["meta_0", "meta_1"] and b.layout.log is not None


def test_env5_rails_have_shunts_on_fpga_rails() -> None:
    b = load_board("env5")
    assert {m.i2c_address for m in b.monitors} == {0x11, 0x12}
    fpga = [r for r in b.rails if r.name.startswith("fpga_")]
    assert len(fpga) == 4 and all(r.shunt_milliohm == 820 for r in fpga)
    assert b.rail("fpga_vccint").nominal_mv == 1000
    # the supply of the others is marked, so energy totals leave it out (no double counting)
    assert [r.name for r in b.rails if r.upstream] == ["usb_raw"]


def test_virtual_inherits_env5_and_drops_usb() -> None:
    env5, virt = load_board("env5"), load_board("virtual")
    assert (virt.id, virt.virtual, virt.usb) == ("virtual", True, None)
    assert virt.layout == env5.layout and virt.rails == env5.rails and virt.flash == env5.flash
    assert virt.fpga.pins["done"].gpio is not None and virt.fpga.pins["prog_b"] == env5.fpga.pins["prog_b"]


def test_board_by_path_and_unknown_name(root: Path) -> None:
    assert load_board(root / "boards" / "env5.toml").id == "env5"
    with pytest.raises(BoardFileError, match="env5") as err:  # the fix lists the known boards
        load_board("no-such-board")
    assert "virtual" in err.value.fix


BAD_CASES = {
    "unknown_key_nested": r"unknown key.*flash\.sector_byte",
    "unknown_key_top": r"unknown key.*colour",
    "missing_key": r"missing key `flash\.page_bytes`",
    "wrong_type": r"mcu\.clock_hz.*not an integer",
    "overlap": r"slot_a_bitstream.*slot_a_blob.*overlap",
    "outside_flash": r"`log`.*outside",
    "misaligned": r"`log` is not aligned",
    "bitstream_too_small": r"cannot hold a xc7s15ftgb196-1 bitstream",
    "missing_slot_b": r"slot B needs exactly one bitstream and one blob",
    "golden_not_at_0": r"slot A's bitstream region starts at 0x200000",
    "duplicate_rail": r"duplicate rail name `fpga_vccint`",
    "bad_i2c_address": r"I2C address 0x50",
    "bad_channel": r"channel 5",
    "bad_idcode": r"not a Xilinx JTAG IDCODE",
    "cycle_a": r"cycle",
    "not_toml": r"not valid TOML",
    "bad_unset": r"uart\.parity",
}


@pytest.mark.parametrize("name", sorted(BAD_CASES))
def test_bad_board_file_is_refused(name: str) -> None:
    with pytest.raises(BoardFileError, match=BAD_CASES[name]) as err:
        load_board(BAD / f"{name}.toml")
    assert err.value.fix, "every refusal says how to fix it"
    assert str(BAD / name) in err.value.problem or "cycle" in name


def test_every_fixture_is_covered() -> None:
    fixtures = {p.stem for p in BAD.glob("*.toml")} - {"cycle_b"}
    assert fixtures == set(BAD_CASES)


def test_board_agrees_with_protocol_constants() -> None:
    from qtdeploy import _protocol as p

    for name in ("env5", "virtual"):
        b = load_board(name)
        assert (b.fpga_spi.mode, b.fpga_spi.max_hz) == (p.REGMAP_SPI_MODE, p.REGMAP_SPI_MAX_HZ)
        assert b.uart.default_baud == p.LINK_DEFAULT_BAUD
