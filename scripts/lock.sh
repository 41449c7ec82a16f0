#!/usr/bin/env bash
# Regenerates the lock files in requirements/ from pyproject.toml (uv pip compile, hashes for
# every wheel and sdist of every platform, Python 3.11 and newer):
#   requirements/runtime.txt  the server (the Dockerfile, scripts/demo.sh)
#   requirements/dev.txt      the server + the test and bench extras (scripts/test.sh, bench/run.sh)
# Versions already in the lock are kept; only what pyproject.toml no longer allows moves.
#
#   scripts/lock.sh                       after adding or changing a dependency in pyproject.toml
#   scripts/lock.sh --upgrade             take the newest releases pyproject.toml allows
#   scripts/lock.sh --upgrade-package P   move one package (repeatable)
#
# After an upgrade, re-verify before committing: scripts/test.sh (its drift tests name every
# upstream internal the hub relies on that changed), then bench/run.sh --only relay for the
# hub's figures.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
UV_VERSION="0.13.9"
PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3

if [ ! -x .venv-tools/bin/uv ] || [ "$(.venv-tools/bin/uv --version | cut -d' ' -f2)" != "$UV_VERSION" ]; then
  echo "==> installing uv $UV_VERSION in .venv-tools"
  "$PYTHON" -m venv .venv-tools
  .venv-tools/bin/pip install -q "uv==$UV_VERSION" 2>&1 | grep -v "^WARNING: Location 'file:///" || true
fi

common=(--generate-hashes --universal --python-version 3.11 --quiet --no-header "$@")
export UV_CUSTOM_COMPILE_COMMAND="scripts/lock.sh"
.venv-tools/bin/uv pip compile pyproject.toml requirements/build.in \
  "${common[@]}" -o requirements/runtime.txt
.venv-tools/bin/uv pip compile pyproject.toml requirements/build.in --extra test --extra bench \
  -c requirements/runtime.txt "${common[@]}" -o requirements/dev.txt
echo "==> requirements/runtime.txt: $(grep -c '^[A-Za-z0-9].*==' requirements/runtime.txt) packages;" \
  "requirements/dev.txt: $(grep -c '^[A-Za-z0-9].*==' requirements/dev.txt)"
