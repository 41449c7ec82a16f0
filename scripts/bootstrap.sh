#!/usr/bin/env bash
# Builds the environment from nothing: system packages the project needs (as root, from
# Debian), the virtual environment in .venv, and the project with its test extras.
# Sourced by scripts/test.sh and scripts/demo.sh; safe to run again (it only adds what is missing).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

apt_install() {
  local missing=()
  for pkg in "$@"; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  echo "==> installing Debian packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# This machine's pip configuration names local index folders that may not exist; drop the
# resulting noise but keep every other line (errors included).
quiet_pip() {
  grep -v "^WARNING: Location 'file:///" || true
}

venv() {
  if [ ! -x "$ROOT/.venv/bin/python" ]; then
    echo "==> creating .venv with $($PYTHON --version)"
    "$PYTHON" -m venv "$ROOT/.venv"
  fi
  # Any extra (test, bench) takes the development lock; the server alone takes the runtime lock.
  # Both pin every package with its hashes (scripts/lock.sh writes them from pyproject.toml).
  local lock="$ROOT/requirements/runtime.txt"
  [ -z "${1:-}" ] || lock="$ROOT/requirements/dev.txt"
  local stamp dev_stamp
  stamp="$ROOT/.venv/.installed-$(cat "$lock" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
  dev_stamp="$ROOT/.venv/.installed-$(cat "$ROOT/requirements/dev.txt" "$ROOT/pyproject.toml" | sha256sum | cut -c1-16)"
  # The development lock pins the runtime's packages at the runtime's versions (scripts/lock.sh
  # compiles it under -c requirements/runtime.txt): a venv that has it serves the server too, so
  # the demo after the tests neither reinstalls nor makes the next test run reinstall.
  [ -n "${1:-}" ] || [ ! -f "$dev_stamp" ] || return 0
  if [ ! -f "$stamp" ]; then
    echo "==> installing the locked packages ($(basename "$lock")) and the project"
    "$ROOT/.venv/bin/python" -m pip install -q --require-hashes --no-deps -r "$lock" 2>&1 | quiet_pip
    # (setuptools warns about every editable install; the warning is about its own layouts)
    PYTHONWARNINGS=ignore "$ROOT/.venv/bin/python" -m pip install -q --no-deps --no-build-isolation -e "$ROOT" 2>&1 | quiet_pip
    "$ROOT/.venv/bin/python" -m pip check >/dev/null || "$ROOT/.venv/bin/python" -m pip check
    rm -f "$ROOT"/.venv/.installed*
    touch "$stamp"
  fi
}

# The browser app (web/README.md): npm packages from the lock file, then the bundle in
# web/static/dist/. Rebuilt only when the sources, the build script or the lock file changed.
web_assets() {
  local web="$ROOT/web"
  [ -f "$web/package.json" ] || return 0
  command -v npm >/dev/null 2>&1 || apt_install nodejs npm
  local digest lock_digest
  digest="$(cd "$web" && find src package.json package-lock.json build.mjs tsconfig.json -type f \
    -not -path 'src/lib/generated/*' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  lock_digest="$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)"
  if [ ! -f "$web/node_modules/.telemed-lock" ] || [ "$(cat "$web/node_modules/.telemed-lock")" != "$lock_digest" ]; then
    echo "==> installing the browser app's npm packages"
    (cd "$web" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$lock_digest" > "$web/node_modules/.telemed-lock"
  fi
  if [ -f "$web/static/dist/manifest.json" ] && [ -f "$web/static/dist/.sources" ] \
    && [ "$(cat "$web/static/dist/.sources")" = "$digest" ]; then
    return 0
  fi
  echo "==> building the browser app"
  (cd "$web" && npm run --silent build)
  echo "$digest" > "$web/static/dist/.sources"
}

# The browser app's TypeScript types of the server's contracts (web/src/lib/generated/, not in
# git): the OpenAPI and AsyncAPI documents the server writes, through web/scripts/gen-types.mjs.
# The app imports them as types only (the bundle does not need them); tsc checks the app's own
# types against them (web/src/lib/contract.ts), so a drift fails the type check.
web_types() {
  local tmp
  tmp="$(mktemp -d)"
  "$ROOT/.venv/bin/python" -m server.http.documents "$tmp"
  (cd "$ROOT/web" && node scripts/gen-types.mjs "$tmp/openapi.json" "$tmp/asyncapi.json" src/lib/generated)
  rm -rf "$tmp"
}

# The official socket.io client (bench/node's lock file), for the transport contract tests.
bench_node_packages() {
  local dir="$ROOT/bench/node" digest
  digest="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
  [ "$(cat "$dir/node_modules/.telemed-lock" 2>/dev/null)" = "$digest" ] && return 0
  echo "==> installing bench/node's npm packages (the official socket.io client)"
  (cd "$dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
  echo "$digest" > "$dir/node_modules/.telemed-lock"
}
