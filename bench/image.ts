// Image figures: bundle size, image size per board (tarball and unpacked), and cold start of
// `tandem version` with the image's own node on x86_64 (native) and arm64 (qemu-user).
// Prints one JSON document, then one summary line.
//   node --import tsx bench/image.ts [BOARD…]    (default: generic-x64 generic-arm64)
// Uses the bundle in $TANDEM_DIST (default dist/; run node scripts/bundle.mjs first) and writes
// images under a temp dir. TODO(issue 7): cold start to BACKUP and RSS after start need the
// daemon and VRRP (`tandem run`); they belong here once those exist.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, readdir, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { performance } from 'node:perf_hooks';

const run = promisify(execFile);
const root = new URL('..', import.meta.url).pathname;
const dist = process.env['TANDEM_DIST'] ?? join(root, 'dist');
const boards = process.argv.slice(2).length ? process.argv.slice(2) : ['generic-x64', 'generic-arm64'];
const RUNS = 5;

async function duBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) total += await duBytes(p);
    else if (e.isFile()) total += (await stat(p)).size;
  }
  return total;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

async function coldStart(image: string, arch: string): Promise<{ medianMs: number; runsMs: number[] }> {
  const node = join(image, 'bin/node');
  const args = [join(image, 'lib/tandem/tandem.js'), 'version'];
  const [cmd, full] = arch === 'arm64' ? ['qemu-aarch64-static', ['-L', '/usr/aarch64-linux-gnu', node, ...args]] : [node, args];
  const runsMs: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await run(cmd, full as string[]);
    runsMs.push(Math.round(performance.now() - t0));
  }
  return { medianMs: median(runsMs), runsMs };
}

const tmp = await mkdtemp(join(tmpdir(), 'tandem-bench-image-'));
try {
  // esbuild splits lazily imported commands into chunks: the bundle is every top-level .js.
  const top = (await readdir(dist, { withFileTypes: true })).filter((e) => e.isFile());
  const sizeOf = async (pred: (n: string) => boolean) => {
    let n = 0;
    for (const e of top) if (pred(e.name)) n += (await stat(join(dist, e.name))).size;
    return n;
  };
  const bundle = {
    jsBytes: await sizeOf((n) => n.endsWith('.js')),
    files: top.filter((e) => e.name.endsWith('.js')).length,
    vrrpWorkerJs: (await stat(join(dist, 'vrrp-worker.js'))).size,
    sourceMapBytes: await sizeOf((n) => n.endsWith('.js.map')),
  };
  const version = (JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const images: Record<string, unknown>[] = [];
  for (const board of boards) {
    const out = join(tmp, board);
    await mkdir(out);
    await run('bash', [join(root, 'firmware/build-image.sh'), board], { cwd: root, env: { ...process.env, TANDEM_DIST: dist, TANDEM_FIRMWARE_OUT: out }, maxBuffer: 16 << 20 });
    const name = `tandem-${version}-${board}`;
    const manifest = JSON.parse(await readFile(join(out, name, 'MANIFEST.json'), 'utf8')) as { arch: string };
    const hostArch = process.arch === 'x64' ? 'x64' : 'arm64';
    const canRun = manifest.arch === hostArch || (manifest.arch === 'arm64' && hostArch === 'x64');
    images.push({
      board,
      arch: manifest.arch,
      tarballBytes: (await stat(join(out, `${name}.tar.gz`))).size,
      unpackedBytes: await duBytes(join(out, name)),
      coldStartVersion: canRun ? { how: manifest.arch === hostArch ? 'native' : 'qemu-user', ...(await coldStart(join(out, name), manifest.arch)) } : null,
    });
  }
  const result = { bench: 'image', bundle, images };
  console.log(JSON.stringify(result, null, 2));
  const mb = (n: number) => (n / 1048576).toFixed(1);
  console.log(`image: bundle ${(bundle.jsBytes / 1024).toFixed(0)} KiB in ${bundle.files} files; ` + images.map((i) => {
    const cs = i['coldStartVersion'] as { medianMs: number; how: string } | null;
    return `${String(i['board'])} ${mb(i['tarballBytes'] as number)} MiB tar.gz / ${mb(i['unpackedBytes'] as number)} MiB` + (cs ? `, version in ${cs.medianMs} ms (${cs.how})` : '');
  }).join('; '));
} finally {
  await rm(tmp, { recursive: true, force: true });
}
