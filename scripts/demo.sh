#!/usr/bin/env bash
# Runs the server with its embedded defaults (a local SecantusDB started for you, no Redis)
# and a demo clinic to try. Data lives in ./var; Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"

venv
web_assets
exec .venv/bin/telemed serve --demo "$@"
