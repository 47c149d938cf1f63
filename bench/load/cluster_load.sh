#!/usr/bin/env bash
# The scale-out roles under a simulated fleet (issue 17): private PostgreSQL and Redis servers
# (scripts/test-servers), one notifier, DETECTORS detector servers and APIS api servers, each a real
# `vitalguard serve --role …` process on one PostgreSQL schema and one Redis bus prefix; then one
# `vitalguard simulate` per api server, in parallel, together driving WATCHES watches through every api
# server at once (max speed: as fast as the servers accept).
#
# Usage: bench/load/cluster_load.sh [APIS=1] [DETECTORS=1] [WATCHES=300] [DURATION=8h]
#        bench/load/cluster_load.sh embedded [WATCHES] [DURATION]   # one `serve` on SQLite, for comparison
# Environment: VG_KILL_DETECTOR=SECONDS kills detector1 with SIGKILL that long after the simulators
# start streaming (cluster mode, 2+ detectors) and times how long until the survivors own every shard;
# VG_BINARY (default build/bin/vitalguard); VG_ARGS (extra serve flags for every server); VG_PACE=INTERVAL (e.g. 2s) paces the fleet instead:
# every watch sends one reading per INTERVAL, timestamped now (simulate --speed realtime), for DURATION of
# real time, so the latencies are those of a cluster below its capacity; VG_UPDATE_STATUS=1 also runs
# bench/load/update_status_fleet.sh (200 wearers, 32 connections, 20 s) against the first api server.
#
# Prints, per run: readings/s accepted (all readings over the longest streaming time), detections/s (all
# readings over the longest streaming + drain time, i.e. until every reading's detection reached its
# simulator), the push latency from an api server receiving a reading to its detection arriving at the
# simulator (all, and alerts only; p50/p99), and the emergencies found. Provisioning (an Argon2id hash per
# wearer) is not part of any figure. All processes share this machine's cores: compare runs made on the
# same machine, and read 2 vs 1 servers as what contention and coordination cost or gain here, not as what
# separate machines would give.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${VG_BINARY:-build/bin/vitalguard}
[[ -x "$BIN" ]] || { echo "build first: scripts/build" >&2; exit 1; }
BIN=$(realpath "$BIN")

MODE=cluster
if [[ "${1:-}" == embedded ]]; then
  MODE=embedded
  shift
  APIS=1
  DETECTORS=0
  WATCHES=${1:-300}
  DURATION=${2:-8h}
else
  APIS=${1:-1}
  DETECTORS=${2:-1}
  WATCHES=${3:-300}
  DURATION=${4:-8h}
fi

WORK=$(mktemp -d /tmp/vg-cluster-load.XXXXXX)
chmod 755 "$WORK"
cleanup() {
  for pidfile in "$WORK"/*.pid; do
    [[ -f "$pidfile" ]] && kill "$(cat "$pidfile")" 2>/dev/null || true
  done
  sleep 0.5
  [[ -d "$WORK/servers" ]] && scripts/test-servers stop "$WORK/servers"
  rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME ROLE [serve flags...]: a server in the background; waits for its port.
# shellcheck disable=SC2086
start() {
  local name=$1 role=$2
  shift 2
  "$BIN" serve --port 0 --data-dir "$WORK/$name" --ready-file "$WORK/$name.ready" --role "$role" \
    --log-level info --signups-per-address-per-hour 0 --check-id-per-minute 100000 --escalate-within 0 "$@" ${VG_ARGS:-} \
    >"$WORK/$name.log" 2>&1 &
  echo $! >"$WORK/$name.pid"
  for _ in $(seq 300); do [[ -s "$WORK/$name.ready" ]] && return 0; sleep 0.1; done
  echo "$name did not start:" >&2
  tail -20 "$WORK/$name.log" >&2
  exit 1
}

if [[ $MODE == embedded ]]; then
  start api1 all
  echo "== embedded: one server on SQLite, in-process detection; $WATCHES watches, $DURATION"
else
  scripts/test-servers start "$WORK/servers" >"$WORK/servers.env"
  # shellcheck disable=SC1091
  source "$WORK/servers.env"
  shared=(--store "$VG_TEST_POSTGRES" --store-schema vg_load --bus "$VG_TEST_REDIS" --bus-prefix vg_load)
  # A webhook receiver standing in for 119 and the guardians' endpoint: every delivery, real HTTP, one
  # line each (path and idempotency key), so a message delivered twice shows.
  python3 - "$WORK/hooks.log" "$WORK/hooks.port" <<'PY' &
import http.server, sys, threading
log = open(sys.argv[1], "a", buffering=1)
lock = threading.Lock()
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with lock:
            log.write(f"{self.path} {self.headers.get('Idempotency-Key', '')}\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *args): pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hook)
open(sys.argv[2], "w").write(str(server.server_address[1]))
server.serve_forever()
PY
  echo $! >"$WORK/hooks.pid"
  for _ in $(seq 100); do [[ -s "$WORK/hooks.port" ]] && break; sleep 0.1; done
  hooks="http://127.0.0.1:$(cat "$WORK/hooks.port")"
  start notifier notifier "${shared[@]}" --emergency-webhook-url "$hooks/119" --guardian-webhook-url "$hooks/guardian" \
    --webhook-secret cluster-load-secret-0123456789
  for d in $(seq "$DETECTORS"); do start "detector$d" detector "${shared[@]}"; done
  for a in $(seq "$APIS"); do start "api$a" api "${shared[@]}"; done
  # Every shard owned (and rebuilt) before the load starts.
  for _ in $(seq 300); do
    owned=$(cat "$WORK"/detector*.log | grep -c "assigned: rebuilt" || true)
    [[ $owned -ge 16 ]] && break
    sleep 0.1
  done
  echo "== cluster: $APIS api, $DETECTORS detector, 1 notifier (PostgreSQL + Redis Streams, 16 shards); $WATCHES watches, $DURATION"
fi
echo "== machine: $(nproc) cores; $("$BIN" version)"

# One simulator per api server, each with its share of the fleet and a seed of its own.
per_api=$((WATCHES / APIS))
pace=(--speed max)
[[ -n "${VG_PACE:-}" ]] && pace=(--speed realtime --interval "$VG_PACE" --drain 10s)
for a in $(seq "$APIS"); do
  "$BIN" simulate --server "http://127.0.0.1:$(cat "$WORK/api$a.ready")" --scenario sim/scenarios/standard.json \
    --watches "$per_api" --duration "$DURATION" --seed "$((20261207 + a))" --connections 4 --quiet "${pace[@]}" \
    --out "$WORK/sim$a.json" >"$WORK/sim$a.out" 2>&1 &
  echo $! >"$WORK/sim$a.simpid"
done
if [[ -n "${VG_KILL_DETECTOR:-}" && $MODE == cluster ]]; then
  [[ $DETECTORS -ge 2 ]] || { echo "VG_KILL_DETECTOR needs 2 or more detectors" >&2; exit 1; }
  (
    owned() { # shards the surviving detectors own, from their /metrics
      local total=0 d n
      for d in $(seq 2 "$DETECTORS"); do
        n=$(curl -s "http://127.0.0.1:$(cat "$WORK/detector$d.ready")/metrics" | awk '/^vitalguard_bus_owned_shards /{print $2}')
        total=$((total + ${n:-0}))
      done
      echo "$total"
    }
    # Streaming starts after provisioning: wait for the first stored reading.
    until [[ $(psql "$VG_TEST_POSTGRES" -qAt -c "SELECT count(*) FROM vg_load.vitals" 2>/dev/null || echo 0) -gt 0 ]]; do
      sleep 0.5
    done
    sleep "$VG_KILL_DETECTOR"
    before=$(owned)
    killed_at=$(date +%s.%N)
    kill -9 "$(cat "$WORK/detector1.pid")"
    echo "== kill -9 detector1 after ${VG_KILL_DETECTOR} s of streaming; the survivors owned $before of 16 shards"
    for _ in $(seq 600); do
      now=$(owned)
      if [[ $now -ge 16 ]]; then
        echo "== the survivors own all 16 shards $(python3 -c "print(f'{$(date +%s.%N) - $killed_at:.1f}')") s after the kill"
        exit 0
      fi
      sleep 0.1
    done
    echo "== the survivors own only $(owned) of 16 shards 60 s after the kill"
  ) >"$WORK/kill.out" 2>&1 &
  echo $! >"$WORK/kill.simpid"
fi
status=0
for a in $(seq "$APIS"); do
  wait "$(cat "$WORK/sim$a.simpid")" || { status=1; echo "simulator $a failed:" >&2; tail -20 "$WORK/sim$a.out" >&2; }
done
[[ $status -eq 0 ]] || exit 1

python3 - "$WORK" "$APIS" <<'EOF'
import json, sys
work, apis = sys.argv[1], int(sys.argv[2])
runs = [json.load(open(f"{work}/sim{a}.json")) for a in range(1, apis + 1)]
readings = sum(r["run"]["readings_sent"] for r in runs)
stream = max(r["run"]["stream_s"] for r in runs)
total = max(r["run"]["stream_s"] + r["run"]["drain_s"] for r in runs)
print(f"readings: {readings} in {stream:.1f} s streaming = {readings / stream:,.0f} readings/s accepted; "
      f"all detections back after {total:.1f} s = {readings / total:,.0f} detections/s")
for key, label in (("push_latency_all_ms", "push latency, every detection"), ("push_latency_alerts_ms", "push latency, alerts")):
    for a, r in enumerate(runs, 1):
        p = r["score"][key]
        print(f"{label} (api {a}, {p['count']}): p50 {p['p50']:.0f} ms, p99 {p['p99']:.0f} ms, max {p['max']:.0f} ms")
found = sum(e["detected"] for r in runs for e in r["score"]["emergencies"])
knowable = sum(e["knowable"] for r in runs for e in r["score"]["emergencies"])
print(f"emergencies detected: {found} of {knowable} knowable; "
      f"false alerts: {sum(r['score']['false_alerts']['total'] for r in runs)}; "
      f"detections received: {sum(r['run']['detections'] for r in runs)} for {readings} readings")
EOF

if [[ $MODE == cluster ]]; then
  [[ -f "$WORK/kill.simpid" ]] && { wait "$(cat "$WORK/kill.simpid")" || true; cat "$WORK/kill.out"; }
  # Nothing acknowledged lost, nothing judged twice, nothing delivered twice: from PostgreSQL and the receiver.
  sleep 2 # the notifier's last deliveries
  q() { psql "$VG_TEST_POSTGRES" -qAt -c "SET search_path TO vg_load; $1" | tail -1; }
  acked=$(python3 -c "import json,sys; print(sum(json.load(open(f))['run']['stored'] for f in sys.argv[1:]))" "$WORK"/sim*.json)
  echo "== readings acknowledged as stored: $acked; rows in PostgreSQL: $(q 'SELECT count(*) FROM vitals')"
  echo "== status rows: $(q 'SELECT count(*) FROM user_status'); readings judged twice: $(q 'SELECT count(*) FROM (SELECT 1 FROM user_status WHERE reading_at IS NOT NULL GROUP BY user_unique_num, reading_at HAVING count(*) > 1) d')"
  echo "== incidents: $(q 'SELECT count(*) FROM incidents') ($(q "SELECT count(*) FROM incidents WHERE dispatched_at IS NOT NULL") dispatched, $(q "SELECT count(*) FROM incident_events WHERE type = 'dispatched'") dispatch events)"
  echo "== emergency reports written: $(q "SELECT count(*) FROM outbox WHERE channel = 'emergency'"); incidents with two: $(q "SELECT count(*) FROM (SELECT incident_id FROM outbox WHERE channel = 'emergency' GROUP BY incident_id HAVING count(*) > 1) d"); outbox not delivered: $(q "SELECT count(*) FROM outbox WHERE state <> 'delivered'")"
  [[ -f "$WORK/hooks.log" ]] && echo "== webhook deliveries received: $(wc -l <"$WORK/hooks.log") ($(grep -c '^/119 ' "$WORK/hooks.log" || true) to 119); keys received twice: $(awk '{print $2}' "$WORK/hooks.log" | sort | uniq -d | wc -l)"
fi

# What the servers counted: the verdict stage's commits and rows, the bus and the live fan-out.
for f in "$WORK"/*.ready; do
  name=$(basename "$f" .ready)
  curl -s "http://127.0.0.1:$(cat "$f")/metrics" |
    grep -E '^vitalguard_(verdict_(commits_total|status_rows_total|largest_batch)|bus_(reclaimed_entries_total|replies_timed_out_total|publish_refused_total)|live_fanout_[a-z_]+|rate_limit_fallbacks_total) ' |
    sed "s/^/== $name: /" || true
done

if [[ "${VG_UPDATE_STATUS:-0}" == 1 ]]; then
  VG_URL="http://127.0.0.1:$(cat "$WORK/api1.ready")" bench/load/update_status_fleet.sh 20s 200 32
fi
for f in "$WORK"/*.log; do
  n=$(grep -c '"level":"error"' "$f" || true)
  [[ $n -gt 0 ]] && echo "== $(basename "$f"): $n errors logged, e.g. $(grep -m1 '"level":"error"' "$f")"
done
exit 0
