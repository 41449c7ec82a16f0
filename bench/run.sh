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
#   bench/run.sh --hub-python /usr/bin/python3.11
#                                     the hub (and the bare relay) on another interpreter, e.g.
#                                     an optimised build like the Docker image's: the project is
#                                     installed for it in .venv-hub (docs/BENCHMARKS.md)
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
# --hub-python PYTHON: a virtual environment of that interpreter with the project (.venv-hub),
# made again when PYTHON or the runtime lock changed; the hub and the bare relay run on it.
args=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--hub-python" ] && [ $# -ge 2 ]; then
    base="$(command -v "$2")"
    stamp=".venv-hub/.installed-$(cat <(echo "$base") requirements/runtime.txt pyproject.toml | sha256sum | cut -c1-12)"
    if [ ! -f "$stamp" ]; then
      echo "==> .venv-hub with $("$base" --version) ($base)"
      rm -rf .venv-hub
      "$base" -m venv .venv-hub
      .venv-hub/bin/python -m pip install -q --require-hashes --no-deps -r requirements/runtime.txt 2>&1 | quiet_pip
      .venv-hub/bin/python -m pip install -q --no-deps --no-build-isolation -e . 2>&1 | quiet_pip
      touch "$stamp"
    fi
    args+=(--hub-python "$ROOT/.venv-hub/bin/python")
    shift 2
  else
    args+=("$1")
    shift
  fi
done
exec .venv/bin/python -m bench "${args[@]}"
