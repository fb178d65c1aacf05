#!/usr/bin/env bash
# README command 1: set everything up, then run the nightly flow over the bundled real contacts on the
# embedded local LLM (no API key, no network). Extra arguments go to `cx-worker nightly` (e.g. --limit 3, --all).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --llm
exec .venv/bin/cx-worker nightly "$@"
