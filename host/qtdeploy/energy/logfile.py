"""The energy log writer: CSV segments committed chunk by chunk through a checksummed manifest.

Why this order of writes (see the package docstring for the format): data bytes are made
durable first and the manifest line second, so every manifest line points at bytes that are
on disk; a crash between the two leaves only an uncommitted tail, which readers ignore and the
next writer cuts off. Errors a user can meet (an unwritable directory, a full disk, a log of
other rails) become an ``EnergyLogError`` with the path and what to do.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import time
import uuid
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtdeploy.errors import CompatibilityError, QtdeployError

FORMAT = "qtdeploy-energy-log"
VERSION = 1
MANIFEST = "manifest.csv"
MANIFEST_HEADER = "seq,file,offset,length,rows,sha256,t_first,t_last,line_crc32\n"
EVENT_HEADER = "t_s,unix_s,kind,duration_s,energy_mj,detail\n"
EVENT_KINDS = ("session", "gap", "inference", "marker", "bench")  # bench: `energy bench`'s increment
SEGMENT_MAX_BYTES = 64 << 20  # a new segment after 64 MiB: files stay easy to open


class EnergyLogError(QtdeployError):
    """The energy log cannot be written or resumed (directory, disk, or a different log)."""

    exit_code = 1


@dataclass(frozen=True)
class Sample:
    """One reading of every logged rail: board time, host time, then (V, mA, mW) per rail."""

    t_s: float
    unix_s: float
    rails: tuple[tuple[float, float, float], ...]


@dataclass(frozen=True)
class Event:
    """Something that happened at a time: a session start, a gap, an inference, a marker."""

    t_s: float
    unix_s: float
    kind: str
    duration_s: float | None = None
    energy_mj: float | None = None
    detail: str = ""


def sample_header(rails: tuple[str, ...]) -> str:
    cols = ["t_s", "unix_s"] + [f"{r}_{q}" for r in rails for q in ("v", "ma", "mw")]
    return ",".join(cols) + "\n"


def manifest_line(
    seq: int, name: str, offset: int, length: int, rows: int, sha: str, t0: float, t1: float
) -> str:
    body = f"{seq},{name},{offset},{length},{rows},{sha},{t0:.3f},{t1:.3f}"
    return f"{body},{zlib.crc32(body.encode()):08x}\n"


def _fmt(v: float | None, digits: int) -> str:
    return "" if v is None else f"{v:.{digits}f}"


def _disk_error(err: OSError, path: Path) -> EnergyLogError:
    if err.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return EnergyLogError(
            f"cannot write the energy log {path}: the disk is full ({err.strerror}).",
            "Free space or log to another disk with --out; the log resumes where it stopped.",
        )
    if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
        return EnergyLogError(
            f"cannot write the energy log in {path}: {err.strerror}.",
            "Choose a directory you can write (--out DIR), or fix its permissions.",
        )
    return EnergyLogError(
        f"cannot write the energy log {path}: {err.strerror or err}.", "Check the disk and the path."
    )


@dataclass
class _Segment:
    kind: str  # "samples" | "events"
    path: Path
    header: str
    fh: Any = None
    size: int = 0
    pending: list[str] = field(default_factory=list)
    t_first: float = 0.0
    t_last: float = 0.0


class LogWriter:
    """Appends samples and events to a log directory; ``flush_if_due`` commits a chunk.

    Open with ``LogWriter.open``; it creates the log or resumes it (the rails must match).
    ``durable=False`` skips fsync (tests of logic only: a SIGKILL is survived either way, since
    the page cache outlives the process; a power cut is not).
    """

    def __init__(
        self,
        root: Path,
        meta: dict[str, Any],
        session: int,
        seq: int,
        *,
        flush_interval_s: float,
        durable: bool,
        clock: Any,
    ) -> None:
        self.root = root
        self.meta = meta
        self.rails = tuple(meta["rails"])
        self.session = session
        self.seq = seq
        self.flush_interval_s = flush_interval_s
        self.durable = durable
        self.clock = clock
        self.last_flush = clock()
        self.rows_committed = 0
        self._samples = self._segment("samples", sample_header(self.rails))
        self._events = self._segment("events", EVENT_HEADER)
        self._manifest = self._open(root / MANIFEST, MANIFEST_HEADER)

    # ---- opening ---------------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        root: str | Path,
        *,
        board: str,
        origin: str,
        rails: tuple[str, ...],
        rate_hz: int,
        total_rails: tuple[str, ...] | None = None,
        flush_interval_s: float = 0.5,
        durable: bool = True,
        clock: Any = time.time,
        sample_power: str = "instantaneous",
    ) -> LogWriter:
        """Create the log at ``root`` or resume it; returns a writer on a new session."""
        from qtdeploy.energy.reader import read_log, repair_tail

        if not 0 < flush_interval_s <= 1.0:
            raise ValueError("flush_interval_s must be in (0, 1]: the log promises to lose at most 1 s")
        root = Path(root)
        meta = {
            "format": FORMAT,
            "version": VERSION,
            "board": board,
            "origin": origin,
            "rails": list(rails),
            "rate_hz": rate_hz,
            "total_rails": list(total_rails if total_rails is not None else rails),
            "sample_power": sample_power,
            "log_id": uuid.uuid4().hex,  # the log's identity in a fleet database (energy push)
        }  # "interval_mean": each sample's power is the mean since the previous
        try:
            root.mkdir(parents=True, exist_ok=True)
            meta_path = root / "meta.json"
            if meta_path.exists():
                old = json.loads(meta_path.read_text())
                if old.get("format") != FORMAT or list(old.get("rails", [])) != list(rails):
                    raise CompatibilityError(
                        f"{root} already holds an energy log of rails {old.get('rails')}, not {list(rails)}.",
                        "Resume with the same --rails, or log into a new directory with --out.",
                    )
                meta = old
                data = read_log(root)
                repair_tail(root, data)
                session, seq = data.next_session, data.next_seq
            else:
                tmp = root / "meta.json.tmp"
                with open(tmp, "w") as fh:
                    json.dump(meta, fh, indent=2)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, meta_path)
                session, seq = 0, 0
            writer = cls(
                root, meta, session, seq, flush_interval_s=flush_interval_s, durable=durable, clock=clock
            )
        except OSError as err:
            raise _disk_error(err, root) from err
        return writer

    def _segment(self, kind: str, header: str) -> _Segment:
        seg = _Segment(kind, self.root / f"{kind}-{self.session:04d}.csv", header)
        seg.fh = self._open(seg.path, header)
        seg.size = seg.fh.tell()
        return seg

    def _open(self, path: Path, header: str) -> Any:
        fh = open(path, "ab")
        if fh.tell() == 0:
            fh.write(header.encode())
            self._sync(fh)
        return fh

    def _sync(self, fh: Any) -> None:
        fh.flush()
        if self.durable:
            os.fsync(fh.fileno())

    # ---- appending -------------------------------------------------------------------------
    def add_sample(self, s: Sample) -> None:
        if len(s.rails) != len(self.rails):
            raise ValueError(f"sample has {len(s.rails)} rails, the log {len(self.rails)}")
        vals = ",".join(f"{v:.4f},{i:.4f},{p:.4f}" for v, i, p in s.rails)
        self._queue(self._samples, f"{s.t_s:.6f},{s.unix_s:.3f},{vals}\n", s.unix_s)

    def add_event(self, e: Event) -> None:
        if e.kind not in EVENT_KINDS:
            raise ValueError(f"event kind {e.kind!r} is not one of {EVENT_KINDS}")
        detail = e.detail.replace(",", ";").replace("\n", " ")
        line = (
            f"{e.t_s:.6f},{e.unix_s:.3f},{e.kind},{_fmt(e.duration_s, 6)},{_fmt(e.energy_mj, 6)},{detail}\n"
        )
        self._queue(self._events, line, e.unix_s)

    def _queue(self, seg: _Segment, line: str, t: float) -> None:
        if not seg.pending:
            seg.t_first = t
        seg.pending.append(line)
        seg.t_last = t

    def flush_if_due(self) -> bool:
        """Commit the pending rows if ``flush_interval_s`` has passed; True if it did."""
        if self.clock() - self.last_flush < self.flush_interval_s:
            return False
        self.flush()
        return True

    def flush(self) -> None:
        """Commit every pending row now: data durable first, then its manifest line."""
        self.last_flush = self.clock()
        lines = []
        try:
            for seg in (self._samples, self._events):
                if not seg.pending:
                    continue
                if seg.size >= SEGMENT_MAX_BYTES:
                    self._rotate(seg)
                data = "".join(seg.pending).encode()
                seg.fh.write(data)
                self._sync(seg.fh)
                lines.append(
                    manifest_line(
                        self.seq,
                        seg.path.name,
                        seg.size,
                        len(data),
                        len(seg.pending),
                        hashlib.sha256(data).hexdigest(),
                        seg.t_first,
                        seg.t_last,
                    )
                )
                self.seq += 1
                self.rows_committed += len(seg.pending)
                seg.size += len(data)
                seg.pending.clear()
            if lines:
                self._manifest.write("".join(lines).encode())
                self._sync(self._manifest)
        except OSError as err:
            raise _disk_error(err, self.root) from err

    def _rotate(self, seg: _Segment) -> None:
        seg.fh.close()
        part = 1
        while (p := self.root / f"{seg.kind}-{self.session:04d}-{part:03d}.csv").exists():
            part += 1
        seg.path = p
        seg.fh = self._open(p, seg.header)
        seg.size = seg.fh.tell()

    def close(self) -> None:
        """Commit what is pending and close the files (also safe after an error)."""
        try:
            self.flush()
        finally:
            for fh in (self._samples.fh, self._events.fh, self._manifest):
                try:
                    fh.close()
                except OSError:
                    pass
