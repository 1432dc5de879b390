"""Connecting to the fleet database, the errors a gateway can meet there, and the schema.

Why a version table and numbered SQL files: a field study's database outlives any one
qtdeploy release, and fifty gateways do not upgrade at once. ``schema/NNN_*.sql`` are applied
in order, each in the transaction that records its number in ``qtd_schema_version``. An empty
database gets the whole schema on the first push; a database at an older version is refused
with the command that migrates it (``qtdeploy energy migrate``), because changing a shared
database is the operator's decision, not a side effect of one gateway's push; a newer one asks
for a newer qtdeploy. Concurrent gateways serialise schema work on an advisory lock.
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from qtdeploy.errors import CompatibilityError, NotAvailableError, QtdeployError

_LOCK = 0x71D_F1EE7  # pg_advisory_xact_lock key: schema creation and migration


class FleetError(QtdeployError):
    """The fleet database cannot be used: not reachable, refused the login, or is not ours."""

    exit_code = 8


class ServerUnreachable(FleetError):
    """No PostgreSQL answers at the URL's host and port (or the connection broke)."""


class LoginRefused(FleetError):
    """The server answered and refused the user, password or database."""

    exit_code = 9


class SchemaError(CompatibilityError):
    """The database's qtdeploy schema is older or newer than this qtdeploy's (exit 5)."""


class DriverMissing(NotAvailableError):
    """psycopg is not installed (the ``fleet`` extra)."""


def redact(url: str) -> str:
    """The URL without its password, for messages and results."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def psycopg_module() -> Any:
    try:
        import psycopg
    except ImportError:
        raise DriverMissing(
            "pushing to PostgreSQL needs psycopg, which is not installed.",
            "Install the fleet extra: pip install 'qtdeploy[fleet]'.",
        ) from None
    return psycopg


def connect(url: str, *, timeout_s: float = 10.0) -> Any:
    """A psycopg connection, or a typed error saying what to fix."""
    psycopg = psycopg_module()
    if not url.startswith(("postgresql://", "postgres://")):
        raise FleetError(
            f"{url!r} is not a PostgreSQL URL.", "Write it as postgresql://USER:PASSWORD@HOST:PORT/DATABASE."
        )
    try:
        return psycopg.connect(
            url,
            connect_timeout=max(1, int(timeout_s)),
            application_name="qtdeploy",
            autocommit=True,  # every write is in an explicit ``conn.transaction()``
            keepalives=1,  # a field network that drops silently: notice within ~30 s, retry
            keepalives_idle=10,
            keepalives_interval=5,
            keepalives_count=3,
            tcp_user_timeout=30000,
        )
    except psycopg.OperationalError as err:
        raise classify(err, url) from None


def classify(err: Exception, url: str) -> FleetError:
    """Turn a driver error into ServerUnreachable or LoginRefused with the fix."""
    text = str(err)
    where = redact(url)
    if re.search(r"password authentication failed|no password supplied|role .* does not exist", text):
        return LoginRefused(
            f"the server at {where} refused the login: {_first_line(text)}.",
            "Check the user and password in the URL (or ~/.pgpass).",
        )
    if re.search(r"database .* does not exist", text):
        return LoginRefused(
            f"the server at {where} has no such database: {_first_line(text)}.",
            "Create it (createdb NAME, owned by the pushing user) or fix the URL's database name.",
        )
    return ServerUnreachable(
        f"no PostgreSQL server answers at {where}: {_first_line(text)}.",
        "Check that the server runs and that host and port are right; the local log is kept, push again later.",
    )


def _first_line(text: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    tail = [ln for ln in lines if "FATAL" in ln or "failed" in ln]
    return (tail[-1] if tail else lines[0] if lines else "no detail").rstrip(".")


# ---- schema -------------------------------------------------------------------------------
def migrations() -> list[tuple[int, str, str]]:
    """(version, file name, SQL) of every schema file, in order."""
    out = []
    for item in resources.files("qtdeploy.energy.fleet").joinpath("schema").iterdir():
        m = re.match(r"^(\d{3})_.*\.sql$", item.name)
        if m:
            out.append((int(m.group(1)), item.name, item.read_text()))
    return sorted(out)


SCHEMA_VERSION = migrations()[-1][0]


def schema_version(conn: Any) -> int:
    """The database's schema version; 0 when it has none."""
    exists = conn.execute("SELECT to_regclass('qtd_schema_version') IS NOT NULL").fetchone()[0]
    if not exists:
        return 0
    return int(conn.execute("SELECT coalesce(max(version), 0) FROM qtd_schema_version").fetchone()[0])


def ensure_schema(conn: Any, *, migrate: bool = False, upto: int | None = None) -> tuple[int, int]:
    """Create (empty database) or check the schema; ``migrate`` applies the missing versions.

    Returns (version before, version after). Raises ``SchemaError`` for an older schema without
    ``migrate`` and for a newer one always."""
    psycopg = psycopg_module()
    try:
        return _ensure(conn, migrate, SCHEMA_VERSION if upto is None else upto)
    except psycopg.errors.InsufficientPrivilege as err:
        raise privilege_error(err) from None


GRANTS = (
    "GRANT SELECT, INSERT ON qtd_logs, qtd_chunks, qtd_samples, qtd_events TO <user>; "
    "GRANT SELECT ON qtd_schema_version TO <user>; GRANT USAGE ON qtd_logs_log_key_seq TO <user>"
)


def privilege_error(err: Exception) -> FleetError:
    """A refused CREATE (no schema yet) or a refused read/write of our tables, with the fix."""
    text = _first_line(str(err))
    if "for schema" in text or "for database" in text:
        return FleetError(
            f"this database user may not create the fleet tables: {text}.",
            "Have the database owner run `qtdeploy energy migrate --to URL` once, then grant the "
            f"gateways' user its rights: {GRANTS}.",
        )
    return FleetError(
        f"this database user may not read or write the fleet tables: {text}.",
        f"Have the database owner grant the gateways' user: {GRANTS}.",
    )


def _ensure(conn: Any, migrate: bool, target: int) -> tuple[int, int]:
    from qtdeploy import __version__

    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK,))
        before = schema_version(conn)
        if before > SCHEMA_VERSION:
            raise SchemaError(
                f"the database has qtdeploy schema version {before}; this qtdeploy ({__version__}) "
                f"knows versions up to {SCHEMA_VERSION}.",
                "Upgrade qtdeploy on this gateway (pip install -U 'qtdeploy[fleet]').",
            )
        if 0 < before < target and not migrate:
            raise SchemaError(
                f"the database has qtdeploy schema version {before}, this qtdeploy needs {SCHEMA_VERSION}.",
                "Migrate it once, from any gateway: qtdeploy energy migrate --to URL.",
            )
        for version, _name, sql in migrations():
            if before < version <= target:
                conn.execute(sql)
                conn.execute(
                    "INSERT INTO qtd_schema_version (version, applied_by) VALUES (%s, %s)",
                    (version, f"qtdeploy {__version__}"),
                )
    return before, max(before, target)
