#!/usr/bin/env bash
# The installed layout works on its own: `cmake --install` into a prefix, moved elsewhere afterwards,
# then the installed server run from a folder holding nothing of the project's must find its rule
# profiles, knowledge, models and dashboard under <prefix>/share/vitalguard — not in the source tree it
# was built from (its log names each folder) — and serve the dashboard compressed, with no source maps.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
source_dir=$(cd "$2" && pwd)
work=$(mktemp -d)
pid=
cleanup() {
  [[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; [[ -f $work/serve.log ]] && sed 's/^/  serve: /' "$work/serve.log" >&2; exit 1; }

if [[ ! -f $source_dir/web/dist/index.html ]]; then
  fail "web/dist is not built: scripts/test builds the dashboard before the C++ tests (scripts/build-web)"
fi

cmake --install "$build" --prefix "$work/first-place" >/dev/null
# The systemd unit, where it was installed (it names the program by that path): every key known, the
# program there. systemd-analyze prints warnings (an unknown key) without failing, so any output fails.
unit=$work/first-place/lib/systemd/system/vitalguard.service
[[ -f $unit ]] || fail "the systemd unit is not installed"
command -v systemd-analyze >/dev/null || fail "systemd-analyze is missing (Debian package systemd; scripts/install-deps)"
grep -qF "ExecStart=$work/first-place/bin/vitalguard serve" "$unit" || fail "the unit does not run the installed program"
verify=$(systemd-analyze verify "$unit" 2>&1) || fail "systemd-analyze verify: $verify"
[[ -z $verify ]] || fail "systemd-analyze verify warns: $verify"
mv "$work/first-place" "$work/prefix"  # relocated: nothing may remember where it was installed
prefix=$work/prefix
data=$prefix/share/vitalguard

for f in bin/vitalguard bin/vitalguard-posture share/vitalguard/profiles/adult-default.json \
  share/vitalguard/knowledge share/vitalguard/models/status.manifest.json \
  share/vitalguard/models/posture.safetensors share/vitalguard/models/DATA-TERMS.md \
  share/vitalguard/web/index.html share/doc/vitalguard/LICENSE; do
  [[ -e $prefix/$f ]] || fail "$f is not installed"
done
if find "$data/web" -name '*.map' | grep -q .; then fail "a source map is installed"; fi

mkdir -p "$work/elsewhere"
cd "$work/elsewhere"
"$prefix/bin/vitalguard" serve --port 0 --ready-file "$work/port" --data-dir "$work/data" >"$work/serve.log" 2>&1 &
pid=$!
for _ in $(seq 1 200); do
  [[ -s $work/port ]] && break
  kill -0 "$pid" 2>/dev/null || fail "the installed server exited"
  sleep 0.1
done
[[ -s $work/port ]] || fail "the installed server did not start in 20 s"
base="http://127.0.0.1:$(cat "$work/port")"

for expected in "rule profiles from $data/profiles" "first-aid knowledge from $data/knowledge" \
  "model loaded from $data/models" "posture model" "serving the web dashboard from $data/web"; do
  grep -qF "$expected" "$work/serve.log" || fail "the log does not say: $expected"
done
grep -qF "$source_dir" "$work/serve.log" && fail "the installed server used the source tree"

[[ $(curl -s -o /dev/null -w '%{http_code}' "$base/healthz") == 200 ]] || fail "/healthz"
page=$(curl -sf "$base/") || fail "GET /"
[[ $page == *"<div id=\"root\">"* || $page == *"id=\"root\""* ]] || fail "GET / is not the dashboard: $page"
script=$(grep -o 'assets/[^"]*\.js' <<<"$page" | head -1)
[[ -n $script ]] || fail "no script in the dashboard's page"
encoding=$(curl -s -D - -o /dev/null -H 'Accept-Encoding: br, gzip' "$base/$script" | tr -d '\r' |
  awk -F': ' 'tolower($1)=="content-encoding"{print $2}')
[[ $encoding == br ]] || fail "$script is not sent brotli-compressed (content-encoding: '$encoding')"
[[ $(curl -s -o /dev/null -w '%{http_code}' "$base/$script.map") == 404 ]] || fail "$script.map is served"

# The posture commands run the installed vitalguard-posture beside the installed vitalguard.
"$prefix/bin/vitalguard" eval posture --help >"$work/posture-help.txt" 2>&1 || fail "vitalguard eval posture --help"
echo "PASS: installed into a prefix, moved, served from $data"
