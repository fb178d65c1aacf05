"""A night run as ops run it, through the installed `cx-worker` command: the environment for one.

Real contacts (the first `contacts` of data/contacts/sample.jsonl) in a source folder, a few exemplars (the labels
are not what these tests check; embedding all of them is slow), a private data dir and Prefect home, the LLM at
`base_url`, and no `CX_*` / `PREFECT_*` / `OPENAI_*` variable of the caller's.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.support.paths import PROJECT_ROOT

CLI = PROJECT_ROOT / ".venv" / "bin" / "cx-worker"


def cli_env(tmp_path: Path, base_url: str, *, contacts: int, **extra: str) -> dict[str, str]:
    """The environment of a `cx-worker` night in `tmp_path`; `extra` adds or overrides variables."""
    source = tmp_path / "in"
    source.mkdir(parents=True, exist_ok=True)
    lines = (PROJECT_ROOT / "data" / "contacts" / "sample.jsonl").read_text().splitlines()[:contacts]
    (source / "night.jsonl").write_text("\n".join(lines) + "\n")
    exemplars = tmp_path / "exemplars.jsonl"
    small = (PROJECT_ROOT / "tests" / "fixtures" / "exemplars_small.jsonl").read_text().splitlines()
    exemplars.write_text("\n".join(small[::10]) + "\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CX_", "PREFECT_", "OPENAI_"))}
    env.update({
        "CX_DATA_DIR": str(tmp_path / "cx"), "CX_SOURCE": str(source), "CX_EXEMPLARS": str(exemplars),
        "CX_LLM_BASE_URL": base_url, "CX_LLM_TIMEOUT": "30",
        "PREFECT_HOME": str(tmp_path / "prefect"), "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120", "DO_NOT_TRACK": "1",
        "ANONYMIZED_TELEMETRY": "False", **extra,
    })
    return env
