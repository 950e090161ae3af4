import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createScriptTracker, effectivePriority } from '../../../src/vrrp/track.ts';

test('weights: positive added when up, negative when down, clamped 1..254', () => {
  assert.deepEqual(effectivePriority(100, [{ name: 'eth0', weight: 10, up: true }], []), { priority: 110, faults: [] });
  assert.deepEqual(effectivePriority(100, [{ name: 'eth0', weight: 10, up: false }], []), { priority: 100, faults: [] });
  assert.deepEqual(effectivePriority(100, [], [{ name: 'chk', weight: -30, up: false }]), { priority: 70, faults: [] });
  assert.deepEqual(effectivePriority(100, [], [{ name: 'chk', weight: -30, up: true }]), { priority: 100, faults: [] });
  assert.equal(effectivePriority(250, [{ name: 'a', weight: 50, up: true }], []).priority, 254);
  assert.equal(effectivePriority(20, [{ name: 'a', weight: -50, up: false }], []).priority, 1);
  // reverse flips the sign.
  assert.equal(effectivePriority(100, [], [{ name: 'r', weight: 10, reverse: true, up: true }]).priority, 90);
});

test('weight 0 means FAULT when down (or up, with reverse); the owner is never changed', () => {
  assert.deepEqual(effectivePriority(100, [{ name: 'eth1', weight: 0, up: false }], []).faults, ['eth1']);
  assert.deepEqual(effectivePriority(100, [{ name: 'eth1', weight: 0, up: true }], []).faults, []);
  assert.deepEqual(effectivePriority(100, [], [{ name: 's', weight: 0, reverse: true, up: true }]).faults, ['s']);
  assert.deepEqual(effectivePriority(255, [{ name: 'a', weight: -100, up: false }], []), { priority: 255, faults: [] });
});

test('vrrp_script rise and fall', () => {
  const t = createScriptTracker({ rise: 2, fall: 3 });
  assert.equal(t.state, 'init');
  assert.equal(t.feed(true), 'up', 'one success is enough at start');
  assert.equal(t.feed(false), null);
  assert.equal(t.feed(false), null);
  assert.equal(t.feed(true), null, 'a success resets the failure run');
  assert.equal(t.feed(false), null);
  assert.equal(t.feed(false), null);
  assert.equal(t.feed(false), 'down');
  assert.equal(t.feed(true), null);
  assert.equal(t.feed(true), 'up');
  const f = createScriptTracker({ rise: 3, fall: 1, initFail: true });
  assert.equal(f.state, 'down');
  assert.equal(f.feed(true), null);
  assert.equal(f.feed(true), null);
  assert.equal(f.feed(true), 'up');
  assert.equal(f.feed(false), 'down');
  const i = createScriptTracker({ rise: 5, fall: 5 });
  assert.equal(i.feed(false), 'down', 'a failure at start is down at once');
});
