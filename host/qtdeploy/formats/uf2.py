"""UF2 images for the RP2040 and the checks on what is inside them: our own writer and parser.

Why our own and not a library: the format is 512-byte blocks with six little-endian words
(Microsoft's UF2 spec, github.com/microsoft/uf2 README), PyPI's ``uf2``-named packages are
command-line converters, not parsers we can test against; and the tests must check what the
RP2040's ROM checks (boot2's CRC, the vector table), which no UF2 tool does.

Facts (RP2040 datasheet §2.8.1 and §2.8.4; ../shared/ENV5.md):
- block: magic 0x0A324655, 0x9E5D5157; flags; target address; payload size; block number;
  block count; family id (flag 0x2000); 476 data bytes; final magic 0x0AB16F30.
- RP2040: family 0xE48BFF56, 256-byte payloads at 256-aligned addresses from 0x10000000.
- boot2: the first 256 bytes of flash; the ROM runs it only if CRC-32/MPEG-2 of bytes 0..251
  (poly 0x04C11DB7, init 0xFFFFFFFF, not reflected, no final xor) equals the word at 252.
- the vector table at 0x10000100: initial SP in SRAM, reset vector a Thumb address in flash.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from qtdeploy.errors import CompatibilityError, FormatError

MAGIC0, MAGIC1, MAGIC_END = 0x0A324655, 0x9E5D5157, 0x0AB16F30
FLAG_NOT_MAIN_FLASH, FLAG_FAMILY = 0x00000001, 0x00002000
RP2040_FAMILY = 0xE48BFF56
FLASH_BASE = 0x10000000
FLASH_MAX = 16 * 1024 * 1024  # the RP2040's XIP window (datasheet §2.6.3)
PAYLOAD = 256
BLOCK = 512
BOOT2_SIZE = 256
SRAM_START, SRAM_END = 0x20000000, 0x20042000
_HEAD = struct.Struct("<8I")


def crc32_mpeg2(data: bytes) -> int:
    """CRC-32/MPEG-2, the boot ROM's boot2 check ("123456789" -> 0x0376E6E7)."""
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


def boot2_patch(code: bytes) -> bytes:
    """boot2 code (at most 252 bytes) padded with zeros to 252 and its CRC appended: 256 bytes."""
    if len(code) > BOOT2_SIZE - 4:
        raise FormatError(
            f"boot2 is {len(code)} bytes; the ROM copies 256 and the last 4 are its CRC",
            "Shorten boot2 to at most 252 bytes (firmware/hal/rp2040/boot2.S).",
        )
    body = code.ljust(BOOT2_SIZE - 4, b"\0")
    return body + struct.pack("<I", crc32_mpeg2(body))


def boot2_check(image: bytes) -> None:
    """Raise unless the image's first 256 bytes are a boot2 the ROM would run."""
    if len(image) < BOOT2_SIZE:
        raise FormatError(f"image is {len(image)} bytes, shorter than boot2 (256)", "Rebuild the firmware.")
    want = crc32_mpeg2(image[: BOOT2_SIZE - 4])
    got = struct.unpack_from("<I", image, BOOT2_SIZE - 4)[0]
    if want != got:
        raise FormatError(
            f"boot2 CRC is 0x{got:08X}, its first 252 bytes give 0x{want:08X}: the ROM would not boot it",
            "Rebuild the firmware (make rp2040 patches the CRC in).",
        )


@dataclass(frozen=True)
class Vectors:
    """The words of the vector table the ROM and the core use at boot."""

    initial_sp: int
    reset: int


def vector_table(image: bytes) -> Vectors:
    """Check and return the vector table at 0x10000100 (image offset 256)."""
    if len(image) < BOOT2_SIZE + 8:
        raise FormatError("image ends before its vector table", "Rebuild the firmware.")
    sp, reset = struct.unpack_from("<II", image, BOOT2_SIZE)
    problems = []
    if not (SRAM_START < sp <= SRAM_END and sp % 8 == 0):
        problems.append(f"initial SP 0x{sp:08X} is not an 8-aligned SRAM top")
    if not (reset & 1 and FLASH_BASE + BOOT2_SIZE <= reset - 1 < FLASH_BASE + len(image)):
        problems.append(f"reset vector 0x{reset:08X} is not a Thumb address inside the image")
    if problems:
        raise FormatError("; ".join(problems), "Rebuild the firmware with firmware/hal/rp2040/rp2040.ld.")
    return Vectors(sp, reset)


def to_uf2(image: bytes, *, base: int = FLASH_BASE, family: int = RP2040_FAMILY) -> bytes:
    """A flash image (bytes from base) as UF2 blocks of 256-byte payloads."""
    count = (len(image) + PAYLOAD - 1) // PAYLOAD
    out = bytearray()
    for n in range(count):
        data = image[n * PAYLOAD : (n + 1) * PAYLOAD].ljust(PAYLOAD, b"\0")
        head = _HEAD.pack(MAGIC0, MAGIC1, FLAG_FAMILY, base + n * PAYLOAD, PAYLOAD, n, count, family)
        out += head + data.ljust(476, b"\0") + struct.pack("<I", MAGIC_END)
    return bytes(out)


@dataclass(frozen=True)
class Uf2Image:
    """A parsed UF2: the flash bytes it writes (contiguous from base), block facts."""

    base: int
    data: bytes
    blocks: int
    family: int


def parse(raw: bytes, *, family: int = RP2040_FAMILY, name: str = "UF2") -> Uf2Image:
    """Parse and check a UF2 for the RP2040; raise FormatError / CompatibilityError saying why not."""
    if not raw or len(raw) % BLOCK:
        raise FormatError(
            f"{name} is {len(raw)} bytes, not a whole number of 512-byte blocks (truncated?)",
            "Rebuild it: qtdeploy firmware build --board env5.",
        )
    chunks: dict[int, bytes] = {}
    total = None
    for i in range(len(raw) // BLOCK):
        blk = raw[i * BLOCK : (i + 1) * BLOCK]
        m0, m1, flags, addr, size, num, count, fam = _HEAD.unpack_from(blk)
        (end,) = struct.unpack_from("<I", blk, BLOCK - 4)
        if (m0, m1, end) != (MAGIC0, MAGIC1, MAGIC_END):
            raise FormatError(f"{name} block {i} has wrong magic numbers", "This is not a UF2 file.")
        if flags & FLAG_NOT_MAIN_FLASH:
            continue
        if not flags & FLAG_FAMILY or fam != family:
            got = f"0x{fam:08X}" if flags & FLAG_FAMILY else "none"
            raise CompatibilityError(
                f"{name} block {i} is for family {got}, not the RP2040 (0x{family:08X})",
                "Use a UF2 built for the RP2040: qtdeploy firmware build --board env5.",
            )
        if size != PAYLOAD or addr % PAYLOAD or not FLASH_BASE <= addr < FLASH_BASE + FLASH_MAX:
            raise FormatError(
                f"{name} block {i}: {size} bytes at 0x{addr:08X}; the RP2040 ROM takes 256-byte payloads "
                "at 256-aligned flash addresses",
                "Rebuild it with qtdeploy firmware build.",
            )
        if total is None:
            total = count
        if count != total or num != i:
            raise FormatError(
                f"{name} block {i} says it is block {num} of {count} (expected {i} of {total})",
                "The file is damaged or concatenated; rebuild it.",
            )
        chunks[addr] = blk[32 : 32 + PAYLOAD]
    if total is None or len(chunks) != total:
        raise FormatError(
            f"{name} holds {len(chunks)} flash blocks but says {total}: truncated",
            "Copy the whole file again or rebuild it.",
        )
    base = min(chunks)
    end = max(chunks) + PAYLOAD
    data = bytearray(b"\xff" * (end - base))
    for addr, chunk in chunks.items():
        data[addr - base : addr - base + PAYLOAD] = chunk
    return Uf2Image(base, bytes(data), total, family)


def check_firmware(raw: bytes, *, name: str = "UF2") -> Uf2Image:
    """A UF2 the RP2040 will boot: right family, whole, from 0x10000000, boot2 CRC and vectors good."""
    img = parse(raw, name=name)
    if img.base != FLASH_BASE:
        raise FormatError(
            f"{name} starts at 0x{img.base:08X}, not at the flash start 0x{FLASH_BASE:08X} (no boot2)",
            "Use a full firmware image: qtdeploy firmware build.",
        )
    boot2_check(img.data)
    vector_table(img.data)
    return img
