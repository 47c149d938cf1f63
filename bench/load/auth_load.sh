#!/usr/bin/env bash
# Load test of the account API over loopback with wrk:
#   POST /api/login  (Argon2id-bound: each login hashes a password, ~90 ms of one core)
#   GET  /api/me     (session lookup: cookie -> hashed token -> SQLite read)
# Starts its own server on a free port with a throw-away data directory, and stops it afterwards.
# Usage: bench/load/auth_load.sh [duration, default 10s] [connections for /api/me, default 32]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10s}
CONNECTIONS=${2:-32}
BIN=${VG_BINARY:-build/bin/vitalguard}
[[ -x "$BIN" ]] || { echo "build first: scripts/build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'kill $(cat "$WORK/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$BIN" serve --port 0 --data-dir "$WORK/data" --ready-file "$WORK/ready" --log-level warn \
  --worker-threads "${VG_WORKER_THREADS:-4}" --max-failed-logins-per-address 100000 >"$WORK/log" 2>&1 &
echo $! >"$WORK/pid"
for _ in $(seq 100); do [[ -s "$WORK/ready" ]] && break; sleep 0.1; done
PORT=$(cat "$WORK/ready")
URL="http://127.0.0.1:$PORT"

curl -sf -X POST "$URL/api/signup" -H 'Content-Type: application/json' \
  -d '{"id":"bench_user","password":"bench password 1","name":"Bench","age":70,"address":"Seoul","phone_num":"010-1234-5678"}' >/dev/null
COOKIE=$(curl -sf -i -X POST "$URL/api/login" -H 'Content-Type: application/json' \
  -d '{"id":"bench_user","password":"bench password 1"}' | grep -i '^set-cookie: vg_session=' | sed 's/^[^:]*: //; s/;.*//')

echo "== machine: $(nproc) cores; server: $("$BIN" version); worker threads ${VG_WORKER_THREADS:-4}"
echo "== POST /api/login, 8 connections, $DURATION"
wrk -t2 -c8 -d"$DURATION" --latency -s bench/load/login.lua "$URL/api/login"
echo "== GET /api/me, $CONNECTIONS connections, $DURATION"
wrk -t2 -c"$CONNECTIONS" -d"$DURATION" --latency -H "Cookie: $COOKIE" "$URL/api/me"
echo "== server resident memory after the runs: $(grep VmRSS /proc/$(cat "$WORK/pid")/status | awk '{print $2, $3}')"
