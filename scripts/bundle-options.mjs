// The esbuild options of the bundle, shared by scripts/bundle.mjs (which writes dist/) and
// test/unit/bundle-threads.test.ts (which builds in memory and checks which source files each
// thread's bundle holds).
import { join } from 'node:path';

/** Packages with native addons: never inlined, copied beside the bundle instead. */
export const NATIVE = ['raw-socket', '@serialport/bindings-cpp'];

export function bundleOptions(root, out) {
  return {
    // Two entries, one per thread: the main thread (tandem.js) and the VRRP worker thread.
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
    // V8 keeps each module's source text for lazy compilation: a minified bundle halves what
    // both threads hold. Names stay (keepNames) for error messages and stack traces, which the
    // source maps map back to the TypeScript.
    minify: true,
    keepNames: true,
    external: NATIVE,
    define: { __TANDEM_VERSION__: '"0.0.0"', __TANDEM_COMMIT__: '"test"' },
    // Some bundled CommonJS dependencies call require(); give the ESM bundle one.
    banner: { js: "import { createRequire as __tandemCreateRequire } from 'node:module'; const require = __tandemCreateRequire(import.meta.url);" },
    logLevel: 'warning',
  };
}
