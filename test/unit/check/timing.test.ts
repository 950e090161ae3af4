import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  aggregateRs, applyResult, firstDelayMs, initialCheckerState, miscExitToResult, resolveTiming,
  type CheckerState, type TimingParams,
} from '../../../src/check/timing.ts';
import { miscCheck, realServer, tcpCheck, virtualServer } from './fixtures.ts';

const p: TimingParams = { delayLoopMs: 10_000, retry: 2, delayBeforeRetryMs: 1000, warmupMs: 0 };
const ok = { ok: true, latencyMs: 1, detail: 'ok' };
const bad = { ok: false, latencyMs: 1, detail: 'bad' };

test('resolveTiming inherits delay_loop from the virtual server and warmup from delay_loop', () => {
  const vs = virtualServer([], { delayLoopMs: 6000 });
  assert.deepEqual(resolveTiming(tcpCheck({ retry: 3, delayBeforeRetryMs: 2000, warmupMs: null }), vs),
    { delayLoopMs: 6000, retry: 3, delayBeforeRetryMs: 2000, warmupMs: 6000 });
  assert.deepEqual(resolveTiming(tcpCheck({ delayLoopMs: 3000, warmupMs: 500 }), vs),
    { delayLoopMs: 3000, retry: 1, delayBeforeRetryMs: 1000, warmupMs: 500 });
});

test('up checker goes down on the (1 + retry)-th consecutive failure, retries spaced by delay_before_retry', () => {
  let s: CheckerState = initialCheckerState(false);
  assert.equal(s.up, true);
  const delays: number[] = [];
  const changes: boolean[] = [];
  for (let i = 0; i < 3; i++) {
    const o = applyResult(s, p, bad, i);
    s = o.state;
    delays.push(o.nextDelayMs);
    changes.push(o.changed);
  }
  assert.deepEqual(delays, [1000, 1000, 10_000]);
  assert.deepEqual(changes, [false, false, true]);
  assert.equal(s.up, false);
  assert.equal(s.failures, 3);
  assert.equal(s.lastCheck, 2);
});

test('a success in the middle of retries resets the count', () => {
  let s = initialCheckerState(false);
  s = applyResult(s, p, bad, 0).state;
  s = applyResult(s, p, bad, 1).state;
  const o = applyResult(s, p, ok, 2);
  assert.equal(o.changed, false);
  assert.equal(o.nextDelayMs, 10_000);
  s = o.state;
  assert.equal(s.failures, 0);
  s = applyResult(s, p, bad, 3).state;
  s = applyResult(s, p, bad, 4).state;
  assert.equal(s.up, true, 'two failures after a success are still within retry 2');
});

test('retry 0: down on the first failure', () => {
  const o = applyResult(initialCheckerState(false), { ...p, retry: 0 }, bad, 0);
  assert.equal(o.state.up, false);
  assert.equal(o.changed, true);
  assert.equal(o.nextDelayMs, 10_000);
});

test('a down checker is not retried and comes up on the first success', () => {
  let s = { ...initialCheckerState(false), up: false };
  const f = applyResult(s, p, bad, 0);
  assert.equal(f.nextDelayMs, 10_000);
  assert.equal(f.changed, false);
  s = f.state;
  const o = applyResult(s, p, ok, 1);
  assert.equal(o.state.up, true);
  assert.equal(o.changed, true);
  assert.equal(o.state.failures, 0);
});

test('alpha starts down until the first success', () => {
  const s = initialCheckerState(true);
  assert.equal(s.up, false);
  assert.equal(applyResult(s, p, bad, 0).state.up, false);
  assert.equal(applyResult(s, p, ok, 0).state.up, true);
});

test('warmup: first delay in [0, warmup] from the injected random', () => {
  const w = { ...p, warmupMs: 4000 };
  assert.equal(firstDelayMs(w, () => 0), 0);
  assert.equal(firstDelayMs(w, () => 0.5), 2000);
  const hi = firstDelayMs(w, () => 0.999999);
  assert.ok(hi <= 4000 && hi >= 3999);
  assert.equal(firstDelayMs({ ...p, warmupMs: 0 }, () => 0.7), 0);
});

test('misc_dynamic exit codes', () => {
  assert.deepEqual(miscExitToResult(0, false), { ok: true });
  assert.deepEqual(miscExitToResult(1, false), { ok: false });
  assert.deepEqual(miscExitToResult(7, false), { ok: false });
  assert.deepEqual(miscExitToResult(0, true), { ok: true, weight: null });
  assert.deepEqual(miscExitToResult(1, true), { ok: false });
  assert.deepEqual(miscExitToResult(2, true), { ok: true, weight: 0 });
  assert.deepEqual(miscExitToResult(12, true), { ok: true, weight: 10 });
  assert.deepEqual(miscExitToResult(255, true), { ok: true, weight: 253 });
});

test('misc_dynamic weight is kept on success, changes are reported, and dropped when down', () => {
  const p0 = { ...p, retry: 0 };
  let s = initialCheckerState(false);
  let o = applyResult(s, p0, { ...ok, weight: 5 }, 0);
  assert.equal(o.changed, true);
  assert.equal(o.state.weight, 5);
  s = o.state;
  o = applyResult(s, p0, { ...ok, weight: 5 }, 1);
  assert.equal(o.changed, false);
  o = applyResult(o.state, p0, { ...ok, weight: null }, 2);
  assert.equal(o.changed, true);
  assert.equal(o.state.weight, null);
  o = applyResult({ ...o.state, weight: 9 }, p0, bad, 3);
  assert.equal(o.state.weight, null);
});

test('real server: up only when all checkers are up; weight from misc_dynamic', () => {
  const rs = realServer('198.51.100.1', 80, { weight: 3, checkers: [tcpCheck(), miscCheck(['x'])] });
  const up = initialCheckerState(false);
  const down = { ...up, up: false };
  assert.deepEqual(aggregateRs(rs, []), { up: true, weight: 3 });
  assert.deepEqual(aggregateRs(rs, [up, up]), { up: true, weight: 3 });
  assert.deepEqual(aggregateRs(rs, [up, down]), { up: false, weight: 3 });
  assert.deepEqual(aggregateRs(rs, [up, { ...up, weight: 10 }]), { up: true, weight: 10 });
  assert.deepEqual(aggregateRs(rs, [{ ...up, weight: 0 }, up]), { up: true, weight: 0 });
});
