# The two set-up commands of the README:
#   make start  — install, then start the platform in demo mode on its embedded defaults (SQLite, ./var,
#                 demo data with published logins; never for real data — see docs/operations.md)
#   make test   — install with test tools, then run the whole suite (static checks, then the tests)
# And while working on the code (after one `make test` or `make install-test`):
#   make check  — the static checks alone: ruff, format, the import rule between packages, mypy
.PHONY: start test check install install-test assets browser mysql-headers

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

start: install
	$(BIN)/yiwang serve --demo --host $(HOST) --port $(PORT)

test: install-test browser
	bash scripts/test.sh

check:
	bash scripts/check.sh

install: $(BIN)/python assets mysql-headers
	$(BIN)/pip install --quiet -e .

install-test: $(BIN)/python assets mysql-headers
	$(BIN)/pip install --quiet -e '.[test]'

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Front-end assets come from the npm registry and are served by the app itself (no CDN).
assets:
	npm ci --no-audit --no-fund --loglevel=error
	$(PYTHON) scripts/vendor_assets.py

# The MySQL/MariaDB driver (mysqlclient) compiles against Debian's MariaDB client headers.
mysql-headers:
	bash scripts/ensure_mysql_headers.sh

# Browser tests drive Debian's Chromium (no tool downloads a browser of its own); the video test
# makes its HLS stream with Debian's ffmpeg.
browser:
	bash scripts/ensure_chromium.sh
	bash scripts/ensure_ffmpeg.sh
