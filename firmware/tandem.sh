#!/bin/sh
# tandem launcher (installed as bin/tandem in the firmware image): runs the bundle with the
# image's own Node.js, wherever the image was unpacked. POSIX sh: OpenWrt has only busybox ash.
self="$(readlink -f "$0" 2>/dev/null || echo "$0")"
here="$(cd "$(dirname "$self")/.." && pwd)"
export TANDEM_BOARD_DIR="$here/lib/tandem/board"
# Memory settings of the process (the file says why).
TANDEM_NODE_FLAGS=""
[ -r "$here/lib/tandem/runtime.env" ] && . "$here/lib/tandem/runtime.env"
export GLIBC_TUNABLES
# node-gyp-build picks serialport's prebuild by libc; the image's Node is glibc everywhere.
export LIBC=glibc
for loader in "$here"/lib/glibc/ld-linux-*.so.*; do
  # musl boards: start node through the glibc the image carries (firmware/README.md).
  # shellcheck disable=SC2086 # the flags are words
  [ -e "$loader" ] && exec "$loader" --library-path "$here/lib/glibc" "$here/bin/node" $TANDEM_NODE_FLAGS "$here/lib/tandem/tandem.js" "$@"
done
# shellcheck disable=SC2086
exec "$here/bin/node" $TANDEM_NODE_FLAGS "$here/lib/tandem/tandem.js" "$@"
