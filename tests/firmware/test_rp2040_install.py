"""`qtdeploy firmware install` against drives made of directories: the RPI-RP2 drive is the
hardware boundary (a FAT volume holding INFO_UF2.TXT), the port list is what the OS would show
once the board re-enumerates. Bad input leaves every drive untouched."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from qtdeploy.errors import CompatibilityError, FormatError, LinkError, UsageError
from qtdeploy.firmware.install import install
from qtdeploy.formats import uf2
from qtdeploy.ports import PortInfo

VID, PID = 0x2E8A, 0x000A
INFO = "UF2 Bootloader v3.0\nModel: Raspberry Pi RP2\nBoard-ID: RPI-RP2\n"  # what the ROM serves


def drive(tmp_path: Path, name: str, info: str = INFO) -> Path:
    d = tmp_path / name
    d.mkdir()
    (d / "INFO_UF2.TXT").write_text(info)
    (d / "INDEX.HTM").write_text("<html></html>")
    return d


def image() -> bytes:
    """A small image the ROM would boot: boot2 with its CRC, a vector table into the image."""
    body = bytearray(1024)
    body[:256] = uf2.boot2_patch(b"\x00\xbf" * 8)
    struct.pack_into("<II", body, 256, 0x20042000, 0x10000201)
    return uf2.to_uf2(bytes(body))


class Usb:
    """The OS's port list: our board appears once a UF2 has landed on the drive (the ROM flashed
    it and rebooted), never when ``comes_back`` is False."""

    def __init__(self, drive_dir: Path, comes_back: bool = True) -> None:
        self.drive, self.comes_back = drive_dir, comes_back

    def __call__(self) -> list[PortInfo]:
        other = PortInfo("/dev/ttyACM9", VID, PID, "Board CDC (another RP2040 firmware)", "E66138")
        ours = PortInfo("/dev/ttyACM0", VID, PID, "qtdeploy env5 (RP2040)", "E6614103E7")
        landed = any(p.suffix == ".uf2" for p in self.drive.iterdir())
        return [other, ours] if landed and self.comes_back else [other]


def test_install_copies_and_finds_the_board(tmp_path) -> None:
    d = drive(tmp_path, "RPI-RP2")
    f = tmp_path / "fw.uf2"
    f.write_bytes(image())
    res = install(f, vid=VID, pid=PID, candidates=[tmp_path / "home", d], ports=Usb(d), timeout=5)
    assert res.drive == str(d) and res.port == "/dev/ttyACM0" and res.blocks == 4
    assert (d / "qtd-rp2040.uf2").read_bytes() == f.read_bytes()


@pytest.mark.parametrize("case", ["none", "two", "family", "truncated"])
def test_bad_input_writes_nothing(tmp_path, case) -> None:
    a = drive(tmp_path, "A")
    b = drive(tmp_path, "B") if case == "two" else drive(tmp_path, "B", info="Board-ID: OTHER\n")
    raw = bytearray(image())
    if case == "family":
        struct.pack_into("<I", raw, 28, 0xADA52840)
    if case == "truncated":
        raw = raw[:-512]
    f = tmp_path / "fw.uf2"
    f.write_bytes(bytes(raw))
    candidates = [] if case == "none" else [a, b]
    want = {"none": LinkError, "two": UsageError, "family": CompatibilityError, "truncated": FormatError}[
        case
    ]
    with pytest.raises(want) as err:
        install(f, vid=VID, pid=PID, candidates=candidates, ports=Usb(a), timeout=1)
    assert err.value.fix  # every refusal says what to do
    assert not list(a.glob("*.uf2")) and not list(b.glob("*.uf2"))


def test_a_board_that_never_comes_back_is_an_error(tmp_path) -> None:
    d = drive(tmp_path, "RPI-RP2")
    f = tmp_path / "fw.uf2"
    f.write_bytes(image())
    with pytest.raises(LinkError, match="did not come back"):
        install(f, vid=VID, pid=PID, candidates=[d], ports=Usb(d, comes_back=False), timeout=0.5)


def test_cli_exit_codes(tmp_path) -> None:
    from qtdeploy.cli.main import main

    a, b = drive(tmp_path, "A"), drive(tmp_path, "B", info="nothing\n")
    bad = tmp_path / "bad.uf2"
    bad.write_bytes(image()[:-7])
    assert main(["firmware", "install", str(bad), "--drive", str(a)]) == FormatError.exit_code
    ok = tmp_path / "ok.uf2"
    ok.write_bytes(image())
    assert main(["firmware", "install", str(ok), "--drive", str(b)]) == UsageError.exit_code
    assert not list(a.glob("*.uf2"))
