#!/usr/bin/env bash
# Load test of the seed's synchronous POST /api/update_status over many wearers (issue 14): each request
# is another wearer's watch (device token), stored durably (synchronous=FULL), evaluated, its UserStatus
# row committed by the verdict stage, and only then answered.
# Usage: bench/load/update_status_fleet.sh [duration, default 20s] [wearers, default 1000] [connections, default 32]
# Environment: VG_BINARY (default build/bin/vitalguard), VG_ARGS (extra serve flags), VG_URL (drive a server
# that already runs there instead of starting one, e.g. a cluster's api server: bench/load/cluster_load.sh).
# Creating the wearers costs two Argon2id hashes each (~1-2 minutes for 1000 on 2 cores).
set -euo pipefail
cd "$(dirname "$0")/../.."
DURATION=${1:-20s}
WEARERS=${2:-1000}
CONNS=${3:-32}
BIN=${VG_BINARY:-build/bin/vitalguard}
[[ -x "$BIN" ]] || { echo "build first: scripts/build" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)" >&2; exit 1; }

WORK=$(mktemp -d)
trap 'kill $(cat "$WORK/pid" 2>/dev/null) 2>/dev/null || true; rm -rf "$WORK"' EXIT
if [[ -n "${VG_URL:-}" ]]; then
  URL=$VG_URL
  touch "$WORK/log"
else
  # shellcheck disable=SC2086
  "$BIN" serve --port 0 --data-dir "$WORK/data" --ready-file "$WORK/ready" --log-level warn \
    --check-id-per-minute 100000 --signups-per-address-per-hour 0 ${VG_ARGS:-} >"$WORK/log" 2>&1 &
  echo $! >"$WORK/pid"
  for _ in $(seq 100); do [[ -s "$WORK/ready" ]] && break; sleep 0.1; done
  URL="http://127.0.0.1:$(cat "$WORK/ready")"
fi

# One wearer: sign up, log in, pair a watch; prints the watch's token.
make_wearer() {
  local url=$1 id=$2 login cookie csrf token
  curl -sf -X POST "$url/api/signup" -H 'Content-Type: application/json' \
    -d "{\"id\":\"$id\",\"password\":\"load password\",\"name\":\"Load\",\"age\":70,\"address\":\"Seoul\",\"phone_num\":\"010-1234-5678\"}" >/dev/null
  login=$(curl -sf -i -X POST "$url/api/login" -H 'Content-Type: application/json' \
    -d "{\"id\":\"$id\",\"password\":\"load password\"}")
  cookie=$(echo "$login" | grep -i '^set-cookie: vg_session=' | sed 's/^[^:]*: //; s/;.*//')
  csrf=$(echo "$login" | tail -1 | sed 's/.*"csrf_token":"\([^"]*\)".*/\1/')
  token=$(curl -sf -X POST "$url/api/devices" -H 'Content-Type: application/json' -H "Cookie: $cookie" \
    -H "X-CSRF-Token: $csrf" -d '{"name":"load watch"}' | sed 's/.*"device_token":"\([^"]*\)".*/\1/')
  [[ -n "$token" ]] && echo "$token"  # one token a line
}
export -f make_wearer
echo "== creating $WEARERS wearers"
# Ids unique to this run, so that several runs can share one server (VG_URL).
seq "$WEARERS" | xargs -P "$(nproc)" -I{} bash -c 'make_wearer "$0" "fleet$1_{}"' "$URL" "$$" >"$WORK/tokens"
[[ $(wc -l <"$WORK/tokens") -eq $WEARERS ]] || { echo "could not create every wearer" >&2; tail "$WORK/log" >&2; exit 1; }

echo "== machine: $(nproc) cores; server: $("$BIN" version); $WEARERS wearers, $CONNS connections, $DURATION"
VG_TOKENS="$(tr '\n' ' ' <"$WORK/tokens")" wrk -t2 -c"$CONNS" -d"$DURATION" --latency \
  -s bench/load/update_status_fleet.lua "$URL"
if [[ -s "$WORK/pid" ]]; then
  echo "== server resident memory: $(grep VmRSS /proc/$(cat "$WORK/pid")/status | awk '{print $2, $3}')"
fi
