#!/usr/bin/env bash
# Sets up a fresh Debian/Ubuntu machine for edict and builds it. Idempotent: a second run only
# checks and finishes in seconds.
#   - system packages, only when missing: libtorch (Debian's libtorch-dev, unless a libtorch is
#     already discoverable: see scripts/libtorch.mjs), OpenBLAS (libtorch's matmuls are ~15x
#     slower on the reference BLAS), cmake and a C++ compiler
#   - npm dependencies from the lockfile (npm ci), which also builds the addon (cmake-js)
#   - the addon (incremental) and the TypeScript build
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1msetup:\033[0m %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ] && command -v sudo >/dev/null; then SUDO="sudo"; fi

packages=()
if ! node scripts/libtorch.mjs cmake-dir >/dev/null 2>&1; then
  if [ -n "${LIBTORCH:-}${Torch_DIR:-}" ]; then
    node scripts/libtorch.mjs cmake-dir # prints why the given libtorch is not usable
  fi
  packages+=(libtorch-dev)
fi
if command -v dpkg >/dev/null; then
  dpkg -s libopenblas0-pthread >/dev/null 2>&1 || packages+=(libopenblas0-pthread)
  # a font for the labels of "edict sweep" contact sheets (sharp renders SVG text with it)
  dpkg -s fonts-dejavu-core >/dev/null 2>&1 || packages+=(fonts-dejavu-core)
fi
command -v cmake >/dev/null || packages+=(cmake)
# the README's and --help's examples pipe --json records through jq (a test runs them)
command -v jq >/dev/null || packages+=(jq)
# edict worker / serve --queue use Redis (BullMQ); the tests start their own redis-server
command -v redis-server >/dev/null || packages+=(redis-server)
command -v g++ >/dev/null || packages+=(g++)

if [ ${#packages[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    echo "setup: missing ${packages[*]} and no apt-get here; install them (or set LIBTORCH)" >&2
    exit 1
  fi
  log "installing ${packages[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

# npm ci when node_modules is missing or older than the lockfile (its install script builds
# the addon); otherwise keep what is there.
if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  npm ci --no-audit --no-fund
fi

log "building the addon (cmake-js, incremental)"
npx --no-install cmake-js compile --log-level warn >/dev/null
log "building TypeScript"
npx --no-install tsc -p tsconfig.json
log "ready: $(node -e "import('./dist/index.js').then(async (m) => { const i = await m.runtimeInfo(); console.log('libtorch ' + i.libtorch + ', ' + i.cores + ' cores, CUDA ' + (i.cuda ? 'yes' : 'no')); })")"
