// The main-thread trackers: vrrp_track_process matching as keepalived matches (comm, or argv with
// param_match), quorum and quorum_max, fork_delay / terminate_delay; track_file numbers read as
// strtol reads them, the file watched, init_file at start only.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TrackFile, TrackProcess } from '../../../src/config/model.ts';
import { matchesProcess, ProcessQuorum, ProcessTracker, quorumMet, readProcs, type ProcInfo } from '../../../src/vrrp/track-process.ts';
import { FileTracker, parseTrackNumber } from '../../../src/vrrp/track-file.ts';
import { FakeClock } from '../fake-clock.ts';

const POS = { file: 't.conf', line: 1, col: 1 };

function tp(over: Partial<TrackProcess> = {}): TrackProcess {
  return {
    name: 'p', process: ['nginx'], paramMatch: 'none', weight: 0, weightReverse: false, quorum: 1, quorumMax: null,
    forkDelayMs: 0, terminateDelayMs: 0, fullCommand: false, pos: POS, ...over,
  };
}

const proc = (comm: string, argv: string[] | null = null, zombie = false): ProcInfo => ({ pid: 1, comm, argv, zombie });

test('process matching: the name against comm, exactly (not a pattern like pgrep); zombies never count', () => {
  assert.ok(matchesProcess(tp(), proc('nginx')));
  assert.ok(!matchesProcess(tp(), proc('nginx: worker')));
  assert.ok(!matchesProcess(tp({ process: ['ssh'] }), proc('sshd')), "keepalived: 'ssh' is not sshd");
  assert.ok(!matchesProcess(tp(), proc('nginx', null, true)));
});

test('process matching with parameters: argv[0] and param_match exact, partial, initial (keepalived check_params)', () => {
  const argv = ['haproxy', '-f', '/etc/haproxy.cfg', '-D'];
  const t = (process: string[], paramMatch: TrackProcess['paramMatch']) => tp({ process, paramMatch, fullCommand: true });
  assert.ok(matchesProcess(t(['haproxy', '-f', '/etc/haproxy.cfg', '-D'], 'exact'), proc('haproxy', argv)));
  assert.ok(!matchesProcess(t(['haproxy', '-f', '/etc/haproxy.cfg'], 'exact'), proc('haproxy', argv)));
  assert.ok(matchesProcess(t(['haproxy', '-f', '/etc/haproxy.cfg'], 'partial'), proc('haproxy', argv)));
  assert.ok(!matchesProcess(t(['haproxy', '-f', '/etc/hap'], 'partial'), proc('haproxy', argv)));
  assert.ok(matchesProcess(t(['haproxy', '-f', '/etc/hap'], 'initial'), proc('haproxy', argv)));
  assert.ok(!matchesProcess(t(['haproxy', '-x'], 'initial'), proc('haproxy', argv)));
  assert.ok(matchesProcess(t(['haproxy'], 'exact'), proc('haproxy', ['haproxy'])), 'param_match alone: no parameters');
  assert.ok(!matchesProcess(t(['haproxy'], 'exact'), proc('haproxy', argv)));
  assert.ok(matchesProcess(t(['/usr/sbin/haproxy'], 'none'), proc('haproxy', ['/usr/sbin/haproxy', '-D'])), 'full_command: argv[0]');
  assert.ok(!matchesProcess(t(['haproxy'], 'none'), proc('haproxy', ['/usr/sbin/haproxy'])));
});

test('quorum and quorum_max; quorum_max 0: up while none runs', () => {
  assert.deepEqual([0, 1, 2, 3].map((n) => quorumMet(tp({ quorum: 2, quorumMax: 2 }), n)), [false, false, true, false]);
  assert.deepEqual([0, 1, 5].map((n) => quorumMet(tp(), n)), [false, true, true]);
  assert.deepEqual([0, 1].map((n) => quorumMet(tp({ quorumMax: 0 }), n)), [true, false]);
});

test('fork_delay and terminate_delay: a change is reported once it lasted; a bounce inside the delay is not; the first scan at once', async () => {
  const clock = new FakeClock();
  const seen: boolean[] = [];
  const q = new ProcessQuorum(tp({ forkDelayMs: 500, terminateDelayMs: 2000 }), (up) => seen.push(up), clock);
  q.scanned(0);
  assert.deepEqual(seen, [false], 'the first scan decides at once');
  q.scanned(1);
  clock.tick(499);
  assert.deepEqual(seen, [false]);
  clock.tick(1);
  assert.deepEqual(seen, [false, true], 'up after fork_delay');
  q.scanned(0);
  clock.tick(1000);
  q.scanned(1); // restarted within terminate_delay
  clock.tick(5000);
  assert.deepEqual(seen, [false, true], 'the bounce is not reported');
  q.scanned(0);
  clock.tick(2000);
  assert.deepEqual(seen, [false, true, false]);
});

test('ProcessTracker scans every interval and reports quorum changes by name', async () => {
  const clock = new FakeClock();
  let procs: ProcInfo[] = [proc('nginx')];
  const values: string[] = [];
  const logs: string[] = [];
  const tracker = new ProcessTracker([tp({ name: 'web' }), tp({ name: 'lb', process: ['haproxy'] })], {
    value: (name, up) => values.push(`${name} ${up}`), log: (_l, m) => logs.push(m),
  }, clock, async () => procs, 1000);
  await tracker.scan();
  assert.deepEqual(values, ['web true', 'lb false']);
  procs = [proc('haproxy')];
  await clock.advance(1000);
  assert.deepEqual(values, ['web true', 'lb false', 'web false', 'lb true']);
  assert.ok(logs.includes('Quorum lost for tracked process web (0 running, quorum 1+)'), logs.join('\n'));
  tracker.stop();
  procs = [];
  await clock.advance(5000);
  assert.equal(values.length, 4, 'nothing after stop');
});

test('readProcs reads this process from /proc: comm, argv and state', async () => {
  const all = await readProcs(true);
  const me = all.find((p) => p.pid === process.pid);
  assert.ok(me, 'this process is listed');
  assert.equal(me.argv?.[0], process.argv0, 'argv[0] of /proc/PID/cmdline');
  assert.equal(me.zombie, false);
  assert.ok(me.comm.length > 0 && me.comm.length <= 15);
});

test('track_file numbers as strtol(…, 0) reads them; out of 32 bits: ignored', () => {
  assert.equal(parseTrackNumber('42\n'), 42);
  assert.equal(parseTrackNumber('  -7 junk'), -7);
  assert.equal(parseTrackNumber('0x1f'), 31);
  assert.equal(parseTrackNumber('017'), 15);
  assert.equal(parseTrackNumber('08'), 0, 'octal stops at 8');
  assert.equal(parseTrackNumber(''), 0);
  assert.equal(parseTrackNumber('none'), 0);
  assert.equal(parseTrackNumber('99999999999'), null);
});

function tf(dir: string, over: Partial<TrackFile> = {}): TrackFile {
  return { name: 'prio', file: join(dir, 'prio'), weight: 1, weightReverse: false, initFile: null, pos: POS, ...over };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (cond()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out waiting for ${what}`);
}

test('FileTracker: a first read, then each write, move and removal reported (removed: 0), unchanged values not repeated', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-tf-'));
  try {
    writeFileSync(join(dir, 'prio'), '5\n');
    writeFileSync(join(dir, 'other'), '1\n');
    const values: number[] = [];
    const t = new FileTracker([tf(dir)], { value: (_n, v) => values.push(v), log: () => undefined });
    await t.start({ initFiles: true });
    assert.deepEqual(values, [5]);
    writeFileSync(join(dir, 'prio'), '-20\n');
    await until(() => values.at(-1) === -20, 'the write');
    writeFileSync(join(dir, 'other'), '2\n');
    writeFileSync(join(dir, 'tmp'), '7\n');
    renameSync(join(dir, 'tmp'), join(dir, 'prio'));
    await until(() => values.at(-1) === 7, 'the move');
    unlinkSync(join(dir, 'prio'));
    await until(() => values.at(-1) === 0, 'the removal');
    assert.deepEqual(values, [5, -20, 7, 0]);
    t.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('init_file: written when missing (or always with overwrite), at start only', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tandem-tf-'));
  try {
    const values: number[] = [];
    const hooks = { value: (_n: string, v: number) => values.push(v), log: () => undefined };
    const a = new FileTracker([tf(dir, { initFile: { value: 3, overwrite: false } })], hooks);
    await a.start({ initFiles: true });
    a.stop();
    assert.equal(readFileSync(join(dir, 'prio'), 'utf8'), '3\n');
    writeFileSync(join(dir, 'prio'), '9\n');
    const b = new FileTracker([tf(dir, { initFile: { value: 3, overwrite: false } })], hooks);
    await b.start({ initFiles: true });
    b.stop();
    assert.equal(readFileSync(join(dir, 'prio'), 'utf8'), '9\n', 'an existing file is kept');
    const c = new FileTracker([tf(dir, { initFile: { value: 4, overwrite: true } })], hooks);
    await c.start({ initFiles: false });
    c.stop();
    assert.equal(readFileSync(join(dir, 'prio'), 'utf8'), '9\n', 'not on a reload');
    const d = new FileTracker([tf(dir, { initFile: { value: 4, overwrite: true } })], hooks);
    await d.start({ initFiles: true });
    d.stop();
    assert.equal(readFileSync(join(dir, 'prio'), 'utf8'), '4\n', 'overwrite');
    assert.deepEqual(values, [3, 9, 9, 4]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
