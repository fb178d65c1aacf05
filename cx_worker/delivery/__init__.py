"""Delivery: one note per contact in the CRM, exactly once (the ledger), through a sink (the embedded CRM or a
signed webhook), with a hand-off brief for escalated or upset customers; held when governance says so."""

from cx_worker.delivery.crm import Crm, open_crm
from cx_worker.delivery.handoff import handoff_brief
from cx_worker.delivery.write_back import write_back

__all__ = ["Crm", "handoff_brief", "open_crm", "write_back"]
