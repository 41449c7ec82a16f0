#!/usr/bin/env bash
# The benchmark suite, from nothing: installs what it needs (redis-server and Node.js from
# Debian when missing, the project's virtual environment with the bench extras, the Node.js
# peers with `npm ci`), then measures the hub against a bare python-socketio relay and the
# reference socket.io server, side by side, on this machine. Not part of the tests.
#
#   bench/run.sh                      the whole suite (about 10 minutes)
#   bench/run.sh --quick              shorter runs, fewer rooms (about 3 minutes)
#   bench/run.sh --only relay,memory  some scenarios: relay chat call_setup memory rooms cluster
#   bench/run.sh soak --minutes 30    a bounded soak: steady load, memory and latency sampled
#
# Tables go to the terminal, JSON to bench/results/ (git-ignored).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/bootstrap.sh"
cd "$ROOT"

apt_install redis-server
command -v node >/dev/null 2>&1 || apt_install nodejs npm
venv bench
if [ ! -d bench/node/node_modules ] || [ bench/node/package-lock.json -nt bench/node/node_modules ]; then
  echo "==> npm ci (bench/node)"
  (cd bench/node && npm ci --no-audit --no-fund --loglevel=error)
  touch bench/node/node_modules
fi
exec .venv/bin/python -m bench "$@"
