"""``flash_via(url, ...)``: bitstream + blob straight into the SPI flash, then the slot record.

The same image layout and metadata the UART path produces (the firmware boots it unchanged),
written by the host while the MCU is held in reset. Order of work and why:

1. **Checks before any erase**: the JEDEC ID against the board file (a wrong part or no answer
   stops here), the part not busy, the images through :func:`qtdeploy.ops.images.prepare`
   (part, IDCODE, ABI, sizes), the target slot never the active one, and no region we write
   under block protection (BP bits; SRWD named in the message).
2. **Un-commit first**: if the target slot is COMMITTED in the current record, a record with it
   EMPTY is written first, so a cut while its bytes are half-written never leaves a record that
   calls them valid (the firmware's boot re-hash would catch it too; this does not rely on it).
3. **Images**, sector by sector: read first; a sector that already holds the bytes is skipped,
   one that reads as erased is not erased; then page programs.
4. **Verify**: each image read back whole, its SHA-256 compared.
5. **Commit**: the new record (seq + 1, slot COMMITTED with lengths, hashes, IDCODE, USR_ACCESS,
   active = target) into the copy that does not hold the current record, in protocol/slots.md's
   three steps (erase its first sector, program bytes 0..191, program the CRC), then read back.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

from qtdeploy._protocol import Slot, Status
from qtdeploy.boards import Board as BoardFile
from qtdeploy.errors import CompatibilityError, DeviceError
from qtdeploy.formats import bitstream as bit_fmt
from qtdeploy.formats import slots as rec
from qtdeploy.ftdi.adapter import open_adapter
from qtdeploy.ftdi.nor import SpiNor
from qtdeploy.ops.images import Image, Source, choose_slot, prepare
from qtdeploy.ops.session import SlotRegions

Progress = Callable[[int, int], None]


class WrongJedecError(CompatibilityError):
    """The flash's RDID answer is not the board file's part (or nothing answers)."""


class FlashProtectedError(DeviceError):
    """Block protection covers a region this flash must write."""


@dataclass
class _FlashView:
    """What :mod:`qtdeploy.ops.images` asks of a board, read from the flash instead of HELLO."""

    board_file: BoardFile
    active_slot: Slot | None
    caps: Any = field(init=False)

    def __post_init__(self) -> None:
        self.caps = SimpleNamespace(active_slot=self.active_slot)

    def slot_regions(self, slot: Slot) -> SlotRegions:
        s = self.board_file.layout.slots[slot.name]
        return SlotRegions(slot, s.bitstream.offset, s.bitstream.size, s.blob.offset, s.blob.size)


def check_part(nor: SpiNor, board: BoardFile) -> bytes:
    got, want = nor.read_id(), bytes(board.flash.jedec_id)
    if got != want:
        nothing = got in (b"\xff\xff\xff", b"\x00\x00\x00")
        raise WrongJedecError(
            f"The flash answers JEDEC ID {got.hex(' ')}, but {board.id}'s board file says {board.flash.part} "
            f"({want.hex(' ')})" + ("; nothing drives MISO: no flash answers." if nothing else "."),
            "Check the adapter's wiring (SCK ADBUS0, MOSI ADBUS1, MISO ADBUS2, CS# ADBUS3), that the board is powered "
            "and held (MCU RUN, FPGA PROG_B)"
            if nothing
            else "Pass the --board whose [flash] is this part, or check that the adapter is on the right board.",
        )
    return got


def check_writable(nor: SpiNor, board: BoardFile, sr: int, spans: list[tuple[int, int]]) -> None:
    start = nor.protected_from(sr)
    hit = [(a, n) for a, n in spans if a + n > start]
    if hit:
        bits = nor.bits
        srwd = (
            " SRWD is set too: with WP# low the status register cannot be changed."
            if sr & bits.write_protect
            else ""
        )
        raise FlashProtectedError(
            f"The flash is write-protected from {start:#x} (status {sr:#04x}: BP bits {(sr & bits.block_protect) >> 2:#x}); "
            f"this flash must write {hit[0][1]:,} bytes at {hit[0][0]:#x}.{srwd}",
            "Clear the BP bits (WRITE STATUS 0x00 after WRITE ENABLE, e.g. with flashrom or the board's firmware) "
            "and retry; nothing was written.",
        )


def _read_record(nor: SpiNor, board: BoardFile) -> rec.Record | None:
    return rec.current([nor.read(m.offset, rec.RECORD_SIZE) for m in board.layout.meta])


def write_record(nor: SpiNor, board: BoardFile, record: rec.Record, current: rec.Record | None) -> rec.Record:
    """protocol/slots.md's three steps into the copy not holding ``current``; read back."""
    copy = rec.next_copy(current)
    at = board.layout.meta[copy].offset
    data = rec.encode(record)
    nor.erase_sector(at)
    nor.program(at, data[: rec.BODY_SIZE])
    nor.program(at + rec.BODY_SIZE, data[rec.BODY_SIZE :])
    back = rec.decode(nor.read(at, rec.RECORD_SIZE), copy)
    if back is None or back.seq != record.seq:
        raise DeviceError(
            f"The slot record written to meta_{copy} does not read back.",
            "Retry; the previous record is intact.",
            status=int(Status.VERIFY_FAILED),
        )
    return back


def _write_images(
    nor: SpiNor, images: list[Image], sector: int, report: Callable[[int], None]
) -> dict[str, int]:
    counts = {"sectors_written": 0, "sectors_skipped": 0, "sectors_erased": 0}
    done = 0
    for image in images:
        for start in range(0, len(image.data), sector):
            chunk = image.data[start : start + sector]
            at = image.offset + start
            have = nor.read(at, len(chunk))
            if have != chunk:
                if have != b"\xff" * len(chunk):
                    nor.erase_sector(at)
                    counts["sectors_erased"] += 1
                nor.program(at, chunk)
                counts["sectors_written"] += 1
            else:
                counts["sectors_skipped"] += 1
            done += len(chunk)
            report(done)
    return counts


def flash_via(
    url: str,
    *,
    board: BoardFile,
    bitstream: Source,
    blob: Source | None = None,
    slot: str | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Write, verify and commit (active) through an FTDI adapter; returns what was done and how fast."""
    with open_adapter(url, board) as adapter:
        nor = adapter.nor
        now = nor.clock.now
        t0 = now()
        sr = nor.status()  # the one command a busy part answers: RDID waits for it
        if sr & nor.bits.busy and sr != 0xFF:  # 0xFF: nothing drives MISO, which RDID will say
            sr = nor.wait_idle(
                board.flash.sector_erase.max_us, "an operation that was running when we started"
            )
        jedec = check_part(nor, board)
        current = _read_record(nor, board)
        active = None if current is None or current.active == rec.NO_SLOT else Slot(current.active)
        view = _FlashView(board, active)
        # _FlashView answers what choose_slot and prepare ask of a Board (slot regions, caps)
        target = choose_slot(view, slot)  # type: ignore[arg-type]
        images, facts = prepare(view, bitstream=bitstream, blob=blob, slot=target)  # type: ignore[arg-type]
        meta = board.layout.meta[rec.next_copy(current)]
        spans = [(im.offset, len(im.data)) for im in images] + [(meta.offset, board.flash.sector_size)]
        check_writable(nor, board, sr, spans)
        total = sum(len(im.data) for im in images)
        report = progress or (lambda done, total_: None)
        report(0, total)
        t_check = now()
        index = int(target)
        if current is not None and current.slots[index].committed:
            current = write_record(
                nor,
                board,
                rec.Record(current.seq + 1, current.active, current.slots).with_slot(index, rec.Entry()),
                current,
            )
        counts = _write_images(nor, images, board.flash.sector_size, lambda done: report(done, total))
        t_write = now()
        for im in images:
            got = hashlib.sha256(nor.read(im.offset, len(im.data))).digest()
            if got != im.sha256:
                raise DeviceError(
                    f"Verification failed: the {im.kind} at {im.offset:#x} reads back with SHA-256 {got.hex()[:16]}..., "
                    f"not {im.sha256.hex()[:16]}...; the slot was not committed.",
                    "Run the flash again (lower the SPI clock in the board file's [ftdi] if it repeats).",
                    status=int(Status.VERIFY_FAILED),
                )
        t_verify = now()
        bit = bit_fmt.describe(images[0].data, images[0].source)
        blob_im = images[1] if len(images) > 1 else None
        seq = current.seq + 1 if current else 1
        entry = rec.Entry(
            rec.STATE_COMMITTED,
            seq,
            len(images[0].data),
            images[0].sha256,
            len(blob_im.data) if blob_im else 0,
            blob_im.sha256 if blob_im else hashlib.sha256(b"").digest(),
            bit["idcode_value"],
            bit["abi_value"] or 0,
        )
        base = current or rec.Record()
        written = write_record(
            nor, board, rec.Record(seq, index, base.slots).with_slot(index, entry), current
        )
        t_end = now()
        verify_bytes = total
    write_s, verify_s = t_write - t_check, t_verify - t_write
    limit = adapter.spi_hz / 8
    return {
        "via": url,
        "simulated": adapter.virtual is not None,
        "jedec_id": jedec.hex(" "),
        "slot": target.name,
        "active_slot": target.name,
        "slot_seq": written.seq,
        "meta_copy": written.copy,
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
        **counts,
        "spi_hz": adapter.spi_hz,
        "status_polls": nor.polls,
        "seconds": {
            "check": round(t_check - t0, 4),
            "write": round(write_s, 4),
            "verify": round(verify_s, 4),
            "commit": round(t_end - t_verify, 4),
            "total": round(t_end - t0, 4),
        },
        "write_bytes_per_s": round(total / write_s) if write_s > 0 else None,
        "read_bytes_per_s": round(verify_bytes / verify_s) if verify_s > 0 else None,
        "spi_limit_bytes_per_s": round(limit),
        "write_ratio": round(total / write_s / limit, 4) if write_s > 0 else None,
        "read_ratio": round(verify_bytes / verify_s / limit, 4) if verify_s > 0 else None,
        "mcu_held": [p.name for p in board.ftdi.hold] if board.ftdi else [],
    }
