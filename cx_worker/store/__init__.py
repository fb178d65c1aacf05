"""The store: the only place SQL lives. The run store (`Store`) and the CRM ledger (`Ledger`), each a SQLite file in
the data dir or tables on a database server, read and written through typed methods that give back models
(`records`), never rows or plain dicts.
"""

from cx_worker.store.ledger import Ledger
from cx_worker.store.lock import RunInProgress
from cx_worker.store.records import (
    AuditItem,
    AuditNight,
    Correction,
    EvalRecord,
    EvalRow,
    LlmBatch,
    Note,
    QuarantineRecord,
    Release,
    RetryRecord,
    ReviewDecision,
    ReviewFlag,
    RunRecord,
    RunUsage,
    StoredContact,
    StoredOutcome,
    StoredWork,
    Verdict,
)
from cx_worker.store.run_store import Store, new_run_id

__all__ = [
    "AuditItem", "AuditNight", "Verdict",
    "Correction", "EvalRecord", "EvalRow", "Ledger", "LlmBatch", "Note", "QuarantineRecord", "Release", "RetryRecord",
    "ReviewDecision", "ReviewFlag", "RunInProgress", "RunRecord", "RunUsage", "Store", "StoredContact",
    "StoredOutcome", "StoredWork", "new_run_id",
]
