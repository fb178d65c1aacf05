"""A real Chroma server for tests: `chroma run` (the CLI chromadb ships) on 127.0.0.1, a free port, a throw-away
folder; ready when `/api/v2/heartbeat` answers, stopped (its process group) after, on failure too."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from tests.support.paths import PROJECT_ROOT
from tests.support.postgres import free_port
from tests.support.server_process import ServerProcess

CHROMA = PROJECT_ROOT / ".venv" / "bin" / "chroma"


class ChromaServer(ServerProcess):
    """`with ChromaServer() as chroma: chroma.url` (http://127.0.0.1:PORT)."""

    def __init__(self, *, startup_timeout: float = 90.0) -> None:
        self.base = Path(tempfile.mkdtemp(prefix="cx-chroma-"))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.startup_timeout = startup_timeout
        self.proc: subprocess.Popen | None = None

    def start(self) -> ChromaServer:
        env = {**os.environ, "ANONYMIZED_TELEMETRY": "False"}
        self.proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(self.base / "data"), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=(self.base / "server.log").open("wb"), stderr=subprocess.STDOUT, env=env, cwd=self.base,
            start_new_session=True)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"chroma run exited with {self.proc.returncode}: {self.log()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/api/v2/heartbeat", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"chroma run did not answer its heartbeat in {self.startup_timeout:.0f} s: "
                           f"{self.log()[-2000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=15)
        shutil.rmtree(self.base, ignore_errors=True)
