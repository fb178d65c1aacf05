"""Servers the system tests share, each started on 127.0.0.1 by the test session and stopped after it.

- `postgres_server`: one real PostgreSQL server per session (`tests/support/postgres.py`); `postgres_url`: a fresh,
  empty database on it for each test. Skipped, with the reason, only when the server binaries are not installed.
- `chroma_server`: a real Chroma server (`chroma run`) per test (it starts in about a second), empty.
"""

from __future__ import annotations

import pytest

from tests.support.chroma_server import ChromaServer
from tests.support.postgres import MISSING, PostgresServer, bindir


@pytest.fixture(scope="session")
def postgres_server():
    if bindir() is None:
        pytest.skip(MISSING)
    with PostgresServer() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server) -> str:
    """A new empty database: `postgresql://cx@127.0.0.1:PORT/NAME`."""
    return postgres_server.create_database()


@pytest.fixture
def chroma_server():
    with ChromaServer() as server:
        yield server
