"""A resumable counted fuzz run: the slow target's 10 M inputs as segments that may span sessions.

Why: fuzz_cmd makes ~800-1,100 inputs/s on the 2-core machine once its corpus holds the deep
inputs, so 10 M take ~3 h, longer than a working session, and a stopped libFuzzer run keeps
nothing of its count. With ``QTD_FUZZ_STATE=DIR`` the counted run keeps its corpus and a ledger
under ``DIR/<harness>/``; each segment is one libFuzzer run from that corpus (as libFuzzer's own
-fork jobs are: short runs merging into one corpus), and only a segment that ended clean is
entered. A crash, a leak or a broken invariant fails the test and enters nothing; a killed
segment loses its own inputs only.

The ledger counts for one harness binary and one base image: any change to either (a rebuilt
harness, a changed firmware source) starts the count again at zero, keeping the corpus (its
inputs are still good seeds). Keep ``QTDEPLOY_CACHE`` (where the harness is built) and ``DIR``
between sessions to resume."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from qtdeploy.formats.blob import write_atomic

LEDGER = "ledger.json"
VERSION = 1


class LedgerError(Exception):
    """The ledger file cannot be read as a ledger; the message says how to start over."""


@dataclass
class Segment:
    runs: int
    edges: int
    seconds: float
    finished: str  # UTC, ISO 8601


@dataclass
class Ledger:
    """The clean segments of one harness binary (``fingerprint``), persisted in ``root``."""

    root: Path
    fingerprint: str
    segments: list[Segment] = field(default_factory=list)
    restarted: bool = False  # a ledger of another binary was found and set aside

    @property
    def total(self) -> int:
        return sum(s.runs for s in self.segments)

    @property
    def corpus(self) -> Path:
        return self.root / "corpus"

    @classmethod
    def open(cls, root: Path, fingerprint: str) -> Ledger:
        """The ledger in root for this fingerprint: its segments, or none if the file is missing or
        belongs to another binary (then the corpus is kept and the count starts at zero)."""
        root.mkdir(parents=True, exist_ok=True)
        (root / "corpus").mkdir(exist_ok=True)
        path = root / LEDGER
        if not path.exists():
            return cls(root, fingerprint)
        try:
            data = json.loads(path.read_text())
            if data.get("version") != VERSION:
                raise ValueError(f"version {data.get('version')!r}, this reader is {VERSION}")
            segments = [Segment(**s) for s in data["segments"]]
            theirs = data["fingerprint"]
        except (ValueError, KeyError, TypeError) as exc:
            raise LedgerError(
                f"{path} is not a fuzz ledger ({exc}); remove it to start the count again "
                f"(the corpus beside it can stay)"
            ) from exc
        if theirs != fingerprint:
            return cls(root, fingerprint, restarted=True)
        return cls(root, fingerprint, segments)

    def add(self, runs: int, edges: int, seconds: float) -> None:
        """Enter one clean segment, atomically (a crash mid-write leaves the previous ledger)."""
        self.segments.append(
            Segment(runs, edges, round(seconds, 1), datetime.now(UTC).isoformat(timespec="seconds"))
        )
        body = {
            "version": VERSION,
            "fingerprint": self.fingerprint,
            "segments": [asdict(s) for s in self.segments],
        }
        write_atomic(self.root / LEDGER, json.dumps(body, indent=1).encode())


def fingerprint(*paths: Path) -> str:
    """SHA-256 over the files (a directory: its files, sorted by name), names included."""
    h = hashlib.sha256()
    for p in paths:
        files = sorted(q for q in p.rglob("*") if q.is_file()) if p.is_dir() else [p]
        for q in files:
            h.update(q.name.encode() + b"\0")
            h.update(hashlib.sha256(q.read_bytes()).digest())
    return h.hexdigest()
