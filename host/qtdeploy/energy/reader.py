"""Reading an energy log back: every chunk checked against its SHA-256, damage reported.

Why the reader trusts only the manifest: a row is part of the log exactly when the manifest
line of its chunk is complete (its own CRC-32 matches) and the chunk's bytes still hash to the
recorded SHA-256. Anything else is either an uncommitted tail (a crash mid-chunk: expected,
at most one flush interval) or damage (reported chunk by chunk, its rows left out).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtdeploy.energy.logfile import FORMAT, MANIFEST, MANIFEST_HEADER, Event
from qtdeploy.errors import FormatError

_SESSION = re.compile(r"^(?:samples|events)-(\d{4})(?:-\d{3})?\.csv$")


@dataclass(frozen=True)
class Damaged:
    """A chunk (or manifest line) the reader refused, and why."""

    where: str
    reason: str


@dataclass
class LogData:
    """What a log holds: meta, committed sample rows and events, and the reader's findings."""

    root: Path
    meta: dict[str, Any]
    columns: list[str] = field(default_factory=list)
    samples: list[list[float]] = field(default_factory=list)  # t_s, unix_s, then 3 per rail
    events: list[Event] = field(default_factory=list)
    chunks_ok: int = 0
    damaged: list[Damaged] = field(default_factory=list)
    uncommitted_bytes: dict[str, int] = field(default_factory=dict)  # file -> tail beyond commits
    committed_end: dict[str, int] = field(default_factory=dict)
    manifest_good_bytes: int = 0
    next_session: int = 0
    next_seq: int = 0

    @property
    def rails(self) -> list[str]:
        return list(self.meta["rails"])

    @property
    def origin(self) -> str:
        return str(self.meta.get("origin", "unknown"))


def read_meta(root: Path) -> dict[str, Any]:
    path = root / "meta.json"
    try:
        meta = json.loads(path.read_text())
    except FileNotFoundError:
        raise FormatError(
            f"{root} is not an energy log: no meta.json.",
            "Give the directory that `qtdeploy energy log --out` wrote.",
        ) from None
    except (OSError, ValueError) as err:
        raise FormatError(
            f"{path} cannot be read: {err}.", "Restore meta.json from a backup of the log."
        ) from None
    if meta.get("format") != FORMAT or not isinstance(meta.get("rails"), list):
        raise FormatError(f"{path} is not a {FORMAT} meta file.", "Give the directory of an energy log.")
    return meta


def _manifest_entries(root: Path, data: LogData) -> list[list[str]]:
    path = root / MANIFEST
    raw = path.read_bytes() if path.exists() else b""
    if not raw.startswith(MANIFEST_HEADER.encode()):
        if raw:
            data.damaged.append(Damaged(MANIFEST, "header missing or damaged"))
        return []
    pos = len(MANIFEST_HEADER)
    data.manifest_good_bytes = pos
    entries = []
    for line in raw[pos:].split(b"\n"):
        end = pos + len(line) + 1
        if end > len(raw):  # the last piece has no newline: a torn (uncommitted) line
            if line:
                data.uncommitted_bytes[MANIFEST] = len(line)
            break
        fields = line.decode(errors="replace").split(",")
        body = ",".join(fields[:-1])
        if len(fields) != 9 or f"{zlib.crc32(body.encode()):08x}" != fields[-1]:
            data.damaged.append(Damaged(f"{MANIFEST} byte {pos}", "manifest line fails its CRC-32"))
        else:
            entries.append(fields)
            data.manifest_good_bytes = end
        pos = end
    return entries


def read_log(root: str | Path) -> LogData:
    """Read and verify a log; raises ``FormatError`` only when it is not a log at all."""
    root = Path(root)
    data = LogData(root, read_meta(root))
    data.columns = ["t_s", "unix_s"] + [f"{r}_{q}" for r in data.rails for q in ("v", "ma", "mw")]
    # one samples and one events segment in memory at a time (segments run to 64 MiB; the
    # manifest interleaves the two kinds, so a single slot would re-read them every chunk)
    cached: dict[str, tuple[str, bytes]] = {}
    for fields in _manifest_entries(root, data):
        seq, name, offset, length, rows = (
            int(fields[0]),
            fields[1],
            int(fields[2]),
            int(fields[3]),
            int(fields[4]),
        )
        data.next_seq = max(data.next_seq, seq + 1)
        kind = name.split("-")[0]
        if cached.get(kind, ("", b""))[0] != name:
            try:
                cached[kind] = (name, (root / name).read_bytes())
            except OSError:
                cached[kind] = (name, b"")
        chunk = cached[kind][1][offset : offset + length]
        data.committed_end[name] = max(data.committed_end.get(name, 0), offset + length)
        where = f"{name} chunk {seq} (bytes {offset}..{offset + length})"
        if len(chunk) != length:
            data.damaged.append(Damaged(where, f"file holds {len(chunk)} of its {length} bytes"))
            continue
        if hashlib.sha256(chunk).hexdigest() != fields[5]:
            data.damaged.append(
                Damaged(where, "SHA-256 mismatch: the bytes changed after they were committed")
            )
            continue
        text = chunk.decode()
        if text.count("\n") != rows:
            data.damaged.append(Damaged(where, f"{text.count(chr(10))} rows, manifest says {rows}"))
            continue
        data.chunks_ok += 1
        if name.startswith("samples"):
            data.samples.extend([float(x) for x in row] for row in csv.reader(io.StringIO(text)))
        else:
            for row in csv.reader(io.StringIO(text)):
                data.events.append(
                    Event(
                        float(row[0]),
                        float(row[1]),
                        row[2],
                        float(row[3]) if row[3] else None,
                        float(row[4]) if row[4] else None,
                        row[5],
                    )
                )
    sessions = [-1]
    for path in root.iterdir():
        m = _SESSION.match(path.name)
        if m:
            sessions.append(int(m.group(1)))
            size = path.stat().st_size
            header_end = len(path.open("rb").readline())
            tail = size - max(data.committed_end.get(path.name, 0), header_end)
            if tail > 0:
                data.uncommitted_bytes[path.name] = tail
    data.next_session = max(sessions) + 1
    data.samples.sort(key=lambda r: r[1])
    data.events.sort(key=lambda e: e.unix_s)
    return data


def repair_tail(root: Path, data: LogData) -> None:
    """Cut uncommitted tails (a crash mid-chunk) so every CSV ends on a committed row.

    Damaged chunks are left in place for a person to inspect; only bytes no manifest line
    points at are removed, and only from the end of a file.
    """
    for name in data.uncommitted_bytes:
        path = root / name
        if name == MANIFEST:
            keep = data.manifest_good_bytes
        else:
            keep = max(data.committed_end.get(name, 0), len(path.open("rb").readline()))
        with open(path, "r+b") as fh:
            fh.truncate(keep)
