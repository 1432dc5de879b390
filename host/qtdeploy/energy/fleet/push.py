"""Pushing a log's verified chunks into the fleet database, each exactly once.

Why a ledger row per chunk, in the same transaction as the chunk's rows: the database then
knows which chunks it holds exactly when it holds their rows. Every way a push can be repeated
ends in the same place: a retry after a lost answer, a gateway restarted mid-push, two pushes
of one directory (even at the same time) all meet ``INSERT .. ON CONFLICT DO NOTHING`` on
(log, seq) and add no rows; a rolled-back batch (server restart, SIGKILL of the gateway) left
neither ledger rows nor samples. The pusher keeps no state of its own that matters: after any
error it drops its connection and re-reads the ledger, so the local log stays the source of
truth and the database converges to it. A chunk whose bytes fail their SHA-256 is reported
and never pushed; a ledger row whose SHA-256 differs from the local manifest's is a conflict
(reported: two different logs claim one identity).

Rows go in with COPY (text format, converted from the log's CSV without parsing numbers), many
chunks per transaction (``batch_rows``), which is what keeps ingest near the server's bare COPY
rate (bench/fleet.py measures the ratio).
"""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qtdeploy.energy.fleet.chunks import Entry, ManifestCursor, log_identity, read_chunk
from qtdeploy.energy.fleet.db import (
    FleetError,
    SchemaError,
    classify,
    connect,
    ensure_schema,
    privilege_error,
    psycopg_module,
    redact,
)
from qtdeploy.energy.reader import Damaged

SAMPLE_COLS = "log_key, session, chunk, t_s, unix_s, v, ma, mw"
EVENT_COLS = "log_key, session, chunk, t_s, unix_s, kind, duration_s, energy_mj, detail"
_ESC = str.maketrans({"\\": "\\\\", "\t": "\\t", "\r": "\\r", "\n": "\\n"})


class BadRow(ValueError):
    """A verified chunk whose rows do not have the log's columns (a writer bug, not a crash)."""


@dataclass
class PushStats:
    """What one push (or a continuous pusher so far) did, JSON-ready through ``to_dict``."""

    log: str
    database: str
    log_id: str | None = None
    board: str | None = None
    chunks_pushed: int = 0
    chunks_present: int = 0  # already in the database (an earlier or concurrent push)
    samples: int = 0
    events: int = 0
    damaged: list[Damaged] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "log": self.log,
            "database": self.database,
            "log_id": self.log_id,
            "board": self.board,
            "chunks_pushed": self.chunks_pushed,
            "chunks_already_there": self.chunks_present,
            "samples_pushed": self.samples,
            "events_pushed": self.events,
            "damaged": [{"where": d.where, "reason": d.reason} for d in self.damaged],
            "conflicts": list(self.conflicts),
        }


def default_board(meta: dict[str, Any]) -> str:
    """A board's fleet name when --board is not given: its id at this gateway's host name."""
    return f"{meta.get('board', 'board')}@{socket.gethostname()}"


class LogPusher:
    """Pushes what a log directory has committed and the database lacks; call ``push`` again as
    the log grows. Raises ``FleetError`` subclasses (the connection is dropped first)."""

    def __init__(
        self, root: str | Path, url: str, *, board: str | None = None, batch_rows: int = 20000
    ) -> None:
        self.root = Path(root)
        self.url = url
        self.board_arg = board
        self.batch_rows = batch_rows
        self.meta, self.log_id = log_identity(self.root)  # FormatError now if it is not a log
        self.stats = PushStats(str(self.root), redact(url), self.log_id, board)
        self.conn: Any = None
        # Kept across reconnects (a month-long log is not re-read after every network blip):
        # the manifest position, the entries read but not yet in the database, and the seqs the
        # ledger is known to hold. A batch whose answer was lost is simply sent again: the
        # ledger's ON CONFLICT finds it there.
        self.cursor = ManifestCursor(self.root)
        self.pending: list[Entry] = []
        self.known: dict[int, str] = {}  # seq -> sha256 in the ledger
        self.ledger_loaded = False
        self.log_key: int | None = None
        self._seen_damage: set[str] = set()

    def close(self) -> None:
        """Drop the connection (the push state stays: ``push`` reconnects and goes on)."""
        if self.conn is not None:
            try:
                self.conn.close()
            except Exception:  # a broken connection may fail to close; it is gone either way
                pass
        self.conn = None

    # ---- connecting ---------------------------------------------------------------------
    def open(self) -> None:
        """Connect, check (or create) the schema, register the log and read its ledger."""
        if self.conn is not None:
            return
        self.conn = connect(self.url)
        try:
            ensure_schema(self.conn)
            if self.log_id is None:
                self.meta, self.log_id = log_identity(self.root)
                self.stats.log_id = self.log_id
            if self.log_id is not None:
                self._register()
        except BaseException:
            self.close()
            raise

    def _register(self) -> None:
        m = self.meta
        board = self.board_arg or default_board(m)
        with self.conn.transaction():
            self.conn.execute(
                "INSERT INTO qtd_logs (log_id, board, origin, rails, total_rails, rate_hz, sample_power, meta)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT (log_id) DO NOTHING",
                (
                    self.log_id, board, m.get("origin", "unknown"), list(m["rails"]),
                    list(m.get("total_rails", m["rails"])), int(m.get("rate_hz") or 0),
                    m.get("sample_power", "instantaneous"), json.dumps(m),
                ),
            )  # fmt: skip
            key, have = self.conn.execute(
                "SELECT log_key, board FROM qtd_logs WHERE log_id = %s", (self.log_id,)
            ).fetchone()
        if self.board_arg and have != self.board_arg:
            raise FleetError(
                f"the log {self.root} is already in the database as board {have!r}, not {self.board_arg!r}.",
                f"Push it with --board {have} (or without --board).",
            )
        self.log_key, self.stats.board = key, have
        if not self.ledger_loaded:
            rows = self.conn.execute("SELECT seq, sha256 FROM qtd_chunks WHERE log_key = %s", (key,))
            self.known = dict(rows.fetchall())
            self.ledger_loaded = True

    # ---- pushing ------------------------------------------------------------------------
    def push(self, progress: Callable[[int, int], None] | None = None) -> PushStats:
        """Push every committed chunk not yet in the database; ``progress(done, total)``."""
        psycopg = psycopg_module()
        try:
            self.open()
            if self.log_key is None:
                return self.stats  # nothing committed yet: no identity, nothing to push
            entries, damaged = self.cursor.new_entries()
            self._note_damage(damaged)
            todo = []
            for e in self.pending + entries:
                if e.seq in self.known:
                    self.stats.chunks_present += 1
                    if self.known[e.seq] != e.sha256:
                        self._conflict(e)
                else:
                    todo.append(e)
            self.pending = todo
            batch: list[tuple[Entry, bytes]] = []
            rows = 0
            for n, e in enumerate(todo):
                data = read_chunk(self.root, e)
                if isinstance(data, Damaged):
                    self._note_damage([data])
                    continue
                batch.append((e, data))
                rows += e.rows
                if rows >= self.batch_rows:
                    self._commit(batch)
                    batch, rows = [], 0
                    self.pending = todo[n + 1 :]
                    if progress:
                        progress(n + 1, len(todo))
            if batch:
                self._commit(batch)
            self.pending = []
            if progress:
                progress(len(todo), len(todo))
        except psycopg.OperationalError as err:
            self.close()
            raise classify(err, self.url) from None
        except psycopg.errors.InsufficientPrivilege as err:
            self.close()
            raise privilege_error(err) from None
        except psycopg.Error as err:
            self.close()
            raise FleetError(
                f"the database at {redact(self.url)} refused the push: {_first(err)}.",
                "Check the database (qtdeploy energy migrate --to URL checks and updates its schema).",
            ) from None
        except (FleetError, SchemaError):
            self.close()
            raise
        return self.stats

    def _commit(self, batch: list[tuple[Entry, bytes]]) -> None:
        psycopg = psycopg_module()
        try:
            self._commit_batch(batch)
        except (psycopg.DataError, BadRow) as err:  # the transaction rolled back
            if len(batch) > 1:  # find the chunk the server refused; push the others
                for one in batch:
                    self._commit([one])
                return
            e = batch[0][0]
            self._note_damage([Damaged(f"{e.file} chunk {e.seq}", f"rows refused: {_first(err)}")])

    def _commit_batch(self, batch: list[tuple[Entry, bytes]]) -> None:
        es = [e for e, _ in batch]
        with self.conn.transaction():
            cur = self.conn.execute(
                "INSERT INTO qtd_chunks (log_key, seq, file, kind, session, rows, sha256, t_first, t_last)"
                " SELECT %s, * FROM unnest(%s::int[], %s::text[], %s::text[], %s::int[], %s::int[],"
                " %s::text[], %s::float8[], %s::float8[]) ON CONFLICT DO NOTHING RETURNING seq",
                (
                    self.log_key, [e.seq for e in es], [e.file for e in es], [e.kind for e in es],
                    [e.session for e in es], [e.rows for e in es], [e.sha256 for e in es],
                    [e.t_first for e in es], [e.t_last for e in es],
                ),
            )  # fmt: skip
            fresh = {r[0] for r in cur.fetchall()}
            key = self.log_key
            assert key is not None  # set by _register before any batch
            nr = len(self.meta["rails"])
            samples = "".join(
                copy_samples_text(key, e, d, nr) for e, d in batch if e.seq in fresh and e.kind == "samples"
            )
            events = "".join(
                copy_events_text(key, e, d) for e, d in batch if e.seq in fresh and e.kind == "events"
            )
            for table, cols, text in (
                ("qtd_samples", SAMPLE_COLS, samples),
                ("qtd_events", EVENT_COLS, events),
            ):
                if text:
                    with self.conn.cursor().copy(f"COPY {table} ({cols}) FROM STDIN") as cp:
                        cp.write(text.encode())
            others = [e.seq for e in es if e.seq not in fresh]
            theirs = {}
            if others:  # pushed meanwhile by another pusher of this log: the same chunk?
                got = self.conn.execute(
                    "SELECT seq, sha256 FROM qtd_chunks WHERE log_key = %s AND seq = ANY(%s)",
                    (self.log_key, others),
                )
                theirs = dict(got.fetchall())
        for e in es:
            if e.seq in fresh:
                self.known[e.seq] = e.sha256
                self.stats.chunks_pushed += 1
                if e.kind == "samples":
                    self.stats.samples += e.rows
                else:
                    self.stats.events += e.rows
            else:
                self.known[e.seq] = theirs.get(e.seq, e.sha256)
                self.stats.chunks_present += 1
                if self.known[e.seq] != e.sha256:
                    self._conflict(e)

    def _note_damage(self, damaged: list[Damaged]) -> None:
        for d in damaged:
            if d.where not in self._seen_damage:
                self._seen_damage.add(d.where)
                self.stats.damaged.append(d)

    def _conflict(self, e: Entry) -> None:
        text = f"{e.file} chunk {e.seq}: the database holds a different chunk under this log id and seq"
        if text not in self.stats.conflicts:
            self.stats.conflicts.append(text)


def _first(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def copy_samples_text(key: int, e: Entry, data: bytes, nrails: int) -> str:
    """The chunk's CSV rows as COPY text rows: the rails' columns become three arrays."""
    head = f"{key}\t{e.session}\t{e.seq}\t"
    out = []
    want = 2 + 3 * nrails
    for line in data.decode().splitlines():
        f = line.split(",")
        if len(f) != want:
            raise BadRow(f"{len(f)} columns, the log has {want}")
        out.append(
            f"{head}{f[0]}\t{f[1]}\t{{{','.join(f[2::3])}}}\t{{{','.join(f[3::3])}}}\t{{{','.join(f[4::3])}}}\n"
        )
    return "".join(out)


def copy_events_text(key: int, e: Entry, data: bytes) -> str:
    head = f"{key}\t{e.session}\t{e.seq}\t"
    out = []
    for line in data.decode().splitlines():
        f = line.split(",", 5)
        if len(f) != 6:
            raise BadRow(f"{len(f)} event columns, the log has 6")
        dur = f[3] or "\\N"
        mj = f[4] or "\\N"
        out.append(f"{head}{f[0]}\t{f[1]}\t{f[2].translate(_ESC)}\t{dur}\t{mj}\t{f[5].translate(_ESC)}\n")
    return "".join(out)
