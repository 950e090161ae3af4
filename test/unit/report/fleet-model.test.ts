// The fleet model's timeline, history, drift, pair identity and bounds (src/report/fleet.ts).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyMessage, fleetSnapshot, newFleet, pairs, renderFleetTable, MAX_BOARDS, MAX_ENTRIES_PER_BOARD, MAX_HISTORY_POINTS, MAX_PAYLOAD_BYTES,
  type Alert, type TimelineEntry,
} from '../../../src/report/fleet.ts';
import { birthPayload, vrrpPayload, type VrrpReport } from '../../../src/report/payloads.ts';

const T0 = Date.parse('2030-01-01T00:00:00Z');

function v(state: VrrpReport['state'], o: Partial<VrrpReport> = {}): string {
  return vrrpPayload({ state, priority: 100, effectivePriority: 100, vips: ['203.0.113.1/24'], masterAddress: null, since: T0, vrid: 51, interface: 'eth0', reason: 'initial', ...o });
}

function birth(o: { version?: string; hash?: string; parts?: Record<string, string>; addresses?: string[]; bdSeq?: number } = {}): string {
  return birthPayload({
    version: o.version ?? '1.0.0', board: 'generic', bootTimeMs: T0, bdSeq: o.bdSeq ?? 1,
    interfaces: [{ name: 'eth0', mac: null, addresses: o.addresses ?? [] }],
    config: o.hash ? { hash: o.hash, parts: o.parts ?? {} } : null,
  });
}

test('the timeline: each state a board enters, with its since and reason, and board status changes', () => {
  const m = newFleet('tandem', T0);
  applyMessage(m, 'tandem/a/status', 'online', T0);
  applyMessage(m, 'tandem/a/vrrp/VI_1', v('MASTER', { reason: 'master down timer expired', since: T0 + 10 }), T0 + 20);
  applyMessage(m, 'tandem/b/status', 'online', T0);
  applyMessage(m, 'tandem/b/vrrp/VI_1', v('BACKUP', { since: T0 + 5 }), T0 + 20);
  // The same payload again (a rebirth): nothing new on the timeline.
  applyMessage(m, 'tandem/a/vrrp/VI_1', v('MASTER', { reason: 'master down timer expired', since: T0 + 10 }), T0 + 30);
  applyMessage(m, 'tandem/a/status', 'lost', T0 + 1000);
  applyMessage(m, 'tandem/b/vrrp/VI_1', v('MASTER', { reason: 'master down timer expired', since: T0 + 1500 }), T0 + 1510);
  const tl = (fleetSnapshot(m, T0 + 2000) as { timeline: TimelineEntry[] }).timeline;
  assert.deepEqual(tl.map((e) => `${e.node} ${e.kind} ${e.from ?? '-'}>${e.to} ${e.reason}`), [
    'b vrrp BACKUP>MASTER master down timer expired',
    'a board online>lost connection lost: the broker published its will',
    'b vrrp ->BACKUP initial',
    'a vrrp ->MASTER master down timer expired',
  ], 'newest first');
  assert.equal(tl[0]!.at, T0 + 1500, 'a VRRP entry is dated by the payload\'s since');
  assert.equal(tl[0]!.vrid, 51);
});

test('history: a point per health payload, traffic from the NIC counters, thinned to one per 5 s over the last hour', () => {
  const m = newFleet('tandem', T0);
  const h = (bytes: number, cpu: number): string => JSON.stringify({ intervalMs: 1000, cpuPercent: cpu, temperatureC: 51.5, conntrackCount: 7, nics: [{ name: 'eth0', rxBytes: bytes, txBytes: bytes }] });
  applyMessage(m, 'tandem/a/health', h(0, 1), T0);
  applyMessage(m, 'tandem/a/health', h(5000, 2), T0 + 5000);
  const b = m.boards.get('a')!;
  assert.equal(b.history.length, 2);
  assert.deepEqual(b.history[1], { at: T0 + 5000, cpu: 2, temp: 51.5, traffic: 2000, conntrack: 7 });
  assert.equal(b.history[0]!.traffic, null, 'no rate before a second sample');
  // Every second for two hours: at most MAX_HISTORY_POINTS, the oldest within the hour.
  for (let i = 1; i <= 7200; i++) applyMessage(m, 'tandem/a/health', h(5000 + i * 100, 3), T0 + 5000 + i * 1000);
  assert.ok(b.history.length <= MAX_HISTORY_POINTS, `${b.history.length} points`);
  assert.ok(b.history.length >= MAX_HISTORY_POINTS - 2, `${b.history.length} points`);
  const last = b.history[b.history.length - 1]!;
  assert.ok(last.at - b.history[0]!.at <= 3600_000);
  assert.equal(last.traffic, 200);
  // A counter that went backwards (a NIC reset) gives no rate, never a negative one.
  applyMessage(m, 'tandem/a/health', h(0, 3), last.at + 5000);
  assert.equal(b.history[b.history.length - 1]!.traffic, null);
});

test('drift: different versions or shared-configuration digests flag the pair and say what differs', () => {
  const m = newFleet('tandem', T0);
  for (const n of ['a', 'b']) applyMessage(m, `tandem/${n}/status`, 'online', T0);
  applyMessage(m, 'tandem/a/birth', birth({ version: '1.0.0', hash: 'h1', parts: { 'vrrp_instance VI_1': 'x', 'virtual_server 203.0.113.1 80': 'p' } }), T0);
  applyMessage(m, 'tandem/b/birth', birth({ version: '1.1.0', hash: 'h2', parts: { 'vrrp_instance VI_1': 'y' } }), T0);
  applyMessage(m, 'tandem/a/vrrp/VI_1', v('MASTER'), T0);
  applyMessage(m, 'tandem/b/vrrp/VI_1', v('BACKUP'), T0);
  const p = pairs(m, T0)[0]!;
  assert.deepEqual(p.drift, ['version: a 1.0.0, b 1.1.0', 'virtual_server 203.0.113.1 80: only on a', 'vrrp_instance VI_1 differs']);
  const al = (fleetSnapshot(m, T0) as { alerts: Alert[] }).alerts;
  assert.deepEqual(al.map((a) => a.kind), ['drift']);
  assert.match(renderFleetTable(m, T0), /DRIFT a b: version: a 1\.0\.0, b 1\.1\.0/);
  // Agreeing boards: no drift; a board without a digest (an older version) is not compared.
  applyMessage(m, 'tandem/b/birth', birth({ version: '1.0.0', hash: 'h1', parts: { 'vrrp_instance VI_1': 'x', 'virtual_server 203.0.113.1 80': 'p' } }), T0);
  assert.deepEqual(pairs(m, T0)[0]!.drift, []);
  applyMessage(m, 'tandem/b/birth', birth({ version: '1.0.0' }), T0);
  assert.deepEqual(pairs(m, T0)[0]!.drift, []);
});

test('pairs are told apart by the boards they hear when two sites repeat VRID and VIPs; a later split brain stays one pair', () => {
  const m = newFleet('tandem', T0);
  const site = (x: string, y: string, addrX: string, addrY: string): void => {
    applyMessage(m, `tandem/${x}/status`, 'online', T0);
    applyMessage(m, `tandem/${y}/status`, 'online', T0);
    applyMessage(m, `tandem/${x}/birth`, birth({ addresses: [`${addrX}/24`] }), T0);
    applyMessage(m, `tandem/${y}/birth`, birth({ addresses: [`${addrY}/24`] }), T0);
    applyMessage(m, `tandem/${x}/vrrp/VI_1`, v('MASTER', { masterAddress: addrX }), T0);
    applyMessage(m, `tandem/${y}/vrrp/VI_1`, v('BACKUP', { masterAddress: addrX }), T0);
  };
  site('s1a', 's1b', '10.0.0.2', '10.0.0.3');
  site('s2a', 's2b', '10.0.0.2', '10.0.0.3'); // the same VRID, VIPs and addresses at another site
  // Nothing in the payloads tells these sites apart (they should use their own prefixes): the
  // boards stay one group, so the two MASTERs show, rather than two pairs being guessed.
  let ps = pairs(m, T0);
  assert.deepEqual(ps.map((p) => p.boards.join('+')), ['s1a+s1b+s2a+s2b']);
  // With distinct addresses the sites are two pairs and neither is a split brain.
  const m2 = newFleet('tandem', T0);
  const site2 = (x: string, y: string, addrX: string, addrY: string): void => {
    for (const n of [x, y]) applyMessage(m2, `tandem/${n}/status`, 'online', T0);
    applyMessage(m2, `tandem/${x}/birth`, birth({ addresses: [`${addrX}/24`] }), T0);
    applyMessage(m2, `tandem/${y}/birth`, birth({ addresses: [`${addrY}/24`] }), T0);
    applyMessage(m2, `tandem/${x}/vrrp/VI_1`, v('MASTER', { masterAddress: addrX }), T0);
    applyMessage(m2, `tandem/${y}/vrrp/VI_1`, v('BACKUP', { masterAddress: addrX }), T0);
  };
  site2('s1a', 's1b', '10.1.0.2', '10.1.0.3');
  site2('s2a', 's2b', '10.2.0.2', '10.2.0.3');
  ps = pairs(m2, T0);
  assert.deepEqual(ps.map((p) => p.boards.join('+')), ['s1a+s1b', 's2a+s2b']);
  assert.ok(ps.every((p) => !p.splitBrain), 'two MASTERs of one VRID at two sites are no split brain');
  assert.notEqual(ps[0]!.id, ps[1]!.id);
  // Site 1 splits its brain: s1b becomes MASTER hearing only itself. The link is remembered.
  applyMessage(m2, 'tandem/s1b/vrrp/VI_1', v('MASTER', { masterAddress: '10.1.0.3' }), T0 + 1);
  ps = pairs(m2, T0 + 1);
  assert.deepEqual(ps.map((p) => [p.boards.join('+'), p.splitBrain]), [['s1a+s1b', true], ['s2a+s2b', false]]);
  assert.deepEqual(ps[0]!.masters, ['s1a', 's1b']);
});

test('bounds: oversize payloads, too many boards, too many entries, long node names are dropped and counted', () => {
  const m = newFleet('tandem', T0);
  assert.equal(applyMessage(m, 'tandem/a/health', JSON.stringify({ pad: 'x'.repeat(MAX_PAYLOAD_BYTES) }), T0), false);
  assert.equal(applyMessage(m, `tandem/${'n'.repeat(500)}/status`, 'online', T0), false);
  for (let i = 0; i < MAX_BOARDS + 5; i++) applyMessage(m, `tandem/b${i}/status`, 'online', T0);
  assert.equal(m.boards.size, MAX_BOARDS);
  const big = newFleet('tandem', T0);
  for (let i = 0; i < MAX_ENTRIES_PER_BOARD + 3; i++) applyMessage(big, `tandem/a/vrrp/VI_${i}`, v('BACKUP', { vrid: (i % 255) + 1 }), T0);
  assert.equal(big.boards.get('a')!.vrrp.size, MAX_ENTRIES_PER_BOARD);
  assert.deepEqual(m.dropped, { oversize: 1, boards: 5, entries: 0, nodeName: 1 });
  assert.equal(big.dropped.entries, 3);
  assert.deepEqual((fleetSnapshot(m, T0) as { dropped: unknown }).dropped, m.dropped);
});

test('every change bumps the model version; a rejected message does not', () => {
  const m = newFleet('tandem', T0);
  applyMessage(m, 'tandem/a/status', 'online', T0);
  const v1 = m.version;
  applyMessage(m, 'tandem/a/status', 'bogus', T0);
  assert.equal(m.version, v1);
  applyMessage(m, 'tandem/a/vrrp/VI_1', v('MASTER'), T0);
  assert.equal(m.version, v1 + 1);
});
