#!/usr/bin/env bash
# A clone of the repository alone (no ../shared/data) must pass its tests: run each data-dependent test
# binary with VG_SHARED_DATA pointing at an empty folder and check that
#   - without VG_REQUIRE_DATA it exits 0 (no failure, no crash), skips tests, and prints the skip line
#     naming the missing folder ("missing test data: <empty folder>/<set> ...");
#   - with VG_REQUIRE_DATA=1 it exits 1: the skips became test failures (not a crash: a signal gives >128).
# Usage: absent_data_test.sh BINARY[:GTEST_FILTER]...
set -uo pipefail
empty=$(mktemp -d "${TMPDIR:-/tmp}/vg-no-shared-data.XXXXXX")
trap 'rm -rf "$empty"' EXIT
failures=0
fail() {
  echo "FAIL: $*"
  failures=$((failures + 1))
}
# How many distinct tests gtest's output marks "[  SKIPPED ]" / "[  FAILED  ]" (each is listed twice).
tests_marked() { grep -o "^\[  $1 \] [A-Za-z0-9_/]*\.[A-Za-z0-9_/]*" | sort -u | wc -l; }
for arg in "$@"; do
  binary=${arg%%:*}
  filter='*'
  [[ "$arg" == *:* ]] && filter=${arg#*:}
  name="$(basename "$binary") --gtest_filter=$filter"

  out=$(env -u VG_REQUIRE_DATA VG_SHARED_DATA="$empty" "$binary" --gtest_filter="$filter" 2>&1)
  rc=$?
  skipped=$(tests_marked SKIPPED <<<"$out")
  if [[ $rc -ne 0 ]]; then
    fail "$name without the data exited $rc (expected 0)"
    tail -n 40 <<<"$out"
  elif [[ $skipped -eq 0 ]]; then
    fail "$name without the data skipped nothing"
  elif ! grep -q "missing test data: $empty/[a-z]* (data set [a-z]*; see ../shared/data/" <<<"$out"; then
    fail "$name without the data did not print the skip line"
    tail -n 40 <<<"$out"
  else
    echo "ok:   $name without the data: exit 0, $skipped tests skipped, e.g.:"
    grep -m1 "missing test data: " <<<"$out" | sed 's/^/        /'
  fi

  out=$(VG_REQUIRE_DATA=1 VG_SHARED_DATA="$empty" "$binary" --gtest_filter="$filter" 2>&1)
  rc=$?
  failed=$(tests_marked 'FAILED ' <<<"$out")
  if [[ $rc -ne 1 ]]; then
    fail "$name with VG_REQUIRE_DATA=1 exited $rc (expected 1: failed tests, no crash)"
    tail -n 40 <<<"$out"
  elif ! grep -q "VG_REQUIRE_DATA is set, so a missing data set is a failure" <<<"$out"; then
    fail "$name with VG_REQUIRE_DATA=1 did not say why it failed"
  else
    echo "ok:   $name with VG_REQUIRE_DATA=1: exit 1, $failed tests failed"
  fi
done
[[ $failures -eq 0 ]] || {
  echo "$failures check(s) failed"
  exit 1
}
