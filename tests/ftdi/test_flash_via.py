"""flash_via through the virtual FT232H: the image and record land where the firmware expects
them, and every refusal (no adapter, wrong part, protected or busy flash, too-large image, active
slot, a power cut) leaves nothing half-written marked valid."""

from __future__ import annotations

import hashlib

import pytest

from qtdeploy.boards import load_board
from qtdeploy.errors import CompatibilityError, LinkError
from qtdeploy.ftdi.adapter import AdapterNotFoundError
from qtdeploy.ftdi.flash import FlashProtectedError, WrongJedecError, flash_via
from qtdeploy.ftdi.nor import FlashBusyError
from qtdeploy.ftdi.virtual.backend import attached
from qtdeploy.ftdi.virtual.nor import PowerCut
from support.ftdi_helpers import URL, committed_slots_intact, record


def test_writes_images_verified_and_commits_slot_a_active(adapter, board, images, tmp_path):
    dev = adapter()
    r = flash_via(URL, board=board, bitstream=images.bitstream, blob=images.blob)
    assert (r["slot"], r["active_slot"], r["slot_seq"], r["meta_copy"], r["simulated"]) == (
        "A",
        "A",
        1,
        0,
        True,
    )
    assert r["mcu_held"] == ["mcu_run", "fpga_prog_b"] and dev.violations == []
    flash = (tmp_path / "flash.bin").read_bytes()
    a = board.layout.slots["A"]
    bit, blob = images.bitstream.read_bytes(), images.blob.read_bytes()
    assert flash[a.bitstream.offset : a.bitstream.offset + len(bit)] == bit
    assert flash[a.blob.offset : a.blob.offset + len(blob)] == blob
    rec_ = record(flash, board)
    e = rec_.slots[0]
    assert (
        rec_.active == 0
        and e.committed
        and e.slot_seq == 1
        and e.blob_sha256 == hashlib.sha256(blob).digest()
    )
    assert e.idcode == board.fpga.idcode and e.usr_access == int(r["abi"], 16)
    assert not dev.mpsse.bus_granted()  # closed: the board runs again


def test_next_flash_goes_to_the_inactive_slot_and_skips_what_it_holds(adapter, board, images, tmp_path):
    dev = adapter()
    flash_via(URL, board=board, bitstream=images.bitstream, blob=images.blob)
    r = flash_via(URL, board=board, bitstream=images.bitstream, blob=images.blob)
    assert (r["slot"], r["slot_seq"], r["meta_copy"], r["sectors_written"]) == ("B", 2, 1, 10)
    r = flash_via(URL, board=board, bitstream=images.other_bitstream)  # A again: un-committed first
    assert (r["slot"], r["slot_seq"], r["meta_copy"]) == ("A", 4, 1)
    assert r["sectors_erased"] == 9 and dev.violations == []
    rec_ = record((tmp_path / "flash.bin").read_bytes(), board)
    assert rec_.active == 0 and rec_.slots[1].committed and rec_.slots[0].blob_length == 0
    r = flash_via(URL, board=board, bitstream=images.bitstream, blob=images.blob, slot="b")
    assert r["sectors_skipped"] == 10 and r["sectors_written"] == 0


def test_no_adapter_lists_what_is_attached(adapter, board, images):
    with attached(), pytest.raises(AdapterNotFoundError, match="no FTDI device is attached") as err:
        flash_via(URL, board=board, bitstream=images.bitstream)
    assert isinstance(err.value, LinkError) and err.value.exit_code == 6
    adapter(serial="LAB42")
    with pytest.raises(AdapterNotFoundError, match=r"attached: ftdi://ftdi:232h:LAB42/1"):
        flash_via("ftdi://ftdi:232h:OTHER/1", board=board, bitstream=images.bitstream)


def test_wrong_jedec_id_is_refused_before_anything(adapter, images, tmp_path):
    (tmp_path / "w25.toml").write_text(
        'extends = "virtual"\nid = "w25"\n[flash]\npart = "W25Q128JV"\njedec_id = [0xEF, 0x40, 0x18]\n'
    )
    dev = adapter()
    with pytest.raises(WrongJedecError, match=r"answers JEDEC ID 01 20 18.*W25Q128JV \(ef 40 18\)") as err:
        flash_via(URL, board=load_board(tmp_path / "w25.toml"), bitstream=images.bitstream)
    assert isinstance(err.value, CompatibilityError) and dev.nor.write_ops == 0


def test_no_flash_answering_says_so(adapter, board, images):
    dev = adapter()
    dev.nor.jedec_id = b"\x00\x00\x00"  # MISO stuck low: no part, or not powered
    with pytest.raises(WrongJedecError, match="no flash answers"):
        flash_via(URL, board=board, bitstream=images.bitstream)


@pytest.mark.parametrize(("sr", "match"), [(0x1C, r"write-protected from 0x0 "), (0x9C, "SRWD is set")])
def test_block_protection_is_refused_before_any_erase(adapter, board, images, sr, match):
    dev = adapter()
    dev.nor.sr = sr
    with pytest.raises(FlashProtectedError, match=match) as err:
        flash_via(URL, board=board, bitstream=images.bitstream, blob=images.blob)
    assert err.value.exit_code == 7 and dev.nor.write_ops == 0 and dev.violations == []


def test_protection_of_the_top_only_lets_the_flash_go_on(adapter, board, images):
    dev = adapter()
    dev.nor.sr = 0x04  # BP0: the top 256 KiB (the log region): our regions are below it
    flash_via(URL, board=board, bitstream=images.bitstream)
    assert dev.violations == []


def test_a_flash_that_stays_busy_is_reported(adapter, board, images):
    dev = adapter()
    dev.nor.busy_until_us = float("inf")
    with pytest.raises(FlashBusyError, match="still busy") as err:
        flash_via(URL, board=board, bitstream=images.bitstream)
    assert err.value.exit_code == 7 and dev.nor.write_ops == 0


def test_a_running_erase_is_waited_out(adapter, board, images):
    dev = adapter()
    dev.nor.busy_until_us = 100_000  # 100 ms of a previous erase left
    flash_via(URL, board=board, bitstream=images.bitstream)
    assert dev.violations == []


def test_an_image_too_large_for_its_slot_is_refused(adapter, board, images, tmp_path):
    big = tmp_path / "big.bit"  # dummy words (0xFFFFFFFF) after the configuration: still a valid bitstream
    big.write_bytes(images.bitstream.read_bytes() + b"\xff" * board.layout.slots["A"].bitstream.size)
    dev = adapter()
    with pytest.raises(
        CompatibilityError, match=r"big.bit is 1,587,563 bytes; slot A's bitstream region holds 1,048,576"
    ):
        flash_via(URL, board=board, bitstream=big, blob=images.blob)
    assert dev.nor.write_ops == 0


def test_the_active_slot_is_refused(adapter, board, images):
    adapter()
    flash_via(URL, board=board, bitstream=images.bitstream)
    with pytest.raises(CompatibilityError, match="holds the active image"):
        flash_via(URL, board=board, bitstream=images.bitstream, slot="a")


def _cut_sweep(adapter, board, images, tmp_path, cuts):
    """Flash A, then B, then A again (un-commit path), cutting the power at write op ``n``."""
    base = tmp_path / "base.bin"
    dev = adapter(base)
    flash_via(URL, board=board, bitstream=images.bitstream, blob=images.blob)
    flash_via(URL, board=board, bitstream=images.other_bitstream, slot="b")
    base_bytes = base.read_bytes()
    dev.close()
    total = None
    for n in cuts:
        path = tmp_path / f"cut{n}.bin"
        path.write_bytes(base_bytes)
        d = adapter(path)
        d.nor.die_after = n
        try:
            flash_via(URL, board=board, bitstream=images.other_bitstream, slot="a")
        except PowerCut:
            pass
        else:
            total = d.nor.write_ops
        flash = path.read_bytes()
        assert committed_slots_intact(flash, board), f"cut at op {n}"
        assert record(flash, board).active in (0, 1)  # one of the two copies is always whole
    return total


def test_a_power_cut_never_leaves_a_half_written_slot_marked_valid(adapter, board, images, tmp_path):
    # ops: 3 (un-commit record), then erases + page programs, the last 3 the new record
    cuts = [1, 2, 3, 4, 5, 40, 1500, 2200]
    _cut_sweep(adapter, board, images, tmp_path, cuts)


@pytest.mark.slow
def test_power_cut_at_every_record_step_and_across_the_images(adapter, board, images, tmp_path):
    total = _cut_sweep(adapter, board, images, tmp_path, [10**6])
    _cut_sweep(
        adapter,
        board,
        images,
        tmp_path,
        list(range(1, 8)) + list(range(8, total - 3, 97)) + list(range(total - 3, total + 1)),
    )


def test_a_part_slower_than_typical_is_polled_not_overrun(adapter, board, images, tmp_path):
    dev = adapter()
    dev.nor.page_program_us = 700  # within the 750 us maximum, but past the typical time the batch waits
    flash_via(URL, board=board, bitstream=images.bitstream)
    assert dev.violations == []
    assert (tmp_path / "flash.bin").read_bytes()[
        : len(images.bitstream.read_bytes())
    ] == images.bitstream.read_bytes()


@pytest.mark.parametrize("batch", [True, False])
def test_the_driver_programs_across_pages_with_and_without_batching(adapter, board, batch):
    from qtdeploy.ftdi.adapter import open_adapter

    dev = adapter()
    data = bytes(range(256)) * 3 + b"tail"
    with open_adapter(URL, board, batch=batch) as ad:
        ad.nor.program(0x10080, data)  # starts mid-page: split at every page boundary
        assert ad.nor.read(0x10080, len(data)) == data
        ad.nor.erase_sector(0x10000)
        assert ad.nor.read(0x10000, 0x10000) == b"\xff" * 0x10000
    assert dev.violations == []
