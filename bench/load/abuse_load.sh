#!/usr/bin/env bash
# Load test of the emergency path under abuse (issue 15, item 4): 2,000 idle keep-alive connections, a
# sign-up burst from many addresses (each hashes a password) and a logged-in account flooding the worker
# lane with reads (wrk on GET /api/get_status), while a watch posts readings and wearers press SOS and
# answer "I'm OK". Prints the latency of readings, SOS and "I'm OK" (p50/p95/p99/max) and every answer's count.
# Starts its own server on a free port with a throw-away data directory, behind a "trusted proxy" on
# loopback so the sign-up burst can come from many addresses (X-Forwarded-For), as a botnet's would.
# Usage: bench/load/abuse_load.sh [duration seconds, default 20] [idle connections, default 2000]
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-20}
IDLE=${2:-2000}
BIN=${VG_BINARY:-build/bin/vitalguard}
[[ -x "$BIN" ]] || { echo "build first: scripts/build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing: scripts/install-deps" >&2; exit 1; }
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; kill $(cat "$WORK/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT
# Sign-ups are not limited per address here: the burst comes from many addresses anyway, and the wearers
# of the test sign up from one. Everything else is the default (lanes, limits, quotas).
"$BIN" serve --port 0 --data-dir "$WORK/data" --ready-file "$WORK/ready" --log-level warn \
  --trusted-proxy 127.0.0.1/32 --signups-per-address-per-hour 0 ${VG_ARGS:-} >"$WORK/log" 2>&1 &
echo $! >"$WORK/pid"
for _ in $(seq 100); do [[ -s "$WORK/ready" ]] && break; sleep 0.1; done
PORT=$(cat "$WORK/ready")
URL="http://127.0.0.1:$PORT"

# The flooding account: logged in, reading its own status as fast as it can.
curl -sf -X POST "$URL/api/signup" -H 'Content-Type: application/json' -H 'X-Forwarded-For: 10.99.0.1' \
  -d '{"id":"flooder","password":"flood password 1","name":"Flood","age":70,"address":"Seoul","phone_num":"010-1234-5678"}' >/dev/null
COOKIE=$(curl -sf -i -X POST "$URL/api/login" -H 'Content-Type: application/json' -H 'X-Forwarded-For: 10.99.0.1' \
  -d '{"id":"flooder","password":"flood password 1"}' | grep -i '^set-cookie: vg_session=' | sed 's/^[^:]*: //; s/;.*//')

echo "== machine: $(nproc) cores; server: $("$BIN" version); $IDLE idle connections, ${DURATION}s"
python3 bench/load/abuse_load.py "$URL" --idle "$IDLE" --duration "$DURATION" --ready-file "$WORK/go" &
LOAD=$!
for _ in $(seq 600); do [[ -s "$WORK/go" ]] && break; sleep 0.1; done
wrk -t1 -c64 -d"${DURATION}s" --latency -H "Cookie: $COOKIE" "$URL/api/get_status" >"$WORK/flood.txt" 2>&1 || true
wait "$LOAD"
echo "== the worker-lane flood (wrk -t1 -c64, GET /api/get_status):"
grep -E "Requests/sec|99%|Non-2xx" "$WORK/flood.txt" || cat "$WORK/flood.txt"
echo "== server resident memory: $(grep VmRSS /proc/$(cat "$WORK/pid")/status | awk '{print $2, $3}'), open files: $(ls /proc/$(cat "$WORK/pid")/fd | wc -l)"
