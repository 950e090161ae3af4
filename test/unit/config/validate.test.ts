import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfigText } from '../../../src/config/index.ts';
import type { Diagnostic } from '../../../src/config/model.ts';
import { MINIMAL } from './helpers.ts';

function diags(text: string, interfaces?: Map<string, string[]>): Diagnostic[] {
  return parseConfigText(text, 'v.conf', interfaces ? { interfaces } : {}).diagnostics;
}
function only(text: string, severity: 'error' | 'warning', re: RegExp, line?: number): void {
  const ds = diags(text);
  const hits = ds.filter((d) => d.severity === severity && re.test(d.message));
  assert.ok(hits.length > 0, `expected ${severity} ${re}; got ${JSON.stringify(ds.map((d) => d.message))}`);
  if (line !== undefined) assert.equal(hits[0]!.pos.line, line);
}
const inst = (body: string, name = 'VI_1'): string => `vrrp_instance ${name} {\n${body}\n virtual_ipaddress {\n 192.0.2.10\n }\n}\n`;
const vs = (body: string): string => MINIMAL + `virtual_server 192.0.2.10 80 {\n${body}\n}\n`;

test('VRID must be 1-255, located at the directive', () => {
  only(inst(' interface eth0\n virtual_router_id 300'), 'error', /virtual_router_id 300 is out of range 1-255/, 3);
  only(inst(' interface eth0\n virtual_router_id 0'), 'error', /virtual_router_id 0 is out of range/, 3);
});

test('priority 1-255; 255 warns (address owner)', () => {
  only(inst(' interface eth0\n virtual_router_id 5\n priority 0'), 'error', /priority 0 is out of range 1-255/, 4);
  only(inst(' interface eth0\n virtual_router_id 5\n priority 256'), 'error', /priority 256 is out of range/, 4);
  only(inst(' interface eth0\n virtual_router_id 5\n priority 255'), 'warning', /priority 255/, 4);
  assert.equal(parseConfigText(inst(' interface eth0\n virtual_router_id 5\n priority 255'), 'v.conf').config !== null, true, 'a warning still runs');
});

test('advert_int: > 0, v2 whole seconds 1-255, v3 0.01-40.95', () => {
  only(inst(' interface eth0\n virtual_router_id 5\n advert_int 0'), 'error', /advert_int must be greater than 0/);
  only(inst(' interface eth0\n virtual_router_id 5\n advert_int 0.5'), 'error', /not valid for VRRP v2/, 4);
  only(inst(' interface eth0\n virtual_router_id 5\n advert_int 256'), 'error', /not valid for VRRP v2/);
  only(inst(' interface eth0\n virtual_router_id 5\n version 3\n advert_int 41'), 'error', /not valid for VRRP v3/);
  only(inst(' interface eth0\n virtual_router_id 5\n version 3\n advert_int 0.005'), 'error', /not valid for VRRP v3/);
  assert.ok(parseConfigText(inst(' interface eth0\n virtual_router_id 5\n version 3\n advert_int 0.05'), 'v.conf').config);
});

test('bad addresses and prefixes', () => {
  only(MINIMAL.replace('192.0.2.10/24', '192.0.2.300'), 'error', /'192.0.2.300' is not a valid IPv4 address/, 6);
  only(MINIMAL.replace('192.0.2.10/24', '192.0.2.1/33'), 'error', /bad prefix length/, 6);
  only(MINIMAL.replace('priority 100', 'unicast_src_ip 10.0.0'), 'error', /not a valid IPv4 address/, 4);
});

test('a VRID used twice on one interface: an error at both', () => {
  const ds = diags(inst(' interface eth0\n virtual_router_id 7', 'A') + inst(' interface eth0\n virtual_router_id 7', 'B') + inst(' interface eth1\n virtual_router_id 7', 'C'));
  const hits = ds.filter((d) => /used twice on eth0/.test(d.message));
  assert.deepEqual(hits.map((d) => d.pos.line), [3, 10]);
});

test('sync groups: unknown member, instance in two groups', () => {
  only(MINIMAL + 'vrrp_sync_group G {\n group {\n VI_1\n VI_9\n }\n}\n', 'error', /vrrp_sync_group G: no vrrp_instance named VI_9/, 10);
  only(MINIMAL + 'vrrp_sync_group G {\n group {\n VI_1\n }\n}\nvrrp_sync_group H {\n group {\n VI_1\n }\n}\n', 'error', /VI_1 is in two sync groups: G and H/);
});

test('track_script naming an unknown vrrp_script', () => {
  only(MINIMAL.replace('priority 100', 'track_script {\n  nosuch\n }'), 'error', /track_script nosuch: no vrrp_script/, 5);
});

test('unicast_peer without unicast_src_ip is fine', () => {
  const r = parseConfigText(MINIMAL.replace('priority 100', 'unicast_peer {\n 192.0.2.2\n }'), 'v.conf');
  assert.ok(r.config);
  assert.deepEqual(r.config.instances[0]!.unicastPeers, ['192.0.2.2']);
});

test('ports, weights, duplicate real servers, quorum', () => {
  only(MINIMAL + 'virtual_server 192.0.2.10 70000 {\n lb_algo rr\n}\n', 'error', /port 70000 is out of range 1-65535/, 9);
  only(vs(' lb_algo rr\n real_server 198.51.100.2 0 {\n }'), 'error', /real_server: port 0 is out of range/, 11);
  only(vs(' lb_algo rr\n real_server 198.51.100.2 80 {\n weight 70000\n }'), 'error', /weight 70000 is out of range/, 12);
  only(vs(' lb_algo rr\n real_server 198.51.100.2 80 {\n }\n real_server 198.51.100.2 80 {\n }'), 'error', /appears twice/, 13);
  only(vs(' lb_algo rr\n quorum 5\n real_server 198.51.100.2 80 {\n weight 2\n }'), 'warning', /quorum 5 is more than the sum of real server weights \(2\)/, 11);
  only(vs(' lb_algo rr\n real_server 198.51.100.2 80 {\n TCP_CHECK {\n connect_port 0\n }\n }'), 'error', /connect_port: port 0/, 13);
});

test('lc/wlc only with forwarder userspace, also for the default scheduler', () => {
  only(vs(' lb_algo lc'), 'error', /scheduler lc needs connection counts that only 'forwarder userspace' keeps/, 10);
  only(vs(''), 'error', /scheduler wlc \(keepalived's default when lb_algo is not given\)/, 9);
  assert.ok(parseConfigText(vs(' lb_algo wlc\n forwarder userspace\n real_server 198.51.100.2 80 {\n }'), 'v.conf').config);
});

test('authentication AH refused', () => {
  only(MINIMAL.replace('priority 100', 'authentication {\n auth_type AH\n auth_pass x\n }'), 'error', /authentication AH is not supported/, 5);
});

test('mqtt url scheme', () => {
  only(MINIMAL + 'mqtt {\n url http://broker\n}\n', 'error', /mqtt url 'http:\/\/broker' must be mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\//, 10);
  for (const u of ['mqtt://b', 'mqtts://b:8883', 'ws://b/mqtt', 'wss://b']) {
    assert.ok(parseConfigText(MINIMAL + `mqtt {\n url ${u}\n}\n`, 'v.conf').config, u);
  }
});

test('VIP outside every interface subnet warns only when interfaces are given', () => {
  const ifs = new Map([['eth0', ['203.0.113.1/24']], ['eth1', ['198.51.100.1/24']]]);
  const ds = diags(MINIMAL, ifs);
  assert.ok(ds.some((d) => d.severity === 'warning' && /VIP 192.0.2.10 is outside every interface's subnet/.test(d.message) && d.pos.line === 6));
  assert.ok(!diags(MINIMAL).some((d) => /outside/.test(d.message)));
  assert.ok(!diags(MINIMAL, new Map([['eth0', ['192.0.2.1/24']]])).some((d) => /outside/.test(d.message)));
});

test('an IPv6 VIP is held against the interfaces\' IPv6 subnets as an IPv4 one against IPv4 ones', () => {
  const v6 = MINIMAL.replace('192.0.2.10', '2001:db8:0:1::10/64');
  assert.ok(v6.includes('2001:db8:0:1::10/64'));
  assert.ok(!diags(v6, new Map([['eth0', ['192.0.2.1/24', '2001:db8:0:1::2/64']]])).some((d) => /outside/.test(d.message)), 'inside eth0\'s IPv6 subnet');
  assert.ok(diags(v6, new Map([['eth0', ['192.0.2.1/24', '2001:db8:0:2::2/64']]])).some((d) => d.severity === 'warning' && /VIP 2001:db8:0:1::10 is outside every interface's subnet/.test(d.message)));
});

test('empty configuration is an error', () => {
  only('', 'error', /no vrrp_instance or virtual_server/, 1);
  only('global_defs {\n router_id x\n}\n', 'error', /no vrrp_instance or virtual_server/, 1);
});
