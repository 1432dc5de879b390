"""Board operations without a board: HELLO -> capabilities, slot choice, sector plans, and the
write pipeline's request stream (what the wire carries, in what order)."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import pytest

from qtdeploy._protocol import Codec, Command, FpgaState, Slot
from qtdeploy.errors import CompatibilityError
from qtdeploy.link import payloads as P
from qtdeploy.ops import choose_slot, sectors, write_sectors
from qtdeploy.ops.images import Image
from qtdeploy.ops.session import capabilities_from_hello

LAYOUT = dict(
    flash_size=16 << 20,
    sector_size=65536,
    page_size=256,
    jedec_id=0x012018,
    meta_offset=0x400000,
    meta_size=0x80000,
    log_offset=0x480000,
    log_size=0xB80000,
    slots=[
        dict(bitstream_offset=0, bitstream_size=1 << 20, blob_offset=1 << 20, blob_size=1 << 20),
        dict(bitstream_offset=2 << 20, bitstream_size=1 << 20, blob_offset=3 << 20, blob_size=1 << 20),
    ],
)


def hello(active: int = 0xFF) -> bytes:
    return P.HelloResponse.build(
        dict(
            protocol_version=1,
            fw_major=0,
            fw_minor=1,
            fw_patch=2,
            board_id="virtual",
            max_payload=4096,
            window=8,
            fpga_state=1,
            bit_widths=0b1_0101_0000,
            engines=0,
            codecs=1,
            accel_abi=0x1234,
            active_slot=active,
            layout=LAYOUT,
        )
    )


def test_capabilities_from_hello():
    caps = capabilities_from_hello(P.HelloResponse.parse(hello(1)))
    assert caps.firmware == "0.1.2" and caps.virtual and caps.active_slot == Slot.B
    assert caps.fpga_state == FpgaState.CONFIGURED and caps.codecs == (Codec.NONE,)
    assert caps.bit_widths == (4, 6, 8)
    assert caps.flash.slots[1].blob_offset == 3 << 20 and caps.flash.sector_size == 65536
    assert capabilities_from_hello(P.HelloResponse.parse(hello())).active_slot is None


def _board(active):
    return SimpleNamespace(caps=SimpleNamespace(active_slot=active))


@pytest.mark.parametrize(
    ("active", "asked", "chosen"),
    [
        (None, None, Slot.A),
        (Slot.A, None, Slot.B),
        (Slot.B, None, Slot.A),
        (Slot.A, "b", Slot.B),
        (None, "b", Slot.B),
    ],
)
def test_choose_slot_defaults_to_the_inactive_one(active, asked, chosen):
    assert choose_slot(_board(active), asked) == chosen


def test_choose_slot_refuses_the_active_slot():
    with pytest.raises(CompatibilityError, match="active image") as err:
        choose_slot(_board(Slot.B), "b")
    assert "--slot a" in err.value.fix


def test_sectors_split_at_sector_boundaries():
    image = Image("bitstream", "x", bytes(range(256)) * 600, 0x200000, 1 << 20)  # 153,600 bytes
    plan = sectors([image], 65536)
    assert [s.offset for s in plan] == [0x200000, 0x210000, 0x220000]
    assert [len(s.data) for s in plan] == [65536, 65536, 22528]
    assert b"".join(s.data for s in plan) == image.data


class RecordingLink:
    """Answers every request OK and records the batches request_many was given."""

    def __init__(self, window=8, max_payload=4096):
        self.window, self.max_payload, self.batches = window, max_payload, []

    def request_many(self, requests):
        batch = list(requests)
        self.batches.append(batch)
        for _ in batch:
            yield b""


def test_write_pipeline_erases_ahead_and_writes_page_aligned_chunks():
    link = RecordingLink()
    board = SimpleNamespace(
        link=link, caps=SimpleNamespace(flash=SimpleNamespace(sector_size=65536, page_size=256))
    )
    image = Image("bitstream", "x", bytes(3 * 65536 - 1000), 0, 1 << 20)
    done = []
    write_sectors(board, sectors([image], 65536), on_bytes=done.append)
    where = [(b, i, r) for b, batch in enumerate(link.batches) for i, r in enumerate(batch)]
    stream = [r for _, _, r in where]
    writes = [struct.unpack_from("<II", r.payload) for r in stream if r.command == Command.FLASH_WRITE]
    assert sum(r.command == Command.FLASH_ERASE for r in stream) == 3 and sum(done) == len(image.data)
    assert all(off % 256 == 0 and n <= 4096 - 12 for off, n in writes)
    for sector in range(3):
        be, pe = next(
            (b, i)
            for b, i, r in where
            if r.command == Command.FLASH_ERASE and struct.unpack_from("<I", r.payload)[0] == sector * 65536
        )
        bw, pw = next(
            (b, i)
            for b, i, r in where
            if r.command == Command.FLASH_WRITE and struct.unpack_from("<I", r.payload)[0] // 65536 == sector
        )
        # answered before the sector's first write leaves: an earlier batch (the link drains
        # between batches), or >= window requests earlier in the same one
        assert bw > be or pw - pe >= link.window, (sector, be, pe, bw, pw)
    assert link.batches[0] == [stream[0]]  # the first erase stands alone: its writes wait for it


@pytest.mark.parametrize("window, compress", [(16, "none"), (16, "heatshrink"), (4, "heatshrink")])
def test_write_stream_skips_blank_sectors_and_keeps_each_erase_a_window_ahead(window, compress):
    """Blank sectors get no FLASH_ERASE; every other sector's erase is answered before its first
    write leaves (an earlier batch, or >= window requests earlier), also when compressed frames
    make a sector only a few requests long."""
    link = RecordingLink(window=window)
    board = SimpleNamespace(
        link=link, caps=SimpleNamespace(flash=SimpleNamespace(sector_size=65536, page_size=256))
    )
    image = Image("bitstream", "x", bytes(6 * 65536 - 5000), 0, 1 << 20)
    plan = sectors([image], 65536)
    blank = {plan[1].offset, plan[4].offset}
    done = []
    write_sectors(board, plan, on_bytes=done.append, compress=compress, blank=blank)
    where = [(b, i, r) for b, batch in enumerate(link.batches) for i, r in enumerate(batch)]
    erased = [struct.unpack_from("<I", r.payload)[0] for _, _, r in where if r.command == Command.FLASH_ERASE]
    assert sorted(erased) == [s.offset for s in plan if s.offset not in blank] and sum(done) == len(
        image.data
    )
    for sector in plan:
        bw, pw = next(
            (b, i)
            for b, i, r in where
            if r.command == Command.FLASH_WRITE
            and struct.unpack_from("<I", r.payload)[0] // 65536 == sector.offset // 65536
        )
        if sector.offset in blank:
            continue
        be, pe = next(
            (b, i)
            for b, i, r in where
            if r.command == Command.FLASH_ERASE and struct.unpack_from("<I", r.payload)[0] == sector.offset
        )
        assert bw > be or pw - pe >= window, (sector.offset, be, pe, bw, pw)
    assert len(link.batches) <= 2  # one head of erases, then a single stream: no drains between sectors
