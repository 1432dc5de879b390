"""``info(board)``: everything the board says about itself, as one JSON-ready dict.

Why ask SLOT_INFO and FPGA_STATUS rather than trust HELLO alone: HELLO carries the active slot
and ABI, but the slot hashes (what the user compares against the files they flashed) and the
IDCODE read back only come from those two commands.
"""

from __future__ import annotations

from typing import Any

from qtdeploy._protocol import LINK_NO_SLOT, STATUS_INFO, Command, FpgaState, Slot, SlotState, Status
from qtdeploy.errors import DeviceError
from qtdeploy.link import payloads as P
from qtdeploy.ops.session import Board


def _name(kind, value: int) -> str:
    try:
        return kind(value).name
    except ValueError:
        return f"0x{value:02x}"


def slot_info(board: Board) -> Any:
    """SLOT_INFO's parsed answer."""
    return P.parse_exact(P.SlotInfoResponse, board.link.request(Command.SLOT_INFO), "SLOT_INFO")


def fpga_status(board: Board) -> Any:
    return P.parse_exact(P.FpgaStatus, board.link.request(Command.FPGA_STATUS), "FPGA_STATUS")


def build_info(board: Board) -> dict[str, Any] | None:
    """BUILD_INFO: the running binary's GNU build-id, its HAL and how its boot went (None from a
    firmware older than the command, which answers UNKNOWN_COMMAND)."""
    try:
        raw = board.link.request(Command.BUILD_INFO)
    except DeviceError as err:
        if err.status == Status.UNKNOWN_COMMAND:
            return None
        raise
    b = P.parse_exact(P.BuildInfo, raw, "BUILD_INFO")
    status = _name(Status, b.boot_status)
    return {
        "build_id": b.build_id[: b.build_id_len].hex() or None,
        "target": b.target,
        "boot_status": status,
        "boot_meaning": STATUS_INFO.get(Status(b.boot_status), {}).get("meaning")
        if status in Status.__members__
        else None,
    }


def info(board: Board) -> dict[str, Any]:
    """Firmware/protocol version, board id, flash geometry, slots (sizes, SHA-256, state, seq),
    active slot, FPGA state, IDCODE and ABI."""
    caps = board.refresh()
    build = build_info(board)
    slots_answer = slot_info(board)
    fpga = fpga_status(board)
    geo = caps.flash
    slots = []
    for i, rec in enumerate(slots_answer.slots):
        regions = board.slot_regions(Slot(i))
        slots.append(
            {
                "slot": _name(Slot, i),
                "state": _name(SlotState, rec.state),
                "seq": rec.slot_seq,
                "active": slots_answer.active_slot == i,
                "bitstream": {
                    "offset": regions.bitstream_offset,
                    "region_size": regions.bitstream_size,
                    "length": rec.bitstream_length,
                    "sha256": rec.bitstream_sha256.hex(),
                },
                "blob": {
                    "offset": regions.blob_offset,
                    "region_size": regions.blob_size,
                    "length": rec.blob_length,
                    "sha256": rec.blob_sha256.hex(),
                },
            }
        )
    active = slots_answer.active_slot
    return {
        "board": caps.board_id,
        "virtual": caps.virtual,
        "port": board.port,
        "firmware": caps.firmware,
        "build": build,
        "protocol_version": caps.protocol_version,
        "baud": board.link.baud,
        "link": {
            "window": caps.window,
            "max_payload": caps.max_payload,
            "codecs": [c.name for c in caps.codecs],
        },
        "flash": {
            "size": geo.size,
            "sector_size": geo.sector_size,
            "page_size": geo.page_size,
            "jedec_id": f"{geo.jedec_id:#08x}",
            "meta_offset": geo.meta_offset,
            "log_offset": geo.log_offset,
        },
        "active_slot": None if active == LINK_NO_SLOT else _name(Slot, active),
        "slots": slots,
        "fpga": {
            "state": _name(FpgaState, fpga.state),
            "done": bool(fpga.done),
            "init_b": bool(fpga.init_b),
            "slot": None if fpga.slot == LINK_NO_SLOT else _name(Slot, fpga.slot),
            "idcode": f"{fpga.idcode:#010x}",
            "abi": f"{fpga.abi:#010x}",
        },
        "bit_widths": list(caps.bit_widths),
        "engines": caps.engines,
    }
