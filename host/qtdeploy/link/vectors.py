"""Golden link vectors for host and firmware, and the Status table in link.md.

``python -m qtdeploy.link.vectors --write`` regenerates ``protocol/vectors/link/*.json`` and the
status table between the markers in protocol/link.md; ``--check`` exits 1 when either is stale
(tests/host/test_link_vectors.py does the same in memory). The C firmware's tests read the same
JSON: ``frames.json`` (good frames: fields, payload, exact wire bytes) and ``malformed.json``
(byte streams and the exact sequence of frames / error names the receiver must produce).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from qtdeploy._protocol import STATUS_INFO, Command, Status
from qtdeploy.codegen import sync_outputs
from qtdeploy.link.examples import examples
from qtdeploy.link.framing import BadFrame, Decoder, Frame, build_raw, encode
from qtdeploy.link.malformed import cases
from qtdeploy.paths import repo_root

VECTOR_DIR = Path("protocol/vectors/link")
LINK_MD = Path("protocol/link.md")
_BEGIN, _END = "<!-- status-table:begin -->", "<!-- status-table:end -->"


def jsonable(value: Any) -> Any:
    """construct Containers -> plain JSON: bytes as hex, Padding (None) dropped, enums as ints."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items() if not k.startswith("_") and v is not None}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return value


def header_json(frame: Frame) -> dict[str, Any]:
    return {
        "version": frame.version,
        "flags": frame.flags,
        "seq": frame.seq,
        "command": frame.command,
        "command_name": _name(Command, frame.command),
        "status": frame.status,
        "status_name": _name(Status, frame.status),
        "length": len(frame.payload),
        "payload_hex": frame.payload.hex(),
    }


def _name(enum: type, code: int) -> str | None:
    try:
        return enum(code).name
    except ValueError:
        return None


def frames_json() -> dict[str, Any]:
    out = []
    for ex in examples():
        payload = ex.struct.build(ex.fields)
        frame = Frame(ex.command, payload, ex.seq, int(ex.flags), int(ex.status))
        out.append(
            {
                "name": ex.name,
                **header_json(frame),
                "layout": ex.layout,
                "fields": jsonable(ex.struct.parse(payload)),
                "raw_hex": build_raw(frame).hex(),
                "encoded_hex": encode(frame).hex(),
            }
        )
    return {
        "about": "Good frames: every command's request and response, events, retries and error answers. "
        "raw_hex is header+payload+CRC before COBS; encoded_hex is the exact wire bytes including the "
        "0x00 delimiter. fields are the payload decoded with the layout named (protocol/link.md section 7).",
        "frames": out,
    }


def _expect(item: Frame | BadFrame) -> dict[str, Any]:
    if isinstance(item, Frame):
        return {"frame": header_json(item)}
    return {"error": item.kind.value, "header": header_json(item.header) if item.header else None}


def malformed_json() -> dict[str, Any]:
    out = []
    for case in cases():
        decoder = Decoder()
        got = decoder.feed(case.data)
        kinds = tuple("frame" if isinstance(i, Frame) else i.kind.value for i in got)
        if kinds != case.expect:
            raise AssertionError(
                f"malformed case {case.name}: decoder gives {kinds}, spec says {case.expect}"
            )
        out.append(
            {
                "name": case.name,
                "about": case.about,
                "input_hex": case.data.hex(),
                "expect": [_expect(i) for i in got],
                "pending_bytes": decoder.pending,
                "counters": dict(sorted(decoder.counters.items())),
            }
        )
    return {
        "about": "Byte streams fed to a fresh receiver, and what it must produce, in order: frames and "
        "rejections by stable error name (protocol/link.md section 4). header is present only for "
        "rejections whose CRC was good. pending_bytes: bytes held waiting for a delimiter at the end.",
        "cases": out,
    }


def render_status_table() -> str:
    rows = ["| code | name | meaning | action |", "|---|---|---|---|"]
    for status in Status:
        info = STATUS_INFO[status]
        rows.append(
            f"| 0x{status.value:02X} | {status.name} | {info['meaning']} | {info['action'].replace('|', '/')} |"
        )
    return "\n".join(rows)


def link_md_with_table(text: str) -> str:
    head, rest = text.split(_BEGIN, 1)
    _, tail = rest.split(_END, 1)
    return f"{head}{_BEGIN}\n{render_status_table()}\n{_END}{tail}"


def outputs(root: Path) -> dict[Path, str]:
    """Every generated file (relative path -> expected text)."""
    dump = lambda obj: json.dumps(obj, indent=1) + "\n"  # noqa: E731
    return {
        VECTOR_DIR / "frames.json": dump(frames_json()),
        VECTOR_DIR / "malformed.json": dump(malformed_json()),
        LINK_MD: link_md_with_table((root / LINK_MD).read_text()),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--write", action="store_true", help="regenerate the vectors and link.md's status table"
    )
    group.add_argument("--check", action="store_true", help="exit 1 if anything is stale")
    args = parser.parse_args(argv)
    root = repo_root()
    return sync_outputs(
        root, outputs(root), check=args.check, regenerate="python -m qtdeploy.link.vectors --write"
    )


if __name__ == "__main__":
    raise SystemExit(main())
