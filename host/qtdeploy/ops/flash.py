"""``flash(board, ...)``: bitstream + blob into the inactive slot, verified, committed, configured.

Order of work and why:

1. **Checks** (:mod:`qtdeploy.ops.images`) before anything is erased.
2. **Resume**: one FLASH_HASH per sector, compared with the local SHA-256. Sectors that already
   hold the right bytes (an interrupted flash, or the same image again) are not rewritten: a hash
   costs ~80 bytes on the wire, a sector 64 KiB. The same hashes show which sectors already
   read as erased (a fresh flash): those are written without FLASH_ERASE.
3. **Erase + write, one pipelined stream**: each erase rides ``window`` writes ahead of its
   sector's first write, so it is answered before those writes leave (:func:`write_sectors` says
   why that holds even with retransmissions, which execute after later requests: link.md §5),
   while the board's receive ring keeps the wire busy during the erase. Writes are page-aligned
   chunks as large as the negotiated payload allows, and up to ``window`` frames are in flight,
   so the wire sets the speed.
   Each frame is heatshrink-compressed where that saves bytes (:mod:`qtdeploy.ops.compress`:
   which codec and why); one self-contained stream per frame keeps retries idempotent.
4. **Verify** each image's SHA-256 on the board; sectors that differ are rewritten once.
5. **SLOT_COMMIT** with SELECT (the board re-hashes), then **FPGA_CONFIGURE** from the new slot.

The active slot is never written: until step 5 succeeds the board keeps booting the old image.
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import logging
import time
from collections import deque
from collections.abc import Callable, Collection, Iterator
from typing import Any

from qtdeploy._protocol import LINK_NO_SLOT, Codec, Command, FpgaState, Status
from qtdeploy.errors import DeviceError
from qtdeploy.link import Request
from qtdeploy.link import payloads as P
from qtdeploy.ops.compress import WriteStats, raw_length, resolve_mode, write_requests
from qtdeploy.ops.images import Sector, Source, choose_slot, prepare, sectors
from qtdeploy.ops.session import Board

log = logging.getLogger("qtdeploy.ops")
Progress = Callable[[int, int], None]
# No blob: length 0, and the board re-hashes those 0 bytes, so the hash is SHA-256 of nothing.
_EMPTY_SHA256 = hashlib.sha256(b"").digest()


def _write_requests(
    board: Board, sector: Sector, compress: str, stats: WriteStats | None
) -> Iterator[Request]:
    return write_requests(
        sector.offset,
        sector.data,
        max_payload=_frame_size(board),
        page=board.caps.flash.page_size,
        mode=compress,
        stats=stats,
    )


def _frame_size(board: Board) -> int:
    """The payload size for new FLASH_WRITEs: smaller on a noisy line (link FrameFit)."""
    fit = getattr(board.link, "fit", None)
    return fit.size if fit is not None else board.link.max_payload


def _erase(board: Board, sector: Sector) -> Request:
    return Request(
        Command.FLASH_ERASE,
        P.FlashErase.build(dict(offset=sector.offset, length=board.caps.flash.sector_size)),
    )


def _hash_request(offset: int, length: int) -> Request:
    return Request(Command.FLASH_HASH, P.FlashHash.build(dict(offset=offset, length=length)))


def sector_hashes(board: Board, plan: list[Sector]) -> list[bytes]:
    """FLASH_HASH of each sector's span on the board (~80 wire bytes per sector)."""
    return list(board.link.request_many(_hash_request(s.offset, len(s.data)) for s in plan))


def stale_sectors(board: Board, plan: list[Sector]) -> list[Sector]:
    """The sectors whose bytes on the board differ from the image (FLASH_HASH per sector)."""
    return [s for s, answer in zip(plan, sector_hashes(board, plan)) if answer != s.sha256]


def blank_sectors(plan: list[Sector], hashes: list[bytes]) -> set[int]:
    """Offsets of the sectors whose span already reads as erased (all 0xFF): NOR programs only
    need their target bytes erased, so these skip FLASH_ERASE (130 ms each on the S25FL128S)."""
    return {s.offset for s, h in zip(plan, hashes) if h == _blank_sha256(len(s.data))}


@functools.lru_cache(maxsize=8)
def _blank_sha256(length: int) -> bytes:
    return hashlib.sha256(b"\xff" * length).digest()


def write_sectors(
    board: Board,
    todo: list[Sector],
    *,
    on_bytes: Callable[[int], None] = lambda n: None,
    compress: str = "none",
    stats: WriteStats | None = None,
    blank: Collection[int] = (),
) -> None:
    """Erase (unless listed in ``blank``) and write ``todo`` (sector-disjoint) as one pipelined stream.

    ``request_many`` only sends a new request when fewer than ``window`` are unanswered, in
    order, and raises on the first non-OK answer; so a sector's erase placed at least ``window``
    requests before its first write has been answered OK before that write leaves, even when
    the erase was retransmitted (a retransmission executes after later requests: link.md §5).
    Each erase goes exactly ``window`` writes ahead of its sector's first write: while the board
    erases, the writes behind it wait in the board's receive ring and the wire keeps carrying
    data (the ring holds the whole window). Erases whose sector starts within the first
    ``window`` writes are sent first, on their own, and answered before the stream begins.
    Sectors are encoded (compressed) only a window ahead of the wire, so the encoding of the
    image overlaps its transfer instead of delaying the first frame.
    """
    if not todo:
        return
    window = board.link.window
    sources = iter(todo)
    loaded: list[Request] = []  # writes in stream order, encoded so far
    ahead_of: dict[int, list[Request]] = {}  # write index -> erases sent just before it
    head: list[Request] = []

    def load_until(count: int) -> None:
        """Encode sectors until more than ``count`` writes are known (or none are left)."""
        while len(loaded) <= count:
            sector = next(sources, None)
            if sector is None:
                return
            first = len(loaded)
            if sector.offset not in blank:
                erase = _erase(board, sector)
                if first < window:
                    head.append(erase)  # only while loading the first window (see below)
                else:
                    ahead_of.setdefault(first - window, []).append(erase)
            loaded.extend(_write_requests(board, sector, compress, stats))

    def stream() -> Iterator[Request]:
        for i in itertools.count():
            # more than `window` writes past i are known, so a sector loaded now starts
            # beyond i + window and its erase can still go `window` writes ahead of it
            load_until(i + window)
            if i >= len(loaded):
                return
            yield from ahead_of.pop(i, [])
            yield loaded[i]

    load_until(window)  # every sector starting within the first window: erases in the head
    for batch in (iter(head), stream()):
        sent: deque[Request] = deque()
        for _answer in board.link.request_many(_recording(batch, sent)):
            request = sent.popleft()
            if request.command == Command.FLASH_WRITE:
                on_bytes(raw_length(request))


def _recording(requests: Iterator[Request], sent: deque[Request]) -> Iterator[Request]:
    """Pass requests through, remembering them in order (their answers come back in order)."""
    for request in requests:
        sent.append(request)
        yield request


def flash(
    board: Board,
    *,
    bitstream: Source,
    blob: Source | None = None,
    slot: str | None = None,
    progress: Progress | None = None,
    resume: bool = True,
    configure: bool = True,
    compress: str = "auto",
) -> dict[str, Any]:
    """Write, verify, commit (and select) and configure; returns what was done and how fast.

    Raises CompatibilityError/FormatError before erasing anything, LinkError/DeviceError when the
    link or the board fails (the previously active image stays active), and DeviceError with
    status VERIFY_FAILED when the flash does not hold the image after one rewrite.
    ``compress``: ``auto`` (heatshrink where it pays, if the board decodes it), ``none``, or
    ``heatshrink`` (every frame; :mod:`qtdeploy.ops.compress` says which codec and why).
    """
    board.refresh()  # the active slot may have changed since the session began
    mode = resolve_mode(compress, board.caps.codecs)
    stats = WriteStats()
    target = choose_slot(board, slot)
    images, facts = prepare(board, bitstream=bitstream, blob=blob, slot=target)
    geo = board.caps.flash
    plan = sectors(images, geo.sector_size)
    total = sum(len(s.data) for s in plan)
    report = progress or (lambda done, total_: None)
    t0 = time.monotonic()
    hashes = sector_hashes(board, plan)  # resume, and which sectors need no erase
    todo = [s for s, h in zip(plan, hashes) if h != s.sha256] if resume else plan
    t_hash = time.monotonic()
    skipped = total - sum(len(s.data) for s in todo)
    done = skipped
    report(done, total)

    def on_bytes(n: int) -> None:
        nonlocal done
        done += n
        report(done, total)

    blank = blank_sectors(plan, hashes)
    write_sectors(board, todo, on_bytes=on_bytes, compress=mode, stats=stats, blank=blank)
    t_write = time.monotonic()
    rewritten = _verify(board, images, plan, mode)
    t_verify = time.monotonic()
    commit = P.parse_exact(
        P.SlotCommitResponse,
        board.link.request(
            Command.SLOT_COMMIT,
            P.SlotCommit.build(
                dict(
                    slot=int(target),
                    flags=P.SLOT_COMMIT_SELECT,
                    bitstream_length=len(images[0].data),
                    bitstream_sha256=images[0].sha256,
                    blob_length=len(images[1].data) if len(images) > 1 else 0,
                    blob_sha256=images[1].sha256 if len(images) > 1 else _EMPTY_SHA256,
                )
            ),
        ),
        "SLOT_COMMIT",
    )
    t_commit = time.monotonic()
    fpga = None
    if configure:
        if board.before_configure is not None:  # e.g. a virtual board running the RTL builds the design
            board.before_configure(images[0].data)
        fpga = P.parse_exact(
            P.FpgaStatus,
            board.link.request(Command.FPGA_CONFIGURE, P.FpgaConfigure.build(dict(slot=LINK_NO_SLOT))),
            "FPGA_CONFIGURE",
        )
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
        "images": [
            {
                "kind": im.kind,
                "source": im.source,
                "offset": im.offset,
                "length": len(im.data),
                "sha256": im.sha256.hex(),
            }
            for im in images
        ],
        **facts,
        "bytes_total": total,
        "bytes_written": written,
        "bytes_skipped": skipped,
        "sectors_written": len(todo),
        "sectors_skipped": len(plan) - len(todo),
        "sectors_erased": sum(s.offset not in blank for s in todo),  # the others already read as erased
        "sectors_rewritten_after_verify": rewritten,
        "fpga": None
        if fpga is None
        else {"state": _state_name(fpga.state), "idcode": f"{fpga.idcode:#010x}", "abi": f"{fpga.abi:#010x}"},
        "simulated": board.virtual,
        "baud": board.link.baud,
        "seconds": {
            "check": round(t_hash - t0, 3),
            "write": round(write_s, 3),
            "verify": round(t_verify - t_write, 3),
            "commit": round(t_commit - t_verify, 3),
            "configure": round(t_end - t_commit, 3),
            "total": round(t_end - t0, 3),
        },
        "write_bytes_per_s": round(rate),
        "wire_bytes_per_s": round(wire),
        "wire_ratio": round(rate / wire, 4) if wire else None,
        "link_counters": dict(board.link.counters),
        "compression": {
            "mode": mode,
            "codec": Codec.HEATSHRINK.name if stats.compressed_frames else Codec.NONE.name,
            **stats.as_dict(),
        },
    }


def _state_name(state: int) -> str:
    try:
        return FpgaState(state).name
    except ValueError:
        return f"0x{state:02x}"


def _verify(board: Board, images: list, plan: list[Sector], compress: str = "none") -> int:
    """Whole-image FLASH_HASH; on a mismatch rewrite the differing sectors once. Returns how many."""
    answers = list(board.link.request_many(_hash_request(im.offset, len(im.data)) for im in images))
    if all(a == im.sha256 for a, im in zip(answers, images)):
        return 0
    bad = stale_sectors(board, plan)
    log.warning("verify: %d sectors differ after writing; rewriting them once", len(bad))
    write_sectors(board, bad, compress=compress)
    still = stale_sectors(board, bad)
    if still:
        raise DeviceError(
            f"Verification failed: {len(still)} sector(s) (first at {still[0].offset:#x}) do not hold the image after a rewrite.",
            "Run the flash again; the previous image stays active. If it repeats, the flash part may be worn.",
            status=int(Status.VERIFY_FAILED),
        )
    return len(bad)
