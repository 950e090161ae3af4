// IPv6 virtual servers rendered (src/lb/plan.ts, plan-dr.ts, family.ts): NAT66 in `table ip6
// tandem` beside an unchanged `table ip tandem`, DR over IPv6 in the netdev table with its own
// dispatch maps and ICMPv6 errors, small edits, reloads that create and remove the ip6 table,
// and the stop.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderFullTable, renderReload, renderRsChange, renderStop, rsKey, usesIp6, type DrTopology, type RsLive } from '../../../src/lb/plan.ts';
import { drTopology } from '../../../src/lb/dr-topology.ts';
import { vsSeed, maglevSize, slotTable } from '../../../src/lb/sched/index.ts';
import type { NftTransaction } from '../../../src/lb/nft.ts';
import { vs, rs } from './fixtures.ts';

const VIP6 = '2001:db8:0:1::1';
const RS6 = ['2001:db8:0:2::11', '2001:db8:0:2::12', '2001:db8:0:2::13'];
const v6 = { persistenceGranularity: 128 };
const web6 = vs(VIP6, 80, RS6.map((a) => rs(a, 8080)), { ...v6, scheduler: 'mh' });
const rr6 = vs(VIP6, 81, RS6.map((a) => rs(a, 9000 + Number(a.slice(-1)))), { ...v6, scheduler: 'wrr', persistenceTimeoutMs: 60_000, persistenceGranularity: 64 });
const web4 = vs('203.0.113.1', 80, ['192.0.2.11', '192.0.2.12'].map((a) => rs(a, 8080)), { scheduler: 'mh' });
const dr6 = vs(VIP6, 443, RS6.map((a) => rs(a, 443)), { ...v6, method: 'DR', scheduler: 'mh' });
const dr4 = vs('203.0.113.1', 443, ['192.0.2.11', '192.0.2.12'].map((a) => rs(a, 443)), { method: 'DR', scheduler: 'sh' });
const topo: DrTopology = {
  ingress: new Map([[VIP6, ['eth0']], ['203.0.113.1', ['eth0']]]),
  egress: new Map([...RS6, '192.0.2.11', '192.0.2.12'].map((a) => [a, 'eth1'])),
};
const lines = (t: NftTransaction | string): string[] => (typeof t === 'string' ? t : t.render()).trim().split('\n');
const hex = (v: typeof web6): string => vsSeed(v).toString(16).padStart(8, '0');
const NAME6 = 'v_20010db8000000010000000000000001';

test('NAT66: table ip6 tandem beside table ip tandem, which stays byte for byte what IPv4 alone renders', () => {
  const both = lines(renderFullTable([web4, web6, rr6], new Map()));
  const ipOnly = lines(renderFullTable([web4], new Map()));
  assert.deepEqual(both.filter((l) => / ip tandem/.test(l)), ipOnly);
  assert.ok(!ipOnly.some((l) => /ip6/.test(l)), 'no ip6 table without an IPv6 virtual server');
  const t6 = both.filter((l) => / ip6 tandem/.test(l));
  assert.deepEqual(t6.slice(0, 11), [
    'add table ip6 tandem',
    'delete table ip6 tandem',
    'add table ip6 tandem',
    'add map ip6 tandem services { type ipv6_addr . inet_proto . inet_service : verdict; }',
    'add set ip6 tandem rs_tcp { type ipv6_addr . inet_service; }',
    'add set ip6 tandem rs_udp { type ipv6_addr . inet_service; }',
    'add chain ip6 tandem prerouting { type nat hook prerouting priority dstnat; policy accept; }',
    'add rule ip6 tandem prerouting ip6 daddr . meta l4proto . th dport vmap @services',
    'add chain ip6 tandem forward { type filter hook forward priority filter; policy accept; }',
    // The mid-stream guard over IPv6: a real server's packet never starts a flow.
    'add rule ip6 tandem forward ct state new ip6 saddr . tcp sport @rs_tcp tcp flags & (fin|syn|rst|ack) != syn counter drop',
    'add rule ip6 tandem forward ct state new ip6 saddr . udp sport @rs_udp counter drop',
  ]);
  // mh over the client's IPv6 address, the same seed rule as IPv4, one shared port.
  const M = maglevSize(3);
  assert.ok(t6.includes(`add rule ip6 tandem ${NAME6}_t80 meta l4proto tcp dnat ip6 to jhash ip6 saddr mod ${M} seed 0x${hex(web6)} map @${NAME6}_t80_s : 8080`));
  assert.ok(t6.includes(`add map ip6 tandem ${NAME6}_t80_s { typeof jhash ip6 saddr mod 2 seed 0x0 : ip6 daddr; }`));
  assert.ok(t6.some((l) => l.startsWith(`add element ip6 tandem ${NAME6}_t80_s { 0 : 2001:db8:0:2::1`)));
  assert.ok(t6.includes(`add element ip6 tandem services { ${VIP6} . tcp . 80 : goto ${NAME6}_t80, ${VIP6} . tcp . 81 : goto ${NAME6}_t81 }`));
  assert.ok(t6.some((l) => l === `add element ip6 tandem rs_tcp { ${RS6.map((a) => `${a} . 8080`).join(', ')}, 2001:db8:0:2::11 . 9001, 2001:db8:0:2::12 . 9002, 2001:db8:0:2::13 . 9003 }`));
  // wrr with persistence over IPv6: sets of ipv6_addr masked to the /64, dnat with brackets.
  assert.ok(t6.includes(`add set ip6 tandem ${NAME6}_t81_p0 { type ipv6_addr; flags dynamic,timeout; timeout 60s; size 65535; }`));
  assert.ok(t6.includes(`add rule ip6 tandem ${NAME6}_t81_r0 update @${NAME6}_t81_p0 { ip6 saddr & ffff:ffff:ffff:ffff:: }`));
  assert.ok(t6.includes(`add rule ip6 tandem ${NAME6}_t81_r0 meta l4proto tcp dnat ip6 to [2001:db8:0:2::11]:9001`));
  assert.ok(t6.includes(`add rule ip6 tandem ${NAME6}_t81 ip6 saddr & ffff:ffff:ffff:ffff:: @${NAME6}_t81_p0 goto ${NAME6}_t81_r0`));
  assert.ok(!t6.some((l) => /\bip (saddr|daddr|to)\b|ipv4_addr/.test(l)), 'no IPv4 keyword in the ip6 table');
});

test('NAT66: sh keys on the masked client, dh on the destination; quorum lost goes to the sorry server, no server drops', () => {
  const sh = vs(VIP6, 80, RS6.map((a) => rs(a, 80)), { scheduler: 'sh', persistenceGranularity: 48 });
  assert.deepEqual(slotTable(sh, []).key, { kind: 'jhash', field: 'saddr', mask: 0xffffffff, seed: vsSeed(sh), prefix6: 48 });
  assert.match(renderFullTable([sh], new Map()).render(), /dnat ip6 to jhash ip6 saddr & ffff:ffff:ffff:: mod \d+ seed/);
  const dh = vs(VIP6, 80, RS6.map((a) => rs(a, 80)), { scheduler: 'dh', persistenceGranularity: 48 });
  assert.match(renderFullTable([dh], new Map()).render(), /dnat ip6 to jhash ip6 daddr mod \d+ seed/);
  const sorry = { ...web6, sorryServer: { address: '2001:db8:0:2::99', port: 8080, pos: web6.pos } };
  const down = new Map<string, RsLive>(RS6.map((a) => [rsKey(sorry, rs(a, 8080)), { up: false, weight: 1 }]));
  const edit = lines(renderRsChange(sorry, down, { quorumUp: new Map([[`${VIP6}:80/TCP`, false]]) }));
  assert.deepEqual(edit, [
    `flush chain ip6 tandem ${NAME6}_t80`,
    `flush map ip6 tandem ${NAME6}_t80_s`,
    `add rule ip6 tandem ${NAME6}_t80 meta l4proto tcp dnat ip6 to [2001:db8:0:2::99]:8080`,
  ]);
  const none = lines(renderRsChange(web6, down));
  assert.equal(none.at(-1), `add rule ip6 tandem ${NAME6}_t80 meta l4proto tcp counter drop`);
});

test('a health change of an IPv6 real server edits table ip6 tandem only', () => {
  const one = new Map<string, RsLive>([[rsKey(web6, web6.realServers[1]!), { up: false, weight: 1 }]]);
  const edit = lines(renderRsChange(web6, one));
  assert.ok(edit.every((l) => / ip6 tandem /.test(l)), edit.join('\n'));
  assert.ok(!edit.some((l) => /2001:db8:0:2::12/.test(l)), 'the dead server is out of the slots');
});

test('reload: the first IPv6 virtual server creates table ip6 tandem, the last deletes it; between them it is edited', () => {
  assert.equal(usesIp6([web4]), false);
  assert.equal(usesIp6([web4, web6]), true);
  const add = renderReload([web4], [web4, web6], new Map());
  assert.deepEqual(add.added, [`${NAME6}_t80`]);
  assert.deepEqual(add.unchanged, ['v_cb007101_t80']);
  const t = lines(add.tx);
  assert.ok(!t.some((l) => / ip tandem /.test(l)), 'the IPv4 table is untouched');
  assert.deepEqual(t.slice(0, 3), ['add table ip6 tandem', 'delete table ip6 tandem', 'add table ip6 tandem']);
  const gone = renderReload([web4, web6], [web4], new Map());
  assert.deepEqual(gone.removed, [`${NAME6}_t80`]);
  assert.deepEqual(lines(gone.tx), ['add table ip6 tandem', 'delete table ip6 tandem']);
  const more = renderReload([web4, web6], [web4, web6, rr6], new Map());
  assert.deepEqual([more.added, more.unchanged], [[`${NAME6}_t81`], ['v_cb007101_t80', `${NAME6}_t80`]]);
  assert.ok(lines(more.tx).every((l) => / ip6 tandem /.test(l)) && !lines(more.tx).some((l) => /delete table/.test(l)), 'an edit, not a replace');
  assert.ok(renderReload([web4, web6], [web4, web6], new Map()).tx.isEmpty);
});

test('DR over IPv6: fwd ip6 in the netdev table, its own dispatch maps and ICMPv6 errors; the IPv4 DR objects unchanged', () => {
  const both = lines(renderFullTable([dr4, dr6], new Map(), { dr: topo }));
  const v4only = lines(renderFullTable([dr4], new Map(), { dr: topo }));
  const nd = both.filter((l) => / netdev tandem/.test(l));
  // Without an IPv6 DR virtual server the netdev table is what it was.
  assert.ok(!v4only.some((l) => /services6|icmp6|ip6/.test(l)));
  assert.ok(nd.includes('add map netdev tandem services6 { type ipv6_addr . inet_proto . inet_service : verdict; }'));
  assert.ok(nd.includes('add map netdev tandem icmp6_err { typeof ip6 daddr . @th,112,8 . @th,128,128 . @th,384,16 : verdict; }'));
  assert.ok(nd.includes('add rule netdev tandem in_65746830 meta pkttype host ip6 daddr . meta l4proto . th dport vmap @services6'));
  assert.ok(nd.includes('add rule netdev tandem in_65746830 meta pkttype host icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } @th,64,4 6 ip6 daddr . @th,112,8 . @th,128,128 . @th,384,16 vmap @icmp6_err'));
  const M = maglevSize(3);
  assert.ok(nd.includes(`add rule netdev tandem ${NAME6}_t443 fwd ip6 to jhash ip6 saddr mod ${M} seed 0x${hex(dr6)} map @${NAME6}_t443_s device "eth1"`));
  // ICMPv6 errors (Packet Too Big) go where the flow goes: the same hash of the embedded destination.
  assert.ok(nd.includes(`add rule netdev tandem ${NAME6}_t443_i fwd ip6 to jhash @th,256,128 mod ${M} seed 0x${hex(dr6)} map @${NAME6}_t443_s device "eth1"`));
  assert.ok(nd.includes(`add map netdev tandem ${NAME6}_t443_s { typeof numgen inc mod 2 : ip6 daddr; }`));
  assert.ok(nd.includes(`add element netdev tandem services6 { ${VIP6} . tcp . 443 : goto ${NAME6}_t443 }`));
  assert.ok(nd.includes(`add element netdev tandem icmp6_err { ${VIP6} . 6 . 0x20010db8000000010000000000000001 . 443 : goto ${NAME6}_t443_i }`));
  assert.ok(nd.includes('add element netdev tandem services { 203.0.113.1 . tcp . 443 : goto v_cb007101_t443 }'));
  // Its replies are notrack in table ip6 tandem, which then exists for it alone.
  assert.ok(both.includes('add rule ip6 tandem raw ip6 saddr . meta l4proto . th sport @dr_services counter notrack'));
  assert.ok(both.includes(`add element ip6 tandem dr_services { ${VIP6} . tcp . 443 }`));
  assert.ok(both.includes('add element ip tandem dr_services { 203.0.113.1 . tcp . 443 }'));
  assert.equal(usesIp6([dr6]), true);
  // Granularity masks the client in both hashes.
  const g = { ...dr6, persistenceGranularity: 64 };
  const t = renderFullTable([g], new Map(), { dr: topo }).render();
  assert.match(t, /fwd ip6 to jhash ip6 saddr & ffff:ffff:ffff:ffff:: mod/);
  assert.match(t, /fwd ip6 to jhash @th,256,128 & 0xffffffffffffffff0000000000000000 mod/);
});

test('DR over IPv6: kept mode remembers IPv6 flows; reload adding the first IPv6 DR virtual server rebuilds the netdev table', () => {
  const drained = new Map<string, RsLive>([[rsKey(dr6, dr6.realServers[0]!), { up: true, weight: 0 }]]);
  const t = renderFullTable([dr6], drained, { dr: topo }).render();
  assert.match(t, new RegExp(`add set netdev tandem ${NAME6}_t443_n \\{ typeof ip6 saddr \\. tcp sport; flags dynamic,timeout;`));
  assert.match(t, /ip6 saddr \. tcp sport @v_\w+_n update @v_\w+_n \{ ip6 saddr \. tcp sport \} fwd ip6 to/);
  const plan = renderReload([dr4], [dr4, dr6], new Map(), { prevDr: topo, dr: topo });
  assert.deepEqual([plan.added, plan.replaced], [[`${NAME6}_t443`], ['v_cb007101_t443']]);
  const l = lines(plan.tx);
  assert.ok(l.includes('add table ip6 tandem') && l.includes('add set ip6 tandem dr_services { type ipv6_addr . inet_proto . inet_service; }'));
  assert.ok(!l.some((x) => / ip tandem /.test(x)), 'the IPv4 notrack set is unchanged');
  assert.ok(l.includes('delete table netdev tandem') && l.includes('add map netdev tandem services6 { type ipv6_addr . inet_proto . inet_service : verdict; }'));
  const back = renderReload([dr4, dr6], [dr4], new Map(), { prevDr: topo, dr: topo });
  assert.deepEqual(back.removed, [`${NAME6}_t443`]);
  assert.ok(lines(back.tx).includes('delete table ip6 tandem'));
  assert.ok(!lines(back.tx).some((x) => /services6/.test(x)));
});

test('the DR topology reaches IPv6 real servers through the IPv6 VIP prefixes; stop removes the ip6 table when used', () => {
  const vips = [{ address: VIP6, prefix: 64, dev: 'eth0' }, { address: '2001:db8:0:2::1', prefix: 64, dev: 'eth1' }, { address: 'fe80::1', prefix: 64, dev: 'eth1' }];
  const r = drTopology([dr6], vips, new Map([['eth0', ['203.0.113.2/24']], ['eth1', ['192.0.2.2/24']], ['lo', ['::1/128']]]));
  assert.deepEqual(r.problems, []);
  assert.deepEqual([...r.topo.ingress], [[VIP6, ['eth0']]]);
  assert.deepEqual([...new Set(r.topo.egress.values())], ['eth1']);
  assert.equal(renderStop({ ip6: true }).render(), 'add table ip tandem\ndelete table ip tandem\nadd table ip6 tandem\ndelete table ip6 tandem\n');
  assert.equal(renderStop({ ip6: true, netdev: true }).render().split('\n').filter((x) => x.startsWith('delete')).length, 3);
  assert.match(renderFullTable([web4], new Map(), { resetIp6: true }).render(), /add table ip6 tandem\ndelete table ip6 tandem\n$/);
});

test('bad IPv6 input never reaches nft: a real server of the other family, a zone index', () => {
  assert.throws(() => renderFullTable([vs(VIP6, 80, [rs('192.0.2.11', 80)], v6)], new Map()), /bad IPv6 address 192\.0\.2\.11/);
  assert.throws(() => renderFullTable([vs(VIP6, 80, [rs('2001:db8::1%eth0', 80)], v6)], new Map()), /bad IPv6 address/);
  assert.throws(() => renderFullTable([vs('2001:db8::1%eth0', 80, [rs('2001:db8::2', 80)], v6)], new Map()), /bad IPv6 address/);
  assert.throws(() => renderFullTable([vs(VIP6, 80, [rs('192.0.2.11', 80)], { ...v6, method: 'DR' })], new Map(), { dr: topo }), /bad IPv6 address/);
});
