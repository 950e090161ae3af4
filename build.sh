#!/usr/bin/env bash
# Builds tandem.
#   ./build.sh                 dist/tandem.js + dist/vrrp-worker.js (+ source maps, native addons beside)
#   ./build.sh --board NAME    also a firmware image under dist/firmware/ (see firmware/README.md)
set -euo pipefail
cd "$(dirname "$0")"
board=""
while [ $# -gt 0 ]; do
  case "$1" in
    --board) board="${2:?--board needs a name}"; shift 2 ;;
    --board=*) board="${1#--board=}"; shift ;;
    -h|--help) sed -n '2,4p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
[ -d node_modules ] || npm ci
node scripts/bundle.mjs
if [ -n "$board" ]; then
  if [ ! -f firmware/build-image.sh ]; then echo "build.sh: firmware images are not built yet (firmware/build-image.sh missing)" >&2; exit 1; fi
  bash firmware/build-image.sh "$board"
fi
