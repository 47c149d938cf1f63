#!/usr/bin/env bash
# Reading-to-WebSocket latency at fleet scale: N simulated watches each post one reading every
# INTERVAL seconds (POST /api/devices/readings, keep-alive pool) while every wearer's live stream
# (GET /api/stream) is open; reports p50/p90/p99/max from request write to the `detection` event, the
# readings/s achieved, events lost and the server's memory per WebSocket. vg_stream_latency_load
# seeds its own data directory, starts its own server on a free loopback port and stops it afterwards
# (see the header of bench/stream_latency_load.cpp for the method).
# Usage: bench/load/stream_latency.sh [watches, default 10000] [interval s, default 10] [measured s, default 30]
#                                     [more vg_stream_latency_load options, e.g. --json out.json]
# Under update_status load (issue 14): add --background-update-status 32 (wrk on 32 connections over 1,000
# wearers of its own during the measured window, bench/load/update_status_fleet.lua) and
# --server-arg=--readings-per-wearer-per-day --server-arg=0 when it runs long.
# Environment: VG_BUILD_DIR (default build), VG_BINARY (default $VG_BUILD_DIR/bin/vitalguard).
set -euo pipefail
cd "$(dirname "$0")/../.."
WATCHES=${1:-10000}
INTERVAL=${2:-10}
DURATION=${3:-30}
shift $(($# < 3 ? $# : 3))
BUILD_DIR=${VG_BUILD_DIR:-build}
LOAD="$BUILD_DIR/bench/vg_stream_latency_load"
BIN=${VG_BINARY:-$BUILD_DIR/bin/vitalguard}
[[ -x "$LOAD" && -x "$BIN" ]] || { echo "build first: scripts/build (needs $LOAD and $BIN)" >&2; exit 1; }

# One socket per stream on each side: the generator raises its soft limit to the hard one (the server
# inherits it), so the hard limit must leave room.
HARD=$(ulimit -Hn)
if [[ "$HARD" != unlimited && "$HARD" -lt $((WATCHES + 512)) ]]; then
  echo "the hard limit on open files is $HARD; $WATCHES streams need more (raise it, e.g. in limits.conf)" >&2
  exit 1
fi

echo "== server: $("$BIN" version)"
exec "$LOAD" --binary "$BIN" --watches "$WATCHES" --interval "$INTERVAL" --duration "$DURATION" "$@"
