// The userspace forwarder's scheduler with IPv6 clients: sh and mh hash the client's masked
// IPv6 address (stable, spread, both boards alike), persistence groups clients by the IPv6
// prefix of persistence_granularity; IPv4 clients are scheduled as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ForwarderScheduler, type SchedulerOptions } from '../../../src/lb/forwarder/scheduler.ts';
import type { Backend } from '../../../src/lb/sched/index.ts';

const b = (i: number): Backend => ({ key: `2001:db8:0:2::${i}:8080`, address: `2001:db8:0:2::${i}`, port: 8080, weight: 1 });
const BACKENDS = [b(11), b(12), b(13)];

function sched(over: Partial<SchedulerOptions>): ForwarderScheduler {
  const s = new ForwarderScheduler({
    scheduler: 'sh', seed: 0x1234abcd, configuredCount: 3, vip: '2001:db8:0:1::1',
    persistenceTimeoutMs: 0, persistenceGranularity: 128, ...over,
  });
  s.setBackends(BACKENDS);
  return s;
}

test('sh and mh hash IPv6 clients: the same client always gets the same server, on either board; clients spread', () => {
  for (const scheduler of ['sh', 'mh'] as const) {
    const a = sched({ scheduler });
    const other = sched({ scheduler });
    const clients = Array.from({ length: 60 }, (_, i) => `2001:db8:0:1::${(0x100 + i).toString(16)}`);
    const picks = clients.map((c) => a.pick(c, 0)!.key);
    assert.deepEqual(clients.map((c) => a.pick(c, 0)!.key), picks, `${scheduler}: stable`);
    assert.deepEqual(clients.map((c) => other.pick(c, 0)!.key), picks, `${scheduler}: the other board agrees`);
    assert.equal(new Set(picks).size, 3, `${scheduler}: spread over every server`);
  }
});

test('persistence_granularity masks IPv6 clients: a /64 sticks together with sh; rr persistence keys on the prefix', () => {
  const s = sched({ scheduler: 'sh', persistenceGranularity: 64 });
  const first = s.pick('2001:db8:0:1::1', 0)!.key;
  for (const c of ['2001:db8:0:1::2', '2001:db8:0:1:ffff::9', '2001:db8:0:1:1234:5678:9abc:def0']) assert.equal(s.pick(c, 0)!.key, first, c);
  const rr = sched({ scheduler: 'rr', persistenceGranularity: 64, persistenceTimeoutMs: 60_000 });
  const stuck = rr.pick('2001:db8:0:1::1', 0)!.key;
  for (let i = 0; i < 5; i++) assert.equal(rr.pick(`2001:db8:0:1::${i + 2}`, 1000)!.key, stuck, 'same /64, same server');
  assert.equal(rr.persistenceEntries, 1);
  assert.notEqual(rr.pick('2001:db8:0:9::1', 1000)!.key, stuck, 'another /64 is scheduled afresh (rr moves on)');
});
