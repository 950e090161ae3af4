// Pure parts of the userspace forwarder: the bounded expiring table (UDP sessions,
// persistence), the global connection cap, and the data-plane choice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExpiringMap } from '../../../src/lb/forwarder/expiring-map.ts';
import { ConnectionCap } from '../../../src/lb/forwarder/cap.ts';
import { chooseDataPlane } from '../../../src/lb/forwarder/select.ts';

test('sessions expire after idleMs without use; use refreshes', () => {
  const m = new ExpiringMap<string>({ idleMs: 1000, max: 10, whenFull: 'refuse' });
  m.set('a', 'A', 0);
  m.set('b', 'B', 0);
  assert.equal(m.touch('a', 900), 'A');
  assert.deepEqual(m.expire(1000), [['b', 'B']]);
  assert.equal(m.size, 1);
  assert.equal(m.touch('a', 1899), 'A');
  assert.equal(m.peek('a', 2899), undefined);
  assert.deepEqual(m.expire(2899), [['a', 'A']]);
  assert.equal(m.size, 0);
});

test('an expired session is handed back (for closing) when its key is reused', () => {
  const m = new ExpiringMap<{ id: number }>({ idleMs: 1000, max: 10, whenFull: 'refuse' });
  const old = { id: 1 };
  m.set('c', old, 0);
  assert.equal(m.touch('c', 5000), undefined);
  assert.deepEqual(m.set('c', { id: 2 }, 5000), [['c', old]]);
  assert.equal(m.size, 1);
});

test('a full session table refuses new sessions, keeps old ones, and makes room from expired ones', () => {
  const m = new ExpiringMap<number>({ idleMs: 1000, max: 3, whenFull: 'refuse' });
  for (let i = 0; i < 3; i++) assert.deepEqual(m.set(`k${i}`, i, i * 100), []);
  assert.equal(m.set('k3', 3, 500), null);
  assert.equal(m.size, 3);
  assert.equal(m.touch('k0', 500), 0);
  // At 1150 k1 (used at 100) has expired: the new entry takes its place.
  assert.deepEqual(m.set('k4', 4, 1150), [['k1', 1]]);
  assert.equal(m.size, 3);
});

test('evict mode drops the least recently used', () => {
  const m = new ExpiringMap<number>({ idleMs: 10_000, max: 2, whenFull: 'evict' });
  m.set('a', 1, 0);
  m.set('b', 2, 1);
  m.touch('a', 2);
  assert.deepEqual(m.set('c', 3, 3), [['b', 2]]);
  assert.deepEqual(m.values().sort(), [1, 3]);
  assert.equal(m.deleteWhere((v) => v === 1), 1);
});

test('bad table bounds are refused', () => {
  assert.throws(() => new ExpiringMap({ idleMs: 0, max: 1, whenFull: 'refuse' }), RangeError);
  assert.throws(() => new ExpiringMap({ idleMs: 1, max: 0, whenFull: 'refuse' }), RangeError);
});

test('the connection cap refuses at max and reports reaching / leaving it once', () => {
  const cap = new ConnectionCap(2);
  assert.deepEqual(cap.acquire(), { ok: true, event: null });
  assert.deepEqual(cap.acquire(), { ok: true, event: null });
  assert.deepEqual(cap.acquire(), { ok: false, event: 'reached' });
  assert.deepEqual(cap.acquire(), { ok: false, event: null });
  assert.equal(cap.refused, 2);
  assert.equal(cap.active, 2);
  assert.equal(cap.release(), 'relieved');
  assert.equal(cap.release(), null);
  assert.equal(cap.release(), null); // never below zero
  assert.equal(cap.active, 0);
  assert.throws(() => new ConnectionCap(0), RangeError);
});

test('data plane: userspace when forced or for lc/wlc; auto follows the nft probe', () => {
  assert.equal(chooseDataPlane({ forwarder: 'auto', scheduler: 'mh' }, true), 'nftables');
  assert.equal(chooseDataPlane({ forwarder: 'auto', scheduler: 'mh' }, false), 'userspace');
  assert.equal(chooseDataPlane({ forwarder: 'userspace', scheduler: 'rr' }, true), 'userspace');
  assert.equal(chooseDataPlane({ forwarder: 'nftables', scheduler: 'rr' }, false), 'nftables');
  assert.equal(chooseDataPlane({ forwarder: 'auto', scheduler: 'lc' }, true), 'userspace');
  assert.equal(chooseDataPlane({ forwarder: 'nftables', scheduler: 'wlc' }, true), 'userspace');
});
