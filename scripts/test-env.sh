#!/usr/bin/env bash
# Prepare a machine for the test suite: the package with its test extras, Debian's chromium
# (the chat-page test), the local PostgreSQL. The README's test command (and .ci/run) is
#   bash scripts/test-env.sh && bash scripts/lint.sh && python3 -m pytest -n auto
set -euo pipefail
cd "$(dirname "$0")/.."

python3 -m pip install -q --disable-pip-version-check -e '.[test]'

# Headless Chromium for the chat-page tests (Debian's package; Playwright drives it, no browser download),
# and a Chinese font so that their screenshots show the text a person reads, not empty boxes.
missing=""
[ -x /usr/bin/chromium ] || missing="chromium"
fc-list 2>/dev/null | grep -qi "wenquanyi\|wqy" || missing="$missing fonts-wqy-microhei"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "installing$missing (apt)…"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  else
    echo "missing:$missing: run 'sudo apt-get install -y$missing'" >&2
  fi
fi

# The PostgreSQL tests need the local server (127.0.0.1:5432, trust auth, database test).
if [ -z "${TEST_PG_URL:-}" ] && command -v pg_isready >/dev/null && ! pg_isready -h 127.0.0.1 -p 5432 -q; then
  echo "starting PostgreSQL…"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
  for _ in $(seq 1 20); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 0.5; done
fi
# tests/conftest.py defaults TEST_PG_URL to postgresql+asyncpg://postgres@127.0.0.1:5432/test
# and keeps 127.0.0.1 out of any proxy.
