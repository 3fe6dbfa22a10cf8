#!/usr/bin/env bash
# The GPU check kit: one command that builds the addon against the machine's PyTorch and runs
# exactness, determinism, bad-input, cancellation and SD 1.5-sized checks on a device, writing
# one JSON summary and a text table. Made for a GPU machine with no network and no Node.js:
# Node.js and node_modules come from a bundle (scripts/gpu-check/make-bundle.mjs; docs/gpu-check.md).
#
#   scripts/gpu-check.sh [--device cuda|cuda:N|cpu] [--out DIR] [--bundle FILE.tar.xz]
#       [--python PYTHON] [--size 512] [--width 320] [--steps 50] [--targets 8]
#       [--time-limit SECONDS] [--skip-build] [--only GROUP,...]
#
# Exit status: 0 when every check passed, 1 when one failed, 2 when the kit could not run.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"

DEVICE=cuda
OUT="$ROOT/gpu-check-out"
BUNDLE=""
PYTHON="${EDICT_PYTHON:-python3}"
SIZE=512
WIDTH=320
STEPS=50
TARGETS=8
TIME_LIMIT=480
SKIP_BUILD=0
ONLY=""
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --device) DEVICE="$2"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --bundle) BUNDLE="$2"; shift 2 ;;
    --python) PYTHON="$2"; shift 2 ;;
    --size) SIZE="$2"; shift 2 ;;
    --width) WIDTH="$2"; shift 2 ;;
    --steps) STEPS="$2"; shift 2 ;;
    --targets) TARGETS="$2"; shift 2 ;;
    --time-limit) TIME_LIMIT="$2"; shift 2 ;;
    --skip-build) SKIP_BUILD=1; shift ;;
    --only) ONLY="$2"; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "gpu-check: unknown argument '$1' (try --help)" >&2; exit 2 ;;
  esac
done
case "$DEVICE" in cpu|cuda|cuda:[0-9]*) ;; *) echo "gpu-check: --device must be cpu, cuda or cuda:N, got '$DEVICE'" >&2; exit 2 ;; esac
for n in SIZE WIDTH STEPS TARGETS TIME_LIMIT; do
  [[ "${!n}" =~ ^[0-9]+$ ]] || { echo "gpu-check: --$(echo "$n" | tr 'A-Z_' 'a-z-') must be a whole number, got '${!n}'" >&2; exit 2; }
done
(( SIZE % 64 == 0 )) || { echo "gpu-check: --size must be a multiple of 64 (the SD-shaped model's sides), got $SIZE" >&2; exit 2; }

mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
WORK="${TMPDIR:-/tmp}/edict-gpu-check"
mkdir -p "$WORK"
LOG="$OUT/gpu-check.log"
: > "$LOG"
START=$SECONDS
log() { printf '[gpu-check %4ss] %s\n' "$((SECONDS - START))" "$*" | tee -a "$LOG"; }
fail() { log "cannot run: $*"; exit 2; }

# 1. Node.js and node_modules: from the bundle when there is one, else what is installed.
if [ -z "$BUNDLE" ] && [ -f "$ROOT/.gpu-bundle/edict-gpu-bundle.tar.xz" ]; then BUNDLE="$ROOT/.gpu-bundle/edict-gpu-bundle.tar.xz"; fi
NODE=node
if [ -n "$BUNDLE" ]; then
  [ -f "$BUNDLE" ] || fail "no bundle at $BUNDLE"
  log "unpacking $BUNDLE"
  rm -rf "$WORK/bundle" && mkdir -p "$WORK/bundle"
  if command -v xz >/dev/null; then
    tar xJf "$BUNDLE" -C "$WORK/bundle"
  else # no xz binary: Python's lzma reads it
    "$PYTHON" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' "$BUNDLE" "$WORK/bundle"
  fi
  NODE="$WORK/bundle/node/bin/node"
  if [ ! -e "$ROOT/node_modules" ] || [ -L "$ROOT/node_modules" ]; then
    ln -sfn "$WORK/bundle/node_modules" "$ROOT/node_modules"
  else
    log "keeping the node_modules already in the repository"
  fi
fi
command -v "$NODE" >/dev/null || fail "no Node.js: pass --bundle (scripts/gpu-check/make-bundle.mjs makes one) or install Node.js 20+"
export PATH="$(dirname "$(command -v "$NODE")"):$PATH"
[ -d "$ROOT/node_modules/tsx" ] || fail "node_modules has no tsx: pass --bundle, or run npm ci"
log "node $("$NODE" --version) at $(command -v "$NODE")"

# 2. The machine: GPU, driver, torch, CUDA (read through Python, which the build uses anyway).
"$PYTHON" - "$DEVICE" > "$WORK/python-environment.json" 2>>"$LOG" <<'PY' || echo '{}' > "$WORK/python-environment.json"
import json, platform, subprocess, sys
info = {"python": sys.version.split()[0], "machine": platform.machine()}
try:
    import torch
    info["torch"] = torch.__version__
    info["torchCuda"] = torch.version.cuda
    info["cudnn"] = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None
    info["cudaAvailable"] = torch.cuda.is_available()
    if torch.cuda.is_available():
        index = int(sys.argv[1].split(":")[1]) if ":" in sys.argv[1] else 0
        p = torch.cuda.get_device_properties(index)
        info["gpu"] = p.name
        info["gpuMemoryGiB"] = round(p.total_memory / 2**30, 1)
        info["computeCapability"] = f"{p.major}.{p.minor}"
except Exception as e:  # a machine without torch still gets a summary
    info["torchError"] = str(e)
try:
    out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version", "--format=csv,noheader"],
                         capture_output=True, text=True, timeout=30).stdout.strip().splitlines()
    if out:
        info["driver"] = out[0].split(",")[-1].strip()
except Exception:
    pass
print(json.dumps(info))
PY
log "python: $(cat "$WORK/python-environment.json")"

# 3. The addon, against the libtorch of that Python's PyTorch (torch.utils.cmake_prefix_path;
#    scripts/libtorch.mjs falls back to a system libtorch where that PyTorch has no CMake files).
export EDICT_PYTHON="$PYTHON"
if [ "$SKIP_BUILD" = 1 ] && [ -f "$ROOT/build/Release/edict.node" ]; then
  log "--skip-build: using build/Release/edict.node"
else
  log "building the addon (log: $OUT/build.log)"
  if ! "$NODE" "$ROOT/node_modules/cmake-js/bin/cmake-js" compile --log-level warn \
      --parallel "$(getconf _NPROCESSORS_ONLN)" > "$OUT/build.log" 2>&1; then
    tail -30 "$OUT/build.log" | tee -a "$LOG"
    fail "the addon did not build (see $OUT/build.log)"
  fi
fi
"$NODE" scripts/libtorch.mjs describe > "$WORK/libtorch.json" 2>>"$LOG" || echo '{}' > "$WORK/libtorch.json"
"$NODE" -e '
  const fs = require("fs");
  const [py, lt, out, node] = process.argv.slice(1);
  const env = { ...JSON.parse(fs.readFileSync(py, "utf8")), libtorchFoundBy: JSON.parse(fs.readFileSync(lt, "utf8")), node };
  fs.writeFileSync(out, JSON.stringify(env, null, 2));
' "$WORK/python-environment.json" "$WORK/libtorch.json" "$OUT/environment.json" "$("$NODE" --version)"

# 4. The SD 1.5-sized model (random weights, torch alone); kept between runs of the same width.
SD15="$WORK/sd15-w$WIDTH"
if [ -n "$ONLY" ] && [[ ",$ONLY," != *",sd15,"* ]]; then
  SD15=""
elif ! "$PYTHON" -c 'import torch' 2>/dev/null; then
  log "no PyTorch in $PYTHON: the sd15 checks are skipped"
  SD15=""
elif [ -f "$SD15/unet.pt" ] && [ -f "$SD15/model.json" ]; then
  log "SD 1.5-shaped model: reusing $SD15"
else
  log "SD 1.5-shaped model: building at width $WIDTH into $SD15"
  if ! "$PYTHON" scripts/gpu-check/make_sd15_model.py --out "$SD15" --width "$WIDTH" 2>&1 | tee -a "$LOG"; then
    fail "could not build the SD 1.5-shaped model"
  fi
fi

# 5. The checks, within what is left of the time limit (they save their JSON after each check).
LEFT=$(( TIME_LIMIT - (SECONDS - START) ))
(( LEFT > 30 )) || fail "only ${LEFT}s of --time-limit ${TIME_LIMIT}s left for the checks"
log "checks on $DEVICE (at most ${LEFT}s)"
status=0
timeout --signal=TERM --kill-after=10 "$LEFT" "$NODE" "$ROOT/node_modules/tsx/dist/cli.mjs" scripts/gpu-check/checks.ts \
  --device "$DEVICE" --out "$OUT" --sd15 "$SD15" --size "$SIZE" --steps "$STEPS" --targets "$TARGETS" \
  --environment "$OUT/environment.json" ${ONLY:+--only "$ONLY"} 2>&1 | tee -a "$LOG" || status=${PIPESTATUS[0]}
if [ "$status" = 124 ] || [ "$status" = 137 ]; then
  log "the checks ran past the time limit; $OUT/gpu-check.json holds those that finished"
  status=1
fi
log "done in $((SECONDS - START))s: $OUT/gpu-check.json, $OUT/gpu-check.txt (exit $status)"
exit "$status"
