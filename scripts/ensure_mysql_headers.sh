#!/usr/bin/env bash
# mysqlclient (the MySQL/MariaDB driver of collection sources) builds against the MariaDB client
# headers; install Debian's libmariadb-dev (and pkg-config, which finds it) when they are missing.
set -euo pipefail
if command -v pkg-config >/dev/null 2>&1 && pkg-config --exists libmariadb 2>/dev/null; then
  exit 0
fi
echo "installing Debian's libmariadb-dev for the mysqlclient driver" >&2
packages=(libmariadb-dev pkg-config gcc)
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
else
  sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${packages[@]}" >/dev/null
fi
pkg-config --exists libmariadb || { echo "libmariadb-dev could not be installed" >&2; exit 1; }
