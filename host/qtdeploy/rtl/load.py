"""The SPI transactions that load a blob into the accelerator (protocol/regmap.md), as MOSI bytes.

The firmware's accelerator driver sends the same sequence; the RTL testbench replays it.
"""

from __future__ import annotations

import struct

import numpy as np

from qtdeploy import _protocol as P
from qtdeploy.formats.packing import pack_bits

CMD_READ, CMD_WRITE = 0x40, 0x80


def write(addr: int, data: bytes) -> bytes:
    return bytes([CMD_WRITE, addr >> 8, addr & 0xFF]) + data


def read(addr: int, n: int) -> bytes:
    return bytes([CMD_READ, addr >> 8, addr & 0xFF, 0]) + bytes(n)


def tensor_bytes(data: np.ndarray, bits: int, signed: bool) -> bytes:
    return pack_bits(np.asarray(data).ravel(), bits, signed)


def load_transactions(blob, chunk: int = 4096) -> list[bytes]:
    """Every tensor (index, offset 0, packed bytes into WLOAD_DATA) and every LUT, in table order."""
    out: list[bytes] = []
    for idx, t in enumerate(blob.tensors):
        data = tensor_bytes(t.data, t.bits, t.signed)
        out.append(write(P.REG_WLOAD_TENSOR, struct.pack("<II", idx, 0)))
        for o in range(0, len(data), chunk):
            out.append(write(P.REG_WLOAD_DATA, data[o : o + chunk]))
    for idx, lut in enumerate(blob.luts):
        data = tensor_bytes(lut.data, lut.bits, lut.signed)
        out.append(write(P.REG_LUT_SELECT, struct.pack("<II", idx, 0)))
        out.append(write(P.REG_LUT_DATA, data))
    return out


def crc8(data: bytes) -> int:
    """CRC-8/SMBUS (poly 0x07, init 0): the SPI_LAST checksums."""
    c = 0
    for b in data:
        c ^= b
        for _ in range(8):
            c = ((c << 1) ^ 0x07) & 0xFF if c & 0x80 else (c << 1) & 0xFF
    return c
