"""What ``flash`` writes, and the checks that must pass before a single sector is erased.

Why check on the host first: an erase cannot be undone, and the board only finds an IDCODE or
ABI mismatch after the image is written (at SLOT_COMMIT / MODEL_LOAD). Refusing a wrong part,
a wrong ABI or an oversized image here costs nothing and leaves the board as it was.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from qtdeploy._protocol import Slot
from qtdeploy.errors import CompatibilityError, FormatError, UsageError
from qtdeploy.formats import bitstream as bit_fmt
from qtdeploy.formats import blob as blob_fmt
from qtdeploy.ops.session import Board

Source = str | os.PathLike[str] | bytes


@dataclass(frozen=True)
class Image:
    """One image for a region: its bytes, their SHA-256, and where they go."""

    kind: str  # "bitstream" or "blob"
    source: str
    data: bytes
    offset: int
    region_size: int

    @cached_property  # hashed once: commit, verify and the report all ask for it
    def sha256(self) -> bytes:
        return hashlib.sha256(self.data).digest()


def read_source(source: Source, what: str) -> tuple[bytes, str]:
    """Bytes and a display name from a path or from bytes already in memory."""
    if isinstance(source, bytes | bytearray):
        return bytes(source), f"<{what} in memory>"
    path = Path(source)
    try:
        return path.read_bytes(), str(path)
    except OSError as exc:
        raise UsageError(
            f"Cannot read the {what} {path}: {exc.strerror}.", f"Pass an existing, readable {what} file."
        ) from exc


def choose_slot(board: Board, slot: str | Slot | None) -> Slot:
    """The target slot: as asked, else the inactive one; never the active one."""
    active = board.caps.active_slot
    if slot is None:
        return Slot.A if active in (None, Slot.B) else Slot.B
    target = Slot[slot.upper()] if isinstance(slot, str) else Slot(slot)
    if target == active:
        other = "b" if target == Slot.A else "a"
        raise CompatibilityError(
            f"Slot {target.name} holds the active image, which the board boots; flashing it could leave nothing bootable.",
            f"Flash the inactive slot (--slot {other}, or leave --slot out); it becomes active once verified.",
        )
    return target


def prepare(
    board: Board, *, bitstream: Source, blob: Source | None, slot: Slot
) -> tuple[list[Image], dict[str, Any]]:
    """Parse and cross-check the inputs against the board; the images to write and their facts."""
    bit_data, bit_name = read_source(bitstream, "bitstream")
    bit_info = bit_fmt.describe(bit_data, bit_name)
    if board.board_file is not None:
        bit_fmt.check_part(bit_info, board.board_file)
    regions = board.slot_regions(slot)
    images = [Image("bitstream", bit_name, bit_data, regions.bitstream_offset, regions.bitstream_size)]
    facts: dict[str, Any] = {
        "idcode": bit_info["idcode"],
        "device": bit_info["device"],
        "abi": bit_info["abi"],
        "simulated_bitstream": bit_info["simulated"],
    }
    if blob is not None:
        blob_data, blob_name = read_source(blob, "blob")
        try:
            model = blob_fmt.unpack(blob_data)
        except FormatError as exc:
            raise FormatError(f"{blob_name}: {exc.problem}", exc.fix) from exc
        if bit_info["abi_value"] is None:
            raise CompatibilityError(
                f"{bit_name} sets no USR_ACCESS (AXSS) value, so it does not say which model ABI it implements; "
                f"{blob_name} needs ABI {model.abi:#010x}.",
                "Build the bitstream with the accelerator's ABI in USR_ACCESS (`qtdeploy rtl sim-bitstream --abi BLOB.qtb`).",
            )
        if model.abi != bit_info["abi_value"]:
            raise CompatibilityError(
                f"{blob_name} is for accelerator ABI {model.abi:#010x}, but {bit_name} implements {bit_info['abi']}.",
                "Rebuild the bitstream for this model's shape and bit widths, or export the model for the bitstream's ABI.",
            )
        images.append(Image("blob", blob_name, blob_data, regions.blob_offset, regions.blob_size))
        facts["blob_abi"] = f"{model.abi:#010x}"
    for image in images:
        if len(image.data) > image.region_size:
            raise CompatibilityError(
                f"{image.source} is {len(image.data):,} bytes; slot {slot.name}'s {image.kind} region holds {image.region_size:,}.",
                "Use a smaller image, or a board file with larger regions.",
            )
        if not image.data:
            raise FormatError(f"{image.source} is empty.", f"Pass a real {image.kind}.")
    return images, facts


@dataclass(frozen=True)
class Sector:
    """The part of an image inside one erase sector: the unit of erase, write, verify, resume."""

    image: Image
    offset: int  # flash address of the sector start (= where this chunk starts)
    data: bytes

    @cached_property  # hashed once: commit, verify and the report all ask for it
    def sha256(self) -> bytes:
        return hashlib.sha256(self.data).digest()


def sectors(images: list[Image], sector_size: int) -> list[Sector]:
    """Split every image at sector boundaries (regions are sector-aligned: board files check it)."""
    out = []
    for image in images:
        for start in range(0, len(image.data), sector_size):
            out.append(Sector(image, image.offset + start, image.data[start : start + sector_size]))
    return out
