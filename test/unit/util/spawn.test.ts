// The one process runner: both output modes, caps, timeouts and aborts killing the whole
// process group, spawn errors, credentials. Runs /bin/sh and coreutils (no root needed, except
// the uid/gid case, skipped otherwise).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lookupGid, lookupUid, run, runBounded, runProcess } from '../../../src/util/spawn.ts';

const sh = (script: string): string[] => ['/bin/sh', '-c', script];

/** Whether a process with this PID exists. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('capture: stdout and stderr apart, exit code, stdin input', async () => {
  const r = await run(sh('cat; echo err >&2; exit 3'), { input: 'hello\n' });
  assert.deepEqual({ code: r.code, stdout: r.stdout, stderr: r.stderr, timedOut: r.timedOut }, { code: 3, stdout: 'hello\n', stderr: 'err\n', timedOut: false });
});

test('capture: each stream capped, everything counted, output complete at resolve', async () => {
  const r = await runProcess(sh('head -c 3000000 /dev/zero; printf abc >&2'), { output: 'capture', timeoutMs: 10_000, maxOutput: 1000 });
  assert.equal(r.code, 0);
  assert.equal(r.stdout.length, 1000);
  assert.equal(r.stderr, 'abc');
  assert.equal(r.outputBytes, 3_000_003);
});

test('discard: first bytes of both streams kept, resolves at exit although a grandchild holds the pipes', async () => {
  const t0 = Date.now();
  const r = await runBounded(sh('echo one; echo two >&2; sleep 30 & exit 0'), { timeoutMs: 10_000, keepOutputBytes: 64 });
  assert.equal(r.code, 0);
  assert.match(r.outputHead, /one\n/);
  assert.match(r.outputHead, /two\n/);
  assert.ok(Date.now() - t0 < 5_000, 'did not wait for the background sleep');
  const big = await runBounded(sh('head -c 100000 /dev/zero'), { timeoutMs: 10_000, keepOutputBytes: 10 });
  assert.equal(big.outputHead.length, 10);
  assert.equal(big.outputBytes, 100_000);
});

for (const output of ['capture', 'discard'] as const) {
  test(`${output}: a timeout kills the process group, grandchildren included`, async () => {
    const r = await runProcess(sh('sleep 30 & echo $!; sleep 30'), { output, timeoutMs: 300 });
    assert.equal(r.timedOut, true);
    assert.equal(r.signal, 'SIGKILL');
    const grandchild = Number(/\d+/.exec(r.stdout)?.[0]);
    assert.ok(grandchild > 0, r.stdout);
    // The kernel reaps it soon after the group's SIGKILL; wait for that, bounded.
    for (let i = 0; i < 100 && alive(grandchild); i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(alive(grandchild), false, 'grandchild killed');
  });
}

test('an abort kills the program; an already aborted signal does not leave it running', async () => {
  const ac = new AbortController();
  const p = runBounded(sh('sleep 30'), { timeoutMs: 10_000, signal: ac.signal });
  setTimeout(() => ac.abort(), 100);
  const r = await p;
  assert.deepEqual({ aborted: r.aborted, timedOut: r.timedOut, signal: r.signal }, { aborted: true, timedOut: false, signal: 'SIGKILL' });
  const pre = await runBounded(sh('sleep 30'), { timeoutMs: 10_000, signal: AbortSignal.abort() });
  assert.equal(pre.aborted, true);
});

test('a program that cannot start is a result, not a throw; an empty command is refused', async () => {
  const b = await runBounded(['/nonexistent/tandem-prog'], { timeoutMs: 1000 });
  assert.deepEqual({ code: b.code, error: b.error }, { code: null, error: 'ENOENT' });
  const c = await run(['/nonexistent/tandem-prog']);
  assert.equal(c.code, null);
  assert.match(c.stderr, /ENOENT/);
  assert.equal((await runBounded([], { timeoutMs: 1000 })).error, 'empty command');
  await assert.rejects(run([]), /empty command/);
});

test('uid and gid reach the program', { skip: process.getuid?.() !== 0 && 'needs root' }, async () => {
  const r = await runBounded(sh('echo $(id -u):$(id -g)'), { timeoutMs: 5_000, uid: 65534, gid: 65534 });
  assert.equal(r.outputHead.trim(), '65534:65534');
  const c = await run(sh('id -u'), { uid: 65534, gid: 65534 });
  assert.equal(c.stdout.trim(), '65534');
});

test('user and group names to ids', async () => {
  assert.equal(await lookupUid('root'), 0);
  assert.equal(await lookupUid('1234'), 1234);
  assert.equal(await lookupGid('root'), 0);
  await assert.rejects(lookupUid('tandem-no-such-user'), /unknown user "tandem-no-such-user"/);
  await assert.rejects(lookupGid('tandem-no-such-group'), /unknown group/);
});
