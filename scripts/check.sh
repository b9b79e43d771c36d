#!/usr/bin/env bash
# The static checks, without the test suite: style, formatting, the import rule between packages
# (tests/boundaries.py) and types. `make check` runs them alone as the fast inner loop, `make test`
# before the suite, and pre-commit before each commit (.pre-commit-config.yaml).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin

echo "== ruff"
$BIN/ruff check src tests bench migrations scripts
$BIN/ruff format --check src tests bench migrations scripts
echo "== import rule"
$BIN/lint-imports
echo "== mypy"
$BIN/mypy
