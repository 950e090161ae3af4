// LbController.reload against a recording nft stand-in: a reload edits the table the last full
// apply built instead of replacing it (so unchanged virtual servers keep their persistence sets),
// nothing at all when nothing changed, and the full replace when an edit fails or the table is
// not known to match.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LbController, type ForwarderLike } from '../../../src/lb/controller.ts';
import { vsObjectName } from '../../../src/lb/plan.ts';
import type { VirtualServer } from '../../../src/config/model.ts';
import { vs, rs } from './fixtures.ts';

const noForwarder: ForwarderLike = {
  serve: async () => undefined,
  update: () => undefined,
  connections: () => null,
  closeConnections: () => 0,
  stop: async () => undefined,
};

function setup(vss: VirtualServer[]) {
  const applied: string[] = [];
  let failNext = 0;
  const logs: string[] = [];
  const lb = new LbController(
    vss,
    {
      nft: {
        apply: async (tx) => {
          const text = typeof tx === 'string' ? tx : tx.render();
          if (failNext > 0) {
            failNext--;
            throw new Error('nft -f - exited with 1: Error: No such file or directory');
          }
          applied.push(text);
        },
      },
      deleteFlows: async () => 0,
      makeChecker: () => ({ start() {}, stop() {}, reload() {} }),
      nftAvailable: async () => true,
      forwarder: noForwarder,
    },
    { log: (_l, m) => logs.push(m), rsChanged: () => {} },
  );
  return { lb, applied, logs, failNext: (n: number) => { failNext = n; } };
}

const isFull = (text: string): boolean => text.startsWith('add table ip tandem\ndelete table ip tandem\n');
const sticky = vs('203.0.113.10', 81, [rs('192.0.2.11', 8081), rs('192.0.2.12', 8081)], { scheduler: 'wrr', persistenceTimeoutMs: 300_000 });
const web = vs('203.0.113.10', 80, [rs('192.0.2.11', 8080), rs('192.0.2.12', 8080)], { scheduler: 'rr' });

test('reload: nothing changed → no nft at all; a change elsewhere → an edit that leaves the persistence VS alone', async () => {
  const t = setup([web, sticky]);
  await t.lb.start();
  assert.equal(t.applied.length, 1);
  assert.ok(isFull(t.applied[0]!));
  await t.lb.reload([{ ...web }, { ...sticky }]);
  assert.equal(t.applied.length, 1, 'a no-op reload applies nothing');
  await t.lb.reload([{ ...web, realServers: [...web.realServers, rs('192.0.2.13', 8080)] }, { ...sticky }]);
  assert.equal(t.applied.length, 2);
  assert.ok(!isFull(t.applied[1]!), 'an edit, not a replace');
  assert.ok(!t.applied[1]!.includes(vsObjectName(sticky)), t.applied[1]);
  assert.ok(t.logs.some((l) => /reload edit applied \(added 0, removed 0, replaced 0, refilled 1, unchanged 1\)/.test(l)), t.logs.join('\n'));
  await t.lb.stop();
});

test('reload: a failed edit falls back to the full replace, and the next reload edits again', async () => {
  const t = setup([web, sticky]);
  await t.lb.start();
  t.failNext(1);
  const next = [{ ...web, realServers: [web.realServers[0]!] }, sticky];
  await t.lb.reload(next);
  assert.equal(t.applied.length, 2);
  assert.ok(isFull(t.applied[1]!), 'recovered by a full apply');
  assert.ok(t.logs.some((l) => /reload edit failed, re-applying the whole table/.test(l)));
  await t.lb.reload([web, sticky]);
  assert.equal(t.applied.length, 3);
  assert.ok(!isFull(t.applied[2]!));
  await t.lb.stop();
});

test('reload: after a full apply that failed the table is not known, so the next reload replaces it', async () => {
  const t = setup([web]);
  await t.lb.start();
  t.failNext(2); // the edit and its fallback
  await assert.rejects(t.lb.reload([{ ...web, realServers: [web.realServers[0]!] }]));
  await t.lb.reload([web]);
  assert.ok(isFull(t.applied.at(-1)!), 'full apply, the kernel state being unknown');
  await t.lb.stop();
});
