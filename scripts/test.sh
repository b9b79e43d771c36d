#!/usr/bin/env bash
# The whole test suite: the static checks (scripts/check.sh), then pytest on SQLite, and again on
# PostgreSQL when YIWANG_TEST_DATABASE_URL is set (CI sets it to the machine's PostgreSQL), both in the
# intl crypto profile; then once more on SQLite in the national profile (YIWANG_CRYPTO_PROFILE=gm).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

bash scripts/check.sh

# One pytest-xdist worker per core (YIWANG_TEST_WORKERS to choose); a module's tests stay together on
# one worker and the tests marked serial share one (tests/conftest.py). On PostgreSQL each worker gets
# a database of its own named after the one in YIWANG_TEST_DATABASE_URL (tests/databases.py).
PYTEST=("$BIN/pytest" -q -p no:cacheprovider -n "${YIWANG_TEST_WORKERS:-auto}")

echo "== pytest on SQLite"
env -u YIWANG_TEST_DATABASE_URL YIWANG_CRYPTO_PROFILE=intl "${PYTEST[@]}" "$@"

# The page crawl (marker `crawl`) reads what people see, which no engine or profile changes: it runs in
# the first pass only.
if [ -n "${YIWANG_TEST_DATABASE_URL:-}" ]; then
  echo "== pytest on PostgreSQL"
  YIWANG_CRYPTO_PROFILE=intl "${PYTEST[@]}" -m "not crawl" "$@"
fi

echo "== pytest on SQLite, gm profile (SM2, SM3, SM4)"
env -u YIWANG_TEST_DATABASE_URL YIWANG_CRYPTO_PROFILE=gm "${PYTEST[@]}" -m "not crawl" "$@"
