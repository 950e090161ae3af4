#!/usr/bin/env node
// Bundles tandem with esbuild into dist/: one file for the main thread (tandem.js), one for the
// VRRP worker thread (vrrp-worker.js), each with a source map. Native addons cannot be inlined
// into a bundle, so the packages that carry them are marked external and copied, with their
// runtime dependencies, into dist/node_modules where node's resolver finds them beside the bundle.
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, readdirSync, rmSync, existsSync } from 'node:fs';
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

const NATIVE = ['raw-socket', '@serialport/bindings-cpp'];

mkdirSync(out, { recursive: true });
// Chunk names carry content hashes: remove the previous build's, or images would ship them.
for (const f of readdirSync(out)) {
  if (f.endsWith('.js') || f.endsWith('.js.map')) rmSync(join(out, f));
}
await build({
  entryPoints: { tandem: join(root, 'src/cli.ts'), 'vrrp-worker': join(root, 'src/vrrp/worker/main.ts') },
  outdir: out,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: true,
  splitting: true,
  chunkNames: '[name]-[hash]',
  // Source paths in the map are relative, so two builds of one commit give the same bytes.
  sourceRoot: '',
  legalComments: 'none',
  external: NATIVE,
  define: {
    __TANDEM_VERSION__: JSON.stringify(pkg.version),
    __TANDEM_COMMIT__: JSON.stringify(commit),
  },
  // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
  banner: { js: "import { createRequire as __tandemCreateRequire } from 'node:module'; const require = __tandemCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

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
