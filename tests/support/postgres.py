"""A real PostgreSQL server for tests, started from Debian's packages (initdb + pg_ctl) and stopped after.

Loopback only, a free port, a throw-away data folder, trust authentication for the role `cx`; as root (CI) the server
runs as the `postgres` system user (initdb refuses root). `databases()` hands out a fresh, empty database per test, so
tests never see each other's tables. `bindir()` is None when the server binaries are not installed (`.ci/run`
installs them): fixtures skip with that reason.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import sql

from tests.support.server_process import ServerProcess

MISSING = "PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql"


def bindir() -> Path | None:
    """The folder of `initdb` and `pg_ctl` (the newest Debian cluster version first), or None."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer(ServerProcess):
    """One server for the block: `with PostgresServer() as pg: pg.url`, `pg.create_database()`."""

    def __init__(self) -> None:
        found = bindir()
        if found is None:
            raise RuntimeError(MISSING)
        self.bindir = found
        self.base = Path(tempfile.mkdtemp(prefix="cx-pg-"))
        self.port = free_port()
        self.data = self.base / "data"
        self._run_as: dict = {}
        if os.geteuid() == 0:  # initdb refuses root
            try:
                account = pwd.getpwnam("postgres")
            except KeyError:
                account = pwd.getpwnam("nobody")
            os.chown(self.base, account.pw_uid, account.pw_gid)
            self._run_as = {"user": account.pw_uid, "group": account.pw_gid}
        self._env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": str(self.base)}

    @property
    def url(self) -> str:
        """The server's default database (`postgres`), as the role `cx`."""
        return self.database_url("postgres")

    def database_url(self, name: str) -> str:
        return f"postgresql://cx@127.0.0.1:{self.port}/{name}"

    def start(self) -> PostgresServer:
        self._pg(["initdb", "-D", self.data, "-U", "cx", "--auth=trust", "-E", "UTF8", "--no-locale"])
        # Enough connections for a night on Dask (flow, workers, their pools) and the concurrency tests.
        self._pg(["pg_ctl", "-D", self.data, "-l", self.base / "server.log", "-w", "-t", "60", "-o",
                  f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1 -c fsync=off "
                  f"-c max_connections=200", "start"])
        return self

    def stop(self) -> None:
        self._pg(["pg_ctl", "-D", self.data, "-m", "fast", "-w", "stop"], check=False)
        shutil.rmtree(self.base, ignore_errors=True)

    def create_database(self, name: str | None = None) -> str:
        """A new empty database; returns its URL."""
        name = name or f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(f"host=127.0.0.1 port={self.port} user=cx dbname=postgres", autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.database_url(name)

    def _pg(self, argv: list, *, check: bool = True) -> None:
        subprocess.run([self.bindir / argv[0], *argv[1:]], check=check, capture_output=True, env=self._env,
                       cwd=self.base, timeout=120, **self._run_as)
