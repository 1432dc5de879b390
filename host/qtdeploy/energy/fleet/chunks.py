"""The committed chunks of a local log, read incrementally and verified one by one.

Why not ``energy.reader.read_log``: that parses a whole log into floats, every time. A pusher
needs the opposite: the raw bytes of each chunk it has not pushed yet, read from where it
stopped (a gateway pushes a month-long log while it grows). The rules are the reader's: a
manifest line counts when its CRC-32 matches; a torn last line is an uncommitted tail (left
for the next look); a chunk counts when its bytes hash to the manifest's SHA-256 and hold the
rows it says. Anything else is ``Damaged`` and is never pushed.
"""

from __future__ import annotations

import hashlib
import json
import zlib
from dataclasses import dataclass
from pathlib import Path

from qtdeploy.energy.logfile import MANIFEST, MANIFEST_HEADER
from qtdeploy.energy.reader import Damaged, read_meta


@dataclass(frozen=True)
class Entry:
    """One manifest line: where a chunk's bytes are and what they hash to."""

    seq: int
    file: str
    offset: int
    length: int
    rows: int
    sha256: str
    t_first: float
    t_last: float

    @property
    def kind(self) -> str:
        return self.file.split("-")[0]

    @property
    def session(self) -> int:
        return int(self.file.split("-")[1].split(".")[0])


class ManifestCursor:
    """Reads manifest lines appended since the last call; remembers the byte position."""

    def __init__(self, root: Path) -> None:
        self.path = root / MANIFEST
        self.pos = 0

    def new_entries(self) -> tuple[list[Entry], list[Damaged]]:
        try:
            with open(self.path, "rb") as fh:
                fh.seek(self.pos)
                raw = fh.read()
        except FileNotFoundError:
            return [], []
        damaged: list[Damaged] = []
        if self.pos == 0:
            if not raw.startswith(MANIFEST_HEADER.encode()):
                if len(raw) >= len(MANIFEST_HEADER) or not MANIFEST_HEADER.encode().startswith(raw):
                    damaged.append(Damaged(MANIFEST, "header missing or damaged"))
                return [], damaged
            self.pos = len(MANIFEST_HEADER)
            raw = raw[self.pos :]
        entries = []
        start = 0
        while (end := raw.find(b"\n", start)) >= 0:  # a piece without newline: torn, look again later
            line = raw[start:end]
            fields = line.decode(errors="replace").split(",")
            body = ",".join(fields[:-1])
            if len(fields) != 9 or f"{zlib.crc32(body.encode()):08x}" != fields[-1]:
                damaged.append(
                    Damaged(f"{MANIFEST} byte {self.pos + start}", "manifest line fails its CRC-32")
                )
            else:
                entries.append(
                    Entry(int(fields[0]), fields[1], int(fields[2]), int(fields[3]), int(fields[4]),
                          fields[5], float(fields[6]), float(fields[7]))
                )  # fmt: skip
            start = end + 1
        self.pos += start
        return entries, damaged


def read_chunk(root: Path, e: Entry) -> bytes | Damaged:
    """The chunk's bytes if they verify, else why not."""
    where = f"{e.file} chunk {e.seq} (bytes {e.offset}..{e.offset + e.length})"
    try:
        with open(root / e.file, "rb") as fh:
            fh.seek(e.offset)
            data = fh.read(e.length)
    except OSError as err:
        return Damaged(where, f"cannot be read: {err.strerror}")
    if len(data) != e.length:
        return Damaged(where, f"file holds {len(data)} of its {e.length} bytes")
    if hashlib.sha256(data).hexdigest() != e.sha256:
        return Damaged(where, "SHA-256 mismatch: the bytes changed after they were committed")
    rows = data.count(b"\n")
    if rows != e.rows:
        return Damaged(where, f"{rows} rows, manifest says {e.rows}")
    return data


def log_identity(root: Path) -> tuple[dict, str | None]:
    """(meta, log_id): the id in meta.json, or for logs written before it had one the hash of
    meta.json and the first manifest line (None while the log has no committed chunk)."""
    meta = read_meta(root)
    if meta.get("log_id"):
        return meta, str(meta["log_id"])
    try:
        with open(root / MANIFEST, "rb") as fh:
            fh.readline()
            first = fh.readline()
    except FileNotFoundError:
        return meta, None
    if not first.endswith(b"\n"):
        return meta, None
    blob = json.dumps(meta, sort_keys=True).encode() + first
    return meta, hashlib.sha256(blob).hexdigest()[:32]
