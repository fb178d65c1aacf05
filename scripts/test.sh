#!/usr/bin/env bash
# README command 2: set up (without the LLM or its compile), lint (ruff, configured in pyproject.toml) and run the
# test suite. The tests need no network; the set-up installs from PyPI and, as root, Debian's chromium and
# postgresql for the system tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/system-packages.sh
.venv/bin/ruff check .
exec .venv/bin/python -m pytest "$@"
