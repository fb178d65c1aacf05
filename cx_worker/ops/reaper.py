"""Children die with the run: nothing a run started outlives it, however the run ends.

A nightly run starts processes of its own (Prefect's temporary API server, a Dask LocalCluster, the embedded LLM
server). If the run is killed with SIGKILL it gets no chance to stop them, and they would run on as orphans,
holding ports, memory and the cores the next night needs. `start_reaper` starts a small watcher process in a
session of its own: while the run lives it notes the run's descendants every half second; when the run is gone
it stops the ones still running (SIGTERM, then SIGKILL after a grace period). On a normal exit the run has
stopped its children itself and the watcher finds nothing to do.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

POLL_SECONDS = 0.5
GRACE_SECONDS = 5.0


def start_reaper() -> subprocess.Popen:
    """Watch this process; stop whatever it started once it is gone. Returns the watcher."""
    return subprocess.Popen([sys.executable, "-m", "cx_worker.ops.reaper", str(os.getpid())],
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True, close_fds=True)


def watch(pid: int) -> list[int]:
    """Note `pid`'s descendants while it runs; once it has ended, stop the ones still alive. Returns their pids."""
    try:
        parent = psutil.Process(pid)
        born = parent.create_time()
    except psutil.NoSuchProcess:
        return []
    me = os.getpid()
    known: dict[int, psutil.Process] = {}
    while True:
        try:
            if not parent.is_running() or parent.create_time() != born or parent.status() == psutil.STATUS_ZOMBIE:
                break
            for child in parent.children(recursive=True):
                if child.pid != me:
                    known.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            break
        time.sleep(POLL_SECONDS)
    alive = []
    for proc in known.values():
        try:
            if proc.is_running():  # psutil checks the pid was not reused by another process since
                alive.extend(proc.children(recursive=True))
                alive.append(proc)
        except psutil.NoSuchProcess:
            continue
    for proc in alive:
        try:
            proc.terminate()
        except psutil.NoSuchProcess:
            pass
    _, left = psutil.wait_procs(alive, timeout=GRACE_SECONDS)
    for proc in left:
        try:
            proc.kill()
        except psutil.NoSuchProcess:
            pass
    return [p.pid for p in alive]


if __name__ == "__main__":
    watch(int(sys.argv[1]))
