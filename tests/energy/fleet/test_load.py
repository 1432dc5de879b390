"""Fleet load and faults: virtual gateways (processes, qtdeploy.energy.fleet.loadgen) write their
logs with the real LogWriter and push them concurrently into one server; the server crashes and
restarts mid-push and two gateways are SIGKILLed and started again. Every committed sample of
every local log is then in the database exactly once. 10 gateways by default, 50 with -m slow."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import psycopg
import pytest

from qtdeploy.energy import read_log

pytestmark = pytest.mark.timeout(600)


def _spawn(out, url: str, board: str, chunks: int, rows: int, pause_s: float, until) -> subprocess.Popen:
    """A gateway that logs ``chunks`` chunks and goes on until the file ``until`` exists."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    cmd = [
        sys.executable,
        "-m",
        "qtdeploy.energy.fleet.loadgen",
        str(out),
        url,
        board,
        str(chunks),
        str(rows),
    ]
    cmd += [str(pause_s), str(until)]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _chunks_per_board(url: str) -> dict[str, int]:
    with psycopg.connect(url) as c:
        if not c.execute("SELECT to_regclass('qtd_chunks') IS NOT NULL").fetchone()[0]:
            return {}
        rows = c.execute(
            "SELECT l.board, count(*) FROM qtd_chunks JOIN qtd_logs l USING (log_key) GROUP BY 1"
        )
        return dict(rows.fetchall())


def _wait(what: str, cond, procs, timeout_s: float = 300.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not cond():
        for p in procs:
            assert p.poll() in (None, 0), f"a gateway failed: {p.stderr.read() if p.stderr else ''}"
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


@pytest.mark.parametrize("gateways", [10, pytest.param(50, marks=pytest.mark.slow)])
def test_gateways_push_exactly_once_through_a_server_crash_and_kills(tmp_path, pg_server, gateways):
    url = pg_server.create_database(f"load{gateways}")
    chunks, rows = 20, 20
    victims = {0, 1}
    until = tmp_path / "faults-done"  # every gateway logs and pushes until the faults are over
    procs = {
        g: _spawn(tmp_path / f"gw{g:02d}", url, f"gw{g:02d}", chunks, rows, 0.05, until)
        for g in range(gateways)
    }
    # every gateway has pushed something: the server now has work in flight from all of them
    _wait("all gateways pushed", lambda: len(_chunks_per_board(url)) == gateways, procs.values())
    pg_server.stop("immediate")  # a crash: connections cut mid-transaction, no shutdown checkpoint
    pg_server.start()
    seen = _chunks_per_board(url)
    _wait(  # the victims pushed again after the restart: they reconnected on their own
        "the victims resumed pushing",
        lambda: all(_chunks_per_board(url).get(f"gw{v:02d}", 0) > seen.get(f"gw{v:02d}", 0) for v in victims),
        procs.values(),
    )
    for v in victims:
        os.kill(procs[v].pid, signal.SIGKILL)
        procs[v].wait()
        procs[v] = _spawn(
            tmp_path / f"gw{v:02d}", url, f"gw{v:02d}", chunks, rows, 0.0, until
        )  # resumes its log
    until.touch()
    reports = {}
    for g, p in procs.items():
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, f"gateway {g}: rc {p.returncode} {err[-2000:]}"
        reports[g] = json.loads(out.strip().splitlines()[-1])
    assert all(reports[g]["errors"] >= 1 for g in procs if g not in victims), "the crash reached every pusher"
    total = 0
    with psycopg.connect(url) as c:
        for g in range(gateways):
            data = read_log(tmp_path / f"gw{g:02d}")
            assert data.damaged == []
            key = c.execute(
                "SELECT log_key FROM qtd_logs WHERE log_id = %s", (data.meta["log_id"],)
            ).fetchone()[0]
            n, distinct = c.execute(
                "SELECT count(*), count(DISTINCT (session, t_s, unix_s)) FROM qtd_samples WHERE log_key = %s",
                (key,),
            ).fetchone()
            n_events = c.execute("SELECT count(*) FROM qtd_events WHERE log_key = %s", (key,)).fetchone()[0]
            n_chunks = c.execute("SELECT count(*) FROM qtd_chunks WHERE log_key = %s", (key,)).fetchone()[0]
            assert n == distinct == len(data.samples), (
                f"gateway {g}: {n} rows, {distinct} distinct, log {len(data.samples)}"
            )
            assert n_events == len(data.events) and n_chunks == data.chunks_ok, f"gateway {g}"
            total += n
        assert c.execute("SELECT count(*) FROM qtd_samples").fetchone()[0] == total
    assert all(read_log(tmp_path / f"gw{v:02d}").next_session == 2 for v in victims), "killed, then resumed"
    assert total >= gateways * chunks * rows
    print(
        f"{gateways} gateways: {total} samples, each once; pusher errors {sum(r['errors'] for r in reports.values())}"
    )
