"""One example request and response for every command, plus events and error answers.

These values feed the golden vectors (``python -m qtdeploy.link.vectors --write``). They are
chosen to be realistic for the reference board (4 MiB flash, 4 KiB sectors, two slots) and to
put 0x00 bytes and 0xFF runs into the frames, so COBS is exercised, not just bypassed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from construct import Construct

from qtdeploy._protocol import Codec, Command, Engine, Flag, FpgaState, SlotState, Status
from qtdeploy.link import payloads as P

SHA_BIT = hashlib.sha256(b"bitstream").digest()
SHA_BLOB = hashlib.sha256(b"blob").digest()
LAYOUT = dict(
    flash_size=4 << 20,
    sector_size=4096,
    page_size=256,
    jedec_id=0xEF4016,
    meta_offset=0x3F0000,
    meta_size=0x2000,
    log_offset=0x300000,
    log_size=0xF0000,
    slots=[
        dict(bitstream_offset=0x000000, bitstream_size=0x80000, blob_offset=0x080000, blob_size=0x40000),
        dict(bitstream_offset=0x100000, bitstream_size=0x80000, blob_offset=0x180000, blob_size=0x40000),
    ],
)
FPGA = dict(state=FpgaState.CONFIGURED, done=1, init_b=1, slot=0, idcode=0x0362F093, abi=0x00010008)
INFER = dict(
    engine=Engine.FPGA,
    out_width=4,
    accel_cycles=12345,
    t_start_us=1_000_000,
    t_end_us=1_000_250,
    outputs=[100, -200, 0, 70000],
)
RAILS = [
    dict(rail=0, flags=0, bus_mv=1000, current_ua=45000, power_uw=45000),
    dict(rail=1, flags=0, bus_mv=3300, current_ua=-120, power_uw=-396),
]
SAMPLE = dict(t_us=5_000_000, rails=RAILS)


@dataclass(frozen=True)
class Example:
    """A frame to vectorise: which layout its payload has and the field values."""

    name: str
    command: Command
    layout: str  # name of a Struct in qtdeploy.link.payloads
    fields: dict[str, Any]
    flags: int = 0
    status: Status = Status.OK
    seq: int = 0

    @property
    def struct(self) -> Construct:
        return getattr(P, self.layout)


def _pair(
    cmd: Command, req: tuple[str, dict[str, Any]], resp: tuple[str, dict[str, Any]], seq: int
) -> list[Example]:
    return [
        Example(f"{cmd.name}.request", cmd, req[0], req[1], seq=seq),
        Example(f"{cmd.name}.response", cmd, resp[0], resp[1], flags=Flag.RESPONSE, seq=seq),
    ]


_PAIRS: list[tuple[Command, tuple[str, dict[str, Any]], tuple[str, dict[str, Any]]]] = [
    (
        Command.HELLO,
        ("HelloRequest", dict(protocol_version=1, window=8, max_payload=4096)),
        (
            "HelloResponse",
            dict(
                protocol_version=1,
                fw_major=0,
                fw_minor=1,
                fw_patch=0,
                board_id="virtual",
                max_payload=4096,
                window=8,
                fpga_state=FpgaState.UNCONFIGURED,
                bit_widths=0x01FC,
                engines=0b11,
                codecs=0b11,
                accel_abi=0,
                active_slot=0xFF,
                layout=LAYOUT,
            ),
        ),
    ),
    (Command.RESET, ("ResetRequest", dict(mode=P.RESET_MODE_RUN)), ("Empty", {})),
    (Command.SET_BAUD, ("SetBaudRequest", dict(baud=3_000_000)), ("SetBaudResponse", dict(baud=3_000_000))),
    (
        Command.PING,
        ("PingPayload", dict(data=b"\x00\x01hello\x00")),
        ("PingPayload", dict(data=b"\x00\x01hello\x00")),
    ),
    (
        Command.BUILD_INFO,
        ("Empty", {}),
        (
            "BuildInfo",
            dict(boot_status=0, build_id_len=20, build_id=bytes(range(0x10, 0x24)), target="rp2040"),
        ),
    ),
    (Command.FLASH_INFO, ("Empty", {}), ("FlashLayout", LAYOUT)),
    (Command.FLASH_ERASE, ("FlashErase", dict(offset=0x100000, length=0x10000)), ("Empty", {})),
    (
        Command.FLASH_WRITE,
        (
            "FlashWriteRequest",
            dict(offset=0x100100, raw_length=16, codec=Codec.NONE, data=bytes(range(0xF0, 0x100))),
        ),
        ("FlashWriteResponse", dict(offset=0x100100, raw_length=16)),
    ),
    (
        Command.FLASH_READ,
        ("FlashRead", dict(offset=0x100100, length=8)),
        ("FlashReadResponse", dict(data=b"\xff\xff\x00\x00\xaa\x55\x00\xff")),
    ),
    (
        Command.FLASH_HASH,
        ("FlashHash", dict(offset=0x100000, length=0x2A5F0)),
        ("FlashHashResponse", dict(sha256=SHA_BIT)),
    ),
    (
        Command.SLOT_COMMIT,
        (
            "SlotCommit",
            dict(
                slot=1,
                flags=P.SLOT_COMMIT_SELECT,
                bitstream_length=0x2A5F0,
                bitstream_sha256=SHA_BIT,
                blob_length=0x1234,
                blob_sha256=SHA_BLOB,
            ),
        ),
        ("SlotCommitResponse", dict(slot=1, active_slot=1, slot_seq=7)),
    ),
    (Command.SLOT_SELECT, ("SlotSelect", dict(slot=0)), ("SlotSelect", dict(slot=0))),
    (
        Command.SLOT_INFO,
        ("Empty", {}),
        (
            "SlotInfoResponse",
            dict(
                active_slot=1,
                slots=[
                    dict(
                        state=SlotState.EMPTY,
                        slot_seq=0,
                        bitstream_length=0,
                        bitstream_sha256=bytes(32),
                        blob_length=0,
                        blob_sha256=bytes(32),
                    ),
                    dict(
                        state=SlotState.COMMITTED,
                        slot_seq=7,
                        bitstream_length=0x2A5F0,
                        bitstream_sha256=SHA_BIT,
                        blob_length=0x1234,
                        blob_sha256=SHA_BLOB,
                    ),
                ],
            ),
        ),
    ),
    (Command.FPGA_CONFIGURE, ("FpgaConfigure", dict(slot=0xFF)), ("FpgaStatus", FPGA)),
    (Command.FPGA_STATUS, ("Empty", {}), ("FpgaStatus", FPGA)),
    (
        Command.MODEL_LOAD,
        ("ModelLoad", dict(engine=Engine.FPGA, slot=0xFF)),
        ("ModelInfo", dict(engine=Engine.FPGA, out_width=4, in_count=8, out_count=4, abi=0x00010008)),
    ),
    (
        Command.INFER,
        ("InferRequest", dict(engine=Engine.FPGA, values=bytes([0, 1, 2, 0x7F, 0x80, 0xFF, 0, 3]))),
        ("InferResult", INFER),
    ),
    (
        Command.STREAM_START,
        ("StreamStart", dict(engine=Engine.MCU, max_in_flight=4)),
        ("StreamStart", dict(engine=Engine.MCU, max_in_flight=4)),
    ),
    (
        Command.STREAM_DATA,
        (
            "StreamData",
            dict(window_seq=41, windows=2, count=4, values=bytes([1, 2, 3, 4, 0, 0xFF, 0x80, 0x7F])),
        ),
        ("StreamDataResponse", dict(window_seq=41, queued=2)),
    ),
    (Command.STREAM_STOP, ("Empty", {}), ("StreamStopResponse", dict(windows_done=43, windows_failed=1))),
    (Command.POWER_READ, ("PowerRead", dict(rail_mask=0)), ("PowerSample", SAMPLE)),
    (
        Command.POWER_STREAM,
        ("PowerStream", dict(op=P.POWER_STREAM_START, rate_hz=1000, rail_mask=0b11)),
        ("PowerStream", dict(op=P.POWER_STREAM_START, rate_hz=1000, rail_mask=0b11)),
    ),
    (
        Command.POWER_ENERGY,
        ("PowerEnergy", dict(marker=3)),
        (
            "EnergyReport",
            dict(
                marker=3,
                t_start_us=1_000_000,
                t_end_us=2_000_000,
                rails=[dict(rail=0, energy_nj=45_000_000), dict(rail=1, energy_nj=-396_000)],
            ),
        ),
    ),
    (Command.POWER_MARK, ("Empty", {}), ("PowerMark", dict(marker=3, t_us=1_000_000))),
    (
        Command.POWER_BENCH,
        ("PowerBenchRequest", dict(engine=Engine.FPGA, inferences=1000, values=bytes([0, 1, 0xFF, 0x80]))),
        (
            "BenchReport",
            dict(
                engine=Engine.FPGA,
                inferences=1000,
                accel_cycles=11_370,
                out_crc32=0x1234ABCD,
                t_idle_us=1_000_000,
                t_burst_us=1_300_000,
                t_end_us=1_600_000,
                infer_us=150_000,
                min_us=140,
                max_us=400,
                rails=[
                    dict(rail=0, idle_nj=1_980_000, burst_nj=1_990_000),
                    dict(rail=1, idle_nj=0, burst_nj=-3),
                ],
            ),
        ),
    ),
]


def examples() -> list[Example]:
    """Every command's request and response, then events, retries and error answers."""
    out: list[Example] = []
    for i, (cmd, req, resp) in enumerate(_PAIRS):
        out += _pair(cmd, req, resp, seq=0x0100 + i)
    out += [
        Example(
            "FLASH_WRITE.request.compressed",
            Command.FLASH_WRITE,
            "FlashWriteRequest",
            dict(offset=0x101000, raw_length=4096, codec=Codec.HEATSHRINK, data=b"\xb0\x00\x7f\xc0"),
            flags=Flag.COMPRESSED,
            seq=0x0200,
        ),
        Example(
            "FLASH_WRITE.request.retry",
            Command.FLASH_WRITE,
            "FlashWriteRequest",
            dict(offset=0x100100, raw_length=4, codec=Codec.NONE, data=b"\x00\x00\x00\x00"),
            flags=Flag.RETRY,
            seq=0xFFFF,
        ),
        Example(
            "FLASH_ERASE.response.misaligned",
            Command.FLASH_ERASE,
            "ErrorDetail",
            dict(detail="offset 0x00100001 not sector-aligned (4096)"),
            flags=Flag.RESPONSE,
            status=Status.MISALIGNED,
            seq=0x0201,
        ),
        Example(
            "PING.response.bad_version",
            Command.PING,
            "ErrorDetail",
            dict(detail="board speaks version 1"),
            flags=Flag.RESPONSE,
            status=Status.BAD_VERSION,
            seq=0x0202,
        ),
        Example(
            "STREAM_DATA.event",
            Command.STREAM_DATA,
            "StreamResultEvent",
            dict(window_seq=41, result=INFER),
            flags=Flag.EVENT,
            seq=0,
        ),
        Example(
            "STREAM_DATA.event.error",
            Command.STREAM_DATA,
            "StreamErrorEvent",
            dict(window_seq=42, detail="accelerator busy after 200000 cycles"),
            flags=Flag.EVENT,
            status=Status.ACCEL_TIMEOUT,
            seq=1,
        ),
        Example(
            "POWER_STREAM.event",
            Command.POWER_STREAM,
            "PowerEvent",
            dict(sample_seq=1000, data=[SAMPLE, dict(SAMPLE, t_us=5_001_000)]),
            flags=Flag.EVENT,
            seq=2,
        ),
    ]
    return out
