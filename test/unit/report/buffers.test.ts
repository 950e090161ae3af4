import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Ring } from '../../../src/report/ring.ts';
import { Outbox } from '../../../src/report/outbox.ts';
import { backoffDelay } from '../../../src/report/backoff.ts';

test('ring keeps the newest and counts what it drops', () => {
  const r = new Ring<number>(3);
  for (let i = 0; i < 100_000; i++) r.push(i);
  assert.equal(r.size, 3);
  assert.equal(r.dropped, 100_000 - 3);
  assert.deepEqual([r.shift(), r.shift(), r.shift(), r.shift()], [99_997, 99_998, 99_999, undefined]);
  r.push(1);
  r.unshift(0);
  assert.deepEqual([r.shift(), r.shift()], [0, 1]);
  assert.throws(() => new Ring(0), RangeError);
});

test('outbox: latest value per retained topic, bounded, re-dirtied on failure', () => {
  const o = new Outbox({ eventCap: 10, healthCap: 2, retainedCap: 3 });
  assert.equal(o.setRetained('s', 'online'), true);
  for (let i = 0; i < 1000; i++) o.setRetained('v', `x${i}`);
  assert.equal(o.setRetained('v', 'x999'), false, 'unchanged value is not re-sent');
  assert.deepEqual(o.takeDirty(10), [['s', 'online'], ['v', 'x999']]);
  assert.equal(o.hasDirty, false);
  o.setRetained('a', '1');
  assert.equal(o.setRetained('b', '1'), false, 'beyond the cap');
  assert.equal(o.stats().droppedRetained, 1);
  assert.equal(o.stats().retainedTopics, 3);

  o.takeDirty(10);
  o.failed('v', 'x999');
  assert.deepEqual(o.takeDirty(10), [['v', 'x999']]);
  o.setRetained('v', 'new');
  o.takeDirty(10);
  o.failed('v', 'x999'); // an old value failed after a newer one was sent: nothing to redo
  assert.equal(o.hasDirty, false);

  o.markAllDirty();
  assert.equal(o.stats().dirtyTopics, 3);
  assert.deepEqual(o.takeDirty(1).length, 1, 'takeDirty respects its max');

  // empty payload = delete the retained message, then forget the topic
  o.takeDirty(10);
  o.setRetained('a', '');
  assert.deepEqual(o.takeDirty(10), [['a', '']]);
  assert.equal(o.getRetained('a'), undefined);

  for (let i = 0; i < 50; i++) o.health.push({ payload: String(i), atMs: i });
  assert.equal(o.stats().bufferedHealth, 2);
  assert.equal(o.health.shift()?.payload, '48', 'oldest health dropped first');
});

test('backoff doubles up to the cap with jitter in [cap/2, cap)', () => {
  const p = { baseMs: 1000, maxMs: 60_000 };
  assert.deepEqual([0, 1, 2, 3, 6, 7, 50].map((a) => backoffDelay(a, p, () => 0)), [500, 1000, 2000, 4000, 30_000, 30_000, 30_000]);
  assert.equal(backoffDelay(0, p, () => 0.999999), 999);
  assert.equal(backoffDelay(10, p, () => 0.5), 45_000);
  for (const bad of [NaN, -1, 1, 7]) {
    const d = backoffDelay(2, p, () => bad);
    assert.ok(d >= 2000 && d < 4000, `random ${bad} → ${d}`);
  }
  assert.equal(backoffDelay(-3, p, () => 0), 500);
});
