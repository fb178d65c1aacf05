"""Where notes go once they may reach agents: the embedded CRM (the ledger itself) or a webhook (`webhook`)."""

from __future__ import annotations

from typing import Protocol

from cx_worker.store import Note


class DeliveryError(Exception):
    """A note could not be delivered; `retryable` says whether a later attempt may succeed."""

    def __init__(self, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.retryable = retryable


class Delivery(Protocol):
    """Where notes go once they may reach agents."""

    name: str

    def deliver(self, note: Note) -> None:
        """Deliver one note (its `note_key` is the idempotency key); raise DeliveryError on failure."""


class EmbeddedDelivery:
    """The embedded CRM: the ledger is what agents' tools read, so delivering is recording it as delivered."""

    name = "sqlite"

    def deliver(self, note: Note) -> None:
        return None
