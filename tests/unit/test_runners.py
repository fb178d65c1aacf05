"""The nightly flow's task runners read their size from the settings when a run starts, not at import."""

from __future__ import annotations

import pytest

from cx_worker.settings import Settings
from flows.nightly import nightly, nightly_for
from flows.runners import SettingsDaskTaskRunner, SettingsThreadPoolTaskRunner, task_runner


def test_the_deployed_flow_sizes_its_thread_pool_from_chunks_in_flight(monkeypatch: pytest.MonkeyPatch) -> None:
    # The `nightly` deployment runs the flow object as imported: a later CX_CHUNKS_IN_FLIGHT must still count.
    monkeypatch.setenv("CX_CHUNKS_IN_FLIGHT", "5")
    runner = nightly.task_runner.duplicate()  # what Prefect does at each run
    with runner:
        assert runner._executor._max_workers == 5
    monkeypatch.setenv("CX_CHUNKS_IN_FLIGHT", "3")
    with nightly.task_runner.duplicate() as runner:
        assert runner._executor._max_workers == 3


def test_an_explicit_size_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CX_CHUNKS_IN_FLIGHT", "5")
    with SettingsThreadPoolTaskRunner(2).duplicate() as runner:
        assert runner._executor._max_workers == 2


def test_settings_choose_the_runner(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(task_runner(Settings(task_runner="dask")), SettingsDaskTaskRunner)
    threads = task_runner(Settings(chunks_in_flight=4))
    assert isinstance(threads, SettingsThreadPoolTaskRunner)
    with threads:
        assert threads._executor._max_workers == 4
    assert isinstance(nightly_for(Settings()).task_runner, SettingsThreadPoolTaskRunner)
