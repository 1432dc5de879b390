"""`qtdeploy flash --via` end to end: through the virtual FT232H into a flash file, then the
virtual board (the real firmware) boots that file: `qtdeploy info` shows the slot active with the
right SHA-256s and the FPGA configured. Errors come out as messages with exit codes."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from qtdeploy.cli.main import main
from qtdeploy.formats import slots as rec
from qtdeploy.ftdi.adapter import VIRTUAL_ENV
from support.ftdi_helpers import URL, record, sha
from support.vboard import session, start

needs_cc = pytest.mark.skipif(
    shutil.which("cc") is None, reason="no C compiler: the virtual board cannot be built"
)


def _flash(monkeypatch, flash_file: Path, *args: str) -> int:
    monkeypatch.setenv(VIRTUAL_ENV, str(flash_file))
    return main(["flash", "--via", URL, *args])


def _info(flash_file: Path, capsys) -> dict:
    with start(flash_file) as vb:
        capsys.readouterr()
        assert main(["info", "--port", f"sim://?flash={vb.flash_file}", "--json"]) == 0
        return json.loads(capsys.readouterr().out)


@needs_cc
def test_flash_via_ftdi_then_the_virtual_board_boots_it(images, board, tmp_path, monkeypatch, capsys):
    path = tmp_path / "flash.bin"
    assert (
        _flash(monkeypatch, path, "--bitstream", str(images.bitstream), "--blob", str(images.blob), "--json")
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert (r["slot"], r["simulated"], r["jedec_id"]) == ("A", True, "01 20 18")
    i = _info(path, capsys)
    a = i["slots"][0]
    assert i["active_slot"] == "A" and a["state"] == "COMMITTED"
    assert (a["bitstream"]["sha256"], a["blob"]["sha256"]) == (sha(images.bitstream), sha(images.blob))
    assert i["fpga"]["state"] == "CONFIGURED" and i["fpga"]["slot"] == "A" and i["fpga"]["abi"] == r["abi"]
    # a second image goes to slot B over FTDI; the board switches to it
    assert _flash(monkeypatch, path, "--bitstream", str(images.other_bitstream)) == 0
    i = _info(path, capsys)
    assert i["active_slot"] == "B" and i["slots"][1]["bitstream"]["sha256"] == sha(images.other_bitstream)
    assert i["slots"][0]["state"] == "COMMITTED" and i["fpga"]["abi"] == "0x0bad0001"


@needs_cc
def test_the_record_the_firmware_writes_decodes_and_re_encodes_to_the_same_bytes(
    images, board, tmp_path, monkeypatch, capsys
):
    """The other direction: a record the firmware's SLOT_COMMIT wrote, byte for byte through Python."""
    from qtdeploy.ops import flash

    path = tmp_path / "flash.bin"
    assert (
        _flash(monkeypatch, path, "--bitstream", str(images.bitstream), "--blob", str(images.blob), "--json")
        == 0
    )
    with start(path) as vb, session(vb) as b:
        assert flash(b, bitstream=images.other_bitstream)["slot"] == "B"  # the firmware commits seq 2
    data = path.read_bytes()
    meta_1 = board.layout.meta[1].offset
    raw = data[meta_1 : meta_1 + rec.RECORD_SIZE]
    r = record(data, board)
    assert r.copy == 1 and r.seq == 2 and r.active == 1 and r.slots[0].committed
    assert rec.encode(r) == raw


def test_cli_errors_exit_non_zero_with_a_fix(images, board, tmp_path, monkeypatch, capsys):
    path = tmp_path / "flash.bin"
    monkeypatch.delenv(VIRTUAL_ENV, raising=False)
    from qtdeploy.ftdi.virtual.backend import attached

    with attached():  # an empty USB bus, whatever this machine has
        assert main(["flash", "--via", URL, "--bitstream", str(images.bitstream)]) == 6
    err = capsys.readouterr().err
    assert "No FTDI adapter answers" in err and "fix:" in err
    big = tmp_path / "big.bit"
    big.write_bytes(images.bitstream.read_bytes() + b"\xff" * (1 << 20))
    assert _flash(monkeypatch, path, "--bitstream", str(big)) == 5
    assert "region holds" in capsys.readouterr().err
    assert record(path.read_bytes(), board) is None and set(path.read_bytes()[: 1 << 20]) == {0xFF}


@needs_cc
def test_a_cut_mid_image_boots_the_other_slot_and_never_the_half_written_one(
    images, board, tmp_path, monkeypatch, capsys
):
    """The firmware's own view after a power cut while slot A is being rewritten over FTDI."""
    from qtdeploy.ftdi.flash import flash_via
    from qtdeploy.ftdi.virtual.backend import VirtualFt232h, attached
    from qtdeploy.ftdi.virtual.nor import PowerCut

    path = tmp_path / "flash.bin"
    with attached(VirtualFt232h(board, path)):
        flash_via(URL, board=board, bitstream=images.bitstream, blob=images.blob)  # A
        flash_via(URL, board=board, bitstream=images.other_bitstream)  # B, active
    dev = VirtualFt232h(board, path)
    dev.nor.die_after = 500  # un-commit (3 ops), 9 erases, then page programs: cut inside A's bitstream
    with attached(dev), pytest.raises(PowerCut):
        flash_via(URL, board=board, bitstream=images.other_bitstream, slot="a")
    i = _info(path, capsys)
    assert i["slots"][0]["state"] == "EMPTY" and i["active_slot"] == "B"
    # slot B is reached only by MultiBoot from the golden image in slot A (protocol/slots.md): with A
    # half-written the FPGA runs nothing (NO_GOLDEN), and never the half-written image
    assert i["fpga"]["state"] != "CONFIGURED"
    with attached(VirtualFt232h(board, path)):
        flash_via(URL, board=board, bitstream=images.other_bitstream, slot="a")  # the flash finished
    i = _info(path, capsys)
    assert i["active_slot"] == "A" and (i["fpga"]["state"], i["fpga"]["slot"]) == ("CONFIGURED", "A")
