// The VRRP engine over IPv6 (RFC 5798 §5.1.2), through the fakes of fakes.ts under the fake
// clock: adverts to ff02::12 from the interface's link-local address (never a link-local VIP),
// VIPs added and announced with unsolicited neighbour advertisements on becoming MASTER and on
// the GARP schedule (keepalived), removed on leaving MASTER; a dual-stack sync group moves as
// one; an IPv4 and an IPv6 instance share a VRID; the tie-break compares link-local sources;
// IPv6 drops are counted against the instance.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VrrpEngine } from '../../../src/vrrp/worker/engine.ts';
import type { EngineConfig, EngineInstance } from '../../../src/vrrp/engine-config.ts';
import type { VrrpInstanceStatus } from '../../../src/status.ts';
import { DEFAULT_GARP, DEFAULT_RIVAL } from '../../../src/vrrp/machine.ts';
import { masterDownIntervalMs } from '../../../src/vrrp/timing.ts';
import { FakeClock } from '../fake-clock.ts';
import { FakeHostNet, FakeTransport } from './fakes.ts';
import { packet, packet6 } from './helpers.ts';

const LL_A = 'fe80::a:1';
const LL_B = 'fe80::b:1';
const VIP6 = '2001:db8:0:1::1';
const GW6 = 'fe80::1';

function inst6(over: Partial<EngineInstance> = {}): EngineInstance {
  return {
    name: 'VI_6', dev: 'eth0', vrid: 51, family: 6, version: 3, priority: 100, advertIntMs: 100, nopreempt: false, preemptDelayMs: 0,
    initialState: 'BACKUP', authType: null, authPass: null,
    vips: [
      { address: GW6, prefix: 64, dev: 'eth0', label: null, brd: null, scope: null },
      { address: VIP6, prefix: 64, dev: 'eth0', label: null, brd: null, scope: null },
    ],
    advertAddresses: [GW6, VIP6],
    unicastSrcIp: null, unicastPeers: [], trackInterfaces: [], tracked: [], dontTrackPrimary: false, garp: DEFAULT_GARP,
    rival: DEFAULT_RIVAL, mcastGroup: 'ff02::12',
    ...over,
  };
}

function inst4(over: Partial<EngineInstance> = {}): EngineInstance {
  return inst6({
    name: 'VI_4', family: 4, mcastGroup: '224.0.0.18', vips: [{ address: '203.0.113.1', prefix: 24, dev: 'eth0', label: null, brd: null, scope: null }],
    advertAddresses: ['203.0.113.1'], ...over,
  });
}

function setup(cfg: EngineConfig) {
  const clock = new FakeClock(1_700_000_000_000);
  const tx = new FakeTransport(clock);
  // The kernel's link-local address beside the IPv4 one; a link-local VIP left by a crash too.
  const net = new FakeHostNet({ eth0: ['192.0.2.2', LL_A], eth1: ['198.51.100.2', 'fe80::a:2'] });
  const logs: string[] = [];
  const transitions: VrrpInstanceStatus[] = [];
  const engine = new VrrpEngine(cfg, tx, net, {
    log: (_l, m) => logs.push(m),
    stateChanged: (status) => transitions.push(status),
  }, clock);
  const links = new Map([['eth0', true], ['eth1', true]]);
  const state = (name = 'VI_6') => engine.status().instances.find((i) => i.name === name)!;
  const fromPeer6 = (priority: number, o: { src?: string; hlim?: number; vrid?: number } = {}) =>
    tx.deliver('eth0', packet6({ vrid: o.vrid ?? 51, priority, advertIntMs: 100, addresses: [GW6, VIP6] }, { src: o.src ?? LL_B, hlim: o.hlim ?? 255 }));
  return { clock, tx, net, logs, transitions, engine, links, state, fromPeer6 };
}

const MDI = masterDownIntervalMs(3, 100, 100);

test('an IPv6 instance opens an IPv6 socket, takes over, advertises to ff02::12 from the link-local address, adds and announces its VIPs', async () => {
  const s = setup({ instances: [inst6()], syncGroups: [] });
  await s.engine.start(s.links);
  assert.deepEqual(s.tx.opened, ['eth0/6']);
  await s.clock.advance(MDI + 1);
  assert.equal(s.state().state, 'MASTER');
  assert.equal(s.state().masterAddress, LL_A, 'the master is named by its link-local source');
  assert.ok(s.tx.sent.length > 0);
  for (const x of s.tx.sent) {
    assert.equal(x.src, LL_A, 'from the link-local address, not the link-local VIP fe80::1');
    assert.equal(x.dst, 'ff02::12');
    assert.equal(x.advert.family, 6);
    assert.deepEqual(x.advert.addresses, [GW6, VIP6]);
  }
  assert.ok(s.net.has('eth0', GW6) && s.net.has('eth0', VIP6));
  // RFC 4861 §7.2.6 on becoming MASTER: a burst for each VIP, no ARP for an IPv6 address.
  assert.ok(s.net.log.includes(`na ${GW6} eth0 x5`) && s.net.log.includes(`na ${VIP6} eth0 x5`), s.net.log.join('\n'));
  assert.ok(!s.net.log.some((l) => l.startsWith('garp')));
  // keepalived's GARP schedule applies to them too: the second burst after garp_master_delay.
  const before = s.net.log.filter((l) => l.startsWith('na')).length;
  await s.clock.advance(DEFAULT_GARP.delayMs);
  assert.equal(s.net.log.filter((l) => l.startsWith('na')).length, before + 2);
  // A better master (IPv6): the VIPs go.
  s.fromPeer6(200);
  assert.equal(s.state().state, 'BACKUP');
  assert.equal(s.state().masterAddress, LL_B);
  await s.clock.advance(1);
  assert.ok(!s.net.has('eth0', GW6) && !s.net.has('eth0', VIP6));
});

test('a link-local VIP left behind by a crash is removed and never taken for the source address', async () => {
  const s = setup({ instances: [inst6()], syncGroups: [] });
  s.net.addrs.get('eth0')!.unshift({ address: GW6, prefix: 64, secondary: false });
  await s.engine.start(s.links);
  assert.ok(!s.net.has('eth0', GW6), 'the stale VIP is gone before the first advert');
  assert.ok(s.logs.some((l) => l.includes(`removing VIP ${GW6} left behind on eth0`)));
  await s.clock.advance(MDI + 1);
  assert.ok(s.tx.sent.every((x) => x.src === LL_A));
});

test('equal priorities: the higher link-local source wins (RFC 5798 §6.4.3 over IPv6)', async () => {
  const s = setup({ instances: [inst6()], syncGroups: [] });
  await s.engine.start(s.links);
  await s.clock.advance(MDI + 1);
  s.fromPeer6(100, { src: 'fe80::1:1' }); // lower than fe80::a:1: we stay MASTER and re-assert
  assert.equal(s.state().state, 'MASTER');
  s.fromPeer6(100, { src: 'fe80::ff:1' }); // higher
  assert.equal(s.state().state, 'BACKUP');
});

test('a dual-stack sync group (IPv4 and IPv6 instance) moves as one', async () => {
  const s = setup({ instances: [inst4({ vrid: 52 }), inst6()], syncGroups: [{ name: 'G', members: ['VI_4', 'VI_6'] }] });
  await s.engine.start(s.links);
  await s.clock.advance(MDI + 1);
  assert.equal(s.state('VI_4').state, 'MASTER');
  assert.equal(s.state('VI_6').state, 'MASTER');
  assert.ok(s.net.has('eth0', '203.0.113.1') && s.net.has('eth0', VIP6));
  assert.ok(s.net.log.includes('garp 203.0.113.1 eth0 x5') && s.net.log.includes(`na ${VIP6} eth0 x5`));
  // The peer's IPv6 instance preempts: the IPv4 one follows.
  s.fromPeer6(200);
  assert.equal(s.state('VI_6').state, 'BACKUP');
  assert.equal(s.state('VI_4').state, 'BACKUP', 'the group moved as one');
  await s.clock.advance(1);
  assert.ok(!s.net.has('eth0', '203.0.113.1') && !s.net.has('eth0', VIP6));
});

test('an IPv4 and an IPv6 instance share VRID 51 on eth0: each advert reaches its own instance only', async () => {
  const s = setup({ instances: [inst4(), inst6()], syncGroups: [] });
  await s.engine.start(s.links);
  assert.deepEqual(s.tx.opened.sort(), ['eth0', 'eth0/6']);
  await s.clock.advance(MDI + 1);
  s.fromPeer6(200);
  assert.equal(s.state('VI_6').state, 'BACKUP');
  assert.equal(s.state('VI_4').state, 'MASTER', 'an IPv6 advert of VRID 51 is not the IPv4 instance\'s');
  s.tx.deliver('eth0', packet({ vrid: 51, priority: 200, addresses: ['203.0.113.1'] }, { src: '192.0.2.3' }));
  assert.equal(s.state('VI_4').state, 'BACKUP');
});

test('IPv6 drops are counted against the instance: hop limit, a non-link-local source on a multicast advert', async () => {
  const s = setup({ instances: [inst6()], syncGroups: [] });
  await s.engine.start(s.links);
  s.fromPeer6(200, { hlim: 64 });
  s.fromPeer6(200, { src: '2001:db8:0:1::3' });
  const c = s.state().counters;
  assert.equal(c.ip_ttl_err, 1);
  assert.equal(c.ip_src_err, 1);
  assert.equal(c.advert_rcvd, 0);
  assert.ok(s.logs.some((l) => /\(VI_6\) dropped advert from fe80::b:1: ip_ttl_err \(hop limit 64, expected 255/.test(l)), s.logs.join('\n'));
  assert.ok(s.logs.some((l) => /ip_src_err \(source 2001:db8:0:1::3 is not a link-local address/.test(l)));
  await s.clock.advance(MDI + 1);
  assert.equal(s.state().state, 'MASTER', 'dropped adverts are not heard');
});

test('unicast over IPv6: adverts go to each unicast_peer from unicast_src_ip, a global source is fine', async () => {
  const s = setup({ instances: [inst6({ unicastSrcIp: '2001:db8:0:1::2', unicastPeers: ['2001:db8:0:1::3'] })], syncGroups: [] });
  await s.engine.start(s.links);
  s.tx.deliver('eth0', packet6({ priority: 200, addresses: [GW6, VIP6] }, { src: '2001:db8:0:1::3', dst: '2001:db8:0:1::2', hlim: 64 }));
  assert.equal(s.state().counters.advert_rcvd, 1, 'a unicast advert with hop limit 64 from a global address is accepted (keepalived sends so)');
  await s.clock.advance(MDI * 2);
  assert.equal(s.state().state, 'MASTER');
  const last = s.tx.sent.at(-1)!;
  assert.equal(last.src, '2001:db8:0:1::2');
  assert.equal(last.dst, '2001:db8:0:1::3');
});

test('an IPv4 instance with an IPv6 VIP in virtual_ipaddress_excluded adds it and announces it with neighbour advertisements', async () => {
  const s = setup({
    instances: [inst4({ vips: [...inst4().vips, { address: VIP6, prefix: 64, dev: 'eth0', label: null, brd: null, scope: null }] })],
    syncGroups: [],
  });
  await s.engine.start(s.links);
  await s.clock.advance(MDI + 1);
  assert.equal(s.state('VI_4').state, 'MASTER');
  assert.ok(s.net.has('eth0', VIP6));
  assert.ok(s.net.log.includes('garp 203.0.113.1 eth0 x5') && s.net.log.includes(`na ${VIP6} eth0 x5`));
  assert.ok(s.tx.sent.every((x) => x.dst === '224.0.0.18' && x.advert.family === 4 && x.advert.addresses.length === 1));
  assert.deepEqual(s.state('VI_4').vips, ['203.0.113.1/24', `${VIP6}/64`]);
});

test('an interface without a link-local address cannot run an IPv6 instance: start and preflight say so', async () => {
  const s = setup({ instances: [inst6({ dev: 'eth2' })], syncGroups: [] });
  s.net.addrs.set('eth2', [{ address: '192.0.2.9', prefix: 24, secondary: false }]);
  await assert.rejects(s.engine.start(s.links), /interface eth2 has no IPv6 link-local address/);
  const t = setup({ instances: [inst4()], syncGroups: [] });
  await t.engine.start(t.links);
  t.net.addrs.set('eth2', [{ address: '192.0.2.9', prefix: 24, secondary: false }]);
  assert.deepEqual(await t.engine.preflight({ instances: [inst4(), inst6({ dev: 'eth2', name: 'VI_NEW' })], syncGroups: [] }),
    ['(VI_NEW) interface eth2 does not exist or has no IPv6 link-local address']);
});

test('IPv4 keeps its primary address even when it is a VIP (an address owner): only IPv6 leaves the VIPs out', async () => {
  const owner = inst4({ priority: 255, vips: [{ address: '192.0.2.2', prefix: 24, dev: 'eth0', label: null, brd: null, scope: null }], advertAddresses: ['192.0.2.2'] });
  const s = setup({ instances: [owner], syncGroups: [] });
  s.net.addrs.set('eth0', [{ address: '192.0.2.2', prefix: 24, secondary: false }]);
  await s.engine.start(s.links);
  assert.equal(s.state('VI_4').state, 'MASTER');
  assert.equal(s.tx.sent.at(-1)!.src, '192.0.2.2');
});
