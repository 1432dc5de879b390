"""The RP2040 firmware as the ROM sees it, checked by our own parser (qtdeploy.formats.uf2):
UF2 blocks, boot2's CRC, the vector table, the GNU build-id; the pins and clocks generated from
the board file; the size of the real binary against the chip's budgets (in the test summary)."""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from qtdeploy.boards import load_board
from qtdeploy.errors import BoardFileError, CompatibilityError, FormatError
from qtdeploy.formats import uf2
from support.scripts import load_script

FIRMWARE = Path(__file__).resolve().parents[2] / "firmware"


@pytest.fixture(scope="module")
def fw(pytestconfig):
    if shutil.which("arm-none-eabi-gcc") is None:
        pytest.skip("arm-none-eabi-gcc not installed (scripts/setup-env installs it)")
    from qtdeploy.firmware import build

    b = build("env5")
    pytestconfig.qtd_rp2040_size_report = "\n".join(b.size.lines())  # conftest prints it in the summary
    return b


def _symbol(elf: Path, name: str) -> int:
    out = subprocess.run(["arm-none-eabi-nm", str(elf)], capture_output=True, text=True, check=True).stdout
    for line in out.splitlines():
        addr, _, sym = line.split()
        if sym == name:
            return int(addr, 16)
    raise AssertionError(f"{name} not in {elf}")


def test_crc32_mpeg2_check_value() -> None:
    assert uf2.crc32_mpeg2(b"123456789") == 0x0376E6E7  # the catalogue's check value


def test_uf2_blocks_cover_the_binary_from_flash_start(fw) -> None:
    raw = fw.uf2.read_bytes()
    image = fw.uf2.with_suffix(".bin").read_bytes()
    assert len(raw) % 512 == 0 and len(raw) // 512 == -(-len(image) // 256)
    for n in range(len(raw) // 512):
        m0, m1, flags, addr, size, num, count, family = struct.unpack_from("<8I", raw, n * 512)
        assert (m0, m1, struct.unpack_from("<I", raw, n * 512 + 508)[0]) == (
            0x0A324655,
            0x9E5D5157,
            0x0AB16F30,
        )
        assert flags == 0x2000 and family == 0xE48BFF56
        assert (addr, size, num, count) == (0x10000000 + 256 * n, 256, n, len(raw) // 512)
    parsed = uf2.check_firmware(raw)
    assert parsed.base == 0x10000000 and parsed.data[: len(image)] == image


def test_boot2_crc_is_patched_in_and_checked(fw) -> None:
    image = bytearray(fw.uf2.with_suffix(".bin").read_bytes())
    (crc,) = struct.unpack_from("<I", image, 252)
    assert crc == uf2.crc32_mpeg2(bytes(image[:252]))
    image[10] ^= 0x01  # one flipped bit of boot2: the ROM would not run it
    with pytest.raises(FormatError, match="boot2 CRC"):
        uf2.boot2_check(bytes(image))
    with pytest.raises(FormatError, match="boot2 CRC"):
        uf2.check_firmware(uf2.to_uf2(bytes(image)))


def test_vector_table_points_at_the_elf_reset_handler(fw) -> None:
    image = fw.uf2.with_suffix(".bin").read_bytes()
    vt = uf2.vector_table(image)
    assert vt.initial_sp == _symbol(fw.elf, "__stack_top") == 0x20042000
    assert vt.reset == _symbol(fw.elf, "qtd_reset_handler") | 1
    bad = bytearray(image)
    struct.pack_into("<I", bad, 260, 0x20000000)  # a reset vector into RAM, even (not Thumb)
    with pytest.raises(FormatError, match="reset vector"):
        uf2.vector_table(bytes(bad))


def test_build_id_is_the_elf_note(fw) -> None:
    out = subprocess.run(["arm-none-eabi-readelf", "-n", str(fw.elf)], capture_output=True, text=True).stdout
    assert f"Build ID: {fw.build_id}" in out and len(fw.build_id) == 40


def test_wrong_family_and_truncated_uf2_are_refused(fw) -> None:
    raw = bytearray(fw.uf2.read_bytes())
    with pytest.raises(FormatError, match="512-byte blocks"):
        uf2.parse(bytes(raw[:-100]))
    with pytest.raises(FormatError, match="truncated"):
        uf2.parse(bytes(raw[:-512]))  # whole blocks, but fewer than the count says
    other = bytearray(raw)
    struct.pack_into("<I", other, 28, 0xADA52840)  # nRF52840's family id in block 0
    with pytest.raises(CompatibilityError, match="0xADA52840"):
        uf2.parse(bytes(other))
    with pytest.raises(FormatError, match="not at the flash start"):
        uf2.check_firmware(uf2.to_uf2(bytes(256) * 4, base=0x10001000))


def test_mcu_config_comes_from_the_board_file(fw) -> None:
    header = (fw.elf.parent / "gen" / "qtd" / "mcu_config.h").read_text()
    b = load_board("env5")
    for name, gpio in b.mcu.pins.items():
        assert f"#define QTD_PIN_{name.upper()} {gpio}u" in header
    assert f"#define QTD_PIN_FPGA_PROG_B {b.fpga.pins['prog_b'].gpio}" in header
    assert f"#define QTD_USB_VID 0x{b.usb.vid:04X}u" in header


def test_pll_and_pin_checks() -> None:
    mod = load_script(FIRMWARE / "tools" / "mcu_header.py")
    fb, pd1, pd2 = mod.pll(12_000_000, 125_000_000)
    assert 750e6 <= 12e6 * fb <= 1600e6 and 12e6 * fb / pd1 / pd2 == 125e6 and pd1 >= pd2
    fb, pd1, pd2 = mod.pll(12_000_000, 48_000_000)  # USB full speed
    assert 750e6 <= 12e6 * fb <= 1600e6 and 12e6 * fb / pd1 / pd2 == 48e6
    with pytest.raises(BoardFileError, match="PLL"):
        mod.pll(12_000_000, 123_456_789)
    cpsr, scr = mod.spi_divider(125_000_000, 62_000_000)
    assert 125e6 / (cpsr * (1 + scr)) <= 62e6 and cpsr % 2 == 0


def test_a_pin_that_cannot_carry_spi0_is_refused(tmp_path) -> None:
    mod = load_script(FIRMWARE / "tools" / "mcu_header.py")
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "env5"\nid = "bad"\n[mcu.pins]\nflash_sck = 5\n')
    with pytest.raises(BoardFileError, match="flash_sck.*SPI0 SCK"):
        mod.render(load_board(bad), "bad.toml")
