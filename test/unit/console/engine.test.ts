// The command engine with a fake host and fake clock, the real configuration parser, the real
// user store (scrypt) and real files in a temporary directory.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync, rmSync, existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as config from '../../../src/config/index.ts';
import { createConsoleEngine } from '../../../src/console/index.ts';
import type { Session } from '../../../src/console/engine.ts';
import { FileUserStore } from '../../../src/console/users.ts';
import { FakeClock, FakeHost, SAMPLE_CONF, until } from './helpers.ts';

async function setup(opts: { users?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-console-'));
  const cfg = join(dir, 'keepalived.conf');
  writeFileSync(cfg, SAMPLE_CONF);
  const host = new FakeHost(cfg, dir, SAMPLE_CONF);
  const clock = new FakeClock();
  if (opts.users !== false) await new FileUserStore(dir).setPassword('admin', 'correct horse');
  const engine = createConsoleEngine(host, config, { clock });
  return { dir, cfg, host, clock, engine, done: () => rmSync(dir, { recursive: true, force: true }) };
}

async function loggedIn(s: Session): Promise<void> {
  await s.start();
  await s.line('admin');
  const r = await s.line('correct horse');
  assert.ok(r.ok, r.output);
}

test('login: right password reaches operational mode and reports the event', async () => {
  const t = await setup();
  try {
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
  } finally {
    t.done();
  }
});

test('login: failures slow down 1 s, 2 s, 4 s, 8 s, then lock out for 5 minutes', async () => {
  const t = await setup();
  try {
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
  } finally {
    t.done();
  }
});

test('first boot: no user → set the admin password twice, then log in with it', async () => {
  const t = await setup({ users: false });
  try {
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
  } finally {
    t.done();
  }
});

test('commands: abbreviations, errors, help and ?', async () => {
  const t = await setup();
  try {
    const s = t.engine.session('serial');
    await loggedIn(s);
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
    assert.match((await s.line('show mqtt')).output, /connected/);
    assert.match((await s.line('show log 2')).output, /^log line 1\nlog line 2\n$/);
    assert.match((await s.line('show log 0')).output, /LINES must be/);
    assert.match((await s.line('show status')).output, /VI_PUB MASTER prio 100/);
    assert.equal((await s.line('show running-config')).output, SAMPLE_CONF);
    assert.match((await s.line('set x y')).output, /unknown command 'set'/); // set only in configure mode
    assert.match((await s.line('show "unterminated')).output, /unterminated quote/);
  } finally {
    t.done();
  }
});

test('tab completion comes from the same table and the configuration', async () => {
  const t = await setup();
  try {
    const s = t.engine.session('serial');
    await loggedIn(s);
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
  } finally {
    t.done();
  }
});

test('real-server drain/enable and maintenance go to the host with events', async () => {
  const t = await setup();
  try {
    const s = t.engine.session('serial');
    await loggedIn(s);
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
  } finally {
    t.done();
  }
});

test('configure: set, show diff, commit saves atomically with .prev and applies', async () => {
  const t = await setup();
  try {
    const s = t.engine.session('serial');
    await loggedIn(s);
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
  } finally {
    t.done();
  }
});

test('configure: an invalid candidate is refused with candidate:LINE:COL errors and kept', async () => {
  const t = await setup();
  try {
    const s = t.engine.session('serial');
    await loggedIn(s);
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
  } finally {
    t.done();
  }
});

test('configure: the daemon refusing the new configuration puts the old file back', async () => {
  const t = await setup();
  try {
    const s = t.engine.session('serial');
    await loggedIn(s);
    await s.line('configure');
    await s.line('set vrrp_instance VI_PUB interface eth9');
    t.host.failApply = ['interface eth9 does not exist'];
    const r = await s.line('commit');
    assert.equal(r.ok, false);
    assert.match(r.output, /apply failed.*\n.*eth9 does not exist\n.*previous file restored/);
    assert.equal(readFileSync(t.cfg, 'utf8'), SAMPLE_CONF);
  } finally {
    t.done();
  }
});

test('commit confirmed: rolled back when not confirmed in time', async () => {
  const t = await setup();
  try {
    const s = t.engine.session('serial');
    await loggedIn(s);
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
  } finally {
    t.done();
  }
});

test('commit confirmed: `confirm` or a plain `commit` keeps it; `rollback` undoes it now', async () => {
  const t = await setup();
  try {
    const s = t.engine.session('serial');
    await loggedIn(s);
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
  } finally {
    t.done();
  }
});

test('rollback discards candidate changes; delete edits; candidate kept across exit', async () => {
  const t = await setup();
  try {
    const s = t.engine.session('serial');
    await loggedIn(s);
    await s.line('configure');
    assert.ok((await s.line('delete virtual_server 203.0.113.1 80 real_server 192.0.2.12 8080')).ok);
    assert.match((await s.line('show diff')).output, /-  real_server 192\.0\.2\.12 8080 \{/);
    assert.match((await s.line('delete vrrp_instance VI_PUB nopreempt')).output, /% nothing to delete/);
    assert.match((await s.line('exit')).output, /uncommitted changes kept/);
    assert.match((await s.line('configure')).output, /kept/);
    assert.match((await s.line('rollback')).output, /candidate changes discarded/);
    assert.equal((await s.line('show diff')).output, 'no changes\n');
  } finally {
    t.done();
  }
});

test('a trusted (control socket) session needs no login', async () => {
  const t = await setup();
  try {
    const s = t.engine.trustedSession('ctl');
    assert.equal(s.prompt(), 'lb-a> ');
    assert.match((await s.line('show version')).output, /tandem 9\.9\.9/);
  } finally {
    t.done();
  }
});

test('password: change from the console', async () => {
  const t = await setup();
  try {
    const s = t.engine.session('serial');
    await loggedIn(s);
    assert.equal((await s.line('password')).prompt, 'Current password: ');
    assert.equal((await s.line('correct horse')).secret, true);
    await s.line('battery staple');
    assert.match((await s.line('battery staple')).output, /password changed/);
    assert.equal(await new FileUserStore(t.dir).verify('admin', 'battery staple'), true);
    assert.equal(await new FileUserStore(t.dir).verify('admin', 'correct horse'), false);
  } finally {
    t.done();
  }
});

test('a damaged users file never reopens first-boot setup', async () => {
  const t = await setup({ users: false });
  try {
    writeFileSync(join(t.dir, 'console-users.json'), '{garbage');
    const s = t.engine.session('serial');
    const r = await s.start();
    assert.match(r.output, /console users unreadable/);
    assert.equal(r.prompt, 'lb-a login: ');
    assert.ok(existsSync(join(t.dir, 'console-users.json')));
  } finally {
    t.done();
  }
});
