"""What the test servers (`postgres.PostgresServer`, `chroma_server.ChromaServer`) share: a throw-away folder with
the server's log, and a `with` block that stops the server on the way out, also when it failed to start."""

from __future__ import annotations

from pathlib import Path


class ServerProcess:
    """Subclasses set `self.base` (their folder, holding `server.log`) and define `start()` and `stop()`."""

    base: Path

    def start(self):
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def log(self) -> str:
        """The server's log (for a failing test's message)."""
        try:
            return (self.base / "server.log").read_text(errors="replace")
        except OSError:
            return ""

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc) -> None:
        self.stop()
