#!/usr/bin/env bash
# The test command (README, CI): sets up whatever is missing, then runs every suite, including
# the node-gyp build check, the packed package installed into a fresh project, and the Python
# unit tests of the export scripts.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
EDICT_TEST_GYP=1 EDICT_TEST_PACKAGE=1 npx --no-install vitest run "$@"
