"""The fleet tests run against a real PostgreSQL: Debian's server binaries started in a
temporary directory on 127.0.0.1 at a free port (qtdeploy.energy.fleet.localserver), one per
test session, a fresh database per test; stopped and removed at the end. No mock database."""

from __future__ import annotations

import itertools

import pytest

from qtdeploy.energy.fleet.localserver import LocalServer, find_bin

_names = itertools.count()


@pytest.fixture(scope="session")
def pg_server():
    pytest.importorskip("psycopg", reason="the fleet extra (psycopg) is not installed")
    if not find_bin("initdb") or not find_bin("pg_ctl"):
        pytest.skip("no PostgreSQL server programs: apt-get install postgresql (scripts/setup-env does)")
    server = LocalServer().start()
    yield server
    server.destroy()


@pytest.fixture
def db_url(pg_server) -> str:
    """The URL of a fresh, empty database on the session's server."""
    return pg_server.create_database(f"t{next(_names)}")
