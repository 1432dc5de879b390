"""Power cut at the k-th flash operation of an image write (and of its commit): after a restart
the board boots the last good image, `info` says which, and the next flash resumes.

The virtual board counts every flash program/erase/status-write operation and, at the k-th,
applies it half-way and exits 75. With page-aligned writes the host knows the operations it
causes: per sector one erase plus one program per 256-byte page, then three for the commit
record (protocol/slots.md). Slot B holds stale data first (an earlier, uncommitted image), so
that every sector needs its erase (the host skips erasing sectors that already read as erased). The default slice cuts at 10 points spread over the write plus every
commit operation; `-m slow` sweeps every k.
"""

from __future__ import annotations

import hashlib
import shutil

import pytest

from qtdeploy.boards import load_board
from qtdeploy.errors import LinkError
from qtdeploy.ops import flash, info
from qtdeploy.sim import EXIT_POWER_CUT
from support.vboard import OLD_ABI, session, start

SECTOR, PAGE, COMMIT_OPS = 65536, 256, 3


def write_ops(*paths) -> int:
    """Flash operations the host causes while writing these images to a slot."""
    total = 0
    for path in paths:
        size = path.stat().st_size
        for start_ in range(0, size, SECTOR):
            total += 1 + -(-min(SECTOR, size - start_) // PAGE)
    return total


def stale_slot_b(path) -> None:
    """Fill slot B's regions with zeros: data from an earlier image, which must be erased."""
    with open(path, "r+b") as f:
        for region in load_board("virtual").layout.regions:
            if region.slot == "B":
                f.seek(region.offset)
                f.write(bytes(region.size))


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def cut_at(k: int, images, base_flash, tmp_path, *, resume: bool = True) -> dict:
    """Flash the demo onto a copy of the old-image board, cut at op k, restart, check, resume."""
    path = tmp_path / f"flash-{k}.bin"
    shutil.copyfile(base_flash, path)
    stale_slot_b(path)
    completed = False
    with start(path, die_after_flash_ops=k) as vb:
        with session(vb) as b:
            try:
                flash(b, bitstream=images.bitstream, blob=images.blob)
                completed = True
            except LinkError:
                pass
        if not completed:
            assert vb.wait(5) == EXIT_POWER_CUT, vb.stderr_text()
            assert f"power cut during flash operation {k}" in vb.stderr_text()
    with start(path) as vb, session(vb) as b:
        before = info(b)
        slot = {"A": 0, "B": 1}[before["active_slot"]]
        active = before["slots"][slot]
        assert active["state"] == "COMMITTED" and before["fpga"]["slot"] == before["active_slot"]
        assert before["fpga"]["state"] == "CONFIGURED"
        if before["active_slot"] == "A":
            assert active["bitstream"]["sha256"] == sha(images.old_bitstream)
            assert before["fpga"]["abi"] == f"{OLD_ABI:#010x}"
        else:
            assert (active["bitstream"]["sha256"], active["blob"]["sha256"]) == (
                sha(images.bitstream),
                sha(images.blob),
            )
        resumed = None
        if before["active_slot"] == "A" and resume:
            resumed = flash(b, bitstream=images.bitstream, blob=images.blob)
            assert resumed["slot"] == "B" and info(b)["active_slot"] == "B"
    path.unlink()
    return {"completed": completed, "active_after_cut": before["active_slot"], "resumed": resumed}


def _points(images) -> list[int]:
    w = write_ops(images.bitstream, images.blob)
    spread = sorted({1, 2, w} | {round(1 + i * (w - 1) / 9) for i in range(10)})
    return spread + [w + i for i in range(1, COMMIT_OPS + 2)]


def _check(k: int, w: int, r: dict) -> None:
    if k <= w + COMMIT_OPS:
        # every op up to the commit's crc program leaves the old record current
        assert not r["completed"] and r["active_after_cut"] == "A", (k, r)
        if r["resumed"] and k > 2 + SECTOR // PAGE:  # sector 0 was written and verified before the cut
            assert r["resumed"]["sectors_skipped"] >= 1, (k, r["resumed"])
    else:
        assert r["completed"] and r["active_after_cut"] == "B", (k, r)


def test_power_cut_representative_points(images, base_flash, tmp_path):
    w = write_ops(images.bitstream, images.blob)
    points = _points(images)
    assert len(points) >= 13
    for k in points:
        _check(k, w, cut_at(k, images, base_flash, tmp_path))


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_power_cut_every_operation(images, base_flash, tmp_path):
    """Every k (about 2,180 cuts, ~10 minutes); the resume after the cut is checked at every
    16th k and at the commit ops, which halves the time and still covers every sector."""
    w = write_ops(images.bitstream, images.blob)
    for k in range(1, w + COMMIT_OPS + 2):
        _check(k, w, cut_at(k, images, base_flash, tmp_path, resume=k % 16 == 0 or k > w))
