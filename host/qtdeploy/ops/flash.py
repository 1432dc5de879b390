"""``flash(board, ...)``: bitstream + blob into the inactive slot, verified, committed, configured.

Order of work and why:

1. **Checks** (:mod:`qtdeploy.ops.images`) before anything is erased.
2. **Resume**: one FLASH_HASH per sector, compared with the local SHA-256. Sectors that already
   hold the right bytes (an interrupted flash, or the same image again) are not rewritten: a hash
   costs ~80 bytes on the wire, a sector 64 KiB.
3. **Erase + write, pipelined**: the erase of sector i+1 is sent before the writes of sector i,
   so it is answered before sector i+1's writes leave (:func:`write_sectors` says why that
   holds even with retransmissions, which execute after later requests: link.md §5). Writes are page-aligned chunks as large as the negotiated
   payload allows, and up to ``window`` frames are in flight, so the wire sets the speed.
4. **Verify** each image's SHA-256 on the board; sectors that differ are rewritten once.
5. **SLOT_COMMIT** with SELECT (the board re-hashes), then **FPGA_CONFIGURE** from the new slot.

The active slot is never written: until step 5 succeeds the board keeps booting the old image.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from qtdeploy._protocol import LINK_NO_SLOT, Codec, Command, FpgaState, Status
from qtdeploy.errors import DeviceError
from qtdeploy.link import Request
from qtdeploy.link import payloads as P
from qtdeploy.ops.images import Sector, Source, choose_slot, prepare, sectors
from qtdeploy.ops.session import Board

log = logging.getLogger("qtdeploy.ops")
Progress = Callable[[int, int], None]
_WRITE_HEADER = 12  # FlashWriteRequest before its data (link.md 7.7)
# No blob: length 0, and the board re-hashes those 0 bytes, so the hash is SHA-256 of nothing.
_EMPTY_SHA256 = hashlib.sha256(b"").digest()


def _write_requests(sector: Sector, chunk: int) -> Iterator[Request]:
    for start in range(0, len(sector.data), chunk):
        data = sector.data[start : start + chunk]
        payload = P.FlashWriteRequest.build(dict(offset=sector.offset + start, raw_length=len(data),
                                                 codec=int(Codec.NONE), data=data))
        yield Request(Command.FLASH_WRITE, payload)


def _erase(board: Board, sector: Sector) -> Request:
    return Request(Command.FLASH_ERASE, P.FlashErase.build(dict(offset=sector.offset, length=board.caps.flash.sector_size)))


def _hash_request(offset: int, length: int) -> Request:
    return Request(Command.FLASH_HASH, P.FlashHash.build(dict(offset=offset, length=length)))


def stale_sectors(board: Board, plan: list[Sector]) -> list[Sector]:
    """The sectors whose bytes on the board differ from the image (FLASH_HASH per sector)."""
    answers = board.link.request_many(_hash_request(s.offset, len(s.data)) for s in plan)
    return [s for s, answer in zip(plan, answers) if answer != s.sha256]


def write_sectors(board: Board, todo: list[Sector], *, on_bytes: Callable[[int], None] = lambda n: None) -> None:
    """Erase and write ``todo`` (sector-disjoint), pipelined across sector boundaries.

    The stream is erase(s0) | erase(s1) writes(s0) erase(s2) writes(s1) ... : the erase of the
    next sector rides ahead of the current sector's writes. ``request_many`` only sends a new
    request when fewer than ``window`` are unanswered, in order, and raises on the first non-OK
    answer; so when erase(s[i+1]) is at least ``window`` requests ahead of writes(s[i+1]), it
    has been answered OK before the first of those writes leaves. Where a sector has fewer
    writes than that (a short last sector), the stream is cut there and the link drains.
    """
    geo = board.caps.flash
    chunk = max(geo.page_size, (board.link.max_payload - _WRITE_HEADER) // geo.page_size * geo.page_size)
    if not todo:
        return
    batches: list[list[Request]] = [[_erase(board, todo[0])], []]  # sector 0's writes wait for it
    for i, sector in enumerate(todo):
        writes = list(_write_requests(sector, chunk))
        if i + 1 < len(todo):
            batches[-1].append(_erase(board, todo[i + 1]))
        batches[-1].extend(writes)
        if len(writes) < board.link.window:
            batches.append([])  # too few requests between this erase and its sector's writes
    for batch in batches:
        for request, _answer in zip(batch, board.link.request_many(batch)):
            if request.command == Command.FLASH_WRITE:
                on_bytes(len(request.payload) - _WRITE_HEADER)


def flash(
    board: Board,
    *,
    bitstream: Source,
    blob: Source | None = None,
    slot: str | None = None,
    progress: Progress | None = None,
    resume: bool = True,
    configure: bool = True,
) -> dict[str, Any]:
    """Write, verify, commit (and select) and configure; returns what was done and how fast.

    Raises CompatibilityError/FormatError before erasing anything, LinkError/DeviceError when the
    link or the board fails (the previously active image stays active), and DeviceError with
    status VERIFY_FAILED when the flash does not hold the image after one rewrite.
    """
    board.refresh()  # the active slot may have changed since the session began
    target = choose_slot(board, slot)
    images, facts = prepare(board, bitstream=bitstream, blob=blob, slot=target)
    geo = board.caps.flash
    plan = sectors(images, geo.sector_size)
    total = sum(len(s.data) for s in plan)
    report = progress or (lambda done, total_: None)
    t0 = time.monotonic()
    todo = stale_sectors(board, plan) if resume else plan
    t_hash = time.monotonic()
    skipped = total - sum(len(s.data) for s in todo)
    done = skipped
    report(done, total)

    def on_bytes(n: int) -> None:
        nonlocal done
        done += n
        report(done, total)

    write_sectors(board, todo, on_bytes=on_bytes)
    t_write = time.monotonic()
    rewritten = _verify(board, images, plan)
    t_verify = time.monotonic()
    commit = P.parse_exact(P.SlotCommitResponse, board.link.request(Command.SLOT_COMMIT, P.SlotCommit.build(dict(
        slot=int(target), flags=P.SLOT_COMMIT_SELECT,
        bitstream_length=len(images[0].data), bitstream_sha256=images[0].sha256,
        blob_length=len(images[1].data) if len(images) > 1 else 0,
        blob_sha256=images[1].sha256 if len(images) > 1 else _EMPTY_SHA256,
    ))), "SLOT_COMMIT")
    t_commit = time.monotonic()
    fpga = None
    if configure:
        fpga = P.parse_exact(P.FpgaStatus, board.link.request(Command.FPGA_CONFIGURE, P.FpgaConfigure.build(
            dict(slot=LINK_NO_SLOT))), "FPGA_CONFIGURE")
        if facts["abi"] is not None and fpga.abi != int(facts["abi"], 16):
            raise DeviceError(
                f"Slot {target.name} is committed and active, but the FPGA reports ABI {fpga.abi:#010x} after "
                f"configuration, not the bitstream's {facts['abi']}.",
                "Run `qtdeploy info`; reflash, and report the firmware version if it repeats.",
                status=int(Status.ABI_MISMATCH),
            )
    t_end = time.monotonic()
    written = total - skipped
    write_s = t_write - t_hash
    rate = written / write_s if write_s > 0 and written else 0.0
    wire = board.link.baud / 10
    return {
        "slot": target.name,
        "active_slot": "none" if commit.active_slot == LINK_NO_SLOT else ("A", "B")[commit.active_slot],
        "slot_seq": commit.slot_seq,
        "images": [{"kind": im.kind, "source": im.source, "offset": im.offset, "length": len(im.data),
                    "sha256": im.sha256.hex()} for im in images],
        **facts,
        "bytes_total": total,
        "bytes_written": written,
        "bytes_skipped": skipped,
        "sectors_written": len(todo),
        "sectors_skipped": len(plan) - len(todo),
        "sectors_rewritten_after_verify": rewritten,
        "fpga": None if fpga is None else {
            "state": _state_name(fpga.state),
            "idcode": f"{fpga.idcode:#010x}", "abi": f"{fpga.abi:#010x}"},
        "simulated": board.virtual,
        "baud": board.link.baud,
        "seconds": {"check": round(t_hash - t0, 3), "write": round(write_s, 3), "verify": round(t_verify - t_write, 3),
                    "commit": round(t_commit - t_verify, 3), "configure": round(t_end - t_commit, 3),
                    "total": round(t_end - t0, 3)},
        "write_bytes_per_s": round(rate),
        "wire_bytes_per_s": round(wire),
        "wire_ratio": round(rate / wire, 4) if wire else None,
        "link_counters": dict(board.link.counters),
    }


def _state_name(state: int) -> str:
    try:
        return FpgaState(state).name
    except ValueError:
        return f"0x{state:02x}"


def _verify(board: Board, images: list, plan: list[Sector]) -> int:
    """Whole-image FLASH_HASH; on a mismatch rewrite the differing sectors once. Returns how many."""
    answers = list(board.link.request_many(_hash_request(im.offset, len(im.data)) for im in images))
    if all(a == im.sha256 for a, im in zip(answers, images)):
        return 0
    bad = stale_sectors(board, plan)
    log.warning("verify: %d sectors differ after writing; rewriting them once", len(bad))
    write_sectors(board, bad)
    still = stale_sectors(board, bad)
    if still:
        raise DeviceError(
            f"Verification failed: {len(still)} sector(s) (first at {still[0].offset:#x}) do not hold the image after a rewrite.",
            "Run the flash again; the previous image stays active. If it repeats, the flash part may be worn.",
            status=int(Status.VERIFY_FAILED),
        )
    return len(bad)
