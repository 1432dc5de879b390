"""Shared by the fleet tests: logs of the fixture source, counts in the database, snapshots."""

from __future__ import annotations

import hashlib
from pathlib import Path

import psycopg

from qtdeploy.energy import read_log
from qtdeploy.energy.logger import run_logger
from support.fixture_source import CountingSource, FakeClock


def make_log(path, seconds: float = 60, rate: int = 50, start: float = 1_000_000.0, **kw):
    """A log of the deterministic fixture source (inferences, a gap), in fake time."""
    clock = FakeClock(start)
    src = CountingSource(rate, clock=clock, sleep=clock.sleep, **kw)
    run_logger(src, path, duration_s=seconds, durable=False, clock=clock, sleep=clock.sleep)
    return read_log(path)


def db_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as c:
        if not c.execute("SELECT to_regclass('qtd_chunks') IS NOT NULL").fetchone()[0]:
            return dict.fromkeys(("samples", "distinct", "events", "chunks", "ledger_rows"), 0)
        q = {
            "samples": "SELECT count(*) FROM qtd_samples",
            "distinct": "SELECT count(DISTINCT (log_key, session, t_s, unix_s)) FROM qtd_samples",
            "events": "SELECT count(*) FROM qtd_events",
            "chunks": "SELECT count(*) FROM qtd_chunks",
            "ledger_rows": "SELECT coalesce(sum(rows), 0) FROM qtd_chunks",
        }
        return {k: int(c.execute(v).fetchone()[0]) for k, v in q.items()}


def assert_exactly_once(url: str, data) -> None:
    n = db_counts(url)
    assert n["samples"] == n["distinct"] == len(data.samples), n
    assert n["events"] == len(data.events) and n["chunks"] == data.chunks_ok, n
    assert n["ledger_rows"] == n["samples"] + n["events"]


def snapshot(root: Path) -> dict[str, str]:
    """Every file of a directory and the SHA-256 of its bytes: "the local log is untouched"."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(Path(root).rglob("*"))
        if p.is_file()
    }
