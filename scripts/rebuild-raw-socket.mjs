#!/usr/bin/env node
// raw-socket polls its socket on libuv's *default* loop, which is the main thread's: in a
// worker thread its sends never complete and the process crashes at exit. Our patch
// (patches/raw-socket+1.8.1.patch, applied by patch-package) makes it use the loop of the
// thread that created the socket, and receives IPv6 packets with recvmsg so that their hop
// limit and destination (ancillary data: an IPv6 raw socket gets no IPv6 header) reach the
// VRRP receive checks; its JavaScript side sends a packet at once when nothing is queued (one
// sendto, not a writability poll and a wake-up per packet). npm built the addon before the patch was applied, so it is rebuilt here. Skipped when the built addon is already newer than the patched source.
import { statSync, existsSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const require = createRequire(import.meta.url);
const dir = dirname(require.resolve('raw-socket/package.json'));
const src = join(dir, 'src', 'raw.cc');
const addon = join(dir, 'build', 'Release', 'raw.node');
if (existsSync(addon) && statSync(addon).mtimeMs > statSync(src).mtimeMs) process.exit(0);
// npm bundles node-gyp; use it against the running Node's headers.
const gyp = join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js');
// Build against the headers of the Node that runs us: npm's nodedir when npm runs this script,
// else the headers installed beside this node (Debian: /usr/include/node). There is no network
// to download headers from.
const prefix = dirname(dirname(process.execPath));
const nodedir = process.env.npm_config_nodedir || (existsSync(join(prefix, 'include', 'node', 'node.h')) ? prefix : '');
const args = [gyp, 'rebuild', ...(nodedir ? [`--nodedir=${nodedir}`] : [])];
const r = spawnSync(process.execPath, args, { cwd: dir, stdio: 'inherit' });
process.exit(r.status ?? 1);
