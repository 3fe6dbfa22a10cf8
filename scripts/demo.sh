#!/usr/bin/env bash
# The main job: set up what is missing, then edit an example scene with the bundled model
# (EDICT, DDIM inversion and SDEdit side by side with the ground truth), writing out/demo.png
# and printing timings and the measured round-trip errors. Extra arguments go to "edict demo".
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec node dist/cli/main.js demo "$@"
