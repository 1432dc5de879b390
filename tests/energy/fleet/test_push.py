"""`energy push` against a real PostgreSQL: every committed sample lands once, however the push
is repeated (again, concurrently, after a lost answer, after the pusher was killed), damage is
reported and left out, and the rows are the log's."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from qtdeploy.cli.main import main
from qtdeploy.energy import read_log
from qtdeploy.energy.fleet.push import LogPusher
from support.cutproxy import CutProxy
from support.fleet_helpers import assert_exactly_once, db_counts, make_log, snapshot

pytestmark = pytest.mark.timeout(180)


def test_push_then_push_again_lands_once_and_rows_are_the_logs(tmp_path, db_url, capsys):
    data = make_log(tmp_path / "log", lose_at=(900,), down_s=2.0)
    assert main(["energy", "push", str(tmp_path / "log"), "--to", db_url, "--board", "node-1", "--json"]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["chunks_pushed"] == data.chunks_ok and first["samples_pushed"] == len(data.samples)
    assert "***" in first["database"] and "qtd-test-password" not in first["database"]
    assert main(["energy", "push", str(tmp_path / "log"), "--to", db_url]) == 0  # as a person reads it
    assert "0 chunk(s) pushed" in " ".join(capsys.readouterr().out.split())
    assert main(["energy", "push", str(tmp_path / "log"), "--to", db_url, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert again["chunks_pushed"] == 0 and again["chunks_already_there"] == data.chunks_ok
    assert again["board"] == "node-1", "a log keeps the board name it was first pushed as"
    assert_exactly_once(db_url, data)
    with psycopg.connect(db_url) as c:
        rows = c.execute("SELECT t_s, unix_s, v, ma, mw FROM qtd_samples ORDER BY unix_s").fetchall()
        kinds = dict(c.execute("SELECT kind, count(*) FROM qtd_events GROUP BY 1").fetchall())
        board = c.execute("SELECT board FROM qtd_samples_v LIMIT 1").fetchone()[0]
    local = [[r[0], r[1], *(x for t in zip(r[2], r[3], r[4]) for x in t)] for r in rows]
    assert local == data.samples, "every value as the log has it"
    assert kinds["gap"] == 1 and kinds["inference"] == sum(e.kind == "inference" for e in data.events)
    assert board == "node-1"


def test_concurrent_pushes_of_one_directory_land_once(tmp_path, db_url):
    data = make_log(tmp_path / "log", seconds=120)
    pushers = [LogPusher(tmp_path / "log", db_url, board="n", batch_rows=300) for _ in range(4)]
    start = threading.Barrier(len(pushers))
    results = []

    def run(p: LogPusher) -> None:
        start.wait()
        results.append(p.push())
        p.close()

    threads = [threading.Thread(target=run, args=(p,)) for p in pushers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(r.chunks_pushed for r in results) == data.chunks_ok, "each chunk pushed by exactly one"
    assert all(r.chunks_pushed + r.chunks_present == data.chunks_ok for r in results)
    assert_exactly_once(db_url, data)


def test_a_lost_answer_to_commit_is_retried_without_duplicates(tmp_path, db_url, pg_server):
    data = make_log(tmp_path / "log")
    proxy = CutProxy(pg_server.port)
    url = pg_server.url(db_url.rsplit("/", 1)[1], port=proxy.port)
    pusher = LogPusher(tmp_path / "log", url, board="n", batch_rows=500)
    pusher.open()  # schema and registration through the proxy first
    proxy.armed.set()  # the answer to the next COMMIT (the first batch) is lost
    with pytest.raises(Exception) as err:
        pusher.push()
    assert proxy.cut.is_set() and type(err.value).__name__ == "ServerUnreachable"
    assert 0 < db_counts(db_url)["chunks"] < data.chunks_ok, "the server committed that batch"
    stats = pusher.push()  # the retry: reconnects, re-reads the ledger
    pusher.close()
    proxy.close()
    assert stats.chunks_present > 0, (
        "the retry re-sent the batch whose answer was lost; the ledger stopped it"
    )
    assert_exactly_once(db_url, data)


def test_a_push_killed_midway_resumes_and_lands_once(tmp_path, db_url):
    data = make_log(tmp_path / "log", seconds=600, rate=100)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    cmd = [sys.executable, "-m", "qtdeploy.cli.main", "energy", "push", str(tmp_path / "log"), "--to", db_url]
    proc = subprocess.Popen(cmd + ["--json"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while db_counts(db_url)["chunks"] == 0:  # wait until it has committed something
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read().decode()
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    part = db_counts(db_url)
    assert part["samples"] == part["ledger_rows"] - part["events"], "a killed batch left nothing half-done"
    assert main(["energy", "push", str(tmp_path / "log"), "--to", db_url, "--json"]) == 0
    assert_exactly_once(db_url, data)


def test_a_damaged_chunk_is_reported_and_never_pushed(tmp_path, db_url, capsys):
    make_log(tmp_path / "log")
    seg = tmp_path / "log" / "samples-0000.csv"
    raw = bytearray(seg.read_bytes())
    at = raw.index(b"\n", 5000) - 3
    raw[at] = ord("7") if raw[at] != ord("7") else ord("8")  # a flipped digit, same length
    seg.write_bytes(bytes(raw))
    data = read_log(tmp_path / "log")
    assert len(data.damaged) == 1
    before = snapshot(tmp_path / "log")
    assert main(["energy", "push", str(tmp_path / "log"), "--to", db_url, "--json"]) == 4
    cap = capsys.readouterr()
    res = json.loads(cap.out)
    assert [d["where"] for d in res["damaged"]] == [data.damaged[0].where]
    assert "damaged chunk" in cap.err
    assert_exactly_once(db_url, data)  # every good chunk, nothing of the damaged one
    assert snapshot(tmp_path / "log") == before, "pushing never writes to the log"


def test_a_different_chunk_under_a_pushed_identity_is_a_conflict(tmp_path, db_url, capsys):
    data = make_log(tmp_path / "log")
    assert main(["energy", "push", str(tmp_path / "log"), "--to", db_url]) == 0
    with psycopg.connect(db_url) as c:  # as if another directory had claimed this log's id and seq 3
        c.execute("UPDATE qtd_chunks SET sha256 = repeat('0', 64) WHERE seq = 3")
    capsys.readouterr()
    assert main(["energy", "push", str(tmp_path / "log"), "--to", db_url, "--json"]) == 5
    res = json.loads(capsys.readouterr().out)
    assert len(res["conflicts"]) == 1 and "chunk 3:" in res["conflicts"][0]
    assert db_counts(db_url)["samples"] == len(data.samples), "nothing was added"


def test_time_range_queries_use_the_brin_index(tmp_path, db_url):
    make_log(tmp_path / "log")
    assert main(["energy", "push", str(tmp_path / "log"), "--to", db_url]) == 0
    with psycopg.connect(db_url) as c:
        c.execute("SET enable_seqscan = off")
        plan = "\n".join(
            r[0]
            for r in c.execute("EXPLAIN SELECT * FROM qtd_samples WHERE unix_s BETWEEN 1000010 AND 1000020")
        )
    assert "qtd_samples_time" in plan, plan
