#!/usr/bin/env bash
# Runs the server with its embedded defaults (a local SecantusDB started for you, no Redis)
# and a demo clinic to try. Data lives in ./var; Ctrl-C stops everything.
# E-mail goes to a local SMTP sink this script starts (server/notifications/smtp_sink.py, its own
# process), which keeps every message as an .eml file under the demo's temporary folder; texts
# go to the `log` SMS provider, i.e. the server's log, kept there too. Both places are printed.
# A TELEMED_SMTP_HOST or TELEMED_SMS_PROVIDER set in the environment is used instead.
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

demo_tmp="$(mktemp -d "${TMPDIR:-/tmp}/telemed-demo.XXXXXX")"
sink=""
stop_sink() {
  if [ -n "$sink" ]; then
    kill "$sink" 2>/dev/null || true
    wait "$sink" 2>/dev/null || true
  fi
}
trap stop_sink EXIT
if [ -z "${TELEMED_SMTP_HOST:-}" ]; then
  mail_dir="$demo_tmp/mail"
  port="$(.venv/bin/python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  .venv/bin/python -m server.notifications.smtp_sink --port "$port" --dir "$mail_dir" \
    > "$demo_tmp/smtp-sink.log" 2>&1 &
  sink=$!
  for _ in $(seq 100); do
    grep -q '^ready' "$demo_tmp/smtp-sink.log" 2>/dev/null && break
    kill -0 "$sink" 2>/dev/null || { cat "$demo_tmp/smtp-sink.log" >&2; exit 1; }
    sleep 0.1
  done
  grep -q '^ready' "$demo_tmp/smtp-sink.log" || { echo "the SMTP sink did not start" >&2; exit 1; }
  export TELEMED_SMTP_HOST=127.0.0.1 TELEMED_SMTP_PORT="$port" TELEMED_SMTP_SECURITY=none
  export TELEMED_SMTP_FROM="${TELEMED_SMTP_FROM:-Demo Clinic <no-reply@demo.clinic>}"
  echo "==> e-mails the demo sends: $mail_dir (one .eml file per message, calendar files attached;"
  echo "    a local SMTP sink on 127.0.0.1:$port, nothing leaves this machine)"
  echo "    演示发送的邮件：$mail_dir（每封一个 .eml 文件，附日历文件）"
fi
export TELEMED_SMS_PROVIDER="${TELEMED_SMS_PROVIDER:-log}"
if [ "$TELEMED_SMS_PROVIDER" = log ]; then
  echo "==> texts (SMS, sign-in codes) are written to the server's log: this terminal and"
  echo "    $demo_tmp/server.log (look for sms_logged)"
  echo "    短信（含验证码）写在服务器日志中：本终端与 $demo_tmp/server.log（sms_logged）"
fi
# Not exec: the sink is stopped when the server stops.
.venv/bin/telemed serve --demo "$@" 2>&1 | tee -i "$demo_tmp/server.log"
