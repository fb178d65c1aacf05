"""The SQL source against a real PostgreSQL server, started here from Debian's packages (initdb + pg_ctl).

Loopback only, a free port, a throw-away data folder; as root (CI) the server runs as the `postgres` system user.
Skipped, with the reason, only when the server binaries are not installed (`.ci/run` installs them).
"""

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path

import pytest

from cx_worker.ingest.source import Read, Rejected, read_interactions


def _bindir() -> Path | None:
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists() and Path(candidate, "pg_ctl").exists():
            return Path(candidate)
    found = shutil.which("initdb")
    return Path(found).parent if found and shutil.which("pg_ctl") else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def postgres_url():
    bindir = _bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    base = Path(tempfile.mkdtemp(prefix="cx-pg-"))
    run_as = {}
    if os.geteuid() == 0:  # initdb refuses root
        try:
            account = pwd.getpwnam("postgres")
        except KeyError:
            account = pwd.getpwnam("nobody")
        os.chown(base, account.pw_uid, account.pw_gid)
        run_as = {"user": account.pw_uid, "group": account.pw_gid}
    port, data = _free_port(), base / "data"
    env = {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "HOME": str(base)}
    subprocess.run([bindir / "initdb", "-D", data, "-U", "cx", "--auth=trust", "-E", "UTF8", "--no-locale"],
                   check=True, capture_output=True, env=env, cwd=base, **run_as)
    subprocess.run([bindir / "pg_ctl", "-D", data, "-l", base / "server.log", "-w", "-t", "60", "-o",
                    f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off", "start"],
                   check=True, capture_output=True, env=env, cwd=base, **run_as)
    try:
        yield f"postgresql://cx@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([bindir / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop"], capture_output=True, env=env,
                       cwd=base, **run_as)
        shutil.rmtree(base, ignore_errors=True)


def test_turn_table_on_a_real_postgres_server(postgres_url):
    from sqlalchemy import create_engine, text

    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE contact_turns (conversation_id TEXT, seq INT, role TEXT, message TEXT, "
                          "timestamp TIMESTAMPTZ, queue TEXT)"))
        conn.execute(text("INSERT INTO contact_turns VALUES "
                          "('pg-1', 2, 'agent', 'Your refund of $12 is on its way.', "
                          "'2026-11-20 09:00:30+00', 'billing'),"
                          "('pg-1', 1, 'customer', 'I was charged twice for one order.', "
                          "'2026-11-20 09:00:00+00', 'billing'),"
                          "('pg-2', 1, 'customer', 'Hola, mi pedido no ha llegado todavía y necesito ayuda.', "
                          "NULL, NULL),"
                          "('pg-3', 1, NULL, 'no speaker', NULL, NULL)"))
    engine.dispose()
    url = f"{postgres_url}#contact_turns"
    items = list(read_interactions(url))
    reads = {i.interaction.id: i.interaction for i in items if isinstance(i, Read)}
    assert list(reads) == ["pg-1", "pg-2"]
    assert [t.speaker for t in reads["pg-1"].turns] == ["customer", "agent"] and reads["pg-1"].queue == "billing"
    assert reads["pg-1"].started_at.isoformat() == "2026-11-20T09:00:00+00:00"
    assert reads["pg-2"].language == "es"  # detected: the table has no language column
    assert [i.interaction_id for i in items if isinstance(i, Rejected)] == ["pg-3"]
    assert list(read_interactions(url, offsets={"contact_turns": 4})) == []  # watermark: the row count
