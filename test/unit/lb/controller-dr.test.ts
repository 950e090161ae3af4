// The LB controller with lb_kind DR, against stand-ins for nft, the checker, the host's
// interfaces and the sysctls: the netdev table beside NAT's, health edits without conntrack,
// the DR sysctls held on the interfaces facing the real servers and put back, the forwarding
// method in the status model and the MQTT payload.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LbController, type ForwarderLike, type LbDeps } from '../../../src/lb/controller.ts';
import type { VirtualServer, RealServer } from '../../../src/config/model.ts';
import type { RsStateEvent } from '../../../src/check/types.ts';
import { realServerPayload, readRealServer } from '../../../src/report/payloads.ts';
import { configuredVips, drTopology } from '../../../src/lb/dr-topology.ts';
import { vs, rs } from './fixtures.ts';

const noForwarder: ForwarderLike = {
  serve: async () => undefined, update: () => undefined, connections: () => null, closeConnections: () => 0, stop: async () => undefined,
};
const HOST = new Map([['eth0', ['203.0.113.2/24']], ['eth1', ['192.0.2.2/24']], ['lo', ['127.0.0.1/8']]]);
const VIPS = [{ address: '203.0.113.1', prefix: 24, dev: 'eth0' }, { address: '192.0.2.1', prefix: 24, dev: 'eth1' }];

function setup(vss: VirtualServer[], over: Partial<LbDeps> = {}) {
  const applied: string[] = [];
  const held: string[][] = [];
  let restored = 0;
  const flows: string[] = [];
  let emit: (ev: RsStateEvent) => void = () => {};
  const logs: string[] = [];
  const lb = new LbController(
    vss,
    {
      nft: { apply: async (tx) => { applied.push(typeof tx === 'string' ? tx : tx.render()); } },
      deleteFlows: async (a, p) => { flows.push(`${a}:${p}`); return 0; },
      deleteVipFlows: async (vip, port) => { flows.push(`vip ${vip}:${port}`); return 0; },
      countFlows: async (a) => { flows.push(`count ${a}`); return 1; },
      makeChecker: (_v, onChange) => { emit = onChange; return { start() {}, stop() {}, reload() {} }; },
      nftAvailable: async () => true,
      forwarder: noForwarder,
      vips: () => VIPS,
      interfaces: async () => HOST,
      sysctls: { hold: async (w) => { held.push(w.map(([p, v]) => `${p}=${v}`)); }, restore: async () => { restored++; } },
      ...over,
    },
    { log: (l, m) => logs.push(`${l}: ${m}`), rsChanged: () => {} },
  );
  const ev = (v: VirtualServer, r: RealServer, up: boolean, weight = r.weight): void =>
    emit({ vs: v.name, protocol: v.protocol, rs: r.name, up, weight, reason: 'test', latencyMs: null, failures: up ? 0 : 2, lastCheck: 0 });
  return { lb, applied, held, restoredCount: () => restored, flows, ev, logs };
}

const [r1, r2, r3] = ['192.0.2.11', '192.0.2.12', '192.0.2.13'].map((a) => rs(a, 80));
const dr = vs('203.0.113.1', 80, [r1!, r2!, r3!], { method: 'DR', scheduler: 'mh' });
const nat = vs('203.0.113.1', 8080, [rs('192.0.2.11', 9000)], { scheduler: 'rr' });

test('start: one transaction with NAT\'s table and the netdev table; DR sysctls held on the interface facing the real servers', async () => {
  const t = setup([dr, nat]);
  await t.lb.start();
  assert.equal(t.applied.length, 1);
  assert.match(t.applied[0]!, /^add table ip tandem\n/);
  assert.match(t.applied[0]!, /add chain netdev tandem in_65746830 \{ type filter hook ingress device "eth0" /);
  assert.match(t.applied[0]!, /fwd ip to jhash ip saddr mod \d+ seed 0x[0-9a-f]+ map @v_cb007101_t80_s device "eth1"/);
  assert.match(t.applied[0]!, /add element netdev tandem v_cb007101_t80_s \{ [^}]*192\.0\.2\.12/);
  assert.deepEqual(t.held, [['/proc/sys/net/ipv4/conf/eth1/accept_local=1', '/proc/sys/net/ipv4/conf/eth1/rp_filter=2']]);
  // DR flows are not tracked: no VIP flows to forget for it, only for the NAT one.
  assert.deepEqual(t.flows, ['vip 203.0.113.1:8080']);
  const st = t.lb.status();
  assert.deepEqual(st.map((v) => [v.port, v.method, v.forwarder]), [[80, 'DR', 'nftables'], [8080, 'NAT', 'nftables']]);
  await t.lb.refreshConnectionCounts();
  assert.deepEqual(t.flows.filter((f) => f.startsWith('count')), ['count 192.0.2.11'], 'conntrack counts the NAT server only');
  await t.lb.stop();
  assert.match(t.applied.at(-1)!, /add table netdev tandem\ndelete table netdev tandem\n$/);
  assert.equal(t.restoredCount(), 1);
});

test('a DR real server failing: a netdev-only edit, no conntrack deletion; draining one keeps its TCP flows', async () => {
  const t = setup([dr]);
  await t.lb.start();
  t.ev(dr, r1!, true);
  t.ev(dr, r2!, true);
  t.ev(dr, r2!, false);
  await t.lb.settle();
  const edit = t.applied.at(-1)!;
  assert.ok(edit.split('\n').filter(Boolean).every((l) => l.includes(' netdev tandem v_cb007101_t80')), edit);
  assert.ok(!edit.includes('192.0.2.12'), 'rs2 has no slot');
  assert.ok(!t.flows.some((f) => f.startsWith('192.0.2.12')), 'no conntrack -D for a DR server');
  const r = await t.lb.setDrained(dr.name, r3!.name, true);
  assert.ok(r.ok);
  // The existing flows' slots (M..2M-1) hold rs3; the new flows' (0..M-1) do not.
  const els = /add element netdev tandem v_cb007101_t80_s \{ ([^}]*) \}/.exec(t.applied.at(-1)!)![1]!.split(', ').map((e) => e.split(' : ') as [string, string]);
  const M = els.length / 2;
  assert.ok(els.filter(([k]) => Number(k) < M).every(([, a]) => a !== '192.0.2.13'));
  assert.ok(els.filter(([k]) => Number(k) >= M).some(([, a]) => a === '192.0.2.13'));
  assert.match(t.applied.at(-1)!, /add rule netdev tandem v_cb007101_t80 goto v_cb007101_t80_k\n/, 'kept mode entered');
  // The controller remembers kept mode: another change meanwhile only refills the map…
  t.ev(dr, r1!, false);
  await t.lb.settle();
  assert.ok(!/chain|set/.test(t.applied.at(-1)!), t.applied.at(-1)!);
  // …and enabling the server leaves it.
  await t.lb.setDrained(dr.name, r3!.name, false);
  assert.match(t.applied.at(-1)!, /delete set netdev tandem v_cb007101_t80_n\n/);
  await t.lb.stop();
});

test('reload: the last DR virtual server gone removes the netdev table and puts the sysctls back', async () => {
  const t = setup([dr, nat]);
  await t.lb.start();
  await t.lb.reload([nat]);
  assert.match(t.applied.at(-1)!, /delete set ip tandem dr_services\nadd table netdev tandem\ndelete table netdev tandem\n$/);
  assert.deepEqual(t.held.at(-1), [], 'nothing held: the keeper restores what it held');
  await t.lb.stop();
  // This process made a netdev table: the stop removes it (idempotently) whatever the last reload did.
  assert.match(t.applied.at(-1)!, /add table netdev tandem\ndelete table netdev tandem\n$/);
});

test('a real server no interface reaches: an error, and it gets no slot; nft missing: DR cannot be served, said so', async () => {
  const far = vs('203.0.113.1', 80, [r1!, rs('198.51.100.20', 80)], { method: 'DR', scheduler: 'mh' });
  const t = setup([far]);
  await t.lb.start();
  assert.ok(t.logs.some((l) => l === 'error: lb_kind DR: no interface reaches 198.51.100.20 (virtual_server 203.0.113.1 80) directly; it gets no packets'), t.logs.join('\n'));
  assert.doesNotMatch(t.applied[0]!, /198\.51\.100\.20/, 'it gets no slot');
  await t.lb.stop();
  const n = setup([dr], { nftAvailable: async () => false });
  await n.lb.start();
  assert.ok(n.logs.some((l) => /^error: lb_kind DR needs nftables \(netdev ingress\): 1 virtual server cannot be served here$/.test(l)), n.logs.join('\n'));
  assert.equal(n.lb.status()[0]!.forwarder, 'nftables', 'never the userspace forwarder');
  await n.lb.stop();
});

test('topology: ingress from the VIP\'s instance interface, egress by the host\'s subnets first, then the VIPs\'', () => {
  const inst = [{ interface: 'eth0', virtualIps: [{ address: '203.0.113.1', prefix: 32, dev: null }], virtualIpsExcluded: [{ address: '192.0.2.1', prefix: 24, dev: 'eth1' }] }];
  // The builder's input is the model's instances; only these fields are read.
  const vips = configuredVips(inst as unknown as Parameters<typeof configuredVips>[0]);
  assert.deepEqual(vips, [{ address: '203.0.113.1', prefix: 32, dev: 'eth0' }, { address: '192.0.2.1', prefix: 24, dev: 'eth1' }]);
  const withSorry = { ...dr, sorryServer: { address: '198.51.100.9', port: 80, pos: dr.pos } };
  const r = drTopology([withSorry, nat], vips, new Map([['eth0', ['203.0.113.2/24']], ['eth2', ['198.51.100.2/25', '198.51.100.3/24']]]));
  assert.deepEqual([...r.topo.ingress], [['203.0.113.1', ['eth0']]]);
  assert.deepEqual([...r.topo.egress], [['192.0.2.11', 'eth1'], ['192.0.2.12', 'eth1'], ['192.0.2.13', 'eth1'], ['198.51.100.9', 'eth2']]);
  assert.deepEqual(r.problems, []);
  const missing = drTopology([dr], vips, new Map([['eth1', ['192.0.2.2/24']]]));
  assert.deepEqual([...missing.topo.ingress], [['203.0.113.1', []]]);
  assert.match(missing.problems[0]!, /interface eth0 of VIP 203\.0\.113\.1 does not exist here/);
});

test('the MQTT lb/VS/RS payload carries the forwarding method when given', () => {
  const p = JSON.parse(realServerPayload({ up: true, weight: 1, lastCheck: null, failures: 0, latencyMs: null, method: 'DR' }));
  assert.equal(p.method, 'DR');
  assert.equal(readRealServer(JSON.stringify(p))?.method, 'DR');
  assert.equal(readRealServer(JSON.stringify({ ...p, method: 'X' }))?.method, undefined);
});
