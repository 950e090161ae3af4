// An unpacked firmware image for lab tests and benchmarks, built once and kept in a cache so
// several test files (and reruns) share it: building generic-arm64 cross-compiles raw-socket and
// takes about half a minute on this machine, and the unpacked image is ~120 MB.
//
//   const bundle = await testBundle();
//   const img = await labImage('generic-arm64', bundle.dir);
//   lab.startBoard('a', cfg, { bundle: img.bundle, command: img.command });
//
// Where the image comes from, first match wins:
//   TANDEM_FIRMWARE_IMAGE=DIR   an unpacked image to use as it is (checked against its manifest);
//   else built from the bundle given to labImage: testBundle() is TANDEM_FIRMWARE_TEST_DIST=DIR (as in
//   test/lab/firmware.test.ts) or, without it, a fresh bundle in a temp dir (not dist/, which
//   others rebuild while tests run).
// The cache (TANDEM_FIRMWARE_CACHE, default .cache/firmware/, gitignored) is keyed by the SHA-256
// of everything the image is made of: the bundle's files and the firmware scripts, board profile
// and default configuration. Same inputs → same key → reused; anything changed → rebuilt.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rename, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { verifyImage } from '../../src/board/manifest.ts';
import { loadBoardProfile } from '../../src/board/profile.ts';

const run = promisify(execFile);
const REPO_ROOT = new URL('../..', import.meta.url).pathname;

/** qemu-user for arm64 on an x86_64 host, with the Debian cross glibc as the sysroot. */
export const QEMU_ARM64 = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'] as const;

export interface LabImage {
  board: string;
  arch: 'arm64' | 'x64';
  /** Root of the unpacked image (bin/, lib/, etc/, MANIFEST.json). */
  dir: string;
  /** The image's own node binary. */
  node: string;
  /** lib/tandem/tandem.js inside the image: pass as StartBoardOptions.bundle. */
  bundle: string;
  /**
   * What runs the image's node on this host: StartBoardOptions.command. Under qemu-user for an
   * arm64 image on x86_64; the image's node itself when the architectures match.
   */
  command: string[];
  /** True when it came out of the cache rather than a fresh build. */
  cached: boolean;
}

function hostArch(): 'arm64' | 'x64' {
  return process.arch === 'arm64' ? 'arm64' : 'x64';
}

/** The command prefix that runs an image of `arch`'s node here; throws when none can. */
export function imageCommand(dir: string, arch: 'arm64' | 'x64'): string[] {
  const node = join(dir, 'bin/node');
  if (arch === hostArch()) return [node];
  if (arch === 'arm64' && hostArch() === 'x64') return [...QEMU_ARM64, node];
  throw new Error(`cannot run an ${arch} image on an ${hostArch()} host`);
}

async function hashFiles(h: ReturnType<typeof createHash>, paths: string[]): Promise<void> {
  for (const p of paths) {
    h.update(`${p}\0`);
    h.update(await readFile(p));
    h.update('\0');
  }
}

/** Everything (but the Node runtime, pinned by integrity in the profile) an image is made of. */
async function inputKey(board: string, dist: string): Promise<string> {
  const h = createHash('sha256');
  const top = (await readdir(dist, { withFileTypes: true }))
    .filter((e) => e.isFile() && (e.name.endsWith('.js') || e.name.endsWith('.js.map')))
    .map((e) => e.name).sort();
  // Bundle files by name, relative, so the bundle's location does not change the key.
  for (const n of top) {
    h.update(`dist/${n}\0`);
    h.update(await readFile(join(dist, n)));
  }
  const profile = loadBoardProfile(board);
  const fw = ['firmware/build-image.sh', 'firmware/tandem.sh', 'firmware/init/tandem.service', 'firmware/init/tandem.procd',
    `board/${board}.json`, profile.defaultConfig, 'src/board/image-tool.ts', 'src/board/manifest.ts', 'src/board/profile.ts'];
  await hashFiles(h, fw.map((p) => join(REPO_ROOT, p)));
  return h.digest('hex').slice(0, 20);
}

/**
 * The unpacked image of `board` made from the bundle in `dist`: TANDEM_FIRMWARE_IMAGE when set,
 * else the cache entry for these inputs, else a fresh build into the cache. Builds are written beside the cache entry and renamed into place, so two test files
 * building at once both end with one complete image.
 */
export async function labImage(board: string, dist: string): Promise<LabImage> {
  const given = process.env['TANDEM_FIRMWARE_IMAGE'];
  if (given) return describe(board, given, true);
  const cacheRoot = join(process.env['TANDEM_FIRMWARE_CACHE'] ?? join(REPO_ROOT, '.cache/firmware'), 'lab-images');
  const key = await inputKey(board, dist);
  const entry = join(cacheRoot, `${board}-${key}`);
  if (existsSync(entry) && (await verifyImage(entry)).ok) {
    const now = new Date();
    await utimes(entry, now, now); // marks it used, for pruneCache
    return describe(board, entry, true);
  }

  await mkdir(cacheRoot, { recursive: true });
  const out = await mkdtemp(join(cacheRoot, `.build-${board}-`));
  try {
    const { stdout } = await run('bash', [join(REPO_ROOT, 'firmware/build-image.sh'), board], {
      cwd: REPO_ROOT, env: { ...process.env, TANDEM_DIST: dist, TANDEM_FIRMWARE_OUT: out }, maxBuffer: 64 << 20, timeout: 15 * 60_000,
    });
    const tarball = stdout.trim().split('\n').pop() ?? '';
    const staged = tarball.replace(/\.tar\.gz$/, '');
    if (!tarball.endsWith('.tar.gz') || !existsSync(staged)) throw new Error(`build-image.sh printed no image path (got ${JSON.stringify(stdout)})`);
    await rm(entry, { recursive: true, force: true });
    try {
      await rename(staged, entry);
    } catch (e) {
      // Another process put its (identical-input) image there first: use that one.
      if (!existsSync(entry)) throw e;
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
  await pruneCache(cacheRoot, board, key);
  return describe(board, entry, false);
}

/** A bundle directory to build images from and to run x86_64 boards with, and how to drop it. */
export interface TestBundle {
  /** Holds tandem.js, vrrp-worker.js, chunks and node_modules (scripts/bundle.mjs's layout). */
  dir: string;
  /** Removes it if it was made here; a no-op for TANDEM_FIRMWARE_TEST_DIST. */
  cleanup(): Promise<void>;
}

/**
 * TANDEM_FIRMWARE_TEST_DIST when set (used as it is), else a fresh bundle in a temp dir: not
 * dist/, which other people rebuild while tests run.
 */
export async function testBundle(): Promise<TestBundle> {
  const given = process.env['TANDEM_FIRMWARE_TEST_DIST'];
  if (given) return { dir: given, cleanup: async () => undefined };
  const dir = await mkdtemp(join(tmpdir(), 'tandem-labimg-dist-'));
  try {
    await run(process.execPath, [join(REPO_ROOT, 'scripts/bundle.mjs')], {
      cwd: REPO_ROOT, env: { ...process.env, TANDEM_DIST: dir }, maxBuffer: 16 << 20,
    });
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Drops this board's entries not used for an hour (other inputs, other bundles): each is ~120 MB.
 * Not sooner: another test run on this machine may be using an entry built from a different
 * bundle right now (a use touches the entry's mtime; no run lasts an hour).
 */
async function pruneCache(cacheRoot: string, board: string, keep: string): Promise<void> {
  const hourAgo = Date.now() - 3600_000;
  for (const e of await readdir(cacheRoot)) {
    if (!e.startsWith(`${board}-`) || e === `${board}-${keep}`) continue;
    const p = join(cacheRoot, e);
    try {
      if ((await stat(p)).mtimeMs < hourAgo) await rm(p, { recursive: true, force: true });
    } catch { /* gone already, or in use by a racing prune: either way not ours to worry about */ }
  }
}

async function describe(board: string, dir: string, cached: boolean): Promise<LabImage> {
  const v = await verifyImage(dir);
  if (!v.ok) {
    throw new Error(`image ${dir} does not match its manifest: missing [${v.missing.join(', ')}], extra [${v.extra.join(', ')}], changed [${v.changed.map((c) => c.path).join(', ')}]`);
  }
  const m = JSON.parse(await readFile(join(dir, 'MANIFEST.json'), 'utf8')) as { board?: unknown; arch?: unknown };
  if (m.board !== board) throw new Error(`image ${dir} is for board ${String(m.board)}, not ${board}`);
  if (m.arch !== 'arm64' && m.arch !== 'x64') throw new Error(`image ${dir} has unknown arch ${String(m.arch)}`);
  return {
    board, arch: m.arch, dir, cached,
    node: join(dir, 'bin/node'),
    bundle: join(dir, 'lib/tandem/tandem.js'),
    command: imageCommand(dir, m.arch),
  };
}
