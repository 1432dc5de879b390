"""Xilinx 7-series bitstreams: parse .bit/.bin, check them against a board, write simulated ones.

Why walk the configuration packets instead of trusting the .bit header: the header is optional
(.bin has none) and its part string is free text, while the IDCODE packet is what the FPGA's
configuration logic actually compares (a mismatch aborts configuration, UG470 ch. 5 "IDCODE").
The accelerator ABI travels in the AXSS (USR_ACCESS) register write, so the same walk gives
both facts the board checks before it configures. Formats: protocol/bitstream.md.
"""

from __future__ import annotations

import struct
from typing import Any

from qtdeploy.errors import CompatibilityError, FormatError, UsageError

SYNC_WORD = 0xAA995566
SYNC_BYTES = struct.pack(">I", SYNC_WORD)
SYNC_SEARCH = 4096  # the firmware looks no further (firmware/include/qtd/bitstream.h)
BIT_PREAMBLE = bytes.fromhex("00090ff00ff00ff00ff0000001")  # .bit field 0 (length 9) + 0x0001
FRAME_WORDS = 101  # one 7-series configuration frame (UG470 ch. 5, "Frame Address Register")
NOOP = 0x20000000
DESIGN_MAGIC = 0x51544444  # "QTDD": a simulated bitstream's design descriptor follows (qtdeploy.sim.design)
SIM_DESIGN = "qtdeploy-sim, not loadable onto silicon"

# Configuration registers (UG470 Table 5-23) and CMD codes (UG470 Table 5-25).
REGISTERS = {
    0x00: "CRC",
    0x01: "FAR",
    0x02: "FDRI",
    0x03: "FDRO",
    0x04: "CMD",
    0x05: "CTL0",
    0x06: "MASK",
    0x07: "STAT",
    0x08: "LOUT",
    0x09: "COR0",
    0x0A: "MFWR",
    0x0B: "CBC",
    0x0C: "IDCODE",
    0x0D: "AXSS",
    0x0E: "COR1",
    0x10: "WBSTAR",
    0x11: "TIMER",
    0x13: "RBCRC_SW",
    0x16: "BOOTSTS",
    0x18: "CTL1",
    0x1F: "BSPI",
}
REG = {name: addr for addr, name in REGISTERS.items()}
COMMANDS = {
    0x00: "NULL",
    0x01: "WCFG",
    0x02: "MFW",
    0x03: "LFRM",
    0x04: "RCFG",
    0x05: "START",
    0x06: "RCAP",
    0x07: "RCRC",
    0x08: "AGHIGH",
    0x09: "SWITCH",
    0x0A: "GRESTORE",
    0x0B: "SHUTDOWN",
    0x0C: "GCAPTURE",
    0x0D: "DESYNC",
    0x0F: "IPROG",
    0x10: "CRCC",
    0x11: "LTIMER",
    0x12: "BSPI_READ",
    0x13: "FALL_EDGE",
}
CMD = {name: code for code, name in COMMANDS.items()}

# JTAG IDCODEs without the revision nibble (UG470 Table 1-1), to name the part a bitstream is for.
DEVICES = {
    0x3622093: "xc7s6",
    0x3620093: "xc7s15",
    0x37C4093: "xc7s25",
    0x362F093: "xc7s50",
    0x37C8093: "xc7s75",
    0x37C7093: "xc7s100",
    0x37C3093: "xc7a12t",
    0x362E093: "xc7a15t",
    0x37C2093: "xc7a25t",
    0x362D093: "xc7a35t",
    0x362C093: "xc7a50t",
    0x3632093: "xc7a75t",
    0x3631093: "xc7a100t",
    0x3636093: "xc7a200t",
}
_IDCODE_MASK = 0x0FFFFFFF  # bits 31:28 are the silicon revision


def _fail(
    source: str,
    problem: str,
    fix: str = "Rebuild or re-export the bitstream; the file is damaged or not a 7-series bitstream.",
) -> FormatError:
    return FormatError(f"{source}: {problem}", fix)


def parse_bit_header(data: bytes, source: str) -> tuple[dict[str, str], bytes]:
    """Split a .bit file into its header fields (a..d) and the configuration data ('e')."""
    if len(data) < len(BIT_PREAMBLE) or not data.startswith(BIT_PREAMBLE):
        raise _fail(source, "truncated .bit header (the 0x0009 0ff0... preamble is incomplete).")
    pos, fields = len(BIT_PREAMBLE), dict[str, str]()
    names = {"a": "design", "b": "part", "c": "date", "d": "time"}
    while True:
        if pos >= len(data):
            raise _fail(source, "truncated .bit header: it ends before the 'e' (data) field.")
        key = chr(data[pos])
        pos += 1
        if key == "e":
            if pos + 4 > len(data):
                raise _fail(source, "truncated .bit header: the 'e' length field is cut off.")
            (length,) = struct.unpack_from(">I", data, pos)
            pos += 4
            if pos + length > len(data):
                raise _fail(
                    source,
                    f"the .bit 'e' field announces {length} bytes but only {len(data) - pos} follow (truncated file).",
                )
            return fields, data[pos : pos + length]
        if key not in names:
            raise _fail(source, f"unknown .bit header field {key!r} at byte {pos - 1}.")
        if pos + 2 > len(data):
            raise _fail(source, f"truncated .bit header in field {key!r}.")
        (length,) = struct.unpack_from(">H", data, pos)
        pos += 2
        if pos + length > len(data):
            raise _fail(source, f".bit header field {key!r} runs past the end of the file.")
        fields[names[key]] = data[pos : pos + length].rstrip(b"\0").decode("ascii", "replace")
        pos += length


def walk_packets(config: bytes, source: str) -> dict[str, Any]:
    """Walk type-1/type-2 packets after the sync word (UG470 "Configuration Packets").

    Collects register writes the board cares about; stops at DESYNC. Raises FormatError on a
    missing sync word, an unknown packet type or register, or a word count beyond the data.
    """
    sync_at = config.find(SYNC_BYTES, 0, SYNC_SEARCH + 4)
    if sync_at < 0:
        raise _fail(
            source, f"no sync word 0xAA995566 in the first {SYNC_SEARCH} bytes of configuration data."
        )
    words_total = (len(config) - sync_at - 4) // 4
    words = struct.unpack_from(f">{words_total}I", config, sync_at + 4)
    out: dict[str, Any] = {
        "sync_offset": sync_at,
        "commands": [],
        "fdri_words": 0,
        "crc_checks": 0,
        "desync": False,
    }
    i, last_reg = 0, None
    while i < len(words):
        header = words[i]
        kind, op = header >> 29, (header >> 27) & 3
        at = sync_at + 4 + 4 * i
        if kind == 1:
            reg, count = (header >> 13) & 0x3FFF, header & 0x7FF
        elif kind == 2:
            if last_reg is None:
                raise _fail(source, f"type-2 packet at byte {at} without a preceding type-1 packet.")
            reg, count = last_reg, header & 0x07FFFFFF
        else:
            raise _fail(
                source, f"bad packet header {header:#010x} at byte {at} (type {kind}; only 1 and 2 exist)."
            )
        i += 1
        if op == 0 or op == 1:  # NOOP, or a read: no payload in the stream
            continue
        # Register addresses are 5 bits (UG470 Table 5-20: bits 26:18 reserved, 0); unnamed
        # addresses below 0x20 exist in real bitstreams and are passed over, not refused.
        if op == 3 or reg > 0x1F:
            raise _fail(
                source, f"bad packet header {header:#010x} at byte {at} (opcode {op}, register {reg:#x})."
            )
        name = REGISTERS.get(reg, f"REG_{reg:#04x}")
        if i + count > len(words):
            raise _fail(
                source,
                f"packet at byte {at} announces {count} words for {name} but only {len(words) - i} remain (truncated file).",
            )
        last_reg = reg
        payload = words[i : i + count]
        i += count
        if name in ("FDRI", "MFWR"):
            out["fdri_words"] += count if name == "FDRI" else 0
            out["compressed"] = out.get("compressed", False) or name == "MFWR"
        elif name == "CMD" and payload:
            out["commands"].append(COMMANDS.get(payload[-1], f"{payload[-1]:#x}"))
            if payload[-1] == CMD["DESYNC"]:
                out["desync"] = True
                break
        elif name == "CRC":
            out["crc_checks"] += 1
        elif name in ("IDCODE", "AXSS", "WBSTAR", "COR0", "COR1") and count == 1:
            out[name.lower()] = payload[0]
        elif name in ("IDCODE", "AXSS") and count != 1:
            raise _fail(source, f"{name} write at byte {at} carries {count} words; it must carry exactly 1.")
    return out


def describe(data: bytes, source: str) -> dict[str, Any]:
    """What a bitstream is for: container, header, IDCODE/part, ABI (AXSS), frame data size."""
    header: dict[str, str] | None = None
    if data[:2] == BIT_PREAMBLE[:2]:
        header, config = parse_bit_header(data, source)
        container = "bit"
    else:
        config, container = data, "bin"
    packets = walk_packets(config, source)
    if "idcode" not in packets:
        raise _fail(
            source,
            "no IDCODE packet: the bitstream does not say which FPGA it is for.",
            "Build it with Vivado (write_bitstream) or `qtdeploy rtl sim-bitstream`; raw partial bitstreams are not supported.",
        )
    idcode, abi = packets["idcode"], packets.get("axss")
    return {
        "kind": "bitstream",
        "source": source,
        "container": container,
        "file_bytes": len(data),
        "config_bytes": len(config),
        "header": header,
        "simulated": bool(header and header.get("design", "").startswith(SIM_DESIGN)),
        # Hex strings, as the blob's describe() writes its ABI, so JSON consumers compare like
        # with like; the *_value ints are for code (check_part).
        "idcode": f"{idcode:#010x}",
        "idcode_value": idcode,
        "device": DEVICES.get(idcode & _IDCODE_MASK),
        "abi": None if abi is None else f"{abi:#010x}",
        "abi_value": abi,
        "wbstar": packets.get("wbstar"),
        "fdri_words": packets["fdri_words"],
        "frames": packets["fdri_words"] // FRAME_WORDS,
        "compressed": packets.get("compressed", False),
        "crc_checks": packets["crc_checks"],
        "commands": packets["commands"],
        "desync": packets["desync"],
    }


def _short_part(part: str) -> str:
    """'xc7s15ftgb196-1' -> '7s15ftgb196', the form Vivado writes into the .bit 'b' field."""
    part = part.lower().removeprefix("xc")
    return part.split("-")[0]


def check_part(info: dict[str, Any], board: Any) -> None:
    """Refuse a bitstream built for another FPGA than the board's (CompatibilityError)."""
    want = board.fpga.idcode & _IDCODE_MASK
    got = info["idcode_value"] & _IDCODE_MASK
    if got != want:
        raise CompatibilityError(
            f"{info['source']} is for IDCODE {info['idcode']} ({info['device'] or 'unknown part'}), "
            f"but board {board.id} has a {board.fpga.part} (IDCODE {board.fpga.idcode:#010x}).",
            f"Build the bitstream for {board.fpga.part}, or pass the --board it was built for.",
        )
    part = (info.get("header") or {}).get("part")
    if part and _short_part(part) != _short_part(board.fpga.part):
        raise CompatibilityError(
            f"{info['source']}: its .bit header names part {part}, but board {board.id} has a {board.fpga.part}.",
            f"Rebuild the bitstream for {board.fpga.part}.",
        )


def check_fits(info: dict[str, Any], board: Any) -> None:
    """Refuse a bitstream larger than the board's smallest bitstream region."""
    room = min(s.bitstream.size for s in board.layout.slots.values())
    if info["file_bytes"] > room:
        raise CompatibilityError(
            f"{info['source']} is {info['file_bytes']:,} bytes; board {board.id}'s bitstream regions hold {room:,}.",
            "Use an uncompressed or compressed bitstream for the board's FPGA, or enlarge the regions in the board file.",
        )


def _type1(reg: str, count: int = 1) -> int:
    return 0x30000000 | REG[reg] << 13 | count


def _sim_frames(abi: int, frames: int) -> list[int]:
    """Deterministic, bitstream-like fill (protocol/bitstream.md "Simulated bitstreams").

    xorshift32 seeded from the ABI; 3 in 8 frames are "configured", and in those a word is a
    random 32-bit value with probability 1/4, else zero; the last frame is the all-zero pad
    frame. Sparse like a small design's bitstream, so compression ratios are not flattered by
    zeros nor ruined by noise.
    """
    state = (abi ^ 0x9E3779B9) or 0x2545F491

    def rnd() -> int:
        nonlocal state
        state ^= (state << 13) & 0xFFFFFFFF
        state ^= state >> 17
        state ^= (state << 5) & 0xFFFFFFFF
        return state

    words: list[int] = []
    zero_frame = [0] * FRAME_WORDS
    for _ in range(frames - 1):
        if rnd() & 7 < 3:
            words.extend(rnd() if rnd() & 3 == 0 else 0 for _ in range(FRAME_WORDS))
        else:
            words.extend(zero_frame)
    words.extend(zero_frame)
    return words


def design_words(design: str) -> list[int]:
    """The frame-data words that carry ``design`` (big-endian, as every bitstream word)."""
    raw = design.encode("ascii")
    raw += b"\0" * (-len(raw) % 4)
    return [DESIGN_MAGIC, len(design)] + list(struct.unpack(f">{len(raw) // 4}I", raw))


def write_sim_bitstream(abi: int, board: Any, design: str | None = None) -> bytes:
    """A .bit for the virtual board: real container and packet syntax, the board's IDCODE,
    AXSS = ``abi``, padded to the part's real bitstream length. Not loadable onto silicon.
    ``design`` (qtdeploy.sim.design.sim_design) goes at the start of the frame data: without it
    the virtual FPGA answers ID and ABI but has no accelerator engine."""
    if not 0 <= abi <= 0xFFFFFFFF:
        raise UsageError(
            f"ABI {abi:#x} does not fit the 32-bit USR_ACCESS register.",
            "Pass an ABI between 0 and 0xFFFFFFFF.",
        )
    head = [0xFFFFFFFF] * 8 + [0x000000BB, 0x11220044, 0xFFFFFFFF, 0xFFFFFFFF, SYNC_WORD, NOOP]
    head += [_type1("TIMER"), 0, _type1("WBSTAR"), 0, _type1("CMD"), CMD["NULL"], NOOP]
    head += [_type1("CMD"), CMD["RCRC"], NOOP, NOOP]
    head += [_type1("COR0"), 0x02003FE5, _type1("COR1"), 0, _type1("IDCODE"), board.fpga.idcode]
    head += [_type1("AXSS"), abi, _type1("CMD"), CMD["SWITCH"], NOOP]
    head += [_type1("MASK"), 0x401, _type1("CTL0"), 0x501, _type1("MASK"), 0, _type1("CTL1"), 0] + [NOOP] * 8
    head += [_type1("FAR"), 0, _type1("CMD"), CMD["WCFG"], NOOP, _type1("FDRI", 0)]
    tail = [_type1("CMD"), CMD["GRESTORE"], NOOP, _type1("CMD"), CMD["LFRM"]] + [NOOP] * 100
    tail += [_type1("CMD"), CMD["START"], NOOP, _type1("MASK"), 0x501, _type1("CTL0"), 0x501]
    tail += [_type1("CMD"), CMD["DESYNC"]]
    total_words = board.fpga.bitstream_bytes // 4
    frames = (total_words - len(head) - 1 - len(tail)) // FRAME_WORDS
    if frames < 2:
        raise CompatibilityError(
            f"board {board.id}: fpga.bitstream_bytes {board.fpga.bitstream_bytes} is too small for a bitstream.",
            "Fix the board file.",
        )
    fill = _sim_frames(abi, frames)
    if design is not None:
        words = design_words(design)
        if len(words) > len(fill) - FRAME_WORDS:
            raise CompatibilityError(
                "the design descriptor does not fit the frame data.", "Shorten the design."
            )
        fill[: len(words)] = words
    body = head + [0x50000000 | len(fill)] + fill + tail
    body += [NOOP] * (total_words - len(body))
    config = struct.pack(f">{len(body)}I", *body)
    from qtdeploy import __version__

    fields = [
        ("a", f"{SIM_DESIGN};UserID=0XFFFFFFFF;Version=qtdeploy-{__version__}"),
        ("b", _short_part(board.fpga.part)),
        ("c", "2000/01/01"),
        ("d", "00:00:00"),
    ]
    header = bytearray(BIT_PREAMBLE)
    for key, text in fields:
        raw = text.encode("ascii") + b"\0"
        header += key.encode() + struct.pack(">H", len(raw)) + raw
    header += b"e" + struct.pack(">I", len(config))
    return bytes(header) + config
