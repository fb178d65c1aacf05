"""The store: the only place SQL lives."""

from cx_worker.store.sqlite_store import Store, new_run_id

__all__ = ["Store", "new_run_id"]
