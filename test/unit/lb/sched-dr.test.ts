// lb_kind DR's slot tables (src/lb/sched/resilient.ts): with no conntrack behind them, a flow
// breaks whenever its slot changes owner, so a death may move only the dead server's flows
// (the bound: at most 1 % of the others), a return only what comes back to it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drTables, drSlotTables, maglevSize, slotIndex, vsSeed, type Backend, type Member } from '../../../src/lb/sched/index.ts';
import { hash32 } from '../../../src/lb/sched/seed.ts';
import { vs, rs } from './fixtures.ts';

const members = (n: number, weight = (_i: number): number => 1): Member[] =>
  Array.from({ length: n }, (_, i) => ({ key: `192.0.2.${11 + i}:80`, address: `192.0.2.${11 + i}`, port: 80, weight: weight(i), state: 'up' as const }));
const withState = (ms: Member[], key: string, state: Member['state']): Member[] => ms.map((m) => (m.key === key ? { ...m, state } : m));
const counts = (xs: Backend[]): Map<string, number> => {
  const m = new Map<string, number>();
  for (const b of xs) m.set(b.key, (m.get(b.key) ?? 0) + 1);
  return m;
};
/** Slots whose owner differs between two tables. */
const changed = (a: Backend[], b: Backend[]): number[] => a.flatMap((x, i) => (x.key !== b[i]!.key ? [i] : []));

const SEEDS = Array.from({ length: 50 }, (_, i) => hash32(7, String(i), 'seed'));

test('a death moves only the dead server\'s slots (0 % of the others, over 50 seeds and both layouts)', () => {
  for (const kind of ['mh', 'sh'] as const) {
    let others = 0;
    let movedOthers = 0;
    for (const seed of SEEDS) {
      const all = members(8);
      const M = maglevSize(8);
      const before = drTables(kind, all, seed, M).fresh;
      const dead = all[seed % 8]!.key;
      const after = drTables(kind, withState(all, dead, 'gone'), seed, M).fresh;
      assert.equal(after.length, M);
      assert.ok(after.every((b) => b.key !== dead), 'nothing goes to the dead server');
      for (let i = 0; i < M; i++) {
        if (before[i]!.key === dead) continue;
        others++;
        if (after[i]!.key !== before[i]!.key) movedOthers++;
      }
    }
    assert.equal(movedOthers, 0, `${kind}: ${movedOthers}/${others} slots of surviving servers moved`);
    assert.ok(movedOthers / others <= 0.01);
  }
});

test('a return takes back exactly its own slots: the table is the one before the death', () => {
  for (const seed of SEEDS.slice(0, 10)) {
    const all = members(5, (i) => 1 + (i % 3));
    const M = maglevSize(5);
    const before = drTables('mh', all, seed, M).fresh;
    const down = drTables('mh', withState(all, all[2]!.key, 'gone'), seed, M).fresh;
    const back = drTables('mh', all, seed, M).fresh;
    assert.deepEqual(back, before);
    // What moved on the way back is exactly what the server owns again.
    for (const i of changed(down, back)) assert.equal(back[i]!.key, all[2]!.key);
  }
});

test('two down, one returns: only slots that come back to it move', () => {
  const all = members(6);
  const M = maglevSize(6);
  const seed = 99;
  const [x, y] = [all[1]!.key, all[4]!.key];
  const bothDown = drTables('mh', withState(withState(all, x, 'gone'), y, 'gone'), seed, M).fresh;
  const yBack = drTables('mh', withState(all, x, 'gone'), seed, M).fresh;
  const moved = changed(bothDown, yBack);
  assert.ok(moved.length > 0);
  for (const i of moved) assert.equal(yBack[i]!.key, y, `slot ${i} moved to ${yBack[i]!.key}, not to the returning server`);
});

test('the base layout honours weights (mh within one slot per unit of weight); a dead server\'s share spreads over all', () => {
  const all = members(3, (i) => i + 1); // weights 1, 2, 3
  const M = maglevSize(3);
  const t = drTables('mh', all, 1234, M).fresh;
  const c = counts(t);
  const unit = M / 6;
  for (const [i, m] of all.entries()) assert.ok(Math.abs(c.get(m.key)! - unit * (i + 1)) <= i + 1.5, `weight ${i + 1}: ${c.get(m.key)} of ${M}`);
  // 8 equal servers, one dies: each survivor takes some of its slots, none takes more than half.
  const eight = members(8);
  const M8 = maglevSize(8);
  const before = drTables('mh', eight, 5, M8).fresh;
  const after = drTables('mh', withState(eight, eight[0]!.key, 'gone'), 5, M8).fresh;
  const orphans = changed(before, after);
  const takers = counts(orphans.map((i) => after[i]!));
  assert.ok(takers.size >= 4, `orphans spread over ${takers.size} survivors`);
  assert.ok(Math.max(...takers.values()) <= orphans.length / 2);
});

test('kept servers (drained, weight 0, down with inhibit_on_failure) keep their existing flows, get no new ones', () => {
  const all = members(4);
  const M = maglevSize(4);
  const t0 = drTables('sh', all, 3, M);
  assert.deepEqual(t0.fresh, t0.established, 'all up: one table');
  const kept = drTables('sh', withState(all, all[1]!.key, 'kept'), 3, M);
  assert.ok(kept.fresh.every((b) => b.key !== all[1]!.key), 'no new flow to the kept server');
  assert.deepEqual(kept.established, t0.fresh, 'its existing flows stay where they are');
  for (const i of changed(t0.fresh, kept.fresh)) assert.equal(t0.fresh[i]!.key, all[1]!.key, 'only its new flows go elsewhere');
  // Nothing up: no new flows anywhere, existing ones to kept servers still go there.
  const none = drTables('sh', all.map((m) => ({ ...m, state: 'kept' as const })), 3, M);
  assert.deepEqual(none.fresh, []);
  assert.deepEqual(none.established, t0.fresh);
  assert.deepEqual(drTables('sh', all.map((m) => ({ ...m, state: 'gone' as const })), 3, M), { size: M, fresh: [], established: [] });
});

test('both boards compute the same tables whatever the configuration order; the key is the masked client hash', () => {
  const a = vs('203.0.113.1', 80, [rs('192.0.2.11', 80), rs('192.0.2.12', 80, { weight: 2 }), rs('192.0.2.13', 80)], { method: 'DR', persistenceGranularity: 24 });
  const b = { ...a, realServers: [a.realServers[2]!, a.realServers[0]!, a.realServers[1]!] };
  const m = (v: typeof a): Member[] => v.realServers.map((r) => ({ key: `${r.address}:${r.port}`, address: r.address, port: r.port, weight: r.weight, state: 'up' as const }));
  for (const scheduler of ['sh', 'mh'] as const) {
    const ta = drSlotTables({ ...a, scheduler }, m(a));
    assert.deepEqual(ta, drSlotTables({ ...b, scheduler }, m(b)), scheduler);
    assert.deepEqual(ta.key, { kind: 'jhash', field: 'saddr', mask: 0xffffff00, seed: vsSeed(a) });
    assert.equal(ta.size, maglevSize(3));
  }
  assert.throws(() => drSlotTables({ ...a, scheduler: 'rr' }, m(a)), /cannot be used with lb_kind DR/);
});

test('flows by hash: a death of one of 8 moves its own flows and none of the others', () => {
  const all = members(8);
  const M = maglevSize(8);
  const before = drTables('mh', all, 42, M).fresh;
  const after = drTables('mh', withState(all, all[5]!.key, 'gone'), 42, M).fresh;
  let others = 0;
  let moved = 0;
  for (let f = 0; f < 20_000; f++) {
    const i = slotIndex(hash32(1, String(f), 'flow'), M);
    if (before[i]!.key === all[5]!.key) continue;
    others++;
    if (after[i]!.key !== before[i]!.key) moved++;
  }
  assert.equal(moved, 0, `${moved}/${others}`);
});
