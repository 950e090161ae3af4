import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoginGuard, DEFAULT_LOGIN_POLICY, type LoginRecord, type LoginStateStore } from '../../../src/console/login.ts';
import { FileLoginStore, FileUserStore, hashPassword, verifyPassword } from '../../../src/console/users.ts';
import { writeFileAtomic, removeStaleTemps, SaveError } from '../../../src/util/atomic-file.ts';
import { FakeClock } from './helpers.ts';

test('guard: delays double from 1 s, lockout after 5 failures for 5 minutes, then a fresh count', () => {
  const clock = new FakeClock();
  const g = new LoginGuard(clock);
  assert.deepEqual([1, 2, 3, 4].map(() => g.recordFailure()), [1000, 2000, 4000, 8000].map((delayMs) => ({ locked: false, delayMs })));
  assert.deepEqual(g.recordFailure(), { locked: true, lockedForMs: DEFAULT_LOGIN_POLICY.lockoutMs });
  assert.equal(g.lockedFor(), 300_000);
  clock.tick(299_999);
  assert.equal(g.lockedFor(), 1);
  clock.tick(1);
  assert.equal(g.lockedFor(), 0);
  assert.deepEqual(g.recordFailure(), { locked: false, delayMs: 1000 });
  g.recordSuccess();
  assert.equal(g.failureCount, 0);
});

test('scrypt hashes: random salt, parameters stored, verify right and wrong', async () => {
  const a = await hashPassword('pw-123456');
  const b = await hashPassword('pw-123456');
  assert.notEqual(a.salt, b.salt);
  assert.notEqual(a.hash, b.hash);
  assert.equal(a.N, 16384);
  assert.equal(await verifyPassword('pw-123456', a), true);
  assert.equal(await verifyPassword('pw-123457', a), false);
});

test('user store: provisioned file, unknown user, damaged file is an error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-users-'));
  try {
    const store = new FileUserStore(dir);
    assert.equal(await store.hasUsers(), false);
    // Provisioned on the bench: a file written by someone else with a hash from hashPassword().
    writeFileSync(join(dir, 'console-users.json'), JSON.stringify({ version: 1, users: { tech: await hashPassword('bench pass') } }));
    assert.equal(await store.hasUsers(), true);
    assert.equal(await store.verify('tech', 'bench pass'), true);
    assert.equal(await store.verify('nobody', 'bench pass'), false);
    assert.equal(await store.verify('__proto__', 'x'), false);
    await store.setPassword('admin', 'new admin pw');
    assert.equal(await store.verify('tech', 'bench pass'), true, 'other users kept');
    assert.equal(statSync(join(dir, 'console-users.json')).mode & 0o777, 0o600);
    writeFileSync(join(dir, 'console-users.json'), '{"users": {"x": {"kdf": "md5"}}}');
    await assert.rejects(store.hasUsers(), /no valid scrypt hash/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('atomic write: keeps FILE.prev, keeps the mode, leaves no temp files', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-atomic-'));
  try {
    const f = join(dir, 'k.conf');
    await writeFileAtomic(f, 'one\n', 0o600, { keepPrevious: true });
    assert.equal(statSync(f).mode & 0o777, 0o600);
    await writeFileAtomic(f, 'two\n', 0o644, { keepPrevious: true });
    assert.equal(readFileSync(f, 'utf8'), 'two\n');
    assert.equal(readFileSync(f + '.prev', 'utf8'), 'one\n');
    assert.equal(statSync(f).mode & 0o777, 0o600, 'mode of the replaced file kept');
    await writeFileAtomic(f, 'three\n', 0o644, { keepPrevious: true });
    assert.equal(readFileSync(f + '.prev', 'utf8'), 'two\n');
    assert.deepEqual(readdirSync(dir).sort(), ['k.conf', 'k.conf.prev']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('guard with a store: every failure and the lockout are saved; a stepped-back clock never stretches the lockout', async () => {
  const clock = new FakeClock();
  const saved: LoginRecord[] = [];
  const store: LoginStateStore = { load: async () => ({ failures: 4, lockedUntil: 0 }), save: async (r) => { saved.push(r); } };
  const g = new LoginGuard(clock, { store });
  await g.ready();
  assert.equal(g.failureCount, 4, 'the count kept by the previous daemon');
  assert.deepEqual(g.recordFailure(), { locked: true, lockedForMs: 300_000 });
  await g.settle();
  assert.deepEqual(saved, [{ failures: 5, lockedUntil: clock.now() + 300_000 }]);
  // The wall clock steps back a year: the lockout counts five minutes from now, not a year.
  clock.t -= 365 * 86_400_000;
  assert.equal(g.lockedFor(), 300_000);
  clock.tick(300_000);
  assert.equal(g.lockedFor(), 0);
  await g.settle();
  assert.deepEqual(saved.at(-1), { failures: 0, lockedUntil: 0 });
});

test('guard: a record that cannot be saved is reported, the guard still counts', async () => {
  const clock = new FakeClock();
  const problems: string[] = [];
  const store: LoginStateStore = { load: async () => null, save: async () => { throw new Error('no space left on device (/var/lib/tandem)'); } };
  const g = new LoginGuard(clock, { store, problem: (m) => problems.push(m) });
  await g.ready();
  assert.deepEqual(g.recordFailure(), { locked: false, delayMs: 1000 });
  await g.settle();
  assert.deepEqual(problems, ['cannot save the login record: no space left on device (/var/lib/tandem)']);
  assert.equal(g.failureCount, 1);
});

test('login store: round trip, mode 0600, a damaged record is an error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-lockout-'));
  try {
    const s = new FileLoginStore(dir);
    assert.equal(await s.load(), null);
    await s.save({ failures: 3, lockedUntil: 1_700_000_000_000 });
    assert.deepEqual(await s.load(), { failures: 3, lockedUntil: 1_700_000_000_000 });
    assert.equal(statSync(s.path).mode & 0o777, 0o600);
    writeFileSync(s.path, '{"version":1,"failures":-1,"lockedUntil":0}');
    await assert.rejects(s.load(), /not a login record/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('atomic write: a failed write says why and where, leaves the file and no temporary', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-atomic-'));
  try {
    writeFileSync(join(dir, 'plain'), 'x');
    // The "directory" is a file: open fails (ENOTDIR) the way a full disk fails the write.
    await assert.rejects(writeFileAtomic(join(dir, 'plain', 'f'), 'y'), (e: unknown) => {
      assert.ok(e instanceof SaveError);
      assert.equal(e.message, `not a directory (${join(dir, 'plain')})`);
      return true;
    });
    // The target is a non-empty directory: rename fails after the write; the temporary goes.
    mkdirSync(join(dir, 'busy'));
    writeFileSync(join(dir, 'busy', 'x'), 'x');
    await assert.rejects(writeFileAtomic(join(dir, 'busy'), 'y'), SaveError);
    assert.deepEqual(readdirSync(dir).sort(), ['busy', 'plain']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('stale temporaries: removed by name pattern, only the given names, never a write of ours under way', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-atomic-'));
  try {
    const names = [
      '.keepalived.conf.tmp-4242-1700000000000', // another process (a crashed daemon)
      `.keepalived.conf.tmp-${process.pid}-1`, // our PID, from before this process started (a reboot)
      `.keepalived.conf.tmp-${process.pid}-${Date.now()}`, // ours, under way
      '.passwd.tmp-4242-1700000000000', // not a file we were told about
      'keepalived.conf',
    ];
    for (const n of names) writeFileSync(join(dir, n), 'x');
    const removed = await removeStaleTemps(dir, ['keepalived.conf']);
    assert.deepEqual(removed.sort(), [names[0], names[1]].sort());
    assert.deepEqual(readdirSync(dir).sort(), [names[2], names[3], names[4]].sort());
    assert.deepEqual(await removeStaleTemps(join(dir, 'missing')), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
