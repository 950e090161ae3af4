import { test } from 'node:test';
import assert from 'node:assert/strict';
import { renderFullTable, renderReload, renderRsChange, renderStop, rsKey, vsKey, vsObjectName, schedulableBackends } from '../../../src/lb/plan.ts';
import type { RsLive } from '../../../src/lb/plan.ts';
import { NftTransaction } from '../../../src/lb/nft.ts';
import { vsSeed } from '../../../src/lb/sched/index.ts';
import { vs, rs } from './fixtures.ts';

const web = vs('203.0.113.10', 80, [rs('192.0.2.11', 8080), rs('192.0.2.12', 8080)], { scheduler: 'rr' });

test('full table snapshot (rr)', () => {
  assert.equal(renderFullTable([web], new Map()).render(), [
    'add table ip tandem',
    'delete table ip tandem',
    'add table ip tandem',
    'add map ip tandem services { type ipv4_addr . inet_proto . inet_service : verdict; }',
    'add set ip tandem rs_tcp { type ipv4_addr . inet_service; }',
    'add set ip tandem rs_udp { type ipv4_addr . inet_service; }',
    'add chain ip tandem prerouting { type nat hook prerouting priority dstnat; policy accept; }',
    'add rule ip tandem prerouting ip daddr . meta l4proto . th dport vmap @services',
    'add chain ip tandem forward { type filter hook forward priority filter; policy accept; }',
    'add rule ip tandem forward ct state new ip saddr . tcp sport @rs_tcp tcp flags & (fin|syn|rst|ack) != syn counter drop',
    'add rule ip tandem forward ct state new ip saddr . udp sport @rs_udp counter drop',
    'add chain ip tandem v_cb00710a_t80',
    'add map ip tandem v_cb00710a_t80_s { typeof numgen inc mod 2 : ip daddr; }',
    'add rule ip tandem v_cb00710a_t80 meta l4proto tcp dnat ip to numgen inc mod 2 map @v_cb00710a_t80_s : 8080',
    'add element ip tandem v_cb00710a_t80_s { 0 : 192.0.2.11, 1 : 192.0.2.12 }',
    'add element ip tandem services { 203.0.113.10 . tcp . 80 : goto v_cb00710a_t80 }',
    'add element ip tandem rs_tcp { 192.0.2.11 . 8080, 192.0.2.12 . 8080 }',
    '',
  ].join('\n'));
});

test('a real server going down is a small edit of that virtual server only', () => {
  const other = vs('203.0.113.10', 443, [rs('192.0.2.11', 443)], { scheduler: 'rr' });
  const state = new Map<string, RsLive>([[rsKey(web, web.realServers[0]), { up: false, weight: 1 }]]);
  const text = renderRsChange(web, state).render();
  assert.equal(text, [
    'flush chain ip tandem v_cb00710a_t80',
    'flush map ip tandem v_cb00710a_t80_s',
    'add rule ip tandem v_cb00710a_t80 meta l4proto tcp dnat ip to numgen inc mod 1 map @v_cb00710a_t80_s : 8080',
    'add element ip tandem v_cb00710a_t80_s { 0 : 192.0.2.12 }',
    '',
  ].join('\n'));
  assert.ok(!text.includes(vsObjectName(other)));
  assert.ok(!/table ip tandem\n|delete/.test(text));
});

test('mh renders the seeded jhash over a prime-sized Maglev table; the size does not change with health', () => {
  const v = { ...web, scheduler: 'mh' as const, persistenceGranularity: 24 };
  const seed = vsSeed(v).toString(16).padStart(8, '0');
  const full = renderFullTable([v], new Map()).render();
  assert.match(full, new RegExp(`dnat ip to jhash ip saddr & 255\\.255\\.255\\.0 mod 29 seed 0x${seed} map @v_cb00710a_t80_s : 8080`));
  const down = renderRsChange(v, new Map([[rsKey(v, v.realServers[1]), { up: false, weight: 1 }]])).render();
  assert.match(down, / mod 29 seed /);
  const elements = /add element ip tandem v_cb00710a_t80_s \{ (.*) \}/.exec(down)![1].split(', ');
  assert.equal(elements.length, 29);
  assert.ok(elements.every((e) => e.endsWith(': 192.0.2.11')));
});

test('real servers on different ports keep addr . port values in the slot map', () => {
  const mixed = vs('203.0.113.10', 80, [rs('192.0.2.11', 8080), rs('192.0.2.12', 8081)], { scheduler: 'rr' });
  const text = renderFullTable([mixed], new Map()).render();
  assert.match(text, /typeof numgen inc mod 2 : ip daddr \. tcp dport;/);
  assert.match(text, /dnat ip to numgen inc mod 2 map @v_cb00710a_t80_s\n/);
  assert.match(text, /\{ 0 : 192\.0\.2\.11 \. 8080, 1 : 192\.0\.2\.12 \. 8081 \}/);
});

test('all real servers down and no sorry server: the VS drops instead of reaching the board', () => {
  const state = new Map(web.realServers.map((r) => [rsKey(web, r), { up: false, weight: 1 }]));
  assert.match(renderRsChange(web, state).render(), /add rule ip tandem v_cb00710a_t80 meta l4proto tcp counter drop\n$/);
});

test('quorum lost with a sorry server sends everything to the sorry server', () => {
  const v = { ...web, sorryServer: { address: '192.0.2.99', port: 80, pos: web.pos } };
  const text = renderRsChange(v, new Map(), { quorumUp: new Map([[vsKey(v), false]]) }).render();
  assert.match(text, /add rule ip tandem v_cb00710a_t80 meta l4proto tcp dnat ip to 192\.0\.2\.99:80\n$/);
  // The sorry server is a real server for the mid-stream guard too.
  assert.match(renderFullTable([v], new Map()).render(), /rs_tcp \{ .*192\.0\.2\.99 \. 80/);
});

test('weight 0 (inhibit_on_failure or misc_dynamic) takes a server out of new scheduling', () => {
  const state = new Map([[rsKey(web, web.realServers[1]), { up: true, weight: 0 }]]);
  assert.deepEqual(schedulableBackends(web, state).map((b) => b.key), ['192.0.2.11:8080']);
});

test('alpha: real servers without a state yet start down', () => {
  assert.deepEqual(schedulableBackends({ ...web, alpha: true }, new Map()), []);
});

test('wrr persistence: sticky sets per real server; down flushes its set, inhibit_on_failure keeps it', () => {
  const v = vs('203.0.113.10', 80, [rs('192.0.2.11', 80, { weight: 2 }), rs('192.0.2.12', 80, { inhibitOnFailure: true })],
    { scheduler: 'wrr', persistenceTimeoutMs: 360_000, persistenceGranularity: 24 });
  const full = renderFullTable([v], new Map()).render();
  assert.match(full, /add set ip tandem v_cb00710a_t80_p0 \{ type ipv4_addr; flags dynamic,timeout; timeout 360s; size 65535; \}/);
  assert.match(full, /add rule ip tandem v_cb00710a_t80_r0 update @v_cb00710a_t80_p0 \{ ip saddr & 255\.255\.255\.0 \}/);
  assert.match(full, /add rule ip tandem v_cb00710a_t80 ip saddr & 255\.255\.255\.0 @v_cb00710a_t80_p1 goto v_cb00710a_t80_r1/);
  assert.match(full, /add rule ip tandem v_cb00710a_t80 numgen inc mod 3 vmap @v_cb00710a_t80_s/);
  assert.match(full, /v_cb00710a_t80_s \{ 0 : goto v_cb00710a_t80_r0, 1 : goto v_cb00710a_t80_r1, 2 : goto v_cb00710a_t80_r0 \}/);
  const bothDown = new Map(v.realServers.map((r) => [rsKey(v, r), { up: false, weight: 1 }]));
  const edit = renderRsChange(v, bothDown).render();
  assert.match(edit, /flush set ip tandem v_cb00710a_t80_p0/);
  assert.doesNotMatch(edit, /flush set ip tandem v_cb00710a_t80_p1/);
});

test('UDP, several virtual servers per VIP, userspace-only ones left out', () => {
  const dns = vs('203.0.113.10', 53, [rs('192.0.2.11', 5353)], { protocol: 'UDP', scheduler: 'sh' });
  const lc = vs('203.0.113.10', 25, [rs('192.0.2.11', 25)], { scheduler: 'lc' });
  const text = renderFullTable([web, dns, lc], new Map()).render();
  assert.match(text, /203\.0\.113\.10 \. tcp \. 80 : goto v_cb00710a_t80, 203\.0\.113\.10 \. udp \. 53 : goto v_cb00710a_u53 \}/);
  assert.match(text, /meta l4proto udp dnat ip to jhash ip saddr mod 1 seed 0x[0-9a-f]{8} map @v_cb00710a_u53_s : 5353/);
  assert.match(text, /typeof jhash ip saddr mod 2 seed 0x0 : ip daddr;/);
  assert.match(text, /rs_udp \{ 192\.0\.2\.11 \. 5353 \}/);
  assert.doesNotMatch(text, /_t25/);
});

test('bad input gives a clear error, not broken nft text', () => {
  assert.throws(() => renderFullTable([vs('203.0.113.300', 80, [rs('192.0.2.1', 80)])], new Map()), /bad IPv4 address 203\.0\.113\.300/);
  assert.throws(() => renderFullTable([vs('203.0.113.1', 80, [rs('192.0.2.1; flush ruleset', 80)])], new Map()), /bad IPv4 address/);
  assert.throws(() => renderFullTable([web, web], new Map()), /duplicate virtual server/);
  assert.throws(() => new NftTransaction().addRule('x', 'accept; flush ruleset'), /one statement list/);
  assert.throws(() => new NftTransaction().flushMap('a b'), /bad nftables object name/);
});

test('stop removes only our table, even when it is already gone', () => {
  assert.equal(renderStop().render(), 'add table ip tandem\ndelete table ip tandem\n');
});

// ---- reload as an edit -----------------------------------------------------------------------

const sticky = vs('203.0.113.10', 81, [rs('192.0.2.11', 8081), rs('192.0.2.12', 8081)], { scheduler: 'wrr', persistenceTimeoutMs: 300_000 });
const udp = vs('203.0.113.10', 53, [rs('192.0.2.13', 5353)], { protocol: 'UDP', scheduler: 'rr' });

test('reload with nothing changed is an empty edit: no object of any virtual server is touched', () => {
  const plan = renderReload([web, sticky, udp], [{ ...web }, { ...sticky }, { ...udp }], new Map());
  assert.equal(plan.tx.isEmpty, true);
  assert.deepEqual(plan.unchanged.sort(), [vsObjectName(web), vsObjectName(sticky), vsObjectName(udp)].sort());
});

test('reload: an unchanged persistence VS keeps its sets while another VS is added, removed and refilled', () => {
  const heavier = { ...web, scheduler: 'wrr' as const, realServers: [rs('192.0.2.11', 8080, { weight: 3 }), rs('192.0.2.12', 8080)] };
  const added = vs('203.0.113.10', 82, [rs('192.0.2.14', 8082)], { scheduler: 'rr' });
  const plan = renderReload([web, sticky, udp], [heavier, sticky, added], new Map());
  assert.deepEqual(plan.added, [vsObjectName(added)]);
  assert.deepEqual(plan.removed, [vsObjectName(udp)]);
  assert.deepEqual(plan.refilled, [vsObjectName(web)]);
  assert.deepEqual(plan.replaced, []);
  assert.deepEqual(plan.unchanged, [vsObjectName(sticky)]);
  const text = plan.tx.render();
  assert.ok(!text.includes(vsObjectName(sticky)), `the persistence VS is not touched:\n${text}`);
  assert.ok(!/table ip tandem\n|delete table/.test(text), 'no table replace');
  assert.equal(text, [
    'delete element ip tandem services { 203.0.113.10 . udp . 53 }',
    'flush chain ip tandem v_cb00710a_u53',
    'flush map ip tandem v_cb00710a_u53_s',
    'delete chain ip tandem v_cb00710a_u53',
    'delete map ip tandem v_cb00710a_u53_s',
    'add chain ip tandem v_cb00710a_t82',
    'add map ip tandem v_cb00710a_t82_s { typeof numgen inc mod 2 : ip daddr; }',
    'add rule ip tandem v_cb00710a_t82 meta l4proto tcp dnat ip to numgen inc mod 1 map @v_cb00710a_t82_s : 8082',
    'add element ip tandem v_cb00710a_t82_s { 0 : 192.0.2.14 }',
    'add element ip tandem services { 203.0.113.10 . tcp . 82 : goto v_cb00710a_t82 }',
    'flush chain ip tandem v_cb00710a_t80',
    'flush map ip tandem v_cb00710a_t80_s',
    `add rule ip tandem v_cb00710a_t80 meta l4proto tcp dnat ip to numgen inc mod 4 map @v_cb00710a_t80_s : 8080`,
    'add element ip tandem v_cb00710a_t80_s { 0 : 192.0.2.11, 1 : 192.0.2.11, 2 : 192.0.2.12, 3 : 192.0.2.11 }',
    'add element ip tandem rs_tcp { 192.0.2.14 . 8082 }',
    'delete element ip tandem rs_udp { 192.0.2.13 . 5353 }',
    '',
  ].join('\n'));
});

test('reload: a persistence VS that itself changed is re-created, its sets replaced', () => {
  const longer = { ...sticky, persistenceTimeoutMs: 600_000 };
  const plan = renderReload([web, sticky], [web, longer], new Map());
  assert.deepEqual(plan.replaced, [vsObjectName(sticky)]);
  const text = plan.tx.render();
  const name = vsObjectName(sticky);
  for (const j of [0, 1]) {
    assert.match(text, new RegExp(`delete set ip tandem ${name}_p${j}\n`));
    assert.match(text, new RegExp(`add set ip tandem ${name}_p${j} \\{ type ipv4_addr; flags dynamic,timeout; timeout 600s;`));
  }
  // The references go before what they refer to.
  const at = (line: string): number => text.indexOf(line);
  assert.ok(at(`delete element ip tandem services { 203.0.113.10 . tcp . 81 }`) < at(`delete chain ip tandem ${name}\n`));
  assert.ok(at(`flush map ip tandem ${name}_s`) < at(`delete chain ip tandem ${name}_r0`));
  assert.ok(at(`delete chain ip tandem ${name}_r0`) < at(`delete set ip tandem ${name}_p0`));
  assert.ok(!text.includes(vsObjectName(web)), 'the other VS is not touched');
  // A real server added to it changes what set j stands for: replaced too.
  const grown = { ...sticky, realServers: [...sticky.realServers, rs('192.0.2.13', 8081)] };
  assert.deepEqual(renderReload([sticky], [grown], new Map()).replaced, [name]);
});

test('reload: a quorum change alone refills the chain, the sets stay', () => {
  const q = { ...sticky, sorryServer: { address: '192.0.2.99', port: 8081, pos: sticky.pos } };
  const key = vsKey(q);
  const plan = renderReload([q], [q], new Map(), { prevQuorumUp: new Map([[key, true]]), quorumUp: new Map([[key, false]]) });
  assert.deepEqual(plan.refilled, [vsObjectName(q)]);
  assert.doesNotMatch(plan.tx.render(), /delete|add set|flush set/);
  assert.match(plan.tx.render(), /dnat ip to 192\.0\.2\.99:8081/);
});
