"""The slot metadata record (protocol/slots.md) in Python: encode, decode, pick the current copy.

Why the host needs it: a direct SPI flash (``qtdeploy flash --via ftdi://...``) writes the flash
with the MCU held in reset, so no firmware commits the slot; the host writes the same 196-byte
record the firmware's ``qtd_slots_encode`` (firmware/core/slots.c) writes, in the same three-step
order, so the board boots it unchanged. Written with ``construct`` so the layout reads like the
table in the spec; ``tests/ftdi/test_slots_format.py`` checks it against the firmware's bytes.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field, replace

import construct as cs

MAGIC = 0x53445451  # "QTDS" little-endian
FORMAT = 1
RECORD_SIZE = 196
BODY_SIZE = 192  # the CRC covers bytes 0..191
NO_SLOT = 0xFF  # LINK_NO_SLOT: no slot active
STATE_EMPTY, STATE_COMMITTED = 0, 1  # SlotState values the record holds (INVALID is never written)

SlotEntry = cs.Struct(
    "state" / cs.Int8ul,
    cs.Padding(3),
    "slot_seq" / cs.Int32ul,
    "bitstream_length" / cs.Int32ul,
    "bitstream_sha256" / cs.Bytes(32),
    "blob_length" / cs.Int32ul,
    "blob_sha256" / cs.Bytes(32),
    "idcode" / cs.Int32ul,
    "usr_access" / cs.Int32ul,
)

Body = cs.Struct(
    "magic" / cs.Int32ul,
    "format" / cs.Int16ul,
    "record_size" / cs.Int16ul,
    "seq" / cs.Int32ul,
    "active" / cs.Int8ul,
    cs.Padding(3),
    "slots" / cs.Array(2, SlotEntry),
)
assert SlotEntry.sizeof() == 88 and Body.sizeof() == BODY_SIZE


@dataclass(frozen=True)
class Entry:
    """One slot's line in the record (SlotEntry)."""

    state: int = STATE_EMPTY
    slot_seq: int = 0
    bitstream_length: int = 0
    bitstream_sha256: bytes = bytes(32)
    blob_length: int = 0
    blob_sha256: bytes = bytes(32)
    idcode: int = 0
    usr_access: int = 0

    @property
    def committed(self) -> bool:
        return self.state == STATE_COMMITTED


@dataclass(frozen=True)
class Record:
    """The whole slot table; ``copy`` is the meta region it was read from (None: not from flash)."""

    seq: int = 0
    active: int = NO_SLOT
    slots: tuple[Entry, Entry] = field(default_factory=lambda: (Entry(), Entry()))
    copy: int | None = None

    def with_slot(self, index: int, entry: Entry) -> Record:
        slots = list(self.slots)
        slots[index] = entry
        return replace(self, slots=(slots[0], slots[1]))


def encode(record: Record) -> bytes:
    """The 196 bytes the firmware writes for ``record`` (CRC-32 of bytes 0..191 appended)."""
    body = Body.build(
        dict(
            magic=MAGIC,
            format=FORMAT,
            record_size=RECORD_SIZE,
            seq=record.seq,
            active=record.active,
            slots=[
                dict(
                    state=e.state,
                    slot_seq=e.slot_seq,
                    bitstream_length=e.bitstream_length,
                    bitstream_sha256=e.bitstream_sha256,
                    blob_length=e.blob_length,
                    blob_sha256=e.blob_sha256,
                    idcode=e.idcode,
                    usr_access=e.usr_access,
                )
                for e in record.slots
            ],
        )
    )
    return body + zlib.crc32(body).to_bytes(4, "little")


def decode(data: bytes, copy: int | None = None) -> Record | None:
    """The record in ``data`` if it is a valid copy (slots.md: magic, format, size, CRC, active), else None."""
    if len(data) < RECORD_SIZE:
        return None
    body, crc = data[:BODY_SIZE], int.from_bytes(data[BODY_SIZE:RECORD_SIZE], "little")
    parsed = Body.parse(body)
    if (parsed.magic, parsed.format, parsed.record_size) != (MAGIC, FORMAT, RECORD_SIZE) or zlib.crc32(
        body
    ) != crc:
        return None
    if parsed.active != NO_SLOT and parsed.active >= 2:
        return None
    entries = tuple(
        Entry(
            e.state,
            e.slot_seq,
            e.bitstream_length,
            bytes(e.bitstream_sha256),
            e.blob_length,
            bytes(e.blob_sha256),
            e.idcode,
            e.usr_access,
        )
        for e in parsed.slots
    )
    return Record(parsed.seq, parsed.active, (entries[0], entries[1]), copy)


def current(copies: list[bytes]) -> Record | None:
    """The current record of the two copies: the valid one with the higher seq (copy 0 on a tie,
    as the firmware's strict ``>`` keeps the first); None on a fresh flash."""
    best: Record | None = None
    for index, data in enumerate(copies):
        record = decode(data, index)
        if record is not None and (best is None or record.seq > best.seq):
            best = record
    return best


def next_copy(record: Record | None) -> int:
    """Where the next record goes: the copy that does not hold the current one (copy 0 when fresh)."""
    return 0 if record is None or record.copy is None else 1 - record.copy
