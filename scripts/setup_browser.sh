#!/usr/bin/env bash
# Installs Debian's chromium for the test that renders the HTML report in a real headless
# browser; `make test` runs it. A no-op when chromium is already there.
set -euo pipefail

command -v chromium >/dev/null && exit 0
die() { echo "setup: $*" >&2; exit 1; }
[ "$(id -u)" = 0 ] || die "chromium is missing: run 'sudo apt-get install chromium' (the report test renders in it)"
echo "setup: installing chromium (Debian package) for the report rendering test"
apt-get install -y -q --no-install-recommends chromium >/dev/null 2>&1 \
  || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends chromium >/dev/null; } \
  || die "could not install chromium with apt-get"
