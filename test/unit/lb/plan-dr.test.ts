// lb_kind DR rendered (src/lb/plan-dr.ts through plan.ts): the netdev table's ingress
// forwarding, the notrack chain beside NAT's objects, small edits and reload edits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { drKeptMode, renderFullTable, renderReload, renderRsChange, renderStop, rsKey, vsKey, type DrTopology, type RsLive } from '../../../src/lb/plan.ts';
import { NftTransaction } from '../../../src/lb/nft.ts';
import { vsSeed, maglevSize } from '../../../src/lb/sched/index.ts';
import { vs, rs } from './fixtures.ts';

const pos = { file: 't', line: 1, col: 1 };
const RS = ['192.0.2.11', '192.0.2.12', '192.0.2.13'];
const web = vs('203.0.113.1', 80, RS.map((a) => rs(a, 80)), { method: 'DR', scheduler: 'mh' });
const dns = vs('203.0.113.1', 53, RS.map((a) => rs(a, 53)), { method: 'DR', scheduler: 'sh', protocol: 'UDP' });
const nat = vs('203.0.113.1', 8080, [rs('192.0.2.11', 9000)], { scheduler: 'rr' });
const topo: DrTopology = {
  ingress: new Map([['203.0.113.1', ['eth0']]]),
  egress: new Map([...RS, '192.0.2.250'].map((a) => [a, 'eth1'])),
};
const lines = (t: NftTransaction): string[] => t.render().trim().split('\n');
const seed = (v: typeof web): string => vsSeed(v).toString(16).padStart(8, '0');
const M = maglevSize(3);
/** The slot map's elements: slot → real server index (in RS); 'existing' reads slots M..2M-1 (the existing flows', as 0..M-1). */
function slots(text: string, map: string, part: 'new' | 'existing' = 'new'): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of text.matchAll(new RegExp(`add element netdev tandem ${map} \\{ ([^}]*) \\}`, 'g'))) {
    for (const e of m[1]!.split(', ')) {
      const [, i, a] = /^(\d+) : (\S+)$/.exec(e)!;
      const k = Number(i);
      if ((k >= M) === (part === 'existing')) out.set(k % M, RS.indexOf(a!));
    }
  }
  return out;
}

test('full table: DR virtual servers in table netdev tandem, forwarded at ingress; NAT beside them unchanged', () => {
  const text = renderFullTable([web, dns, nat], new Map(), { dr: topo }).render();
  const natOnly = renderFullTable([nat], new Map()).render();
  // NAT's objects are exactly those of a NAT-only table; DR adds the notrack set and chain.
  const ipLines = text.split('\n').filter((l) => / ip tandem/.test(l));
  assert.deepEqual(ipLines.filter((l) => !/dr_services|tandem raw/.test(l)), natOnly.trim().split('\n'));
  assert.ok(ipLines.includes('add chain ip tandem raw { type filter hook prerouting priority raw; policy accept; }'));
  assert.ok(ipLines.includes('add rule ip tandem raw ip saddr . meta l4proto . th sport @dr_services counter notrack'));
  assert.ok(ipLines.includes('add rule ip tandem raw ip daddr . meta l4proto . th dport @dr_services counter notrack'));
  assert.ok(ipLines.includes('add element ip tandem dr_services { 203.0.113.1 . tcp . 80, 203.0.113.1 . udp . 53 }'));
  // No DR virtual server is in NAT's maps or guard sets.
  assert.ok(!ipLines.some((l) => /v_cb007101_t80\b|v_cb007101_u53|192\.0\.2\.1[23]/.test(l)));
  // The netdev table: replaced as a whole, one ingress hook on the VIP's device, the dispatch maps.
  const nd = text.split('\n').filter((l) => / netdev tandem/.test(l));
  assert.deepEqual(nd.slice(0, 8), [
    'add table netdev tandem',
    'delete table netdev tandem',
    'add table netdev tandem',
    'add map netdev tandem services { type ipv4_addr . inet_proto . inet_service : verdict; }',
    'add map netdev tandem icmp_err { typeof ip daddr . @th,136,8 . @th,160,32 . @th,224,16 : verdict; }',
    'add chain netdev tandem in_65746830 { type filter hook ingress device "eth0" priority filter; policy accept; }',
    'add rule netdev tandem in_65746830 meta pkttype host ip daddr . meta l4proto . th dport vmap @services',
    'add rule netdev tandem in_65746830 meta pkttype host icmp type { destination-unreachable, time-exceeded, parameter-problem } @th,64,8 0x45 ip daddr . @th,136,8 . @th,160,32 . @th,224,16 vmap @icmp_err',
  ]);
  const h = `jhash ip saddr mod ${M} seed 0x${seed(web)}`;
  const hi = `jhash @th,192,32 mod ${M} seed 0x${seed(web)}`;
  // The VS chain's rules, which no health change touches (out of kept mode): the slot, else drop.
  assert.deepEqual(nd.filter((l) => /^add rule netdev tandem v_cb007101_t80 /.test(l)), [
    `add rule netdev tandem v_cb007101_t80 fwd ip to ${h} map @v_cb007101_t80_s device "eth1"`,
    'add rule netdev tandem v_cb007101_t80 counter drop',
  ]);
  assert.ok(nd.includes('add map netdev tandem v_cb007101_t80_s { typeof numgen inc mod 2 : ip daddr; }'));
  // ICMP errors: the same hash over the embedded packet's destination (the client).
  assert.deepEqual(nd.filter((l) => /^add rule netdev tandem v_cb007101_t80_i /.test(l)), [
    `add rule netdev tandem v_cb007101_t80_i fwd ip to ${hi} map @v_cb007101_t80_s device "eth1"`,
    'add rule netdev tandem v_cb007101_t80_i counter drop',
  ]);
  // Kept mode's objects exist only in kept mode (nft reads the whole ruleset for every edit).
  assert.ok(!nd.some((l) => /_k\b|_ki\b|_n\b/.test(l)));
  // UDP: no SYN, no existing-flows slots.
  assert.deepEqual(nd.filter((l) => /^add rule netdev tandem v_cb007101_u53 /.test(l)).map((l) => l.replace(/jhash.*seed 0x[0-9a-f]+/, 'H')), [
    'add rule netdev tandem v_cb007101_u53 fwd ip to H map @v_cb007101_u53_s device "eth1"',
    'add rule netdev tandem v_cb007101_u53 counter drop',
  ]);
  assert.deepEqual(new Set(slots(text, 'v_cb007101_t80_s').values()), new Set([0, 1, 2]));
  assert.ok(nd.includes('add element netdev tandem services { 203.0.113.1 . tcp . 80 : goto v_cb007101_t80, 203.0.113.1 . udp . 53 : goto v_cb007101_u53 }'));
  assert.ok(nd.includes('add element netdev tandem icmp_err { 203.0.113.1 . 6 . 0xcb007101 . 80 : goto v_cb007101_t80_i, 203.0.113.1 . 17 . 0xcb007101 . 53 : goto v_cb007101_u53_i }'));
  // One slot map per virtual server; existing flows' slots only while a server is kept.
  assert.deepEqual(nd.filter((l) => /^add (map|set) netdev tandem v_/.test(l)).map((l) => l.split(' ')[4]), ['v_cb007101_t80_s', 'v_cb007101_u53_s']);
  assert.equal(slots(text, 'v_cb007101_t80_s').size, M);
  assert.equal(slots(text, 'v_cb007101_t80_s', 'existing').size, 0);
  // Without DR: no netdev table, no notrack chain.
  assert.ok(!/netdev|dr_services|tandem raw/.test(natOnly));
  assert.match(renderFullTable([nat], new Map(), { resetNetdev: true }).render(), /add table netdev tandem\ndelete table netdev tandem\n$/);
});

test('persistence_granularity masks the client address in both hashes; servers behind two interfaces; one no interface reaches gets nothing', () => {
  const v = { ...web, persistenceGranularity: 24 };
  const text = renderFullTable([v], new Map(), { dr: { ...topo, egress: new Map([['192.0.2.11', 'eth1'], ['192.0.2.12', 'eth2']]) } }).render();
  const key = 'jhash ip saddr & 255\\.255\\.255\\.0 mod \\d+ seed 0x[0-9a-f]+';
  // Two interfaces: the device comes from a second slot map, indexed by the same hash.
  assert.match(text, new RegExp(`v_cb007101_t80 fwd ip to ${key} map @v_cb007101_t80_s device ${key} map @v_cb007101_t80_sd\\n`));
  assert.match(text, /v_cb007101_t80_i fwd ip to jhash @th,192,32 & 0xffffff00 mod \d+ seed 0x[0-9a-f]+ map @v_cb007101_t80_s device jhash @th,192,32/);
  assert.match(text, /add map netdev tandem v_cb007101_t80_sd \{ typeof numgen inc mod 2 : meta oif; \}/);
  const addr = slots(text, 'v_cb007101_t80_s');
  const dev = /add element netdev tandem v_cb007101_t80_sd \{ ([^}]*) \}/.exec(text)![1]!.split(', ').map((e) => e.split(' : ')[1]);
  for (const [i, j] of addr) assert.equal(dev[i], j === 0 ? '"eth1"' : '"eth2"', `slot ${i}`);
  assert.ok(![...addr.values()].includes(2), 'rs3 is unreachable: no slot');
  assert.ok([...addr.values()].includes(1));
});

test('a real server going down: one edit of that DR virtual server, moving only its slots', () => {
  const before = slots(renderFullTable([web], new Map(), { dr: topo }).render(), 'v_cb007101_t80_s');
  const state = new Map<string, RsLive>([[rsKey(web, web.realServers[1]!), { up: false, weight: 1 }]]);
  const edit = renderRsChange(web, state, { dr: topo });
  const l = lines(edit);
  // The slot map only: as small an edit as NAT's (the rules do not change).
  assert.deepEqual(l.map((x) => x.replace(/ \{ .*/, '')), [
    'flush map netdev tandem v_cb007101_t80_s',
    'add element netdev tandem v_cb007101_t80_s',
  ]);
  const after = slots(edit.render(), 'v_cb007101_t80_s');
  for (const [i, j] of before) {
    if (j === 1) assert.notEqual(after.get(i), 1);
    else assert.equal(after.get(i), j, `slot ${i} of a surviving server moved`);
  }
});

test('kept mode: a drained or inhibited server keeps its TCP connections, the ones begun meanwhile are remembered and go elsewhere', () => {
  const h = `jhash ip saddr mod ${M} seed 0x${seed(web)}`;
  const hi = `jhash @th,192,32 mod ${M} seed 0x${seed(web)}`;
  const inhibited = { ...web, realServers: web.realServers.map((r, j) => (j === 0 ? { ...r, inhibitOnFailure: true } : r)) };
  const normal = slots(renderFullTable([web], new Map(), { dr: topo }).render(), 'v_cb007101_t80_s');
  for (const [v, live] of [[web, { up: true, weight: 0 }], [inhibited, { up: false, weight: 1 }]] as const) {
    const state = new Map([[rsKey(v, v.realServers[0]!), live]]);
    // Entering kept mode: the chains jump to kept mode's, which are made with its memory.
    const enter = renderRsChange(v, state, { dr: topo });
    const l = lines(enter);
    assert.deepEqual(l.filter((x) => !/add element/.test(x)), [
      'flush chain netdev tandem v_cb007101_t80',
      'flush chain netdev tandem v_cb007101_t80_i',
      'add set netdev tandem v_cb007101_t80_n { typeof ip saddr . tcp sport; flags dynamic,timeout; timeout 900s; size 65536; }',
      'add chain netdev tandem v_cb007101_t80_k',
      'add chain netdev tandem v_cb007101_t80_ki',
      'add rule netdev tandem v_cb007101_t80_k tcp flags & (syn|ack) == syn update @v_cb007101_t80_n { ip saddr . tcp sport }',
      `add rule netdev tandem v_cb007101_t80_k tcp flags & (syn|ack) == syn fwd ip to ${h} map @v_cb007101_t80_s device "eth1"`,
      'add rule netdev tandem v_cb007101_t80_k tcp flags & (syn|ack) == syn counter drop',
      `add rule netdev tandem v_cb007101_t80_k ip saddr . tcp sport @v_cb007101_t80_n update @v_cb007101_t80_n { ip saddr . tcp sport } fwd ip to ${h} map @v_cb007101_t80_s device "eth1"`,
      `add rule netdev tandem v_cb007101_t80_k fwd ip to ${h} offset ${M} map @v_cb007101_t80_s device "eth1"`,
      `add rule netdev tandem v_cb007101_t80_ki fwd ip to ${hi} offset ${M} map @v_cb007101_t80_s device "eth1"`,
      `add rule netdev tandem v_cb007101_t80_ki fwd ip to ${hi} map @v_cb007101_t80_s device "eth1"`,
      'add rule netdev tandem v_cb007101_t80_k counter drop',
      'add rule netdev tandem v_cb007101_t80_ki counter drop',
      'add rule netdev tandem v_cb007101_t80 goto v_cb007101_t80_k',
      'add rule netdev tandem v_cb007101_t80_i goto v_cb007101_t80_ki',
      'flush map netdev tandem v_cb007101_t80_s',
    ]);
    assert.ok(![...slots(enter.render(), 'v_cb007101_t80_s').values()].includes(0), 'no new flow to it');
    assert.deepEqual(slots(enter.render(), 'v_cb007101_t80_s', 'existing'), normal, 'existing flows where they were');
    assert.equal(drKeptMode(v, state, topo, true), true);
    // Staying in it (another server changes): the map alone; the remembered flows stay.
    const other = new Map([...state, [rsKey(v, v.realServers[2]!), { up: false, weight: 1 }]]);
    const stay = renderRsChange(v, other, { dr: topo, drKept: new Set([vsKey(v)]) }).render();
    assert.ok(/^flush map netdev tandem v_cb007101_t80_s\nadd element netdev tandem v_cb007101_t80_s \{[^\n]*\}\n$/.test(stay), stay);
    // Leaving it: back to the plain rules; kept mode's objects and memory go.
    const leave = lines(renderRsChange(v, new Map(), { dr: topo, drKept: new Set([vsKey(v)]) }));
    assert.deepEqual(leave.slice(0, 11), [
      'flush chain netdev tandem v_cb007101_t80',
      'flush chain netdev tandem v_cb007101_t80_i',
      'flush chain netdev tandem v_cb007101_t80_k',
      'flush chain netdev tandem v_cb007101_t80_ki',
      'delete chain netdev tandem v_cb007101_t80_k',
      'delete chain netdev tandem v_cb007101_t80_ki',
      'delete set netdev tandem v_cb007101_t80_n',
      `add rule netdev tandem v_cb007101_t80 fwd ip to ${h} map @v_cb007101_t80_s device "eth1"`,
      `add rule netdev tandem v_cb007101_t80_i fwd ip to ${hi} map @v_cb007101_t80_s device "eth1"`,
      'add rule netdev tandem v_cb007101_t80 counter drop',
      'add rule netdev tandem v_cb007101_t80_i counter drop',
    ]);
  }
  // A full apply in kept mode builds it directly; a reload dropping a kept virtual server removes its objects.
  const drained = new Map([[rsKey(web, web.realServers[0]!), { up: true, weight: 0 }]]);
  assert.match(renderFullTable([web], drained, { dr: topo }).render(), /add rule netdev tandem v_cb007101_t80 goto v_cb007101_t80_k\n/);
  assert.match(renderReload([web], [], drained, { prevDr: topo }).tx.render(), /delete table netdev tandem/);
  const gone = renderReload([web, dns], [dns], drained, { prevDr: topo, dr: topo }).tx.render();
  assert.match(gone, /delete set netdev tandem v_cb007101_t80_n\n/);
  // Without a kept server no existing-flows slots; UDP cannot tell new from old: a drained server's datagrams go to the others.
  assert.equal(slots(renderRsChange(web, new Map(), { dr: topo }).render(), 'v_cb007101_t80_s', 'existing').size, 0);
  const d = renderRsChange(dns, new Map([[rsKey(dns, dns.realServers[0]!), { up: true, weight: 0 }]]), { dr: topo }).render();
  assert.equal(slots(d, 'v_cb007101_u53_s', 'existing').size, 0);
  assert.ok(!/_k|_n/.test(d));
});

test('quorum lost with a sorry server: everything (ICMP too) to the sorry server; nothing up and no sorry server: drop', () => {
  const v = { ...web, quorum: 3, sorryServer: { address: '192.0.2.250', port: 80, pos } };
  const down = new Map(v.realServers.map((r) => [rsKey(v, r), { up: false, weight: 1 }]));
  const text = renderRsChange(v, down, { dr: topo, quorumUp: new Map([[vsKey(v), false]]) }).render();
  const sorry = /add element netdev tandem v_cb007101_t80_s \{ ([^}]*) \}/.exec(text)![1]!.split(', ');
  assert.equal(sorry.length, M);
  assert.ok(sorry.every((e) => e.endsWith(': 192.0.2.250')), 'every slot, so SYNs and the rest (and ICMP) go there');
  assert.ok(!/192\.0\.2\.250/.test(renderFullTable([v], new Map(), { dr: topo }).render()), 'quorum up: the sorry server gets nothing');
  // Nothing up and no sorry server: empty maps; the chains' last rules drop.
  const none = renderRsChange(web, new Map(web.realServers.map((r) => [rsKey(web, r), { up: false, weight: 1 }])), { dr: topo }).render();
  assert.equal(none, 'flush map netdev tandem v_cb007101_t80_s\n');
});

test('reload: the first DR virtual server creates the netdev table and notrack chain; the last removes them', () => {
  const add = renderReload([nat], [nat, web], new Map(), { dr: topo }).tx.render();
  assert.match(add, /add set ip tandem dr_services/);
  assert.match(add, /add table netdev tandem\ndelete table netdev tandem\nadd table netdev tandem\n/);
  assert.ok(!/v_cb007101_t8080/.test(add), 'the NAT virtual server is untouched');
  const gone = renderReload([nat, web], [nat], new Map(), { prevDr: topo });
  assert.deepEqual(gone.removed, ['v_cb007101_t80']);
  assert.equal(gone.tx.render(), [
    'flush chain ip tandem raw', 'delete chain ip tandem raw', 'delete set ip tandem dr_services',
    'add table netdev tandem', 'delete table netdev tandem', '',
  ].join('\n'));
  assert.ok(renderReload([nat, web], [nat, web], new Map(), { prevDr: topo, dr: topo }).tx.isEmpty, 'nothing changed: no edit');
});

test('reload: one DR virtual server removed, one refilled, a new ingress device: only those objects', () => {
  const web2 = { ...web, realServers: web.realServers.map((r) => ({ ...r, weight: r.address === '192.0.2.13' ? 3 : 1 })) };
  const other = vs('198.51.100.1', 443, [rs('192.0.2.11', 443)], { method: 'DR', scheduler: 'mh' });
  const topo2: DrTopology = { ingress: new Map([['203.0.113.1', ['eth0']], ['198.51.100.1', ['eth2']]]), egress: topo.egress };
  const plan = renderReload([web, dns], [web2, other], new Map(), { prevDr: topo, dr: topo2 });
  assert.deepEqual([plan.added, plan.removed, plan.refilled, plan.replaced], [['v_c6336401_t443'], ['v_cb007101_u53'], ['v_cb007101_t80'], []]);
  const l = lines(plan.tx);
  assert.ok(l.includes('delete element ip tandem dr_services { 203.0.113.1 . udp . 53 }'));
  assert.ok(l.includes('add element ip tandem dr_services { 198.51.100.1 . tcp . 443 }'));
  assert.ok(l.includes('add chain netdev tandem in_65746832 { type filter hook ingress device "eth2" priority filter; policy accept; }'));
  assert.ok(l.includes('delete element netdev tandem services { 203.0.113.1 . udp . 53 }'));
  // References go before what they refer to: the dispatch element before the chain it jumps to.
  assert.ok(l.indexOf('delete element netdev tandem icmp_err { 203.0.113.1 . 17 . 0xcb007101 . 53 }') < l.indexOf('delete chain netdev tandem v_cb007101_u53_i'));
  assert.ok(l.includes('flush map netdev tandem v_cb007101_t80_s'), 'the weight change refills');
  assert.ok(!l.some((x) => /declare|add chain netdev tandem v_cb007101_t80\b/.test(x)), 'the refilled one is not re-created');
  // The ingress device of a VIP that moved: old hook removed, new one added.
  const moved = renderReload([web], [web], new Map(), { prevDr: topo, dr: { ...topo, ingress: new Map([['203.0.113.1', ['eth3']]]) } }).tx.render();
  assert.match(moved, /flush chain netdev tandem in_65746830\ndelete chain netdev tandem in_65746830\nadd chain netdev tandem in_65746833 /);
});

test('stop removes the netdev table too when DR used it; bad device names never reach nft', () => {
  assert.equal(renderStop({ netdev: true }).render(), 'add table ip tandem\ndelete table ip tandem\nadd table netdev tandem\ndelete table netdev tandem\n');
  assert.equal(renderStop().render(), 'add table ip tandem\ndelete table ip tandem\n');
  const evil: DrTopology = { ingress: new Map([['203.0.113.1', ['eth0" ; flush ruleset']]]), egress: topo.egress };
  assert.throws(() => renderFullTable([web], new Map(), { dr: evil }), /bad interface name/);
  assert.throws(() => renderFullTable([web], new Map(), { dr: { ...topo, egress: new Map([['192.0.2.11', 'a b']]) } }), /bad interface name/);
});
