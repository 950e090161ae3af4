// One board of the pair runs from the arm64 firmware image under qemu-user, the other from the
// x86_64 bundle: they elect each other over real raw sockets in the lab.
// Board a: the image's own Node.js 24 and its cross-compiled raw-socket, under
// `qemu-aarch64-static -L /usr/aarch64-linux-gnu`, priority 150, with the image's board profile.
// Board b: this machine's node and the same bundle, priority 100.
//
// The image is built once and cached (test/lab/firmware-image.ts): TANDEM_FIRMWARE_IMAGE=DIR runs an
// already unpacked image, TANDEM_FIRMWARE_TEST_DIST=DIR builds from that bundle.
// VRRPv2 at advert_int 1 (keepalived's default timing): under qemu-user the daemon takes seconds to
// start and its timers are less punctual, so the waits are generous; nothing asserts wall time.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { RUNTIME_NODE_FLAGS } from './runtime-env.ts';
import { withLab, type BoardHandle, type Lab } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { vipHolders, waitHolder } from './vrrp-helpers.ts';
import { labImage, testBundle, type LabImage, type TestBundle } from './firmware-image.ts';

const BOARD = 'generic-arm64';
const started = /Entering (BACKUP|MASTER|FAULT) STATE/;
const SLOW = 60_000; // qemu-user start-up and takeover bounds
const slow = { version: 2 as const, advertInt: 1 };

let bundle: TestBundle | undefined;
let img: LabImage;

before(async () => {
  bundle = await testBundle();
  img = await labImage(BOARD, bundle.dir);
});

after(async () => {
  await bundle?.cleanup();
});

/**
 * The daemon installs its signal handlers only once start-up is complete (src/daemon.ts
 * runDaemon), and a SIGUSR2 before that kills it (the default action). The control socket is the
 * last thing start-up opens: once it answers, the handlers are in place.
 */
async function waitStartedUp(lab: Lab, h: BoardHandle): Promise<void> {
  await lab.waitFor(() => existsSync(h.controlSocket), { timeoutMs: SLOW, what: `board ${h.board}'s control socket` });
  const r = await h.ctl(['show', 'version'], { timeoutMs: SLOW });
  assert.equal(r.code, 0, `ctl show version on board ${h.board}: ${r.stdout}${r.stderr}`);
}

interface AdvertCounters { received: number; sent: number; text: string }

/**
 * VI_PUB's advertisement counters of a running board: SIGUSR2 makes the daemon write keepalived's
 * stats layout to STATE_DIR/vrrp.stats (src/daemon.ts writeStats).
 */
async function pubCounters(lab: Lab, h: BoardHandle): Promise<AdvertCounters> {
  await waitStartedUp(lab, h);
  const path = join(h.stateDir, 'vrrp.stats');
  await rm(path, { force: true });
  if (!h.proc.signal('SIGUSR2')) throw new Error(`board ${h.board} is not running`);
  let text = '';
  // The file is complete once its last section is there.
  await lab.waitFor(async () => (text = await readFile(path, 'utf8').catch(() => '')).includes('Unattributed drops'), {
    timeoutMs: SLOW, intervalMs: 100, what: `board ${h.board} to write vrrp.stats`,
  });
  const m = /VRRP Instance: VI_PUB\n {2}Advertisements:\n {4}Received: (\d+)\n {4}Sent: (\d+)/.exec(text);
  if (!m) throw new Error(`no VI_PUB counters in board ${h.board}'s vrrp.stats:\n${text}`);
  return { received: Number(m[1]), sent: Number(m[2]), text };
}

test('arm64 image under qemu-user (a, 150) and x86_64 (b, 100) elect, fail over on SIGTERM, and a preempts back', { timeout: 6 * 60_000 }, async (t) => {
  assert.equal(img.arch, 'arm64');
  assert.deepEqual(img.command.slice(0, 1), ['qemu-aarch64-static'], 'board a must run under qemu-user on this host');
  const lab = await withLab(t, { name: 'firmware-board', realServers: 0 });
  const cfgA = pairConfig({ routerId: 'lb-a', priority: 150, ...slow });
  const cfgB = pairConfig({ routerId: 'lb-b', priority: 100, ...slow });
  const startA = () => lab.startBoard('a', cfgA, {
    bundle: img.bundle, command: img.command, profile: BOARD, waitForLog: started, timeoutMs: SLOW,
  });
  const a = await startA();
  // The process really is the image's node under qemu (not this host's node).
  assert.deepEqual(a.proc.argv.slice(0, img.command.length + RUNTIME_NODE_FLAGS.length + 1), [...img.command, ...RUNTIME_NODE_FLAGS, img.bundle]);
  // Alone, a becomes MASTER after Master_Down_Interval (RFC 3768 6.4.2).
  await waitHolder(lab, 'a', SLOW);
  await a.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, SLOW);

  // b joins as BACKUP and stays so: a's advertisements, sent by the arm64 raw-socket addon through
  // qemu-user, reset its Master_Down timer (3.6 s). Waiting for five of them received spans more
  // than one Master_Down_Interval.
  const b = await lab.startBoard('b', cfgB, { bundle: join(bundle!.dir, 'tandem.js'), waitForLog: started, timeoutMs: SLOW });
  await b.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/, SLOW);
  let cb: AdvertCounters | undefined;
  await lab.waitFor(async () => (cb = await pubCounters(lab, b)).received >= 5, {
    timeoutMs: SLOW, intervalMs: 1000, what: 'b to receive 5 advertisements from the arm64 board',
  });
  assert.doesNotMatch(b.proc.output(), /Entering MASTER STATE/, 'b became MASTER while the arm64 board was advertising');
  assert.deepEqual(await vipHolders(lab), { pub: ['a'], priv: ['a'] });

  // Graceful stop of the arm64 board: priority-0 advertisement (RFC 3768 6.4.3), VIPs removed.
  const mark = b.proc.mark();
  const st = await lab.stopBoard('a', 'SIGTERM', SLOW);
  assert.deepEqual(st, { code: 0, signal: null }, `arm64 board did not stop cleanly:\n${a.proc.tail()}`);
  await waitHolder(lab, 'b', SLOW);
  await b.waitForLog(/BACKUP -> MASTER: master released \(priority 0\)|BACKUP -> MASTER: VRRP_Group/, SLOW, { from: mark });
  assert.deepEqual(await vipHolders(lab), { pub: ['b'], priv: ['b'] });

  // Restarted, the arm64 board preempts (RFC 3768 6.4.2: a backup with preempt discards a
  // lower-priority advertisement, so its Master_Down timer runs out) and b steps down on hearing
  // a's higher priority.
  const markB = b.proc.mark();
  const a2 = await startA();
  await waitHolder(lab, 'a', SLOW);
  await a2.waitForLog(/\(VI_PUB\) Entering MASTER STATE/, SLOW);
  await b.waitForLog(/\(VI_PUB\) Entering BACKUP STATE/, SLOW, { from: markB });
  // The arm64 board's receive path works too: while it was BACKUP, b (MASTER) was the only sender.
  const ca = await pubCounters(lab, a2);
  assert.ok(ca.received >= 1, `arm64 board received no advertisements:\n${ca.text}`);
  assert.ok(ca.sent >= 1, `arm64 board sent no advertisements:\n${ca.text}`);
  t.diagnostic(`b received ${cb?.received} advertisements from the arm64 board; restarted arm64 board: ${ca.received} received, ${ca.sent} sent; image ${img.cached ? 'from cache' : 'built'} at ${img.dir}`);
});
