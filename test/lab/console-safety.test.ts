// The console's state on disk against a real daemon that crashes or runs out of space
// (src/console/README.md "commit confirmed", "Failed logins", "Saving"):
//  - `commit confirmed 1` over the control socket, SIGKILL, restart: the new daemon rolls back
//    at the deadline, the running configuration is the old one, and the log, `show status`
//    and MQTT `events` say so;
//  - a serial-console lockout survives a SIGKILL and restart;
//  - a full state directory (a tmpfs of 16 KiB): a commit confirmed is refused with the reason,
//    nothing is half-written, SIGUSR2 keeps the previous vrrp.stats whole; leftovers of
//    interrupted writes are removed at start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { appendFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { withLab, type Lab, type BoardHandle } from './lab.ts';
import { runCommand } from './command.ts';
import { ctlSession } from './control-session.ts';
import { json, mqttBlock, startLabBroker, subscribe } from './mosquitto.ts';
import { PASSWORD, firstBootLogin, serialBlock, startSocat } from './serial-console.ts';
import { Terminal } from './terminal.ts';
import { pairConfig } from './vrrp-configs.ts';
import { waitHolder } from './vrrp-helpers.ts';

const STARTED = /Entering (BACKUP|MASTER|FAULT) STATE/;
const FAST = { version: 3 as const, advertInt: 0.5 };

function priorityIn(text: string, instance: string): number | null {
  const m = new RegExp(`vrrp_instance ${instance} \\{[^}]*?\\bpriority (\\d+)`, 's').exec(text);
  return m ? Number(m[1]) : null;
}

/** Restart after a crash with the configuration file as the crashed daemon left it. */
async function restart(lab: Lab, h: BoardHandle, opts: { args?: string[] } = {}): Promise<BoardHandle> {
  return lab.startBoard('a', await readFile(h.configPath, 'utf8'), { waitForLog: STARTED, args: opts.args });
}

const COMMIT_150_TO_120 = [
  'configure',
  'set vrrp_instance VI_PUB priority 120',
  'set vrrp_instance VI_PRIV priority 120',
  'commit confirmed 1',
];

test('commit confirmed, SIGKILL, restart: the new daemon rolls back at the deadline and says so', { timeout: 180_000 }, async (t) => {
  const lab = await withLab(t, { name: 'console-confirm-crash', realServers: 0 });
  const broker = await startLabBroker(lab);
  const sub = await subscribe(broker.localUrl, 'tandem/lb-a/events');
  t.after(() => sub.close());
  const cfg = pairConfig({ routerId: 'lb-a', priority: 150, ...FAST, extra: mqttBlock(broker.url) });
  const h = await lab.startBoard('a', cfg, { waitForLog: STARTED });
  await waitHolder(lab, 'a');

  const replies = await ctlSession(h.controlSocket, COMMIT_150_TO_120);
  const c = replies.at(-1)!;
  assert.ok(c.ok, c.output);
  assert.match(c.output, /rolled back in 1 min unless confirmed/);
  const committedAt = Date.now();
  assert.equal(priorityIn(await readFile(h.configPath, 'utf8'), 'VI_PUB'), 120);
  assert.ok(existsSync(join(h.stateDir, 'commit-pending.json')), 'the pending confirmation is on disk');

  // The crash: no rollback timer survives it; the file holds the unconfirmed configuration.
  await lab.stopBoard('a', 'SIGKILL');
  const h2 = await restart(lab, h);
  const st = await h2.ctl(['show', 'status']);
  assert.match(st.stdout, /commit +UNCONFIRMED: rolls back in/);
  assert.match((await h2.ctl(['show', 'running-config'])).stdout, /priority 120/);

  const line = await h2.waitForLog(/console .*: commit-rolled-back/, 90_000);
  assert.match(line, /not confirmed in time \(the daemon restarted meanwhile\)/);
  // At the deadline, not at the restart (a little slack for the loaded machine).
  assert.ok(Date.now() - committedAt >= 59_000, `rolled back ${Date.now() - committedAt} ms after the commit`);
  await h2.waitForLog(/\(VI_PUB\) priority changed from 120 to 150/, 10_000);
  assert.equal(priorityIn(await readFile(h.configPath, 'utf8'), 'VI_PUB'), 150);
  assert.equal(priorityIn((await h2.ctl(['show', 'running-config'])).stdout, 'VI_PRIV'), 150);
  assert.match((await h2.ctl(['show', 'status'])).stdout, /commit +ROLLED BACK .* ago: not confirmed in time/);
  assert.ok(!existsSync(join(h.stateDir, 'commit-pending.json')), 'the pending confirmation is gone');
  const ev = await sub.waitMsg('the rollback event on MQTT', (m) => json(m).type === 'console-commit-rolled-back');
  assert.match(String(json(ev).detail), /not confirmed in time/);
});

test('an unconfirmed commit the daemon cannot start with is rolled back at start, and the board comes up with the previous file', { timeout: 120_000 }, async (t) => {
  const lab = await withLab(t, { name: 'console-confirm-nostart', realServers: 0 });
  const cfg = pairConfig({ routerId: 'lb-a', priority: 150, ...FAST });
  const h = await lab.startBoard('a', cfg, { waitForLog: STARTED });
  await waitHolder(lab, 'a');
  const c = (await ctlSession(h.controlSocket, COMMIT_150_TO_120)).at(-1)!;
  assert.ok(c.ok, c.output);
  await lab.stopBoard('a', 'SIGKILL');
  // While it was down, what the unconfirmed file needs went away (a USB NIC unplugged): the
  // file now names an interface this board does not have, and nobody can confirm or roll back.
  const unconfirmed = (await readFile(h.configPath, 'utf8')).replace('interface eth1', 'interface nosuch0');
  await writeFile(h.configPath, unconfirmed);
  const h2 = await lab.startBoard('a', unconfirmed, { waitForLog: STARTED, timeoutMs: 30_000 });
  await h2.waitForLog(/Start failed with an unconfirmed commit pending: rolled back to the previous configuration/, 5000);
  assert.equal(priorityIn(await readFile(h.configPath, 'utf8'), 'VI_PUB'), 150);
  assert.ok(!existsSync(join(h.stateDir, 'commit-pending.json')));
  await waitHolder(lab, 'a');
  assert.ok(h2.proc.running);
});

test('a serial-console lockout survives SIGKILL and restart', { timeout: 120_000 }, async (t) => {
  const lab = await withLab(t, { name: 'console-lockout-restart', realServers: 0 });
  const serial = await startSocat(lab, 'a');
  const term = new Terminal(serial.ttyB);
  await term.open();
  t.after(() => term.close());
  const cfg = pairConfig({ routerId: 'lb-a', priority: 150, ...FAST, extra: serialBlock(serial.ttyA) });
  const h = await lab.startBoard('a', cfg, { waitForLog: STARTED });
  await firstBootLogin(term, 'lb-a');
  await term.cmd('exit', /lb-a login: $/);
  for (let i = 1; i <= 4; i++) {
    await term.cmd('admin', /Password: $/);
    await term.cmd(`wrong-${i}`, /login incorrect\r\nlb-a login: $/, 20_000);
  }
  await term.cmd('admin', /Password: $/);
  await term.cmd('wrong-5', /console locked for 300 s\r\nlb-a login: $/);

  await lab.stopBoard('a', 'SIGKILL');
  const mark = term.out.length;
  const h2 = await restart(lab, h);
  await term.until(/lb-a login: $/, mark, 'the login prompt of the restarted daemon', 20_000);
  // Locked still: the right user is refused at the user prompt already, the password unasked.
  await term.cmd('admin', /console locked after repeated failures; try again in \d+ s\r\nlb-a login: $/);
  assert.doesNotMatch(term.out.slice(mark), new RegExp(`${PASSWORD}|Password: `));
  assert.ok(h2.proc.running);
});

/** Fills the filesystem of `dir` to the last byte: appends until the kernel says ENOSPC. */
async function fill(dir: string): Promise<string> {
  const filler = join(dir, 'filler');
  for (const size of [4096, 512, 64, 1]) {
    for (;;) {
      try {
        await appendFile(filler, Buffer.alloc(size, 0x78));
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
        break;
      }
    }
  }
  return filler;
}

test('a full state directory: commit confirmed refused with the reason, vrrp.stats kept whole, leftovers removed at start', { timeout: 120_000 }, async (t) => {
  const lab = await withLab(t, { name: 'console-full-disk', realServers: 0 });
  // A 16 KiB tmpfs of our own as the state directory; unmounted however the test ends (after
  // the board is stopped, which the lab's destroy does first if it runs first).
  const top = await mkdtemp(join(tmpdir(), 'tandem-fullstate-'));
  const state = join(top, 'state');
  await mkdir(state, { mode: 0o700 });
  const mounted = await runCommand('mount', ['-t', 'tmpfs', '-o', 'size=16k,mode=0700', 'tandem-test', state]);
  assert.equal(mounted.code, 0, mounted.stderr);
  t.after(async () => {
    await lab.stopBoard('a', 'SIGKILL');
    const u = await runCommand('umount', [state]);
    if (u.code !== 0) await runCommand('umount', ['-l', state]);
    await rm(top, { recursive: true, force: true });
  });

  // What a crash in the middle of atomic writes leaves: temporary files, beside the
  // configuration and in the state directory.
  const boardDir = join(lab.tmpDir, 'board-a');
  await mkdir(boardDir, { recursive: true });
  const leftovers = [join(boardDir, '.keepalived.conf.tmp-999999-1700000000000'), join(state, '.vrrp.stats.tmp-999999-1700000000000')];
  for (const f of leftovers) await writeFile(f, 'half a file');

  const cfg = pairConfig({ routerId: 'lb-a', priority: 150, ...FAST });
  const h = await lab.startBoard('a', cfg, { waitForLog: STARTED, args: ['--state-dir', state] });
  await waitHolder(lab, 'a');
  await h.waitForLog(/removed 2 temporary file\(s\) an interrupted write left/, 10_000);
  for (const f of leftovers) assert.ok(!existsSync(f), `${f} removed at start`);

  // Statistics while there is room: the file to keep.
  let from = h.proc.mark();
  assert.ok(h.proc.signal('SIGUSR2'));
  await h.waitForLog(/Statistics written to /, 10_000, { from });
  const stats = await readFile(join(state, 'vrrp.stats'), 'utf8');
  assert.match(stats, /Unattributed drops:/);

  const filler = await fill(state);
  const c = (await ctlSession(h.controlSocket, COMMIT_150_TO_120)).at(-1)!;
  assert.equal(c.ok, false, c.output);
  assert.equal(c.output, `% cannot save: no space left on device (${state}); nothing changed\n`);
  assert.equal(await readFile(h.configPath, 'utf8'), cfg, 'the configuration file untouched');
  assert.match((await h.ctl(['show', 'running-config'])).stdout, /priority 150/);
  assert.doesNotMatch((await h.ctl(['show', 'status'])).stdout, /UNCONFIRMED/);

  from = h.proc.mark();
  assert.ok(h.proc.signal('SIGUSR2'));
  await h.waitForLog(new RegExp(`writing statistics: no space left on device \\(${state.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}\\)`), 10_000, { from });
  assert.equal(await readFile(join(state, 'vrrp.stats'), 'utf8'), stats, 'the previous statistics, whole');
  assert.deepEqual((await readdir(state)).filter((f) => f.includes('.tmp-')), [], 'no temporary file left behind');

  // With room again the same commit goes through: the refusal was about space, nothing else.
  await rm(filler);
  const ok = (await ctlSession(h.controlSocket, [...COMMIT_150_TO_120, 'confirm'])).slice(-2);
  assert.ok(ok[0]!.ok && ok[1]!.ok, JSON.stringify(ok));
  assert.equal(priorityIn(await readFile(h.configPath, 'utf8'), 'VI_PUB'), 120);
});
