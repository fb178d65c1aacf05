"""A SQL table of turns (one row per turn) as a source, through SQLAlchemy: SQLite by default, PostgreSQL too.

The source is a database URL with the table after `#`: `sqlite:///contacts.db#contact_turns`,
`postgresql://cx@db.example/cc#contact_turns` (default table `interaction_turns`). Columns are those of a
turn-per-row CSV (`cx_worker.ingest.adapters.turn_rows`), plus an optional order column (`turn_index`, `seq`, `position`
or the turn time) that orders the turns of a conversation. The watermark is the table's row count when it was
last read to the end: an unchanged count is not read again; a grown table is read again and contacts already done
are skipped by the store (same id and content).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from cx_worker.ingest.adapters.base import Failed, Parsed
from cx_worker.ingest.adapters.turn_rows import column_map, group

SQL_SCHEMES = ("sqlite", "postgresql", "postgres", "mysql", "mariadb", "mssql", "oracle")
DEFAULT_TABLE = "interaction_turns"
_ORDER = ("turn_index", "turn_no", "seq", "sequence", "position", "ts", "timestamp")


def is_sql_url(source: object) -> bool:
    """True for a database URL (sqlite:///…, postgresql://…), as opposed to a folder or a file-system URL."""
    return isinstance(source, str) and "://" in source and source.split("://", 1)[0].split("+")[0] in SQL_SCHEMES


def split(source: str) -> tuple[str, str]:
    """(SQLAlchemy URL with a driver we ship, table name)."""
    url, _, table = source.partition("#")
    scheme, rest = url.split("://", 1)
    if scheme in ("postgresql", "postgres"):
        scheme = "postgresql+psycopg"  # psycopg 3 is the PostgreSQL driver we install
    return f"{scheme}://{rest}", table or DEFAULT_TABLE


def display(source: str) -> str:
    """The source without its password, fit for logs and the store."""
    from sqlalchemy.engine import make_url

    url, table = split(source)
    return f"{make_url(url).render_as_string(hide_password=True)}#{table}"


def read_table(source: str, *, offset: int = 0) -> Iterator[tuple[Parsed | Failed, str, int]]:
    """Yield (item, table, end offset) for the conversations of a turn table; nothing if its row count is `offset`.

    The end offset is 0 for every item but the last, which carries the row count (the table's watermark).
    """
    from sqlalchemy import MetaData, Table, create_engine, func, select

    url, table_name = split(source)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            table = Table(table_name, MetaData(), autoload_with=conn)
            count = conn.execute(select(func.count()).select_from(table)).scalar_one()
            if count == offset:
                return
            columns = column_map(table.columns.keys())
            order = next((c for c in _ORDER if c in table.columns), None)
            keys = [table.columns[columns["id"]]] + ([table.columns[order]] if order else [])
            rows = conn.execute(select(table).order_by(*keys)).mappings().all()
    finally:
        engine.dispose()
    items = list(group(((f"{table_name}:row {i}", _plain(r)) for i, r in enumerate(rows, 1)), columns,
                       name=table_name, source_format="sql_turns"))
    for i, item in enumerate(items):
        yield item, table_name, count if i == len(items) - 1 else 0


def _plain(row: Any) -> dict[str, Any]:
    # Database types (datetime, Decimal) as the strings the CSV path parses.
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v if v is None or isinstance(v, str) else str(v))
            for k, v in dict(row).items()}
