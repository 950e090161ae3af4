import { test } from 'node:test';
import assert from 'node:assert/strict';
import { QuorumTracker, nextQuorumUp, aliveWeight } from '../../../src/lb/quorum.ts';

test('quorum goes down below quorum - hysteresis and back up at quorum + hysteresis', () => {
  const q = new QuorumTracker({ quorum: 4, hysteresis: 1 });
  assert.equal(q.isUp, true);
  assert.deepEqual(q.update(3), { up: true, changed: false }); // 3 is not < 4 - 1
  assert.deepEqual(q.update(2), { up: false, changed: true });
  assert.deepEqual(q.update(4), { up: false, changed: false }); // needs 4 + 1
  assert.deepEqual(q.update(5), { up: true, changed: true });
});

test('no hysteresis: plain threshold', () => {
  assert.equal(nextQuorumUp(true, 1, { quorum: 2, hysteresis: 0 }), false);
  assert.equal(nextQuorumUp(false, 2, { quorum: 2, hysteresis: 0 }), true);
});

test('nothing alive drops the quorum even when quorum - hysteresis <= 0 (keepalived !weight_sum)', () => {
  assert.equal(nextQuorumUp(true, 0, { quorum: 1, hysteresis: 1 }), false);
  assert.equal(nextQuorumUp(true, 1, { quorum: 1, hysteresis: 1 }), true);
});

test('alive weight counts up servers with weight > 0 only', () => {
  assert.equal(aliveWeight([{ up: true, weight: 3 }, { up: false, weight: 5 }, { up: true, weight: 0 }, { up: true, weight: 1 }]), 4);
});
