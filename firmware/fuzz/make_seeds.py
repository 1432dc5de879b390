"""Write the command fuzzer's seed corpus (firmware/fuzz/corpus/cmd): one short session per file,
each a sequence of records in fuzz_records.h's format, covering every handler's success path on
the base image of make_base.py (slot A active with a w12_d32_b2 model, FPGA configured for it).

    python3 fuzz/make_seeds.py fuzz/corpus/cmd
"""

from __future__ import annotations

import argparse
import struct
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "host"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from qtdeploy._protocol import Command as C  # noqa: E402
from qtdeploy.ops.compress import heatshrink_encode  # noqa: E402

RETRY, SAME_SEQ, IDLE, FIXUP, BURST = 0x08, 0x10, 0x20, 0x40, 0x80
WIRE_VERSION, WIRE_LENGTH, WIRE_JUNK, WIRE_STATUS, WIRE_LONG_IDLE = 0x01, 0x02, 0x04, 0x08, 0x10
RESPONSE, COMPRESSED, EVENT = 0x01, 0x02, 0x04
SLOT_B_BIT, SLOT_B_BLOB, SLOT_A_BIT, SECTOR = 0x200000, 0x300000, 0x000000, 0x10000
IN_COUNT = 12 * 4  # w12_d32_b2: window 12 x 4 features
MCU, FPGA = 1, 0


def rec(command: int, payload: bytes = b"", ctl: int = 0, wire: int = 0) -> bytes:
    """One record: command, ctl, LE16 length, wire, payload."""
    return struct.pack("<BBHB", int(command), ctl, len(payload), wire) + payload


def hello(max_payload: int = 4096, window: int = 8) -> bytes:
    return rec(C.HELLO, struct.pack("<BBH", 1, window, max_payload))


def rng(offset: int, length: int) -> bytes:
    return struct.pack("<II", offset, length)


def write(offset: int, data: bytes, ctl: int = FIXUP) -> bytes:
    return rec(C.FLASH_WRITE, struct.pack("<IIB3x", offset, len(data), 0) + data, ctl)


def commit(slot: int, flags: int, bit_len: int, blob_len: int) -> bytes:
    body = struct.pack("<BBH I32s I32s", slot, flags, 0, bit_len, bytes(32), blob_len, bytes(32))
    return rec(C.SLOT_COMMIT, body, FIXUP)


SEEDS: dict[str, list[bytes]] = {
    "link": [
        hello(),
        rec(C.PING, b"qtd"),
        rec(C.PING, b"x", RESPONSE),
        rec(C.PING, b"y", EVENT),
        rec(C.SET_BAUD, struct.pack("<I", 115200)),
        rec(C.RESET, b"\0"),
        hello(256, 1),
        rec(0x7F),
    ],
    "baud_revert": [  # a rate no good frame confirms within 1 s is dropped (link.md 7.3)
        hello(),
        rec(C.SET_BAUD, struct.pack("<I", 3_000_000)),
        rec(C.PING, b"late", IDLE, WIRE_LONG_IDLE),
        rec(C.SET_BAUD, struct.pack("<I", 115200)),
        rec(C.PING, b"in time", IDLE),
    ],
    "info": [
        rec(C.FLASH_INFO),
        rec(C.SLOT_INFO),
        rec(C.FPGA_STATUS),
        rec(C.FLASH_READ, rng(0x100000, 64)),
        rec(C.FLASH_HASH, rng(0x100000, 4096)),
    ],
    "flash_b": [
        rec(C.FLASH_ERASE, rng(SLOT_B_BIT, SECTOR)),
        write(SLOT_B_BIT, bytes(range(256)) * 2),
        rec(C.FLASH_ERASE, rng(SLOT_B_BIT, SECTOR), RETRY),
        rec(C.FLASH_READ, rng(SLOT_B_BIT, 512)),
        rec(C.FLASH_HASH, rng(SLOT_B_BIT, 512)),
    ],
    "heatshrink": [
        rec(C.FLASH_ERASE, rng(SLOT_B_BLOB, SECTOR)),
        rec(
            C.FLASH_WRITE,
            struct.pack("<IIB3x", SLOT_B_BLOB, 2048, 1) + heatshrink_encode((b"qtdeploy " * 228)[:2048]),
            COMPRESSED,
        ),
    ],
    "commit_b": [
        rec(C.FLASH_ERASE, rng(SLOT_B_BLOB, SECTOR)),
        write(SLOT_B_BLOB, b"\x5a" * 300),
        commit(1, 1, 0, 300),
        rec(C.SLOT_INFO),
        rec(C.FLASH_ERASE, rng(SLOT_A_BIT, SECTOR)),
        rec(C.SLOT_SELECT, b"\0"),
        rec(C.RESET, b"\0"),
        rec(C.SLOT_INFO),
    ],
    "fpga": [rec(C.FPGA_CONFIGURE, b"\xff"), rec(C.FPGA_STATUS), rec(C.FPGA_CONFIGURE, b"\x01")],
    "model_mcu": [
        rec(C.MODEL_LOAD, bytes([MCU, 0xFF])),
        rec(C.INFER, bytes([MCU, 0, 0, 0]) + bytes(IN_COUNT), FIXUP),
    ],
    "model_fpga": [
        rec(C.MODEL_LOAD, bytes([FPGA, 0xFF])),
        rec(C.INFER, bytes([FPGA, 0, 0, 0]) + bytes(IN_COUNT), FIXUP),
    ],
    "stream": [
        rec(C.MODEL_LOAD, bytes([MCU, 0xFF])),
        rec(C.STREAM_START, bytes([MCU, 4, 0, 0])),
        rec(C.STREAM_DATA, struct.pack("<IHH", 0, 2, IN_COUNT) + bytes(2 * IN_COUNT), FIXUP),
        rec(C.STREAM_DATA, struct.pack("<IHH", 0, 1, IN_COUNT) + bytes(IN_COUNT), FIXUP),
        rec(C.STREAM_STOP),
    ],
    "stream_fpga": [
        rec(C.MODEL_LOAD, bytes([FPGA, 0xFF])),
        rec(C.STREAM_START, bytes([FPGA, 2, 0, 0])),
        rec(C.STREAM_DATA, struct.pack("<IHH", 0, 1, IN_COUNT) + bytes(IN_COUNT), FIXUP),
        rec(C.STREAM_STOP),
    ],
    "burst": [
        rec(C.FLASH_ERASE, rng(SLOT_B_BIT, SECTOR), BURST),
        write(SLOT_B_BIT, bytes(256), FIXUP | BURST),
        rec(C.PING, b"a", BURST),
        rec(C.FLASH_ERASE, rng(SLOT_B_BIT, SECTOR), RETRY | BURST),
        rec(C.RESET, b"\0", BURST),
        rec(C.PING, b"lost", BURST),
        rec(C.PING, b"b"),
    ],
    "burst_stream": [
        rec(C.MODEL_LOAD, bytes([MCU, 0xFF]), BURST),
        rec(C.STREAM_START, bytes([MCU, 8, 0, 0]), BURST),
        *[
            rec(C.STREAM_DATA, struct.pack("<IHH", 0, 1, IN_COUNT) + bytes(IN_COUNT), FIXUP | BURST)
            for _ in range(3)
        ],
        rec(C.STREAM_STOP),
    ],
    "hello_mid_stream": [
        rec(C.MODEL_LOAD, bytes([FPGA, 0xFF])),
        rec(C.STREAM_START, bytes([FPGA, 8, 0, 0])),
        rec(C.STREAM_DATA, struct.pack("<IHH", 0, 8, IN_COUNT) + bytes(8 * IN_COUNT), FIXUP | BURST),
        rec(C.PING, bytes(range(1, 90)), BURST),  # windows run while these bytes arrive
        hello(),
        rec(C.STREAM_START, bytes([FPGA, 8, 0, 0]), BURST),
        rec(C.STREAM_DATA, struct.pack("<IHH", 0, 2, IN_COUNT) + bytes(2 * IN_COUNT), FIXUP | BURST),
        rec(C.RESET, b"\0"),
        rec(C.INFER, bytes([FPGA, 0, 0, 0]) + bytes(IN_COUNT), FIXUP),
    ],
    "mangled": [
        rec(C.PING, b"v", wire=WIRE_VERSION),
        rec(C.FLASH_ERASE, rng(SLOT_B_BIT, SECTOR), wire=WIRE_LENGTH | 0x30),
        rec(C.PING, b"j", wire=WIRE_JUNK | WIRE_STATUS),
        rec(C.PING, b"r", RESPONSE, WIRE_VERSION | WIRE_LENGTH),
        rec(C.PING, b"burst", BURST, WIRE_LENGTH),
        rec(C.PING, b"ok"),
    ],
    "bench": [
        rec(C.BUILD_INFO),
        rec(C.MODEL_LOAD, bytes([FPGA, 0xFF])),
        rec(C.POWER_BENCH, struct.pack("<BxHI", FPGA, IN_COUNT, 2) + bytes(IN_COUNT), FIXUP),
        rec(C.MODEL_LOAD, bytes([MCU, 0xFF])),
        rec(C.POWER_BENCH, struct.pack("<BxHI", MCU, IN_COUNT, 1) + bytes(IN_COUNT), FIXUP),
        rec(C.POWER_BENCH, struct.pack("<BxHI", MCU, IN_COUNT, 0) + bytes(IN_COUNT)),
    ],
    "power": [
        rec(C.POWER_READ, struct.pack("<I", 0)),
        rec(C.POWER_STREAM, struct.pack("<BBHI", 1, 0, 200, 0)),
        rec(C.PING, b"", IDLE),
        rec(C.POWER_MARK),
        rec(C.POWER_ENERGY, struct.pack("<I", 1)),
        rec(C.POWER_STREAM, struct.pack("<BBHI", 0, 0, 0, 0)),
    ],
}


def bitstream_seed() -> list[bytes]:
    """Slot B gets the base image's bitstream, is committed with it (IDCODE scan) and configured."""
    from tempfile import TemporaryDirectory

    from make_base import write_base

    with TemporaryDirectory() as tmp:
        write_base(Path(tmp))
        bit = (Path(tmp) / "bitstream.bin").read_bytes()
    chunks = [write(SLOT_B_BIT + at, bit[at : at + 2048]) for at in range(0, len(bit), 2048)]
    return [
        rec(C.FLASH_ERASE, rng(SLOT_B_BIT, SECTOR)),
        *chunks,
        commit(1, 0, len(bit), 0),
        rec(C.FPGA_CONFIGURE, b"\x01"),
        rec(C.MODEL_LOAD, bytes([FPGA, 1])),
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    out = ap.parse_args().out
    out.mkdir(parents=True, exist_ok=True)
    for name, records in {**SEEDS, "commit_b_bitstream": bitstream_seed()}.items():
        (out / name).write_bytes(b"".join(records))


if __name__ == "__main__":
    main()
