"""Constants and helpers the FTDI test modules share (conftest cannot be imported under importlib mode)."""

from __future__ import annotations

import hashlib
from pathlib import Path

from qtdeploy.boards import Board
from qtdeploy.formats import slots as rec

URL = "ftdi://ftdi:232h/1"


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def record(flash: bytes, board: Board) -> rec.Record | None:
    """The current slot record of a flash image, as the firmware would pick it."""
    return rec.current([flash[m.offset : m.offset + rec.RECORD_SIZE] for m in board.layout.meta])


def committed_slots_intact(flash: bytes, board: Board) -> bool:
    """Every COMMITTED slot of the current record hashes right in ``flash`` (what boot re-checks)."""
    r = record(flash, board)
    if r is None:
        return True
    for entry, name in zip(r.slots, ("A", "B")):
        if not entry.committed:
            continue
        s = board.layout.slots[name]
        bit = flash[s.bitstream.offset : s.bitstream.offset + entry.bitstream_length]
        blob = flash[s.blob.offset : s.blob.offset + entry.blob_length]
        if (
            hashlib.sha256(bit).digest() != entry.bitstream_sha256
            or hashlib.sha256(blob).digest() != entry.blob_sha256
        ):
            return False
    return True
