// The arm64 firmware image, proven on this x86_64 machine under qemu-user (DESIGN.md "Firmware
// image"): built twice from the same tree (same tarball bytes), unpacked, and run with its own
// Node.js: `tandem version`, `tandem check` of the default configuration, both native addons,
// the manifest's hashes, and a corrupted copy caught by the verifier.
//
// It builds everything once for the file (the bundle, then two images: a few minutes).
// TANDEM_FIRMWARE_TEST_DIST=DIR uses an existing bundle directory instead of bundling.
//
// The lab test that runs one board of the pair from the arm64 image under qemu-user and elects
// against an x86_64 board is test/lab/firmware-board.test.ts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, readFile, writeFile, cp, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseManifest, verifyImage } from '../../src/board/manifest.ts';

const run = promisify(execFile);
const root = new URL('../..', import.meta.url).pathname;
const BOARD = 'generic-arm64';
const QEMU = ['qemu-aarch64-static', '-L', '/usr/aarch64-linux-gnu'];

let tmp = '';
let image = ''; // unpacked image root
let tarball1 = '';
let tarball2 = '';

async function sh(cmd: string, args: string[], env: Record<string, string> = {}, timeoutMs = 15 * 60_000) {
  return run(cmd, args, { cwd: root, env: { ...process.env, ...env }, maxBuffer: 64 << 20, timeout: timeoutMs });
}

/** One full build into its own dist and output directories; returns the tarball path. */
async function build(n: number): Promise<string> {
  const dist = process.env['TANDEM_FIRMWARE_TEST_DIST'] ?? join(tmp, `dist${n}`);
  const out = join(tmp, `fw${n}`);
  const env = { TANDEM_DIST: dist, TANDEM_FIRMWARE_OUT: out };
  if (process.env['TANDEM_FIRMWARE_TEST_DIST']) await sh('bash', ['firmware/build-image.sh', BOARD], env);
  else await sh('bash', ['build.sh', '--board', BOARD], env);
  const m = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  return join(out, `tandem-${m.version}-${BOARD}.tar.gz`);
}

function qemuNode(args: string[]) {
  return sh(QEMU[0]!, [...QEMU.slice(1), join(image, 'bin/node'), ...args], {}, 120_000);
}

before(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'tandem-fw-'));
  tarball1 = await build(1);
  tarball2 = await build(2);
  const unpack = join(tmp, 'unpacked');
  await mkdir(unpack);
  await sh('tar', ['-xzf', tarball1, '-C', unpack]);
  const { stdout } = await sh('tar', ['-tzf', tarball1]);
  const top = stdout.split('\n')[0]!.split('/')[0]!;
  image = join(unpack, top);
});

after(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

test('two builds of the same tree give identical tarball bytes', async () => {
  const [a, b] = await Promise.all([readFile(tarball1), readFile(tarball2)]);
  assert.ok(a.length > 1_000_000, `tarball is ${a.length} bytes`);
  assert.ok(a.equals(b), 'tarballs differ');
});

test('manifest describes the image: board, versions, and every file hash matches', async () => {
  const m = parseManifest(await readFile(join(image, 'MANIFEST.json'), 'utf8'));
  assert.equal(m.board, BOARD);
  assert.equal(m.arch, 'arm64');
  assert.equal(m.libc, 'glibc');
  assert.match(m.node, /^24\./);
  assert.equal(m.rawSocket, '1.8.1');
  assert.match(m.serialportPrebuild, /^linux-arm64\/.*armv8\.glibc\.node$/);
  const paths = m.files.map((f) => f.path);
  for (const p of ['bin/node', 'bin/tandem', 'lib/tandem/tandem.js', 'lib/tandem/tandem.js.map', 'lib/tandem/vrrp-worker.js',
    'lib/tandem/node_modules/raw-socket/build/Release/raw.node', 'etc/tandem/tandem.conf', 'init/tandem.procd',
    'init/tandem.service', `lib/tandem/board/${BOARD}.json`]) {
    assert.ok(paths.includes(p), `${p} not in manifest`);
  }
  // Only the board's serialport prebuild travels.
  assert.deepEqual(paths.filter((p) => p.endsWith('.node') && p.includes('bindings-cpp')), [`lib/tandem/node_modules/@serialport/bindings-cpp/prebuilds/${m.serialportPrebuild}`]);
  const r = await verifyImage(image);
  assert.deepEqual(r, { ok: true, missing: [], extra: [], changed: [] });
});

test('the arm64 raw-socket addon is an aarch64 ELF', async () => {
  const { stdout } = await sh('file', ['-b', join(image, 'lib/tandem/node_modules/raw-socket/build/Release/raw.node')]);
  assert.match(stdout, /ARM aarch64/);
});

test('tandem version runs under qemu-aarch64 with the image\'s node', async () => {
  const { stdout } = await qemuNode([join(image, 'lib/tandem/tandem.js'), 'version']);
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
  assert.ok(stdout.includes(pkg.version), `version output: ${stdout}`);
});

test('the image node is Node.js 24 for arm64', async () => {
  const { stdout } = await qemuNode(['-p', 'process.version + " " + process.arch']);
  assert.match(stdout.trim(), /^v24\.\d+\.\d+ arm64$/);
});

test('tandem check accepts the default configuration under qemu-aarch64', async () => {
  const { stdout, stderr } = await qemuNode([join(image, 'lib/tandem/tandem.js'), 'check', '-f', join(image, 'etc/tandem/tandem.conf')])
    .catch((e: { stdout?: string; stderr?: string; message: string }) => {
      throw new Error(`check failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    });
  assert.doesNotMatch(stdout + stderr, /tandem\.conf:\d+:\d+:/);
});

test('raw-socket loads under qemu-aarch64 and opens a protocol-112 socket', async () => {
  const mod = join(image, 'lib/tandem/node_modules/raw-socket');
  const { stdout } = await qemuNode(['-e', `const r = require(${JSON.stringify(mod)}); const s = r.createSocket({ protocol: 112 }); console.log('opened', typeof s.send); s.close();`]);
  assert.equal(stdout.trim(), 'opened function');
});

test('serialport binding loads under qemu-aarch64 from the board prebuild', async () => {
  const nm = join(image, 'lib/tandem/node_modules');
  // node-gyp-build is how bindings-cpp finds its binding; it throws when no prebuild matches.
  const code = `const b = require(${JSON.stringify(join(nm, 'node-gyp-build'))})(${JSON.stringify(join(nm, '@serialport/bindings-cpp'))});` +
    `b.open('/nonexistent/tty', { baudRate: 9600, dataBits: 8, stopBits: 1, parity: 'none', rtscts: false, xon: false, xoff: false, xany: false, hupcl: true, lock: true, vmin: 1, vtime: 0 }, (err) => console.log(typeof b.open, String(err && err.message)));`;
  const { stdout } = await qemuNode(['-e', code]);
  // The native open() ran and reported the missing device.
  assert.match(stdout.trim(), /^function .*(No such file|ENOENT)/);
});

test('a corrupted image is detected by the manifest verifier (native and under qemu)', async () => {
  const bad = join(tmp, 'corrupted');
  await cp(image, bad, { recursive: true });
  const target = join(bad, 'lib/tandem/tandem.js');
  const buf = await readFile(target);
  buf[Math.floor(buf.length / 2)] ^= 0x01;
  await writeFile(target, buf);
  await writeFile(join(bad, 'etc/tandem/stray.conf'), 'x');
  await rm(join(bad, 'init/tandem.procd'));
  const r = await verifyImage(bad);
  assert.equal(r.ok, false);
  assert.deepEqual(r.changed.map((c) => c.path), ['lib/tandem/tandem.js']);
  assert.deepEqual(r.extra, ['etc/tandem/stray.conf']);
  assert.deepEqual(r.missing, ['init/tandem.procd']);
  // The verifier shipped in the image, run by the image's node, says the same and exits 1.
  const res = await qemuNode([join(bad, 'lib/tandem/verify-image.js'), 'verify', bad]).then(() => null, (e: { code?: number; stdout?: string }) => e);
  assert.ok(res, 'verifier exited 0 on a corrupted image');
  assert.equal(res.code, 1);
  assert.match(res.stdout ?? '', /changed: lib\/tandem\/tandem\.js/);
  // And the intact image passes the shipped verifier.
  const ok = await qemuNode([join(image, 'lib/tandem/verify-image.js'), 'verify', image]);
  assert.match(ok.stdout, /image matches MANIFEST\.json/);
});
