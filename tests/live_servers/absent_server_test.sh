#!/usr/bin/env bash
# A machine without PostgreSQL or Redis (a clone run without scripts/test) must still pass its tests: run
# each live-server test binary with VG_TEST_POSTGRES and VG_TEST_REDIS unset and check that
#   - without VG_REQUIRE_SERVERS it exits 0 (no failure, no crash), skips tests, and prints the skip line
#     ("no live PostgreSQL server: VG_TEST_POSTGRES is not set ...");
#   - with VG_REQUIRE_SERVERS=1 it exits 1: the skips became test failures (not a crash: a signal gives >128).
# Usage: absent_server_test.sh BINARY...
set -uo pipefail
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# How many distinct tests gtest's output marks "[  SKIPPED ]" / "[  FAILED  ]" (each is listed twice).
tests_marked() { grep -o "^\[  $1 \] [A-Za-z0-9_/]*\.[A-Za-z0-9_/]*" | sort -u | wc -l; }
for binary in "$@"; do
  name=$(basename "$binary")
  out=$(env -u VG_TEST_POSTGRES -u VG_TEST_REDIS -u VG_REQUIRE_SERVERS "$binary" 2>&1)
  rc=$?
  skipped=$(tests_marked SKIPPED <<<"$out")
  if [[ $rc -ne 0 ]]; then
    fail "$name without servers exited $rc (expected 0)"
    tail -n 40 <<<"$out"
  elif [[ $skipped -eq 0 ]]; then
    fail "$name without servers skipped nothing"
  elif ! grep -q "no live [A-Za-z]* server: VG_TEST_[A-Z]* is not set" <<<"$out"; then
    fail "$name without servers did not print the skip line"
    tail -n 40 <<<"$out"
  else
    echo "ok:   $name without servers: exit 0, $skipped tests skipped, e.g.:"
    grep -m1 "no live " <<<"$out" | sed 's/^/        /'
  fi

  out=$(env -u VG_TEST_POSTGRES -u VG_TEST_REDIS VG_REQUIRE_SERVERS=1 "$binary" 2>&1)
  rc=$?
  failed=$(tests_marked 'FAILED ' <<<"$out")
  if [[ $rc -ne 1 ]]; then
    fail "$name with VG_REQUIRE_SERVERS=1 exited $rc (expected 1: failed tests, no crash)"
    tail -n 40 <<<"$out"
  elif ! grep -q "VG_REQUIRE_SERVERS is set, so a missing server is a failure" <<<"$out"; then
    fail "$name with VG_REQUIRE_SERVERS=1 did not say why it failed"
  else
    echo "ok:   $name with VG_REQUIRE_SERVERS=1: exit 1, $failed tests failed"
  fi
done
[[ $failures -eq 0 ]] || {
  echo "$failures check(s) failed"
  exit 1
}
