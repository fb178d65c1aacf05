"""Shared fixtures. Tests never touch the network: LLM traffic replays from vcrpy cassettes (`tests/recorded`), and
unit tests use the one fake LLM below.

- `tests/unit`: no processes, no servers (fakes at the edges, real SQLite, Chroma in memory).
- `tests/system`: real servers and processes (Prefect server and workers, PostgreSQL, Chroma server, Dask, Chromium,
  the fault-injecting endpoint, SIGKILL), each started by the test on 127.0.0.1.
- `tests/recorded`: real LLM traffic replayed from cassettes.
"""

from __future__ import annotations

import os
import shutil
from types import SimpleNamespace

import chromadb
import pytest

from cx_worker.delivery.crm import Crm
from cx_worker.drafting.after_call_work import load_dispositions
from cx_worker.outcomes.exemplars import add_exemplars, open_collection, read_exemplars
from cx_worker.settings import Settings
from cx_worker.store import Ledger, Store
from tests.support.fakes import FakeLLM
from tests.support.paths import FIXTURES

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("HF_HUB_OFFLINE", "1")

@pytest.fixture
def fake_llm():
    """The fake LLM's class: `fake_llm()`, `fake_llm(work, fail_on={...}, summary_for=fn)`."""
    return FakeLLM


@pytest.fixture(scope="module")
def collection(tmp_path_factory):
    """A small exemplar collection in memory, only read by the tests that use it: embedded once per module."""
    col = open_collection(tmp_path_factory.mktemp("chroma"), client=chromadb.EphemeralClient(),
                          name=f"exemplars_{tmp_path_factory.getbasetemp().name[-6:]}")
    add_exemplars(read_exemplars(FIXTURES / "exemplars_small.jsonl"), collection=col)
    return col


@pytest.fixture
def store_targets(tmp_path):
    """Where a test's run store and CRM ledger live: SQLite files in `tmp_path` (the PostgreSQL system tests,
    `tests/system/test_store_postgres.py`, override it with one database for both)."""
    return SimpleNamespace(store=tmp_path / "s.sqlite", ledger=tmp_path / "crm.sqlite")


@pytest.fixture
def env(tmp_path, collection):
    """A night's surroundings: five real contacts as the source, a store, a CRM, the exemplars, the taxonomy."""
    source = tmp_path / "in"
    source.mkdir()
    shutil.copy(FIXTURES / "night5.jsonl", source / "night.jsonl")
    settings = Settings(source=source, data_dir=tmp_path / "cx", thresholds=FIXTURES / "suite_test.yaml")
    return SimpleNamespace(settings=settings, store=Store(settings.store_target), collection=collection,
                           source=source, crm=Crm(Ledger(settings.ledger_target)),
                           dispositions=load_dispositions(settings.dispositions))
