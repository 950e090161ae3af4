import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LatenessMeter, advertLateWarning, LATENESS_BUCKETS_MS } from '../../../src/vrrp/lateness.ts';

test('lateness: last, max, a recent maximum that forgets after two minutes, cumulative buckets', () => {
  const m = new LatenessMeter();
  m.record(0.4, 0);
  m.record(12, 1000);
  m.record(-3, 2000); // a timer that fired early counts as on time
  let s = m.snapshot(2000);
  assert.deepEqual([s.count, s.lastMs, s.maxMs, s.recentMaxMs, s.sumMs], [3, 0, 12, 12, 12.4]);
  assert.equal(s.buckets.length, LATENESS_BUCKETS_MS.length + 1);
  assert.equal(s.buckets[0], 2, '≤ 1 ms: 0.4 and 0');
  assert.equal(s.buckets[LATENESS_BUCKETS_MS.indexOf(20)], 3);
  assert.equal(s.buckets.at(-1), 3);
  m.record(1, 70_000);
  s = m.snapshot(70_000);
  assert.equal(s.recentMaxMs, 12, 'the previous minute still counts');
  s = m.snapshot(200_000);
  assert.equal(s.recentMaxMs, 0);
  assert.equal(s.maxMs, 12);
  m.record(5000, 200_001);
  assert.equal(m.snapshot(200_001).buckets.at(-2), 4, 'above the last bound only in +Inf');
});

test('an advert is warned about from one interval late (not under 5 ms)', () => {
  assert.equal(advertLateWarning(99, 100), false);
  assert.equal(advertLateWarning(100, 100), true);
  assert.equal(advertLateWarning(4, 1), false);
  assert.equal(advertLateWarning(5, 10), false);
  assert.equal(advertLateWarning(10, 10), true);
});
