"""`energy log --push` against the virtual board: the log is pushed while it grows and drained
at the end; a server that is away only delays the push; a refused login stops before logging."""

from __future__ import annotations

import json
import os
import shutil
import socket

import pytest

from qtdeploy.cli.main import main
from qtdeploy.energy import read_log
from support.fleet_helpers import assert_exactly_once

pytestmark = pytest.mark.timeout(300)


def _need_cc() -> None:
    if shutil.which(os.environ.get("CC", "cc")) is None:
        pytest.skip("the virtual board needs a C compiler")


def _log(tmp_path, out, url, *extra) -> list[str]:
    port = f"sim://?flash={tmp_path / 'flash.bin'}&pacing=0"
    return ["energy", "log", "--port", port, "--out", str(out), "--duration", "3s", "--rate", "20",
            "--push", url, *extra]  # fmt: skip


def test_log_pushes_while_logging(tmp_path, db_url, capsys):
    _need_cc()
    out = tmp_path / "log"
    assert main(_log(tmp_path, out, db_url, "--push-as", "gw-1", "--json")) == 0
    res = json.loads(capsys.readouterr().out)
    data = read_log(out)
    assert res["push"]["complete"] is True and res["push"]["board"] == "gw-1"
    assert res["push"]["samples_pushed"] == len(data.samples) == res["samples"] > 30
    assert_exactly_once(db_url, data)


def test_a_server_that_is_away_delays_the_push_only(tmp_path, db_url, capsys):
    _need_cc()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = f"postgresql://qtd:x@127.0.0.1:{s.getsockname()[1]}/db"
    out = tmp_path / "log"
    assert main(_log(tmp_path, out, dead, "--json")) == 0
    cap = capsys.readouterr()
    res = json.loads(cap.out)
    assert res["push"]["complete"] is False and "no PostgreSQL server answers" in res["push"]["last_error"]
    assert "Logging anyway" in cap.err and "push it later" in cap.err
    data = read_log(out)
    assert len(data.samples) == res["samples"] > 30 and data.damaged == []
    assert main(["energy", "push", str(out), "--to", db_url, "--json"]) == 0  # later, from the local log
    assert_exactly_once(db_url, data)


def test_a_refused_login_stops_before_logging(tmp_path, db_url, pg_server, capsys):
    _need_cc()
    out = tmp_path / "log"
    assert main(_log(tmp_path, out, pg_server.url(db_url.rsplit("/", 1)[1], password="nope"))) == 9
    assert "refused the login" in capsys.readouterr().err and not out.exists()
