"""Bad input for the fleet commands: each a typed error with the fix and its exit code, and
the local log untouched. Also the schema's migration path on a database of version 1."""

from __future__ import annotations

import json
import socket

import psycopg
import pytest

from qtdeploy.cli.main import main
from qtdeploy.energy.fleet.db import SCHEMA_VERSION, connect, ensure_schema
from support.fleet_helpers import assert_exactly_once, db_counts, make_log, snapshot

pytestmark = pytest.mark.timeout(180)


@pytest.fixture(scope="module")
def log_dir(tmp_path_factory):
    path = tmp_path_factory.mktemp("bad") / "log"
    data = make_log(path, seconds=20)
    return path, data


def _push(path, url, *extra) -> int:
    return main(["energy", "push", str(path), "--to", url, "--retry-for", "0", *extra])


def test_unreachable_server(log_dir, capsys):
    path, _ = log_dir
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    before = snapshot(path)
    assert _push(path, f"postgresql://qtd:x@127.0.0.1:{port}/db") == 8
    err = capsys.readouterr().err
    assert "no PostgreSQL server answers" in err and "x@" not in err, "the password is not printed"
    assert snapshot(path) == before


def test_wrong_credentials_and_missing_database(log_dir, db_url, pg_server, capsys):
    path, _ = log_dir
    before = snapshot(path)
    name = db_url.rsplit("/", 1)[1]
    assert _push(path, pg_server.url(name, password="wrong")) == 9
    assert "refused the login" in capsys.readouterr().err
    assert _push(path, pg_server.url("no_such_db")) == 9
    assert "no such database" in capsys.readouterr().err
    assert snapshot(path) == before and db_counts(db_url)["chunks"] == 0


def test_not_a_log_and_not_a_url(tmp_path, db_url, capsys):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "a.txt").write_text("hello")
    before = snapshot(tmp_path / "notes")
    assert _push(tmp_path / "notes", db_url) == 4
    assert "is not an energy log" in capsys.readouterr().err
    assert _push(tmp_path / "missing", db_url) == 4
    assert snapshot(tmp_path / "notes") == before and not (tmp_path / "missing").exists()
    assert (
        main(["energy", "push", str(tmp_path / "notes"), "--to", "mysql://x"]) == 4
    )  # the log is read first
    assert db_counts(db_url)["chunks"] == 0


def test_older_schema_is_refused_until_migrated(log_dir, db_url, capsys):
    path, data = log_dir
    conn = connect(db_url)
    assert ensure_schema(conn, upto=1) == (0, 1)  # a database a previous release created
    conn.close()
    before = snapshot(path)
    assert _push(path, db_url) == 5
    err = capsys.readouterr().err
    assert "schema version 1" in err and "qtdeploy energy migrate" in err
    assert snapshot(path) == before and db_counts(db_url)["chunks"] == 0
    assert main(["energy", "report", "--from", db_url]) == 5
    capsys.readouterr()
    assert main(["energy", "migrate", "--to", db_url, "--json"]) == 0
    res = json.loads(capsys.readouterr().out)
    assert (res["from_version"], res["to_version"]) == (1, SCHEMA_VERSION)
    assert _push(path, db_url) == 0
    assert_exactly_once(db_url, data)
    with psycopg.connect(db_url) as c:  # version 2's view exists and sees the rows
        assert c.execute("SELECT count(*) FROM qtd_samples_v").fetchone()[0] == len(data.samples)
        assert [r[0] for r in c.execute("SELECT version FROM qtd_schema_version ORDER BY 1")] == [1, 2]


def test_newer_schema_asks_for_a_newer_qtdeploy(log_dir, db_url, capsys):
    path, _ = log_dir
    conn = connect(db_url)
    ensure_schema(conn)
    conn.execute("INSERT INTO qtd_schema_version (version, applied_by) VALUES (99, 'the future')")
    conn.close()
    assert _push(path, db_url) == 5
    assert "Upgrade qtdeploy" in capsys.readouterr().err
    assert db_counts(db_url)["chunks"] == 0


def test_without_psycopg_the_error_names_the_extra(log_dir, monkeypatch, capsys):
    path, _ = log_dir
    before = snapshot(path)
    monkeypatch.setitem(__import__("sys").modules, "psycopg", None)  # as on a base install
    assert _push(path, "postgresql://qtd:x@127.0.0.1:1/db") == 3
    assert "qtdeploy[fleet]" in capsys.readouterr().err
    assert main(["energy", "report", "--from", "postgresql://qtd:x@127.0.0.1:1/db"]) == 3
    assert snapshot(path) == before


def test_report_usage_errors(tmp_path, capsys):
    assert main(["energy", "report"]) == 2
    assert main(["energy", "report", str(tmp_path), "--board", "x"]) == 2
    assert main(["energy", "report", str(tmp_path), "--from", "postgresql://a@b/c"]) == 2
    assert main(["energy", "report", "--from", "postgresql://a@127.0.0.1:1/c", "--since", "soonish"]) == 2


def test_a_user_without_rights_gets_the_owners_fix(log_dir, db_url, pg_server, capsys):
    path, data = log_dir
    name = db_url.rsplit("/", 1)[1]
    pg_server.psql("CREATE ROLE gw LOGIN PASSWORD 'gw-pass'")
    gw_url = db_url.replace("qtd:qtd-test-password@", "gw:gw-pass@")
    before = snapshot(path)
    assert _push(path, gw_url) == 8  # an empty database the gateway may not create tables in
    assert "may not create the fleet tables" in capsys.readouterr().err
    assert main(["energy", "migrate", "--to", db_url]) == 0  # the owner creates the schema
    assert _push(path, gw_url) == 8  # ... but has granted nothing yet
    err = " ".join(capsys.readouterr().err.split())
    assert "may not read or write the fleet tables" in err
    grants = err.split("grant the gateways' user: ")[1].rstrip(".").replace("<user>", "gw")
    pg_server.psql(grants, db=name)  # exactly what the message says to run
    assert _push(path, gw_url) == 0
    assert_exactly_once(db_url, data)
    assert snapshot(path) == before
