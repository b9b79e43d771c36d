#!/usr/bin/env bash
# The whole test suite: the static checks (scripts/check.sh), then pytest on SQLite, and again on
# PostgreSQL when YIWANG_TEST_DATABASE_URL is set (CI sets it to the machine's PostgreSQL).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

bash scripts/check.sh

echo "== pytest on SQLite"
env -u YIWANG_TEST_DATABASE_URL $BIN/pytest -q -p no:cacheprovider "$@"

if [ -n "${YIWANG_TEST_DATABASE_URL:-}" ]; then
  echo "== pytest on PostgreSQL"
  $BIN/pytest -q -p no:cacheprovider "$@"
fi
