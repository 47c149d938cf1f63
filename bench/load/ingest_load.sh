#!/usr/bin/env bash
# Load test of batched device ingest over loopback with wrk: POST /api/devices/readings, 1000 readings
# per request, one wearer (watch) per wrk thread (each sends far more than a watch's daily quota, so the
# quota is off here). Every reading is validated, durably stored in SQLite (synchronous=FULL) and evaluated by the detector before the run ends.
# Usage: bench/load/ingest_load.sh [duration, default 10s] [watches = wrk threads, default 2]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-10s}
WATCHES=${2:-2}
BIN=${VG_BINARY:-build/bin/vitalguard}
[[ -x "$BIN" ]] || { echo "build first: scripts/build" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'kill $(cat "$WORK/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT
"$BIN" serve --port 0 --data-dir "$WORK/data" --ready-file "$WORK/ready" --log-level warn \
  --body-limit 4194304 --signups-per-address-per-hour 0 --readings-per-wearer-per-day 0 >"$WORK/log" 2>&1 &
echo $! >"$WORK/pid"
for _ in $(seq 100); do [[ -s "$WORK/ready" ]] && break; sleep 0.1; done
URL="http://127.0.0.1:$(cat "$WORK/ready")"

TOKENS=""
for w in $(seq "$WATCHES"); do
  curl -sf -X POST "$URL/api/signup" -H 'Content-Type: application/json' \
    -d "{\"id\":\"load_$w\",\"password\":\"load password\",\"name\":\"Load\",\"age\":70,\"address\":\"Seoul\",\"phone_num\":\"010-1234-5678\"}" >/dev/null
  LOGIN=$(curl -sf -i -X POST "$URL/api/login" -H 'Content-Type: application/json' \
    -d "{\"id\":\"load_$w\",\"password\":\"load password\"}")
  COOKIE=$(echo "$LOGIN" | grep -i '^set-cookie: vg_session=' | sed 's/^[^:]*: //; s/;.*//')
  CSRF=$(echo "$LOGIN" | tail -1 | sed 's/.*"csrf_token":"\([^"]*\)".*/\1/')
  TOKEN=$(curl -sf -X POST "$URL/api/devices" -H 'Content-Type: application/json' -H "Cookie: $COOKIE" \
    -H "X-CSRF-Token: $CSRF" -d '{"name":"load watch"}' | sed 's/.*"device_token":"\([^"]*\)".*/\1/')
  TOKENS="$TOKENS $TOKEN"
done

echo "== machine: $(nproc) cores; server: $("$BIN" version); $WATCHES watches, 1000 readings per request"
VG_TOKENS="$TOKENS" wrk -t"$WATCHES" -c"$WATCHES" -d"$DURATION" --latency -s bench/load/ingest.lua "$URL"
echo "== server resident memory: $(grep VmRSS /proc/$(cat "$WORK/pid")/status | awk '{print $2, $3}')"
