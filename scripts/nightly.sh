#!/usr/bin/env bash
# README command 1: set everything up, then run the nightly flow over the bundled real contacts on the
# embedded local LLM (no API key, no network). Extra arguments go to `cx-worker nightly` (e.g. --limit 3, --all);
# without any (and without CX_LIMIT), the sample night is 8 contacts: sized so a fresh clone reaches its report in
# about 10 minutes on 2 cores. Every other way of running the night uses CX_LIMIT, default 12.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --llm
if [ "$#" -eq 0 ] && [ -z "${CX_LIMIT:-}" ]; then
  set -- --limit 8
fi
exec .venv/bin/cx-worker nightly "$@"
