#!/usr/bin/env bash
# Debian packages some tests use: chromium (the governance report rendered in a real browser) and postgresql
# (the SQL source tested against a real server, started by the test with initdb + pg_ctl).
# Installed when missing and we may (root with apt-get); otherwise those tests skip and say why.
set -uo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null 2>&1 || missing+=(postgresql)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "cx-worker: installing Debian packages for the tests: ${missing[*]} ..." >&2
  export DEBIAN_FRONTEND=noninteractive
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } >/dev/null 2>&1 \
    || echo "cx-worker: could not install ${missing[*]}; the tests that need them will be skipped" >&2
else
  echo "cx-worker: not root: skipping ${missing[*]} (the tests that need them will be skipped)" >&2
fi
exit 0
