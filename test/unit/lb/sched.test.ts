import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  smoothWrrSequence, rrSequence, maglevTable, maglevSize, bucketTable, slotTable, slotIndex, vsSeed, isPrime,
} from '../../../src/lb/sched/index.ts';
import { ipv4PrefixMask as prefixMask } from '../../../src/util/ip.ts';
import type { Backend } from '../../../src/lb/sched/index.ts';
import { hash32 } from '../../../src/lb/sched/seed.ts';
import { vs, rs } from './fixtures.ts';

const be = (key: string, weight = 1): Backend => ({ key, address: '192.0.2.1', port: 80, weight });
const backends = (n: number): Backend[] =>
  Array.from({ length: n }, (_, i) => ({ key: `192.0.2.${10 + i}:8080`, address: `192.0.2.${10 + i}`, port: 8080, weight: 1 }));
const counts = (xs: Backend[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const b of xs) m.set(b.key, (m.get(b.key) ?? 0) + 1);
  return m;
};

test('wrr interleaves like nginx smooth wrr instead of blocks', () => {
  const seq = smoothWrrSequence([be('a', 5), be('b', 1), be('c', 1)]).map((b) => b.key).join('');
  assert.equal(seq, 'aabacaa');
});

test('wrr keeps proportions, reduces by gcd, skips weight 0', () => {
  const seq = smoothWrrSequence([be('a', 30), be('b', 20), be('c', 10), be('d', 0)]);
  assert.equal(seq.length, 6);
  assert.deepEqual(Object.fromEntries(counts(seq)), { a: 3, b: 2, c: 1 });
  // no backend twice in a row when another has weight left to give
  const two = smoothWrrSequence([be('a', 1), be('b', 1)]).map((b) => b.key);
  assert.deepEqual(two, ['a', 'b']);
});

test('wrr caps very long sequences but keeps every backend', () => {
  const seq = smoothWrrSequence([be('a', 100000), be('b', 1)]);
  assert.ok(seq.length <= 4096 + 1);
  assert.ok(seq.some((b) => b.key === 'b'));
});

test('rr is each backend once in key order, whatever the configuration order', () => {
  assert.deepEqual(rrSequence([be('b'), be('a'), be('c')]).map((b) => b.key), ['a', 'b', 'c']);
});

test('maglev table size is the smallest prime ≥ 13·N, fixed by the configured count', () => {
  assert.equal(maglevSize(1), 13);
  assert.equal(maglevSize(2), 29);
  assert.equal(maglevSize(8), 107);
  assert.equal(maglevSize(30), 397);
  assert.equal(maglevSize(100000), 65521);
  for (let n = 1; n <= 300; n++) {
    const m = maglevSize(n);
    assert.ok(isPrime(m) && m >= 13 * n, `${n} → ${m}`);
    for (let p = 13 * n; p < m; p++) assert.ok(!isPrime(p), `${p} is a smaller prime for ${n}`);
  }
});

test('maglev spreads equal backends within one slot of each other', () => {
  const t = maglevTable(backends(8), 42, maglevSize(8));
  assert.equal(t.length, maglevSize(8));
  const c = [...counts(t).values()];
  assert.equal(c.length, 8);
  assert.ok(Math.max(...c) - Math.min(...c) <= 1, `uneven: ${c}`);
});

test('maglev honours weights', () => {
  const bs = backends(3);
  bs[0].weight = 2;
  const c = counts(maglevTable(bs, 7, 509));
  const heavy = c.get(bs[0].key)!;
  const light = c.get(bs[1].key)!;
  assert.ok(Math.abs(heavy / light - 2) < 0.1, `${heavy} vs ${light}`);
});

test('maglev removal moves the removed share and little else; sh moves much more', () => {
  const all = backends(8);
  const gone = all[3].key;
  const rest = all.filter((b) => b.key !== gone);
  const M = maglevSize(8);
  const before = maglevTable(all, 1234, M);
  const after = maglevTable(rest, 1234, M);
  let others = 0;
  let movedOthers = 0;
  for (let i = 0; i < before.length; i++) {
    if (before[i].key === gone) {
      assert.notEqual(after[i].key, gone);
      continue;
    }
    others++;
    if (after[i].key !== before[i].key) movedOthers++;
  }
  assert.ok(movedOthers / others < 0.1, `maglev moved ${movedOthers}/${others} flows of surviving backends`);
  // Same change with sh's bucket table (refilled like IPVS): most flows of survivors move.
  const hashes = Array.from({ length: 5000 }, (_, i) => hash32(1, String(i), 'flow'));
  const b1 = bucketTable(all);
  const b2 = bucketTable(rest);
  let shOthers = 0;
  let shMoved = 0;
  for (const h of hashes) {
    const was = b1[slotIndex(h, b1.length)]!.key;
    if (was === gone) continue;
    shOthers++;
    if (b2[slotIndex(h, b2.length)]!.key !== was) shMoved++;
  }
  let mhOthers = 0;
  let mhMoved = 0;
  for (const h of hashes) {
    const was = before[slotIndex(h, M)]!.key;
    if (was === gone) continue;
    mhOthers++;
    if (after[slotIndex(h, M)]!.key !== was) mhMoved++;
  }
  assert.ok(mhMoved / mhOthers < 0.1, `mh moved ${mhMoved}/${mhOthers} flows`);
  assert.ok(shMoved / shOthers > 2 * (mhMoved / mhOthers), `sh moved ${shMoved}/${shOthers}, mh ${mhMoved}/${mhOthers}`);
});

test('seed and tables agree across two boards with the same configuration in any order', () => {
  const boardA = vs('203.0.113.10', 80, [rs('192.0.2.11', 8080), rs('192.0.2.12', 8080), rs('192.0.2.13', 8080)]);
  const boardB = vs('203.0.113.10', 80, [rs('192.0.2.13', 8080), rs('192.0.2.11', 8080), rs('192.0.2.12', 8080)]);
  assert.equal(vsSeed(boardA), vsSeed(boardB));
  const bs = (v: typeof boardA): Backend[] => v.realServers.map((r) => ({ key: `${r.address}:${r.port}`, address: r.address, port: r.port, weight: r.weight }));
  for (const sched of ['mh', 'sh', 'dh', 'wrr', 'rr'] as const) {
    const ta = slotTable({ ...boardA, scheduler: sched }, bs(boardA));
    const tb = slotTable({ ...boardB, scheduler: sched }, bs(boardB));
    assert.deepEqual(ta, tb, sched);
  }
  // A different virtual server gets a different seed (flows of different services spread independently).
  assert.notEqual(vsSeed(boardA), vsSeed({ ...boardA, port: 81 }));
  assert.notEqual(vsSeed(boardA), vsSeed({ ...boardA, protocol: 'UDP' }));
});

test('persistence granularity becomes the source mask of the hash key', () => {
  assert.equal(prefixMask(32), 0xffffffff);
  assert.equal(prefixMask(24), 0xffffff00);
  assert.equal(prefixMask(1), 0x80000000);
  assert.equal(prefixMask(0), 0);
  assert.throws(() => prefixMask(33), RangeError);
  const v = vs('203.0.113.10', 80, [rs('192.0.2.11', 80)], { scheduler: 'sh', persistenceGranularity: 24 });
  const t = slotTable(v, [be('192.0.2.11:80')]);
  assert.deepEqual(t.key, { kind: 'jhash', field: 'saddr', mask: 0xffffff00, seed: vsSeed(v) });
  const d = slotTable({ ...v, scheduler: 'dh' }, [be('192.0.2.11:80')]);
  assert.equal(d.key.kind === 'jhash' && d.key.field, 'daddr');
});

test('lc and wlc are refused by name on the nftables data plane', () => {
  const v = vs('203.0.113.10', 80, [rs('192.0.2.11', 80)], { scheduler: 'wlc' });
  assert.throws(() => slotTable(v, []), /wlc is not served by nftables/);
});
