// VMAC, routes and rules that move with mastership, static addresses/routes/rules and
// vrrp_mcast_group6, from the configuration text through engineConfigFrom to the engine's
// actions on the fakes: what keepalived.conf(5) says about use_vmac, vmac_xmit_base,
// virtual_routes, virtual_rules and static_*.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.ts';
import { engineConfigFrom, instanceIdentity, type EngineConfig } from '../../../src/vrrp/engine-config.ts';
import { vmacNames } from '../../../src/vrrp/vmac.ts';
import { VrrpEngine } from '../../../src/vrrp/worker/engine.ts';
import { masterDownIntervalMs } from '../../../src/vrrp/timing.ts';
import { FakeClock } from '../fake-clock.ts';
import { FakeHostNet, FakeTransport } from './fakes.ts';
import { packet } from './helpers.ts';

const MDI = masterDownIntervalMs(3, 100, 100) + 1;

function engineCfg(text: string): EngineConfig {
  const r = parseConfigText(text, '/etc/tandem/t.conf');
  assert.deepEqual(r.diagnostics.filter((d) => d.severity === 'error'), []);
  return engineConfigFrom(r.config!);
}

function instance(body: string, name = 'VI_1', vrid = 51): string {
  return `vrrp_instance ${name} {\n interface eth0\n virtual_router_id ${vrid}\n priority 100\n advert_int 0.1\n version 3\n${body}\n}\n`;
}

const VIPS = ' virtual_ipaddress {\n  192.0.2.100/24\n  198.51.100.100/24 dev eth1\n }\n';
const ROUTES = ' virtual_routes {\n  203.0.113.0/24 via 192.0.2.254\n  blackhole 198.51.100.128/25 table 100\n }\n virtual_rules {\n  from 192.0.2.100 table 100 preference 100\n  to 203.0.113.0/24 table 100\n }\n';

function setup(cfg: EngineConfig) {
  const clock = new FakeClock(1_700_000_000_000);
  const tx = new FakeTransport(clock);
  const net = new FakeHostNet({ eth0: ['192.0.2.2', 'fe80::a:1'], eth1: '198.51.100.2' });
  const logs: string[] = [];
  const engine = new VrrpEngine(cfg, tx, net, { log: (_l, m) => logs.push(m), stateChanged: () => undefined }, clock);
  const links = new Map([['eth0', true], ['eth1', true]]);
  const state = (name = 'VI_1') => engine.status().instances.find((i) => i.name === name)!;
  return { clock, tx, net, logs, engine, links, state };
}

test('VMAC names as keepalived gives them: vrrp.VRID, an IPv6 instance on the same VRID vrrp6.VRID, names given first', () => {
  const v = (name: string, vrid: number, family: 4 | 6, given: string | null = null) => ({ name, virtualRouterId: vrid, family, vmac: { name: given, pos: { file: '', line: 1, col: 1 } } });
  assert.deepEqual([...vmacNames([v('A', 51, 4), v('B', 51, 6), v('C', 51, 4), v('D', 51, 6)])],
    [['A', 'vrrp.51'], ['B', 'vrrp6.51'], ['C', 'vrrp1.51'], ['D', 'vrrp2.51']]);
  assert.deepEqual([...vmacNames([v('A', 7, 4), v('B', 8, 4, 'vrrp.7')])], [['A', 'vrrp1.7'], ['B', 'vrrp.7']]);
  const c = engineCfg(instance(` use_vmac\n${VIPS}`) + instance(' use_vmac\n native_ipv6\n virtual_ipaddress {\n  fe80::51/64 dev eth0\n  2001:db8::51/64 dev eth1\n }\n virtual_ipaddress_excluded {\n  192.0.2.51/24\n }', 'VI_6'));
  assert.deepEqual(c.instances.map((i) => [i.vmac?.name, i.vmac?.mac]), [['vrrp.51', '00:00:5e:00:01:33'], ['vrrp6.51', '00:00:5e:00:02:33']]);
  // The VIPs without dev live on the VMAC; one with its own dev stays there.
  assert.deepEqual(c.instances[0]!.vips.map((x) => x.dev), ['vrrp.51', 'eth1']);
  assert.deepEqual(c.instances[1]!.vips.map((x) => x.dev), ['vrrp6.51', 'eth1', 'eth0'], 'dev the instance\'s own interface: the VMAC; another dev kept; the other family on the interface');
});

test('use_vmac and vmac_xmit_base are part of the identity: a reload that changes them restarts the instance', () => {
  const a = engineCfg(instance(VIPS)).instances[0]!;
  const b = engineCfg(instance(` use_vmac\n${VIPS}`)).instances[0]!;
  const c = engineCfg(instance(` use_vmac\n vmac_xmit_base\n${VIPS}`)).instances[0]!;
  assert.equal(new Set([a, b, c].map(instanceIdentity)).size, 3);
});

test('configuration checks: use_vmac with unicast_peer needs vmac_xmit_base; a VMAC name twice; route and rule options', () => {
  const errs = (text: string) => parseConfigText(text, 't.conf').diagnostics.filter((d) => d.severity === 'error').map((d) => d.message).join('\n');
  assert.match(errs(instance(` use_vmac\n unicast_peer {\n  192.0.2.3\n }\n${VIPS}`)), /use_vmac with unicast_peer needs vmac_xmit_base/);
  assert.equal(errs(instance(` use_vmac\n vmac_xmit_base\n unicast_peer {\n  192.0.2.3\n }\n${VIPS}`)), '');
  assert.match(errs(instance(` use_vmac v1\n${VIPS}`) + instance(` use_vmac v1\n${VIPS}`, 'VI_2', 52)), /use_vmac v1 is vrrp_instance VI_1's VMAC too/);
  assert.match(errs(instance(` use_vmac 00:00:5e:00:01:01\n${VIPS}`)), /use_vmac: '00:00:5e:00:01:01' is not supported/);
  assert.match(errs(instance(' virtual_routes {\n  203.0.113.1/24 dev eth0\n }')), /has host bits set: the network is 203\.0\.113\.0\/24/);
  assert.match(errs(instance(' virtual_routes {\n  203.0.113.0/24 via 2001:db8::1\n }')), /cannot mix IPv4 and IPv6/);
  assert.match(errs(instance(' virtual_routes {\n  203.0.113.0/24 realms 3\n }')), /'realms' is not supported by tandem/);
  assert.match(errs(instance(' virtual_rules {\n  from 192.0.2.0/24\n }')), /the rule needs an action/);
  assert.match(errs(instance(' virtual_rules {\n  from 192.0.2.0/24 table 1 blackhole\n }')), /one action per rule/);
  assert.match(errs(instance(' virtual_rules {\n  from 192.0.2.0/24 table rt_private\n }')), /tandem reads no rt_tables file/);
  const strict = parseConfigText('global_defs {\n vrrp_strict\n}\n' + instance(` use_vmac\n vmac_xmit_base\n${VIPS}`), 't.conf');
  assert.ok(strict.diagnostics.some((d) => d.severity === 'warning' && /vmac_xmit_base is incompatible with vrrp_strict/.test(d.message)));
  assert.equal(engineConfigFrom(strict.config!).instances[0]!.vmac?.xmitBase, false, 'reset, as keepalived resets it');
  const warned = parseConfigText(instance(' virtual_rules {\n  from 192.0.2.0/24 table 1\n }'), 't.conf').diagnostics.filter((d) => d.severity === 'warning');
  assert.ok(warned.some((d) => /the rule has no preference/.test(d.message) && d.pos.line === 8), JSON.stringify(warned));
});

test('routes and rules: keepalived\'s numbering of rules without a preference; the ip words', () => {
  const c = engineCfg('static_rules {\n from 192.0.2.0/24 table 5\n inet6 iif eth1 table 6\n}\n' + instance(ROUTES + VIPS));
  assert.deepEqual(c.static!.rules.map((r) => r.priority), [16384, 16384], 'one count per family');
  assert.deepEqual(c.instances[0]!.rules!.map((r) => r.priority), [100, 16383]);
  const s = setup(c);
  return (async () => {
    await s.engine.start(s.links);
    assert.deepEqual(s.net.rules, ['rule add from 192.0.2.0/24 preference 16384 table 5', 'rule add from ::/0 iif eth1 preference 16384 table 6']);
  })();
});

test('virtual_routes and virtual_rules: none on the BACKUP; the MASTER adds them after its VIPs and removes them before, on handover and stop', async () => {
  const s = setup(engineCfg(instance(ROUTES + VIPS)));
  await s.engine.start(s.links);
  assert.deepEqual([s.net.routes, s.net.rules], [[], []], 'BACKUP: none');
  s.net.log.length = 0;
  await s.clock.advance(MDI);
  assert.equal(s.state().state, 'MASTER');
  assert.deepEqual(s.net.routes, ['route prepend 203.0.113.0/24 via 192.0.2.254', 'route prepend blackhole 198.51.100.128/25 table 100']);
  assert.deepEqual(s.net.rules, ['rule add from 192.0.2.100/32 preference 100 table 100', 'rule add to 203.0.113.0/24 preference 16384 table 100']);
  const order = s.net.log.filter((l) => !l.startsWith('garp'));
  assert.ok(order.indexOf('add 192.0.2.100 eth0') < order.indexOf('route prepend 203.0.113.0/24 via 192.0.2.254'), order.join('\n'));
  assert.ok(order.findIndex((l) => l.startsWith('route')) < order.findIndex((l) => l.startsWith('rule')), 'routes before rules');
  // A higher priority takes over: the make-before-break handover removes rules, routes, VIPs.
  s.net.log.length = 0;
  s.tx.deliver('eth0', packet({ vrid: 51, priority: 200, version: 3, advertIntMs: 100, addresses: ['192.0.2.100', '198.51.100.100'] }, { src: '192.0.2.3' }));
  await s.clock.advance(1);
  assert.equal(s.state().state, 'BACKUP');
  s.tx.deliver('eth0', packet({ vrid: 51, priority: 200, version: 3, advertIntMs: 100, addresses: ['192.0.2.100', '198.51.100.100'] }, { src: '192.0.2.3' }));
  await s.clock.advance(1);
  assert.deepEqual([s.net.routes, s.net.rules], [[], []]);
  const del = s.net.log;
  assert.ok(del.findIndex((l) => l.startsWith('rule del')) < del.findIndex((l) => l.startsWith('route del')), del.join('\n'));
  assert.ok(del.findIndex((l) => l.startsWith('route del')) < del.indexOf('del 192.0.2.100 eth0'), del.join('\n'));
  assert.ok(!s.net.has('eth0', '192.0.2.100'));
});

test('a reload changes a MASTER\'s routes and rules in place: the new ones added, the gone ones removed', async () => {
  const s = setup(engineCfg(instance(ROUTES + VIPS)));
  await s.engine.start(s.links);
  await s.clock.advance(MDI);
  const next = engineCfg(instance(' virtual_routes {\n  203.0.113.0/24 via 192.0.2.254\n  192.0.2.128/25 dev eth0 metric 5\n }\n' + VIPS));
  assert.deepEqual(await s.engine.reconfigure(next), []);
  await s.clock.advance(1);
  assert.deepEqual(s.net.routes, ['route prepend 203.0.113.0/24 via 192.0.2.254', 'route prepend 192.0.2.128/25 metric 5 dev eth0']);
  assert.deepEqual(s.net.rules, []);
});

test('static_ipaddress, static_routes, static_rules: set at start on a BACKUP too, changed by a reload, removed at stop', async () => {
  const text = 'static_ipaddress {\n 192.0.2.7/24 dev eth0\n}\nstatic_routes {\n 10.0.0.0/8 via 192.0.2.1\n}\n';
  const s = setup(engineCfg(text + instance(VIPS)));
  await s.engine.start(s.links);
  assert.equal(s.state().state, 'BACKUP');
  assert.ok(s.net.has('eth0', '192.0.2.7'));
  assert.deepEqual(s.net.routes, ['route prepend 10.0.0.0/8 via 192.0.2.1']);
  await s.engine.reconfigure(engineCfg('static_routes {\n 10.0.0.0/8 via 192.0.2.1\n}\nstatic_rules {\n from 10.1.0.0/16 table 7 preference 7\n}\n' + instance(VIPS)));
  assert.ok(!s.net.has('eth0', '192.0.2.7'));
  assert.deepEqual(s.net.rules, ['rule add from 10.1.0.0/16 preference 7 table 7']);
  const stopped = s.engine.stop();
  await s.clock.advance(5000);
  await stopped;
  assert.deepEqual([s.net.routes, s.net.rules], [[], []]);
});

test('use_vmac: the VMAC exists before the socket, adverts and the VIPs live on it, the virtual MAC is RFC 5798\'s; it goes at stop', async () => {
  const s = setup(engineCfg(instance(` use_vmac\n${VIPS}`)));
  const opened: string[] = [];
  const open = s.tx.open.bind(s.tx);
  s.tx.open = async (dev: string, family?: 4 | 6, group?: string) => {
    opened.push(`${dev} ${s.net.vmacs.has(dev) ? 'exists' : 'missing'}`);
    return open(dev, family, group);
  };
  await s.engine.start(s.links);
  assert.deepEqual(opened, ['vrrp.51 exists']);
  assert.equal(s.net.log[0], 'vmac vrrp.51 eth0 00:00:5e:00:01:33');
  assert.equal(s.tx.sent.length, 0, 'a BACKUP sends nothing');
  // The peer's adverts arrive on the VMAC (their source MAC is the virtual MAC: macvlan hands them to it).
  s.tx.deliver('vrrp.51', packet({ vrid: 51, priority: 200, version: 3, advertIntMs: 100, addresses: ['192.0.2.100', '198.51.100.100'] }, { src: '192.0.2.3' }));
  await s.clock.advance(MDI - 10);
  assert.equal(s.state().state, 'BACKUP', 'the advert was heard on the VMAC');
  await s.clock.advance(MDI);
  assert.equal(s.state().state, 'MASTER');
  assert.ok(s.net.has('vrrp.51', '192.0.2.100') && s.net.has('eth1', '198.51.100.100') && !s.net.has('eth0', '192.0.2.100'));
  assert.ok(s.tx.sent.length > 0 && s.tx.sent.every((x) => x.dev === 'vrrp.51' && x.src === '192.0.2.2'), 'from the VMAC, with the parent\'s address');
  assert.ok(s.net.log.includes('garp 192.0.2.100 vrrp.51 x5'), 'GARP from the VMAC');
  const stopped = s.engine.stop();
  await s.clock.advance(5000);
  await stopped;
  assert.equal(s.net.vmacs.size, 0);
});

test('vmac_xmit_base: the VIPs on the VMAC, the adverts from the parent interface', async () => {
  const s = setup(engineCfg(instance(` use_vmac\n vmac_xmit_base\n${VIPS}`)));
  await s.engine.start(s.links);
  await s.clock.advance(MDI);
  assert.equal(s.state().state, 'MASTER');
  assert.ok(s.net.has('vrrp.51', '192.0.2.100'));
  assert.ok(s.tx.sent.length > 0 && s.tx.sent.every((x) => x.dev === 'eth0'));
});

test('a reload that removes use_vmac hands over, removes the VMAC and starts the instance on its interface', async () => {
  const s = setup(engineCfg(instance(` use_vmac\n${VIPS}`)));
  await s.engine.start(s.links);
  await s.clock.advance(MDI);
  const restarted = s.engine.reconfigure(engineCfg(instance(VIPS)));
  await s.clock.advance(5000);
  assert.deepEqual(await restarted, ['VI_1']);
  assert.equal(s.net.vmacs.size, 0);
  await s.clock.advance(MDI);
  assert.ok(s.net.has('eth0', '192.0.2.100'));
});

test('vrrp_mcast_group6: an IPv6 instance joins that group and advertises to it', async () => {
  const s = setup(engineCfg('global_defs {\n vrrp_mcast_group6 ff02::112\n}\n' + instance(' native_ipv6\n virtual_ipaddress {\n  fe80::51/64 dev eth0\n }')));
  const opened: string[] = [];
  const open = s.tx.open.bind(s.tx);
  s.tx.open = async (dev: string, family?: 4 | 6, group?: string) => { opened.push(`${dev} ${family} ${group}`); return open(dev, family, group); };
  await s.engine.start(s.links);
  await s.clock.advance(MDI);
  assert.deepEqual(opened, ['eth0 6 ff02::112']);
  assert.ok(s.tx.sent.length > 0 && s.tx.sent.every((x) => x.dst === 'ff02::112'));
  const a = engineCfg(instance(' native_ipv6\n virtual_ipaddress {\n  fe80::51/64 dev eth0\n }')).instances[0]!;
  assert.equal(a.mcastGroup, 'ff02::12', 'the default');
  assert.notEqual(instanceIdentity(a), instanceIdentity(engineCfg('global_defs {\n vrrp_mcast_group6 ff02::112\n}\n' + instance(' native_ipv6\n virtual_ipaddress {\n  fe80::51/64 dev eth0\n }')).instances[0]!));
});

test('use_vmac: the first advert of a takeover leaves once the VIPs are on the VMAC (it moves the switches\' entry for the virtual MAC); plain: at once', async () => {
  for (const vmac of [true, false]) {
    const s = setup(engineCfg(instance(`${vmac ? ' use_vmac\n' : ''}${VIPS}`)));
    const events: string[] = [];
    const add = s.net.addVip.bind(s.net);
    let release!: () => void;
    const slow = new Promise<void>((r) => { release = r; });
    s.net.addVip = async (v) => { await slow; events.push(`vip ${v.address}`); return add(v); };
    const send = s.tx.send.bind(s.tx);
    s.tx.send = async (dev, src, dst, payload) => { events.push('advert'); return send(dev, src, dst, payload); };
    await s.engine.start(s.links);
    await s.clock.advance(MDI);
    assert.equal(s.state().state, 'MASTER');
    assert.deepEqual(events, vmac ? [] : ['advert'], vmac ? 'held back while the VIP is being added' : 'plain: at once');
    release();
    await s.clock.advance(1);
    assert.deepEqual(events.slice(0, 3), vmac ? ['vip 192.0.2.100', 'vip 198.51.100.100', 'advert'] : ['advert', 'vip 192.0.2.100', 'vip 198.51.100.100']);
  }
});
