#!/usr/bin/env node
// Bundles tandem with esbuild into dist/: one file for the main thread (tandem.js), one for the
// VRRP worker thread (vrrp-worker.js), each with a source map. Native addons cannot be inlined
// into a bundle, so the packages that carry them are marked external and copied, with their
// runtime dependencies, into dist/node_modules where node's resolver finds them beside the bundle.
import { build } from 'esbuild';
import { bundleOptions, NATIVE } from './bundle-options.mjs';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = process.env.TANDEM_DIST ?? join(root, 'dist');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
let commit = process.env.TANDEM_COMMIT ?? 'unknown';
if (!process.env.TANDEM_COMMIT) {
  try {
    commit = execFileSync('git', ['rev-parse', '--short=12', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim();
    if (dirty) commit += '-dirty';
  } catch { /* not a git checkout: keep 'unknown' */ }
}


mkdirSync(out, { recursive: true });
// Chunk names carry content hashes: remove the previous build's, or images would ship them.
for (const f of readdirSync(out)) {
  if (f.endsWith('.js') || f.endsWith('.js.map') || f === 'meta.json') rmSync(join(out, f));
}
const result = await build({ ...bundleOptions(root, out), metafile: true, define: {
  __TANDEM_VERSION__: JSON.stringify(pkg.version),
  __TANDEM_COMMIT__: JSON.stringify(commit),
} });
// What went into each output file: test/unit/bundle-threads.test.ts checks the same from a
// fresh build; this copy is for a person asking why the bundle is the size it is.
writeFileSync(join(out, 'meta.json'), JSON.stringify(result.metafile));

// Copy each external package and, transitively, its runtime dependencies.
const nm = join(out, 'node_modules');
rmSync(nm, { recursive: true, force: true });
const seen = new Set();
function resolvePkgDir(name, from) {
  let dir = from;
  for (;;) {
    const cand = join(dir, 'node_modules', name);
    if (existsSync(join(cand, 'package.json'))) return cand;
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find package ${name}`);
    dir = up;
  }
}
function copyPkg(name, from) {
  const src = resolvePkgDir(name, from);
  if (seen.has(src)) return;
  seen.add(src);
  const dest = join(nm, name);
  // A native addon's own sources and build intermediates are not needed at run time: only at
  // the top of an addon package (a plain JS dependency such as debug keeps its src/), and never
  // inside a nested node_modules.
  const native = NATIVE.includes(name);
  cpSync(src, dest, {
    recursive: true,
    filter: (p) => {
      const rel = p.slice(src.length);
      if (p.endsWith('.node')) return true;
      if (/\/(obj\.target|\.deps)(\/|$)/.test(rel)) return false;
      return !(native && /^\/(src|test|deps)(\/|$)/.test(rel));
    },
  });
  const meta = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
  for (const dep of Object.keys(meta.dependencies ?? {})) {
    if (dep === 'nan' || dep === 'node-addon-api') continue; // headers for compiling only
    copyPkg(dep, src);
  }
}
for (const n of NATIVE) copyPkg(n, root);
console.log(`bundled ${pkg.version} (${commit}) into ${out}`);
