#!/usr/bin/env bash
# The monitoring files are checked against the real server:
#   1. promtool check rules / test rules: deploy/prometheus/alerts.yml is valid and its unit tests
#      (alerts_test.yml) fire each alert when they should and not when they should not;
#   2. the Grafana dashboard is valid JSON;
#   3. every vitalguard_* metric that the alerts and the dashboard use is exported by a running server
#      (its /metrics has a TYPE line for it), so a renamed metric cannot silently blind an alert.
# Usage: promtool_test.sh VITALGUARD_BINARY SOURCE_DIR
set -euo pipefail
binary=$1
source_dir=$(cd "$2" && pwd)
work=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus; scripts/install-deps)"
cd "$source_dir/deploy/prometheus"
promtool check rules alerts.yml
promtool test rules alerts_test.yml

dashboard=$source_dir/deploy/grafana/vitalguard.json
node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$dashboard" ||
  fail "$dashboard is not valid JSON"

"$binary" serve --port 0 --ready-file "$work/port" --data-dir "$work/data" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  [[ -s $work/port ]] && break
  kill -0 "$pid" 2>/dev/null || { cat "$work/serve.log" >&2; fail "the server exited"; }
  sleep 0.1
done
[[ -s $work/port ]] || fail "the server did not start"
base="http://127.0.0.1:$(cat "$work/port")"
curl -sf "$base/healthz" >/dev/null || fail "GET /healthz"  # a request, so the request counters have a series
curl -sf "$base/metrics" >"$work/metrics" || fail "GET /metrics"

missing=()
for name in $(grep -oh 'vitalguard_[a-z0-9_]*' alerts.yml "$dashboard" | sed -E 's/_(bucket|sum|count)$//' | sort -u); do
  grep -q "^# TYPE $name " "$work/metrics" || missing+=("$name")
done
((${#missing[@]} == 0)) || fail "used by the alerts or the dashboard but not exported: ${missing[*]}"
echo "PASS: alerts checked and unit-tested, every metric they use is exported"
