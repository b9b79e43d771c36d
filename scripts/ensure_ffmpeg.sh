#!/usr/bin/env bash
# Make sure Debian's ffmpeg is installed: the video tests make a short HLS stream with it.
# Under CI=true a missing ffmpeg that cannot be installed fails the run.
set -euo pipefail
if command -v ffmpeg >/dev/null 2>&1; then
  exit 0
fi
echo "installing Debian's ffmpeg for the video tests" >&2
if [ "$(id -u)" -eq 0 ]; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null || true
else
  (sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null) || true
fi
if ! command -v ffmpeg >/dev/null 2>&1; then
  echo "ffmpeg could not be installed" >&2
  if [ "${CI:-}" = "true" ]; then
    exit 1
  fi
fi
