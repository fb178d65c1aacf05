"""The SQL source against a real PostgreSQL server (the `postgres_url` fixture of `tests/system/conftest.py`: Debian's
server started by the test session, a fresh database per test; skipped only when the binaries are not installed).
"""

from cx_worker.ingest.source import Read, Rejected, read_interactions


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
