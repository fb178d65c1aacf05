#!/usr/bin/env bash
# README command 2: set up (without the LLM or its compile) and run the test suite. The tests need no network;
# the set-up installs from PyPI and, as root, Debian's chromium for the browser test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/system-packages.sh
exec .venv/bin/python -m pytest "$@"
