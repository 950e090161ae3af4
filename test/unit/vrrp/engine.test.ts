// The VRRP engine with its real state machines and receive path, driven through fakes of the
// transport and the host (fakes.ts) under the fake clock: start, takeover, handover on stop,
// maintenance, reload in place, crash recovery, FAULT on a refused VIP, and the receive path's
// counting and rate-limited logging of drops.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VrrpEngine } from '../../../src/vrrp/worker/engine.ts';
import type { EngineConfig } from '../../../src/vrrp/engine-config.ts';
import { DEFAULT_GARP } from '../../../src/vrrp/machine.ts';
import { handoverBoundMs, masterDownIntervalMs, skewTimeMs } from '../../../src/vrrp/timing.ts';
import type { SyncGroupStatus, VrrpInstanceStatus } from '../../../src/status.ts';
import { FakeClock } from '../fake-clock.ts';
import { FakeHostNet, FakeTransport } from './fakes.ts';
import { packet } from './helpers.ts';
import { inst, PEER, PRIV, VIP } from './engine-fixtures.ts';

function setup(cfg: EngineConfig, ifs: Record<string, string> = { eth0: '192.0.2.2', eth1: '198.51.100.2' }) {
  const clock = new FakeClock(1_700_000_000_000);
  const tx = new FakeTransport(clock);
  const net = new FakeHostNet(ifs);
  const logs: string[] = [];
  const transitions: Array<{ name: string; from: string; to: string; reason: string; status: VrrpInstanceStatus }> = [];
  const groups: SyncGroupStatus[] = [];
  const engine = new VrrpEngine(cfg, tx, net, {
    log: (_level, msg) => logs.push(msg),
    stateChanged: (status, from, reason) => transitions.push({ name: status.name, from, to: status.state, reason, status }),
    groupChanged: (g) => groups.push(g),
  }, clock);
  const links = new Map([['eth0', true], ['eth1', true]]);
  const state = (name = 'VI_PUB') => engine.status().instances.find((i) => i.name === name)!;
  /** An advert from the peer board for VRID 51 (or `vrid`) with this priority. */
  const fromPeer = (priority: number, o: { vrid?: number; dev?: string; advertIntMs?: number; version?: 2 | 3; addresses?: string[] } = {}) =>
    tx.deliver(o.dev ?? 'eth0', packet(
      { vrid: o.vrid ?? 51, priority, version: o.version ?? 3, advertIntMs: o.advertIntMs ?? 100, addresses: o.addresses ?? [VIP] },
      { src: o.dev === 'eth1' ? '198.51.100.3' : PEER },
    ));
  return { clock, tx, net, logs, transitions, groups, engine, links, state, fromPeer };
}

async function toMaster(s: ReturnType<typeof setup>): Promise<void> {
  await s.engine.start(s.links);
  await s.clock.advance(masterDownIntervalMs(3, 100, 100) + 1);
  assert.equal(s.state().state, 'MASTER');
}

test('alone it starts BACKUP, becomes MASTER after Master_Down_Interval, adds its VIP, sends GARPs and advertises every interval', async () => {
  const s = setup({ instances: [inst()], syncGroups: [] });
  await s.engine.start(s.links);
  assert.equal(s.state().state, 'BACKUP');
  const mdi = masterDownIntervalMs(3, 100, 100);
  await s.clock.advance(mdi - 1);
  assert.equal(s.state().state, 'BACKUP', 'not before Master_Down_Interval');
  assert.equal(s.tx.sent.length, 0);
  await s.clock.advance(2);
  assert.equal(s.state().state, 'MASTER');
  assert.equal(s.state().reason, 'master down timer expired');
  assert.ok(s.net.has('eth0', VIP));
  assert.ok(s.net.log.includes(`garp ${VIP} eth0 x5`));
  const n = s.tx.sent.length;
  await s.clock.advance(1000);
  assert.equal(s.tx.sent.length - n, 10, 'one advert per 100 ms');
  assert.ok(s.tx.sent.every((x) => x.src === '192.0.2.2' && x.dst === '224.0.0.18' && x.advert.priority === 100));
  assert.deepEqual(s.transitions.map((t) => `${t.from}>${t.to}`), ['INIT>BACKUP', 'BACKUP>MASTER']);
});

test('crash recovery: a VIP left on the interface by a crash is removed before the first advertisement', async () => {
  const s = setup({ instances: [inst()], syncGroups: [] });
  await s.net.addVip({ address: VIP, prefix: 24, dev: 'eth0' });
  s.net.log.length = 0;
  await s.engine.start(s.links);
  assert.deepEqual(s.net.log, [`del ${VIP} eth0`]);
  assert.equal(s.tx.sent.length, 0);
  assert.ok(!s.net.has('eth0', VIP));
  assert.ok(s.logs.some((l) => l.includes(`removing VIP ${VIP} left behind on eth0`)));
});

test('a better peer keeps it BACKUP; silence makes it take over; a priority-0 advert makes it take over after Skew_Time', async () => {
  const s = setup({ instances: [inst()], syncGroups: [] });
  await s.engine.start(s.links);
  for (let i = 0; i < 20; i++) {
    s.fromPeer(150);
    await s.clock.advance(100);
  }
  assert.equal(s.state().state, 'BACKUP');
  assert.equal(s.state().masterAddress, PEER);
  assert.equal(s.tx.sent.length, 0);
  assert.equal(s.state().counters.advert_rcvd, 20);
  // The peer falls silent (power loss): Master_Down_Interval after its last advert.
  await s.clock.advance(masterDownIntervalMs(3, 100, 100) - 100 - 1);
  assert.equal(s.state().state, 'BACKUP');
  await s.clock.advance(2);
  assert.equal(s.state().state, 'MASTER');

  const r = setup({ instances: [inst()], syncGroups: [] });
  await r.engine.start(r.links);
  r.fromPeer(150);
  await r.clock.advance(50);
  r.fromPeer(0);
  await r.clock.advance(skewTimeMs(3, 100, 100) - 1);
  assert.equal(r.state().state, 'BACKUP');
  await r.clock.advance(2);
  assert.equal(r.state().state, 'MASTER');
  assert.equal(r.state().reason, 'master released (priority 0)');
});

test('stop hands over: priority 0 at once, the VIP kept until the new master speaks, then the sockets close', async () => {
  const s = setup({ instances: [inst()], syncGroups: [] });
  await toMaster(s);
  const before = s.tx.sent.length;
  const stopping = s.engine.stop();
  assert.deepEqual(s.tx.priorities(before), [0]);
  await s.clock.advance(50);
  assert.ok(s.net.has('eth0', VIP), 'make before break: still answering for the VIP');
  s.fromPeer(100); // the peer took over
  await s.clock.advance(30);
  await stopping;
  assert.ok(!s.net.has('eth0', VIP));
  assert.ok(s.tx.closed && s.net.closed);
  assert.equal(s.state().state, 'STOP');

  // With no peer, the VIP goes at the handover bound (timing.ts).
  const q = setup({ instances: [inst()], syncGroups: [] });
  await toMaster(q);
  const t0 = q.clock.monotonic();
  const stopped = q.engine.stop();
  const bound = handoverBoundMs(3, 100);
  await q.clock.advance(bound - 1);
  assert.ok(q.net.has('eth0', VIP));
  await q.clock.advance(30);
  await stopped;
  assert.ok(!q.net.has('eth0', VIP));
  assert.ok(q.clock.monotonic() - t0 >= bound);
});

test('maintenance hands a sync group over, each member with its own priority 0, keeping its VIP until the peer speaks; off restores the priority', async () => {
  const s = setup({ instances: [inst(), inst(PRIV)], syncGroups: [{ name: 'G', members: ['VI_PUB', 'VI_PRIV'] }] });
  await s.engine.start(s.links);
  await s.clock.advance(masterDownIntervalMs(3, 100, 100) + 1);
  assert.equal(s.state('VI_PUB').state, 'MASTER');
  assert.equal(s.state('VI_PRIV').state, 'MASTER');
  assert.deepEqual(s.groups.map((g) => g.state), ['BACKUP', 'MASTER']);
  const before = s.tx.sent.length;
  s.engine.setMaintenance(true);
  const sent = s.tx.sent.slice(before).map((x) => `${x.dev}:${x.advert.vrid}:${x.advert.priority}`).sort();
  assert.deepEqual(sent, ['eth0:51:0', 'eth1:52:0']);
  assert.equal(s.state('VI_PUB').state, 'BACKUP');
  assert.equal(s.state('VI_PRIV').state, 'BACKUP');
  assert.equal(s.state('VI_PUB').priority, 1);
  assert.equal(s.state('VI_PRIV').effectivePriority, 1);
  await s.clock.advance(20);
  assert.ok(s.net.has('eth0', VIP) && s.net.has('eth1', '198.51.100.1'), 'VIPs kept for the handover');
  s.fromPeer(100);
  s.fromPeer(100, { vrid: 52, dev: 'eth1', addresses: ['198.51.100.1'] });
  await s.clock.advance(20);
  assert.ok(!s.net.has('eth0', VIP) && !s.net.has('eth1', '198.51.100.1'));
  assert.equal(s.groups.at(-1)!.state, 'BACKUP');
  s.engine.setMaintenance(false);
  assert.equal(s.state('VI_PUB').priority, 100);
  assert.equal(s.state('VI_PUB').effectivePriority, 100);
});

test('reload in place: a new priority is advertised at once, a new VIP is added on the MASTER, without a failover', async () => {
  const s = setup({ instances: [inst()], syncGroups: [] });
  await toMaster(s);
  await s.clock.advance(30);
  const before = s.tx.sent.length;
  assert.deepEqual(await s.engine.reconfigure({ instances: [inst({ priority: 120 })], syncGroups: [] }), []);
  assert.deepEqual(s.tx.priorities(before), [120], 'advertised at once, not at the next interval');
  assert.equal(s.state().priority, 120);
  assert.ok(s.logs.includes('(VI_PUB) priority changed from 100 to 120'));
  const two = inst({
    priority: 120,
    vips: [...inst().vips, { address: '203.0.113.2', prefix: 24, dev: 'eth0', label: null, brd: null, scope: null }],
    advertAddresses: [VIP, '203.0.113.2'],
    advertIntMs: 200,
    authType: null,
    nopreempt: true,
  });
  assert.deepEqual(await s.engine.reconfigure({ instances: [two], syncGroups: [] }), []);
  await s.clock.advance(1);
  assert.ok(s.net.has('eth0', '203.0.113.2'));
  await s.clock.advance(400);
  assert.equal(s.state().state, 'MASTER', 'no failover');
  assert.deepEqual(s.transitions.map((t) => t.to), ['BACKUP', 'MASTER'], 'no transition at all');
  assert.deepEqual(s.tx.sent.at(-1)!.advert.addresses, [VIP, '203.0.113.2'], 'adverts carry the new address list');
  assert.equal(s.tx.sent.at(-1)!.advert.advertIntMs, 200, 'and the new interval');
});

test('reload of a new identity: the instance hands over first (priority 0, VIP kept until the peer speaks) and starts again; a sync group restarts as one', async () => {
  const s = setup({ instances: [inst(), inst(PRIV)], syncGroups: [{ name: 'G', members: ['VI_PUB', 'VI_PRIV'] }] });
  await s.engine.start(s.links);
  await s.clock.advance(masterDownIntervalMs(3, 100, 100) + 1);
  const before = s.tx.sent.length;
  // VI_PUB moves to VRID 61: the whole group G hands over and restarts.
  const reload = s.engine.reconfigure({ instances: [inst({ vrid: 61 }), inst(PRIV)], syncGroups: [{ name: 'G', members: ['VI_PUB', 'VI_PRIV'] }] });
  await s.clock.advance(1);
  assert.deepEqual(s.tx.sent.slice(before).map((x) => `${x.advert.vrid}:${x.advert.priority}`).sort(), ['51:0', '52:0']);
  assert.ok(s.net.has('eth0', VIP), 'make before break');
  s.fromPeer(100);
  s.fromPeer(100, { vrid: 52, dev: 'eth1', addresses: ['198.51.100.1'] });
  assert.deepEqual((await reload).sort(), ['VI_PRIV', 'VI_PUB']);
  assert.ok(!s.net.has('eth0', VIP));
  assert.equal(s.state('VI_PUB').state, 'BACKUP');
  assert.equal(s.state('VI_PUB').vrid, 61);
  // The new instance answers to VRID 61, not 51.
  s.fromPeer(150, { vrid: 61 });
  assert.equal(s.state('VI_PUB').counters.advert_rcvd, 1);
  s.fromPeer(150);
  assert.equal(s.engine.status().unattributed.vrid_err, 1);
});

test('a reload that cannot apply is refused before anything changes', async () => {
  const s = setup({ instances: [inst()], syncGroups: [] });
  await toMaster(s);
  const next = { instances: [inst({ dev: 'nosuch0', vips: [{ ...inst().vips[0]!, dev: 'nosuch0' }] })], syncGroups: [] };
  const errors = await s.engine.preflight(next);
  assert.deepEqual(errors, ['(VI_PUB) interface nosuch0 does not exist or has no IPv4 address']);
  assert.equal(s.state().state, 'MASTER');
  assert.deepEqual(await s.engine.preflight({ instances: [inst({ priority: 50 })], syncGroups: [] }), [], 'in-place changes need nothing');
});

test('drops are counted and logged with what was received and what was expected, at a bounded rate', async () => {
  const s = setup({ instances: [inst({ version: 2, advertIntMs: 1000 })], syncGroups: [] });
  await s.engine.start(s.links);
  for (let i = 0; i < 1000; i++) s.fromPeer(150, { version: 2, advertIntMs: 2000 });
  assert.equal(s.state().counters.advert_interval_err, 1000);
  const lines = () => s.logs.filter((l) => l.includes('advert_interval_err'));
  assert.equal(lines().length, 1);
  assert.match(lines()[0]!, /\(VI_PUB\) dropped advert from 192\.0\.2\.3: advert_interval_err \(advert interval 2000 ms, ours 1000 ms/);
  await s.clock.advance(10_000);
  s.fromPeer(150, { version: 2, advertIntMs: 2000 });
  assert.equal(lines().length, 2);
  assert.match(lines()[1]!, /999 more like it suppressed/);
  // A VRID nobody has is counted apart.
  s.fromPeer(150, { vrid: 9, version: 2, advertIntMs: 1000 });
  assert.equal(s.engine.status().unattributed.vrid_err, 1);
  assert.ok(s.logs.some((l) => /VRID 9, no instance has it/.test(l)));
  assert.equal(s.state().counters.advert_rcvd, 0, 'drops never reach the machine');
  assert.equal(s.state().state, 'MASTER', 'a peer heard only through dropped adverts is not heard: Master_Down expired');
});

test('a VIP the kernel refuses puts the instance in FAULT (the peer takes over) and the status says which VIP and why', async () => {
  const cfg = inst({
    vips: [...inst().vips, { address: '203.0.113.2', prefix: 32, dev: 'nosuch0', label: null, brd: null, scope: null }],
  });
  const s = setup({ instances: [cfg], syncGroups: [] });
  s.net.failAdd.set('203.0.113.2', 'Cannot find device "nosuch0"');
  await s.engine.start(s.links);
  await s.clock.advance(masterDownIntervalMs(3, 100, 100) + 5);
  assert.equal(s.state().state, 'FAULT');
  assert.match(s.state().fault ?? '', /VIP 203\.0\.113\.2 on nosuch0: Cannot find device "nosuch0"/);
  assert.ok(!s.net.has('eth0', VIP), 'the VIPs it did add are removed again');
  assert.equal(s.tx.sent.at(-1)!.advert.priority, 0, 'priority 0 tells the peer to take over at once');
  // A reload that fixes the VIP brings it back.
  assert.deepEqual(await s.engine.reconfigure({ instances: [inst()], syncGroups: [] }), []);
  assert.equal(s.state().state, 'BACKUP');
});

test('its own advertisements looped back are ignored; a link down means FAULT and a link up BACKUP again', async () => {
  const s = setup({ instances: [inst()], syncGroups: [] });
  await toMaster(s);
  const own = s.tx.sent.at(-1)!;
  s.tx.deliver('eth0', packet({ vrid: 51, priority: 100, advertIntMs: 100, addresses: [VIP] }, { src: own.src }));
  assert.equal(s.state().counters.advert_rcvd, 0);
  assert.equal(s.state().state, 'MASTER');
  s.engine.linkChanged('eth0', false);
  assert.equal(s.state().state, 'FAULT');
  assert.equal(s.state().fault, 'tracked eth0 down');
  s.engine.linkChanged('eth0', true);
  assert.equal(s.state().state, 'BACKUP');
});

test('a flood of lower-priority adverts: the MASTER re-asserts at most once per advert interval', async () => {
  const s = setup({ instances: [inst()], syncGroups: [] });
  await toMaster(s);
  await s.clock.advance(10);
  const before = s.tx.sent.length;
  for (let i = 0; i < 5000; i++) s.fromPeer(50);
  assert.equal(s.tx.sent.length - before, 1, 'one re-assertion, not one per advert');
  assert.equal(s.state().counters.advert_rcvd, 5000);
  await s.clock.advance(100);
  for (let i = 0; i < 5000; i++) s.fromPeer(50);
  assert.ok(s.tx.sent.length - before <= 3);
  assert.equal(s.state().state, 'MASTER');
});

test('a Master_Down that fires while the master\'s advert waits unread does not take over', async () => {
  const s = setup({ instances: [inst()], syncGroups: [] });
  await s.engine.start(s.links);
  s.fromPeer(150);
  // Up to the deadline synchronously: the timer fires, and before the event loop polls again the
  // master's advert (already in the socket queue) is read.
  s.clock.tick(masterDownIntervalMs(3, 100, 100));
  s.fromPeer(150);
  await s.clock.advance(1);
  assert.equal(s.state().state, 'BACKUP');
  assert.equal(s.transitions.length, 1, 'no MASTER, not even for a moment');
});

test('timer lateness is measured and a late advert is warned about while the peer still has margin', async () => {
  const s = setup({ instances: [inst()], syncGroups: [] });
  await toMaster(s);
  s.clock.lag = 150; // 1.5 × advert_int late: the peer (3 × 100 ms + skew) has not taken over yet
  await s.clock.advance(1000);
  const t = s.engine.status().timers!;
  assert.ok(t.advert.count >= 4);
  assert.equal(t.advert.maxMs, 150);
  assert.equal(t.advert.recentMaxMs, 150);
  assert.equal(t.advert.buckets.at(-1), t.advert.count, 'cumulative buckets end at the count');
  const warn = s.logs.filter((l) => /advertisement timer fired 150\.0 ms late \(advert_int 100 ms\): at about 200 ms late the peer takes over/.test(l));
  assert.equal(warn.length, 1, 'warned, rate-limited');
  assert.equal(t.masterDown.count, 1);
});

test('dynamic_interfaces: an instance whose interface is missing waits in FAULT (its sync group with it) and starts when the interface comes', async () => {
  const cfg: EngineConfig = { instances: [inst(), inst(PRIV)], syncGroups: [{ name: 'G', members: ['VI_PUB', 'VI_PRIV'] }], dynamicInterfaces: true };
  const s = setup(cfg, { eth0: '192.0.2.2' });
  s.links.set('eth1', false);
  await s.engine.start(s.links);
  await s.clock.advance(masterDownIntervalMs(3, 100, 100) + 1);
  assert.equal(s.state('VI_PRIV').state, 'FAULT');
  assert.match(s.state('VI_PRIV').fault ?? '', /eth1.*dynamic_interfaces/);
  assert.notEqual(s.state('VI_PUB').state, 'MASTER', 'a member waiting in FAULT holds its sync group out of MASTER');
  assert.ok(s.logs.some((l) => /waiting for interface eth1/.test(l)));
  // The interface appears with its address; its link comes up.
  s.net.addrs.set('eth1', [{ address: '198.51.100.2', prefix: 24, secondary: false }]);
  s.engine.linkChanged('eth1', true);
  await s.clock.advance(masterDownIntervalMs(3, 100, 100) + 1);
  assert.equal(s.state('VI_PRIV').state, 'MASTER');
  assert.equal(s.state('VI_PUB').state, 'MASTER');
  assert.equal(s.engine.status().instances.filter((i) => i.name === 'VI_PRIV').length, 1, 'one status entry once it runs');
});

test('without dynamic_interfaces a missing interface fails the start', async () => {
  const s = setup({ instances: [inst(), inst(PRIV)], syncGroups: [] }, { eth0: '192.0.2.2' });
  await assert.rejects(s.engine.start(s.links), /eth1/);
});

test('vrrp_garp_interval reaches the GARP sender with each burst', async () => {
  const s = setup({ instances: [inst()], syncGroups: [], announce: { garpIntervalMs: 20, gnaIntervalMs: 0 } });
  await toMaster(s);
  await s.clock.advance(1);
  assert.ok(s.net.log.some((l) => l === `garp ${VIP} eth0 x${DEFAULT_GARP.repeat} every 20 ms`), s.net.log.join('\n'));
});
