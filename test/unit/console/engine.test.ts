// The command engine with a fake host and fake clock, the real configuration parser, the real
// user store (scrypt) and real files in a temporary directory.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as config from '../../../src/config/index.ts';
import { createConsoleEngine } from '../../../src/console/index.ts';
import type { ConsoleEngine, Session } from '../../../src/console/engine.ts';
import { FileUserStore, type UserStore } from '../../../src/console/users.ts';
import type { PendingStore } from '../../../src/console/pending-commit.ts';
import { SaveError } from '../../../src/util/atomic-file.ts';
import { FakeClock, FakeHost, SAMPLE_CONF, until } from './helpers.ts';

/** The console's records in the state directory (pending-commit.ts, users.ts). */
const PENDING_FILE = 'commit-pending.json';
const LOCKOUT_FILE = 'console-lockout.json';
import { DEFAULT_LOGIN_POLICY } from '../../../src/console/login.ts';

interface Fixture {
  dir: string;
  cfg: string;
  host: FakeHost;
  clock: FakeClock;
  engine: ConsoleEngine;
  /** A serial session: logged in as admin with `login`, else not started. */
  s: Session;
  /**
   * The daemon died (SIGKILL: nothing cleaned up, its timers gone) and a new one starts on the
   * same files, running what the file holds, at the same wall-clock time.
   */
  restart(): Promise<Fixture>;
}

/**
 * The engine on a temporary directory (state and configuration file), removed after the test.
 * `users: false` leaves the users file out (first boot); `login: true` logs `s` in as admin;
 * `userStore` and `pending` replace the file stores.
 */
async function setup(tc: TestContext, opts: { users?: boolean; login?: boolean; userStore?: UserStore; pending?: PendingStore } = {}): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-console-'));
  tc.after(() => rmSync(dir, { recursive: true, force: true }));
  const cfg = join(dir, 'keepalived.conf');
  writeFileSync(cfg, SAMPLE_CONF);
  if (opts.users !== false) await new FileUserStore(dir).setPassword('admin', 'correct horse');
  const make = async (running: string, now: number | null): Promise<Fixture> => {
    const host = new FakeHost(cfg, dir, running);
    const clock = new FakeClock();
    if (now !== null) clock.t = now;
    const engine = createConsoleEngine(host, config, { clock, users: opts.userStore, pending: opts.pending });
    await engine.ready;
    const s = engine.session('serial');
    if (opts.login) await loggedIn(s);
    const f: Fixture = { dir, cfg, host, clock, engine, s, restart: () => make(readFileSync(cfg, 'utf8'), f.clock.t) };
    return f;
  };
  return make(SAMPLE_CONF, null);
}

async function loggedIn(s: Session): Promise<void> {
  await s.start();
  await s.line('admin');
  const r = await s.line('correct horse');
  assert.ok(r.ok, r.output);
}

test('login: right password reaches operational mode and reports the event', async (tc) => {
  const t = await setup(tc);
  const s = t.engine.session('serial');
  const r0 = await s.start();
  assert.match(r0.output, /tandem 9\.9\.9 on lb-a/);
  assert.equal(r0.prompt, 'lb-a login: ');
  const r1 = await s.line('admin');
  assert.equal(r1.prompt, 'Password: ');
  assert.equal(r1.secret, true);
  const r2 = await s.line('correct horse');
  assert.equal(r2.prompt, 'lb-a> ');
  assert.equal(r2.secret, false);
  assert.deepEqual(t.host.events.map((e) => e.type), ['login']);
});

test('login: failures slow down 1 s, 2 s, 4 s, 8 s, then lock out for 5 minutes', async (tc) => {
  const t = await setup(tc);
  const s = t.engine.session('serial');
  await s.start();
  for (const delay of [1000, 2000, 4000, 8000]) {
    await s.line('admin');
    let done = false;
    const p = s.line('wrong').then((r) => {
      done = true;
      return r;
    });
    await until(() => t.clock.pending > 0, 'back-off timer armed');
    t.clock.tick(delay - 1);
    await new Promise((r) => setImmediate(r));
    assert.equal(done, false, `reply held for ${delay} ms`);
    t.clock.tick(1);
    const r = await p;
    assert.equal(r.ok, false);
    assert.match(r.output, /login incorrect/);
  }
  await s.line('admin');
  const r5 = await s.line('wrong');
  assert.match(r5.output, /locked for 300 s/);
  // Locked: even the right password is refused, without being checked.
  const r6 = await s.line('admin');
  assert.match(r6.output, /console locked.*try again in 300 s/);
  // A new session (reconnect) is locked too.
  const s2 = t.engine.session('serial');
  await s2.start();
  assert.match((await s2.line('admin')).output, /locked/);
  t.clock.tick(300_000);
  await s2.line('admin');
  assert.equal((await s2.line('correct horse')).prompt, 'lb-a> ');
  const types = t.host.events.map((e) => e.type);
  assert.deepEqual(types, ['login-failed', 'login-failed', 'login-failed', 'login-failed', 'login-failed', 'lockout', 'login']);
});

test('first boot: no user → set the admin password twice, then log in with it', async (tc) => {
  const t = await setup(tc, { users: false });
  const s = t.engine.session('serial');
  const r0 = await s.start();
  assert.match(r0.output, /No console user/);
  assert.equal(r0.secret, true);
  assert.match((await s.line('short')).output, /too short/);
  await s.line('first password');
  assert.match((await s.line('other password')).output, /differ/);
  await s.line('first password');
  const r = await s.line('first password');
  assert.match(r.output, /saved/);
  assert.equal(r.prompt, 'lb-a login: ');
  const doc = JSON.parse(readFileSync(join(t.dir, 'console-users.json'), 'utf8'));
  assert.equal(doc.users.admin.kdf, 'scrypt');
  assert.ok(doc.users.admin.N >= 16384);
  assert.doesNotMatch(JSON.stringify(doc), /first password/);
  assert.equal(statSync(join(t.dir, 'console-users.json')).mode & 0o777, 0o600);
  await s.line('admin');
  assert.equal((await s.line('first password')).prompt, 'lb-a> ');
});

test('commands: abbreviations, errors, help and ?', async (tc) => {
  const t = await setup(tc, { login: true });
  const s = t.s;
  assert.match((await s.line('sh ver')).output, /tandem 9\.9\.9 \(abc123\)/);
  const bad = await s.line('shw');
  assert.equal(bad.ok, false);
  assert.equal(bad.output, "% unknown command 'shw'\n");
  assert.equal((await s.line('show')).output, '% incomplete command\n');
  assert.match((await s.line('show v')).output, /^% ambiguous command 'show v': (virtual-servers|vrrp|version)/);
  assert.match((await s.line('show vrrp extra')).output, /% unknown command 'show vrrp extra'|too many/);
  assert.match((await s.line('show ?')).output, /vrrp +VRRP instances/);
  assert.match((await s.line('show ve?')).output, /^ {2}version/);
  assert.match((await s.line('help')).output, /real-server VS RS drain\|enable/);
  assert.match((await s.line('show vrrp')).output, /VI_PUB +MASTER +51 +eth0/);
  assert.match((await s.line('show real-servers')).output, /192\.0\.2\.12:8080 +DOWN/);
  assert.match((await s.line('show interfaces')).output, /eth0 +up/);
  assert.match((await s.line('show health')).output, /conntrack +12/);
  // The console's own bounded queues say what they refused and dropped.
  assert.match((await s.line('show health')).output, /control +1 open, 3 refused[\s\S]*serial +dropped 10 B in, 2 lines, 4096 B out/);
  assert.match((await s.line('show mqtt')).output, /connected/);
  assert.match((await s.line('show log 2')).output, /^log line 1\nlog line 2\n$/);
  assert.match((await s.line('show log 0')).output, /LINES must be/);
  assert.match((await s.line('show status')).output, /VI_PUB MASTER prio 100/);
  assert.equal((await s.line('show running-config')).output, SAMPLE_CONF);
  assert.match((await s.line('set x y')).output, /unknown command 'set'/); // set only in configure mode
  assert.match((await s.line('show "unterminated')).output, /unterminated quote/);
});

test('tab completion comes from the same table and the configuration', async (tc) => {
  const t = await setup(tc, { login: true });
  const s = t.s;
  assert.deepEqual(s.complete('sh'), { line: 'show ', candidates: ['show'] });
  const v = s.complete('show v');
  assert.equal(v.line, 'show v');
  assert.deepEqual(v.candidates.sort(), ['version', 'virtual-servers', 'vrrp']);
  assert.equal(s.complete('show vr').line, 'show vrrp ');
  assert.equal(s.complete('real-server 2').line, 'real-server 203.0.113.1:80 ');
  assert.deepEqual(s.complete('real-server 203.0.113.1:80 ').candidates, ['192.0.2.11:8080', '192.0.2.12:8080']);
  assert.equal(s.complete('real-server 203.0.113.1:80 192.0.2.11:8080 d').line, 'real-server 203.0.113.1:80 192.0.2.11:8080 drain ');
  await s.line('configure');
  assert.equal(s.complete('set vrrp_instance VI_PUB pri').line, 'set vrrp_instance VI_PUB priority ');
  assert.equal(s.complete('de').line, 'delete ');
});

test('real-server drain/enable and maintenance go to the host with events', async (tc) => {
  const t = await setup(tc, { login: true });
  const s = t.s;
  assert.ok((await s.line('real-server 203.0.113.1:80 192.0.2.11:8080 drain')).ok);
  assert.equal(t.host.vs[0]!.realServers[0]!.drained, true);
  assert.ok((await s.line('real-server 203.0.113.1 80 192.0.2.11 8080 en')).ok);
  assert.equal(t.host.vs[0]!.realServers[0]!.drained, false);
  assert.match((await s.line('real-server 203.0.113.9:80 192.0.2.11:8080 drain')).output, /% no virtual server '203.0.113.9 80'/);
  assert.match((await s.line('real-server 203.0.113.1:80 192.0.2.11:8080 stop')).output, /expected drain\|enable/);
  assert.ok((await s.line('maintenance on')).ok);
  assert.equal(t.host.maint, true);
  assert.deepEqual(t.host.events.filter((e) => e.type !== 'login').map((e) => `${e.type} ${e.detail}`),
    ['drain 203.0.113.1 80 192.0.2.11 8080', 'enable 203.0.113.1 80 192.0.2.11 8080', 'maintenance on']);
});

test('configure: set, show diff, commit saves atomically with .prev and applies', async (tc) => {
  const t = await setup(tc, { login: true });
  const s = t.s;
  assert.equal((await s.line('configure')).prompt, 'lb-a# ');
  assert.equal((await s.line('show diff')).output, 'no changes\n');
  assert.ok((await s.line('set vrrp_instance VI_PUB priority 150')).ok);
  assert.ok((await s.line('set virtual_server 203.0.113.1 80 real_server 192.0.2.11 8080 weight 3')).ok);
  const d = (await s.line('show diff')).output;
  assert.match(d, /^--- running\n\+\+\+ candidate\n@@ /);
  assert.match(d, /\n-  priority 100\n\+  priority 150\n/);
  assert.match(d, /\n-    weight 1\n\+    weight 3\n/);
  assert.equal(t.host.applied.length, 0, 'nothing applied before commit');
  const c = await s.line('commit');
  assert.ok(c.ok, c.output);
  assert.match(c.output, /commit complete/);
  assert.equal(t.host.applied.length, 1);
  const saved = readFileSync(t.cfg, 'utf8');
  assert.match(saved, /priority 150/);
  assert.equal(saved, t.host.applied[0]);
  assert.equal(readFileSync(t.cfg + '.prev', 'utf8'), SAMPLE_CONF);
  assert.equal((await s.line('show diff')).output, 'no changes\n');
  assert.match((await s.line('commit')).output, /no changes to commit/);
  assert.equal((await s.line('exit')).prompt, 'lb-a> ');
  assert.equal((await s.line('exit')).closed, true);
});

test('configure: an invalid candidate is refused with candidate:LINE:COL errors and kept', async (tc) => {
  const t = await setup(tc, { login: true });
  const s = t.s;
  await s.line('configure');
  await s.line('set vrrp_instance VI_PUB priority 999');
  const r = await s.line('commit');
  assert.equal(r.ok, false);
  assert.match(r.output, /commit refused/);
  assert.match(r.output, /candidate:\d+:\d+: error: .*priority/i);
  assert.equal(readFileSync(t.cfg, 'utf8'), SAMPLE_CONF, 'file untouched');
  assert.equal(t.host.applied.length, 0);
  assert.match((await s.line('show diff')).output, /\+  priority 999/);
  assert.match((await s.line('show candidate')).output, /^ 1  global_defs \{/);
  await s.line('set vrrp_instance VI_PUB priority 120');
  assert.ok((await s.line('commit')).ok);
  assert.match(readFileSync(t.cfg, 'utf8'), /priority 120/);
});

test('configure: the daemon refusing the new configuration puts the old file back', async (tc) => {
  const t = await setup(tc, { login: true });
  const s = t.s;
  await s.line('configure');
  await s.line('set vrrp_instance VI_PUB interface eth9');
  t.host.failApply = ['interface eth9 does not exist'];
  const r = await s.line('commit');
  assert.equal(r.ok, false);
  assert.match(r.output, /apply failed.*\n.*eth9 does not exist\n.*previous file restored/);
  assert.equal(readFileSync(t.cfg, 'utf8'), SAMPLE_CONF);
});

test('commit confirmed: rolled back when not confirmed in time', async (tc) => {
  const t = await setup(tc, { login: true });
  const s = t.s;
  await s.line('configure');
  await s.line('set vrrp_instance VI_PUB priority 150');
  const r = await s.line('commit confirmed 1');
  assert.ok(r.ok, r.output);
  assert.match(r.output, /rolled back in 1 min unless confirmed/);
  assert.match(t.host.running, /priority 150/);
  assert.match((await s.line('show status')).output, /UNCONFIRMED/);
  // The session ending does not cancel the deadline.
  s.logout('hang-up');
  t.clock.tick(60_000);
  await until(() => t.host.applied.length === 2, 'rollback applied');
  assert.equal(t.host.running, SAMPLE_CONF);
  assert.equal(readFileSync(t.cfg, 'utf8'), SAMPLE_CONF);
  assert.ok(t.host.events.some((e) => e.type === 'commit-rolled-back' && e.detail === 'not confirmed in time'));
});

test('commit confirmed: `confirm` or a plain `commit` keeps it; `rollback` undoes it now', async (tc) => {
  const t = await setup(tc, { login: true });
  const s = t.s;
  await s.line('configure');
  await s.line('set vrrp_instance VI_PUB priority 150');
  await s.line('commit confirmed 5');
  assert.match((await s.line('confirm')).output, /commit confirmed/);
  t.clock.tick(10 * 60_000);
  assert.match(t.host.running, /priority 150/);
  assert.match((await s.line('confirm')).output, /^% no commit is waiting/);

  await s.line('set vrrp_instance VI_PUB priority 160');
  await s.line('commit confirmed 5');
  assert.match((await s.line('commit')).output, /confirmed/);
  t.clock.tick(10 * 60_000);
  assert.match(t.host.running, /priority 160/);

  await s.line('set vrrp_instance VI_PUB priority 170');
  await s.line('commit confirmed 5');
  const before170 = readFileSync(t.cfg + '.prev', 'utf8');
  assert.match(before170, /priority 160/);
  const rb = await s.line('rollback');
  assert.ok(rb.ok, rb.output);
  assert.match(rb.output, /previous configuration restored/);
  assert.match(t.host.running, /priority 160/);
  assert.equal(t.clock.pending, 0, 'deadline timer cleared');
});

test('rollback discards candidate changes; delete edits; candidate kept across exit', async (tc) => {
  const t = await setup(tc, { login: true });
  const s = t.s;
  await s.line('configure');
  assert.ok((await s.line('delete virtual_server 203.0.113.1 80 real_server 192.0.2.12 8080')).ok);
  assert.match((await s.line('show diff')).output, /-  real_server 192\.0\.2\.12 8080 \{/);
  assert.match((await s.line('delete vrrp_instance VI_PUB nopreempt')).output, /% nothing to delete/);
  assert.match((await s.line('exit')).output, /uncommitted changes kept/);
  assert.match((await s.line('configure')).output, /kept/);
  assert.match((await s.line('rollback')).output, /candidate changes discarded/);
  assert.equal((await s.line('show diff')).output, 'no changes\n');
});

test('a trusted (control socket) session needs no login', async (tc) => {
  const t = await setup(tc);
  const s = t.engine.trustedSession('ctl');
  assert.equal(s.prompt(), 'lb-a> ');
  assert.match((await s.line('show version')).output, /tandem 9\.9\.9/);
});

test('password: change from the console', async (tc) => {
  const t = await setup(tc, { login: true });
  const s = t.s;
  assert.equal((await s.line('password')).prompt, 'Current password: ');
  assert.equal((await s.line('correct horse')).secret, true);
  await s.line('battery staple');
  assert.match((await s.line('battery staple')).output, /password changed/);
  assert.equal(await new FileUserStore(t.dir).verify('admin', 'battery staple'), true);
  assert.equal(await new FileUserStore(t.dir).verify('admin', 'correct horse'), false);
});

test('a damaged users file never reopens first-boot setup', async (tc) => {
  const t = await setup(tc, { users: false });
  writeFileSync(join(t.dir, 'console-users.json'), '{garbage');
  const s = t.engine.session('serial');
  const r = await s.start();
  assert.match(r.output, /console users unreadable/);
  assert.equal(r.prompt, 'lb-a login: ');
  assert.ok(existsSync(join(t.dir, 'console-users.json')));
});

/** Configure mode, priority 150, `commit confirmed MINUTES`: the commit is saved and applied. */
async function commitConfirmed(s: Session, minutes: number): Promise<void> {
  await s.line('configure');
  await s.line('set vrrp_instance VI_PUB priority 150');
  const r = await s.line(`commit confirmed ${minutes}`);
  assert.ok(r.ok, r.output);
}

/** One wrong password, the back-off delay ticked away; returns the reply. */
async function failLogin(t: Fixture, s: Session): Promise<string> {
  await s.line('admin');
  let done = false;
  const p = s.line('wrong').then((r) => {
    done = true;
    return r;
  });
  await until(() => done || t.clock.pending > 0, 'reply or back-off timer');
  if (!done) t.clock.tick(DEFAULT_LOGIN_POLICY.maxDelayMs);
  return (await p).output;
}

test('commit confirmed survives a crash: the restarted daemon rolls back at the deadline and says so', async (tc) => {
  const t = await setup(tc, { login: true });
  await commitConfirmed(t.s, 1);
  t.clock.tick(20_000);
  assert.ok(existsSync(join(t.dir, PENDING_FILE)), 'the pending confirmation is on disk');
  // SIGKILL: the first daemon's timer dies with it. The new one runs what the file holds.
  const t2 = await t.restart();
  assert.match(t2.host.running, /priority 150/);
  assert.match((await t2.s.line('show status')).output, /commit +UNCONFIRMED: rolls back in 40s/);
  t2.clock.tick(39_999);
  assert.equal(t2.host.applied.length, 0, 'not before the deadline');
  t2.clock.tick(1);
  await until(() => t2.host.events.some((e) => e.type === 'commit-rolled-back'), 'rollback');
  assert.equal(t2.host.running, SAMPLE_CONF);
  assert.equal(readFileSync(t.cfg, 'utf8'), SAMPLE_CONF);
  const ev = t2.host.events.find((e) => e.type === 'commit-rolled-back')!;
  assert.match(ev.detail ?? '', /not confirmed in time \(the daemon restarted meanwhile\)/);
  await until(() => !existsSync(join(t.dir, PENDING_FILE)), 'pending record removed');
  // The console says so: in `show status`, and in the banner of the next login.
  assert.match((await t2.s.line('show status')).output, /commit +ROLLED BACK 0s ago: not confirmed in time/);
  const s3 = t2.engine.session('serial');
  await s3.start();
  await s3.line('admin');
  assert.match((await s3.line('correct horse')).output, /NOTE: commit ROLLED BACK .*not confirmed in time/);
  // And a third start has nothing left to do.
  const t3 = await t2.restart();
  assert.equal(t3.host.applied.length, 0);
  assert.doesNotMatch((await t3.s.line('show status')).output, /UNCONFIRMED|ROLLED BACK/);
});

test('commit confirmed: a deadline that passed while the daemon was down rolls back at once on start', async (tc) => {
  const t = await setup(tc, { login: true });
  await commitConfirmed(t.s, 1);
  t.clock.t += 5 * 60_000; // down for five minutes: no timer fires
  const t2 = await t.restart();
  assert.deepEqual(t2.host.applied, [SAMPLE_CONF], 'rolled back before the console is ready');
  assert.equal(readFileSync(t.cfg, 'utf8'), SAMPLE_CONF);
  const ev = t2.host.events.find((e) => e.type === 'commit-rolled-back');
  assert.match(ev?.detail ?? '', /deadline passed while the daemon was down/);
});

test('commit confirmed: `confirm` after a restart still confirms, and the next start leaves it', async (tc) => {
  const t = await setup(tc, { login: true });
  await commitConfirmed(t.s, 5);
  const t2 = await t.restart();
  assert.match((await t2.s.line('confirm')).output, /commit confirmed/);
  assert.ok(!existsSync(join(t.dir, PENDING_FILE)));
  t2.clock.tick(10 * 60_000);
  assert.equal(t2.host.applied.length, 0);
  const t3 = await t2.restart();
  assert.equal(t3.host.applied.length, 0);
  assert.match(t3.host.running, /priority 150/);
});

test('commit confirmed: a wall clock that stepped back never stretches the window', async (tc) => {
  const t = await setup(tc, { login: true });
  await commitConfirmed(t.s, 1);
  t.clock.t = 0; // a board without a real-time clock boots in 1970
  const t2 = await t.restart();
  t2.clock.tick(60_000);
  await until(() => t2.host.applied.length === 1, 'rolled back after one minute');
  assert.equal(t2.host.running, SAMPLE_CONF);
});

test('commit confirmed with a full state directory is refused with the reason, nothing changed', async (tc) => {
  const full: PendingStore = {
    path: '/var/lib/tandem/commit-pending.json',
    load: async () => null,
    save: async () => { throw new SaveError('/var/lib/tandem/commit-pending.json', Object.assign(new Error('ENOSPC: write'), { code: 'ENOSPC' })); },
    clear: async () => undefined,
  };
  const t = await setup(tc, { login: true, pending: full });
  await t.s.line('configure');
  await t.s.line('set vrrp_instance VI_PUB priority 150');
  const r = await t.s.line('commit confirmed 1');
  assert.equal(r.ok, false);
  assert.equal(r.output, '% cannot save: no space left on device (/var/lib/tandem); nothing changed\n');
  assert.equal(readFileSync(t.cfg, 'utf8'), SAMPLE_CONF);
  assert.equal(t.host.applied.length, 0);
  assert.doesNotMatch((await t.s.line('show status')).output, /UNCONFIRMED/);
});

test('a password that cannot be saved says why (first boot and change), never "internal error"', async (tc) => {
  let hasUsers = false;
  const full: UserStore = {
    hasUsers: async () => hasUsers,
    verify: async (u, p) => u === 'admin' && p === 'correct horse',
    setPassword: async () => { throw new SaveError('/var/lib/tandem/console-users.json', Object.assign(new Error('x'), { code: 'ENOSPC' })); },
  };
  const t = await setup(tc, { users: false, userStore: full });
  await t.s.start();
  await t.s.line('first password');
  const r = await t.s.line('first password');
  assert.equal(r.ok, false);
  assert.match(r.output, /^% cannot save: no space left on device \(\/var\/lib\/tandem\); no password set/);
  assert.equal(r.prompt, 'New password: ');
  hasUsers = true;
  const s = t.engine.session('serial');
  await loggedIn(s);
  await s.line('password');
  await s.line('correct horse');
  await s.line('battery staple');
  const c = await s.line('battery staple');
  assert.match(c.output, /^% cannot save: no space left on device \(\/var\/lib\/tandem\); password unchanged/);
});

test('login: the failure count and the lockout survive a restart', async (tc) => {
  const t = await setup(tc);
  await t.s.start();
  for (let i = 0; i < 2; i++) assert.match(await failLogin(t, t.s), /login incorrect/);
  // Restarted after two failures: three more lock the console, not five.
  const t2 = await t.restart();
  await t2.s.start();
  for (let i = 0; i < 2; i++) assert.match(await failLogin(t2, t2.s), /login incorrect$/m);
  assert.match(await failLogin(t2, t2.s), /locked for 300 s/);
  t2.clock.tick(60_000);
  // Restarted while locked: still locked, for what is left of the five minutes.
  const t3 = await t2.restart();
  await t3.s.start();
  assert.match((await t3.s.line('admin')).output, /console locked.*try again in 240 s/);
  t3.clock.tick(240_000);
  await t3.s.line('admin');
  assert.equal((await t3.s.line('correct horse')).prompt, 'lb-a> ');
  // A success clears the record: the next start counts from zero.
  await t3.engine.deps.guard.settle();
  const t4 = await t3.restart();
  assert.equal(t4.engine.deps.guard.failureCount, 0);
});

test('login: an unreadable lockout record locks the console (fails closed) and says so', async (tc) => {
  const t = await setup(tc);
  writeFileSync(join(t.dir, LOCKOUT_FILE), '{"version": 1, "failures": "many"}');
  const t2 = await t.restart();
  await t2.s.start();
  assert.match((await t2.s.line('admin')).output, /console locked/);
  assert.ok(t2.host.events.some((e) => e.type === 'state-file' && /login record unreadable/.test(e.detail ?? '')));
});

test('at start, temporary files of interrupted writes are removed beside the config and in the state directory', async (tc) => {
  const t = await setup(tc);
  const leftovers = ['.keepalived.conf.tmp-999999-1700000000000', '.console-users.json.tmp-1-2', '.bdseq.tmp-77-3'];
  for (const f of leftovers) writeFileSync(join(t.dir, f), 'half');
  writeFileSync(join(t.dir, '.unrelated.tmp'), 'not ours');
  const t2 = await t.restart();
  for (const f of leftovers) assert.ok(!existsSync(join(t.dir, f)), `${f} removed`);
  assert.ok(existsSync(join(t.dir, '.unrelated.tmp')));
  assert.ok(t2.host.events.some((e) => e.type === 'state-file' && /removed 3 temporary file/.test(e.detail ?? '')));
});

test('IPv6 virtual servers: shown as [ADDRESS]:PORT, completed and taken in that form or as two words', async (tc) => {
  const t = await setup(tc, { login: true });
  const rs6 = (a: string) => ({ name: `${a} 8080`, address: a, port: 8080, up: true, weight: 1, drained: false, lastCheck: null, failures: 0, latencyMs: 1, reason: 'connected', connections: null });
  t.host.vs.push({
    name: '2001:db8:0:1::1 80', address: '2001:db8:0:1::1', port: 80, protocol: 'TCP', scheduler: 'mh', forwarder: 'nftables', method: 'NAT', quorumUp: true,
    realServers: [rs6('2001:db8:0:2::11'), rs6('2001:db8:0:2::12')],
  });
  const s = t.s;
  const shown = (await s.line('show virtual-servers')).output;
  assert.match(shown, /^\[2001:db8:0:1::1\]:80 +TCP +mh +NAT /m);
  assert.match(shown, /^ +-> \[2001:db8:0:2::11\]:8080 +up /m);
  assert.match((await s.line('show real-servers')).output, /\[2001:db8:0:1::1\]:80 +\[2001:db8:0:2::12\]:8080 +up/);
  assert.equal(s.complete('real-server [2001:db8:0:1').line, 'real-server [2001:db8:0:1::1]:80 ');
  assert.ok((await s.line('real-server [2001:db8:0:1::1]:80 [2001:db8:0:2::12]:8080 drain')).ok);
  assert.equal(t.host.vs[1]!.realServers[1]!.drained, true);
  assert.ok((await s.line('real-server 2001:db8:0:1::1 80 2001:db8:0:2::12 8080 enable')).ok);
  assert.equal(t.host.vs[1]!.realServers[1]!.drained, false);
});
