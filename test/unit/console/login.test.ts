import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LoginGuard, DEFAULT_LOGIN_POLICY } from '../../../src/console/login.ts';
import { FileUserStore, hashPassword, verifyPassword } from '../../../src/console/users.ts';
import { writeFileAtomic } from '../../../src/util/atomic-file.ts';
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
