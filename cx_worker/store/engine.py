"""The database connection of a store: a SQLite file (WAL, busy timeout: safe from several processes on one machine)
or a server such as PostgreSQL (a URL), through SQLAlchemy; the migration runner; and the dialect's upsert.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, Text, create_engine, event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import ColumnElement, Insert

_VERSIONS = MetaData()
schema_version = Table("schema_version", _VERSIONS, Column("component", Text, primary_key=True),
                       Column("version", Integer, nullable=False))


def now() -> str:
    """The time a row is written: ISO 8601, UTC, to the second."""
    return datetime.now(UTC).isoformat(timespec="seconds")


def database_url(target: Path | str) -> str:
    """A SQLAlchemy URL for a SQLite file path or a database URL (`postgresql://` gets the psycopg 3 driver)."""
    if isinstance(target, Path) or "://" not in str(target):
        return f"sqlite:///{Path(target)}"
    scheme, rest = str(target).split("://", 1)
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg"
    return f"{scheme}://{rest}"


def make_engine(target: Path | str) -> Engine:
    """The engine of a store; a SQLite file's folder is created."""
    url = database_url(target)
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, pool_pre_ping=True)


def _sqlite_connect(dbapi_connection, _record) -> None:
    # Let SQLAlchemy, not the sqlite3 module, decide when a transaction begins (so BEGIN IMMEDIATE is possible).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # A writer that must not interleave (migrations) takes the write lock when its transaction starts.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("immediate") else "BEGIN")


def migrate(engine: Engine, *, component: str,
            steps: Sequence[tuple[int, str, Callable[[Connection], None]]]) -> int:
    """Apply the steps above the database's version for `component`, in one locked transaction; returns the
    version. Two processes opening a new store at once: one migrates, the other waits and finds it done."""
    with engine.connect().execution_options(immediate=True) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('cx-worker-migrations'))"))
        _VERSIONS.create_all(conn, checkfirst=True)
        version = conn.execute(select(schema_version.c.version).where(
            schema_version.c.component == component)).scalar_one_or_none() or 0
        for number, _what, step in steps:
            if number > version:
                step(conn)
                version = number
        upsert(conn, schema_version, {"component": component, "version": version}, keys=("component",))
    return version


def insert_for(conn: Connection, table: Table) -> Insert:
    """The dialect's INSERT (SQLite and PostgreSQL both speak ON CONFLICT)."""
    return (postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table))


def upsert(conn: Connection, table: Table, values: Mapping[str, Any], *, keys: Sequence[str],
           update: Sequence[str] | None = None, where: ColumnElement[bool] | None = None) -> None:
    """Insert a row, or on a key conflict update `update` (default: every column but the keys), only where the
    existing row matches `where` if given: one statement, so a concurrent writer cannot slip in between."""
    statement = insert_for(conn, table).values(**values)
    columns = [c for c in values if c not in keys] if update is None else list(update)
    if not columns:
        conn.execute(statement.on_conflict_do_nothing(index_elements=list(keys)))
        return
    conn.execute(statement.on_conflict_do_update(
        index_elements=list(keys), set_={c: statement.excluded[c] for c in columns}, where=where))


def insert_ignore(conn: Connection, table: Table, values: Mapping[str, Any], *, keys: Sequence[str]) -> bool:
    """Insert a row unless one with the same keys exists; True if it was inserted."""
    result = conn.execute(insert_for(conn, table).values(**values).on_conflict_do_nothing(index_elements=list(keys)))
    return bool(result.rowcount)


def process_owner() -> dict[str, Any]:
    """Which process on which host is doing something (a run): recorded so a dead owner can be told."""
    return {"pid": os.getpid(), "host": socket.gethostname()}


def pid_alive(pid: int) -> bool:
    """Whether a process of this host exists."""
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True
