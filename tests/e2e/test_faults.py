"""A bad cable between host and virtual board: corrupted and dropped bytes, stalls, a pulled
cable. Every flash ends verified-correct, or with a clear error and the previous image active.
Each runs raw (``compress="none"``: the byte counts below are sized for it) and, where the
fault rates are scaled to the ~4x fewer wire bytes, with heatshrink-compressed writes too."""

from __future__ import annotations

import hashlib
import re

import pytest

from qtdeploy.errors import LinkError
from qtdeploy.ops import flash, info
from support.faults import Faults, FaultyTransport
from support.vboard import OLD_ABI, session


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def assert_old_image_active(vb, images) -> None:
    """On a clean link: slot A still holds the old image, verified, and boots."""
    with session(vb) as b:
        i = info(b)
    assert i["active_slot"] == "A" and i["slots"][0]["state"] == "COMMITTED"
    assert i["slots"][0]["bitstream"]["sha256"] == sha(images.old_bitstream)
    assert i["fpga"]["slot"] == "A" and i["fpga"]["abi"] == f"{OLD_ABI:#010x}"


def assert_new_image_active(vb, images) -> None:
    with session(vb) as b:
        i = info(b)
    assert i["active_slot"] == "B" and i["slots"][1]["state"] == "COMMITTED"
    assert i["slots"][1]["bitstream"]["sha256"] == sha(images.bitstream)
    assert i["slots"][1]["blob"]["sha256"] == sha(images.blob)


def faulty(faults: Faults):
    return lambda inner: FaultyTransport(inner, faults)


@pytest.mark.parametrize(
    "seed, compress, scale", [(1, "none", 1), (2, "none", 1), (1, "heatshrink", 3), (2, "auto", 3)]
)
def test_noisy_line_still_flashes_verified(images, old_board, seed, compress, scale):
    """Rates that hit ~1 in 20 full-size frames in each direction (per byte: 1e-5 corrupt,
    5e-6 drop; x3 with compression, which puts ~4x fewer bytes on the wire in frames as large:
    x5 made one transmission in four fail, and a frame lost four times running in ~1 run of 6). The link retries;
    the board answers retried writes from its cache."""
    _, vb = old_board
    faults = Faults(corrupt=1e-5 * scale, drop=5e-6 * scale, seed=seed)
    with session(vb, faulty(faults), timeout=0.2) as b:
        r = flash(b, bitstream=images.bitstream, blob=images.blob, compress=compress)
        assert (r["compression"]["compressed_frames"] > 0) == (compress != "none")
        proxy = b.link.transport
    assert proxy.injected >= 3, proxy.counts
    assert r["link_counters"].get("retries", 0) >= 1
    assert r["fpga"]["state"] == "CONFIGURED"
    assert_new_image_active(vb, images)


def test_corrupted_answers_are_retried_and_answered_from_the_board_cache(images, old_board):
    """0.2 % of the board's answer bytes corrupted (~1 answer in 20): the host retransmits with
    RETRY and the board answers the already-executed writes from its cache, not twice."""
    _, vb = old_board
    faults = Faults(corrupt=0.002, seed=2, directions="rx")
    with session(vb, faulty(faults), timeout=0.2) as b:
        r = flash(b, bitstream=images.bitstream, blob=images.blob, compress="none")
        proxy = b.link.transport
    assert proxy.counts["corrupted_rx"] >= 5 and proxy.counts["corrupted_tx"] == 0
    assert r["link_counters"].get("retries", 0) >= 5
    assert_new_image_active(vb, images)


def test_one_percent_corrupt_half_percent_dropped_bytes_fails_clearly(images, old_board):
    """1 % corrupted and 0.5 % dropped *bytes*: a 3.9 KB write frame arrives intact with
    probability 0.985^3900 ~ 1e-26, so no flash can succeed. It must end in a LinkError that
    names the command and the counters, with the old image still active."""
    _, vb = old_board
    faults = Faults(corrupt=0.01, drop=0.005, seed=3)
    with session(vb, faulty(faults), timeout=0.2) as b:
        with pytest.raises(LinkError) as err:
            flash(b, bitstream=images.bitstream, blob=images.blob)
    # names the command that gave up (the HELLO or a FLASH_*: which one depends on the seed)
    assert (
        re.search(r"No answer to [A-Z_]+ \(seq \d+\)", err.value.problem)
        and "link counters" in err.value.problem
    )
    assert "baud" in err.value.fix
    assert_old_image_active(vb, images)


def test_stalls_delay_but_do_not_break_the_flash(images, old_board):
    """The line goes quiet for 0.6 s after every 1000 bytes of answers (longer than the 0.2 s
    timeout): timeouts, retransmissions and late duplicate answers, then a verified image."""
    _, vb = old_board
    faults = Faults(stall_every=1000, stall_s=0.6)
    with session(vb, faulty(faults), timeout=0.2) as b:
        r = flash(b, bitstream=images.bitstream, blob=images.blob, compress="none")
        proxy = b.link.transport
    assert proxy.counts["stalls"] >= 2
    assert r["link_counters"].get("timeouts", 0) >= 1
    assert_new_image_active(vb, images)


@pytest.mark.parametrize("compress, cut", [("none", 300_000), ("auto", 60_000)])
def test_disconnect_mid_transfer_then_resume(images, old_board, compress, cut):
    """The cable is pulled after 300 KB (60 KB compressed): a clear LinkError, the old image
    still boots, and the next flash skips the sectors that were already written and verified."""
    _, vb = old_board
    with session(vb, faulty(Faults(disconnect_after=cut)), timeout=0.2) as b:
        with pytest.raises(LinkError, match="cable was pulled|serial port"):
            flash(b, bitstream=images.bitstream, blob=images.blob, compress=compress)
    assert_old_image_active(vb, images)
    with session(vb) as b:
        r = flash(b, bitstream=images.bitstream, blob=images.blob, compress=compress)
    assert r["slot"] == "B" and r["sectors_skipped"] >= 3 and r["sectors_written"] <= 7
    assert r["bytes_written"] < (300_000 if compress == "none" else 400_000)
    assert_new_image_active(vb, images)
