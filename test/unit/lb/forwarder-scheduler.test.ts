// The userspace forwarder's scheduler: lc / wlc by live connection counts, rr / wrr sequences,
// hash schedulers' stickiness, persistence by masked client address. Pure, with a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ForwarderScheduler, type SchedulerOptions } from '../../../src/lb/forwarder/scheduler.ts';
import { addrNumber } from '../../../src/lb/forwarder/scheduler.ts';
import type { Backend } from '../../../src/lb/sched/index.ts';

function b(last: number, weight = 1, port = 8080): Backend {
  const address = `192.0.2.${last}`;
  return { key: `${address}:${port}`, address, port, weight };
}

function sched(over: Partial<SchedulerOptions>, backends: Backend[]): ForwarderScheduler {
  const s = new ForwarderScheduler({
    scheduler: 'rr', seed: 0x1234abcd, configuredCount: backends.length, vip: '203.0.113.10',
    persistenceTimeoutMs: 0, persistenceGranularity: 32, ...over,
  });
  s.setBackends(backends);
  return s;
}

/** Picks n times, acquiring each pick (connections stay open). */
function openMany(s: ForwarderScheduler, n: number, client = '198.51.100.7'): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const p = s.pick(client, 0);
    assert.ok(p);
    s.acquire(p.key);
    out.push(p.key);
  }
  return out;
}

function count(keys: string[]): Record<string, number> {
  const c: Record<string, number> = {};
  for (const k of keys) c[k] = (c[k] ?? 0) + 1;
  return c;
}

test('lc sends a new connection to the server with the fewest active connections', () => {
  const s = sched({ scheduler: 'lc' }, [b(11), b(12), b(13)]);
  for (let i = 0; i < 5; i++) s.acquire(b(11).key);
  s.acquire(b(12).key);
  // 13 has 0, 12 has 1, 11 has 5: the first goes to 13, then 12 and 13 (tied) alternate, never 11.
  const picks = openMany(s, 4);
  assert.deepEqual(picks, [b(13).key, b(12).key, b(13).key, b(12).key]);
  assert.equal(s.activeFor(b(11).key), 5);
  assert.equal(s.activeFor(b(12).key), 3);
  assert.equal(s.activeFor(b(13).key), 2);
});

test('lc spreads open connections evenly and follows releases', () => {
  const s = sched({ scheduler: 'lc' }, [b(11), b(12), b(13)]);
  openMany(s, 9);
  for (const k of [b(11).key, b(12).key, b(13).key]) assert.equal(s.activeFor(k), 3);
  s.release(b(12).key);
  s.release(b(12).key);
  assert.deepEqual(openMany(s, 2), [b(12).key, b(12).key]);
});

test('lc with sequential short connections rotates instead of always taking the first', () => {
  const s = sched({ scheduler: 'lc' }, [b(11), b(12), b(13)]);
  const seen: string[] = [];
  for (let i = 0; i < 6; i++) {
    const p = s.pick('198.51.100.7', 0)!;
    s.acquire(p.key);
    s.release(p.key);
    seen.push(p.key);
  }
  assert.deepEqual(count(seen), { [b(11).key]: 2, [b(12).key]: 2, [b(13).key]: 2 });
});

test('wlc balances active/weight: weights 3,1 hold connections 3:1', () => {
  const s = sched({ scheduler: 'wlc' }, [b(11, 3), b(12, 1)]);
  const c = count(openMany(s, 40));
  assert.deepEqual(c, { [b(11).key]: 30, [b(12).key]: 10 });
});

test('wlc prefers the lower ratio, not the lower count', () => {
  const s = sched({ scheduler: 'wlc' }, [b(11, 4), b(12, 1)]);
  for (let i = 0; i < 3; i++) s.acquire(b(11).key); // 3/4
  s.acquire(b(12).key); // 1/1
  assert.equal(s.pick('198.51.100.7', 0)!.key, b(11).key);
});

test('a drained (weight 0) or removed server gets nothing new but keeps its count', () => {
  const s = sched({ scheduler: 'wlc' }, [b(11), b(12)]);
  openMany(s, 4);
  s.setBackends([b(11), b(12, 0)]);
  assert.deepEqual(count(openMany(s, 3)), { [b(11).key]: 3 });
  assert.equal(s.activeFor(b(12).key), 2);
  s.setBackends([]);
  assert.equal(s.pick('198.51.100.7', 0), null);
});

test('rr cycles in address order; wrr interleaves 5,1,1 like the nftables plane', () => {
  const rr = sched({ scheduler: 'rr' }, [b(13), b(11), b(12)]);
  assert.deepEqual(openMany(rr, 4), [b(11).key, b(12).key, b(13).key, b(11).key]);
  const wrr = sched({ scheduler: 'wrr' }, [b(11, 5), b(12, 1), b(13, 1)]);
  const seq = openMany(wrr, 7).map((k) => k.split(':')[0].split('.')[3]);
  assert.deepEqual(seq, ['11', '11', '12', '11', '13', '11', '11']);
});

test('sh and mh keep a client on one server and spread clients over all', () => {
  for (const scheduler of ['sh', 'mh'] as const) {
    const s = sched({ scheduler }, [b(11), b(12), b(13)]);
    const clients = Array.from({ length: 300 }, (_, i) => `198.51.100.${i % 250}`).concat(Array.from({ length: 50 }, (_, i) => `203.0.113.${i}`));
    const first = clients.map((c) => s.pick(c, 0)!.key);
    const again = clients.map((c) => s.pick(c, 0)!.key);
    assert.deepEqual(again, first, `${scheduler} not sticky`);
    const c = count(first);
    assert.equal(Object.keys(c).length, 3, `${scheduler}: ${JSON.stringify(c)}`);
    for (const n of Object.values(c)) assert.ok(n > 60, `${scheduler} uneven: ${JSON.stringify(c)}`);
  }
});

test('mh: removing one server moves only (about) its own clients', () => {
  const s = sched({ scheduler: 'mh' }, [b(11), b(12), b(13), b(14)]);
  const clients = Array.from({ length: 1000 }, (_, i) => `198.51.${100 + (i >> 8)}.${i & 255}`);
  const before = clients.map((c) => s.pick(c, 0)!.key);
  s.setBackends([b(11), b(12), b(14)]);
  const after = clients.map((c) => s.pick(c, 0)!.key);
  let movedOthers = 0;
  before.forEach((k, i) => {
    if (k !== b(13).key && after[i] !== k) movedOthers++;
  });
  assert.ok(movedOthers < 100, `moved ${movedOthers} clients of surviving servers`);
  assert.ok(!after.includes(b(13).key));
});

test('persistence: a client (by granularity mask) sticks to its server until the timeout', () => {
  const s = sched({ scheduler: 'rr', persistenceTimeoutMs: 60_000, persistenceGranularity: 24 }, [b(11), b(12), b(13)]);
  const first = s.pick('198.51.100.7', 1_000)!.key;
  // Same /24: same server, whatever rr would say.
  assert.equal(s.pick('198.51.100.200', 30_000)!.key, first);
  assert.equal(s.pick('198.51.100.7', 80_000)!.key, first); // refreshed at 30 s
  // Another /24 gets the next server in rr order.
  assert.notEqual(s.pick('203.0.113.5', 80_000)!.key, first);
  // After the timeout (no use since 80 s) the rr sequence decides again.
  const later = [s.pick('198.51.100.7', 200_000)!.key, s.pick('198.51.100.7', 200_001)!.key];
  assert.equal(later[0], later[1]);
  assert.equal(s.persistenceEntries, 2);
  s.expire(500_000);
  assert.equal(s.persistenceEntries, 0);
});

test('persistence: a stuck client of a server that went down is scheduled afresh', () => {
  const s = sched({ scheduler: 'lc', persistenceTimeoutMs: 60_000 }, [b(11), b(12)]);
  const first = s.pick('198.51.100.7', 0)!;
  s.setBackends([b(11), b(12)].filter((x) => x.key !== first.key));
  const next = s.pick('198.51.100.7', 1)!;
  assert.notEqual(next.key, first.key);
  s.setBackends([b(11), b(12)]);
  assert.equal(s.pick('198.51.100.7', 2)!.key, next.key);
});

test('persistence table is bounded: least recently used clients go first', () => {
  const s = sched({ scheduler: 'rr', persistenceTimeoutMs: 60_000, maxPersistence: 100 }, [b(11), b(12)]);
  for (let i = 0; i < 1000; i++) s.pick(`198.51.${100 + (i >> 8)}.${i & 255}`, i);
  assert.equal(s.persistenceEntries, 100);
});

test('bad client addresses never throw', () => {
  for (const scheduler of ['rr', 'lc', 'sh', 'mh', 'dh'] as const) {
    const s = sched({ scheduler, persistenceTimeoutMs: 1000 }, [b(11), b(12)]);
    for (const c of ['', '::1', 'x.y.z.w', '1.2.3.4.5', '::ffff:198.51.100.7']) assert.ok(s.pick(c, 0));
  }
  assert.equal(addrNumber('::ffff:198.51.100.7'), addrNumber('198.51.100.7'));
  assert.ok(Number.isNaN(addrNumber('256.1.1.1')));
});
