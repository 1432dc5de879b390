"""Flash the demo image into a virtual board through the library and the CLI, and refuse bad
inputs before anything is erased."""

from __future__ import annotations

import dataclasses
import hashlib
import json

import pytest

from qtdeploy.boards import load_board
from qtdeploy.cli.main import main
from qtdeploy.errors import CompatibilityError
from qtdeploy.formats import bitstream as bit_fmt
from qtdeploy.ops import flash, info
from support.vboard import OLD_ABI, session, start


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_flash_goes_to_the_inactive_slot_verified_and_configured(images, old_board):
    _, vb = old_board
    with session(vb) as b:
        r = flash(b, bitstream=images.bitstream, blob=images.blob)
        assert (r["slot"], r["active_slot"]) == ("B", "B")
        assert r["sectors_written"] == 10 and r["sectors_skipped"] == 0 and r["simulated"] is True
        assert r["fpga"]["state"] == "CONFIGURED" and r["fpga"]["abi"] == r["blob_abi"]
        i = info(b)
    a, bslot = i["slots"]
    assert i["active_slot"] == "B" and i["fpga"]["slot"] == "B"
    assert (bslot["bitstream"]["sha256"], bslot["blob"]["sha256"]) == (
        sha(images.bitstream),
        sha(images.blob),
    )
    assert a["state"] == "COMMITTED" and a["bitstream"]["sha256"] == sha(images.old_bitstream)
    assert bslot["seq"] > a["seq"]


def test_reflash_of_same_image_skips_every_verified_sector(images, old_board):
    _, vb = old_board
    with session(vb) as b:
        flash(b, bitstream=images.bitstream, blob=images.blob, slot="b")
        # slot A (old image) is now inactive: the new image goes there, all sectors rewritten
        r = flash(b, bitstream=images.bitstream, blob=images.blob)
        assert r["slot"] == "A" and r["sectors_written"] == 10
        # and once more into B, which already holds these bytes: nothing is written
        r = flash(b, bitstream=images.bitstream, blob=images.blob)
        assert (r["slot"], r["sectors_written"], r["sectors_skipped"], r["bytes_written"]) == ("B", 0, 10, 0)
        assert info(b)["active_slot"] == "B"


def _no_flash_op_board(path):
    """A board that dies (exit 75) at its first flash program/erase: proves nothing was erased."""
    return start(path, die_after_flash_ops=1)


def test_incompatible_inputs_are_refused_before_any_erase(images, base_flash, tmp_path):
    path = tmp_path / "f.bin"
    path.write_bytes(base_flash.read_bytes())
    board = load_board("virtual")
    xc7s6 = dataclasses.replace(board, fpga=dataclasses.replace(board.fpga, idcode=0x03622093))
    (tmp_path / "s6.bit").write_bytes(bit_fmt.write_sim_bitstream(OLD_ABI, xc7s6))
    (tmp_path / "huge.bit").write_bytes(images.old_bitstream.read_bytes() + bytes(1 << 20))
    with _no_flash_op_board(path) as vb, session(vb) as b:
        with pytest.raises(CompatibilityError, match="0x03622093.*XC7S15|xc7s15"):
            flash(b, bitstream=tmp_path / "s6.bit")
        with pytest.raises(CompatibilityError, match="ABI"):
            flash(b, bitstream=images.old_bitstream, blob=images.blob)
        with pytest.raises(CompatibilityError, match="active image"):
            flash(b, bitstream=images.bitstream, blob=images.blob, slot="a")
        with pytest.raises(CompatibilityError, match="bitstream region holds 1,048,576"):
            flash(b, bitstream=tmp_path / "huge.bit")
        assert info(b)["active_slot"] == "A"
        assert vb.returncode is None  # no flash operation happened


def test_cli_flash_then_info_json(images, base_flash, tmp_path, capsys):
    path = tmp_path / "f.bin"
    path.write_bytes(base_flash.read_bytes())
    url = f"sim://?flash={path}&time_scale=0.01&pacing=0"
    assert (
        main(
            [
                "flash",
                "--port",
                url,
                "--bitstream",
                str(images.bitstream),
                "--blob",
                str(images.blob),
                "--json",
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out)
    assert result["slot"] == "B" and result["simulated"]
    assert main(["info", "--port", url, "--json"]) == 0
    i = json.loads(capsys.readouterr().out)
    assert i["active_slot"] == "B" and i["slots"][1]["blob"]["sha256"] == sha(images.blob)
    assert main(["info", "--port", url]) == 0
    out = capsys.readouterr().out
    assert "virtual board" in out and "slots (active: B)" in out


def test_cli_trace_logs_every_frame(images, base_flash, tmp_path, capsys):
    path = tmp_path / "f.bin"
    path.write_bytes(base_flash.read_bytes())
    assert main(["info", "--port", f"sim://?flash={path}&pacing=0", "--trace"]) == 0
    err = capsys.readouterr().err
    assert "tx " in err and "rx " in err and "HELLO" in err and "SLOT_INFO" in err


def test_cli_flash_refusal_exit_code(images, base_flash, tmp_path, capsys):
    path = tmp_path / "f.bin"
    path.write_bytes(base_flash.read_bytes())
    code = main(
        [
            "flash",
            "--port",
            f"sim://?flash={path}&pacing=0",
            "--bitstream",
            str(images.old_bitstream),
            "--blob",
            str(images.blob),
        ]
    )
    assert code == 5
    err = capsys.readouterr().err
    assert "ABI" in err and "fix:" in err


def test_board_that_dies_is_named_in_the_error(images, base_flash, tmp_path):
    """A board started by the sim:// port that exits (here a power cut) says why in the LinkError."""
    from qtdeploy.errors import LinkError
    from qtdeploy.ops import Board

    path = tmp_path / "f.bin"
    path.write_bytes(base_flash.read_bytes())
    with Board.open(f"sim://?flash={path}&pacing=0&time_scale=0.01&die_after=3") as b:
        with pytest.raises(
            LinkError, match=r"exited with status 75 \(.*power cut during flash operation 3\)"
        ):
            flash(b, bitstream=images.bitstream, blob=images.blob)


def test_cli_flash_at_another_baud(images, base_flash, tmp_path, capsys):
    """--baud is negotiated with SET_BAUD after HELLO and proven with a PING at the new rate."""
    path = tmp_path / "f.bin"
    path.write_bytes(base_flash.read_bytes())
    url = f"sim://?flash={path}&time_scale=0.01"
    assert (
        main(
            [
                "flash",
                "--port",
                url,
                "--baud",
                "3000000",
                "--bitstream",
                str(images.old_bitstream),
                "--json",
                "--compress",
                "none",
            ]
        )
        == 0
    )
    r = json.loads(capsys.readouterr().out)
    assert r["baud"] == 3_000_000 and r["wire_bytes_per_s"] == 300_000 and r["slot"] == "B"
    assert 0.5 < r["wire_ratio"] <= 1.0  # paced at the new rate: raw payload cannot beat the wire
