#!/usr/bin/env bash
# The draw-a-digit page's npm packages (LiteRT.js, pinned by web/package-lock.json), and what the
# browser tests need besides: Debian's chromium (the report, LiteRT.js and MediaPipe run in it) and
# Node.js and npm from Debian. No browser is ever downloaded: playwright-core drives the system chromium.
set -euo pipefail

WEB_DIR=web
STAMP="$WEB_DIR/node_modules/.setup-complete"
die() { echo "setup: $*" >&2; exit 1; }

apt_install() {  # package names; the program they provide is missing
  [ "$(id -u)" = 0 ] || die "$* missing: run 'sudo apt-get install $*' (the browser tests need it)"
  echo "setup: installing $* (Debian packages) for the browser tests"
  apt-get install -y -q --no-install-recommends "$@" >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "$@" >/dev/null; } \
    || die "could not install $* with apt-get"
}

command -v chromium >/dev/null || apt_install chromium
command -v node >/dev/null && command -v npm >/dev/null || apt_install nodejs npm

lock_hash=$(sha256sum "$WEB_DIR/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$lock_hash" ]; then
  echo "setup: installing the page's and the browser tests' npm packages (web/package-lock.json)"
  npm ci --prefix "$WEB_DIR" --no-audit --no-fund --loglevel=error >/dev/null \
    || die "npm ci in $WEB_DIR failed (the npm registry must be reachable)"
  echo "$lock_hash" > "$STAMP"
fi
