"""Malformed and tricky byte streams for the receiver, each with the outcome link.md §4 requires.

``expect`` is written by hand from the spec, not computed: the vector generator refuses to write
a case whose decoder output disagrees with it, so a decoder bug cannot slip into the vectors.
"""

from __future__ import annotations

from dataclasses import dataclass

from cobs import cobs

from qtdeploy._protocol import LINK_MAX_ENCODED, LINK_MAX_PAYLOAD, Command, Flag
from qtdeploy.link.framing import Frame, build_raw, encode

PING = Frame(Command.PING, b"ok", seq=0x0300)
PONG = Frame(Command.PING, b"ok", seq=0x0300, flags=Flag.RESPONSE)
RESET = Frame(Command.RESET, b"", seq=0x0301)  # no payload: the smallest valid frame (12 bytes)


@dataclass(frozen=True)
class Case:
    name: str
    about: str
    data: bytes
    expect: tuple[str, ...]  # "frame" or an error name, in order


def _flip_last_crc_byte(frame: Frame) -> bytes:
    raw = bytearray(build_raw(frame))
    raw[-1] ^= 0x01
    return cobs.encode(bytes(raw)) + b"\x00"


def cases() -> list[Case]:
    good = encode(PING)
    return [
        Case("good", "A single well-formed request.", good, ("frame",)),
        Case(
            "bad_crc",
            "The last CRC byte is flipped: dropped, not run; its header is plausible, so the board NAKs it with DAMAGED.",
            _flip_last_crc_byte(PING),
            ("crc",),
        ),
        Case(
            "bad_payload_bit",
            "One payload bit flipped on the wire: CRC catches it.",
            cobs.encode(bytes([*build_raw(PING)[:8], ord("o") ^ 0x20, *build_raw(PING)[9:]])) + b"\x00",
            ("crc",),
        ),
        Case(
            "truncated",
            "The last 3 encoded bytes are lost before the delimiter: the COBS code byte points past the end.",
            good[:-4] + b"\x00",
            ("cobs",),
        ),
        Case(
            "bad_cobs",
            "A code byte (0x05) claims 4 more bytes but only 1 follows.",
            b"\x05\x01\x00",
            ("cobs",),
        ),
        Case(
            "short",
            "Decodes to 11 bytes, one less than header + CRC.",
            cobs.encode(bytes(range(1, 12))) + b"\x00",
            ("short",),
        ),
        Case(
            "length_mismatch",
            "CRC is good but the header says 5 payload bytes and 2 arrived: trusted, answered BAD_FRAME.",
            cobs.encode(build_raw(PING, length=5)) + b"\x00",
            ("length",),
        ),
        Case(
            "unknown_version",
            "CRC is good, version 2: trusted, answered BAD_VERSION.",
            encode(Frame(Command.PING, b"ok", seq=0x0300, version=2)),
            ("version",),
        ),
        Case(
            "oversize_payload",
            f"A {LINK_MAX_PAYLOAD + 1}-byte payload: the encoded run exceeds {LINK_MAX_ENCODED} "
            "bytes, reported once as it arrives, skipped to the delimiter; the next frame is fine.",
            cobs.encode(build_raw(Frame(Command.PING, b"\x55" * (LINK_MAX_PAYLOAD + 1)))) + b"\x00" + good,
            ("too_long", "frame"),
        ),
        Case(
            "decoded_too_long",
            "4120 encoded bytes (within the encoded bound) decode to 4119 zero bytes, more than 4108.",
            b"\x01" * 4120 + b"\x00",
            ("too_long",),
        ),
        Case(
            "garbage_then_frame",
            "Line noise ended by a delimiter, then a good frame: the frame is decoded.",
            b"\xde\xad\xbe\xef\x00" + good,
            ("cobs", "frame"),
        ),
        Case(
            "garbage_glued_to_frame",
            "Noise with no delimiter runs into the next frame: that frame is lost "
            "(its CRC fails), the one after it is decoded.",
            b"\x03\xfe\xfe" + good + good,
            ("crc", "frame"),
        ),
        Case(
            "back_to_back",
            "Two frames with one delimiter between them.",
            good + encode(PONG),
            ("frame", "frame"),
        ),
        Case(
            "empty_runs",
            "Leading and repeated delimiters (a host flushing the line) are ignored silently.",
            b"\x00\x00\x00" + good + b"\x00",
            ("frame",),
        ),
        Case("zero_length_payload", "A frame with no payload (RESET) is valid.", encode(RESET), ("frame",)),
        Case(
            "no_delimiter_yet",
            "A frame without its delimiter yields nothing yet; its bytes are pending.",
            good[:-1],
            (),
        ),
        Case(
            "unknown_command",
            "A well-formed frame with an unknown command is a frame; the dispatcher answers "
            "UNKNOWN_COMMAND, not the framing layer.",
            encode(Frame(0x7E, b"", seq=0x0302)),
            ("frame",),
        ),
        Case(
            "noise_only",
            "Random-looking bytes with delimiters: each delimited run is rejected on its own.",
            bytes.fromhex("2a17ff03c8009d41e200"),
            ("cobs", "cobs"),
        ),
    ]
