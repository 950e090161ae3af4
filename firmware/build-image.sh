#!/usr/bin/env bash
# Builds the firmware image for one board (see firmware/README.md):
#   bash firmware/build-image.sh BOARD
# Expects the bundle in $TANDEM_DIST (default dist/, made by scripts/bundle.mjs). Writes
# $TANDEM_FIRMWARE_OUT/tandem-VERSION-BOARD/ and tandem-VERSION-BOARD.tar.gz (default dist/firmware/).
# Reaches no network but the npm registry (npm pack of the Node.js runtime, cached in
# .cache/firmware/). Two runs on one commit give the same tarball bytes: every input is pinned
# (runtime by integrity), file modes are normalised, and tar/gzip get fixed times and owners.
set -euo pipefail

board="${1:?usage: build-image.sh BOARD}"
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
dist="${TANDEM_DIST:-$root/dist}"
out="${TANDEM_FIRMWARE_OUT:-$root/dist/firmware}"
cache="${TANDEM_FIRMWARE_CACHE:-$root/.cache/firmware}"
esbuild="$root/node_modules/.bin/esbuild"
node_gyp="${NODE_GYP:-/usr/lib/node_modules/npm/node_modules/node-gyp/bin/node-gyp.js}"

die() { echo "build-image: $*" >&2; exit 1; }
log() { echo "build-image: $*" >&2; }

for f in tandem.js tandem.js.map vrrp-worker.js vrrp-worker.js.map; do
  [ -f "$dist/$f" ] || die "$dist/$f missing: run node scripts/bundle.mjs (or ./build.sh --board $board)"
done
[ -d "$dist/node_modules" ] || die "$dist/node_modules missing: run node scripts/bundle.mjs"
mkdir -p "$cache" "$out"
# A scratch dir per run, so two builds can run side by side; removed however the script ends.
scratch="$(mktemp -d "$cache/work-$board.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT

# --- the image tool (manifest, verifier, profile reader), bundled once, shipped in the image
"$esbuild" "$root/src/board/image-tool.ts" --bundle --platform=node --format=esm --target=node20 \
  --legal-comments=none --log-level=warning --outfile="$scratch/verify-image.js"
printf '{ "type": "module", "private": true }\n' > "$scratch/package.json"
tool() { TANDEM_BOARD_DIR="$root/board" node "$scratch/verify-image.js" "$@"; }

# --- board profile (validated by src/board/profile.ts)
mapfile -t pf < <(tool profile-fields "$board") || true
[ "${#pf[@]}" -eq 8 ] || die "board profile $board is not valid (see the message above)"
arch="${pf[1]}" libc="${pf[2]}" node_pkg="${pf[4]}" node_ver="${pf[5]}" node_integrity="${pf[6]}" default_conf="${pf[7]}"
[ -f "$default_conf" ] || die "default configuration $default_conf missing"

version="$(node -p 'JSON.parse(require("fs").readFileSync("package.json","utf8")).version')"
pkgver() { node -p "JSON.parse(require('fs').readFileSync('$1/package.json','utf8')).version"; }
# Same commit string as scripts/bundle.mjs stamps into the bundle.
commit="${TANDEM_COMMIT:-}"
if [ -z "$commit" ]; then
  if commit="$(git rev-parse --short=12 HEAD 2>/dev/null)"; then
    [ -z "$(git status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit-dirty"
  else
    commit=unknown
  fi
fi
# Timestamps in the tarball: the commit's time (reproducible-builds.org SOURCE_DATE_EPOCH);
# before the first commit, 0.
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
  SOURCE_DATE_EPOCH="$(git log -1 --format=%ct 2>/dev/null || echo 0)"
fi
name="tandem-$version-$board"
log "$name: $arch, board libc $libc, $node_pkg@$node_ver, commit $commit"

# --- Node.js runtime from npm, pinned by the registry's integrity string
tgz="$cache/$node_pkg-$node_ver.tgz"
sha512_of() { node -e 'const h=require("crypto").createHash("sha512");h.update(require("fs").readFileSync(process.argv[1]));console.log("sha512-"+h.digest("base64"))' "$1"; }
if [ ! -f "$tgz" ] || [ "$(sha512_of "$tgz")" != "$node_integrity" ]; then
  rm -f "$tgz"
  log "npm pack $node_pkg@$node_ver"
  (cd "$scratch" && npm pack "$node_pkg@$node_ver" --json --silent > "$scratch/pack.json")
  reported="$(node -p "JSON.parse(require('fs').readFileSync(process.argv[1],'utf8'))[0].integrity" "$scratch/pack.json")"
  [ "$reported" = "$node_integrity" ] || die "npm pack reports $reported for $node_pkg@$node_ver, profile pins $node_integrity"
  mv "$scratch/$node_pkg-$node_ver.tgz" "$tgz"
fi
actual="$(sha512_of "$tgz")"
[ "$actual" = "$node_integrity" ] || die "$tgz has $actual, profile pins $node_integrity"
rt="$cache/runtime/$node_pkg-$node_ver"
if [ ! -x "$rt/package/bin/node" ] || [ ! -f "$rt/package/include/node/node.h" ]; then
  # Unpacked beside, then renamed into place: a concurrent build never sees half a runtime.
  mkdir -p "$scratch/rt"
  tar -xzf "$tgz" -C "$scratch/rt" package/bin/node package/include package/LICENSE
  mkdir -p "$(dirname "$rt")"
  rm -rf "$rt"; mv "$scratch/rt" "$rt"
fi
rt="$rt/package"

# --- raw-socket, compiled for the board against the runtime's own headers.
# npm here is configured with nodedir=/usr: without npm_config_nodedir the build would silently
# use Node 20's headers and the addon would not load in Node 24 (ABI 137).
rawsock_src="$root/node_modules/raw-socket"
[ -d "$rawsock_src" ] || die "node_modules/raw-socket missing"
rs_build="$scratch/addon"
mkdir -p "$rs_build/node_modules"
cp -r "$rawsock_src" "$rs_build/node_modules/raw-socket"
cp -r "$root/node_modules/nan" "$rs_build/node_modules/nan"
rm -rf "$rs_build/node_modules/raw-socket/build"
case "$arch" in
  arm64) cross=(CC=aarch64-linux-gnu-gcc CXX=aarch64-linux-gnu-g++ LINK=aarch64-linux-gnu-g++ AR=aarch64-linux-gnu-ar); strip_cmd=aarch64-linux-gnu-strip; gyp_arch=arm64 ;;
  x64) cross=(CC=gcc CXX=g++ LINK=g++ AR=ar); strip_cmd=strip; gyp_arch=x64 ;;
esac
log "compiling raw-socket for $arch against $node_pkg@$node_ver headers"
(cd "$rs_build/node_modules/raw-socket" && env "${cross[@]}" npm_config_nodedir="$rt" \
  node "$node_gyp" rebuild --arch="$gyp_arch" --nodedir="$rt" --jobs=2 --loglevel=error >"$scratch/node-gyp.log" 2>&1) \
  || { tail -30 "$scratch/node-gyp.log" >&2; die "raw-socket build failed (log: $scratch/node-gyp.log)"; }
raw_node="$rs_build/node_modules/raw-socket/build/Release/raw.node"
# Stripped: smaller, and no build paths or debug sections in the image.
"$strip_cmd" --strip-unneeded -o "$scratch/raw.node" "$raw_node"

# --- serialport: the prebuilt binding for the board. npm's Node builds are glibc, so the
# glibc prebuild is the one that loads in them, on musl boards too (which get a glibc beside node).
bindings_src="$root/node_modules/@serialport/bindings-cpp"
case "$arch" in
  arm64) sp_prebuild="linux-arm64/@serialport+bindings-cpp.armv8.glibc.node" ;;
  x64) sp_prebuild="linux-x64/@serialport+bindings-cpp.glibc.node" ;;
esac
[ -f "$bindings_src/prebuilds/$sp_prebuild" ] || die "serialport prebuild $sp_prebuild missing"

# --- assemble
stage="$out/$name"
rm -rf "$stage" "$out/$name.tar.gz"
mkdir -p "$stage/bin" "$stage/lib/tandem/board" "$stage/etc/tandem" "$stage/init"
cp "$rt/bin/node" "$stage/bin/node"
cp "$rt/LICENSE" "$stage/lib/tandem/NODE-LICENSE"
# Every top-level .js/.js.map of the bundle: esbuild splits lazily imported commands into chunks.
find "$dist" -maxdepth 1 -type f \( -name '*.js' -o -name '*.js.map' \) -exec cp {} "$stage/lib/tandem/" \;
cp "$scratch/verify-image.js" "$scratch/package.json" "$stage/lib/tandem/"
cp -r "$dist/node_modules" "$stage/lib/tandem/node_modules"
nm="$stage/lib/tandem/node_modules"
# raw-socket: only the board's addon (the copy in dist/ was built for the build host).
rm -rf "$nm/raw-socket/build" "$nm/raw-socket/src" "$nm/raw-socket/example"
mkdir -p "$nm/raw-socket/build/Release"
cp "$scratch/raw.node" "$nm/raw-socket/build/Release/raw.node"
# bindings-cpp: only the board's prebuild; no build/ that node-gyp-build would prefer over it.
rm -rf "$nm/@serialport/bindings-cpp/prebuilds" "$nm/@serialport/bindings-cpp/build" "$nm/@serialport/bindings-cpp/src"
mkdir -p "$nm/@serialport/bindings-cpp/prebuilds/$(dirname "$sp_prebuild")"
cp "$bindings_src/prebuilds/$sp_prebuild" "$nm/@serialport/bindings-cpp/prebuilds/$sp_prebuild"
cp "board/$board.json" "$stage/lib/tandem/board/$board.json"
cp "$default_conf" "$stage/etc/tandem/tandem.conf"
sed "s/@BOARD@/$board/g" firmware/init/tandem.procd > "$stage/init/tandem.procd"
sed "s/@BOARD@/$board/g" firmware/init/tandem.service > "$stage/init/tandem.service"
cp firmware/tandem.sh "$stage/bin/tandem"
cp firmware/runtime.env "$stage/lib/tandem/runtime.env"
cp firmware/README.md "$stage/README.md"

# musl boards (OpenWrt): npm's Node is linked against glibc, so the image carries the glibc
# it was built for, and bin/tandem starts node through that loader (firmware/README.md).
if [ "$libc" = musl ]; then
  case "$arch" in
    arm64) glibc_dir=/usr/aarch64-linux-gnu/lib; loader=ld-linux-aarch64.so.1 ;;
    x64) glibc_dir=/lib/x86_64-linux-gnu; loader=ld-linux-x86-64.so.2 ;;
  esac
  mkdir -p "$stage/lib/glibc"
  for l in "$loader" libc.so.6 libm.so.6 libdl.so.2 libpthread.so.0 libstdc++.so.6 libgcc_s.so.1; do
    [ -e "$glibc_dir/$l" ] || die "$glibc_dir/$l missing (install libc6-arm64-cross / libstdc++6-arm64-cross)"
    cp -L "$glibc_dir/$l" "$stage/lib/glibc/$l"
  done
fi

# Normalised permissions: the umask of the build host must not reach the tarball.
find "$stage" -type d -exec chmod 755 {} +
find "$stage" -type f -exec chmod 644 {} +
chmod 755 "$stage/bin/node" "$stage/bin/tandem" "$stage/init/tandem.procd"
find "$stage" -type f \( -name '*.node' -o -name '*.so*' \) -exec chmod 755 {} +

# --- manifest
node -e '
const [meta, ...kv] = process.argv.slice(1);
const o = {};
for (let i = 0; i < kv.length; i += 2) o[kv[i]] = kv[i + 1];
o.sourceDateEpoch = Number(o.sourceDateEpoch);
require("fs").writeFileSync(meta, JSON.stringify(o));
' "$scratch/meta.json" \
  name "$name" version "$version" commit "$commit" board "$board" arch "$arch" libc glibc boardLibc "$libc" \
  node "$node_ver" rawSocket "$(pkgver "$rawsock_src")" serialport "$(pkgver "$root/node_modules/serialport")" \
  serialportBindings "$(pkgver "$bindings_src")" serialportPrebuild "$sp_prebuild" sourceDateEpoch "$SOURCE_DATE_EPOCH"
node "$stage/lib/tandem/verify-image.js" manifest "$stage" "$scratch/meta.json" >&2
chmod 644 "$stage/MANIFEST.json"

# --- reproducible tarball (reproducible-builds.org/docs/archives/)
tar --sort=name --format=posix --mtime="@$SOURCE_DATE_EPOCH" --owner=0 --group=0 --numeric-owner \
  --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
  -C "$out" -cf - "$name" | gzip -n -9 > "$out/$name.tar.gz"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
log "wrote $out/$name.tar.gz ($(stat -c %s "$out/$name.tar.gz") bytes)"
echo "$out/$name.tar.gz"
