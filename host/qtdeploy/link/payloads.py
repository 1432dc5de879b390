"""Payload layouts of every command: the one place the host spells them (protocol/link.md §7).

Each ``construct`` Struct here carries the name of its link.md table (``#### `HelloRequest```);
tests/host/test_link_doc.py checks field names, sizes and offsets against those tables, so the
doc and the code cannot drift. Count fields are ``Rebuild``-ed from their arrays, so callers
build with just the list and never compute a count by hand. Reserved fields are ``Padding``
(sent as zeros, ignored on parse).
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from construct import (
    Array,
    Bytes,
    Construct,
    ConstructError,
    Container,
    GreedyBytes,
    GreedyString,
    Int8sl,
    Int8ul,
    Int16ul,
    Int32sl,
    Int32ul,
    Int64sl,
    Int64ul,
    PaddedString,
    Padding,
    Rebuild,
    Struct,
    Switch,
    len_,
    this,
)

from qtdeploy._protocol import LINK_BOARD_ID_SIZE, LINK_SHA256_SIZE, Command
from qtdeploy.errors import LinkError

SLOT_COMMIT_SELECT = 0x01  # SlotCommit.flags bit 0: also make the slot active
RESET_MODE_RUN = 0
RESET_MODE_BOOTLOADER = 1
POWER_STREAM_STOP = 0
POWER_STREAM_START = 1

Empty = Struct()
ErrorDetail = Struct("detail" / GreedyString("ascii"))
PingPayload = Struct("data" / GreedyBytes)

SlotRegion = Struct(
    "bitstream_offset" / Int32ul,
    "bitstream_size" / Int32ul,
    "blob_offset" / Int32ul,
    "blob_size" / Int32ul,
)
FlashLayout = Struct(
    "flash_size" / Int32ul,
    "sector_size" / Int32ul,
    "page_size" / Int32ul,
    "jedec_id" / Int32ul,
    "meta_offset" / Int32ul,
    "meta_size" / Int32ul,
    "log_offset" / Int32ul,
    "log_size" / Int32ul,
    "slot_count" / Rebuild(Int8ul, len_(this.slots)),
    "reserved" / Padding(3),
    "slots" / Array(this.slot_count, SlotRegion),
)
HelloRequest = Struct(
    "protocol_version" / Int8ul,
    "window" / Int8ul,
    "max_payload" / Int16ul,
)
HelloResponse = Struct(
    "protocol_version" / Int8ul,
    "fw_major" / Int8ul,
    "fw_minor" / Int8ul,
    "fw_patch" / Int8ul,
    "board_id" / PaddedString(LINK_BOARD_ID_SIZE, "ascii"),
    "max_payload" / Int16ul,
    "window" / Int8ul,
    "fpga_state" / Int8ul,
    "bit_widths" / Int16ul,
    "engines" / Int8ul,
    "codecs" / Int8ul,
    "accel_abi" / Int32ul,
    "active_slot" / Int8ul,
    "reserved" / Padding(3),
    "layout" / FlashLayout,
)
ResetRequest = Struct("mode" / Int8ul)
SetBaudRequest = Struct("baud" / Int32ul)
SetBaudResponse = Struct("baud" / Int32ul)

FlashErase = Struct("offset" / Int32ul, "length" / Int32ul)
FlashWriteRequest = Struct(
    "offset" / Int32ul,
    "raw_length" / Int32ul,
    "codec" / Int8ul,
    "reserved" / Padding(3),
    "data" / GreedyBytes,
)
FlashWriteResponse = Struct("offset" / Int32ul, "raw_length" / Int32ul)
FlashRead = Struct("offset" / Int32ul, "length" / Int32ul)
FlashReadResponse = Struct("data" / GreedyBytes)
FlashHash = FlashRead
FlashHashResponse = Struct("sha256" / Bytes(LINK_SHA256_SIZE))

SlotCommit = Struct(
    "slot" / Int8ul,
    "flags" / Int8ul,
    "reserved" / Padding(2),
    "bitstream_length" / Int32ul,
    "bitstream_sha256" / Bytes(LINK_SHA256_SIZE),
    "blob_length" / Int32ul,
    "blob_sha256" / Bytes(LINK_SHA256_SIZE),
)
SlotCommitResponse = Struct(
    "slot" / Int8ul,
    "active_slot" / Int8ul,
    "reserved" / Padding(2),
    "slot_seq" / Int32ul,
)
SlotSelect = Struct("slot" / Int8ul)
SlotRecord = Struct(
    "state" / Int8ul,
    "reserved" / Padding(3),
    "slot_seq" / Int32ul,
    "bitstream_length" / Int32ul,
    "bitstream_sha256" / Bytes(LINK_SHA256_SIZE),
    "blob_length" / Int32ul,
    "blob_sha256" / Bytes(LINK_SHA256_SIZE),
)
SlotInfoResponse = Struct(
    "active_slot" / Int8ul,
    "slot_count" / Rebuild(Int8ul, len_(this.slots)),
    "reserved" / Padding(2),
    "slots" / Array(this.slot_count, SlotRecord),
)

FpgaConfigure = Struct("slot" / Int8ul)
FpgaStatus = Struct(
    "state" / Int8ul,
    "done" / Int8ul,
    "init_b" / Int8ul,
    "slot" / Int8ul,
    "idcode" / Int32ul,
    "abi" / Int32ul,
)

ModelLoad = Struct("engine" / Int8ul, "slot" / Int8ul)
ModelInfo = Struct(
    "engine" / Int8ul,
    "out_width" / Int8ul,
    "in_count" / Int16ul,
    "out_count" / Int16ul,
    "reserved" / Padding(2),
    "abi" / Int32ul,
)
InferRequest = Struct(
    "engine" / Int8ul,
    "reserved" / Padding(1),
    "count" / Rebuild(Int16ul, len_(this.values)),
    "values" / Bytes(this.count),  # int8 window as bytes: numpy's .tobytes() / np.frombuffer(int8)
)
InferResult = Struct(
    "engine" / Int8ul,
    "out_width" / Int8ul,
    "out_count" / Rebuild(Int16ul, len_(this.outputs)),
    "accel_cycles" / Int32ul,
    "t_start_us" / Int64ul,
    "t_end_us" / Int64ul,
    "outputs" / Switch(this.out_width, {1: Array(this.out_count, Int8sl), 4: Array(this.out_count, Int32sl)}),
)

StreamStart = Struct("engine" / Int8ul, "max_in_flight" / Int8ul, "reserved" / Padding(2))
StreamData = Struct(
    "window_seq" / Int32ul,
    "windows" / Int16ul,
    "count" / Int16ul,
    "values" / Bytes(this.windows * this.count),
)
StreamDataResponse = Struct("window_seq" / Int32ul, "queued" / Int16ul, "reserved" / Padding(2))
StreamResultEvent = Struct("window_seq" / Int32ul, "result" / InferResult)
StreamErrorEvent = Struct("window_seq" / Int32ul, "detail" / GreedyString("ascii"))
StreamStopResponse = Struct("windows_done" / Int32ul, "windows_failed" / Int32ul)

PowerRead = Struct("rail_mask" / Int32ul)
RailReading = Struct(
    "rail" / Int8ul,
    "flags" / Int8ul,
    "bus_mv" / Int16ul,
    "current_ua" / Int32sl,
    "power_uw" / Int32sl,
)
PowerSample = Struct(
    "t_us" / Int64ul,
    "rail_count" / Rebuild(Int8ul, len_(this.rails)),
    "reserved" / Padding(3),
    "rails" / Array(this.rail_count, RailReading),
)
PowerStream = Struct(
    "op" / Int8ul,
    "reserved" / Padding(1),
    "rate_hz" / Int16ul,
    "rail_mask" / Int32ul,
)
PowerEvent = Struct(
    "sample_seq" / Int32ul,
    "samples" / Rebuild(Int8ul, len_(this.data)),
    "reserved" / Padding(3),
    "data" / Array(this.samples, PowerSample),
)
PowerEnergy = Struct("marker" / Int32ul)
RailEnergy = Struct("rail" / Int8ul, "reserved" / Padding(3), "energy_nj" / Int64sl)
EnergyReport = Struct(
    "marker" / Int32ul,
    "t_start_us" / Int64ul,
    "t_end_us" / Int64ul,
    "rail_count" / Rebuild(Int8ul, len_(this.rails)),
    "reserved" / Padding(3),
    "rails" / Array(this.rail_count, RailEnergy),
)
PowerMark = Struct("marker" / Int32ul, "t_us" / Int64ul)
PowerBenchRequest = Struct(
    "engine" / Int8ul,
    "reserved" / Padding(1),
    "count" / Rebuild(Int16ul, len_(this.values)),
    "inferences" / Int32ul,
    "values" / Bytes(this.count),
)
BenchRail = Struct("rail" / Int8ul, "reserved" / Padding(3), "idle_nj" / Int64sl, "burst_nj" / Int64sl)
BenchReport = Struct(
    "engine" / Int8ul,
    "rail_count" / Rebuild(Int8ul, len_(this.rails)),
    "reserved" / Padding(2),
    "inferences" / Int32ul,
    "accel_cycles" / Int32ul,
    "out_crc32" / Int32ul,
    "t_idle_us" / Int64ul,
    "t_burst_us" / Int64ul,
    "t_end_us" / Int64ul,
    "infer_us" / Int64ul,
    "min_us" / Int32ul,
    "max_us" / Int32ul,
    "rails" / Array(this.rail_count, BenchRail),
)
BuildInfo = Struct(
    "boot_status" / Int8ul,
    "build_id_len" / Int8ul,
    "reserved" / Padding(2),
    "build_id" / Bytes(20),
    "target" / PaddedString(16, "ascii"),
)


@dataclass(frozen=True)
class CommandSpec:
    """Request and response layout of one command; ``rerun``: side-effect free (link.md §5)."""

    request: Construct
    response: Construct
    rerun: bool = False
    event: Construct | None = None


COMMANDS: dict[Command, CommandSpec] = {
    Command.HELLO: CommandSpec(HelloRequest, HelloResponse, rerun=True),
    Command.RESET: CommandSpec(ResetRequest, Empty),
    Command.SET_BAUD: CommandSpec(SetBaudRequest, SetBaudResponse),
    Command.PING: CommandSpec(PingPayload, PingPayload, rerun=True),
    Command.BUILD_INFO: CommandSpec(Empty, BuildInfo, rerun=True),
    Command.FLASH_INFO: CommandSpec(Empty, FlashLayout, rerun=True),
    Command.FLASH_ERASE: CommandSpec(FlashErase, Empty),
    Command.FLASH_WRITE: CommandSpec(FlashWriteRequest, FlashWriteResponse),
    Command.FLASH_READ: CommandSpec(FlashRead, FlashReadResponse, rerun=True),
    Command.FLASH_HASH: CommandSpec(FlashHash, FlashHashResponse, rerun=True),
    Command.SLOT_COMMIT: CommandSpec(SlotCommit, SlotCommitResponse),
    Command.SLOT_SELECT: CommandSpec(SlotSelect, SlotSelect),
    Command.SLOT_INFO: CommandSpec(Empty, SlotInfoResponse, rerun=True),
    Command.FPGA_CONFIGURE: CommandSpec(FpgaConfigure, FpgaStatus),
    Command.FPGA_STATUS: CommandSpec(Empty, FpgaStatus, rerun=True),
    Command.MODEL_LOAD: CommandSpec(ModelLoad, ModelInfo),
    Command.INFER: CommandSpec(InferRequest, InferResult, rerun=True),
    Command.STREAM_START: CommandSpec(StreamStart, StreamStart),
    Command.STREAM_DATA: CommandSpec(StreamData, StreamDataResponse, event=StreamResultEvent),
    Command.STREAM_STOP: CommandSpec(Empty, StreamStopResponse),
    Command.POWER_READ: CommandSpec(PowerRead, PowerSample, rerun=True),
    Command.POWER_STREAM: CommandSpec(PowerStream, PowerStream, event=PowerEvent),
    Command.POWER_ENERGY: CommandSpec(PowerEnergy, EnergyReport, rerun=True),
    Command.POWER_MARK: CommandSpec(Empty, PowerMark),
    Command.POWER_BENCH: CommandSpec(PowerBenchRequest, BenchReport, rerun=True),
}


def parse_exact(layout: Construct, data: bytes, what: str) -> Container:
    """Parse ``data`` as ``layout`` and insist every byte was used.

    A payload that is too short, too long or self-inconsistent means host and board disagree
    about the layout, which retrying cannot fix: it becomes a LinkError naming ``what``.
    """
    stream = io.BytesIO(data)
    try:
        value = layout.parse_stream(stream)
    except ConstructError as exc:
        raise _mismatch(what, len(data), str(exc)) from exc
    if stream.tell() != len(data):
        raise _mismatch(what, len(data), f"{len(data) - stream.tell()} bytes left over")
    return value


def _mismatch(what: str, size: int, why: str) -> LinkError:
    return LinkError(
        f"The board's {what} payload ({size} bytes) does not match protocol/link.md: {why}.",
        "Update qtdeploy or the firmware so both implement the same protocol version.",
    )
