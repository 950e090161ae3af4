#!/usr/bin/env node
// Runs the suite with node's built-in test runner.
// Node 20's --test takes no globs, so the files are listed here.
//   node scripts/run-tests.mjs unit   pure-logic tests, no root needed, run in parallel
//   node scripts/run-tests.mjs lab    root + network namespaces; each file builds its own lab
//   node scripts/run-tests.mjs all    both (the README's test command)
// Extra arguments are file filters (substring match).
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const [kind = 'all', ...filters] = process.argv.slice(2);

function walk(dir) {
  let out = [];
  let names;
  try { names = readdirSync(dir); } catch { return out; }
  for (const n of names.sort()) {
    const p = join(dir, n);
    if (statSync(p).isDirectory()) out = out.concat(walk(p));
    else if (n.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

function pick(sub) {
  const files = walk(join(root, 'test', sub));
  return filters.length ? files.filter((f) => filters.some((x) => f.includes(x))) : files;
}

function run(files, concurrency) {
  if (files.length === 0) return 0;
  const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files];
  const r = spawnSync(process.execPath, args, { stdio: 'inherit', cwd: root });
  return r.status ?? 1;
}

let status = 0;
if (kind === 'unit' || kind === 'all') status |= run(pick('unit'), 2);
if (kind === 'lab' || kind === 'all') {
  if (process.getuid && process.getuid() !== 0) {
    console.error('lab tests need root (network namespaces, raw sockets, nftables); run the suite as root');
    status |= 1;
  } else {
    // Lab tests measure failover timing; two at once on a two-core machine is the most
    // that keeps timers honest.
    status |= run(pick('lab'), 2);
  }
}
process.exit(status);
