"""Where the nightly flow's chunks run: threads of the flow's process (default) or a Dask cluster.

The Dask runner reads its scheduler address and local cluster size from the `CX_*` settings when the run starts,
not at import, so the same deployment entrypoint serves a laptop (LocalCluster) and a real cluster (address).
"""

from __future__ import annotations

from prefect.task_runners import ThreadPoolTaskRunner
from prefect_dask import DaskTaskRunner

from cx_worker.settings import Settings


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
    return ThreadPoolTaskRunner(max_workers=settings.chunks_in_flight)
