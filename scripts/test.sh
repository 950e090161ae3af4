#!/usr/bin/env bash
# The README's test command: type check, bundle, then the whole suite (unit + lab).
set -euo pipefail
cd "$(dirname "$0")/.."
echo "== tsc --noEmit"
npx tsc --noEmit
echo "== build"
bash build.sh
echo "== tests"
node scripts/run-tests.mjs all "$@"
