import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BACKSTOP_MARGIN_MS, HealthChecker } from '../../../src/check/scheduler.ts';
import type { ProbeFn } from '../../../src/check/probe.ts';
import type { CheckResult, RsStateEvent } from '../../../src/check/types.ts';
import type { Checker, RealServer } from '../../../src/config/model.ts';
import { FakeClock } from '../fake-clock.ts';
import { cmd, miscCheck, realServer, tcpCheck, virtualServer } from './fixtures.ts';

/** A probe whose answer per real server is decided by a function of the fake time. */
function scripted(clock: FakeClock, decide: (rs: RealServer, checker: Checker, t: number) => CheckResult | 'hang') {
  const calls: Array<{ rs: string; t: number }> = [];
  const probe: ProbeFn = (checker, rs, _vs, signal) => {
    calls.push({ rs: rs.name, t: clock.now() });
    const r = decide(rs, checker, clock.now());
    if (r !== 'hang') return Promise.resolve(r);
    // Hangs until aborted (and then still never resolves: the scheduler must not rely on it).
    return new Promise<CheckResult>(() => { void signal; });
  };
  return { probe, calls };
}

const ok: CheckResult = { ok: true, latencyMs: 0, detail: 'ok' };
const fail: CheckResult = { ok: false, latencyMs: 0, detail: 'refused' };

test('down after 1 + retry failures at the right times; up on the first success; notify', async () => {
  const clock = new FakeClock();
  const rs = realServer('198.51.100.1', 80, {
    checkers: [tcpCheck({ retry: 2, delayBeforeRetryMs: 1000, warmupMs: 0 })],
    notifyUp: cmd('/bin/up'), notifyDown: cmd('/bin/down'),
  });
  const vs = virtualServer([rs], { delayLoopMs: 10_000 });
  const { probe, calls } = scripted(clock, (_rs, _c, t) => (t >= 25_000 && t < 50_000 ? fail : ok));
  const events: RsStateEvent[] = [];
  const notified: string[] = [];
  const hc = new HealthChecker([vs], {
    onChange: (e) => events.push(e), clock, probe, random: () => 0,
    notify: async (c, e) => { notified.push(`${c.argv[0]} ${e.up} ${clock.now()}`); },
  });
  hc.start();
  assert.deepEqual(events.map((e) => [e.up, e.reason]), [[true, 'initial']]);
  await clock.advanceTo(60_000);
  assert.deepEqual(calls.map((c) => c.t), [0, 10_000, 20_000, 30_000, 31_000, 32_000, 42_000, 52_000]);
  assert.equal(events.length, 3);
  assert.deepEqual(
    events.slice(1).map((e) => ({ up: e.up, lastCheck: e.lastCheck, failures: e.failures, reason: e.reason })),
    [
      { up: false, lastCheck: 32_000, failures: 3, reason: 'refused' },
      { up: true, lastCheck: 52_000, failures: 0, reason: 'ok' },
    ],
  );
  assert.deepEqual(notified, ['/bin/down false 32000', '/bin/up true 52000']);
  assert.equal(hc.states()[0]!.up, true);
  hc.stop();
  assert.equal(clock.pending, 0);
});

test('alpha: starts down, up after the first success; warmup delays the first check', async () => {
  const clock = new FakeClock();
  const rs = realServer('198.51.100.1', 80, { checkers: [tcpCheck({ warmupMs: 4000 })] });
  const vs = virtualServer([rs], { delayLoopMs: 10_000, alpha: true });
  const { probe, calls } = scripted(clock, () => ok);
  const events: RsStateEvent[] = [];
  const hc = new HealthChecker([vs], { onChange: (e) => events.push(e), clock, probe, random: () => 0.5 });
  hc.start();
  assert.deepEqual(events.map((e) => [e.up, e.reason]), [[false, 'alpha']]);
  await clock.advanceTo(1999);
  assert.equal(calls.length, 0);
  await clock.advanceTo(2000);
  assert.deepEqual(calls.map((c) => c.t), [2000]);
  assert.deepEqual(events.map((e) => e.up), [false, true]);
  hc.stop();
});

test('alpha: failures keep it down without retries', async () => {
  const clock = new FakeClock();
  const rs = realServer('198.51.100.1', 80, { checkers: [tcpCheck({ retry: 3 })] });
  const vs = virtualServer([rs], { delayLoopMs: 5000, alpha: true });
  const { probe, calls } = scripted(clock, () => fail);
  const events: RsStateEvent[] = [];
  const hc = new HealthChecker([vs], { onChange: (e) => events.push(e), clock, probe, random: () => 0 });
  hc.start();
  await clock.advanceTo(12_000);
  assert.deepEqual(calls.map((c) => c.t), [0, 5000, 10_000]);
  assert.equal(events.length, 1);
  hc.stop();
});

test('multiple checkers: down when any is down; misc_dynamic sets the weight', async () => {
  const clock = new FakeClock();
  const tcp = tcpCheck({ retry: 0 });
  const misc = miscCheck(['/bin/w'], { miscDynamic: true, retry: 0 });
  const rs = realServer('198.51.100.1', 80, { weight: 5, checkers: [tcp, misc] });
  const vs = virtualServer([rs], { delayLoopMs: 1000 });
  const { probe } = scripted(clock, (_rs, c, t) => {
    if (c.kind === 'MISC_CHECK') return t < 2000 ? { ...ok, weight: null } : { ...ok, weight: 10 };
    return t >= 4000 && t < 6000 ? fail : ok;
  });
  const events: RsStateEvent[] = [];
  const hc = new HealthChecker([vs], { onChange: (e) => events.push(e), clock, probe, random: () => 0 });
  hc.start();
  await clock.advanceTo(7000);
  assert.deepEqual(events.map((e) => [e.up, e.weight, e.lastCheck]), [
    [true, 5, null],
    [true, 10, 2000],
    [false, 10, 4000],
    [true, 10, 6000],
  ]);
  hc.stop();
});

test('a hanging check is cut at its bound and never delays another real server', async () => {
  const clock = new FakeClock();
  const hung = realServer('198.51.100.1', 80, { checkers: [tcpCheck({ retry: 0, connectTimeoutMs: 3000 })] });
  const healthy = realServer('198.51.100.2', 80, { checkers: [tcpCheck({ retry: 0, connectTimeoutMs: 3000 })] });
  const vs = virtualServer([hung, healthy], { delayLoopMs: 1000 });
  const { probe, calls } = scripted(clock, (rs) => (rs === hung ? 'hang' : ok));
  const events: RsStateEvent[] = [];
  const hc = new HealthChecker([vs], { onChange: (e) => events.push(e), clock, probe, random: () => 0 });
  hc.start();
  await clock.advanceTo(10_000);
  const bound = 3000 + BACKSTOP_MARGIN_MS;
  assert.deepEqual(calls.filter((c) => c.rs === healthy.name).map((c) => c.t), [0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10_000]);
  assert.deepEqual(calls.filter((c) => c.rs === hung.name).map((c) => c.t), [0, bound + 1000, 2 * (bound + 1000)]);
  const down = events.find((e) => e.rs === hung.name && !e.up);
  assert.ok(down);
  assert.equal(down.lastCheck, bound);
  assert.match(down.reason, /no result within 4000 ms/);
  assert.ok(events.every((e) => e.rs !== healthy.name || e.up));
  hc.stop();
});

test('stop cancels timers and running checks; no events afterwards', async () => {
  const clock = new FakeClock();
  const rs = realServer('198.51.100.1', 80, { checkers: [tcpCheck()] });
  const { probe, calls } = scripted(clock, () => 'hang');
  const events: RsStateEvent[] = [];
  const hc = new HealthChecker([virtualServer([rs], { delayLoopMs: 1000 })], { onChange: (e) => events.push(e), clock, probe, random: () => 0 });
  hc.start();
  await clock.advanceTo(100);
  assert.equal(calls.length, 1);
  hc.stop();
  assert.equal(clock.pending, 0);
  await clock.advanceTo(60_000);
  assert.equal(calls.length, 1);
  assert.equal(events.length, 1);
});

test('reload keeps the state of unchanged real servers and restarts changed ones', async () => {
  const clock = new FakeClock();
  const mk = (retry: number, weight = 1) => [
    realServer('198.51.100.1', 80, { weight, checkers: [tcpCheck({ retry: 0 })] }),
    realServer('198.51.100.2', 80, { checkers: [tcpCheck({ retry })] }),
    realServer('198.51.100.3', 80, { checkers: [tcpCheck({ retry: 0 })] }),
  ];
  const { probe } = scripted(clock, () => fail);
  const events: RsStateEvent[] = [];
  const hc = new HealthChecker([virtualServer(mk(0), { delayLoopMs: 1000 })], { onChange: (e) => events.push(e), clock, probe, random: () => 0 });
  hc.start();
  await clock.advanceTo(500);
  assert.ok(hc.states().every((s) => !s.up));
  events.length = 0;
  // .1 unchanged but for its weight; .2's checker changed; .3 removed.
  const next = mk(2, 4).slice(0, 2);
  hc.reload([virtualServer(next, { delayLoopMs: 1000 })]);
  assert.deepEqual(events.map((e) => [e.rs, e.up, e.weight, e.reason]), [
    ['198.51.100.1 80', false, 4, 'reload'],
    ['198.51.100.2 80', true, 1, 'initial'],
  ]);
  const st = hc.states();
  assert.equal(st.length, 2);
  const one = st.find((s) => s.rs === '198.51.100.1 80')!;
  assert.equal(one.up, false);
  assert.equal(one.weight, 4);
  hc.stop();
});

test('a throwing onChange handler does not stop the checks', async () => {
  const clock = new FakeClock();
  const rs = realServer('198.51.100.1', 80, { checkers: [tcpCheck({ retry: 0 })] });
  const { probe, calls } = scripted(clock, () => fail);
  const hc = new HealthChecker([virtualServer([rs], { delayLoopMs: 1000 })], {
    onChange: () => { throw new Error('consumer bug'); }, clock, probe, random: () => 0,
  });
  hc.start();
  await clock.advanceTo(3000);
  assert.equal(calls.length, 4);
  hc.stop();
});
