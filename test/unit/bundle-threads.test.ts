// DESIGN.md's most important rule, checked on the real bundle: the VRRP worker thread's bundle
// holds none of the main thread's parts (MQTT, health checks, the console, nftables and the rest
// of load balancing, the configuration text), and the main thread's bundle holds nothing of
// src/vrrp/worker/ (raw sockets load in the worker only). Builds in memory with the bundle's own
// esbuild options and follows every output's imports, static and dynamic.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build, type Metafile } from 'esbuild';
// @ts-expect-error: a plain .mjs script without types
import { bundleOptions } from '../../scripts/bundle-options.mjs';

const root = new URL('../..', import.meta.url).pathname.replace(/\/$/, '');

/** Source files (repository-relative) reachable from one entry's output. */
function inputsOf(meta: Metafile, entry: string): Set<string> {
  const outputs = meta.outputs;
  const start = Object.keys(outputs).find((o) => outputs[o]!.entryPoint?.endsWith(entry));
  assert.ok(start, `no output for ${entry}`);
  const seen = new Set<string>();
  const files = new Set<string>();
  const walk = (o: string): void => {
    if (seen.has(o) || !outputs[o]) return;
    seen.add(o);
    for (const f of Object.keys(outputs[o]!.inputs)) files.add(f);
    for (const i of outputs[o]!.imports) if (!i.external) walk(i.path);
  };
  walk(start);
  return files;
}

const MAIN_THREAD_ONLY = [
  /^src\/report\//, /^src\/check\//, /^src\/console\//, /^src\/lb\//, /^src\/config\//, /^src\/board\//,
  /^src\/daemon/, /^src\/cli\.ts$/, /node_modules\/(mqtt|serialport|@serialport|systeminformation)\//,
];

test('the VRRP worker bundle holds no main-thread part, and the main bundle nothing of src/vrrp/worker/', async () => {
  const opts = bundleOptions(root, join(tmpdir(), 'tandem-bundle-check'));
  const r = await build({ ...opts, write: false, metafile: true, sourcemap: false, logLevel: 'silent' });
  assert.ok(r.metafile);
  const worker = inputsOf(r.metafile, 'src/vrrp/worker/main.ts');
  const main = inputsOf(r.metafile, 'src/cli.ts');
  assert.ok([...worker].some((f) => f === 'src/vrrp/worker/engine.ts'), 'sanity: the worker bundle holds the engine');
  assert.ok([...main].some((f) => f.startsWith('src/console/')), 'sanity: the main bundle holds the console');
  const leaks = [...worker].filter((f) => MAIN_THREAD_ONLY.some((re) => re.test(f)));
  assert.deepEqual(leaks, [], 'main-thread parts in the VRRP worker bundle');
  const back = [...main].filter((f) => f.startsWith('src/vrrp/worker/'));
  assert.deepEqual(back, [], 'worker-thread parts in the main bundle');
});
