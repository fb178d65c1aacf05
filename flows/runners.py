"""Where the nightly flow's chunks run: threads of the flow's process (default) or a Dask cluster.

Both runners read the `CX_*` settings when the run starts, not at import: the thread pool its size
(`CX_CHUNKS_IN_FLIGHT`), the Dask runner its scheduler address or local cluster size. So a deployment picks up a
changed setting on its next run, and one entrypoint serves a laptop (LocalCluster) and a real cluster (address).
"""

from __future__ import annotations

import copyreg

from prefect.task_runners import ThreadPoolTaskRunner
from prefect.utilities.annotations import quote
from prefect_dask import DaskTaskRunner

from cx_worker.settings import Settings


def _pickle_quote(value: quote) -> tuple:
    return quote, (value.unquote(),)


# Prefect's `quote` (a task parameter Prefect must not walk) is a tuple subclass whose constructor takes the value:
# pickled the default way it comes back wrapped in one more tuple, so a task on a Dask worker (every parameter is
# pickled) got `(value,)`. Pickled as the value it holds, it arrives as it was sent.
copyreg.pickle(quote, _pickle_quote)


class SettingsThreadPoolTaskRunner(ThreadPoolTaskRunner):
    """Prefect's `ThreadPoolTaskRunner`, `CX_CHUNKS_IN_FLIGHT` threads (read when entered)."""

    def __init__(self, max_workers: int | None = None):
        super().__init__(max_workers=max_workers or 1)
        self._fixed = max_workers

    def __enter__(self):
        if self._fixed is None:
            self._max_workers = Settings().chunks_in_flight
        return super().__enter__()

    def duplicate(self) -> SettingsThreadPoolTaskRunner:
        return type(self)(self._fixed)


class SettingsDaskTaskRunner(DaskTaskRunner):
    """prefect-dask's `DaskTaskRunner`, configured from `Settings` (dask_address, dask_workers) when entered."""

    def __enter__(self):
        settings = Settings()
        self.address = settings.dask_address
        if not self.address:
            # One thread per worker process: the chunk's own thread pool bounds its LLM calls; no dashboard port.
            self.cluster_kwargs = {"n_workers": settings.dask_workers, "threads_per_worker": 1, "processes": True,
                                   "dashboard_address": None}
        return super().__enter__()

    def duplicate(self) -> SettingsDaskTaskRunner:
        return type(self)()


def task_runner(settings: Settings):
    """The task runner `settings.task_runner` names."""
    if settings.task_runner == "dask":
        return SettingsDaskTaskRunner()
    return SettingsThreadPoolTaskRunner(settings.chunks_in_flight)
