#!/usr/bin/env bash
# Runs the server with its embedded defaults (a local SecantusDB started for you, no Redis)
# and a demo clinic to try. Data lives in ./var; Ctrl-C stops everything.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/bootstrap.sh"
cd "$ROOT"

venv
web_assets
# Chat text, notes and documents' bytes encrypted at rest (docs/SECURITY.md), with a master key
# made on first run. A demo keeps it beside its data; a clinic keeps it elsewhere (see there).
if [ -z "${TELEMED_FIELD_ENCRYPTION_KEY_FILE:-}" ]; then
  key="${TELEMED_DATA_DIR:-./var}/keys/field-encryption.key"
  if [ ! -f "$key" ]; then
    (umask 077 && mkdir -p "$(dirname "$key")" && head -c 96 /dev/urandom > "$key")
    echo "==> made the field encryption master key $key (keep it: without it nothing sealed opens)"
  fi
  export TELEMED_FIELD_ENCRYPTION_KEY_FILE="$key"
fi
exec .venv/bin/telemed serve --demo "$@"
