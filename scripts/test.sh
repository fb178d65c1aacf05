#!/usr/bin/env bash
# README command 2: set up (without the LLM or its compile) and run the test suite; no network needed.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec .venv/bin/python -m pytest "$@"
