#!/usr/bin/env bash
# The README's commands on a stock Debian 12, whose only Node.js is Debian's 18.x (too old for Vite 7):
# runs scripts/install-deps and scripts/build-web with Debian's own node 18 as the only `node` on PATH
# and no npm at all, and checks that both succeed on the project-local Node.js that scripts/node-env.sh
# takes from the npm registry into .tools/node/.
#
# Nothing on the system changes: Debian's nodejs and libnode108 (and what they need that is not
# installed) are fetched with `apt-get download` and unpacked with `dpkg -x` into a temporary folder.
# The web build runs in a copy of web/ (node_modules copied from web/ when there, then checked by the
# project-local npm), so web/ and its node_modules, used by the normal run, are not touched.
# .tools/ is the real one: its verified download is reused, so a second run downloads nothing.
#
# Skips (exit 0, "SKIP: ...") when that Debian node cannot be had (not Debian, no apt, no network),
# unless VG_REQUIRE_STOCK_DEBIAN_TEST=1, which turns a skip into a failure.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)

skip() {
  if [[ ${VG_REQUIRE_STOCK_DEBIAN_TEST:-0} == 1 ]]; then
    echo "FAIL (VG_REQUIRE_STOCK_DEBIAN_TEST=1): $*" >&2
    exit 1
  fi
  echo "SKIP: $*"
  exit 0
}
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

[[ -f /etc/debian_version ]] || skip "not a Debian system (no /etc/debian_version)"
for tool in apt-get apt-cache dpkg dpkg-query; do
  command -v "$tool" >/dev/null || skip "no $tool, so no Debian nodejs to test with"
done

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vg-node18-test.XXXXXX")
# Debian's node loads acorn, cjs-module-lexer and undici from /usr/share/nodejs/ (a path built into
# libnode). That folder belongs to packages that must not be installed here, so the copy of libnode
# used below points at a folder of the same path length (17 characters) instead.
share=$(mktemp -d /tmp/vg-nodeXXXXX)
trap 'rm -rf "$tmp" "$share"' EXIT
[[ ${#share} -eq 17 ]] || fail "internal: $share is not 17 characters long"

echo "== Debian's own Node.js 18, unpacked into $tmp (the system is not changed)"
# The nodejs 18.x that Debian's own repositories offer (another repository, like nodesource's, may
# offer a newer candidate; the 18.x one is Debian's).
version=$(apt-cache madison nodejs 2>/dev/null | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -m1 '^18\.' || true)
[[ -n $version ]] || skip "apt knows no nodejs 18.x (Debian 12's); run apt-get update?"
packages=("nodejs=$version" "libnode108=$version" node-acorn node-cjs-module-lexer node-undici)
# The shared libraries libnode needs, when they are not installed already.
while read -r dep; do
  dpkg-query -W -f='${Status}' "$dep" 2>/dev/null | grep -q "install ok installed" || packages+=("$dep")
done < <(apt-cache depends "libnode108=$version" 2>/dev/null | awk '$1 == "Depends:" && $2 ~ /^lib/ { print $2 }')
mkdir "$tmp/debs"
(cd "$tmp/debs" && apt-get download -q "${packages[@]}") >"$tmp/apt.log" 2>&1 ||
  skip "apt-get download ${packages[*]} failed: $(grep -v '^W:' "$tmp/apt.log" | tail -3)"
for deb in "$tmp"/debs/*.deb; do
  dpkg -x "$deb" "$tmp/debian"
done
libnode=$(find "$tmp/debian" -name libnode.so.108 | head -1)
[[ -n $libnode && -x $tmp/debian/usr/bin/node ]] || fail "the downloaded packages hold no usr/bin/node and libnode.so.108"
mkdir "$tmp/lib"
LC_ALL=C sed "s|/usr/share/nodejs/|$share/|g" "$libnode" >"$tmp/lib/libnode.so.108"
[[ $(stat -c %s "$libnode") == $(stat -c %s "$tmp/lib/libnode.so.108") ]] || fail "internal: patched libnode changed size"
ln -s "$tmp/debian/usr/share/nodejs/"* "$share/"
libpath=$tmp/lib
for dir in "$tmp"/debian/usr/lib/*-linux-gnu "$tmp"/debian/lib/*-linux-gnu; do
  [[ -d $dir ]] && libpath+=:$dir
done

# A PATH with every tool of the system's PATH but node, nodejs, npm, npx and corepack; Debian's node
# is the only node (a wrapper that gives it its libraries). Higher PATH entries win, as in PATH.
mkdir "$tmp/bin" "$tmp/node18"
IFS=: read -ra dirs <<<"$PATH"
for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
  if [[ -d ${dirs[i]} && ${dirs[i]} != "$root"/* ]]; then
    ln -sfn -t "$tmp/bin" "${dirs[i]}"/* 2>/dev/null || true
  fi
done
rm -f "$tmp"/bin/{node,nodejs,npm,npx,corepack}
cat >"$tmp/node18/node" <<EOF
#!/bin/sh
LD_LIBRARY_PATH=$libpath\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH} exec $tmp/debian/usr/bin/node "\$@"
EOF
chmod +x "$tmp/node18/node"
stock_path=$tmp/node18:$tmp/bin

run_stock() { env -u npm_config_prefix -u NODE_OPTIONS PATH="$stock_path" "$@"; }
echo "node on this PATH: $(run_stock sh -c 'command -v node') $(run_stock node --version)"
[[ $(run_stock node --version) == v18.* ]] || fail "the node on the test PATH is not Debian's 18.x"
run_stock node -e 'process.exit(0)' || fail "Debian's node 18 does not run scripts here"
! run_stock sh -c 'command -v npm' >/dev/null || fail "an npm is reachable on the test PATH"

echo "== scripts/install-deps with only Debian's node 18 on PATH"
run_stock "$root/scripts/install-deps" 2>&1 | tee "$tmp/install-deps.log" ||
  fail "scripts/install-deps failed with Debian's node 18 on PATH"
grep -q "using the project-local Node.js" "$tmp/install-deps.log" ||
  fail "scripts/install-deps did not say it uses the project-local Node.js"
[[ -x $root/.tools/node/bin/node ]] || fail "no .tools/node/bin/node after scripts/install-deps"

echo "== scripts/build-web with only Debian's node 18 on PATH, in a copy of web/"
mkdir "$tmp/repo"
cp -a "$root/scripts" "$tmp/repo/"
ln -s "$root/.tools" "$tmp/repo/.tools"
tar -C "$root" -c --exclude=web/node_modules --exclude=web/dist --exclude=web/tsconfig.tsbuildinfo \
  --exclude=web/e2e/screenshots web | tar -C "$tmp/repo" -x
if [[ -d $root/web/node_modules ]]; then
  # The dependencies hold no node-version-specific files (rollup's and esbuild's native parts are
  # N-API and plain executables), so a copy serves; without the stamp, build-web runs the
  # project-local npm on it, which checks the copy against package-lock.json.
  cp -a "$root/web/node_modules" "$tmp/repo/web/"
  rm -f "$tmp/repo/web/node_modules/.vg-installed"
fi
run_stock "$tmp/repo/scripts/build-web" 2>&1 | tee "$tmp/build-web.log" ||
  fail "scripts/build-web failed with Debian's node 18 on PATH"
grep -q "using the project-local Node.js" "$tmp/build-web.log" ||
  fail "scripts/build-web did not say it uses the project-local Node.js"
[[ -f $tmp/repo/web/dist/index.html && -f $tmp/repo/web/node_modules/.vg-installed ]] ||
  fail "scripts/build-web left no dist/index.html or did not install the npm packages"

# What the build's steps ran on: node-env.sh, as the scripts source it, with Debian's node first.
echo "node and npm for the web steps: $(
  run_stock bash -c "source '$root/scripts/node-env.sh' && vg_node_setup 2>/dev/null &&
    echo \"\$(command -v node) \$(node --version), npm \$(npm --version) at \$(command -v npm)\""
)"
used=$(run_stock bash -c "source '$root/scripts/node-env.sh' && vg_node_setup 2>/dev/null && command -v node")
[[ $used == "$root/.tools/node/bin/node" ]] || fail "the web steps run on $used, not .tools/node/bin/node"
echo "PASS: install-deps and build-web work with Debian's node 18 only, on .tools/node"
