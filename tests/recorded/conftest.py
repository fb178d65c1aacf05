"""Recorded LLM traffic: replay by default; `CX_RECORD=1` records against the embedded llama.cpp server.

Only OpenAI-protocol calls (`/v1/...`) go into a cassette; anything else (Prefect's API) passes through.
Requests match on method, path and body, so the server's port does not matter on replay.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import vcr

CASSETTES = Path(__file__).resolve().parent.parent / "cassettes"
RECORDING = os.environ.get("CX_RECORD") == "1"
# Replays never reach a server: a closed port proves it (an unmatched request fails instead of going out).
REPLAY_BASE_URL = "http://127.0.0.1:9/v1"


def _llm_only(request):
    return request if "/v1/" in request.path else None


def _scrub_response(response):
    headers = response.get("headers", {})
    for name in list(headers):
        if name.lower() in ("set-cookie", "authorization"):
            del headers[name]
    return response


@pytest.fixture(scope="session")
def llm_base_url():
    """The endpoint tests talk to: the embedded server when recording, a closed port when replaying."""
    if not RECORDING:
        yield REPLAY_BASE_URL
        return
    from cx_worker.llm.server import EmbeddedServer
    from cx_worker.settings import Settings

    with EmbeddedServer(Settings()) as server:
        yield server.base_url


@pytest.fixture
def cassette(request, llm_base_url):
    """Use `tests/cassettes/<module>/<test>.yaml`; on replay, assert every recorded call was played."""
    module = Path(request.node.fspath).stem
    path = CASSETTES / module / f"{request.node.name}.yaml"
    recorder = vcr.VCR(
        record_mode="all" if RECORDING else "none",
        match_on=["method", "path", "body"],
        filter_headers=["authorization", "openai-organization", "cookie"],
        before_record_request=_llm_only,
        before_record_response=_scrub_response,
        decode_compressed_response=True,
    )
    if not RECORDING and not path.exists():
        pytest.fail(f"missing cassette {path}: record it with CX_RECORD=1 (see README)")
    if RECORDING:  # record mode "all" keeps what the file held: a changed prompt would leave its old calls behind
        path.unlink(missing_ok=True)
    with recorder.use_cassette(str(path)) as cass:
        yield cass
    if not RECORDING:
        assert cass.play_count > 0, "the cassette was not played"
        assert cass.all_played, f"only {cass.play_count} of {len(cass)} recorded calls were replayed"
