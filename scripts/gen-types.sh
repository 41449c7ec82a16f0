#!/usr/bin/env bash
# Writes web/src/lib/generated/ (api.ts, hub.ts): the TypeScript types of the server's OpenAPI and
# AsyncAPI documents, which web/src/lib/contract.ts checks the app's own types against.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"
venv test
web_assets
web_types
