#!/usr/bin/env bash
# The whole test suite from nothing: installs what the tests need (Debian's redis-server,
# chromium with a Chinese font for the browser tests, prometheus for the monitoring tests, coturn
# and faketime (to age coturn's clock) for the TURN tests, nginx for the TLS proxy tests,
# iproute2 and iptables for the impaired-link tests; the virtual environment with the test
# extras; the browser app's npm packages and bundle; bench/node's official socket.io client),
# checks lint, types and layers, then runs pytest.
# The tests start and stop their own SecantusDB, Redis, coturn and nginx servers.
# Extra arguments go to pytest, e.g. scripts/test.sh -k auth -x; TEST_WORKERS sets how many
# pytest-xdist workers run the tests (3; 0 runs them in this process).
set -euo pipefail
TEST_WORKERS="${TEST_WORKERS:-3}"
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"

apt_install redis-server chromium fonts-wqy-microhei prometheus coturn faketime nginx iproute2 iptables
venv test
web_assets
bench_node_packages

echo "==> ruff"
.venv/bin/ruff check .
.venv/bin/ruff format --check .
echo "==> mypy"
.venv/bin/mypy
echo "==> layers (import-linter)"
.venv/bin/lint-imports
echo "==> tsc (the app's types against the server's contracts too)"
web_types
(cd web && npm run --silent typecheck)
echo "==> dependency audit (what it could and could not check is printed)"
.venv/bin/python scripts/audit_deps.py --npm-lock web/package-lock.json --npm-lock bench/node/package-lock.json
echo "==> pytest ($TEST_WORKERS worker processes)"
# The tests mostly wait (on the database, Redis, browsers, impaired links), so several workers
# overlap the waits. Each worker starts its own SecantusDB and Redis; a module's tests stay on one
# worker, and one module at a time drives Chromium (tests/support/xdist_lanes.py).
.venv/bin/pytest -n "$TEST_WORKERS" --dist loadscope --durations=15 "$@"
