#!/usr/bin/env bash
# Runs the transport's tests on the newest releases of the libraries whose internals the hub
# uses (aiohttp, python-engineio, python-socketio, and redis for the Redis manager), in a
# throwaway virtual environment; prints the versions it took and what broke. Not part of CI:
# it answers "what would the next upgrade cost?" (see "Upgrading the locked libraries" in
# docs/ARCHITECTURE.md).
#
#   scripts/test-latest.sh              the transport, hub, Redis hub and drift tests
#   scripts/test-latest.sh tests/...    other tests (pytest arguments)
set -uo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
LIBS=(aiohttp python-engineio python-socketio redis)
VENV="$(mktemp -d "${TMPDIR:-/tmp}/telemed-latest.XXXXXX")"
trap 'rm -rf "$VENV"' EXIT

echo "==> a throwaway venv in $VENV: the lock, then the newest ${LIBS[*]}"
"$PYTHON" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip >/dev/null
"$VENV/bin/python" -m pip install -q --require-hashes --no-deps -r requirements/dev.txt || exit 2
PYTHONWARNINGS=ignore "$VENV/bin/python" -m pip install -q --no-deps --no-build-isolation -e . \
  >/dev/null || exit 2
"$VENV/bin/python" -m pip install -q --upgrade "${LIBS[@]}" || exit 2

echo "==> versions (locked -> installed)"
for lib in "${LIBS[@]}"; do
  locked="$(grep -i "^${lib}==" requirements/dev.txt | head -1 | sed 's/ .*//; s/.*==//')"
  installed="$("$VENV/bin/python" -c "import importlib.metadata as m; print(m.version('$lib'))")"
  echo "    $lib: $locked -> $installed"
done

if [ $# -eq 0 ]; then
  set -- tests/unit/test_upstream_drift.py tests/signaling/test_transport.py \
    tests/signaling/test_transport_bounds.py tests/signaling/test_every_transport.py \
    tests/signaling/test_events.py tests/signaling/test_consultation.py \
    tests/signaling/test_hostile.py tests/signaling/test_redis_hub.py \
    tests/signaling/test_redis_publish.py
fi
echo "==> pytest $*"
"$VENV/bin/python" -m pytest -q -p no:cacheprovider -rfE "$@" 2>&1 | tee "$VENV/pytest.log" | tail -n 60
status=${PIPESTATUS[0]}
echo "==> what broke"
if [ "$status" -eq 0 ]; then
  echo "    nothing: every test passed on the newest releases"
else
  grep -E "^(FAILED|ERROR) " "$VENV/pytest.log" | sed 's/^/    /' || echo "    pytest exited with $status"
fi
exit "$status"
