// The control socket against hostile local users and clients, on a real lab board
// (what an unprivileged local user could try, and floods):
// - a socket directory prepared by an unprivileged user (owned by them, 0777) is refused by the
//   daemon, which keeps running without the socket; that user's own socket there, answering
//   with forged output, is refused by root's `tandem ctl`;
// - 300,000 pipelined commands whose answers are never read leave the daemon's memory bounded,
//   and the board still answers other `tandem ctl` clients meanwhile.
// Build first: ./build.sh.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, chown, mkdir, readFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { withLab } from './lab.ts';
import { pairConfig } from './vrrp-configs.ts';
import { createTempUser } from './temp-user.ts';

const STARTED = /Entering (BACKUP|MASTER|FAULT) STATE/;
const fast = { version: 3 as const, advertInt: 0.5, noSyncGroup: true };

/** Resident set of a process in KiB, from /proc/PID/status. */
async function rssKiB(pid: number): Promise<number> {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

/** A server answering every connection with forged output in the control protocol (run as the other user). */
const FORGER = `const net = require('node:net');
net.createServer((s) => { s.on('error', () => {}); s.resume(); s.end('tandem FORGED by ' + process.getuid() + '\\n\\u00000\\n'); })
  .listen(process.argv[1], () => console.log('forging'));`;

test('a control-socket directory prepared by another user is refused by the daemon and by tandem ctl', async (t) => {
  const lab = await withLab(t, { name: 'control-socket-dir', realServers: 0 });
  const user = await createTempUser(t);
  // The lab's temp dir is root's 0700; let the other user reach a directory of their own in it,
  // as /run or /tmp would let them.
  await chmod(lab.tmpDir, 0o755);
  const evil = join(lab.tmpDir, 'evil-run');
  await mkdir(evil);
  await chown(evil, user.uid, user.gid);
  await chmod(evil, 0o777);
  const sockPath = join(evil, 'tandem.sock');

  const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, ...fast }), {
    args: ['--control-socket', sockPath],
    waitForLog: STARTED,
  });
  await a.waitForLog(new RegExp(`control socket ${sockPath}: refusing the directory, ${evil}: owned by uid ${user.uid}, not root`), 10_000);
  assert.ok(a.proc.running, 'the daemon keeps running without its control socket');

  // The other user puts a socket of their own there and answers for the daemon.
  const forger = user.spawn([process.execPath, '-e', FORGER, sockPath]);
  await new Promise<void>((resolve, reject) => {
    forger.stdout?.on('data', (d: Buffer) => { if (/forging/.test(d.toString())) resolve(); });
    forger.once('exit', (code) => reject(new Error(`forger exited ${code}`)));
  });
  const r = await lab.exec('a', [process.execPath, a.bundle, 'ctl', '--control-socket', sockPath, 'show', 'version']);
  assert.equal(r.code, 2, `ctl exit code; stdout ${JSON.stringify(r.stdout)}`);
  assert.doesNotMatch(r.stdout, /FORGED/);
  assert.match(r.stderr, new RegExp(`refusing ${sockPath}: ${evil}: owned by uid ${user.uid}, not root`));

  // Made root's and closed (0755), the directory passes, but the socket in it is still the
  // other user's: refused too.
  await chown(evil, 0, 0);
  await chmod(evil, 0o755);
  const still = await lab.exec('a', [process.execPath, a.bundle, 'ctl', '--control-socket', sockPath, 'show', 'version']);
  assert.equal(still.code, 2);
  assert.doesNotMatch(still.stdout, /FORGED/);
  assert.match(still.stderr, new RegExp(`refusing ${sockPath}: ${sockPath}: owned by uid ${user.uid}, not root`));
  const st = await lab.stopBoard('a', 'SIGTERM');
  assert.equal(st?.code, 0, a.proc.tail());
});

test('300,000 pipelined commands never read: daemon memory stays bounded and others are still answered', { timeout: 180_000 }, async (t) => {
  const lab = await withLab(t, { name: 'control-socket-flood', realServers: 0 });
  const a = await lab.startBoard('a', pairConfig({ routerId: 'lb-a', priority: 150, ...fast }), { waitForLog: STARTED });
  await a.waitForLog(/Entering MASTER STATE/, 15_000);
  // Idle figure: after start-up has settled.
  const pid = a.proc.pid;
  const warm = await a.ctl(['show', 'status']);
  assert.equal(warm.code, 0, warm.stderr);
  let idle = Infinity;
  for (let i = 0; i < 5; i++) {
    idle = Math.min(idle, await rssKiB(pid));
    await new Promise((r) => setTimeout(r, 200)); // sampling interval, not a wait for a condition
  }

  const flood = connect(a.controlSocket);
  flood.on('error', () => undefined);
  await new Promise<void>((resolve) => flood.once('connect', () => resolve()));
  flood.pause(); // never read an answer
  t.after(() => flood.destroy());
  const line = 'show running-config\n';
  flood.write(line.repeat(300_000));

  // Sample the daemon's RSS for a while the flood is pending, asking it something meanwhile.
  let peak = 0;
  const until = Date.now() + 15_000;
  let answered = 0;
  while (Date.now() < until) {
    peak = Math.max(peak, await rssKiB(pid));
    if (answered < 3) {
      const r = await a.ctl(['show', 'version'], { timeoutMs: 10_000 });
      assert.equal(r.code, 0, `the board still answers during the flood: ${r.stderr}`);
      assert.match(r.stdout, /^tandem /);
      answered++;
    }
    await new Promise((r) => setTimeout(r, 100)); // sampling interval
  }
  t.diagnostic(`RSS idle ${Math.round(idle / 1024)} MiB, peak during the flood ${Math.round(peak / 1024)} MiB`);
  assert.ok(peak < idle + 40 * 1024, `RSS ${Math.round(peak / 1024)} MiB during the flood, idle ${Math.round(idle / 1024)} MiB`);
  assert.ok(a.proc.running);
  flood.destroy();
  const st = await lab.stopBoard('a', 'SIGTERM');
  assert.equal(st?.code, 0, a.proc.tail());
});
